-- Insert the staging rows their map marks as new, under their mapped ids, with foreign keys translated
-- through the parents' maps in the same SELECT. Rows already in public are skipped (idempotent); the
-- merge log keeps the row count before the first insert and the rows inserted so far.
WITH inserted AS (
    INSERT INTO {public_table} ({columns}) {overriding}
    SELECT {values}
    FROM {staging_table} st
    JOIN {map} m ON m.staging_id = st.{id} AND m.inserted
    {parent_joins}
    WHERE NOT EXISTS (SELECT 1 FROM {public_table} p WHERE p.{id} = m.public_id)
    RETURNING 1
)
{record_inserted}
