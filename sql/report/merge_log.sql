-- Per table, the target's rows when its pending rows were built and how many pending rows there are (the
-- report's "rows before", "inserted" and "rows now"; rows_conserved checks them against the merged view and
-- the map, so the report counts nothing again).
SELECT table_name, rows_before, rows_pending
FROM {merge_log}
