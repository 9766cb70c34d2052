-- History whose duplicates are kept (spec: duplicates: keep): every staging row not yet mapped is new.
INSERT INTO {map} (staging_id, public_id, inserted)
SELECT l.staging_id, {new_id}, true
FROM (
    SELECT st.{id} AS staging_id
    FROM {staging_table} st
    WHERE NOT EXISTS (SELECT 1 FROM {map} m WHERE m.staging_id = st.{id})
    ORDER BY st.{id}
) l
