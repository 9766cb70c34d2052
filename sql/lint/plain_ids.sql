-- A column the spec keeps as plain data, whose name points at {ref_name} and whose every value, in dump #2
-- and in the target, is one of that table's ids: most likely a reference no constraint declares. Kept as
-- plain data, dump #2's ids are copied as they are and name other rows once merged.
SELECT {column_name} AS "column", {ref_name} AS looks_like_ids_of, s.holding AS staging_rows_with_a_value
FROM (SELECT count(*) AS holding FROM {staging_table} WHERE {column} IS NOT NULL) s
WHERE s.holding > 0
  AND NOT EXISTS (SELECT 1 FROM {staging_table} st WHERE st.{column} IS NOT NULL
                  AND NOT EXISTS (SELECT 1 FROM {staging_ref} r WHERE r.{ref_id}::text = st.{column}::text))
  AND NOT EXISTS (SELECT 1 FROM {public_table} p WHERE p.{column} IS NOT NULL
                  AND NOT EXISTS (SELECT 1 FROM {public_ref} r WHERE r.{ref_id}::text = p.{column}::text))
