-- Staging rows whose foreign key names a parent that dump #2 does not hold (so no map entry exists).
SELECT st.{column} AS staging_value
FROM {staging_table} st
LEFT JOIN {parent_map} f ON f.staging_id = st.{column}
WHERE st.{column} IS NOT NULL AND f.staging_id IS NULL
