-- Map the staging rows not yet mapped: a public row with the same natural key wins (public_id = its id,
-- inserted = false); otherwise a fresh id from public's sequence, or, for keys no sequence feeds (uuid,
-- text), the row's own id (inserted = true). Foreign-key columns of the natural key are compared after
-- translation through their parents' maps.
INSERT INTO {map} (staging_id, public_id, inserted)
SELECT s.staging_id, coalesce(p.{id}, {new_id}), p.{id} IS NULL
FROM (
    SELECT st.{id} AS staging_id, {key_columns}
    FROM {staging_table} st
    {parent_joins}
    WHERE NOT EXISTS (SELECT 1 FROM {map} m WHERE m.staging_id = st.{id})
    ORDER BY st.{id}
) s
LEFT JOIN {public_table} p ON {key_match}
