-- Lossless proof for a table with an id map. Each staging row is followed through its map entry to the
-- row it became in the merged view (target ∪ pending): found when the natural keys are equal (foreign-key
-- parts translated through the parents' maps), identical when the whole content is, a conflict the target
-- won when it differs from a row that already existed. Anything else (no map entry, no such row, another
-- key, an inserted row that differs) is lost. History has no key: its content must be equal.
WITH s AS (
    SELECT st.{id} AS staging_id, {staging_key} AS k, {staging_content} AS c, {unmapped} AS unmapped
    FROM {staging_table} st
    {parent_joins}
    OFFSET 0  -- each staging row translated once, not once per use below
), joined AS (
    SELECT s.k, s.c AS staging_content, {public_content} AS public_content,
           m.public_id IS NOT NULL AND p.{id} IS NOT NULL AND NOT s.unmapped AND s.k = {public_key} AS found,
           coalesce({matched}, false) AS matched
    FROM s
    LEFT JOIN {map} m ON m.staging_id = s.staging_id
    LEFT JOIN {merged_view} p ON p.{id} = m.public_id
    OFFSET 0
), judged AS (
    SELECT *, found AND staging_content = public_content AS same FROM joined
)
{counts}
