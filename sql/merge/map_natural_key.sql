-- Map the staging rows not yet mapped. A public row with the same natural key wins: public_id = its id,
-- inserted = false (when public repeats a key, its lowest id). Foreign-key columns of the key are
-- compared after translation through their parents' maps. Unmatched rows get a fresh id from public's
-- sequence, or, for keys no sequence feeds (uuid, text), their own id; staging rows repeating one key
-- all map to the row of the lowest staging id, which alone is inserted.
-- Keys are compared on their own columns (k0, k1, …): a hash join on native values, no sort. A key
-- holding a NULL never matches with =; with nulls_in_key: equal, those few rows are matched as row
-- values (where NULL equals NULL) instead. The k… names live inside this query only, so no user column
-- name can clash with them. Where the target's unique index holds its keys unique, a staging row has one
-- candidate at most; where staging's does (for a key without foreign-key parts: two staging parents may
-- translate alike), every new row leads its own group. PostgreSQL decides that once, before reading a
-- row, and skips the sort that picks among candidates or groups repeated keys. Where both hold it and the
-- key has no foreign-key parts, map_natural_key_held.sql has mapped every row already, and this skips.
WITH s AS (
    SELECT st.{id} AS staging_id, {staging_key_columns}, ROW({staging_key}) AS natural_key,
           {staging_key_nonnull} AS key_nonnull, {staging_key_complete} AS key_complete
    FROM {staging_table} st
    {parent_joins}
    WHERE NOT {mapped_already} AND NOT EXISTS (SELECT 1 FROM {map} m WHERE m.staging_id = st.{id})
), public_keys AS (
    SELECT p.{id} AS public_id, {public_key_columns}
    FROM {public_table} p
    WHERE {public_key_nonnull}
), public_null_keys AS (
    SELECT p.{id} AS public_id, ROW({public_key}) AS natural_key
    FROM {public_table} p
    WHERE {nulls_equal} AND NOT ({public_key_nonnull})
), candidates AS (
    SELECT s.staging_id, p.public_id
    FROM s JOIN public_keys p ON {key_equal}
    UNION ALL
    SELECT s.staging_id, p.public_id
    FROM s JOIN public_null_keys p ON p.natural_key = s.natural_key
    WHERE NOT s.key_nonnull
), matched AS (
    SELECT staging_id, public_id
    FROM candidates
    WHERE {public_held}
    UNION ALL
    (SELECT DISTINCT ON (staging_id) staging_id, public_id
     FROM candidates
     WHERE NOT {public_held}
     ORDER BY staging_id, public_id)
), new_rows AS (
    SELECT s.staging_id, s.staging_id AS leader
    FROM s
    WHERE {staging_held} AND NOT EXISTS (SELECT 1 FROM matched m WHERE m.staging_id = s.staging_id)
    UNION ALL
    SELECT s.staging_id,
           first_value(s.staging_id) OVER (PARTITION BY {group_key} ORDER BY s.staging_id) AS leader
    FROM s
    WHERE NOT {staging_held} AND NOT EXISTS (SELECT 1 FROM matched m WHERE m.staging_id = s.staging_id)
), leaders AS (
    SELECT l.staging_id, {new_id} AS public_id
    FROM (SELECT staging_id FROM new_rows WHERE staging_id = leader ORDER BY staging_id) l
)
INSERT INTO {map} (staging_id, public_id, inserted)
SELECT staging_id, public_id, false FROM matched
UNION ALL
SELECT n.staging_id, l.public_id, n.staging_id = n.leader
FROM new_rows n JOIN leaders l ON l.staging_id = n.leader
