-- pgmerge's state: work_version, started_at, published_version, published_merge.
SELECT key, value FROM {state}
