-- History rows are all new: every staging row not yet mapped gets a fresh id from public's sequence.
INSERT INTO {map} (staging_id, public_id, inserted)
SELECT s.staging_id, nextval({sequence}), true
FROM (
    SELECT st.{id} AS staging_id
    FROM {staging_table} st
    WHERE NOT EXISTS (SELECT 1 FROM {map} m WHERE m.staging_id = st.{id})
    ORDER BY st.{id}
) s
