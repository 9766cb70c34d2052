-- Array elements of dump #2's new rows that name no row of the referenced table in dump #2.
SELECT st.{id} AS staging_id, u.element
FROM {staging_table} st
JOIN {map} m ON m.staging_id = st.{id} AND m.inserted
CROSS JOIN LATERAL unnest(st.{column}) AS u(element)
LEFT JOIN {ref_map} rm ON rm.staging_id = u.element
WHERE u.element IS NOT NULL AND rm.staging_id IS NULL
