-- Row conservation: public after = public before + rows inserted (and, with a map, = the map's new rows).
SELECT l.rows_before, l.rows_inserted, n.rows_now, {new_in_map} AS new_in_map
FROM {merge_log} l, (SELECT count(*) AS rows_now FROM {public_table}) n
WHERE l.table_name = {table_name}
  AND (l.rows_before + l.rows_inserted <> n.rows_now OR l.rows_inserted <> {new_in_map})
UNION ALL
SELECT NULL, NULL, NULL, NULL
WHERE NOT EXISTS (SELECT 1 FROM {merge_log} l WHERE l.table_name = {table_name})
