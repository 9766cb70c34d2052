-- Row conservation: rows once published (target ∪ pending) = target rows before + pending rows, and,
-- with a map, pending rows = the map's new rows.
SELECT l.rows_before, l.rows_pending, n.rows_now, {new_in_map} AS new_in_map
FROM {merge_log} l, (SELECT count(*) AS rows_now FROM {merged_view}) n
WHERE l.table_name = {table_name}
  AND (l.rows_before + l.rows_pending <> n.rows_now OR l.rows_pending <> {new_in_map})
UNION ALL
SELECT NULL, NULL, NULL, NULL
WHERE NOT EXISTS (SELECT 1 FROM {merge_log} l WHERE l.table_name = {table_name})
