-- The report's snapshot, shared with its helper connections so every query of the report sees the same
-- state of target ∪ pending (valid while this transaction stays open).
SELECT pg_export_snapshot()
