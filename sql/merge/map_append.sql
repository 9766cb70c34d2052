-- History rows: a staging row whose content (every column but the id, foreign keys and id arrays
-- translated through the maps) the target already holds is that row, counted as a multiset: the n-th
-- staging copy of a content matches the n-th target copy. Every other row is new and gets a fresh id.
-- So dump #1 merged into itself, or dump #2 merged again, adds nothing. Copies are numbered within the
-- content's 64-bit hash first: the sort compares whole contents only where hashes tie.
-- Only candidates are translated and compared: staging rows whose plain columns (those compared as they
-- are) hash like some target row's. A row whose plain columns the target holds nowhere cannot match
-- (a hash collision only lets a row through that then fails the full comparison).
WITH plain_in_target AS (
    SELECT jsonb_hash_extended({public_plain}, 0) AS plain FROM {public_table} p
), candidates AS MATERIALIZED (
    SELECT st.*
    FROM {staging_table} st
    WHERE NOT EXISTS (SELECT 1 FROM {map} m WHERE m.staging_id = st.{id})
      AND jsonb_hash_extended({staging_plain}, 0) IN (SELECT plain FROM plain_in_target)
), s AS (
    SELECT st.{id} AS staging_id, c.content, jsonb_hash_extended(c.content, 0) AS hash
    FROM candidates st
    {parent_joins}
    CROSS JOIN LATERAL (SELECT {staging_content} AS content OFFSET 0) c  -- OFFSET 0: computed once
), numbered AS (
    SELECT staging_id, hash, content, row_number() OVER (PARTITION BY hash, content ORDER BY staging_id) AS copy
    FROM s
), target AS (
    SELECT public_id, hash, content, row_number() OVER (PARTITION BY hash, content ORDER BY public_id) AS copy
    FROM (SELECT p.{id} AS public_id, c.content, jsonb_hash_extended(c.content, 0) AS hash
          FROM {public_table} p CROSS JOIN LATERAL (SELECT {public_content} AS content OFFSET 0) c
          -- all copies of a content have the same plain columns: kept or left out together
          WHERE jsonb_hash_extended({public_plain}, 0) IN (SELECT jsonb_hash_extended({staging_plain}, 0)
                                                           FROM candidates st)) t
), matched AS (
    SELECT n.staging_id, t.public_id
    FROM numbered n JOIN target t ON t.hash = n.hash AND t.content = n.content AND t.copy = n.copy
)
INSERT INTO {map} (staging_id, public_id, inserted)
SELECT staging_id, public_id, false FROM matched
UNION ALL
SELECT l.staging_id, {new_id}, true
FROM (SELECT st.{id} AS staging_id FROM {staging_table} st
      WHERE NOT EXISTS (SELECT 1 FROM {map} m WHERE m.staging_id = st.{id})
        AND NOT EXISTS (SELECT 1 FROM matched m WHERE m.staging_id = st.{id})
      ORDER BY st.{id}) l
