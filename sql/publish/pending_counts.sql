-- How many pending rows each table had when they were built (and then audited). Pending tables are
-- unlogged: a server crash empties them, so publish compares what it inserted against these counts.
SELECT table_name, rows_pending FROM {merge_log}
