-- History rows: a staging row whose content (every column but the id, foreign keys and id arrays
-- translated through the maps) the target already holds is that row, counted as a multiset: the n-th
-- staging copy of a content matches the n-th target copy. Every other row is new and gets a fresh id.
-- So dump #1 merged into itself, or dump #2 merged again, adds nothing.
WITH s AS (
    SELECT st.{id} AS staging_id, {staging_content} AS content
    FROM {staging_table} st
    {parent_joins}
    WHERE NOT EXISTS (SELECT 1 FROM {map} m WHERE m.staging_id = st.{id})
), numbered AS (
    SELECT staging_id, content, row_number() OVER (PARTITION BY content ORDER BY staging_id) AS copy
    FROM s
), target AS (
    SELECT p.{id} AS public_id, {public_content} AS content,
           row_number() OVER (PARTITION BY {public_content} ORDER BY p.{id}) AS copy
    FROM {public_table} p
), matched AS (
    SELECT n.staging_id, t.public_id
    FROM numbered n JOIN target t ON t.content = n.content AND t.copy = n.copy
)
INSERT INTO {map} (staging_id, public_id, inserted)
SELECT staging_id, public_id, false FROM matched
UNION ALL
SELECT l.staging_id, {new_id}, true
FROM (SELECT n.staging_id FROM numbered n
      WHERE NOT EXISTS (SELECT 1 FROM matched m WHERE m.staging_id = n.staging_id)
      ORDER BY n.staging_id) l
