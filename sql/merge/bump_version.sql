-- Every write to pgmerge's work (staging, maps, pending rows) makes a new version: an audit holds for the
-- version it judged, and publishing needs an audit of the version it publishes.
INSERT INTO {state} AS s (key, value) VALUES ('work_version', '1')
ON CONFLICT (key) DO UPDATE SET value = (s.value::bigint + 1)::text
RETURNING value::bigint
