-- step id_map/dataset after staging_data

-- id map staging_id -> public_id; `inserted` says the staging row becomes a new target row. Built anew
-- each time from staging and the target as it is now, so after a publish every row maps to what it
-- became and a second merge of the same rows finds nothing new.
-- Column types come from the two tables themselves (WITH NO DATA), so any key type works. Its indexes
-- come after the rows (map_index.sql): one sorted build instead of an index update per row.
-- Unlogged, like the pending rows (no WAL for rows rebuilt every merge): a server crash empties both, and
-- publish then refuses (the pending rows no longer match their audit) until the next merge rebuilds them.
-- (SET UNLOGGED converts a map an older pgmerge made; on an unlogged one it changes nothing.)
CREATE UNLOGGED TABLE IF NOT EXISTS "pgmerge"."map_dataset" AS
SELECT s."id" AS staging_id, p."id" AS public_id, true AS inserted
FROM "staging"."dataset" s, "public"."dataset" p
WITH NO DATA;
TRUNCATE "pgmerge"."map_dataset";
ALTER TABLE "pgmerge"."map_dataset" SET UNLOGGED;

-- Move pgmerge's id counter past the target sequence's position (if a sequence feeds the id) and the
-- table's max(id), so a new id can never be one the target holds or its sequence has handed out.
SELECT setval('"pgmerge"."next_public.dataset_id_seq"'::regclass, greatest(
    CASE WHEN a.is_called THEN a.last_value ELSE a.last_value - 1 END,
    (SELECT CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END FROM "public"."dataset_id_seq" s),
    coalesce((SELECT max("id") FROM "public"."dataset"), 0)))
FROM "pgmerge"."next_public.dataset_id_seq" a;

-- Map every staging row when both sides' own unique indexes hold the natural key unique (the common case:
-- the spec drafter keys tables on such constraints) and the key has no foreign-key parts: each staging row
-- then has one public row with its key at most, and no other staging row shares it. A match maps to that
-- row (inserted = false); every other row is new and gets a fresh id (or, for keys no sequence feeds, its
-- own), in staging id order. Two hash joins on the key's own columns: the general statement
-- (map_natural_key.sql) picks among candidates and groups repeated keys, which cannot happen here. A key
-- holding a NULL matches nothing (=), so its row is new, as there. PostgreSQL asks whether both hold once,
-- before reading a row; where they do not, this inserts nothing and the general statement maps every row.
INSERT INTO "pgmerge"."map_dataset" (staging_id, public_id, inserted)
SELECT st."id", p."id", false
FROM "staging"."dataset" st
JOIN "public"."dataset" p ON p."name" = st."name"
WHERE (EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."dataset"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{name}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))) AND EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"staging"."dataset"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{name}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))))
UNION ALL
SELECT l.staging_id, nextval('"pgmerge"."next_public.dataset_id_seq"'::regclass), true
FROM (SELECT st."id" AS staging_id
      FROM "staging"."dataset" st
      WHERE (EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."dataset"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{name}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))) AND EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"staging"."dataset"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{name}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))) AND NOT EXISTS (SELECT 1 FROM "public"."dataset" p WHERE p."name" = st."name")
      ORDER BY st."id") l;

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
    SELECT st."id" AS staging_id, st."name" AS "k0", ROW(st."name") AS natural_key,
           st."name" IS NOT NULL AS key_nonnull, st."name" IS NOT NULL AS key_complete
    FROM "staging"."dataset" st
    
    WHERE NOT (EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."dataset"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{name}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))) AND EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"staging"."dataset"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{name}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))) AND NOT EXISTS (SELECT 1 FROM "pgmerge"."map_dataset" m WHERE m.staging_id = st."id")
), public_keys AS (
    SELECT p."id" AS public_id, "p"."name" AS "k0"
    FROM "public"."dataset" p
    WHERE "p"."name" IS NOT NULL
), public_null_keys AS (
    SELECT p."id" AS public_id, ROW("p"."name") AS natural_key
    FROM "public"."dataset" p
    WHERE false AND NOT ("p"."name" IS NOT NULL)
), candidates AS (
    SELECT s.staging_id, p.public_id
    FROM s JOIN public_keys p ON p."k0" = s."k0"
    UNION ALL
    SELECT s.staging_id, p.public_id
    FROM s JOIN public_null_keys p ON p.natural_key = s.natural_key
    WHERE NOT s.key_nonnull
), matched AS (
    SELECT staging_id, public_id
    FROM candidates
    WHERE EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."dataset"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{name}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
    UNION ALL
    (SELECT DISTINCT ON (staging_id) staging_id, public_id
     FROM candidates
     WHERE NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."dataset"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{name}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
     ORDER BY staging_id, public_id)
), new_rows AS (
    SELECT s.staging_id, s.staging_id AS leader
    FROM s
    WHERE EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"staging"."dataset"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{name}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))) AND NOT EXISTS (SELECT 1 FROM matched m WHERE m.staging_id = s.staging_id)
    UNION ALL
    SELECT s.staging_id,
           first_value(s.staging_id) OVER (PARTITION BY s."k0", CASE WHEN NOT s.key_complete THEN s.staging_id END ORDER BY s.staging_id) AS leader
    FROM s
    WHERE NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"staging"."dataset"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{name}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))) AND NOT EXISTS (SELECT 1 FROM matched m WHERE m.staging_id = s.staging_id)
), leaders AS (
    SELECT l.staging_id, nextval('"pgmerge"."next_public.dataset_id_seq"'::regclass) AS public_id
    FROM (SELECT staging_id FROM new_rows WHERE staging_id = leader ORDER BY staging_id) l
)
INSERT INTO "pgmerge"."map_dataset" (staging_id, public_id, inserted)
SELECT staging_id, public_id, false FROM matched
UNION ALL
SELECT n.staging_id, l.public_id, n.staging_id = n.leader
FROM new_rows n JOIN leaders l ON l.staging_id = n.leader;

-- The map's indexes, built once it is filled: every later step finds map entries by staging id (the
-- unique index also proves each staging row is mapped once) and publish's guards by public id.
CREATE UNIQUE INDEX IF NOT EXISTS "map_dataset_staging_id" ON "pgmerge"."map_dataset" (staging_id);
CREATE INDEX IF NOT EXISTS "map_dataset_public_id" ON "pgmerge"."map_dataset" (public_id);

-- Planner statistics for a table pgmerge just filled, on the columns later queries join and group on (all,
-- where none are named): sampled from 3,000 rows instead of the server's default 30,000, which is plenty for
-- the hash joins and aggregates that read them, and 2–6× faster to take (measured: 126–190 ms → 22 ms for
-- 95k pending rows). SET LOCAL: the step's transaction only, never the target's own tables.
SET LOCAL default_statistics_target = 10;
ANALYZE "pgmerge"."map_dataset";

-- step id_map/finding after staging_data

-- id map staging_id -> public_id; `inserted` says the staging row becomes a new target row. Built anew
-- each time from staging and the target as it is now, so after a publish every row maps to what it
-- became and a second merge of the same rows finds nothing new.
-- Column types come from the two tables themselves (WITH NO DATA), so any key type works. Its indexes
-- come after the rows (map_index.sql): one sorted build instead of an index update per row.
-- Unlogged, like the pending rows (no WAL for rows rebuilt every merge): a server crash empties both, and
-- publish then refuses (the pending rows no longer match their audit) until the next merge rebuilds them.
-- (SET UNLOGGED converts a map an older pgmerge made; on an unlogged one it changes nothing.)
CREATE UNLOGGED TABLE IF NOT EXISTS "pgmerge"."map_finding" AS
SELECT s."id" AS staging_id, p."id" AS public_id, true AS inserted
FROM "staging"."finding" s, "public"."finding" p
WITH NO DATA;
TRUNCATE "pgmerge"."map_finding";
ALTER TABLE "pgmerge"."map_finding" SET UNLOGGED;

-- Move pgmerge's id counter past the target sequence's position (if a sequence feeds the id) and the
-- table's max(id), so a new id can never be one the target holds or its sequence has handed out.
SELECT setval('"pgmerge"."next_public.finding_id_seq"'::regclass, greatest(
    CASE WHEN a.is_called THEN a.last_value ELSE a.last_value - 1 END,
    (SELECT CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END FROM "public"."finding_id_seq" s),
    coalesce((SELECT max("id") FROM "public"."finding"), 0)))
FROM "pgmerge"."next_public.finding_id_seq" a;

-- Map every staging row when both sides' own unique indexes hold the natural key unique (the common case:
-- the spec drafter keys tables on such constraints) and the key has no foreign-key parts: each staging row
-- then has one public row with its key at most, and no other staging row shares it. A match maps to that
-- row (inserted = false); every other row is new and gets a fresh id (or, for keys no sequence feeds, its
-- own), in staging id order. Two hash joins on the key's own columns: the general statement
-- (map_natural_key.sql) picks among candidates and groups repeated keys, which cannot happen here. A key
-- holding a NULL matches nothing (=), so its row is new, as there. PostgreSQL asks whether both hold once,
-- before reading a row; where they do not, this inserts nothing and the general statement maps every row.
INSERT INTO "pgmerge"."map_finding" (staging_id, public_id, inserted)
SELECT st."id", p."id", false
FROM "staging"."finding" st
JOIN "public"."finding" p ON p."identifier" = st."identifier"
WHERE (EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."finding"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{identifier}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))) AND EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"staging"."finding"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{identifier}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))))
UNION ALL
SELECT l.staging_id, nextval('"pgmerge"."next_public.finding_id_seq"'::regclass), true
FROM (SELECT st."id" AS staging_id
      FROM "staging"."finding" st
      WHERE (EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."finding"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{identifier}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))) AND EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"staging"."finding"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{identifier}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))) AND NOT EXISTS (SELECT 1 FROM "public"."finding" p WHERE p."identifier" = st."identifier")
      ORDER BY st."id") l;

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
    SELECT st."id" AS staging_id, st."identifier" AS "k0", ROW(st."identifier") AS natural_key,
           st."identifier" IS NOT NULL AS key_nonnull, st."identifier" IS NOT NULL AS key_complete
    FROM "staging"."finding" st
    
    WHERE NOT (EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."finding"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{identifier}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))) AND EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"staging"."finding"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{identifier}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))) AND NOT EXISTS (SELECT 1 FROM "pgmerge"."map_finding" m WHERE m.staging_id = st."id")
), public_keys AS (
    SELECT p."id" AS public_id, "p"."identifier" AS "k0"
    FROM "public"."finding" p
    WHERE "p"."identifier" IS NOT NULL
), public_null_keys AS (
    SELECT p."id" AS public_id, ROW("p"."identifier") AS natural_key
    FROM "public"."finding" p
    WHERE false AND NOT ("p"."identifier" IS NOT NULL)
), candidates AS (
    SELECT s.staging_id, p.public_id
    FROM s JOIN public_keys p ON p."k0" = s."k0"
    UNION ALL
    SELECT s.staging_id, p.public_id
    FROM s JOIN public_null_keys p ON p.natural_key = s.natural_key
    WHERE NOT s.key_nonnull
), matched AS (
    SELECT staging_id, public_id
    FROM candidates
    WHERE EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."finding"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{identifier}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
    UNION ALL
    (SELECT DISTINCT ON (staging_id) staging_id, public_id
     FROM candidates
     WHERE NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."finding"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{identifier}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
     ORDER BY staging_id, public_id)
), new_rows AS (
    SELECT s.staging_id, s.staging_id AS leader
    FROM s
    WHERE EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"staging"."finding"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{identifier}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))) AND NOT EXISTS (SELECT 1 FROM matched m WHERE m.staging_id = s.staging_id)
    UNION ALL
    SELECT s.staging_id,
           first_value(s.staging_id) OVER (PARTITION BY s."k0", CASE WHEN NOT s.key_complete THEN s.staging_id END ORDER BY s.staging_id) AS leader
    FROM s
    WHERE NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"staging"."finding"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{identifier}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))) AND NOT EXISTS (SELECT 1 FROM matched m WHERE m.staging_id = s.staging_id)
), leaders AS (
    SELECT l.staging_id, nextval('"pgmerge"."next_public.finding_id_seq"'::regclass) AS public_id
    FROM (SELECT staging_id FROM new_rows WHERE staging_id = leader ORDER BY staging_id) l
)
INSERT INTO "pgmerge"."map_finding" (staging_id, public_id, inserted)
SELECT staging_id, public_id, false FROM matched
UNION ALL
SELECT n.staging_id, l.public_id, n.staging_id = n.leader
FROM new_rows n JOIN leaders l ON l.staging_id = n.leader;

-- The map's indexes, built once it is filled: every later step finds map entries by staging id (the
-- unique index also proves each staging row is mapped once) and publish's guards by public id.
CREATE UNIQUE INDEX IF NOT EXISTS "map_finding_staging_id" ON "pgmerge"."map_finding" (staging_id);
CREATE INDEX IF NOT EXISTS "map_finding_public_id" ON "pgmerge"."map_finding" (public_id);

-- Planner statistics for a table pgmerge just filled, on the columns later queries join and group on (all,
-- where none are named): sampled from 3,000 rows instead of the server's default 30,000, which is plenty for
-- the hash joins and aggregates that read them, and 2–6× faster to take (measured: 126–190 ms → 22 ms for
-- 95k pending rows). SET LOCAL: the step's transaction only, never the target's own tables.
SET LOCAL default_statistics_target = 10;
ANALYZE "pgmerge"."map_finding";

-- step id_map/finding_reporter after staging_data

-- id map staging_id -> public_id; `inserted` says the staging row becomes a new target row. Built anew
-- each time from staging and the target as it is now, so after a publish every row maps to what it
-- became and a second merge of the same rows finds nothing new.
-- Column types come from the two tables themselves (WITH NO DATA), so any key type works. Its indexes
-- come after the rows (map_index.sql): one sorted build instead of an index update per row.
-- Unlogged, like the pending rows (no WAL for rows rebuilt every merge): a server crash empties both, and
-- publish then refuses (the pending rows no longer match their audit) until the next merge rebuilds them.
-- (SET UNLOGGED converts a map an older pgmerge made; on an unlogged one it changes nothing.)
CREATE UNLOGGED TABLE IF NOT EXISTS "pgmerge"."map_finding_reporter" AS
SELECT s."id" AS staging_id, p."id" AS public_id, true AS inserted
FROM "staging"."finding_reporter" s, "public"."finding_reporter" p
WITH NO DATA;
TRUNCATE "pgmerge"."map_finding_reporter";
ALTER TABLE "pgmerge"."map_finding_reporter" SET UNLOGGED;

-- Move pgmerge's id counter past the target sequence's position (if a sequence feeds the id) and the
-- table's max(id), so a new id can never be one the target holds or its sequence has handed out.
SELECT setval('"pgmerge"."next_public.finding_reporter_id_seq"'::regclass, greatest(
    CASE WHEN a.is_called THEN a.last_value ELSE a.last_value - 1 END,
    (SELECT CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END FROM "public"."finding_reporter_id_seq" s),
    coalesce((SELECT max("id") FROM "public"."finding_reporter"), 0)))
FROM "pgmerge"."next_public.finding_reporter_id_seq" a;

-- Map every staging row when both sides' own unique indexes hold the natural key unique (the common case:
-- the spec drafter keys tables on such constraints) and the key has no foreign-key parts: each staging row
-- then has one public row with its key at most, and no other staging row shares it. A match maps to that
-- row (inserted = false); every other row is new and gets a fresh id (or, for keys no sequence feeds, its
-- own), in staging id order. Two hash joins on the key's own columns: the general statement
-- (map_natural_key.sql) picks among candidates and groups repeated keys, which cannot happen here. A key
-- holding a NULL matches nothing (=), so its row is new, as there. PostgreSQL asks whether both hold once,
-- before reading a row; where they do not, this inserts nothing and the general statement maps every row.
INSERT INTO "pgmerge"."map_finding_reporter" (staging_id, public_id, inserted)
SELECT st."id", p."id", false
FROM "staging"."finding_reporter" st
JOIN "public"."finding_reporter" p ON p."name" = st."name"
WHERE (EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."finding_reporter"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{name}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))) AND EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"staging"."finding_reporter"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{name}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))))
UNION ALL
SELECT l.staging_id, nextval('"pgmerge"."next_public.finding_reporter_id_seq"'::regclass), true
FROM (SELECT st."id" AS staging_id
      FROM "staging"."finding_reporter" st
      WHERE (EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."finding_reporter"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{name}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))) AND EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"staging"."finding_reporter"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{name}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))) AND NOT EXISTS (SELECT 1 FROM "public"."finding_reporter" p WHERE p."name" = st."name")
      ORDER BY st."id") l;

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
    SELECT st."id" AS staging_id, st."name" AS "k0", ROW(st."name") AS natural_key,
           st."name" IS NOT NULL AS key_nonnull, st."name" IS NOT NULL AS key_complete
    FROM "staging"."finding_reporter" st
    
    WHERE NOT (EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."finding_reporter"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{name}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))) AND EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"staging"."finding_reporter"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{name}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))) AND NOT EXISTS (SELECT 1 FROM "pgmerge"."map_finding_reporter" m WHERE m.staging_id = st."id")
), public_keys AS (
    SELECT p."id" AS public_id, "p"."name" AS "k0"
    FROM "public"."finding_reporter" p
    WHERE "p"."name" IS NOT NULL
), public_null_keys AS (
    SELECT p."id" AS public_id, ROW("p"."name") AS natural_key
    FROM "public"."finding_reporter" p
    WHERE false AND NOT ("p"."name" IS NOT NULL)
), candidates AS (
    SELECT s.staging_id, p.public_id
    FROM s JOIN public_keys p ON p."k0" = s."k0"
    UNION ALL
    SELECT s.staging_id, p.public_id
    FROM s JOIN public_null_keys p ON p.natural_key = s.natural_key
    WHERE NOT s.key_nonnull
), matched AS (
    SELECT staging_id, public_id
    FROM candidates
    WHERE EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."finding_reporter"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{name}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
    UNION ALL
    (SELECT DISTINCT ON (staging_id) staging_id, public_id
     FROM candidates
     WHERE NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."finding_reporter"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{name}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
     ORDER BY staging_id, public_id)
), new_rows AS (
    SELECT s.staging_id, s.staging_id AS leader
    FROM s
    WHERE EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"staging"."finding_reporter"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{name}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))) AND NOT EXISTS (SELECT 1 FROM matched m WHERE m.staging_id = s.staging_id)
    UNION ALL
    SELECT s.staging_id,
           first_value(s.staging_id) OVER (PARTITION BY s."k0", CASE WHEN NOT s.key_complete THEN s.staging_id END ORDER BY s.staging_id) AS leader
    FROM s
    WHERE NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"staging"."finding_reporter"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{name}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))) AND NOT EXISTS (SELECT 1 FROM matched m WHERE m.staging_id = s.staging_id)
), leaders AS (
    SELECT l.staging_id, nextval('"pgmerge"."next_public.finding_reporter_id_seq"'::regclass) AS public_id
    FROM (SELECT staging_id FROM new_rows WHERE staging_id = leader ORDER BY staging_id) l
)
INSERT INTO "pgmerge"."map_finding_reporter" (staging_id, public_id, inserted)
SELECT staging_id, public_id, false FROM matched
UNION ALL
SELECT n.staging_id, l.public_id, n.staging_id = n.leader
FROM new_rows n JOIN leaders l ON l.staging_id = n.leader;

-- The map's indexes, built once it is filled: every later step finds map entries by staging id (the
-- unique index also proves each staging row is mapped once) and publish's guards by public id.
CREATE UNIQUE INDEX IF NOT EXISTS "map_finding_reporter_staging_id" ON "pgmerge"."map_finding_reporter" (staging_id);
CREATE INDEX IF NOT EXISTS "map_finding_reporter_public_id" ON "pgmerge"."map_finding_reporter" (public_id);

-- Planner statistics for a table pgmerge just filled, on the columns later queries join and group on (all,
-- where none are named): sampled from 3,000 rows instead of the server's default 30,000, which is plenty for
-- the hash joins and aggregates that read them, and 2–6× faster to take (measured: 126–190 ms → 22 ms for
-- 95k pending rows). SET LOCAL: the step's transaction only, never the target's own tables.
SET LOCAL default_statistics_target = 10;
ANALYZE "pgmerge"."map_finding_reporter";

-- step id_map/package after staging_data

-- id map staging_id -> public_id; `inserted` says the staging row becomes a new target row. Built anew
-- each time from staging and the target as it is now, so after a publish every row maps to what it
-- became and a second merge of the same rows finds nothing new.
-- Column types come from the two tables themselves (WITH NO DATA), so any key type works. Its indexes
-- come after the rows (map_index.sql): one sorted build instead of an index update per row.
-- Unlogged, like the pending rows (no WAL for rows rebuilt every merge): a server crash empties both, and
-- publish then refuses (the pending rows no longer match their audit) until the next merge rebuilds them.
-- (SET UNLOGGED converts a map an older pgmerge made; on an unlogged one it changes nothing.)
CREATE UNLOGGED TABLE IF NOT EXISTS "pgmerge"."map_package" AS
SELECT s."id" AS staging_id, p."id" AS public_id, true AS inserted
FROM "staging"."package" s, "public"."package" p
WITH NO DATA;
TRUNCATE "pgmerge"."map_package";
ALTER TABLE "pgmerge"."map_package" SET UNLOGGED;

-- Move pgmerge's id counter past the target sequence's position (if a sequence feeds the id) and the
-- table's max(id), so a new id can never be one the target holds or its sequence has handed out.
SELECT setval('"pgmerge"."next_public.package_id_seq"'::regclass, greatest(
    CASE WHEN a.is_called THEN a.last_value ELSE a.last_value - 1 END,
    (SELECT CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END FROM "public"."package_id_seq" s),
    coalesce((SELECT max("id") FROM "public"."package"), 0)))
FROM "pgmerge"."next_public.package_id_seq" a;

-- Map every staging row when both sides' own unique indexes hold the natural key unique (the common case:
-- the spec drafter keys tables on such constraints) and the key has no foreign-key parts: each staging row
-- then has one public row with its key at most, and no other staging row shares it. A match maps to that
-- row (inserted = false); every other row is new and gets a fresh id (or, for keys no sequence feeds, its
-- own), in staging id order. Two hash joins on the key's own columns: the general statement
-- (map_natural_key.sql) picks among candidates and groups repeated keys, which cannot happen here. A key
-- holding a NULL matches nothing (=), so its row is new, as there. PostgreSQL asks whether both hold once,
-- before reading a row; where they do not, this inserts nothing and the general statement maps every row.
INSERT INTO "pgmerge"."map_package" (staging_id, public_id, inserted)
SELECT st."id", p."id", false
FROM "staging"."package" st
JOIN "public"."package" p ON p."purl" = st."purl"
WHERE (EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."package"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{purl}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))) AND EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"staging"."package"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{purl}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))))
UNION ALL
SELECT l.staging_id, nextval('"pgmerge"."next_public.package_id_seq"'::regclass), true
FROM (SELECT st."id" AS staging_id
      FROM "staging"."package" st
      WHERE (EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."package"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{purl}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))) AND EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"staging"."package"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{purl}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))) AND NOT EXISTS (SELECT 1 FROM "public"."package" p WHERE p."purl" = st."purl")
      ORDER BY st."id") l;

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
    SELECT st."id" AS staging_id, st."purl" AS "k0", ROW(st."purl") AS natural_key,
           st."purl" IS NOT NULL AS key_nonnull, st."purl" IS NOT NULL AS key_complete
    FROM "staging"."package" st
    
    WHERE NOT (EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."package"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{purl}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))) AND EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"staging"."package"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{purl}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))) AND NOT EXISTS (SELECT 1 FROM "pgmerge"."map_package" m WHERE m.staging_id = st."id")
), public_keys AS (
    SELECT p."id" AS public_id, "p"."purl" AS "k0"
    FROM "public"."package" p
    WHERE "p"."purl" IS NOT NULL
), public_null_keys AS (
    SELECT p."id" AS public_id, ROW("p"."purl") AS natural_key
    FROM "public"."package" p
    WHERE false AND NOT ("p"."purl" IS NOT NULL)
), candidates AS (
    SELECT s.staging_id, p.public_id
    FROM s JOIN public_keys p ON p."k0" = s."k0"
    UNION ALL
    SELECT s.staging_id, p.public_id
    FROM s JOIN public_null_keys p ON p.natural_key = s.natural_key
    WHERE NOT s.key_nonnull
), matched AS (
    SELECT staging_id, public_id
    FROM candidates
    WHERE EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."package"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{purl}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
    UNION ALL
    (SELECT DISTINCT ON (staging_id) staging_id, public_id
     FROM candidates
     WHERE NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."package"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{purl}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
     ORDER BY staging_id, public_id)
), new_rows AS (
    SELECT s.staging_id, s.staging_id AS leader
    FROM s
    WHERE EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"staging"."package"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{purl}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))) AND NOT EXISTS (SELECT 1 FROM matched m WHERE m.staging_id = s.staging_id)
    UNION ALL
    SELECT s.staging_id,
           first_value(s.staging_id) OVER (PARTITION BY s."k0", CASE WHEN NOT s.key_complete THEN s.staging_id END ORDER BY s.staging_id) AS leader
    FROM s
    WHERE NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"staging"."package"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{purl}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))) AND NOT EXISTS (SELECT 1 FROM matched m WHERE m.staging_id = s.staging_id)
), leaders AS (
    SELECT l.staging_id, nextval('"pgmerge"."next_public.package_id_seq"'::regclass) AS public_id
    FROM (SELECT staging_id FROM new_rows WHERE staging_id = leader ORDER BY staging_id) l
)
INSERT INTO "pgmerge"."map_package" (staging_id, public_id, inserted)
SELECT staging_id, public_id, false FROM matched
UNION ALL
SELECT n.staging_id, l.public_id, n.staging_id = n.leader
FROM new_rows n JOIN leaders l ON l.staging_id = n.leader;

-- The map's indexes, built once it is filled: every later step finds map entries by staging id (the
-- unique index also proves each staging row is mapped once) and publish's guards by public id.
CREATE UNIQUE INDEX IF NOT EXISTS "map_package_staging_id" ON "pgmerge"."map_package" (staging_id);
CREATE INDEX IF NOT EXISTS "map_package_public_id" ON "pgmerge"."map_package" (public_id);

-- Planner statistics for a table pgmerge just filled, on the columns later queries join and group on (all,
-- where none are named): sampled from 3,000 rows instead of the server's default 30,000, which is plenty for
-- the hash joins and aggregates that read them, and 2–6× faster to take (measured: 126–190 ms → 22 ms for
-- 95k pending rows). SET LOCAL: the step's transaction only, never the target's own tables.
SET LOCAL default_statistics_target = 10;
ANALYZE "pgmerge"."map_package";

-- step id_map/dataset_metrics after staging_data, id_map/dataset, id_map/package

-- guard staging.dataset_metrics.dataset_id: rows reference dataset ids that dump #2 does not hold
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- Staging rows whose foreign key names a parent that dump #2 does not hold (so no map entry exists).
SELECT st."dataset_id" AS staging_value
FROM "staging"."dataset_metrics" st
LEFT JOIN "pgmerge"."map_dataset" f ON f.staging_id = st."dataset_id"
WHERE st."dataset_id" IS NOT NULL AND f.staging_id IS NULL) q) b;

-- id map staging_id -> public_id; `inserted` says the staging row becomes a new target row. Built anew
-- each time from staging and the target as it is now, so after a publish every row maps to what it
-- became and a second merge of the same rows finds nothing new.
-- Column types come from the two tables themselves (WITH NO DATA), so any key type works. Its indexes
-- come after the rows (map_index.sql): one sorted build instead of an index update per row.
-- Unlogged, like the pending rows (no WAL for rows rebuilt every merge): a server crash empties both, and
-- publish then refuses (the pending rows no longer match their audit) until the next merge rebuilds them.
-- (SET UNLOGGED converts a map an older pgmerge made; on an unlogged one it changes nothing.)
CREATE UNLOGGED TABLE IF NOT EXISTS "pgmerge"."map_dataset_metrics" AS
SELECT s."id" AS staging_id, p."id" AS public_id, true AS inserted
FROM "staging"."dataset_metrics" s, "public"."dataset_metrics" p
WITH NO DATA;
TRUNCATE "pgmerge"."map_dataset_metrics";
ALTER TABLE "pgmerge"."map_dataset_metrics" SET UNLOGGED;

-- Move pgmerge's id counter past the target sequence's position (if a sequence feeds the id) and the
-- table's max(id), so a new id can never be one the target holds or its sequence has handed out.
SELECT setval('"pgmerge"."next_public.dataset_metrics_id_seq"'::regclass, greatest(
    CASE WHEN a.is_called THEN a.last_value ELSE a.last_value - 1 END,
    (SELECT CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END FROM "public"."dataset_metrics_id_seq" s),
    coalesce((SELECT max("id") FROM "public"."dataset_metrics"), 0)))
FROM "pgmerge"."next_public.dataset_metrics_id_seq" a;

-- History rows: a staging row whose content (every column but the id, foreign keys and id arrays
-- translated through the maps) the target already holds is that row, counted as a multiset: the n-th
-- staging copy of a content matches the n-th target copy. Every other row is new and gets a fresh id.
-- So dump #1 merged into itself, or dump #2 merged again, adds nothing. Copies are numbered within the
-- content's 64-bit hash first: the sort compares whole contents only where hashes tie.
-- Only candidates are translated and compared: staging rows whose plain columns (those compared as they
-- are) hash like some target row's. A row whose plain columns the target holds nowhere cannot match
-- (a hash collision only lets a row through that then fails the full comparison).
WITH plain_in_target AS (
    SELECT jsonb_hash_extended(jsonb_build_array("p"."txid", "p"."recorded_at", "p"."package_count"), 0) AS plain FROM "public"."dataset_metrics" p
), candidates AS MATERIALIZED (
    SELECT st.*
    FROM "staging"."dataset_metrics" st
    WHERE NOT EXISTS (SELECT 1 FROM "pgmerge"."map_dataset_metrics" m WHERE m.staging_id = st."id")
      AND jsonb_hash_extended(jsonb_build_array("st"."txid", "st"."recorded_at", "st"."package_count"), 0) IN (SELECT plain FROM plain_in_target)
), s AS (
    SELECT st."id" AS staging_id, c.content, jsonb_hash_extended(c.content, 0) AS hash
    FROM candidates st
    LEFT JOIN "pgmerge"."map_dataset" AS "f0" ON "f0".staging_id = st."dataset_id"
    LEFT JOIN (SELECT x."id" AS staging_id, array_agg(rm.public_id ORDER BY u.ord) AS ids FROM "candidates" x CROSS JOIN LATERAL unnest(x."package_indexes") WITH ORDINALITY AS u(element, ord) LEFT JOIN "pgmerge"."map_package" rm ON rm.staging_id = u.element GROUP BY 1) AS "a0" ON "a0".staging_id = st."id"
    CROSS JOIN LATERAL (SELECT jsonb_build_array("f0".public_id, st."txid", st."recorded_at", st."package_count", CASE WHEN st."package_indexes" IS NULL THEN NULL ELSE coalesce("a0".ids, '{}') END) AS content OFFSET 0) c  -- OFFSET 0: computed once
), numbered AS (
    SELECT staging_id, hash, content, row_number() OVER (PARTITION BY hash, content ORDER BY staging_id) AS copy
    FROM s
), target AS (
    SELECT public_id, hash, content, row_number() OVER (PARTITION BY hash, content ORDER BY public_id) AS copy
    FROM (SELECT p."id" AS public_id, c.content, jsonb_hash_extended(c.content, 0) AS hash
          FROM "public"."dataset_metrics" p CROSS JOIN LATERAL (SELECT jsonb_build_array("p"."dataset_id", "p"."txid", "p"."recorded_at", "p"."package_count", "p"."package_indexes") AS content OFFSET 0) c
          -- all copies of a content have the same plain columns: kept or left out together
          WHERE jsonb_hash_extended(jsonb_build_array("p"."txid", "p"."recorded_at", "p"."package_count"), 0) IN (SELECT jsonb_hash_extended(jsonb_build_array("st"."txid", "st"."recorded_at", "st"."package_count"), 0)
                                                           FROM candidates st)) t
), matched AS (
    SELECT n.staging_id, t.public_id
    FROM numbered n JOIN target t ON t.hash = n.hash AND t.content = n.content AND t.copy = n.copy
)
INSERT INTO "pgmerge"."map_dataset_metrics" (staging_id, public_id, inserted)
SELECT staging_id, public_id, false FROM matched
UNION ALL
SELECT l.staging_id, nextval('"pgmerge"."next_public.dataset_metrics_id_seq"'::regclass), true
FROM (SELECT st."id" AS staging_id FROM "staging"."dataset_metrics" st
      WHERE NOT EXISTS (SELECT 1 FROM "pgmerge"."map_dataset_metrics" m WHERE m.staging_id = st."id")
        AND NOT EXISTS (SELECT 1 FROM matched m WHERE m.staging_id = st."id")
      ORDER BY st."id") l;

-- The map's indexes, built once it is filled: every later step finds map entries by staging id (the
-- unique index also proves each staging row is mapped once) and publish's guards by public id.
CREATE UNIQUE INDEX IF NOT EXISTS "map_dataset_metrics_staging_id" ON "pgmerge"."map_dataset_metrics" (staging_id);
CREATE INDEX IF NOT EXISTS "map_dataset_metrics_public_id" ON "pgmerge"."map_dataset_metrics" (public_id);

-- Planner statistics for a table pgmerge just filled, on the columns later queries join and group on (all,
-- where none are named): sampled from 3,000 rows instead of the server's default 30,000, which is plenty for
-- the hash joins and aggregates that read them, and 2–6× faster to take (measured: 126–190 ms → 22 ms for
-- 95k pending rows). SET LOCAL: the step's transaction only, never the target's own tables.
SET LOCAL default_statistics_target = 10;
ANALYZE "pgmerge"."map_dataset_metrics";

-- step id_map/datasource after staging_data

-- id map staging_id -> public_id; `inserted` says the staging row becomes a new target row. Built anew
-- each time from staging and the target as it is now, so after a publish every row maps to what it
-- became and a second merge of the same rows finds nothing new.
-- Column types come from the two tables themselves (WITH NO DATA), so any key type works. Its indexes
-- come after the rows (map_index.sql): one sorted build instead of an index update per row.
-- Unlogged, like the pending rows (no WAL for rows rebuilt every merge): a server crash empties both, and
-- publish then refuses (the pending rows no longer match their audit) until the next merge rebuilds them.
-- (SET UNLOGGED converts a map an older pgmerge made; on an unlogged one it changes nothing.)
CREATE UNLOGGED TABLE IF NOT EXISTS "pgmerge"."map_datasource" AS
SELECT s."id" AS staging_id, p."id" AS public_id, true AS inserted
FROM "staging"."datasource" s, "public"."datasource" p
WITH NO DATA;
TRUNCATE "pgmerge"."map_datasource";
ALTER TABLE "pgmerge"."map_datasource" SET UNLOGGED;

-- Move pgmerge's id counter past the target sequence's position (if a sequence feeds the id) and the
-- table's max(id), so a new id can never be one the target holds or its sequence has handed out.
SELECT setval('"pgmerge"."next_public.datasource_id_seq"'::regclass, greatest(
    CASE WHEN a.is_called THEN a.last_value ELSE a.last_value - 1 END,
    (SELECT CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END FROM "public"."datasource_id_seq" s),
    coalesce((SELECT max("id") FROM "public"."datasource"), 0)))
FROM "pgmerge"."next_public.datasource_id_seq" a;

-- Map every staging row when both sides' own unique indexes hold the natural key unique (the common case:
-- the spec drafter keys tables on such constraints) and the key has no foreign-key parts: each staging row
-- then has one public row with its key at most, and no other staging row shares it. A match maps to that
-- row (inserted = false); every other row is new and gets a fresh id (or, for keys no sequence feeds, its
-- own), in staging id order. Two hash joins on the key's own columns: the general statement
-- (map_natural_key.sql) picks among candidates and groups repeated keys, which cannot happen here. A key
-- holding a NULL matches nothing (=), so its row is new, as there. PostgreSQL asks whether both hold once,
-- before reading a row; where they do not, this inserts nothing and the general statement maps every row.
INSERT INTO "pgmerge"."map_datasource" (staging_id, public_id, inserted)
SELECT st."id", p."id", false
FROM "staging"."datasource" st
JOIN "public"."datasource" p ON p."purl" = st."purl"
WHERE (EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."datasource"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{purl}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))) AND EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"staging"."datasource"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{purl}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))))
UNION ALL
SELECT l.staging_id, nextval('"pgmerge"."next_public.datasource_id_seq"'::regclass), true
FROM (SELECT st."id" AS staging_id
      FROM "staging"."datasource" st
      WHERE (EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."datasource"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{purl}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))) AND EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"staging"."datasource"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{purl}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))) AND NOT EXISTS (SELECT 1 FROM "public"."datasource" p WHERE p."purl" = st."purl")
      ORDER BY st."id") l;

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
    SELECT st."id" AS staging_id, st."purl" AS "k0", ROW(st."purl") AS natural_key,
           st."purl" IS NOT NULL AS key_nonnull, st."purl" IS NOT NULL AS key_complete
    FROM "staging"."datasource" st
    
    WHERE NOT (EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."datasource"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{purl}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))) AND EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"staging"."datasource"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{purl}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))) AND NOT EXISTS (SELECT 1 FROM "pgmerge"."map_datasource" m WHERE m.staging_id = st."id")
), public_keys AS (
    SELECT p."id" AS public_id, "p"."purl" AS "k0"
    FROM "public"."datasource" p
    WHERE "p"."purl" IS NOT NULL
), public_null_keys AS (
    SELECT p."id" AS public_id, ROW("p"."purl") AS natural_key
    FROM "public"."datasource" p
    WHERE false AND NOT ("p"."purl" IS NOT NULL)
), candidates AS (
    SELECT s.staging_id, p.public_id
    FROM s JOIN public_keys p ON p."k0" = s."k0"
    UNION ALL
    SELECT s.staging_id, p.public_id
    FROM s JOIN public_null_keys p ON p.natural_key = s.natural_key
    WHERE NOT s.key_nonnull
), matched AS (
    SELECT staging_id, public_id
    FROM candidates
    WHERE EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."datasource"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{purl}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
    UNION ALL
    (SELECT DISTINCT ON (staging_id) staging_id, public_id
     FROM candidates
     WHERE NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."datasource"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{purl}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
     ORDER BY staging_id, public_id)
), new_rows AS (
    SELECT s.staging_id, s.staging_id AS leader
    FROM s
    WHERE EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"staging"."datasource"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{purl}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))) AND NOT EXISTS (SELECT 1 FROM matched m WHERE m.staging_id = s.staging_id)
    UNION ALL
    SELECT s.staging_id,
           first_value(s.staging_id) OVER (PARTITION BY s."k0", CASE WHEN NOT s.key_complete THEN s.staging_id END ORDER BY s.staging_id) AS leader
    FROM s
    WHERE NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"staging"."datasource"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{purl}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))) AND NOT EXISTS (SELECT 1 FROM matched m WHERE m.staging_id = s.staging_id)
), leaders AS (
    SELECT l.staging_id, nextval('"pgmerge"."next_public.datasource_id_seq"'::regclass) AS public_id
    FROM (SELECT staging_id FROM new_rows WHERE staging_id = leader ORDER BY staging_id) l
)
INSERT INTO "pgmerge"."map_datasource" (staging_id, public_id, inserted)
SELECT staging_id, public_id, false FROM matched
UNION ALL
SELECT n.staging_id, l.public_id, n.staging_id = n.leader
FROM new_rows n JOIN leaders l ON l.staging_id = n.leader;

-- The map's indexes, built once it is filled: every later step finds map entries by staging id (the
-- unique index also proves each staging row is mapped once) and publish's guards by public id.
CREATE UNIQUE INDEX IF NOT EXISTS "map_datasource_staging_id" ON "pgmerge"."map_datasource" (staging_id);
CREATE INDEX IF NOT EXISTS "map_datasource_public_id" ON "pgmerge"."map_datasource" (public_id);

-- Planner statistics for a table pgmerge just filled, on the columns later queries join and group on (all,
-- where none are named): sampled from 3,000 rows instead of the server's default 30,000, which is plenty for
-- the hash joins and aggregates that read them, and 2–6× faster to take (measured: 126–190 ms → 22 ms for
-- 95k pending rows). SET LOCAL: the step's transaction only, never the target's own tables.
SET LOCAL default_statistics_target = 10;
ANALYZE "pgmerge"."map_datasource";

-- step id_map/edit after staging_data, id_map/dataset

-- guard staging.edit.dataset_id: rows reference dataset ids that dump #2 does not hold
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- Staging rows whose foreign key names a parent that dump #2 does not hold (so no map entry exists).
SELECT st."dataset_id" AS staging_value
FROM "staging"."edit" st
LEFT JOIN "pgmerge"."map_dataset" f ON f.staging_id = st."dataset_id"
WHERE st."dataset_id" IS NOT NULL AND f.staging_id IS NULL) q) b;

-- id map staging_id -> public_id; `inserted` says the staging row becomes a new target row. Built anew
-- each time from staging and the target as it is now, so after a publish every row maps to what it
-- became and a second merge of the same rows finds nothing new.
-- Column types come from the two tables themselves (WITH NO DATA), so any key type works. Its indexes
-- come after the rows (map_index.sql): one sorted build instead of an index update per row.
-- Unlogged, like the pending rows (no WAL for rows rebuilt every merge): a server crash empties both, and
-- publish then refuses (the pending rows no longer match their audit) until the next merge rebuilds them.
-- (SET UNLOGGED converts a map an older pgmerge made; on an unlogged one it changes nothing.)
CREATE UNLOGGED TABLE IF NOT EXISTS "pgmerge"."map_edit" AS
SELECT s."id" AS staging_id, p."id" AS public_id, true AS inserted
FROM "staging"."edit" s, "public"."edit" p
WITH NO DATA;
TRUNCATE "pgmerge"."map_edit";
ALTER TABLE "pgmerge"."map_edit" SET UNLOGGED;

-- Move pgmerge's id counter past the target sequence's position (if a sequence feeds the id) and the
-- table's max(id), so a new id can never be one the target holds or its sequence has handed out.
SELECT setval('"pgmerge"."next_public.edit_id_seq"'::regclass, greatest(
    CASE WHEN a.is_called THEN a.last_value ELSE a.last_value - 1 END,
    (SELECT CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END FROM "public"."edit_id_seq" s),
    coalesce((SELECT max("id") FROM "public"."edit"), 0)))
FROM "pgmerge"."next_public.edit_id_seq" a;

-- History rows: a staging row whose content (every column but the id, foreign keys and id arrays
-- translated through the maps) the target already holds is that row, counted as a multiset: the n-th
-- staging copy of a content matches the n-th target copy. Every other row is new and gets a fresh id.
-- So dump #1 merged into itself, or dump #2 merged again, adds nothing. Copies are numbered within the
-- content's 64-bit hash first: the sort compares whole contents only where hashes tie.
-- Only candidates are translated and compared: staging rows whose plain columns (those compared as they
-- are) hash like some target row's. A row whose plain columns the target holds nowhere cannot match
-- (a hash collision only lets a row through that then fails the full comparison).
WITH plain_in_target AS (
    SELECT jsonb_hash_extended(jsonb_build_array("p"."author", "p"."edited_at", "p"."change"), 0) AS plain FROM "public"."edit" p
), candidates AS MATERIALIZED (
    SELECT st.*
    FROM "staging"."edit" st
    WHERE NOT EXISTS (SELECT 1 FROM "pgmerge"."map_edit" m WHERE m.staging_id = st."id")
      AND jsonb_hash_extended(jsonb_build_array("st"."author", "st"."edited_at", "st"."change"), 0) IN (SELECT plain FROM plain_in_target)
), s AS (
    SELECT st."id" AS staging_id, c.content, jsonb_hash_extended(c.content, 0) AS hash
    FROM candidates st
    LEFT JOIN "pgmerge"."map_dataset" AS "f0" ON "f0".staging_id = st."dataset_id"
    CROSS JOIN LATERAL (SELECT jsonb_build_array("f0".public_id, st."author", st."edited_at", st."change") AS content OFFSET 0) c  -- OFFSET 0: computed once
), numbered AS (
    SELECT staging_id, hash, content, row_number() OVER (PARTITION BY hash, content ORDER BY staging_id) AS copy
    FROM s
), target AS (
    SELECT public_id, hash, content, row_number() OVER (PARTITION BY hash, content ORDER BY public_id) AS copy
    FROM (SELECT p."id" AS public_id, c.content, jsonb_hash_extended(c.content, 0) AS hash
          FROM "public"."edit" p CROSS JOIN LATERAL (SELECT jsonb_build_array("p"."dataset_id", "p"."author", "p"."edited_at", "p"."change") AS content OFFSET 0) c
          -- all copies of a content have the same plain columns: kept or left out together
          WHERE jsonb_hash_extended(jsonb_build_array("p"."author", "p"."edited_at", "p"."change"), 0) IN (SELECT jsonb_hash_extended(jsonb_build_array("st"."author", "st"."edited_at", "st"."change"), 0)
                                                           FROM candidates st)) t
), matched AS (
    SELECT n.staging_id, t.public_id
    FROM numbered n JOIN target t ON t.hash = n.hash AND t.content = n.content AND t.copy = n.copy
)
INSERT INTO "pgmerge"."map_edit" (staging_id, public_id, inserted)
SELECT staging_id, public_id, false FROM matched
UNION ALL
SELECT l.staging_id, nextval('"pgmerge"."next_public.edit_id_seq"'::regclass), true
FROM (SELECT st."id" AS staging_id FROM "staging"."edit" st
      WHERE NOT EXISTS (SELECT 1 FROM "pgmerge"."map_edit" m WHERE m.staging_id = st."id")
        AND NOT EXISTS (SELECT 1 FROM matched m WHERE m.staging_id = st."id")
      ORDER BY st."id") l;

-- The map's indexes, built once it is filled: every later step finds map entries by staging id (the
-- unique index also proves each staging row is mapped once) and publish's guards by public id.
CREATE UNIQUE INDEX IF NOT EXISTS "map_edit_staging_id" ON "pgmerge"."map_edit" (staging_id);
CREATE INDEX IF NOT EXISTS "map_edit_public_id" ON "pgmerge"."map_edit" (public_id);

-- Planner statistics for a table pgmerge just filled, on the columns later queries join and group on (all,
-- where none are named): sampled from 3,000 rows instead of the server's default 30,000, which is plenty for
-- the hash joins and aggregates that read them, and 2–6× faster to take (measured: 126–190 ms → 22 ms for
-- 95k pending rows). SET LOCAL: the step's transaction only, never the target's own tables.
SET LOCAL default_statistics_target = 10;
ANALYZE "pgmerge"."map_edit";

-- step id_map/datasource_event after staging_data, id_map/datasource

-- guard staging.datasource_event.datasource_id: rows reference datasource ids that dump #2 does not hold
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- Staging rows whose foreign key names a parent that dump #2 does not hold (so no map entry exists).
SELECT st."datasource_id" AS staging_value
FROM "staging"."datasource_event" st
LEFT JOIN "pgmerge"."map_datasource" f ON f.staging_id = st."datasource_id"
WHERE st."datasource_id" IS NOT NULL AND f.staging_id IS NULL) q) b;

-- id map staging_id -> public_id; `inserted` says the staging row becomes a new target row. Built anew
-- each time from staging and the target as it is now, so after a publish every row maps to what it
-- became and a second merge of the same rows finds nothing new.
-- Column types come from the two tables themselves (WITH NO DATA), so any key type works. Its indexes
-- come after the rows (map_index.sql): one sorted build instead of an index update per row.
-- Unlogged, like the pending rows (no WAL for rows rebuilt every merge): a server crash empties both, and
-- publish then refuses (the pending rows no longer match their audit) until the next merge rebuilds them.
-- (SET UNLOGGED converts a map an older pgmerge made; on an unlogged one it changes nothing.)
CREATE UNLOGGED TABLE IF NOT EXISTS "pgmerge"."map_datasource_event" AS
SELECT s."id" AS staging_id, p."id" AS public_id, true AS inserted
FROM "staging"."datasource_event" s, "public"."datasource_event" p
WITH NO DATA;
TRUNCATE "pgmerge"."map_datasource_event";
ALTER TABLE "pgmerge"."map_datasource_event" SET UNLOGGED;

-- Move pgmerge's id counter past the target sequence's position (if a sequence feeds the id) and the
-- table's max(id), so a new id can never be one the target holds or its sequence has handed out.
SELECT setval('"pgmerge"."next_public.datasource_event_id_seq"'::regclass, greatest(
    CASE WHEN a.is_called THEN a.last_value ELSE a.last_value - 1 END,
    (SELECT CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END FROM "public"."datasource_event_id_seq" s),
    coalesce((SELECT max("id") FROM "public"."datasource_event"), 0)))
FROM "pgmerge"."next_public.datasource_event_id_seq" a;

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
    SELECT st."id" AS staging_id, "f0".public_id AS "k0", st."kind" AS "k1", st."occurred_at" AS "k2", ROW("f0".public_id, st."kind", st."occurred_at") AS natural_key,
           "f0".public_id IS NOT NULL AND st."kind" IS NOT NULL AND st."occurred_at" IS NOT NULL AS key_nonnull, "f0".public_id IS NOT NULL AND st."kind" IS NOT NULL AND st."occurred_at" IS NOT NULL AS key_complete
    FROM "staging"."datasource_event" st
    LEFT JOIN "pgmerge"."map_datasource" AS "f0" ON "f0".staging_id = st."datasource_id"
    WHERE NOT false AND NOT EXISTS (SELECT 1 FROM "pgmerge"."map_datasource_event" m WHERE m.staging_id = st."id")
), public_keys AS (
    SELECT p."id" AS public_id, "p"."datasource_id" AS "k0", "p"."kind" AS "k1", "p"."occurred_at" AS "k2"
    FROM "public"."datasource_event" p
    WHERE "p"."datasource_id" IS NOT NULL AND "p"."kind" IS NOT NULL AND "p"."occurred_at" IS NOT NULL
), public_null_keys AS (
    SELECT p."id" AS public_id, ROW("p"."datasource_id", "p"."kind", "p"."occurred_at") AS natural_key
    FROM "public"."datasource_event" p
    WHERE false AND NOT ("p"."datasource_id" IS NOT NULL AND "p"."kind" IS NOT NULL AND "p"."occurred_at" IS NOT NULL)
), candidates AS (
    SELECT s.staging_id, p.public_id
    FROM s JOIN public_keys p ON p."k0" = s."k0" AND p."k1" = s."k1" AND p."k2" = s."k2"
    UNION ALL
    SELECT s.staging_id, p.public_id
    FROM s JOIN public_null_keys p ON p.natural_key = s.natural_key
    WHERE NOT s.key_nonnull
), matched AS (
    SELECT staging_id, public_id
    FROM candidates
    WHERE EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."datasource_event"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{datasource_id,kind,occurred_at}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
    UNION ALL
    (SELECT DISTINCT ON (staging_id) staging_id, public_id
     FROM candidates
     WHERE NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."datasource_event"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{datasource_id,kind,occurred_at}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
     ORDER BY staging_id, public_id)
), new_rows AS (
    SELECT s.staging_id, s.staging_id AS leader
    FROM s
    WHERE false AND NOT EXISTS (SELECT 1 FROM matched m WHERE m.staging_id = s.staging_id)
    UNION ALL
    SELECT s.staging_id,
           first_value(s.staging_id) OVER (PARTITION BY s."k0", s."k1", s."k2", CASE WHEN NOT s.key_complete THEN s.staging_id END ORDER BY s.staging_id) AS leader
    FROM s
    WHERE NOT false AND NOT EXISTS (SELECT 1 FROM matched m WHERE m.staging_id = s.staging_id)
), leaders AS (
    SELECT l.staging_id, nextval('"pgmerge"."next_public.datasource_event_id_seq"'::regclass) AS public_id
    FROM (SELECT staging_id FROM new_rows WHERE staging_id = leader ORDER BY staging_id) l
)
INSERT INTO "pgmerge"."map_datasource_event" (staging_id, public_id, inserted)
SELECT staging_id, public_id, false FROM matched
UNION ALL
SELECT n.staging_id, l.public_id, n.staging_id = n.leader
FROM new_rows n JOIN leaders l ON l.staging_id = n.leader;

-- The map's indexes, built once it is filled: every later step finds map entries by staging id (the
-- unique index also proves each staging row is mapped once) and publish's guards by public id.
CREATE UNIQUE INDEX IF NOT EXISTS "map_datasource_event_staging_id" ON "pgmerge"."map_datasource_event" (staging_id);
CREATE INDEX IF NOT EXISTS "map_datasource_event_public_id" ON "pgmerge"."map_datasource_event" (public_id);

-- Planner statistics for a table pgmerge just filled, on the columns later queries join and group on (all,
-- where none are named): sampled from 3,000 rows instead of the server's default 30,000, which is plenty for
-- the hash joins and aggregates that read them, and 2–6× faster to take (measured: 126–190 ms → 22 ms for
-- 95k pending rows). SET LOCAL: the step's transaction only, never the target's own tables.
SET LOCAL default_statistics_target = 10;
ANALYZE "pgmerge"."map_datasource_event";

-- step id_map/datasource_metrics after staging_data, id_map/datasource

-- guard staging.datasource_metrics.datasource_id: rows reference datasource ids that dump #2 does not hold
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- Staging rows whose foreign key names a parent that dump #2 does not hold (so no map entry exists).
SELECT st."datasource_id" AS staging_value
FROM "staging"."datasource_metrics" st
LEFT JOIN "pgmerge"."map_datasource" f ON f.staging_id = st."datasource_id"
WHERE st."datasource_id" IS NOT NULL AND f.staging_id IS NULL) q) b;

-- id map staging_id -> public_id; `inserted` says the staging row becomes a new target row. Built anew
-- each time from staging and the target as it is now, so after a publish every row maps to what it
-- became and a second merge of the same rows finds nothing new.
-- Column types come from the two tables themselves (WITH NO DATA), so any key type works. Its indexes
-- come after the rows (map_index.sql): one sorted build instead of an index update per row.
-- Unlogged, like the pending rows (no WAL for rows rebuilt every merge): a server crash empties both, and
-- publish then refuses (the pending rows no longer match their audit) until the next merge rebuilds them.
-- (SET UNLOGGED converts a map an older pgmerge made; on an unlogged one it changes nothing.)
CREATE UNLOGGED TABLE IF NOT EXISTS "pgmerge"."map_datasource_metrics" AS
SELECT s."id" AS staging_id, p."id" AS public_id, true AS inserted
FROM "staging"."datasource_metrics" s, "public"."datasource_metrics" p
WITH NO DATA;
TRUNCATE "pgmerge"."map_datasource_metrics";
ALTER TABLE "pgmerge"."map_datasource_metrics" SET UNLOGGED;

-- Move pgmerge's id counter past the target sequence's position (if a sequence feeds the id) and the
-- table's max(id), so a new id can never be one the target holds or its sequence has handed out.
SELECT setval('"pgmerge"."next_public.datasource_metrics_id_seq"'::regclass, greatest(
    CASE WHEN a.is_called THEN a.last_value ELSE a.last_value - 1 END,
    (SELECT CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END FROM "public"."datasource_metrics_id_seq" s),
    coalesce((SELECT max("id") FROM "public"."datasource_metrics"), 0)))
FROM "pgmerge"."next_public.datasource_metrics_id_seq" a;

-- History rows: a staging row whose content (every column but the id, foreign keys and id arrays
-- translated through the maps) the target already holds is that row, counted as a multiset: the n-th
-- staging copy of a content matches the n-th target copy. Every other row is new and gets a fresh id.
-- So dump #1 merged into itself, or dump #2 merged again, adds nothing. Copies are numbered within the
-- content's 64-bit hash first: the sort compares whole contents only where hashes tie.
-- Only candidates are translated and compared: staging rows whose plain columns (those compared as they
-- are) hash like some target row's. A row whose plain columns the target holds nowhere cannot match
-- (a hash collision only lets a row through that then fails the full comparison).
WITH plain_in_target AS (
    SELECT jsonb_hash_extended(jsonb_build_array("p"."recorded_at", "p"."event_count"), 0) AS plain FROM "public"."datasource_metrics" p
), candidates AS MATERIALIZED (
    SELECT st.*
    FROM "staging"."datasource_metrics" st
    WHERE NOT EXISTS (SELECT 1 FROM "pgmerge"."map_datasource_metrics" m WHERE m.staging_id = st."id")
      AND jsonb_hash_extended(jsonb_build_array("st"."recorded_at", "st"."event_count"), 0) IN (SELECT plain FROM plain_in_target)
), s AS (
    SELECT st."id" AS staging_id, c.content, jsonb_hash_extended(c.content, 0) AS hash
    FROM candidates st
    LEFT JOIN "pgmerge"."map_datasource" AS "f0" ON "f0".staging_id = st."datasource_id"
    CROSS JOIN LATERAL (SELECT jsonb_build_array("f0".public_id, st."recorded_at", st."event_count") AS content OFFSET 0) c  -- OFFSET 0: computed once
), numbered AS (
    SELECT staging_id, hash, content, row_number() OVER (PARTITION BY hash, content ORDER BY staging_id) AS copy
    FROM s
), target AS (
    SELECT public_id, hash, content, row_number() OVER (PARTITION BY hash, content ORDER BY public_id) AS copy
    FROM (SELECT p."id" AS public_id, c.content, jsonb_hash_extended(c.content, 0) AS hash
          FROM "public"."datasource_metrics" p CROSS JOIN LATERAL (SELECT jsonb_build_array("p"."datasource_id", "p"."recorded_at", "p"."event_count") AS content OFFSET 0) c
          -- all copies of a content have the same plain columns: kept or left out together
          WHERE jsonb_hash_extended(jsonb_build_array("p"."recorded_at", "p"."event_count"), 0) IN (SELECT jsonb_hash_extended(jsonb_build_array("st"."recorded_at", "st"."event_count"), 0)
                                                           FROM candidates st)) t
), matched AS (
    SELECT n.staging_id, t.public_id
    FROM numbered n JOIN target t ON t.hash = n.hash AND t.content = n.content AND t.copy = n.copy
)
INSERT INTO "pgmerge"."map_datasource_metrics" (staging_id, public_id, inserted)
SELECT staging_id, public_id, false FROM matched
UNION ALL
SELECT l.staging_id, nextval('"pgmerge"."next_public.datasource_metrics_id_seq"'::regclass), true
FROM (SELECT st."id" AS staging_id FROM "staging"."datasource_metrics" st
      WHERE NOT EXISTS (SELECT 1 FROM "pgmerge"."map_datasource_metrics" m WHERE m.staging_id = st."id")
        AND NOT EXISTS (SELECT 1 FROM matched m WHERE m.staging_id = st."id")
      ORDER BY st."id") l;

-- The map's indexes, built once it is filled: every later step finds map entries by staging id (the
-- unique index also proves each staging row is mapped once) and publish's guards by public id.
CREATE UNIQUE INDEX IF NOT EXISTS "map_datasource_metrics_staging_id" ON "pgmerge"."map_datasource_metrics" (staging_id);
CREATE INDEX IF NOT EXISTS "map_datasource_metrics_public_id" ON "pgmerge"."map_datasource_metrics" (public_id);

-- Planner statistics for a table pgmerge just filled, on the columns later queries join and group on (all,
-- where none are named): sampled from 3,000 rows instead of the server's default 30,000, which is plenty for
-- the hash joins and aggregates that read them, and 2–6× faster to take (measured: 126–190 ms → 22 ms for
-- 95k pending rows). SET LOCAL: the step's transaction only, never the target's own tables.
SET LOCAL default_statistics_target = 10;
ANALYZE "pgmerge"."map_datasource_metrics";

-- step merged/dataset after id_map/dataset

TRUNCATE "pgmerge"."pending_dataset";

-- The staging rows their map marks as new, as publish will insert them: under their mapped ids, every
-- foreign key (cycle columns too) translated through its parent's map.
INSERT INTO "pgmerge"."pending_dataset" ("id", "name", "description", "created_at")
SELECT m.public_id, st."name", st."description", st."created_at"
FROM "staging"."dataset" st
JOIN "pgmerge"."map_dataset" m ON m.staging_id = st."id" AND m.inserted;

-- Pending rows are found by id (array repair, the merged view, publish's checks).
CREATE INDEX IF NOT EXISTS "pending_dataset_id" ON "pgmerge"."pending_dataset" ("id");

-- The merge log: the target's row count when the pending rows were built, and how many there are.
INSERT INTO "pgmerge"."merge_log" AS l (table_name, rows_before, rows_pending)
VALUES ('dataset', (SELECT count(*) FROM "public"."dataset"), (SELECT count(*) FROM "pgmerge"."pending_dataset"))
ON CONFLICT (table_name) DO UPDATE SET rows_before = excluded.rows_before, rows_pending = excluded.rows_pending;

-- Planner statistics for a table pgmerge just filled, on the columns later queries join and group on (all,
-- where none are named): sampled from 3,000 rows instead of the server's default 30,000, which is plenty for
-- the hash joins and aggregates that read them, and 2–6× faster to take (measured: 126–190 ms → 22 ms for
-- 95k pending rows). SET LOCAL: the step's transaction only, never the target's own tables.
SET LOCAL default_statistics_target = 10;
ANALYZE "pgmerge"."pending_dataset" ("id", "name");

-- step merged/finding after id_map/finding

TRUNCATE "pgmerge"."pending_finding";

-- The staging rows their map marks as new, as publish will insert them: under their mapped ids, every
-- foreign key (cycle columns too) translated through its parent's map.
INSERT INTO "pgmerge"."pending_finding" ("id", "identifier", "severity", "summary")
SELECT m.public_id, st."identifier", st."severity", st."summary"
FROM "staging"."finding" st
JOIN "pgmerge"."map_finding" m ON m.staging_id = st."id" AND m.inserted;

-- Pending rows are found by id (array repair, the merged view, publish's checks).
CREATE INDEX IF NOT EXISTS "pending_finding_id" ON "pgmerge"."pending_finding" ("id");

-- The merge log: the target's row count when the pending rows were built, and how many there are.
INSERT INTO "pgmerge"."merge_log" AS l (table_name, rows_before, rows_pending)
VALUES ('finding', (SELECT count(*) FROM "public"."finding"), (SELECT count(*) FROM "pgmerge"."pending_finding"))
ON CONFLICT (table_name) DO UPDATE SET rows_before = excluded.rows_before, rows_pending = excluded.rows_pending;

-- Planner statistics for a table pgmerge just filled, on the columns later queries join and group on (all,
-- where none are named): sampled from 3,000 rows instead of the server's default 30,000, which is plenty for
-- the hash joins and aggregates that read them, and 2–6× faster to take (measured: 126–190 ms → 22 ms for
-- 95k pending rows). SET LOCAL: the step's transaction only, never the target's own tables.
SET LOCAL default_statistics_target = 10;
ANALYZE "pgmerge"."pending_finding" ("id", "identifier");

-- step merged/finding_reporter after id_map/finding_reporter

TRUNCATE "pgmerge"."pending_finding_reporter";

-- The staging rows their map marks as new, as publish will insert them: under their mapped ids, every
-- foreign key (cycle columns too) translated through its parent's map.
INSERT INTO "pgmerge"."pending_finding_reporter" ("id", "name", "email")
SELECT m.public_id, st."name", st."email"
FROM "staging"."finding_reporter" st
JOIN "pgmerge"."map_finding_reporter" m ON m.staging_id = st."id" AND m.inserted;

-- Pending rows are found by id (array repair, the merged view, publish's checks).
CREATE INDEX IF NOT EXISTS "pending_finding_reporter_id" ON "pgmerge"."pending_finding_reporter" ("id");

-- The merge log: the target's row count when the pending rows were built, and how many there are.
INSERT INTO "pgmerge"."merge_log" AS l (table_name, rows_before, rows_pending)
VALUES ('finding_reporter', (SELECT count(*) FROM "public"."finding_reporter"), (SELECT count(*) FROM "pgmerge"."pending_finding_reporter"))
ON CONFLICT (table_name) DO UPDATE SET rows_before = excluded.rows_before, rows_pending = excluded.rows_pending;

-- Planner statistics for a table pgmerge just filled, on the columns later queries join and group on (all,
-- where none are named): sampled from 3,000 rows instead of the server's default 30,000, which is plenty for
-- the hash joins and aggregates that read them, and 2–6× faster to take (measured: 126–190 ms → 22 ms for
-- 95k pending rows). SET LOCAL: the step's transaction only, never the target's own tables.
SET LOCAL default_statistics_target = 10;
ANALYZE "pgmerge"."pending_finding_reporter" ("id", "name");

-- step merged/package after id_map/package

TRUNCATE "pgmerge"."pending_package";

-- The staging rows their map marks as new, as publish will insert them: under their mapped ids, every
-- foreign key (cycle columns too) translated through its parent's map.
INSERT INTO "pgmerge"."pending_package" ("id", "purl", "version", "license")
SELECT m.public_id, st."purl", st."version", st."license"
FROM "staging"."package" st
JOIN "pgmerge"."map_package" m ON m.staging_id = st."id" AND m.inserted;

-- Pending rows are found by id (array repair, the merged view, publish's checks).
CREATE INDEX IF NOT EXISTS "pending_package_id" ON "pgmerge"."pending_package" ("id");

-- The merge log: the target's row count when the pending rows were built, and how many there are.
INSERT INTO "pgmerge"."merge_log" AS l (table_name, rows_before, rows_pending)
VALUES ('package', (SELECT count(*) FROM "public"."package"), (SELECT count(*) FROM "pgmerge"."pending_package"))
ON CONFLICT (table_name) DO UPDATE SET rows_before = excluded.rows_before, rows_pending = excluded.rows_pending;

-- Planner statistics for a table pgmerge just filled, on the columns later queries join and group on (all,
-- where none are named): sampled from 3,000 rows instead of the server's default 30,000, which is plenty for
-- the hash joins and aggregates that read them, and 2–6× faster to take (measured: 126–190 ms → 22 ms for
-- 95k pending rows). SET LOCAL: the step's transaction only, never the target's own tables.
SET LOCAL default_statistics_target = 10;
ANALYZE "pgmerge"."pending_package" ("id", "purl");

-- step merged/dataset_metrics after id_map/dataset_metrics, id_map/dataset, merged/dataset

TRUNCATE "pgmerge"."pending_dataset_metrics";

-- The staging rows their map marks as new, as publish will insert them: under their mapped ids, every
-- foreign key (cycle columns too) translated through its parent's map.
INSERT INTO "pgmerge"."pending_dataset_metrics" ("id", "dataset_id", "txid", "recorded_at", "package_count", "package_indexes")
SELECT m.public_id, "f0".public_id, st."txid", st."recorded_at", st."package_count", st."package_indexes"
FROM "staging"."dataset_metrics" st
JOIN "pgmerge"."map_dataset_metrics" m ON m.staging_id = st."id" AND m.inserted
LEFT JOIN "pgmerge"."map_dataset" AS "f0" ON "f0".staging_id = st."dataset_id";

-- Pending rows are found by id (array repair, the merged view, publish's checks).
CREATE INDEX IF NOT EXISTS "pending_dataset_metrics_id" ON "pgmerge"."pending_dataset_metrics" ("id");

-- The merge log: the target's row count when the pending rows were built, and how many there are.
INSERT INTO "pgmerge"."merge_log" AS l (table_name, rows_before, rows_pending)
VALUES ('dataset_metrics', (SELECT count(*) FROM "public"."dataset_metrics"), (SELECT count(*) FROM "pgmerge"."pending_dataset_metrics"))
ON CONFLICT (table_name) DO UPDATE SET rows_before = excluded.rows_before, rows_pending = excluded.rows_pending;

-- Planner statistics for a table pgmerge just filled, on the columns later queries join and group on (all,
-- where none are named): sampled from 3,000 rows instead of the server's default 30,000, which is plenty for
-- the hash joins and aggregates that read them, and 2–6× faster to take (measured: 126–190 ms → 22 ms for
-- 95k pending rows). SET LOCAL: the step's transaction only, never the target's own tables.
SET LOCAL default_statistics_target = 10;
ANALYZE "pgmerge"."pending_dataset_metrics" ("id", "dataset_id");

-- step merged/datasource after id_map/datasource, id_map/dataset, merged/dataset

-- guard staging.datasource.dataset_id: rows reference dataset ids that dump #2 does not hold
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- Staging rows whose foreign key names a parent that dump #2 does not hold (so no map entry exists).
SELECT st."dataset_id" AS staging_value
FROM "staging"."datasource" st
LEFT JOIN "pgmerge"."map_dataset" f ON f.staging_id = st."dataset_id"
WHERE st."dataset_id" IS NOT NULL AND f.staging_id IS NULL) q) b;

TRUNCATE "pgmerge"."pending_datasource";

-- The staging rows their map marks as new, as publish will insert them: under their mapped ids, every
-- foreign key (cycle columns too) translated through its parent's map.
INSERT INTO "pgmerge"."pending_datasource" ("id", "purl", "dataset_id", "url", "package_indexes")
SELECT m.public_id, st."purl", "f0".public_id, st."url", st."package_indexes"
FROM "staging"."datasource" st
JOIN "pgmerge"."map_datasource" m ON m.staging_id = st."id" AND m.inserted
LEFT JOIN "pgmerge"."map_dataset" AS "f0" ON "f0".staging_id = st."dataset_id";

-- Pending rows are found by id (array repair, the merged view, publish's checks).
CREATE INDEX IF NOT EXISTS "pending_datasource_id" ON "pgmerge"."pending_datasource" ("id");

-- The merge log: the target's row count when the pending rows were built, and how many there are.
INSERT INTO "pgmerge"."merge_log" AS l (table_name, rows_before, rows_pending)
VALUES ('datasource', (SELECT count(*) FROM "public"."datasource"), (SELECT count(*) FROM "pgmerge"."pending_datasource"))
ON CONFLICT (table_name) DO UPDATE SET rows_before = excluded.rows_before, rows_pending = excluded.rows_pending;

-- Planner statistics for a table pgmerge just filled, on the columns later queries join and group on (all,
-- where none are named): sampled from 3,000 rows instead of the server's default 30,000, which is plenty for
-- the hash joins and aggregates that read them, and 2–6× faster to take (measured: 126–190 ms → 22 ms for
-- 95k pending rows). SET LOCAL: the step's transaction only, never the target's own tables.
SET LOCAL default_statistics_target = 10;
ANALYZE "pgmerge"."pending_datasource" ("id", "purl", "dataset_id");

-- step merged/edit after id_map/edit, id_map/dataset, merged/dataset

TRUNCATE "pgmerge"."pending_edit";

-- The staging rows their map marks as new, as publish will insert them: under their mapped ids, every
-- foreign key (cycle columns too) translated through its parent's map.
INSERT INTO "pgmerge"."pending_edit" ("id", "dataset_id", "author", "edited_at", "change")
SELECT m.public_id, "f0".public_id, st."author", st."edited_at", st."change"
FROM "staging"."edit" st
JOIN "pgmerge"."map_edit" m ON m.staging_id = st."id" AND m.inserted
LEFT JOIN "pgmerge"."map_dataset" AS "f0" ON "f0".staging_id = st."dataset_id";

-- Pending rows are found by id (array repair, the merged view, publish's checks).
CREATE INDEX IF NOT EXISTS "pending_edit_id" ON "pgmerge"."pending_edit" ("id");

-- The merge log: the target's row count when the pending rows were built, and how many there are.
INSERT INTO "pgmerge"."merge_log" AS l (table_name, rows_before, rows_pending)
VALUES ('edit', (SELECT count(*) FROM "public"."edit"), (SELECT count(*) FROM "pgmerge"."pending_edit"))
ON CONFLICT (table_name) DO UPDATE SET rows_before = excluded.rows_before, rows_pending = excluded.rows_pending;

-- Planner statistics for a table pgmerge just filled, on the columns later queries join and group on (all,
-- where none are named): sampled from 3,000 rows instead of the server's default 30,000, which is plenty for
-- the hash joins and aggregates that read them, and 2–6× faster to take (measured: 126–190 ms → 22 ms for
-- 95k pending rows). SET LOCAL: the step's transaction only, never the target's own tables.
SET LOCAL default_statistics_target = 10;
ANALYZE "pgmerge"."pending_edit" ("id", "dataset_id");

-- step merged/finding_finding_reporter after staging_data, id_map/finding, id_map/finding_reporter, merged/finding, merged/finding_reporter

-- guard staging.finding_finding_reporter.finding_id: rows reference finding ids that dump #2 does not hold
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- Staging rows whose foreign key names a parent that dump #2 does not hold (so no map entry exists).
SELECT st."finding_id" AS staging_value
FROM "staging"."finding_finding_reporter" st
LEFT JOIN "pgmerge"."map_finding" f ON f.staging_id = st."finding_id"
WHERE st."finding_id" IS NOT NULL AND f.staging_id IS NULL) q) b;

-- guard staging.finding_finding_reporter.finding_reporter_id: rows reference finding_reporter ids that dump #2 does not hold
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- Staging rows whose foreign key names a parent that dump #2 does not hold (so no map entry exists).
SELECT st."finding_reporter_id" AS staging_value
FROM "staging"."finding_finding_reporter" st
LEFT JOIN "pgmerge"."map_finding_reporter" f ON f.staging_id = st."finding_reporter_id"
WHERE st."finding_reporter_id" IS NOT NULL AND f.staging_id IS NULL) q) b;

TRUNCATE "pgmerge"."pending_finding_finding_reporter";

-- Tables without a surrogate id (join tables): translate every foreign key through its parent's map and
-- keep the rows whose natural key the target does not hold yet (public wins).
INSERT INTO "pgmerge"."pending_finding_finding_reporter" ("finding_id", "finding_reporter_id")
SELECT "s"."finding_id", "s"."finding_reporter_id"
FROM (
    SELECT DISTINCT "f0".public_id AS "finding_id", "f1".public_id AS "finding_reporter_id"
    FROM "staging"."finding_finding_reporter" st
    LEFT JOIN "pgmerge"."map_finding" AS "f0" ON "f0".staging_id = st."finding_id"
    LEFT JOIN "pgmerge"."map_finding_reporter" AS "f1" ON "f1".staging_id = st."finding_reporter_id"
) s
WHERE NOT EXISTS (SELECT 1 FROM "public"."finding_finding_reporter" p WHERE "p"."finding_id" = "s"."finding_id" AND "p"."finding_reporter_id" = "s"."finding_reporter_id");

-- The merge log: the target's row count when the pending rows were built, and how many there are.
INSERT INTO "pgmerge"."merge_log" AS l (table_name, rows_before, rows_pending)
VALUES ('finding_finding_reporter', (SELECT count(*) FROM "public"."finding_finding_reporter"), (SELECT count(*) FROM "pgmerge"."pending_finding_finding_reporter"))
ON CONFLICT (table_name) DO UPDATE SET rows_before = excluded.rows_before, rows_pending = excluded.rows_pending;

-- Planner statistics for a table pgmerge just filled, on the columns later queries join and group on (all,
-- where none are named): sampled from 3,000 rows instead of the server's default 30,000, which is plenty for
-- the hash joins and aggregates that read them, and 2–6× faster to take (measured: 126–190 ms → 22 ms for
-- 95k pending rows). SET LOCAL: the step's transaction only, never the target's own tables.
SET LOCAL default_statistics_target = 10;
ANALYZE "pgmerge"."pending_finding_finding_reporter" ("finding_id", "finding_reporter_id");

-- step merged/datasource_event after id_map/datasource_event, id_map/datasource, merged/datasource

TRUNCATE "pgmerge"."pending_datasource_event";

-- The staging rows their map marks as new, as publish will insert them: under their mapped ids, every
-- foreign key (cycle columns too) translated through its parent's map.
INSERT INTO "pgmerge"."pending_datasource_event" ("id", "datasource_id", "kind", "occurred_at", "payload")
SELECT m.public_id, "f0".public_id, st."kind", st."occurred_at", st."payload"
FROM "staging"."datasource_event" st
JOIN "pgmerge"."map_datasource_event" m ON m.staging_id = st."id" AND m.inserted
LEFT JOIN "pgmerge"."map_datasource" AS "f0" ON "f0".staging_id = st."datasource_id";

-- Pending rows are found by id (array repair, the merged view, publish's checks).
CREATE INDEX IF NOT EXISTS "pending_datasource_event_id" ON "pgmerge"."pending_datasource_event" ("id");

-- The merge log: the target's row count when the pending rows were built, and how many there are.
INSERT INTO "pgmerge"."merge_log" AS l (table_name, rows_before, rows_pending)
VALUES ('datasource_event', (SELECT count(*) FROM "public"."datasource_event"), (SELECT count(*) FROM "pgmerge"."pending_datasource_event"))
ON CONFLICT (table_name) DO UPDATE SET rows_before = excluded.rows_before, rows_pending = excluded.rows_pending;

-- Planner statistics for a table pgmerge just filled, on the columns later queries join and group on (all,
-- where none are named): sampled from 3,000 rows instead of the server's default 30,000, which is plenty for
-- the hash joins and aggregates that read them, and 2–6× faster to take (measured: 126–190 ms → 22 ms for
-- 95k pending rows). SET LOCAL: the step's transaction only, never the target's own tables.
SET LOCAL default_statistics_target = 10;
ANALYZE "pgmerge"."pending_datasource_event" ("id", "datasource_id", "kind", "occurred_at");

-- step merged/datasource_metrics after id_map/datasource_metrics, id_map/datasource, merged/datasource

TRUNCATE "pgmerge"."pending_datasource_metrics";

-- The staging rows their map marks as new, as publish will insert them: under their mapped ids, every
-- foreign key (cycle columns too) translated through its parent's map.
INSERT INTO "pgmerge"."pending_datasource_metrics" ("id", "datasource_id", "recorded_at", "event_count")
SELECT m.public_id, "f0".public_id, st."recorded_at", st."event_count"
FROM "staging"."datasource_metrics" st
JOIN "pgmerge"."map_datasource_metrics" m ON m.staging_id = st."id" AND m.inserted
LEFT JOIN "pgmerge"."map_datasource" AS "f0" ON "f0".staging_id = st."datasource_id";

-- Pending rows are found by id (array repair, the merged view, publish's checks).
CREATE INDEX IF NOT EXISTS "pending_datasource_metrics_id" ON "pgmerge"."pending_datasource_metrics" ("id");

-- The merge log: the target's row count when the pending rows were built, and how many there are.
INSERT INTO "pgmerge"."merge_log" AS l (table_name, rows_before, rows_pending)
VALUES ('datasource_metrics', (SELECT count(*) FROM "public"."datasource_metrics"), (SELECT count(*) FROM "pgmerge"."pending_datasource_metrics"))
ON CONFLICT (table_name) DO UPDATE SET rows_before = excluded.rows_before, rows_pending = excluded.rows_pending;

-- Planner statistics for a table pgmerge just filled, on the columns later queries join and group on (all,
-- where none are named): sampled from 3,000 rows instead of the server's default 30,000, which is plenty for
-- the hash joins and aggregates that read them, and 2–6× faster to take (measured: 126–190 ms → 22 ms for
-- 95k pending rows). SET LOCAL: the step's transaction only, never the target's own tables.
SET LOCAL default_statistics_target = 10;
ANALYZE "pgmerge"."pending_datasource_metrics" ("id", "datasource_id");

-- step merged/datasource_event_finding after staging_data, id_map/datasource_event, id_map/finding, merged/datasource_event, merged/finding

-- guard staging.datasource_event_finding.datasource_event_id: rows reference datasource_event ids that dump #2 does not hold
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- Staging rows whose foreign key names a parent that dump #2 does not hold (so no map entry exists).
SELECT st."datasource_event_id" AS staging_value
FROM "staging"."datasource_event_finding" st
LEFT JOIN "pgmerge"."map_datasource_event" f ON f.staging_id = st."datasource_event_id"
WHERE st."datasource_event_id" IS NOT NULL AND f.staging_id IS NULL) q) b;

-- guard staging.datasource_event_finding.finding_id: rows reference finding ids that dump #2 does not hold
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- Staging rows whose foreign key names a parent that dump #2 does not hold (so no map entry exists).
SELECT st."finding_id" AS staging_value
FROM "staging"."datasource_event_finding" st
LEFT JOIN "pgmerge"."map_finding" f ON f.staging_id = st."finding_id"
WHERE st."finding_id" IS NOT NULL AND f.staging_id IS NULL) q) b;

TRUNCATE "pgmerge"."pending_datasource_event_finding";

-- Tables without a surrogate id (join tables): translate every foreign key through its parent's map and
-- keep the rows whose natural key the target does not hold yet (public wins).
INSERT INTO "pgmerge"."pending_datasource_event_finding" ("datasource_event_id", "finding_id")
SELECT "s"."datasource_event_id", "s"."finding_id"
FROM (
    SELECT DISTINCT "f0".public_id AS "datasource_event_id", "f1".public_id AS "finding_id"
    FROM "staging"."datasource_event_finding" st
    LEFT JOIN "pgmerge"."map_datasource_event" AS "f0" ON "f0".staging_id = st."datasource_event_id"
    LEFT JOIN "pgmerge"."map_finding" AS "f1" ON "f1".staging_id = st."finding_id"
) s
WHERE NOT EXISTS (SELECT 1 FROM "public"."datasource_event_finding" p WHERE "p"."datasource_event_id" = "s"."datasource_event_id" AND "p"."finding_id" = "s"."finding_id");

-- The merge log: the target's row count when the pending rows were built, and how many there are.
INSERT INTO "pgmerge"."merge_log" AS l (table_name, rows_before, rows_pending)
VALUES ('datasource_event_finding', (SELECT count(*) FROM "public"."datasource_event_finding"), (SELECT count(*) FROM "pgmerge"."pending_datasource_event_finding"))
ON CONFLICT (table_name) DO UPDATE SET rows_before = excluded.rows_before, rows_pending = excluded.rows_pending;

-- Planner statistics for a table pgmerge just filled, on the columns later queries join and group on (all,
-- where none are named): sampled from 3,000 rows instead of the server's default 30,000, which is plenty for
-- the hash joins and aggregates that read them, and 2–6× faster to take (measured: 126–190 ms → 22 ms for
-- 95k pending rows). SET LOCAL: the step's transaction only, never the target's own tables.
SET LOCAL default_statistics_target = 10;
ANALYZE "pgmerge"."pending_datasource_event_finding" ("datasource_event_id", "finding_id");

-- step merged/datasource_event_package after staging_data, id_map/datasource_event, id_map/package, merged/datasource_event, merged/package

-- guard staging.datasource_event_package.datasource_event_id: rows reference datasource_event ids that dump #2 does not hold
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- Staging rows whose foreign key names a parent that dump #2 does not hold (so no map entry exists).
SELECT st."datasource_event_id" AS staging_value
FROM "staging"."datasource_event_package" st
LEFT JOIN "pgmerge"."map_datasource_event" f ON f.staging_id = st."datasource_event_id"
WHERE st."datasource_event_id" IS NOT NULL AND f.staging_id IS NULL) q) b;

-- guard staging.datasource_event_package.package_id: rows reference package ids that dump #2 does not hold
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- Staging rows whose foreign key names a parent that dump #2 does not hold (so no map entry exists).
SELECT st."package_id" AS staging_value
FROM "staging"."datasource_event_package" st
LEFT JOIN "pgmerge"."map_package" f ON f.staging_id = st."package_id"
WHERE st."package_id" IS NOT NULL AND f.staging_id IS NULL) q) b;

TRUNCATE "pgmerge"."pending_datasource_event_package";

-- Tables without a surrogate id (join tables): translate every foreign key through its parent's map and
-- keep the rows whose natural key the target does not hold yet (public wins).
INSERT INTO "pgmerge"."pending_datasource_event_package" ("datasource_event_id", "package_id")
SELECT "s"."datasource_event_id", "s"."package_id"
FROM (
    SELECT DISTINCT "f0".public_id AS "datasource_event_id", "f1".public_id AS "package_id"
    FROM "staging"."datasource_event_package" st
    LEFT JOIN "pgmerge"."map_datasource_event" AS "f0" ON "f0".staging_id = st."datasource_event_id"
    LEFT JOIN "pgmerge"."map_package" AS "f1" ON "f1".staging_id = st."package_id"
) s
WHERE NOT EXISTS (SELECT 1 FROM "public"."datasource_event_package" p WHERE "p"."datasource_event_id" = "s"."datasource_event_id" AND "p"."package_id" = "s"."package_id");

-- The merge log: the target's row count when the pending rows were built, and how many there are.
INSERT INTO "pgmerge"."merge_log" AS l (table_name, rows_before, rows_pending)
VALUES ('datasource_event_package', (SELECT count(*) FROM "public"."datasource_event_package"), (SELECT count(*) FROM "pgmerge"."pending_datasource_event_package"))
ON CONFLICT (table_name) DO UPDATE SET rows_before = excluded.rows_before, rows_pending = excluded.rows_pending;

-- Planner statistics for a table pgmerge just filled, on the columns later queries join and group on (all,
-- where none are named): sampled from 3,000 rows instead of the server's default 30,000, which is plenty for
-- the hash joins and aggregates that read them, and 2–6× faster to take (measured: 126–190 ms → 22 ms for
-- 95k pending rows). SET LOCAL: the step's transaction only, never the target's own tables.
SET LOCAL default_statistics_target = 10;
ANALYZE "pgmerge"."pending_datasource_event_package" ("datasource_event_id", "package_id");

-- step repaired_arrays/dataset_metrics__package_indexes after merged/dataset_metrics, id_map/package, merged/package

-- guard staging.dataset_metrics.package_indexes: elements name package ids that dump #2 does not hold
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- Array elements of dump #2's new rows that name no row of the referenced table in dump #2.
SELECT st."id" AS staging_id, u.element
FROM "staging"."dataset_metrics" st
JOIN "pgmerge"."map_dataset_metrics" m ON m.staging_id = st."id" AND m.inserted
CROSS JOIN LATERAL unnest(st."package_indexes") AS u(element)
LEFT JOIN "pgmerge"."map_package" rm ON rm.staging_id = u.element
WHERE u.element IS NOT NULL AND rm.staging_id IS NULL) q) b;

-- Rewrite an id array of the pending rows (dump #2's new rows) from their staging value, element by
-- element through the referenced table's map (CASE WHEN st."package_indexes" IS NULL THEN NULL ELSE coalesce("a0".ids, '{}') END: all rows at once, order, length and NULL
-- elements kept). The target's own rows, and rows that matched by natural key, keep their arrays
-- (public wins). Recomputed from staging each time, so a second run changes nothing.
UPDATE "pgmerge"."pending_dataset_metrics" p
SET "package_indexes" = r.repaired
FROM (
    SELECT m.public_id, CASE WHEN st."package_indexes" IS NULL THEN NULL ELSE coalesce("a0".ids, '{}') END AS repaired
    FROM "staging"."dataset_metrics" st
    JOIN "pgmerge"."map_dataset_metrics" m ON m.staging_id = st."id" AND m.inserted
    LEFT JOIN (SELECT x."id" AS staging_id, array_agg(rm.public_id ORDER BY u.ord) AS ids FROM "staging"."dataset_metrics" x CROSS JOIN LATERAL unnest(x."package_indexes") WITH ORDINALITY AS u(element, ord) LEFT JOIN "pgmerge"."map_package" rm ON rm.staging_id = u.element GROUP BY 1) AS "a0" ON "a0".staging_id = st."id"
) r
WHERE p."id" = r.public_id AND p."package_indexes" IS DISTINCT FROM r.repaired;

-- step repaired_arrays/datasource__package_indexes after merged/datasource, id_map/package, merged/package

-- guard staging.datasource.package_indexes: elements name package ids that dump #2 does not hold
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- Array elements of dump #2's new rows that name no row of the referenced table in dump #2.
SELECT st."id" AS staging_id, u.element
FROM "staging"."datasource" st
JOIN "pgmerge"."map_datasource" m ON m.staging_id = st."id" AND m.inserted
CROSS JOIN LATERAL unnest(st."package_indexes") AS u(element)
LEFT JOIN "pgmerge"."map_package" rm ON rm.staging_id = u.element
WHERE u.element IS NOT NULL AND rm.staging_id IS NULL) q) b;

-- Rewrite an id array of the pending rows (dump #2's new rows) from their staging value, element by
-- element through the referenced table's map (CASE WHEN st."package_indexes" IS NULL THEN NULL ELSE coalesce("a0".ids, '{}') END: all rows at once, order, length and NULL
-- elements kept). The target's own rows, and rows that matched by natural key, keep their arrays
-- (public wins). Recomputed from staging each time, so a second run changes nothing.
UPDATE "pgmerge"."pending_datasource" p
SET "package_indexes" = r.repaired
FROM (
    SELECT m.public_id, CASE WHEN st."package_indexes" IS NULL THEN NULL ELSE coalesce("a0".ids, '{}') END AS repaired
    FROM "staging"."datasource" st
    JOIN "pgmerge"."map_datasource" m ON m.staging_id = st."id" AND m.inserted
    LEFT JOIN (SELECT x."id" AS staging_id, array_agg(rm.public_id ORDER BY u.ord) AS ids FROM "staging"."datasource" x CROSS JOIN LATERAL unnest(x."package_indexes") WITH ORDINALITY AS u(element, ord) LEFT JOIN "pgmerge"."map_package" rm ON rm.staging_id = u.element GROUP BY 1) AS "a0" ON "a0".staging_id = st."id"
) r
WHERE p."id" = r.public_id AND p."package_indexes" IS DISTINCT FROM r.repaired;

-- step sequences after merged/dataset, merged/finding, merged/finding_reporter, merged/package, merged/dataset_metrics, merged/datasource, merged/edit, merged/datasource_event, merged/datasource_metrics

-- Move pgmerge's id counter past the target sequence's position (if a sequence feeds the id) and the
-- table's max(id), so a new id can never be one the target holds or its sequence has handed out.
SELECT setval('"pgmerge"."next_public.dataset_id_seq"'::regclass, greatest(
    CASE WHEN a.is_called THEN a.last_value ELSE a.last_value - 1 END,
    (SELECT CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END FROM "public"."dataset_id_seq" s),
    coalesce((SELECT max("id") FROM "pgmerge"."merged_dataset"), 0)))
FROM "pgmerge"."next_public.dataset_id_seq" a;

-- Move pgmerge's id counter past the target sequence's position (if a sequence feeds the id) and the
-- table's max(id), so a new id can never be one the target holds or its sequence has handed out.
SELECT setval('"pgmerge"."next_public.finding_id_seq"'::regclass, greatest(
    CASE WHEN a.is_called THEN a.last_value ELSE a.last_value - 1 END,
    (SELECT CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END FROM "public"."finding_id_seq" s),
    coalesce((SELECT max("id") FROM "pgmerge"."merged_finding"), 0)))
FROM "pgmerge"."next_public.finding_id_seq" a;

-- Move pgmerge's id counter past the target sequence's position (if a sequence feeds the id) and the
-- table's max(id), so a new id can never be one the target holds or its sequence has handed out.
SELECT setval('"pgmerge"."next_public.finding_reporter_id_seq"'::regclass, greatest(
    CASE WHEN a.is_called THEN a.last_value ELSE a.last_value - 1 END,
    (SELECT CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END FROM "public"."finding_reporter_id_seq" s),
    coalesce((SELECT max("id") FROM "pgmerge"."merged_finding_reporter"), 0)))
FROM "pgmerge"."next_public.finding_reporter_id_seq" a;

-- Move pgmerge's id counter past the target sequence's position (if a sequence feeds the id) and the
-- table's max(id), so a new id can never be one the target holds or its sequence has handed out.
SELECT setval('"pgmerge"."next_public.package_id_seq"'::regclass, greatest(
    CASE WHEN a.is_called THEN a.last_value ELSE a.last_value - 1 END,
    (SELECT CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END FROM "public"."package_id_seq" s),
    coalesce((SELECT max("id") FROM "pgmerge"."merged_package"), 0)))
FROM "pgmerge"."next_public.package_id_seq" a;

-- Move pgmerge's id counter past the target sequence's position (if a sequence feeds the id) and the
-- table's max(id), so a new id can never be one the target holds or its sequence has handed out.
SELECT setval('"pgmerge"."next_public.dataset_metrics_id_seq"'::regclass, greatest(
    CASE WHEN a.is_called THEN a.last_value ELSE a.last_value - 1 END,
    (SELECT CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END FROM "public"."dataset_metrics_id_seq" s),
    coalesce((SELECT max("id") FROM "pgmerge"."merged_dataset_metrics"), 0)))
FROM "pgmerge"."next_public.dataset_metrics_id_seq" a;

-- Move pgmerge's id counter past the target sequence's position (if a sequence feeds the id) and the
-- table's max(id), so a new id can never be one the target holds or its sequence has handed out.
SELECT setval('"pgmerge"."next_public.datasource_id_seq"'::regclass, greatest(
    CASE WHEN a.is_called THEN a.last_value ELSE a.last_value - 1 END,
    (SELECT CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END FROM "public"."datasource_id_seq" s),
    coalesce((SELECT max("id") FROM "pgmerge"."merged_datasource"), 0)))
FROM "pgmerge"."next_public.datasource_id_seq" a;

-- Move pgmerge's id counter past the target sequence's position (if a sequence feeds the id) and the
-- table's max(id), so a new id can never be one the target holds or its sequence has handed out.
SELECT setval('"pgmerge"."next_public.edit_id_seq"'::regclass, greatest(
    CASE WHEN a.is_called THEN a.last_value ELSE a.last_value - 1 END,
    (SELECT CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END FROM "public"."edit_id_seq" s),
    coalesce((SELECT max("id") FROM "pgmerge"."merged_edit"), 0)))
FROM "pgmerge"."next_public.edit_id_seq" a;

-- Move pgmerge's id counter past the target sequence's position (if a sequence feeds the id) and the
-- table's max(id), so a new id can never be one the target holds or its sequence has handed out.
SELECT setval('"pgmerge"."next_public.datasource_event_id_seq"'::regclass, greatest(
    CASE WHEN a.is_called THEN a.last_value ELSE a.last_value - 1 END,
    (SELECT CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END FROM "public"."datasource_event_id_seq" s),
    coalesce((SELECT max("id") FROM "pgmerge"."merged_datasource_event"), 0)))
FROM "pgmerge"."next_public.datasource_event_id_seq" a;

-- Move pgmerge's id counter past the target sequence's position (if a sequence feeds the id) and the
-- table's max(id), so a new id can never be one the target holds or its sequence has handed out.
SELECT setval('"pgmerge"."next_public.datasource_metrics_id_seq"'::regclass, greatest(
    CASE WHEN a.is_called THEN a.last_value ELSE a.last_value - 1 END,
    (SELECT CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END FROM "public"."datasource_metrics_id_seq" s),
    coalesce((SELECT max("id") FROM "pgmerge"."merged_datasource_metrics"), 0)))
FROM "pgmerge"."next_public.datasource_metrics_id_seq" a;

-- check id_map/dataset:map_complete
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- A map is complete when every staging row is in it exactly once and it holds no staging ids that do not
-- exist. The map is built from the staging rows, and where its unique index holds their ids unique
-- (pgmerge builds it), equal row counts say that every staging row is in it once. Without that index, rows
-- missing on either side are found by one full join (`present` tells a row from the join's NULLs). Where
-- each entry leads is the lossless proof's to judge: it follows every staging row through its entry to a
-- row with the same natural key, so two staging rows with different keys cannot share one.
SELECT format('%s staging rows, %s map rows', st.n, m.n) AS problem, NULL AS id
FROM (SELECT count(*) AS n FROM "staging"."dataset") st, (SELECT count(*) AS n FROM "pgmerge"."map_dataset") m
WHERE EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"pgmerge"."map_dataset"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{staging_id}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))) AND st.n <> m.n
UNION ALL
SELECT CASE WHEN m.present IS NULL THEN 'staging row missing from map' ELSE 'map row without staging row' END,
       CASE WHEN m.present IS NULL THEN st.id::text ELSE m.staging_id::text END
FROM (SELECT "id" AS id, true AS present FROM "staging"."dataset" WHERE NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"pgmerge"."map_dataset"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{staging_id}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))) st
FULL JOIN (SELECT staging_id, true AS present FROM "pgmerge"."map_dataset" WHERE NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"pgmerge"."map_dataset"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{staging_id}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))) m ON m.staging_id = st.id
WHERE m.present IS NULL OR st.present IS NULL) q) b;

-- check merged/dataset:natural_key_unique
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- Natural keys the merge made ambiguous: held by more than one public row, one of them inserted by the
-- merge, on target ∪ pending. (Keys public repeated before the merge are reported by natural_keys_repeated.)
-- Where the target's own unique index holds its keys unique, a key can only repeat through a pending row:
-- only the pending rows are grouped, each key then looked up once in the target (a hash join), the target's
-- rows never grouped. Else every key of target ∪ pending is grouped (one hash aggregate), and only repeated
-- keys are looked up in the map.
SELECT "r"."name", r.rows
FROM (
    SELECT "t"."name", count(*) AS rows, array_agg(t."id") AS ids
    FROM "pgmerge"."merged_dataset" t
    WHERE "t"."name" IS NOT NULL AND NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."dataset"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{name}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
    GROUP BY "t"."name"
    HAVING count(*) > 1
) r
WHERE EXISTS (SELECT 1 FROM "pgmerge"."map_dataset" m WHERE m.public_id = ANY (r.ids) AND m.inserted)
UNION ALL
SELECT "r"."name", r.rows
FROM (
    SELECT g.*, g.pending_rows + CASE WHEN t.ctid IS NULL THEN 0 ELSE 1 END AS rows
    FROM (SELECT "p"."name", count(*) AS pending_rows
          FROM "pgmerge"."pending_dataset" p
          WHERE "p"."name" IS NOT NULL AND EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."dataset"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{name}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
          GROUP BY "p"."name") g
    LEFT JOIN "public"."dataset" t ON "g"."name" = "t"."name"
) r
WHERE r.rows > 1) q) b;

-- check id_map/dataset:natural_keys_repeated
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- Natural keys repeated within dump #2 (its rows then all map to one public row) or within public before
-- the merge: the data contradicts the spec's natural key, so it is worth a look, not a stop. A side whose
-- own unique index holds the key unique has none to show and is not read.
SELECT 'dump #2' AS side, jsonb_build_array("st"."name") AS natural_key, count(*) AS rows
FROM "staging"."dataset" st
WHERE "st"."name" IS NOT NULL AND NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"staging"."dataset"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{name}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
GROUP BY "st"."name"
HAVING count(*) > 1
UNION ALL
SELECT 'public', jsonb_build_array("t"."name"), count(*)
FROM "public"."dataset" t
WHERE "t"."name" IS NOT NULL AND NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."dataset"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{name}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
GROUP BY "t"."name"
HAVING count(*) > 1) q) b;

-- check merged/dataset:rows_conserved
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- Row conservation: rows once published (target ∪ pending) = target rows before + pending rows, and,
-- with a map, pending rows = the map's new rows.
SELECT l.rows_before, l.rows_pending, n.rows_now, (SELECT count(*) FROM "pgmerge"."map_dataset" WHERE inserted) AS new_in_map
FROM "pgmerge"."merge_log" l, (SELECT count(*) AS rows_now FROM "pgmerge"."merged_dataset") n
WHERE l.table_name = 'dataset'
  AND (l.rows_before + l.rows_pending <> n.rows_now OR l.rows_pending <> (SELECT count(*) FROM "pgmerge"."map_dataset" WHERE inserted))
UNION ALL
SELECT NULL, NULL, NULL, NULL
WHERE NOT EXISTS (SELECT 1 FROM "pgmerge"."merge_log" l WHERE l.table_name = 'dataset')) q) b;

-- check id_map/finding:map_complete
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- A map is complete when every staging row is in it exactly once and it holds no staging ids that do not
-- exist. The map is built from the staging rows, and where its unique index holds their ids unique
-- (pgmerge builds it), equal row counts say that every staging row is in it once. Without that index, rows
-- missing on either side are found by one full join (`present` tells a row from the join's NULLs). Where
-- each entry leads is the lossless proof's to judge: it follows every staging row through its entry to a
-- row with the same natural key, so two staging rows with different keys cannot share one.
SELECT format('%s staging rows, %s map rows', st.n, m.n) AS problem, NULL AS id
FROM (SELECT count(*) AS n FROM "staging"."finding") st, (SELECT count(*) AS n FROM "pgmerge"."map_finding") m
WHERE EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"pgmerge"."map_finding"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{staging_id}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))) AND st.n <> m.n
UNION ALL
SELECT CASE WHEN m.present IS NULL THEN 'staging row missing from map' ELSE 'map row without staging row' END,
       CASE WHEN m.present IS NULL THEN st.id::text ELSE m.staging_id::text END
FROM (SELECT "id" AS id, true AS present FROM "staging"."finding" WHERE NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"pgmerge"."map_finding"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{staging_id}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))) st
FULL JOIN (SELECT staging_id, true AS present FROM "pgmerge"."map_finding" WHERE NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"pgmerge"."map_finding"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{staging_id}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))) m ON m.staging_id = st.id
WHERE m.present IS NULL OR st.present IS NULL) q) b;

-- check merged/finding:natural_key_unique
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- Natural keys the merge made ambiguous: held by more than one public row, one of them inserted by the
-- merge, on target ∪ pending. (Keys public repeated before the merge are reported by natural_keys_repeated.)
-- Where the target's own unique index holds its keys unique, a key can only repeat through a pending row:
-- only the pending rows are grouped, each key then looked up once in the target (a hash join), the target's
-- rows never grouped. Else every key of target ∪ pending is grouped (one hash aggregate), and only repeated
-- keys are looked up in the map.
SELECT "r"."identifier", r.rows
FROM (
    SELECT "t"."identifier", count(*) AS rows, array_agg(t."id") AS ids
    FROM "pgmerge"."merged_finding" t
    WHERE "t"."identifier" IS NOT NULL AND NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."finding"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{identifier}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
    GROUP BY "t"."identifier"
    HAVING count(*) > 1
) r
WHERE EXISTS (SELECT 1 FROM "pgmerge"."map_finding" m WHERE m.public_id = ANY (r.ids) AND m.inserted)
UNION ALL
SELECT "r"."identifier", r.rows
FROM (
    SELECT g.*, g.pending_rows + CASE WHEN t.ctid IS NULL THEN 0 ELSE 1 END AS rows
    FROM (SELECT "p"."identifier", count(*) AS pending_rows
          FROM "pgmerge"."pending_finding" p
          WHERE "p"."identifier" IS NOT NULL AND EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."finding"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{identifier}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
          GROUP BY "p"."identifier") g
    LEFT JOIN "public"."finding" t ON "g"."identifier" = "t"."identifier"
) r
WHERE r.rows > 1) q) b;

-- check id_map/finding:natural_keys_repeated
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- Natural keys repeated within dump #2 (its rows then all map to one public row) or within public before
-- the merge: the data contradicts the spec's natural key, so it is worth a look, not a stop. A side whose
-- own unique index holds the key unique has none to show and is not read.
SELECT 'dump #2' AS side, jsonb_build_array("st"."identifier") AS natural_key, count(*) AS rows
FROM "staging"."finding" st
WHERE "st"."identifier" IS NOT NULL AND NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"staging"."finding"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{identifier}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
GROUP BY "st"."identifier"
HAVING count(*) > 1
UNION ALL
SELECT 'public', jsonb_build_array("t"."identifier"), count(*)
FROM "public"."finding" t
WHERE "t"."identifier" IS NOT NULL AND NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."finding"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{identifier}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
GROUP BY "t"."identifier"
HAVING count(*) > 1) q) b;

-- check merged/finding:rows_conserved
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- Row conservation: rows once published (target ∪ pending) = target rows before + pending rows, and,
-- with a map, pending rows = the map's new rows.
SELECT l.rows_before, l.rows_pending, n.rows_now, (SELECT count(*) FROM "pgmerge"."map_finding" WHERE inserted) AS new_in_map
FROM "pgmerge"."merge_log" l, (SELECT count(*) AS rows_now FROM "pgmerge"."merged_finding") n
WHERE l.table_name = 'finding'
  AND (l.rows_before + l.rows_pending <> n.rows_now OR l.rows_pending <> (SELECT count(*) FROM "pgmerge"."map_finding" WHERE inserted))
UNION ALL
SELECT NULL, NULL, NULL, NULL
WHERE NOT EXISTS (SELECT 1 FROM "pgmerge"."merge_log" l WHERE l.table_name = 'finding')) q) b;

-- check id_map/finding_reporter:map_complete
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- A map is complete when every staging row is in it exactly once and it holds no staging ids that do not
-- exist. The map is built from the staging rows, and where its unique index holds their ids unique
-- (pgmerge builds it), equal row counts say that every staging row is in it once. Without that index, rows
-- missing on either side are found by one full join (`present` tells a row from the join's NULLs). Where
-- each entry leads is the lossless proof's to judge: it follows every staging row through its entry to a
-- row with the same natural key, so two staging rows with different keys cannot share one.
SELECT format('%s staging rows, %s map rows', st.n, m.n) AS problem, NULL AS id
FROM (SELECT count(*) AS n FROM "staging"."finding_reporter") st, (SELECT count(*) AS n FROM "pgmerge"."map_finding_reporter") m
WHERE EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"pgmerge"."map_finding_reporter"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{staging_id}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))) AND st.n <> m.n
UNION ALL
SELECT CASE WHEN m.present IS NULL THEN 'staging row missing from map' ELSE 'map row without staging row' END,
       CASE WHEN m.present IS NULL THEN st.id::text ELSE m.staging_id::text END
FROM (SELECT "id" AS id, true AS present FROM "staging"."finding_reporter" WHERE NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"pgmerge"."map_finding_reporter"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{staging_id}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))) st
FULL JOIN (SELECT staging_id, true AS present FROM "pgmerge"."map_finding_reporter" WHERE NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"pgmerge"."map_finding_reporter"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{staging_id}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))) m ON m.staging_id = st.id
WHERE m.present IS NULL OR st.present IS NULL) q) b;

-- check merged/finding_reporter:natural_key_unique
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- Natural keys the merge made ambiguous: held by more than one public row, one of them inserted by the
-- merge, on target ∪ pending. (Keys public repeated before the merge are reported by natural_keys_repeated.)
-- Where the target's own unique index holds its keys unique, a key can only repeat through a pending row:
-- only the pending rows are grouped, each key then looked up once in the target (a hash join), the target's
-- rows never grouped. Else every key of target ∪ pending is grouped (one hash aggregate), and only repeated
-- keys are looked up in the map.
SELECT "r"."name", r.rows
FROM (
    SELECT "t"."name", count(*) AS rows, array_agg(t."id") AS ids
    FROM "pgmerge"."merged_finding_reporter" t
    WHERE "t"."name" IS NOT NULL AND NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."finding_reporter"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{name}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
    GROUP BY "t"."name"
    HAVING count(*) > 1
) r
WHERE EXISTS (SELECT 1 FROM "pgmerge"."map_finding_reporter" m WHERE m.public_id = ANY (r.ids) AND m.inserted)
UNION ALL
SELECT "r"."name", r.rows
FROM (
    SELECT g.*, g.pending_rows + CASE WHEN t.ctid IS NULL THEN 0 ELSE 1 END AS rows
    FROM (SELECT "p"."name", count(*) AS pending_rows
          FROM "pgmerge"."pending_finding_reporter" p
          WHERE "p"."name" IS NOT NULL AND EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."finding_reporter"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{name}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
          GROUP BY "p"."name") g
    LEFT JOIN "public"."finding_reporter" t ON "g"."name" = "t"."name"
) r
WHERE r.rows > 1) q) b;

-- check id_map/finding_reporter:natural_keys_repeated
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- Natural keys repeated within dump #2 (its rows then all map to one public row) or within public before
-- the merge: the data contradicts the spec's natural key, so it is worth a look, not a stop. A side whose
-- own unique index holds the key unique has none to show and is not read.
SELECT 'dump #2' AS side, jsonb_build_array("st"."name") AS natural_key, count(*) AS rows
FROM "staging"."finding_reporter" st
WHERE "st"."name" IS NOT NULL AND NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"staging"."finding_reporter"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{name}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
GROUP BY "st"."name"
HAVING count(*) > 1
UNION ALL
SELECT 'public', jsonb_build_array("t"."name"), count(*)
FROM "public"."finding_reporter" t
WHERE "t"."name" IS NOT NULL AND NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."finding_reporter"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{name}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
GROUP BY "t"."name"
HAVING count(*) > 1) q) b;

-- check merged/finding_reporter:rows_conserved
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- Row conservation: rows once published (target ∪ pending) = target rows before + pending rows, and,
-- with a map, pending rows = the map's new rows.
SELECT l.rows_before, l.rows_pending, n.rows_now, (SELECT count(*) FROM "pgmerge"."map_finding_reporter" WHERE inserted) AS new_in_map
FROM "pgmerge"."merge_log" l, (SELECT count(*) AS rows_now FROM "pgmerge"."merged_finding_reporter") n
WHERE l.table_name = 'finding_reporter'
  AND (l.rows_before + l.rows_pending <> n.rows_now OR l.rows_pending <> (SELECT count(*) FROM "pgmerge"."map_finding_reporter" WHERE inserted))
UNION ALL
SELECT NULL, NULL, NULL, NULL
WHERE NOT EXISTS (SELECT 1 FROM "pgmerge"."merge_log" l WHERE l.table_name = 'finding_reporter')) q) b;

-- check id_map/package:map_complete
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- A map is complete when every staging row is in it exactly once and it holds no staging ids that do not
-- exist. The map is built from the staging rows, and where its unique index holds their ids unique
-- (pgmerge builds it), equal row counts say that every staging row is in it once. Without that index, rows
-- missing on either side are found by one full join (`present` tells a row from the join's NULLs). Where
-- each entry leads is the lossless proof's to judge: it follows every staging row through its entry to a
-- row with the same natural key, so two staging rows with different keys cannot share one.
SELECT format('%s staging rows, %s map rows', st.n, m.n) AS problem, NULL AS id
FROM (SELECT count(*) AS n FROM "staging"."package") st, (SELECT count(*) AS n FROM "pgmerge"."map_package") m
WHERE EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"pgmerge"."map_package"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{staging_id}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))) AND st.n <> m.n
UNION ALL
SELECT CASE WHEN m.present IS NULL THEN 'staging row missing from map' ELSE 'map row without staging row' END,
       CASE WHEN m.present IS NULL THEN st.id::text ELSE m.staging_id::text END
FROM (SELECT "id" AS id, true AS present FROM "staging"."package" WHERE NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"pgmerge"."map_package"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{staging_id}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))) st
FULL JOIN (SELECT staging_id, true AS present FROM "pgmerge"."map_package" WHERE NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"pgmerge"."map_package"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{staging_id}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))) m ON m.staging_id = st.id
WHERE m.present IS NULL OR st.present IS NULL) q) b;

-- check merged/package:natural_key_unique
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- Natural keys the merge made ambiguous: held by more than one public row, one of them inserted by the
-- merge, on target ∪ pending. (Keys public repeated before the merge are reported by natural_keys_repeated.)
-- Where the target's own unique index holds its keys unique, a key can only repeat through a pending row:
-- only the pending rows are grouped, each key then looked up once in the target (a hash join), the target's
-- rows never grouped. Else every key of target ∪ pending is grouped (one hash aggregate), and only repeated
-- keys are looked up in the map.
SELECT "r"."purl", r.rows
FROM (
    SELECT "t"."purl", count(*) AS rows, array_agg(t."id") AS ids
    FROM "pgmerge"."merged_package" t
    WHERE "t"."purl" IS NOT NULL AND NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."package"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{purl}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
    GROUP BY "t"."purl"
    HAVING count(*) > 1
) r
WHERE EXISTS (SELECT 1 FROM "pgmerge"."map_package" m WHERE m.public_id = ANY (r.ids) AND m.inserted)
UNION ALL
SELECT "r"."purl", r.rows
FROM (
    SELECT g.*, g.pending_rows + CASE WHEN t.ctid IS NULL THEN 0 ELSE 1 END AS rows
    FROM (SELECT "p"."purl", count(*) AS pending_rows
          FROM "pgmerge"."pending_package" p
          WHERE "p"."purl" IS NOT NULL AND EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."package"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{purl}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
          GROUP BY "p"."purl") g
    LEFT JOIN "public"."package" t ON "g"."purl" = "t"."purl"
) r
WHERE r.rows > 1) q) b;

-- check id_map/package:natural_keys_repeated
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- Natural keys repeated within dump #2 (its rows then all map to one public row) or within public before
-- the merge: the data contradicts the spec's natural key, so it is worth a look, not a stop. A side whose
-- own unique index holds the key unique has none to show and is not read.
SELECT 'dump #2' AS side, jsonb_build_array("st"."purl") AS natural_key, count(*) AS rows
FROM "staging"."package" st
WHERE "st"."purl" IS NOT NULL AND NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"staging"."package"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{purl}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
GROUP BY "st"."purl"
HAVING count(*) > 1
UNION ALL
SELECT 'public', jsonb_build_array("t"."purl"), count(*)
FROM "public"."package" t
WHERE "t"."purl" IS NOT NULL AND NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."package"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{purl}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
GROUP BY "t"."purl"
HAVING count(*) > 1) q) b;

-- check merged/package:rows_conserved
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- Row conservation: rows once published (target ∪ pending) = target rows before + pending rows, and,
-- with a map, pending rows = the map's new rows.
SELECT l.rows_before, l.rows_pending, n.rows_now, (SELECT count(*) FROM "pgmerge"."map_package" WHERE inserted) AS new_in_map
FROM "pgmerge"."merge_log" l, (SELECT count(*) AS rows_now FROM "pgmerge"."merged_package") n
WHERE l.table_name = 'package'
  AND (l.rows_before + l.rows_pending <> n.rows_now OR l.rows_pending <> (SELECT count(*) FROM "pgmerge"."map_package" WHERE inserted))
UNION ALL
SELECT NULL, NULL, NULL, NULL
WHERE NOT EXISTS (SELECT 1 FROM "pgmerge"."merge_log" l WHERE l.table_name = 'package')) q) b;

-- check id_map/dataset_metrics:map_complete
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- A map is complete when every staging row is in it exactly once and it holds no staging ids that do not
-- exist. The map is built from the staging rows, and where its unique index holds their ids unique
-- (pgmerge builds it), equal row counts say that every staging row is in it once. Without that index, rows
-- missing on either side are found by one full join (`present` tells a row from the join's NULLs). Where
-- each entry leads is the lossless proof's to judge: it follows every staging row through its entry to a
-- row with the same natural key, so two staging rows with different keys cannot share one.
SELECT format('%s staging rows, %s map rows', st.n, m.n) AS problem, NULL AS id
FROM (SELECT count(*) AS n FROM "staging"."dataset_metrics") st, (SELECT count(*) AS n FROM "pgmerge"."map_dataset_metrics") m
WHERE EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"pgmerge"."map_dataset_metrics"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{staging_id}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))) AND st.n <> m.n
UNION ALL
SELECT CASE WHEN m.present IS NULL THEN 'staging row missing from map' ELSE 'map row without staging row' END,
       CASE WHEN m.present IS NULL THEN st.id::text ELSE m.staging_id::text END
FROM (SELECT "id" AS id, true AS present FROM "staging"."dataset_metrics" WHERE NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"pgmerge"."map_dataset_metrics"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{staging_id}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))) st
FULL JOIN (SELECT staging_id, true AS present FROM "pgmerge"."map_dataset_metrics" WHERE NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"pgmerge"."map_dataset_metrics"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{staging_id}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))) m ON m.staging_id = st.id
WHERE m.present IS NULL OR st.present IS NULL) q) b;

-- check merged/dataset_metrics:foreign_keys_resolve
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- The target's rows whose foreign-key value names no parent row of target ∪ pending (checked whether or
-- not a constraint exists), unless the target's own validated constraint holds them. The pending rows are
-- not read again: each of their values is a parent's map entry (the step's guard finds a staging value
-- with none) and the lossless proof follows every entry to its row.
SELECT 'dataset_id' AS column_name, c."dataset_id"::text AS value, count(*) AS rows
FROM "public"."dataset_metrics" c
WHERE NOT EXISTS (
    -- Whether the target's own foreign key already holds this column of its rows to existing parent rows, so
    -- that only the pending rows need judging (PostgreSQL answers this once, before reading any row): a
    -- validated constraint from exactly this column to exactly the parent's id, none of its triggers disabled.
    SELECT 1
    FROM pg_catalog.pg_constraint c
    WHERE c.contype = 'f' AND c.convalidated
      AND c.conrelid = '"public"."dataset_metrics"'::regclass AND c.confrelid = '"public"."dataset"'::regclass
      AND c.conkey = ARRAY[(SELECT a.attnum FROM pg_catalog.pg_attribute a
                            WHERE a.attrelid = c.conrelid AND a.attname = 'dataset_id')]
      AND c.confkey = ARRAY[(SELECT a.attnum FROM pg_catalog.pg_attribute a
                             WHERE a.attrelid = c.confrelid AND a.attname = 'id')]
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g WHERE g.tgconstraint = c.oid AND g.tgenabled = 'D'))
  AND c."dataset_id" IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM "pgmerge"."merged_dataset" p WHERE p."id" = c."dataset_id")
GROUP BY c."dataset_id") q) b;

-- check merged/dataset_metrics:rows_conserved
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- Row conservation: rows once published (target ∪ pending) = target rows before + pending rows, and,
-- with a map, pending rows = the map's new rows.
SELECT l.rows_before, l.rows_pending, n.rows_now, (SELECT count(*) FROM "pgmerge"."map_dataset_metrics" WHERE inserted) AS new_in_map
FROM "pgmerge"."merge_log" l, (SELECT count(*) AS rows_now FROM "pgmerge"."merged_dataset_metrics") n
WHERE l.table_name = 'dataset_metrics'
  AND (l.rows_before + l.rows_pending <> n.rows_now OR l.rows_pending <> (SELECT count(*) FROM "pgmerge"."map_dataset_metrics" WHERE inserted))
UNION ALL
SELECT NULL, NULL, NULL, NULL
WHERE NOT EXISTS (SELECT 1 FROM "pgmerge"."merge_log" l WHERE l.table_name = 'dataset_metrics')) q) b;

-- check repaired_arrays/dataset_metrics__package_indexes:array_elements_exist
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- The seed's sanity query: rows whose array names an id missing from the referenced table
-- (NULL elements are kept on purpose and are not dangling). All elements at once: unnest, one hash
-- anti-join, grouped back to their rows.
SELECT t."id" AS id, t."package_indexes" AS elements
FROM "pgmerge"."merged_dataset_metrics" t
CROSS JOIN LATERAL unnest(t."package_indexes") AS x(element)
WHERE x.element IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM "pgmerge"."merged_package" r WHERE r."id" = x.element)
GROUP BY t."id", t."package_indexes") q) b;

-- check id_map/datasource:map_complete
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- A map is complete when every staging row is in it exactly once and it holds no staging ids that do not
-- exist. The map is built from the staging rows, and where its unique index holds their ids unique
-- (pgmerge builds it), equal row counts say that every staging row is in it once. Without that index, rows
-- missing on either side are found by one full join (`present` tells a row from the join's NULLs). Where
-- each entry leads is the lossless proof's to judge: it follows every staging row through its entry to a
-- row with the same natural key, so two staging rows with different keys cannot share one.
SELECT format('%s staging rows, %s map rows', st.n, m.n) AS problem, NULL AS id
FROM (SELECT count(*) AS n FROM "staging"."datasource") st, (SELECT count(*) AS n FROM "pgmerge"."map_datasource") m
WHERE EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"pgmerge"."map_datasource"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{staging_id}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))) AND st.n <> m.n
UNION ALL
SELECT CASE WHEN m.present IS NULL THEN 'staging row missing from map' ELSE 'map row without staging row' END,
       CASE WHEN m.present IS NULL THEN st.id::text ELSE m.staging_id::text END
FROM (SELECT "id" AS id, true AS present FROM "staging"."datasource" WHERE NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"pgmerge"."map_datasource"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{staging_id}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))) st
FULL JOIN (SELECT staging_id, true AS present FROM "pgmerge"."map_datasource" WHERE NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"pgmerge"."map_datasource"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{staging_id}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))) m ON m.staging_id = st.id
WHERE m.present IS NULL OR st.present IS NULL) q) b;

-- check merged/datasource:foreign_keys_resolve
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- The target's rows whose foreign-key value names no parent row of target ∪ pending (checked whether or
-- not a constraint exists), unless the target's own validated constraint holds them. The pending rows are
-- not read again: each of their values is a parent's map entry (the step's guard finds a staging value
-- with none) and the lossless proof follows every entry to its row.
SELECT 'dataset_id' AS column_name, c."dataset_id"::text AS value, count(*) AS rows
FROM "public"."datasource" c
WHERE NOT EXISTS (
    -- Whether the target's own foreign key already holds this column of its rows to existing parent rows, so
    -- that only the pending rows need judging (PostgreSQL answers this once, before reading any row): a
    -- validated constraint from exactly this column to exactly the parent's id, none of its triggers disabled.
    SELECT 1
    FROM pg_catalog.pg_constraint c
    WHERE c.contype = 'f' AND c.convalidated
      AND c.conrelid = '"public"."datasource"'::regclass AND c.confrelid = '"public"."dataset"'::regclass
      AND c.conkey = ARRAY[(SELECT a.attnum FROM pg_catalog.pg_attribute a
                            WHERE a.attrelid = c.conrelid AND a.attname = 'dataset_id')]
      AND c.confkey = ARRAY[(SELECT a.attnum FROM pg_catalog.pg_attribute a
                             WHERE a.attrelid = c.confrelid AND a.attname = 'id')]
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g WHERE g.tgconstraint = c.oid AND g.tgenabled = 'D'))
  AND c."dataset_id" IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM "pgmerge"."merged_dataset" p WHERE p."id" = c."dataset_id")
GROUP BY c."dataset_id") q) b;

-- check merged/datasource:natural_key_unique
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- Natural keys the merge made ambiguous: held by more than one public row, one of them inserted by the
-- merge, on target ∪ pending. (Keys public repeated before the merge are reported by natural_keys_repeated.)
-- Where the target's own unique index holds its keys unique, a key can only repeat through a pending row:
-- only the pending rows are grouped, each key then looked up once in the target (a hash join), the target's
-- rows never grouped. Else every key of target ∪ pending is grouped (one hash aggregate), and only repeated
-- keys are looked up in the map.
SELECT "r"."purl", r.rows
FROM (
    SELECT "t"."purl", count(*) AS rows, array_agg(t."id") AS ids
    FROM "pgmerge"."merged_datasource" t
    WHERE "t"."purl" IS NOT NULL AND NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."datasource"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{purl}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
    GROUP BY "t"."purl"
    HAVING count(*) > 1
) r
WHERE EXISTS (SELECT 1 FROM "pgmerge"."map_datasource" m WHERE m.public_id = ANY (r.ids) AND m.inserted)
UNION ALL
SELECT "r"."purl", r.rows
FROM (
    SELECT g.*, g.pending_rows + CASE WHEN t.ctid IS NULL THEN 0 ELSE 1 END AS rows
    FROM (SELECT "p"."purl", count(*) AS pending_rows
          FROM "pgmerge"."pending_datasource" p
          WHERE "p"."purl" IS NOT NULL AND EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."datasource"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{purl}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
          GROUP BY "p"."purl") g
    LEFT JOIN "public"."datasource" t ON "g"."purl" = "t"."purl"
) r
WHERE r.rows > 1) q) b;

-- check id_map/datasource:natural_keys_repeated
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- Natural keys repeated within dump #2 (its rows then all map to one public row) or within public before
-- the merge: the data contradicts the spec's natural key, so it is worth a look, not a stop. A side whose
-- own unique index holds the key unique has none to show and is not read.
SELECT 'dump #2' AS side, jsonb_build_array("st"."purl") AS natural_key, count(*) AS rows
FROM "staging"."datasource" st
WHERE "st"."purl" IS NOT NULL AND NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"staging"."datasource"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{purl}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
GROUP BY "st"."purl"
HAVING count(*) > 1
UNION ALL
SELECT 'public', jsonb_build_array("t"."purl"), count(*)
FROM "public"."datasource" t
WHERE "t"."purl" IS NOT NULL AND NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."datasource"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{purl}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
GROUP BY "t"."purl"
HAVING count(*) > 1) q) b;

-- check merged/datasource:rows_conserved
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- Row conservation: rows once published (target ∪ pending) = target rows before + pending rows, and,
-- with a map, pending rows = the map's new rows.
SELECT l.rows_before, l.rows_pending, n.rows_now, (SELECT count(*) FROM "pgmerge"."map_datasource" WHERE inserted) AS new_in_map
FROM "pgmerge"."merge_log" l, (SELECT count(*) AS rows_now FROM "pgmerge"."merged_datasource") n
WHERE l.table_name = 'datasource'
  AND (l.rows_before + l.rows_pending <> n.rows_now OR l.rows_pending <> (SELECT count(*) FROM "pgmerge"."map_datasource" WHERE inserted))
UNION ALL
SELECT NULL, NULL, NULL, NULL
WHERE NOT EXISTS (SELECT 1 FROM "pgmerge"."merge_log" l WHERE l.table_name = 'datasource')) q) b;

-- check repaired_arrays/datasource__package_indexes:array_elements_exist
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- The seed's sanity query: rows whose array names an id missing from the referenced table
-- (NULL elements are kept on purpose and are not dangling). All elements at once: unnest, one hash
-- anti-join, grouped back to their rows.
SELECT t."id" AS id, t."package_indexes" AS elements
FROM "pgmerge"."merged_datasource" t
CROSS JOIN LATERAL unnest(t."package_indexes") AS x(element)
WHERE x.element IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM "pgmerge"."merged_package" r WHERE r."id" = x.element)
GROUP BY t."id", t."package_indexes") q) b;

-- check id_map/edit:map_complete
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- A map is complete when every staging row is in it exactly once and it holds no staging ids that do not
-- exist. The map is built from the staging rows, and where its unique index holds their ids unique
-- (pgmerge builds it), equal row counts say that every staging row is in it once. Without that index, rows
-- missing on either side are found by one full join (`present` tells a row from the join's NULLs). Where
-- each entry leads is the lossless proof's to judge: it follows every staging row through its entry to a
-- row with the same natural key, so two staging rows with different keys cannot share one.
SELECT format('%s staging rows, %s map rows', st.n, m.n) AS problem, NULL AS id
FROM (SELECT count(*) AS n FROM "staging"."edit") st, (SELECT count(*) AS n FROM "pgmerge"."map_edit") m
WHERE EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"pgmerge"."map_edit"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{staging_id}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))) AND st.n <> m.n
UNION ALL
SELECT CASE WHEN m.present IS NULL THEN 'staging row missing from map' ELSE 'map row without staging row' END,
       CASE WHEN m.present IS NULL THEN st.id::text ELSE m.staging_id::text END
FROM (SELECT "id" AS id, true AS present FROM "staging"."edit" WHERE NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"pgmerge"."map_edit"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{staging_id}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))) st
FULL JOIN (SELECT staging_id, true AS present FROM "pgmerge"."map_edit" WHERE NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"pgmerge"."map_edit"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{staging_id}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))) m ON m.staging_id = st.id
WHERE m.present IS NULL OR st.present IS NULL) q) b;

-- check merged/edit:foreign_keys_resolve
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- The target's rows whose foreign-key value names no parent row of target ∪ pending (checked whether or
-- not a constraint exists), unless the target's own validated constraint holds them. The pending rows are
-- not read again: each of their values is a parent's map entry (the step's guard finds a staging value
-- with none) and the lossless proof follows every entry to its row.
SELECT 'dataset_id' AS column_name, c."dataset_id"::text AS value, count(*) AS rows
FROM "public"."edit" c
WHERE NOT EXISTS (
    -- Whether the target's own foreign key already holds this column of its rows to existing parent rows, so
    -- that only the pending rows need judging (PostgreSQL answers this once, before reading any row): a
    -- validated constraint from exactly this column to exactly the parent's id, none of its triggers disabled.
    SELECT 1
    FROM pg_catalog.pg_constraint c
    WHERE c.contype = 'f' AND c.convalidated
      AND c.conrelid = '"public"."edit"'::regclass AND c.confrelid = '"public"."dataset"'::regclass
      AND c.conkey = ARRAY[(SELECT a.attnum FROM pg_catalog.pg_attribute a
                            WHERE a.attrelid = c.conrelid AND a.attname = 'dataset_id')]
      AND c.confkey = ARRAY[(SELECT a.attnum FROM pg_catalog.pg_attribute a
                             WHERE a.attrelid = c.confrelid AND a.attname = 'id')]
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g WHERE g.tgconstraint = c.oid AND g.tgenabled = 'D'))
  AND c."dataset_id" IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM "pgmerge"."merged_dataset" p WHERE p."id" = c."dataset_id")
GROUP BY c."dataset_id") q) b;

-- check merged/edit:rows_conserved
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- Row conservation: rows once published (target ∪ pending) = target rows before + pending rows, and,
-- with a map, pending rows = the map's new rows.
SELECT l.rows_before, l.rows_pending, n.rows_now, (SELECT count(*) FROM "pgmerge"."map_edit" WHERE inserted) AS new_in_map
FROM "pgmerge"."merge_log" l, (SELECT count(*) AS rows_now FROM "pgmerge"."merged_edit") n
WHERE l.table_name = 'edit'
  AND (l.rows_before + l.rows_pending <> n.rows_now OR l.rows_pending <> (SELECT count(*) FROM "pgmerge"."map_edit" WHERE inserted))
UNION ALL
SELECT NULL, NULL, NULL, NULL
WHERE NOT EXISTS (SELECT 1 FROM "pgmerge"."merge_log" l WHERE l.table_name = 'edit')) q) b;

-- check merged/finding_finding_reporter:foreign_keys_resolve
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- The target's rows whose foreign-key value names no parent row of target ∪ pending (checked whether or
-- not a constraint exists), unless the target's own validated constraint holds them. The pending rows are
-- not read again: each of their values is a parent's map entry (the step's guard finds a staging value
-- with none) and the lossless proof follows every entry to its row.
SELECT 'finding_id' AS column_name, c."finding_id"::text AS value, count(*) AS rows
FROM "public"."finding_finding_reporter" c
WHERE NOT EXISTS (
    -- Whether the target's own foreign key already holds this column of its rows to existing parent rows, so
    -- that only the pending rows need judging (PostgreSQL answers this once, before reading any row): a
    -- validated constraint from exactly this column to exactly the parent's id, none of its triggers disabled.
    SELECT 1
    FROM pg_catalog.pg_constraint c
    WHERE c.contype = 'f' AND c.convalidated
      AND c.conrelid = '"public"."finding_finding_reporter"'::regclass AND c.confrelid = '"public"."finding"'::regclass
      AND c.conkey = ARRAY[(SELECT a.attnum FROM pg_catalog.pg_attribute a
                            WHERE a.attrelid = c.conrelid AND a.attname = 'finding_id')]
      AND c.confkey = ARRAY[(SELECT a.attnum FROM pg_catalog.pg_attribute a
                             WHERE a.attrelid = c.confrelid AND a.attname = 'id')]
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g WHERE g.tgconstraint = c.oid AND g.tgenabled = 'D'))
  AND c."finding_id" IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM "pgmerge"."merged_finding" p WHERE p."id" = c."finding_id")
GROUP BY c."finding_id"
UNION ALL
-- The target's rows whose foreign-key value names no parent row of target ∪ pending (checked whether or
-- not a constraint exists), unless the target's own validated constraint holds them. The pending rows are
-- not read again: each of their values is a parent's map entry (the step's guard finds a staging value
-- with none) and the lossless proof follows every entry to its row.
SELECT 'finding_reporter_id' AS column_name, c."finding_reporter_id"::text AS value, count(*) AS rows
FROM "public"."finding_finding_reporter" c
WHERE NOT EXISTS (
    -- Whether the target's own foreign key already holds this column of its rows to existing parent rows, so
    -- that only the pending rows need judging (PostgreSQL answers this once, before reading any row): a
    -- validated constraint from exactly this column to exactly the parent's id, none of its triggers disabled.
    SELECT 1
    FROM pg_catalog.pg_constraint c
    WHERE c.contype = 'f' AND c.convalidated
      AND c.conrelid = '"public"."finding_finding_reporter"'::regclass AND c.confrelid = '"public"."finding_reporter"'::regclass
      AND c.conkey = ARRAY[(SELECT a.attnum FROM pg_catalog.pg_attribute a
                            WHERE a.attrelid = c.conrelid AND a.attname = 'finding_reporter_id')]
      AND c.confkey = ARRAY[(SELECT a.attnum FROM pg_catalog.pg_attribute a
                             WHERE a.attrelid = c.confrelid AND a.attname = 'id')]
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g WHERE g.tgconstraint = c.oid AND g.tgenabled = 'D'))
  AND c."finding_reporter_id" IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM "pgmerge"."merged_finding_reporter" p WHERE p."id" = c."finding_reporter_id")
GROUP BY c."finding_reporter_id") q) b;

-- check merged/finding_finding_reporter:natural_key_unique
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- Natural keys the merge made ambiguous: held by more than one public row, one of them inserted by the
-- merge, on target ∪ pending. (Keys public repeated before the merge are reported by natural_keys_repeated.)
-- Where the target's own unique index holds its keys unique, a key can only repeat through a pending row:
-- only the pending rows are grouped, each key then looked up once in the target (a hash join), the target's
-- rows never grouped. Else every key of target ∪ pending is grouped (one hash aggregate), and only repeated
-- keys are looked up in the map.
SELECT "r"."finding_id", "r"."finding_reporter_id", r.rows
FROM (
    SELECT "t"."finding_id", "t"."finding_reporter_id", count(*) AS rows, NULL AS ids
    FROM "pgmerge"."merged_finding_finding_reporter" t
    WHERE "t"."finding_id" IS NOT NULL AND "t"."finding_reporter_id" IS NOT NULL AND NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."finding_finding_reporter"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{finding_id,finding_reporter_id}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
    GROUP BY "t"."finding_id", "t"."finding_reporter_id"
    HAVING count(*) > 1
) r
WHERE true
UNION ALL
SELECT "r"."finding_id", "r"."finding_reporter_id", r.rows
FROM (
    SELECT g.*, g.pending_rows + CASE WHEN t.ctid IS NULL THEN 0 ELSE 1 END AS rows
    FROM (SELECT "p"."finding_id", "p"."finding_reporter_id", count(*) AS pending_rows
          FROM "pgmerge"."pending_finding_finding_reporter" p
          WHERE "p"."finding_id" IS NOT NULL AND "p"."finding_reporter_id" IS NOT NULL AND EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."finding_finding_reporter"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{finding_id,finding_reporter_id}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
          GROUP BY "p"."finding_id", "p"."finding_reporter_id") g
    LEFT JOIN "public"."finding_finding_reporter" t ON "g"."finding_id" = "t"."finding_id" AND "g"."finding_reporter_id" = "t"."finding_reporter_id"
) r
WHERE r.rows > 1) q) b;

-- check merged/finding_finding_reporter:rows_conserved
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- Row conservation: rows once published (target ∪ pending) = target rows before + pending rows, and,
-- with a map, pending rows = the map's new rows.
SELECT l.rows_before, l.rows_pending, n.rows_now, l.rows_pending AS new_in_map
FROM "pgmerge"."merge_log" l, (SELECT count(*) AS rows_now FROM "pgmerge"."merged_finding_finding_reporter") n
WHERE l.table_name = 'finding_finding_reporter'
  AND (l.rows_before + l.rows_pending <> n.rows_now OR l.rows_pending <> l.rows_pending)
UNION ALL
SELECT NULL, NULL, NULL, NULL
WHERE NOT EXISTS (SELECT 1 FROM "pgmerge"."merge_log" l WHERE l.table_name = 'finding_finding_reporter')) q) b;

-- check id_map/datasource_event:map_complete
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- A map is complete when every staging row is in it exactly once and it holds no staging ids that do not
-- exist. The map is built from the staging rows, and where its unique index holds their ids unique
-- (pgmerge builds it), equal row counts say that every staging row is in it once. Without that index, rows
-- missing on either side are found by one full join (`present` tells a row from the join's NULLs). Where
-- each entry leads is the lossless proof's to judge: it follows every staging row through its entry to a
-- row with the same natural key, so two staging rows with different keys cannot share one.
SELECT format('%s staging rows, %s map rows', st.n, m.n) AS problem, NULL AS id
FROM (SELECT count(*) AS n FROM "staging"."datasource_event") st, (SELECT count(*) AS n FROM "pgmerge"."map_datasource_event") m
WHERE EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"pgmerge"."map_datasource_event"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{staging_id}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))) AND st.n <> m.n
UNION ALL
SELECT CASE WHEN m.present IS NULL THEN 'staging row missing from map' ELSE 'map row without staging row' END,
       CASE WHEN m.present IS NULL THEN st.id::text ELSE m.staging_id::text END
FROM (SELECT "id" AS id, true AS present FROM "staging"."datasource_event" WHERE NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"pgmerge"."map_datasource_event"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{staging_id}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))) st
FULL JOIN (SELECT staging_id, true AS present FROM "pgmerge"."map_datasource_event" WHERE NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"pgmerge"."map_datasource_event"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{staging_id}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))) m ON m.staging_id = st.id
WHERE m.present IS NULL OR st.present IS NULL) q) b;

-- check merged/datasource_event:foreign_keys_resolve
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- The target's rows whose foreign-key value names no parent row of target ∪ pending (checked whether or
-- not a constraint exists), unless the target's own validated constraint holds them. The pending rows are
-- not read again: each of their values is a parent's map entry (the step's guard finds a staging value
-- with none) and the lossless proof follows every entry to its row.
SELECT 'datasource_id' AS column_name, c."datasource_id"::text AS value, count(*) AS rows
FROM "public"."datasource_event" c
WHERE NOT EXISTS (
    -- Whether the target's own foreign key already holds this column of its rows to existing parent rows, so
    -- that only the pending rows need judging (PostgreSQL answers this once, before reading any row): a
    -- validated constraint from exactly this column to exactly the parent's id, none of its triggers disabled.
    SELECT 1
    FROM pg_catalog.pg_constraint c
    WHERE c.contype = 'f' AND c.convalidated
      AND c.conrelid = '"public"."datasource_event"'::regclass AND c.confrelid = '"public"."datasource"'::regclass
      AND c.conkey = ARRAY[(SELECT a.attnum FROM pg_catalog.pg_attribute a
                            WHERE a.attrelid = c.conrelid AND a.attname = 'datasource_id')]
      AND c.confkey = ARRAY[(SELECT a.attnum FROM pg_catalog.pg_attribute a
                             WHERE a.attrelid = c.confrelid AND a.attname = 'id')]
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g WHERE g.tgconstraint = c.oid AND g.tgenabled = 'D'))
  AND c."datasource_id" IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM "pgmerge"."merged_datasource" p WHERE p."id" = c."datasource_id")
GROUP BY c."datasource_id") q) b;

-- check merged/datasource_event:natural_key_unique
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- Natural keys the merge made ambiguous: held by more than one public row, one of them inserted by the
-- merge, on target ∪ pending. (Keys public repeated before the merge are reported by natural_keys_repeated.)
-- Where the target's own unique index holds its keys unique, a key can only repeat through a pending row:
-- only the pending rows are grouped, each key then looked up once in the target (a hash join), the target's
-- rows never grouped. Else every key of target ∪ pending is grouped (one hash aggregate), and only repeated
-- keys are looked up in the map.
SELECT "r"."datasource_id", "r"."kind", "r"."occurred_at", r.rows
FROM (
    SELECT "t"."datasource_id", "t"."kind", "t"."occurred_at", count(*) AS rows, array_agg(t."id") AS ids
    FROM "pgmerge"."merged_datasource_event" t
    WHERE "t"."datasource_id" IS NOT NULL AND "t"."kind" IS NOT NULL AND "t"."occurred_at" IS NOT NULL AND NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."datasource_event"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{datasource_id,kind,occurred_at}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
    GROUP BY "t"."datasource_id", "t"."kind", "t"."occurred_at"
    HAVING count(*) > 1
) r
WHERE EXISTS (SELECT 1 FROM "pgmerge"."map_datasource_event" m WHERE m.public_id = ANY (r.ids) AND m.inserted)
UNION ALL
SELECT "r"."datasource_id", "r"."kind", "r"."occurred_at", r.rows
FROM (
    SELECT g.*, g.pending_rows + CASE WHEN t.ctid IS NULL THEN 0 ELSE 1 END AS rows
    FROM (SELECT "p"."datasource_id", "p"."kind", "p"."occurred_at", count(*) AS pending_rows
          FROM "pgmerge"."pending_datasource_event" p
          WHERE "p"."datasource_id" IS NOT NULL AND "p"."kind" IS NOT NULL AND "p"."occurred_at" IS NOT NULL AND EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."datasource_event"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{datasource_id,kind,occurred_at}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
          GROUP BY "p"."datasource_id", "p"."kind", "p"."occurred_at") g
    LEFT JOIN "public"."datasource_event" t ON "g"."datasource_id" = "t"."datasource_id" AND "g"."kind" = "t"."kind" AND "g"."occurred_at" = "t"."occurred_at"
) r
WHERE r.rows > 1) q) b;

-- check id_map/datasource_event:natural_keys_repeated
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- Natural keys repeated within dump #2 (its rows then all map to one public row) or within public before
-- the merge: the data contradicts the spec's natural key, so it is worth a look, not a stop. A side whose
-- own unique index holds the key unique has none to show and is not read.
SELECT 'dump #2' AS side, jsonb_build_array("st"."datasource_id", "st"."kind", "st"."occurred_at") AS natural_key, count(*) AS rows
FROM "staging"."datasource_event" st
WHERE "st"."datasource_id" IS NOT NULL AND "st"."kind" IS NOT NULL AND "st"."occurred_at" IS NOT NULL AND NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"staging"."datasource_event"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{datasource_id,kind,occurred_at}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
GROUP BY "st"."datasource_id", "st"."kind", "st"."occurred_at"
HAVING count(*) > 1
UNION ALL
SELECT 'public', jsonb_build_array("t"."datasource_id", "t"."kind", "t"."occurred_at"), count(*)
FROM "public"."datasource_event" t
WHERE "t"."datasource_id" IS NOT NULL AND "t"."kind" IS NOT NULL AND "t"."occurred_at" IS NOT NULL AND NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."datasource_event"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{datasource_id,kind,occurred_at}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
GROUP BY "t"."datasource_id", "t"."kind", "t"."occurred_at"
HAVING count(*) > 1) q) b;

-- check merged/datasource_event:rows_conserved
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- Row conservation: rows once published (target ∪ pending) = target rows before + pending rows, and,
-- with a map, pending rows = the map's new rows.
SELECT l.rows_before, l.rows_pending, n.rows_now, (SELECT count(*) FROM "pgmerge"."map_datasource_event" WHERE inserted) AS new_in_map
FROM "pgmerge"."merge_log" l, (SELECT count(*) AS rows_now FROM "pgmerge"."merged_datasource_event") n
WHERE l.table_name = 'datasource_event'
  AND (l.rows_before + l.rows_pending <> n.rows_now OR l.rows_pending <> (SELECT count(*) FROM "pgmerge"."map_datasource_event" WHERE inserted))
UNION ALL
SELECT NULL, NULL, NULL, NULL
WHERE NOT EXISTS (SELECT 1 FROM "pgmerge"."merge_log" l WHERE l.table_name = 'datasource_event')) q) b;

-- check id_map/datasource_metrics:map_complete
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- A map is complete when every staging row is in it exactly once and it holds no staging ids that do not
-- exist. The map is built from the staging rows, and where its unique index holds their ids unique
-- (pgmerge builds it), equal row counts say that every staging row is in it once. Without that index, rows
-- missing on either side are found by one full join (`present` tells a row from the join's NULLs). Where
-- each entry leads is the lossless proof's to judge: it follows every staging row through its entry to a
-- row with the same natural key, so two staging rows with different keys cannot share one.
SELECT format('%s staging rows, %s map rows', st.n, m.n) AS problem, NULL AS id
FROM (SELECT count(*) AS n FROM "staging"."datasource_metrics") st, (SELECT count(*) AS n FROM "pgmerge"."map_datasource_metrics") m
WHERE EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"pgmerge"."map_datasource_metrics"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{staging_id}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))) AND st.n <> m.n
UNION ALL
SELECT CASE WHEN m.present IS NULL THEN 'staging row missing from map' ELSE 'map row without staging row' END,
       CASE WHEN m.present IS NULL THEN st.id::text ELSE m.staging_id::text END
FROM (SELECT "id" AS id, true AS present FROM "staging"."datasource_metrics" WHERE NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"pgmerge"."map_datasource_metrics"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{staging_id}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))) st
FULL JOIN (SELECT staging_id, true AS present FROM "pgmerge"."map_datasource_metrics" WHERE NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"pgmerge"."map_datasource_metrics"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{staging_id}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))) m ON m.staging_id = st.id
WHERE m.present IS NULL OR st.present IS NULL) q) b;

-- check merged/datasource_metrics:foreign_keys_resolve
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- The target's rows whose foreign-key value names no parent row of target ∪ pending (checked whether or
-- not a constraint exists), unless the target's own validated constraint holds them. The pending rows are
-- not read again: each of their values is a parent's map entry (the step's guard finds a staging value
-- with none) and the lossless proof follows every entry to its row.
SELECT 'datasource_id' AS column_name, c."datasource_id"::text AS value, count(*) AS rows
FROM "public"."datasource_metrics" c
WHERE NOT EXISTS (
    -- Whether the target's own foreign key already holds this column of its rows to existing parent rows, so
    -- that only the pending rows need judging (PostgreSQL answers this once, before reading any row): a
    -- validated constraint from exactly this column to exactly the parent's id, none of its triggers disabled.
    SELECT 1
    FROM pg_catalog.pg_constraint c
    WHERE c.contype = 'f' AND c.convalidated
      AND c.conrelid = '"public"."datasource_metrics"'::regclass AND c.confrelid = '"public"."datasource"'::regclass
      AND c.conkey = ARRAY[(SELECT a.attnum FROM pg_catalog.pg_attribute a
                            WHERE a.attrelid = c.conrelid AND a.attname = 'datasource_id')]
      AND c.confkey = ARRAY[(SELECT a.attnum FROM pg_catalog.pg_attribute a
                             WHERE a.attrelid = c.confrelid AND a.attname = 'id')]
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g WHERE g.tgconstraint = c.oid AND g.tgenabled = 'D'))
  AND c."datasource_id" IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM "pgmerge"."merged_datasource" p WHERE p."id" = c."datasource_id")
GROUP BY c."datasource_id") q) b;

-- check merged/datasource_metrics:rows_conserved
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- Row conservation: rows once published (target ∪ pending) = target rows before + pending rows, and,
-- with a map, pending rows = the map's new rows.
SELECT l.rows_before, l.rows_pending, n.rows_now, (SELECT count(*) FROM "pgmerge"."map_datasource_metrics" WHERE inserted) AS new_in_map
FROM "pgmerge"."merge_log" l, (SELECT count(*) AS rows_now FROM "pgmerge"."merged_datasource_metrics") n
WHERE l.table_name = 'datasource_metrics'
  AND (l.rows_before + l.rows_pending <> n.rows_now OR l.rows_pending <> (SELECT count(*) FROM "pgmerge"."map_datasource_metrics" WHERE inserted))
UNION ALL
SELECT NULL, NULL, NULL, NULL
WHERE NOT EXISTS (SELECT 1 FROM "pgmerge"."merge_log" l WHERE l.table_name = 'datasource_metrics')) q) b;

-- check merged/datasource_event_finding:foreign_keys_resolve
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- The target's rows whose foreign-key value names no parent row of target ∪ pending (checked whether or
-- not a constraint exists), unless the target's own validated constraint holds them. The pending rows are
-- not read again: each of their values is a parent's map entry (the step's guard finds a staging value
-- with none) and the lossless proof follows every entry to its row.
SELECT 'datasource_event_id' AS column_name, c."datasource_event_id"::text AS value, count(*) AS rows
FROM "public"."datasource_event_finding" c
WHERE NOT EXISTS (
    -- Whether the target's own foreign key already holds this column of its rows to existing parent rows, so
    -- that only the pending rows need judging (PostgreSQL answers this once, before reading any row): a
    -- validated constraint from exactly this column to exactly the parent's id, none of its triggers disabled.
    SELECT 1
    FROM pg_catalog.pg_constraint c
    WHERE c.contype = 'f' AND c.convalidated
      AND c.conrelid = '"public"."datasource_event_finding"'::regclass AND c.confrelid = '"public"."datasource_event"'::regclass
      AND c.conkey = ARRAY[(SELECT a.attnum FROM pg_catalog.pg_attribute a
                            WHERE a.attrelid = c.conrelid AND a.attname = 'datasource_event_id')]
      AND c.confkey = ARRAY[(SELECT a.attnum FROM pg_catalog.pg_attribute a
                             WHERE a.attrelid = c.confrelid AND a.attname = 'id')]
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g WHERE g.tgconstraint = c.oid AND g.tgenabled = 'D'))
  AND c."datasource_event_id" IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM "pgmerge"."merged_datasource_event" p WHERE p."id" = c."datasource_event_id")
GROUP BY c."datasource_event_id"
UNION ALL
-- The target's rows whose foreign-key value names no parent row of target ∪ pending (checked whether or
-- not a constraint exists), unless the target's own validated constraint holds them. The pending rows are
-- not read again: each of their values is a parent's map entry (the step's guard finds a staging value
-- with none) and the lossless proof follows every entry to its row.
SELECT 'finding_id' AS column_name, c."finding_id"::text AS value, count(*) AS rows
FROM "public"."datasource_event_finding" c
WHERE NOT EXISTS (
    -- Whether the target's own foreign key already holds this column of its rows to existing parent rows, so
    -- that only the pending rows need judging (PostgreSQL answers this once, before reading any row): a
    -- validated constraint from exactly this column to exactly the parent's id, none of its triggers disabled.
    SELECT 1
    FROM pg_catalog.pg_constraint c
    WHERE c.contype = 'f' AND c.convalidated
      AND c.conrelid = '"public"."datasource_event_finding"'::regclass AND c.confrelid = '"public"."finding"'::regclass
      AND c.conkey = ARRAY[(SELECT a.attnum FROM pg_catalog.pg_attribute a
                            WHERE a.attrelid = c.conrelid AND a.attname = 'finding_id')]
      AND c.confkey = ARRAY[(SELECT a.attnum FROM pg_catalog.pg_attribute a
                             WHERE a.attrelid = c.confrelid AND a.attname = 'id')]
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g WHERE g.tgconstraint = c.oid AND g.tgenabled = 'D'))
  AND c."finding_id" IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM "pgmerge"."merged_finding" p WHERE p."id" = c."finding_id")
GROUP BY c."finding_id") q) b;

-- check merged/datasource_event_finding:natural_key_unique
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- Natural keys the merge made ambiguous: held by more than one public row, one of them inserted by the
-- merge, on target ∪ pending. (Keys public repeated before the merge are reported by natural_keys_repeated.)
-- Where the target's own unique index holds its keys unique, a key can only repeat through a pending row:
-- only the pending rows are grouped, each key then looked up once in the target (a hash join), the target's
-- rows never grouped. Else every key of target ∪ pending is grouped (one hash aggregate), and only repeated
-- keys are looked up in the map.
SELECT "r"."datasource_event_id", "r"."finding_id", r.rows
FROM (
    SELECT "t"."datasource_event_id", "t"."finding_id", count(*) AS rows, NULL AS ids
    FROM "pgmerge"."merged_datasource_event_finding" t
    WHERE "t"."datasource_event_id" IS NOT NULL AND "t"."finding_id" IS NOT NULL AND NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."datasource_event_finding"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{datasource_event_id,finding_id}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
    GROUP BY "t"."datasource_event_id", "t"."finding_id"
    HAVING count(*) > 1
) r
WHERE true
UNION ALL
SELECT "r"."datasource_event_id", "r"."finding_id", r.rows
FROM (
    SELECT g.*, g.pending_rows + CASE WHEN t.ctid IS NULL THEN 0 ELSE 1 END AS rows
    FROM (SELECT "p"."datasource_event_id", "p"."finding_id", count(*) AS pending_rows
          FROM "pgmerge"."pending_datasource_event_finding" p
          WHERE "p"."datasource_event_id" IS NOT NULL AND "p"."finding_id" IS NOT NULL AND EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."datasource_event_finding"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{datasource_event_id,finding_id}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
          GROUP BY "p"."datasource_event_id", "p"."finding_id") g
    LEFT JOIN "public"."datasource_event_finding" t ON "g"."datasource_event_id" = "t"."datasource_event_id" AND "g"."finding_id" = "t"."finding_id"
) r
WHERE r.rows > 1) q) b;

-- check merged/datasource_event_finding:rows_conserved
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- Row conservation: rows once published (target ∪ pending) = target rows before + pending rows, and,
-- with a map, pending rows = the map's new rows.
SELECT l.rows_before, l.rows_pending, n.rows_now, l.rows_pending AS new_in_map
FROM "pgmerge"."merge_log" l, (SELECT count(*) AS rows_now FROM "pgmerge"."merged_datasource_event_finding") n
WHERE l.table_name = 'datasource_event_finding'
  AND (l.rows_before + l.rows_pending <> n.rows_now OR l.rows_pending <> l.rows_pending)
UNION ALL
SELECT NULL, NULL, NULL, NULL
WHERE NOT EXISTS (SELECT 1 FROM "pgmerge"."merge_log" l WHERE l.table_name = 'datasource_event_finding')) q) b;

-- check merged/datasource_event_package:foreign_keys_resolve
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- The target's rows whose foreign-key value names no parent row of target ∪ pending (checked whether or
-- not a constraint exists), unless the target's own validated constraint holds them. The pending rows are
-- not read again: each of their values is a parent's map entry (the step's guard finds a staging value
-- with none) and the lossless proof follows every entry to its row.
SELECT 'datasource_event_id' AS column_name, c."datasource_event_id"::text AS value, count(*) AS rows
FROM "public"."datasource_event_package" c
WHERE NOT EXISTS (
    -- Whether the target's own foreign key already holds this column of its rows to existing parent rows, so
    -- that only the pending rows need judging (PostgreSQL answers this once, before reading any row): a
    -- validated constraint from exactly this column to exactly the parent's id, none of its triggers disabled.
    SELECT 1
    FROM pg_catalog.pg_constraint c
    WHERE c.contype = 'f' AND c.convalidated
      AND c.conrelid = '"public"."datasource_event_package"'::regclass AND c.confrelid = '"public"."datasource_event"'::regclass
      AND c.conkey = ARRAY[(SELECT a.attnum FROM pg_catalog.pg_attribute a
                            WHERE a.attrelid = c.conrelid AND a.attname = 'datasource_event_id')]
      AND c.confkey = ARRAY[(SELECT a.attnum FROM pg_catalog.pg_attribute a
                             WHERE a.attrelid = c.confrelid AND a.attname = 'id')]
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g WHERE g.tgconstraint = c.oid AND g.tgenabled = 'D'))
  AND c."datasource_event_id" IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM "pgmerge"."merged_datasource_event" p WHERE p."id" = c."datasource_event_id")
GROUP BY c."datasource_event_id"
UNION ALL
-- The target's rows whose foreign-key value names no parent row of target ∪ pending (checked whether or
-- not a constraint exists), unless the target's own validated constraint holds them. The pending rows are
-- not read again: each of their values is a parent's map entry (the step's guard finds a staging value
-- with none) and the lossless proof follows every entry to its row.
SELECT 'package_id' AS column_name, c."package_id"::text AS value, count(*) AS rows
FROM "public"."datasource_event_package" c
WHERE NOT EXISTS (
    -- Whether the target's own foreign key already holds this column of its rows to existing parent rows, so
    -- that only the pending rows need judging (PostgreSQL answers this once, before reading any row): a
    -- validated constraint from exactly this column to exactly the parent's id, none of its triggers disabled.
    SELECT 1
    FROM pg_catalog.pg_constraint c
    WHERE c.contype = 'f' AND c.convalidated
      AND c.conrelid = '"public"."datasource_event_package"'::regclass AND c.confrelid = '"public"."package"'::regclass
      AND c.conkey = ARRAY[(SELECT a.attnum FROM pg_catalog.pg_attribute a
                            WHERE a.attrelid = c.conrelid AND a.attname = 'package_id')]
      AND c.confkey = ARRAY[(SELECT a.attnum FROM pg_catalog.pg_attribute a
                             WHERE a.attrelid = c.confrelid AND a.attname = 'id')]
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g WHERE g.tgconstraint = c.oid AND g.tgenabled = 'D'))
  AND c."package_id" IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM "pgmerge"."merged_package" p WHERE p."id" = c."package_id")
GROUP BY c."package_id") q) b;

-- check merged/datasource_event_package:natural_key_unique
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- Natural keys the merge made ambiguous: held by more than one public row, one of them inserted by the
-- merge, on target ∪ pending. (Keys public repeated before the merge are reported by natural_keys_repeated.)
-- Where the target's own unique index holds its keys unique, a key can only repeat through a pending row:
-- only the pending rows are grouped, each key then looked up once in the target (a hash join), the target's
-- rows never grouped. Else every key of target ∪ pending is grouped (one hash aggregate), and only repeated
-- keys are looked up in the map.
SELECT "r"."datasource_event_id", "r"."package_id", r.rows
FROM (
    SELECT "t"."datasource_event_id", "t"."package_id", count(*) AS rows, NULL AS ids
    FROM "pgmerge"."merged_datasource_event_package" t
    WHERE "t"."datasource_event_id" IS NOT NULL AND "t"."package_id" IS NOT NULL AND NOT EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."datasource_event_package"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{datasource_event_id,package_id}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
    GROUP BY "t"."datasource_event_id", "t"."package_id"
    HAVING count(*) > 1
) r
WHERE true
UNION ALL
SELECT "r"."datasource_event_id", "r"."package_id", r.rows
FROM (
    SELECT g.*, g.pending_rows + CASE WHEN t.ctid IS NULL THEN 0 ELSE 1 END AS rows
    FROM (SELECT "p"."datasource_event_id", "p"."package_id", count(*) AS pending_rows
          FROM "pgmerge"."pending_datasource_event_package" p
          WHERE "p"."datasource_event_id" IS NOT NULL AND "p"."package_id" IS NOT NULL AND EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = '"public"."datasource_event_package"'::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ('{datasource_event_id,package_id}'::name[]) AND (a.attnotnull OR NOT false))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
          GROUP BY "p"."datasource_event_id", "p"."package_id") g
    LEFT JOIN "public"."datasource_event_package" t ON "g"."datasource_event_id" = "t"."datasource_event_id" AND "g"."package_id" = "t"."package_id"
) r
WHERE r.rows > 1) q) b;

-- check merged/datasource_event_package:rows_conserved
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- Row conservation: rows once published (target ∪ pending) = target rows before + pending rows, and,
-- with a map, pending rows = the map's new rows.
SELECT l.rows_before, l.rows_pending, n.rows_now, l.rows_pending AS new_in_map
FROM "pgmerge"."merge_log" l, (SELECT count(*) AS rows_now FROM "pgmerge"."merged_datasource_event_package") n
WHERE l.table_name = 'datasource_event_package'
  AND (l.rows_before + l.rows_pending <> n.rows_now OR l.rows_pending <> l.rows_pending)
UNION ALL
SELECT NULL, NULL, NULL, NULL
WHERE NOT EXISTS (SELECT 1 FROM "pgmerge"."merge_log" l WHERE l.table_name = 'datasource_event_package')) q) b;

-- check sequences:sequences_ahead
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- A sequence that would hand out an id target ∪ pending already holds. While rows are pending, pgmerge's
-- id counter stands for the target's sequence (publish moves the sequence past every id it inserts).
SELECT 'dataset' AS table_name, t.max_id::text AS max_id, s.last_value, s.is_called,
       a.last_value AS allocated
FROM (SELECT max("id") AS max_id FROM "pgmerge"."merged_dataset") t, "public"."dataset_id_seq" s, "pgmerge"."next_public.dataset_id_seq" a
WHERE t.max_id > greatest(CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END,
                          CASE WHEN EXISTS (SELECT 1 FROM "pgmerge"."pending_dataset")
                               THEN CASE WHEN a.is_called THEN a.last_value ELSE a.last_value - 1 END END)
UNION ALL
-- A sequence that would hand out an id target ∪ pending already holds. While rows are pending, pgmerge's
-- id counter stands for the target's sequence (publish moves the sequence past every id it inserts).
SELECT 'finding' AS table_name, t.max_id::text AS max_id, s.last_value, s.is_called,
       a.last_value AS allocated
FROM (SELECT max("id") AS max_id FROM "pgmerge"."merged_finding") t, "public"."finding_id_seq" s, "pgmerge"."next_public.finding_id_seq" a
WHERE t.max_id > greatest(CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END,
                          CASE WHEN EXISTS (SELECT 1 FROM "pgmerge"."pending_finding")
                               THEN CASE WHEN a.is_called THEN a.last_value ELSE a.last_value - 1 END END)
UNION ALL
-- A sequence that would hand out an id target ∪ pending already holds. While rows are pending, pgmerge's
-- id counter stands for the target's sequence (publish moves the sequence past every id it inserts).
SELECT 'finding_reporter' AS table_name, t.max_id::text AS max_id, s.last_value, s.is_called,
       a.last_value AS allocated
FROM (SELECT max("id") AS max_id FROM "pgmerge"."merged_finding_reporter") t, "public"."finding_reporter_id_seq" s, "pgmerge"."next_public.finding_reporter_id_seq" a
WHERE t.max_id > greatest(CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END,
                          CASE WHEN EXISTS (SELECT 1 FROM "pgmerge"."pending_finding_reporter")
                               THEN CASE WHEN a.is_called THEN a.last_value ELSE a.last_value - 1 END END)
UNION ALL
-- A sequence that would hand out an id target ∪ pending already holds. While rows are pending, pgmerge's
-- id counter stands for the target's sequence (publish moves the sequence past every id it inserts).
SELECT 'package' AS table_name, t.max_id::text AS max_id, s.last_value, s.is_called,
       a.last_value AS allocated
FROM (SELECT max("id") AS max_id FROM "pgmerge"."merged_package") t, "public"."package_id_seq" s, "pgmerge"."next_public.package_id_seq" a
WHERE t.max_id > greatest(CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END,
                          CASE WHEN EXISTS (SELECT 1 FROM "pgmerge"."pending_package")
                               THEN CASE WHEN a.is_called THEN a.last_value ELSE a.last_value - 1 END END)
UNION ALL
-- A sequence that would hand out an id target ∪ pending already holds. While rows are pending, pgmerge's
-- id counter stands for the target's sequence (publish moves the sequence past every id it inserts).
SELECT 'dataset_metrics' AS table_name, t.max_id::text AS max_id, s.last_value, s.is_called,
       a.last_value AS allocated
FROM (SELECT max("id") AS max_id FROM "pgmerge"."merged_dataset_metrics") t, "public"."dataset_metrics_id_seq" s, "pgmerge"."next_public.dataset_metrics_id_seq" a
WHERE t.max_id > greatest(CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END,
                          CASE WHEN EXISTS (SELECT 1 FROM "pgmerge"."pending_dataset_metrics")
                               THEN CASE WHEN a.is_called THEN a.last_value ELSE a.last_value - 1 END END)
UNION ALL
-- A sequence that would hand out an id target ∪ pending already holds. While rows are pending, pgmerge's
-- id counter stands for the target's sequence (publish moves the sequence past every id it inserts).
SELECT 'datasource' AS table_name, t.max_id::text AS max_id, s.last_value, s.is_called,
       a.last_value AS allocated
FROM (SELECT max("id") AS max_id FROM "pgmerge"."merged_datasource") t, "public"."datasource_id_seq" s, "pgmerge"."next_public.datasource_id_seq" a
WHERE t.max_id > greatest(CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END,
                          CASE WHEN EXISTS (SELECT 1 FROM "pgmerge"."pending_datasource")
                               THEN CASE WHEN a.is_called THEN a.last_value ELSE a.last_value - 1 END END)
UNION ALL
-- A sequence that would hand out an id target ∪ pending already holds. While rows are pending, pgmerge's
-- id counter stands for the target's sequence (publish moves the sequence past every id it inserts).
SELECT 'edit' AS table_name, t.max_id::text AS max_id, s.last_value, s.is_called,
       a.last_value AS allocated
FROM (SELECT max("id") AS max_id FROM "pgmerge"."merged_edit") t, "public"."edit_id_seq" s, "pgmerge"."next_public.edit_id_seq" a
WHERE t.max_id > greatest(CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END,
                          CASE WHEN EXISTS (SELECT 1 FROM "pgmerge"."pending_edit")
                               THEN CASE WHEN a.is_called THEN a.last_value ELSE a.last_value - 1 END END)
UNION ALL
-- A sequence that would hand out an id target ∪ pending already holds. While rows are pending, pgmerge's
-- id counter stands for the target's sequence (publish moves the sequence past every id it inserts).
SELECT 'datasource_event' AS table_name, t.max_id::text AS max_id, s.last_value, s.is_called,
       a.last_value AS allocated
FROM (SELECT max("id") AS max_id FROM "pgmerge"."merged_datasource_event") t, "public"."datasource_event_id_seq" s, "pgmerge"."next_public.datasource_event_id_seq" a
WHERE t.max_id > greatest(CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END,
                          CASE WHEN EXISTS (SELECT 1 FROM "pgmerge"."pending_datasource_event")
                               THEN CASE WHEN a.is_called THEN a.last_value ELSE a.last_value - 1 END END)
UNION ALL
-- A sequence that would hand out an id target ∪ pending already holds. While rows are pending, pgmerge's
-- id counter stands for the target's sequence (publish moves the sequence past every id it inserts).
SELECT 'datasource_metrics' AS table_name, t.max_id::text AS max_id, s.last_value, s.is_called,
       a.last_value AS allocated
FROM (SELECT max("id") AS max_id FROM "pgmerge"."merged_datasource_metrics") t, "public"."datasource_metrics_id_seq" s, "pgmerge"."next_public.datasource_metrics_id_seq" a
WHERE t.max_id > greatest(CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END,
                          CASE WHEN EXISTS (SELECT 1 FROM "pgmerge"."pending_datasource_metrics")
                               THEN CASE WHEN a.is_called THEN a.last_value ELSE a.last_value - 1 END END)) q) b;

-- check id_map/dataset:matches_mostly_differ
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- A natural key that pairs unrelated rows: most dump #2 rows it matched to a target row differ from it in
-- their plain columns (not key, id or references), where real conflicts are a few. (From 5 matches;
-- judged on 1000 matches at most, found by id: a key that pairs unrelated rows shows in any of them.)
SELECT s.matched, s.differing
FROM (SELECT count(*) AS matched,
             count(*) FILTER (WHERE jsonb_build_array("st"."description", "st"."created_at") IS DISTINCT FROM jsonb_build_array("p"."description", "p"."created_at"))
             AS differing
      FROM (SELECT staging_id, public_id FROM "pgmerge"."map_dataset" WHERE NOT inserted LIMIT 1000) m
      JOIN "staging"."dataset" st ON st."id" = m.staging_id
      JOIN "public"."dataset" p ON p."id" = m.public_id) s
WHERE s.matched >= 5 AND s.differing * 2 > s.matched) q) b;

-- check id_map/dataset_metrics:history_rows_in_target
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- A history (append) table most of whose dump #2 rows the target already holds: its id map (built by content,
-- foreign keys translated) matched them to target rows. Shared history is dropped as duplicates; but if the
-- rows are records (an entity), a record both hold with some other value would be added twice: name a
-- natural_key. The map has counted them: nothing is compared again.
SELECT s.staging_rows, s.identical_to_target
FROM (SELECT count(*) AS staging_rows, count(*) FILTER (WHERE NOT inserted) AS identical_to_target
      FROM "pgmerge"."map_dataset_metrics") s
WHERE s.identical_to_target * 2 > s.staging_rows) q) b;

-- check id_map/datasource:matches_mostly_differ
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- A natural key that pairs unrelated rows: most dump #2 rows it matched to a target row differ from it in
-- their plain columns (not key, id or references), where real conflicts are a few. (From 5 matches;
-- judged on 1000 matches at most, found by id: a key that pairs unrelated rows shows in any of them.)
SELECT s.matched, s.differing
FROM (SELECT count(*) AS matched,
             count(*) FILTER (WHERE jsonb_build_array("st"."url") IS DISTINCT FROM jsonb_build_array("p"."url"))
             AS differing
      FROM (SELECT staging_id, public_id FROM "pgmerge"."map_datasource" WHERE NOT inserted LIMIT 1000) m
      JOIN "staging"."datasource" st ON st."id" = m.staging_id
      JOIN "public"."datasource" p ON p."id" = m.public_id) s
WHERE s.matched >= 5 AND s.differing * 2 > s.matched) q) b;

-- check id_map/datasource_event:matches_mostly_differ
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- A natural key that pairs unrelated rows: most dump #2 rows it matched to a target row differ from it in
-- their plain columns (not key, id or references), where real conflicts are a few. (From 5 matches;
-- judged on 1000 matches at most, found by id: a key that pairs unrelated rows shows in any of them.)
SELECT s.matched, s.differing
FROM (SELECT count(*) AS matched,
             count(*) FILTER (WHERE jsonb_build_array("st"."payload") IS DISTINCT FROM jsonb_build_array("p"."payload"))
             AS differing
      FROM (SELECT staging_id, public_id FROM "pgmerge"."map_datasource_event" WHERE NOT inserted LIMIT 1000) m
      JOIN "staging"."datasource_event" st ON st."id" = m.staging_id
      JOIN "public"."datasource_event" p ON p."id" = m.public_id) s
WHERE s.matched >= 5 AND s.differing * 2 > s.matched) q) b;

-- check id_map/datasource_metrics:history_rows_in_target
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- A history (append) table most of whose dump #2 rows the target already holds: its id map (built by content,
-- foreign keys translated) matched them to target rows. Shared history is dropped as duplicates; but if the
-- rows are records (an entity), a record both hold with some other value would be added twice: name a
-- natural_key. The map has counted them: nothing is compared again.
SELECT s.staging_rows, s.identical_to_target
FROM (SELECT count(*) AS staging_rows, count(*) FILTER (WHERE NOT inserted) AS identical_to_target
      FROM "pgmerge"."map_datasource_metrics") s
WHERE s.identical_to_target * 2 > s.staging_rows) q) b;

-- check id_map/edit:history_rows_in_target
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- A history (append) table most of whose dump #2 rows the target already holds: its id map (built by content,
-- foreign keys translated) matched them to target rows. Shared history is dropped as duplicates; but if the
-- rows are records (an entity), a record both hold with some other value would be added twice: name a
-- natural_key. The map has counted them: nothing is compared again.
SELECT s.staging_rows, s.identical_to_target
FROM (SELECT count(*) AS staging_rows, count(*) FILTER (WHERE NOT inserted) AS identical_to_target
      FROM "pgmerge"."map_edit") s
WHERE s.identical_to_target * 2 > s.staging_rows) q) b;

-- check id_map/finding:matches_mostly_differ
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- A natural key that pairs unrelated rows: most dump #2 rows it matched to a target row differ from it in
-- their plain columns (not key, id or references), where real conflicts are a few. (From 5 matches;
-- judged on 1000 matches at most, found by id: a key that pairs unrelated rows shows in any of them.)
SELECT s.matched, s.differing
FROM (SELECT count(*) AS matched,
             count(*) FILTER (WHERE jsonb_build_array("st"."severity", "st"."summary") IS DISTINCT FROM jsonb_build_array("p"."severity", "p"."summary"))
             AS differing
      FROM (SELECT staging_id, public_id FROM "pgmerge"."map_finding" WHERE NOT inserted LIMIT 1000) m
      JOIN "staging"."finding" st ON st."id" = m.staging_id
      JOIN "public"."finding" p ON p."id" = m.public_id) s
WHERE s.matched >= 5 AND s.differing * 2 > s.matched) q) b;

-- check id_map/finding_reporter:matches_mostly_differ
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- A natural key that pairs unrelated rows: most dump #2 rows it matched to a target row differ from it in
-- their plain columns (not key, id or references), where real conflicts are a few. (From 5 matches;
-- judged on 1000 matches at most, found by id: a key that pairs unrelated rows shows in any of them.)
SELECT s.matched, s.differing
FROM (SELECT count(*) AS matched,
             count(*) FILTER (WHERE jsonb_build_array("st"."email") IS DISTINCT FROM jsonb_build_array("p"."email"))
             AS differing
      FROM (SELECT staging_id, public_id FROM "pgmerge"."map_finding_reporter" WHERE NOT inserted LIMIT 1000) m
      JOIN "staging"."finding_reporter" st ON st."id" = m.staging_id
      JOIN "public"."finding_reporter" p ON p."id" = m.public_id) s
WHERE s.matched >= 5 AND s.differing * 2 > s.matched) q) b;

-- check id_map/package:matches_mostly_differ
-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM (-- A natural key that pairs unrelated rows: most dump #2 rows it matched to a target row differ from it in
-- their plain columns (not key, id or references), where real conflicts are a few. (From 5 matches;
-- judged on 1000 matches at most, found by id: a key that pairs unrelated rows shows in any of them.)
SELECT s.matched, s.differing
FROM (SELECT count(*) AS matched,
             count(*) FILTER (WHERE jsonb_build_array("st"."version", "st"."license") IS DISTINCT FROM jsonb_build_array("p"."version", "p"."license"))
             AS differing
      FROM (SELECT staging_id, public_id FROM "pgmerge"."map_package" WHERE NOT inserted LIMIT 1000) m
      JOIN "staging"."package" st ON st."id" = m.staging_id
      JOIN "public"."package" p ON p."id" = m.public_id) s
WHERE s.matched >= 5 AND s.differing * 2 > s.matched) q) b;

-- proof dataset
-- Lossless proof for a table with an id map. Each staging row is followed through its map entry to the
-- row it became in the merged view (target ∪ pending): found when the natural keys are equal (foreign-key
-- parts translated through the parents' maps), identical when the whole content is, a conflict the target
-- won when it differs from a row that already existed. Anything else (no map entry, no such row, another
-- key, an inserted row that differs) is lost. History has no key: its content must be equal. Values are
-- compared column by column; only the sample rows (at most 20 per verdict) are built as JSON.
WITH judged AS (
    SELECT st."id" AS staging_id,
           m.public_id IS NOT NULL AND p."id" IS NOT NULL AND NOT (false) AND to_jsonb(st."name") IS NOT DISTINCT FROM to_jsonb(p."name") AS found,
           to_jsonb(st."name") IS NOT DISTINCT FROM to_jsonb(p."name") AND to_jsonb(st."description") IS NOT DISTINCT FROM to_jsonb(p."description") AND to_jsonb(st."created_at") IS NOT DISTINCT FROM to_jsonb(p."created_at") AS equal,
           coalesce(NOT m.inserted, false) AS matched
    FROM "staging"."dataset" st
    
    LEFT JOIN "pgmerge"."map_dataset" m ON m.staging_id = st."id"
    LEFT JOIN "pgmerge"."merged_dataset" p ON p."id" = m.public_id
    OFFSET 0  -- each row judged once: inlined, every FILTER below would compare the row's values again
), verdict AS (
    SELECT count(*) AS staging_rows,
           count(*) FILTER (WHERE found AND equal) AS identical,
           count(*) FILTER (WHERE found AND NOT equal AND matched) AS conflicts,
           count(*) FILTER (WHERE NOT found OR (NOT equal AND NOT matched)) AS lost,
           (array_agg(staging_id) FILTER (WHERE found AND NOT equal AND matched))[1:20] AS conflict_ids,
           (array_agg(staging_id) FILTER (WHERE NOT found OR (NOT equal AND NOT matched)))[1:20] AS lost_ids
    FROM judged
)
SELECT staging_rows, identical, conflicts, lost,
       CASE WHEN conflicts = 0 THEN '[]'::jsonb ELSE (-- Sample rows of one verdict of a mapped table's proof (at most 20 staging ids): the key, the
-- staging row translated through the maps, and the row of the merged view its map entry names, as JSON.
SELECT coalesce(jsonb_agg(jsonb_build_object('key', jsonb_build_array(st."name"), 'staging', jsonb_build_array(st."name", st."description", st."created_at"),
                                             'public', jsonb_build_array("p"."name", "p"."description", "p"."created_at"))), '[]')
FROM (SELECT * FROM "staging"."dataset" WHERE "id" = ANY (v."conflict_ids")) st

LEFT JOIN "pgmerge"."map_dataset" m ON m.staging_id = st."id"
LEFT JOIN "pgmerge"."merged_dataset" p ON p."id" = m.public_id) END AS conflict_sample,
       CASE WHEN lost = 0 THEN '[]'::jsonb ELSE (-- Sample rows of one verdict of a mapped table's proof (at most 20 staging ids): the key, the
-- staging row translated through the maps, and the row of the merged view its map entry names, as JSON.
SELECT coalesce(jsonb_agg(jsonb_build_object('key', jsonb_build_array(st."name"), 'staging', jsonb_build_array(st."name", st."description", st."created_at"),
                                             'public', jsonb_build_array("p"."name", "p"."description", "p"."created_at"))), '[]')
FROM (SELECT * FROM "staging"."dataset" WHERE "id" = ANY (v."lost_ids")) st

LEFT JOIN "pgmerge"."map_dataset" m ON m.staging_id = st."id"
LEFT JOIN "pgmerge"."merged_dataset" p ON p."id" = m.public_id) END AS lost_sample
FROM verdict v;

-- proof finding
-- Lossless proof for a table with an id map. Each staging row is followed through its map entry to the
-- row it became in the merged view (target ∪ pending): found when the natural keys are equal (foreign-key
-- parts translated through the parents' maps), identical when the whole content is, a conflict the target
-- won when it differs from a row that already existed. Anything else (no map entry, no such row, another
-- key, an inserted row that differs) is lost. History has no key: its content must be equal. Values are
-- compared column by column; only the sample rows (at most 20 per verdict) are built as JSON.
WITH judged AS (
    SELECT st."id" AS staging_id,
           m.public_id IS NOT NULL AND p."id" IS NOT NULL AND NOT (false) AND to_jsonb(st."identifier") IS NOT DISTINCT FROM to_jsonb(p."identifier") AS found,
           to_jsonb(st."identifier") IS NOT DISTINCT FROM to_jsonb(p."identifier") AND to_jsonb(st."severity") IS NOT DISTINCT FROM to_jsonb(p."severity") AND to_jsonb(st."summary") IS NOT DISTINCT FROM to_jsonb(p."summary") AS equal,
           coalesce(NOT m.inserted, false) AS matched
    FROM "staging"."finding" st
    
    LEFT JOIN "pgmerge"."map_finding" m ON m.staging_id = st."id"
    LEFT JOIN "pgmerge"."merged_finding" p ON p."id" = m.public_id
    OFFSET 0  -- each row judged once: inlined, every FILTER below would compare the row's values again
), verdict AS (
    SELECT count(*) AS staging_rows,
           count(*) FILTER (WHERE found AND equal) AS identical,
           count(*) FILTER (WHERE found AND NOT equal AND matched) AS conflicts,
           count(*) FILTER (WHERE NOT found OR (NOT equal AND NOT matched)) AS lost,
           (array_agg(staging_id) FILTER (WHERE found AND NOT equal AND matched))[1:20] AS conflict_ids,
           (array_agg(staging_id) FILTER (WHERE NOT found OR (NOT equal AND NOT matched)))[1:20] AS lost_ids
    FROM judged
)
SELECT staging_rows, identical, conflicts, lost,
       CASE WHEN conflicts = 0 THEN '[]'::jsonb ELSE (-- Sample rows of one verdict of a mapped table's proof (at most 20 staging ids): the key, the
-- staging row translated through the maps, and the row of the merged view its map entry names, as JSON.
SELECT coalesce(jsonb_agg(jsonb_build_object('key', jsonb_build_array(st."identifier"), 'staging', jsonb_build_array(st."identifier", st."severity", st."summary"),
                                             'public', jsonb_build_array("p"."identifier", "p"."severity", "p"."summary"))), '[]')
FROM (SELECT * FROM "staging"."finding" WHERE "id" = ANY (v."conflict_ids")) st

LEFT JOIN "pgmerge"."map_finding" m ON m.staging_id = st."id"
LEFT JOIN "pgmerge"."merged_finding" p ON p."id" = m.public_id) END AS conflict_sample,
       CASE WHEN lost = 0 THEN '[]'::jsonb ELSE (-- Sample rows of one verdict of a mapped table's proof (at most 20 staging ids): the key, the
-- staging row translated through the maps, and the row of the merged view its map entry names, as JSON.
SELECT coalesce(jsonb_agg(jsonb_build_object('key', jsonb_build_array(st."identifier"), 'staging', jsonb_build_array(st."identifier", st."severity", st."summary"),
                                             'public', jsonb_build_array("p"."identifier", "p"."severity", "p"."summary"))), '[]')
FROM (SELECT * FROM "staging"."finding" WHERE "id" = ANY (v."lost_ids")) st

LEFT JOIN "pgmerge"."map_finding" m ON m.staging_id = st."id"
LEFT JOIN "pgmerge"."merged_finding" p ON p."id" = m.public_id) END AS lost_sample
FROM verdict v;

-- proof finding_reporter
-- Lossless proof for a table with an id map. Each staging row is followed through its map entry to the
-- row it became in the merged view (target ∪ pending): found when the natural keys are equal (foreign-key
-- parts translated through the parents' maps), identical when the whole content is, a conflict the target
-- won when it differs from a row that already existed. Anything else (no map entry, no such row, another
-- key, an inserted row that differs) is lost. History has no key: its content must be equal. Values are
-- compared column by column; only the sample rows (at most 20 per verdict) are built as JSON.
WITH judged AS (
    SELECT st."id" AS staging_id,
           m.public_id IS NOT NULL AND p."id" IS NOT NULL AND NOT (false) AND to_jsonb(st."name") IS NOT DISTINCT FROM to_jsonb(p."name") AS found,
           to_jsonb(st."name") IS NOT DISTINCT FROM to_jsonb(p."name") AND to_jsonb(st."email") IS NOT DISTINCT FROM to_jsonb(p."email") AS equal,
           coalesce(NOT m.inserted, false) AS matched
    FROM "staging"."finding_reporter" st
    
    LEFT JOIN "pgmerge"."map_finding_reporter" m ON m.staging_id = st."id"
    LEFT JOIN "pgmerge"."merged_finding_reporter" p ON p."id" = m.public_id
    OFFSET 0  -- each row judged once: inlined, every FILTER below would compare the row's values again
), verdict AS (
    SELECT count(*) AS staging_rows,
           count(*) FILTER (WHERE found AND equal) AS identical,
           count(*) FILTER (WHERE found AND NOT equal AND matched) AS conflicts,
           count(*) FILTER (WHERE NOT found OR (NOT equal AND NOT matched)) AS lost,
           (array_agg(staging_id) FILTER (WHERE found AND NOT equal AND matched))[1:20] AS conflict_ids,
           (array_agg(staging_id) FILTER (WHERE NOT found OR (NOT equal AND NOT matched)))[1:20] AS lost_ids
    FROM judged
)
SELECT staging_rows, identical, conflicts, lost,
       CASE WHEN conflicts = 0 THEN '[]'::jsonb ELSE (-- Sample rows of one verdict of a mapped table's proof (at most 20 staging ids): the key, the
-- staging row translated through the maps, and the row of the merged view its map entry names, as JSON.
SELECT coalesce(jsonb_agg(jsonb_build_object('key', jsonb_build_array(st."name"), 'staging', jsonb_build_array(st."name", st."email"),
                                             'public', jsonb_build_array("p"."name", "p"."email"))), '[]')
FROM (SELECT * FROM "staging"."finding_reporter" WHERE "id" = ANY (v."conflict_ids")) st

LEFT JOIN "pgmerge"."map_finding_reporter" m ON m.staging_id = st."id"
LEFT JOIN "pgmerge"."merged_finding_reporter" p ON p."id" = m.public_id) END AS conflict_sample,
       CASE WHEN lost = 0 THEN '[]'::jsonb ELSE (-- Sample rows of one verdict of a mapped table's proof (at most 20 staging ids): the key, the
-- staging row translated through the maps, and the row of the merged view its map entry names, as JSON.
SELECT coalesce(jsonb_agg(jsonb_build_object('key', jsonb_build_array(st."name"), 'staging', jsonb_build_array(st."name", st."email"),
                                             'public', jsonb_build_array("p"."name", "p"."email"))), '[]')
FROM (SELECT * FROM "staging"."finding_reporter" WHERE "id" = ANY (v."lost_ids")) st

LEFT JOIN "pgmerge"."map_finding_reporter" m ON m.staging_id = st."id"
LEFT JOIN "pgmerge"."merged_finding_reporter" p ON p."id" = m.public_id) END AS lost_sample
FROM verdict v;

-- proof package
-- Lossless proof for a table with an id map. Each staging row is followed through its map entry to the
-- row it became in the merged view (target ∪ pending): found when the natural keys are equal (foreign-key
-- parts translated through the parents' maps), identical when the whole content is, a conflict the target
-- won when it differs from a row that already existed. Anything else (no map entry, no such row, another
-- key, an inserted row that differs) is lost. History has no key: its content must be equal. Values are
-- compared column by column; only the sample rows (at most 20 per verdict) are built as JSON.
WITH judged AS (
    SELECT st."id" AS staging_id,
           m.public_id IS NOT NULL AND p."id" IS NOT NULL AND NOT (false) AND to_jsonb(st."purl") IS NOT DISTINCT FROM to_jsonb(p."purl") AS found,
           to_jsonb(st."purl") IS NOT DISTINCT FROM to_jsonb(p."purl") AND to_jsonb(st."version") IS NOT DISTINCT FROM to_jsonb(p."version") AND to_jsonb(st."license") IS NOT DISTINCT FROM to_jsonb(p."license") AS equal,
           coalesce(NOT m.inserted, false) AS matched
    FROM "staging"."package" st
    
    LEFT JOIN "pgmerge"."map_package" m ON m.staging_id = st."id"
    LEFT JOIN "pgmerge"."merged_package" p ON p."id" = m.public_id
    OFFSET 0  -- each row judged once: inlined, every FILTER below would compare the row's values again
), verdict AS (
    SELECT count(*) AS staging_rows,
           count(*) FILTER (WHERE found AND equal) AS identical,
           count(*) FILTER (WHERE found AND NOT equal AND matched) AS conflicts,
           count(*) FILTER (WHERE NOT found OR (NOT equal AND NOT matched)) AS lost,
           (array_agg(staging_id) FILTER (WHERE found AND NOT equal AND matched))[1:20] AS conflict_ids,
           (array_agg(staging_id) FILTER (WHERE NOT found OR (NOT equal AND NOT matched)))[1:20] AS lost_ids
    FROM judged
)
SELECT staging_rows, identical, conflicts, lost,
       CASE WHEN conflicts = 0 THEN '[]'::jsonb ELSE (-- Sample rows of one verdict of a mapped table's proof (at most 20 staging ids): the key, the
-- staging row translated through the maps, and the row of the merged view its map entry names, as JSON.
SELECT coalesce(jsonb_agg(jsonb_build_object('key', jsonb_build_array(st."purl"), 'staging', jsonb_build_array(st."purl", st."version", st."license"),
                                             'public', jsonb_build_array("p"."purl", "p"."version", "p"."license"))), '[]')
FROM (SELECT * FROM "staging"."package" WHERE "id" = ANY (v."conflict_ids")) st

LEFT JOIN "pgmerge"."map_package" m ON m.staging_id = st."id"
LEFT JOIN "pgmerge"."merged_package" p ON p."id" = m.public_id) END AS conflict_sample,
       CASE WHEN lost = 0 THEN '[]'::jsonb ELSE (-- Sample rows of one verdict of a mapped table's proof (at most 20 staging ids): the key, the
-- staging row translated through the maps, and the row of the merged view its map entry names, as JSON.
SELECT coalesce(jsonb_agg(jsonb_build_object('key', jsonb_build_array(st."purl"), 'staging', jsonb_build_array(st."purl", st."version", st."license"),
                                             'public', jsonb_build_array("p"."purl", "p"."version", "p"."license"))), '[]')
FROM (SELECT * FROM "staging"."package" WHERE "id" = ANY (v."lost_ids")) st

LEFT JOIN "pgmerge"."map_package" m ON m.staging_id = st."id"
LEFT JOIN "pgmerge"."merged_package" p ON p."id" = m.public_id) END AS lost_sample
FROM verdict v;

-- proof dataset_metrics
-- Lossless proof for a table with an id map. Each staging row is followed through its map entry to the
-- row it became in the merged view (target ∪ pending): found when the natural keys are equal (foreign-key
-- parts translated through the parents' maps), identical when the whole content is, a conflict the target
-- won when it differs from a row that already existed. Anything else (no map entry, no such row, another
-- key, an inserted row that differs) is lost. History has no key: its content must be equal. Values are
-- compared column by column; only the sample rows (at most 20 per verdict) are built as JSON.
WITH judged AS (
    SELECT st."id" AS staging_id,
           m.public_id IS NOT NULL AND p."id" IS NOT NULL AND NOT ((st."dataset_id" IS NOT NULL AND "f0".staging_id IS NULL)) AND true AS found,
           to_jsonb("f0".public_id) IS NOT DISTINCT FROM to_jsonb(p."dataset_id") AND to_jsonb(st."txid") IS NOT DISTINCT FROM to_jsonb(p."txid") AND to_jsonb(st."recorded_at") IS NOT DISTINCT FROM to_jsonb(p."recorded_at") AND to_jsonb(st."package_count") IS NOT DISTINCT FROM to_jsonb(p."package_count") AND to_jsonb(CASE WHEN st."package_indexes" IS NULL THEN NULL ELSE coalesce("a0".ids, '{}') END) IS NOT DISTINCT FROM to_jsonb(p."package_indexes") AS equal,
           coalesce(false, false) AS matched
    FROM "staging"."dataset_metrics" st
    LEFT JOIN "pgmerge"."map_dataset" AS "f0" ON "f0".staging_id = st."dataset_id"
    LEFT JOIN (SELECT x."id" AS staging_id, array_agg(rm.public_id ORDER BY u.ord) AS ids FROM "staging"."dataset_metrics" x CROSS JOIN LATERAL unnest(x."package_indexes") WITH ORDINALITY AS u(element, ord) LEFT JOIN "pgmerge"."map_package" rm ON rm.staging_id = u.element GROUP BY 1) AS "a0" ON "a0".staging_id = st."id"
    LEFT JOIN "pgmerge"."map_dataset_metrics" m ON m.staging_id = st."id"
    LEFT JOIN "pgmerge"."merged_dataset_metrics" p ON p."id" = m.public_id
    OFFSET 0  -- each row judged once: inlined, every FILTER below would compare the row's values again
), verdict AS (
    SELECT count(*) AS staging_rows,
           count(*) FILTER (WHERE found AND equal) AS identical,
           count(*) FILTER (WHERE found AND NOT equal AND matched) AS conflicts,
           count(*) FILTER (WHERE NOT found OR (NOT equal AND NOT matched)) AS lost,
           (array_agg(staging_id) FILTER (WHERE found AND NOT equal AND matched))[1:20] AS conflict_ids,
           (array_agg(staging_id) FILTER (WHERE NOT found OR (NOT equal AND NOT matched)))[1:20] AS lost_ids
    FROM judged
)
SELECT staging_rows, identical, conflicts, lost,
       CASE WHEN conflicts = 0 THEN '[]'::jsonb ELSE (-- Sample rows of one verdict of a mapped table's proof (at most 20 staging ids): the key, the
-- staging row translated through the maps, and the row of the merged view its map entry names, as JSON.
SELECT coalesce(jsonb_agg(jsonb_build_object('key', '[]'::jsonb, 'staging', jsonb_build_array("f0".public_id, st."txid", st."recorded_at", st."package_count", CASE WHEN st."package_indexes" IS NULL THEN NULL ELSE coalesce("a0".ids, '{}') END),
                                             'public', jsonb_build_array("p"."dataset_id", "p"."txid", "p"."recorded_at", "p"."package_count", "p"."package_indexes"))), '[]')
FROM (SELECT * FROM "staging"."dataset_metrics" WHERE "id" = ANY (v."conflict_ids")) st
LEFT JOIN "pgmerge"."map_dataset" AS "f0" ON "f0".staging_id = st."dataset_id"
    LEFT JOIN (SELECT x."id" AS staging_id, array_agg(rm.public_id ORDER BY u.ord) AS ids FROM (SELECT * FROM "staging"."dataset_metrics" WHERE "id" = ANY (v."conflict_ids")) x CROSS JOIN LATERAL unnest(x."package_indexes") WITH ORDINALITY AS u(element, ord) LEFT JOIN "pgmerge"."map_package" rm ON rm.staging_id = u.element GROUP BY 1) AS "a0" ON "a0".staging_id = st."id"
LEFT JOIN "pgmerge"."map_dataset_metrics" m ON m.staging_id = st."id"
LEFT JOIN "pgmerge"."merged_dataset_metrics" p ON p."id" = m.public_id) END AS conflict_sample,
       CASE WHEN lost = 0 THEN '[]'::jsonb ELSE (-- Sample rows of one verdict of a mapped table's proof (at most 20 staging ids): the key, the
-- staging row translated through the maps, and the row of the merged view its map entry names, as JSON.
SELECT coalesce(jsonb_agg(jsonb_build_object('key', '[]'::jsonb, 'staging', jsonb_build_array("f0".public_id, st."txid", st."recorded_at", st."package_count", CASE WHEN st."package_indexes" IS NULL THEN NULL ELSE coalesce("a0".ids, '{}') END),
                                             'public', jsonb_build_array("p"."dataset_id", "p"."txid", "p"."recorded_at", "p"."package_count", "p"."package_indexes"))), '[]')
FROM (SELECT * FROM "staging"."dataset_metrics" WHERE "id" = ANY (v."lost_ids")) st
LEFT JOIN "pgmerge"."map_dataset" AS "f0" ON "f0".staging_id = st."dataset_id"
    LEFT JOIN (SELECT x."id" AS staging_id, array_agg(rm.public_id ORDER BY u.ord) AS ids FROM (SELECT * FROM "staging"."dataset_metrics" WHERE "id" = ANY (v."lost_ids")) x CROSS JOIN LATERAL unnest(x."package_indexes") WITH ORDINALITY AS u(element, ord) LEFT JOIN "pgmerge"."map_package" rm ON rm.staging_id = u.element GROUP BY 1) AS "a0" ON "a0".staging_id = st."id"
LEFT JOIN "pgmerge"."map_dataset_metrics" m ON m.staging_id = st."id"
LEFT JOIN "pgmerge"."merged_dataset_metrics" p ON p."id" = m.public_id) END AS lost_sample
FROM verdict v;

-- proof datasource
-- Lossless proof for a table with an id map. Each staging row is followed through its map entry to the
-- row it became in the merged view (target ∪ pending): found when the natural keys are equal (foreign-key
-- parts translated through the parents' maps), identical when the whole content is, a conflict the target
-- won when it differs from a row that already existed. Anything else (no map entry, no such row, another
-- key, an inserted row that differs) is lost. History has no key: its content must be equal. Values are
-- compared column by column; only the sample rows (at most 20 per verdict) are built as JSON.
WITH judged AS (
    SELECT st."id" AS staging_id,
           m.public_id IS NOT NULL AND p."id" IS NOT NULL AND NOT ((st."dataset_id" IS NOT NULL AND "f0".staging_id IS NULL)) AND to_jsonb(st."purl") IS NOT DISTINCT FROM to_jsonb(p."purl") AS found,
           to_jsonb(st."purl") IS NOT DISTINCT FROM to_jsonb(p."purl") AND to_jsonb("f0".public_id) IS NOT DISTINCT FROM to_jsonb(p."dataset_id") AND to_jsonb(st."url") IS NOT DISTINCT FROM to_jsonb(p."url") AND to_jsonb(CASE WHEN st."package_indexes" IS NULL THEN NULL ELSE coalesce("a0".ids, '{}') END) IS NOT DISTINCT FROM to_jsonb(p."package_indexes") AS equal,
           coalesce(NOT m.inserted, false) AS matched
    FROM "staging"."datasource" st
    LEFT JOIN "pgmerge"."map_dataset" AS "f0" ON "f0".staging_id = st."dataset_id"
    LEFT JOIN (SELECT x."id" AS staging_id, array_agg(rm.public_id ORDER BY u.ord) AS ids FROM "staging"."datasource" x CROSS JOIN LATERAL unnest(x."package_indexes") WITH ORDINALITY AS u(element, ord) LEFT JOIN "pgmerge"."map_package" rm ON rm.staging_id = u.element GROUP BY 1) AS "a0" ON "a0".staging_id = st."id"
    LEFT JOIN "pgmerge"."map_datasource" m ON m.staging_id = st."id"
    LEFT JOIN "pgmerge"."merged_datasource" p ON p."id" = m.public_id
    OFFSET 0  -- each row judged once: inlined, every FILTER below would compare the row's values again
), verdict AS (
    SELECT count(*) AS staging_rows,
           count(*) FILTER (WHERE found AND equal) AS identical,
           count(*) FILTER (WHERE found AND NOT equal AND matched) AS conflicts,
           count(*) FILTER (WHERE NOT found OR (NOT equal AND NOT matched)) AS lost,
           (array_agg(staging_id) FILTER (WHERE found AND NOT equal AND matched))[1:20] AS conflict_ids,
           (array_agg(staging_id) FILTER (WHERE NOT found OR (NOT equal AND NOT matched)))[1:20] AS lost_ids
    FROM judged
)
SELECT staging_rows, identical, conflicts, lost,
       CASE WHEN conflicts = 0 THEN '[]'::jsonb ELSE (-- Sample rows of one verdict of a mapped table's proof (at most 20 staging ids): the key, the
-- staging row translated through the maps, and the row of the merged view its map entry names, as JSON.
SELECT coalesce(jsonb_agg(jsonb_build_object('key', jsonb_build_array(st."purl"), 'staging', jsonb_build_array(st."purl", "f0".public_id, st."url", CASE WHEN st."package_indexes" IS NULL THEN NULL ELSE coalesce("a0".ids, '{}') END),
                                             'public', jsonb_build_array("p"."purl", "p"."dataset_id", "p"."url", "p"."package_indexes"))), '[]')
FROM (SELECT * FROM "staging"."datasource" WHERE "id" = ANY (v."conflict_ids")) st
LEFT JOIN "pgmerge"."map_dataset" AS "f0" ON "f0".staging_id = st."dataset_id"
    LEFT JOIN (SELECT x."id" AS staging_id, array_agg(rm.public_id ORDER BY u.ord) AS ids FROM (SELECT * FROM "staging"."datasource" WHERE "id" = ANY (v."conflict_ids")) x CROSS JOIN LATERAL unnest(x."package_indexes") WITH ORDINALITY AS u(element, ord) LEFT JOIN "pgmerge"."map_package" rm ON rm.staging_id = u.element GROUP BY 1) AS "a0" ON "a0".staging_id = st."id"
LEFT JOIN "pgmerge"."map_datasource" m ON m.staging_id = st."id"
LEFT JOIN "pgmerge"."merged_datasource" p ON p."id" = m.public_id) END AS conflict_sample,
       CASE WHEN lost = 0 THEN '[]'::jsonb ELSE (-- Sample rows of one verdict of a mapped table's proof (at most 20 staging ids): the key, the
-- staging row translated through the maps, and the row of the merged view its map entry names, as JSON.
SELECT coalesce(jsonb_agg(jsonb_build_object('key', jsonb_build_array(st."purl"), 'staging', jsonb_build_array(st."purl", "f0".public_id, st."url", CASE WHEN st."package_indexes" IS NULL THEN NULL ELSE coalesce("a0".ids, '{}') END),
                                             'public', jsonb_build_array("p"."purl", "p"."dataset_id", "p"."url", "p"."package_indexes"))), '[]')
FROM (SELECT * FROM "staging"."datasource" WHERE "id" = ANY (v."lost_ids")) st
LEFT JOIN "pgmerge"."map_dataset" AS "f0" ON "f0".staging_id = st."dataset_id"
    LEFT JOIN (SELECT x."id" AS staging_id, array_agg(rm.public_id ORDER BY u.ord) AS ids FROM (SELECT * FROM "staging"."datasource" WHERE "id" = ANY (v."lost_ids")) x CROSS JOIN LATERAL unnest(x."package_indexes") WITH ORDINALITY AS u(element, ord) LEFT JOIN "pgmerge"."map_package" rm ON rm.staging_id = u.element GROUP BY 1) AS "a0" ON "a0".staging_id = st."id"
LEFT JOIN "pgmerge"."map_datasource" m ON m.staging_id = st."id"
LEFT JOIN "pgmerge"."merged_datasource" p ON p."id" = m.public_id) END AS lost_sample
FROM verdict v;

-- proof edit
-- Lossless proof for a table with an id map. Each staging row is followed through its map entry to the
-- row it became in the merged view (target ∪ pending): found when the natural keys are equal (foreign-key
-- parts translated through the parents' maps), identical when the whole content is, a conflict the target
-- won when it differs from a row that already existed. Anything else (no map entry, no such row, another
-- key, an inserted row that differs) is lost. History has no key: its content must be equal. Values are
-- compared column by column; only the sample rows (at most 20 per verdict) are built as JSON.
WITH judged AS (
    SELECT st."id" AS staging_id,
           m.public_id IS NOT NULL AND p."id" IS NOT NULL AND NOT ((st."dataset_id" IS NOT NULL AND "f0".staging_id IS NULL)) AND true AS found,
           to_jsonb("f0".public_id) IS NOT DISTINCT FROM to_jsonb(p."dataset_id") AND to_jsonb(st."author") IS NOT DISTINCT FROM to_jsonb(p."author") AND to_jsonb(st."edited_at") IS NOT DISTINCT FROM to_jsonb(p."edited_at") AND to_jsonb(st."change") IS NOT DISTINCT FROM to_jsonb(p."change") AS equal,
           coalesce(false, false) AS matched
    FROM "staging"."edit" st
    LEFT JOIN "pgmerge"."map_dataset" AS "f0" ON "f0".staging_id = st."dataset_id"
    LEFT JOIN "pgmerge"."map_edit" m ON m.staging_id = st."id"
    LEFT JOIN "pgmerge"."merged_edit" p ON p."id" = m.public_id
    OFFSET 0  -- each row judged once: inlined, every FILTER below would compare the row's values again
), verdict AS (
    SELECT count(*) AS staging_rows,
           count(*) FILTER (WHERE found AND equal) AS identical,
           count(*) FILTER (WHERE found AND NOT equal AND matched) AS conflicts,
           count(*) FILTER (WHERE NOT found OR (NOT equal AND NOT matched)) AS lost,
           (array_agg(staging_id) FILTER (WHERE found AND NOT equal AND matched))[1:20] AS conflict_ids,
           (array_agg(staging_id) FILTER (WHERE NOT found OR (NOT equal AND NOT matched)))[1:20] AS lost_ids
    FROM judged
)
SELECT staging_rows, identical, conflicts, lost,
       CASE WHEN conflicts = 0 THEN '[]'::jsonb ELSE (-- Sample rows of one verdict of a mapped table's proof (at most 20 staging ids): the key, the
-- staging row translated through the maps, and the row of the merged view its map entry names, as JSON.
SELECT coalesce(jsonb_agg(jsonb_build_object('key', '[]'::jsonb, 'staging', jsonb_build_array("f0".public_id, st."author", st."edited_at", st."change"),
                                             'public', jsonb_build_array("p"."dataset_id", "p"."author", "p"."edited_at", "p"."change"))), '[]')
FROM (SELECT * FROM "staging"."edit" WHERE "id" = ANY (v."conflict_ids")) st
LEFT JOIN "pgmerge"."map_dataset" AS "f0" ON "f0".staging_id = st."dataset_id"
LEFT JOIN "pgmerge"."map_edit" m ON m.staging_id = st."id"
LEFT JOIN "pgmerge"."merged_edit" p ON p."id" = m.public_id) END AS conflict_sample,
       CASE WHEN lost = 0 THEN '[]'::jsonb ELSE (-- Sample rows of one verdict of a mapped table's proof (at most 20 staging ids): the key, the
-- staging row translated through the maps, and the row of the merged view its map entry names, as JSON.
SELECT coalesce(jsonb_agg(jsonb_build_object('key', '[]'::jsonb, 'staging', jsonb_build_array("f0".public_id, st."author", st."edited_at", st."change"),
                                             'public', jsonb_build_array("p"."dataset_id", "p"."author", "p"."edited_at", "p"."change"))), '[]')
FROM (SELECT * FROM "staging"."edit" WHERE "id" = ANY (v."lost_ids")) st
LEFT JOIN "pgmerge"."map_dataset" AS "f0" ON "f0".staging_id = st."dataset_id"
LEFT JOIN "pgmerge"."map_edit" m ON m.staging_id = st."id"
LEFT JOIN "pgmerge"."merged_edit" p ON p."id" = m.public_id) END AS lost_sample
FROM verdict v;

-- proof finding_finding_reporter
-- Lossless proof for a table whose columns are all its natural key (a join table; no id, so no map): every
-- staging row, foreign keys translated through the parents' maps, must be a row of the merged view (target ∪
-- pending); there is nothing else to differ, so no conflicts. Complete keys are looked up on their own
-- columns (k0, k1, …: a hash or merge anti-join on native values, no grouping of the target); a key holding
-- a NULL cannot match with =, so those few rows are looked up as jsonb among the target's incomplete keys.
WITH s AS MATERIALIZED (
    SELECT "f0".public_id AS "k0", "f1".public_id AS "k1", (st."finding_id" IS NOT NULL AND "f0".staging_id IS NULL) OR (st."finding_reporter_id" IS NOT NULL AND "f1".staging_id IS NULL) AS unmapped
    FROM "staging"."finding_finding_reporter" st
    LEFT JOIN "pgmerge"."map_finding" AS "f0" ON "f0".staging_id = st."finding_id"
    LEFT JOIN "pgmerge"."map_finding_reporter" AS "f1" ON "f1".staging_id = st."finding_reporter_id"
), lost AS MATERIALIZED (
    SELECT * FROM s WHERE unmapped
    UNION ALL
    SELECT * FROM s
    WHERE NOT unmapped AND s."k0" IS NOT NULL AND s."k1" IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM "pgmerge"."merged_finding_finding_reporter" p WHERE p."finding_id" = s."k0" AND p."finding_reporter_id" = s."k1")
    UNION ALL
    SELECT * FROM s
    WHERE NOT unmapped AND NOT (s."k0" IS NOT NULL AND s."k1" IS NOT NULL)
      AND NOT EXISTS (SELECT 1 FROM "pgmerge"."merged_finding_finding_reporter" p WHERE NOT (p."finding_id" IS NOT NULL AND p."finding_reporter_id" IS NOT NULL) AND jsonb_build_array("p"."finding_id", "p"."finding_reporter_id") = jsonb_build_array(s."k0", s."k1"))
)
SELECT (SELECT count(*) FROM s) AS staging_rows,
       (SELECT count(*) FROM s) - (SELECT count(*) FROM lost) AS identical,
       0::bigint AS conflicts,
       (SELECT count(*) FROM lost) AS lost,
       '[]'::jsonb AS conflict_sample,
       coalesce((SELECT jsonb_agg(jsonb_build_object('key', jsonb_build_array(s."k0", s."k1"), 'staging', jsonb_build_array(s."k0", s."k1"), 'public', NULL))
                 FROM (SELECT * FROM lost LIMIT 20) s), '[]') AS lost_sample;

-- proof datasource_event
-- Lossless proof for a table with an id map. Each staging row is followed through its map entry to the
-- row it became in the merged view (target ∪ pending): found when the natural keys are equal (foreign-key
-- parts translated through the parents' maps), identical when the whole content is, a conflict the target
-- won when it differs from a row that already existed. Anything else (no map entry, no such row, another
-- key, an inserted row that differs) is lost. History has no key: its content must be equal. Values are
-- compared column by column; only the sample rows (at most 20 per verdict) are built as JSON.
WITH judged AS (
    SELECT st."id" AS staging_id,
           m.public_id IS NOT NULL AND p."id" IS NOT NULL AND NOT ((st."datasource_id" IS NOT NULL AND "f0".staging_id IS NULL)) AND to_jsonb("f0".public_id) IS NOT DISTINCT FROM to_jsonb(p."datasource_id") AND to_jsonb(st."kind") IS NOT DISTINCT FROM to_jsonb(p."kind") AND to_jsonb(st."occurred_at") IS NOT DISTINCT FROM to_jsonb(p."occurred_at") AS found,
           to_jsonb("f0".public_id) IS NOT DISTINCT FROM to_jsonb(p."datasource_id") AND to_jsonb(st."kind") IS NOT DISTINCT FROM to_jsonb(p."kind") AND to_jsonb(st."occurred_at") IS NOT DISTINCT FROM to_jsonb(p."occurred_at") AND to_jsonb(st."payload") IS NOT DISTINCT FROM to_jsonb(p."payload") AS equal,
           coalesce(NOT m.inserted, false) AS matched
    FROM "staging"."datasource_event" st
    LEFT JOIN "pgmerge"."map_datasource" AS "f0" ON "f0".staging_id = st."datasource_id"
    LEFT JOIN "pgmerge"."map_datasource_event" m ON m.staging_id = st."id"
    LEFT JOIN "pgmerge"."merged_datasource_event" p ON p."id" = m.public_id
    OFFSET 0  -- each row judged once: inlined, every FILTER below would compare the row's values again
), verdict AS (
    SELECT count(*) AS staging_rows,
           count(*) FILTER (WHERE found AND equal) AS identical,
           count(*) FILTER (WHERE found AND NOT equal AND matched) AS conflicts,
           count(*) FILTER (WHERE NOT found OR (NOT equal AND NOT matched)) AS lost,
           (array_agg(staging_id) FILTER (WHERE found AND NOT equal AND matched))[1:20] AS conflict_ids,
           (array_agg(staging_id) FILTER (WHERE NOT found OR (NOT equal AND NOT matched)))[1:20] AS lost_ids
    FROM judged
)
SELECT staging_rows, identical, conflicts, lost,
       CASE WHEN conflicts = 0 THEN '[]'::jsonb ELSE (-- Sample rows of one verdict of a mapped table's proof (at most 20 staging ids): the key, the
-- staging row translated through the maps, and the row of the merged view its map entry names, as JSON.
SELECT coalesce(jsonb_agg(jsonb_build_object('key', jsonb_build_array("f0".public_id, st."kind", st."occurred_at"), 'staging', jsonb_build_array("f0".public_id, st."kind", st."occurred_at", st."payload"),
                                             'public', jsonb_build_array("p"."datasource_id", "p"."kind", "p"."occurred_at", "p"."payload"))), '[]')
FROM (SELECT * FROM "staging"."datasource_event" WHERE "id" = ANY (v."conflict_ids")) st
LEFT JOIN "pgmerge"."map_datasource" AS "f0" ON "f0".staging_id = st."datasource_id"
LEFT JOIN "pgmerge"."map_datasource_event" m ON m.staging_id = st."id"
LEFT JOIN "pgmerge"."merged_datasource_event" p ON p."id" = m.public_id) END AS conflict_sample,
       CASE WHEN lost = 0 THEN '[]'::jsonb ELSE (-- Sample rows of one verdict of a mapped table's proof (at most 20 staging ids): the key, the
-- staging row translated through the maps, and the row of the merged view its map entry names, as JSON.
SELECT coalesce(jsonb_agg(jsonb_build_object('key', jsonb_build_array("f0".public_id, st."kind", st."occurred_at"), 'staging', jsonb_build_array("f0".public_id, st."kind", st."occurred_at", st."payload"),
                                             'public', jsonb_build_array("p"."datasource_id", "p"."kind", "p"."occurred_at", "p"."payload"))), '[]')
FROM (SELECT * FROM "staging"."datasource_event" WHERE "id" = ANY (v."lost_ids")) st
LEFT JOIN "pgmerge"."map_datasource" AS "f0" ON "f0".staging_id = st."datasource_id"
LEFT JOIN "pgmerge"."map_datasource_event" m ON m.staging_id = st."id"
LEFT JOIN "pgmerge"."merged_datasource_event" p ON p."id" = m.public_id) END AS lost_sample
FROM verdict v;

-- proof datasource_metrics
-- Lossless proof for a table with an id map. Each staging row is followed through its map entry to the
-- row it became in the merged view (target ∪ pending): found when the natural keys are equal (foreign-key
-- parts translated through the parents' maps), identical when the whole content is, a conflict the target
-- won when it differs from a row that already existed. Anything else (no map entry, no such row, another
-- key, an inserted row that differs) is lost. History has no key: its content must be equal. Values are
-- compared column by column; only the sample rows (at most 20 per verdict) are built as JSON.
WITH judged AS (
    SELECT st."id" AS staging_id,
           m.public_id IS NOT NULL AND p."id" IS NOT NULL AND NOT ((st."datasource_id" IS NOT NULL AND "f0".staging_id IS NULL)) AND true AS found,
           to_jsonb("f0".public_id) IS NOT DISTINCT FROM to_jsonb(p."datasource_id") AND to_jsonb(st."recorded_at") IS NOT DISTINCT FROM to_jsonb(p."recorded_at") AND to_jsonb(st."event_count") IS NOT DISTINCT FROM to_jsonb(p."event_count") AS equal,
           coalesce(false, false) AS matched
    FROM "staging"."datasource_metrics" st
    LEFT JOIN "pgmerge"."map_datasource" AS "f0" ON "f0".staging_id = st."datasource_id"
    LEFT JOIN "pgmerge"."map_datasource_metrics" m ON m.staging_id = st."id"
    LEFT JOIN "pgmerge"."merged_datasource_metrics" p ON p."id" = m.public_id
    OFFSET 0  -- each row judged once: inlined, every FILTER below would compare the row's values again
), verdict AS (
    SELECT count(*) AS staging_rows,
           count(*) FILTER (WHERE found AND equal) AS identical,
           count(*) FILTER (WHERE found AND NOT equal AND matched) AS conflicts,
           count(*) FILTER (WHERE NOT found OR (NOT equal AND NOT matched)) AS lost,
           (array_agg(staging_id) FILTER (WHERE found AND NOT equal AND matched))[1:20] AS conflict_ids,
           (array_agg(staging_id) FILTER (WHERE NOT found OR (NOT equal AND NOT matched)))[1:20] AS lost_ids
    FROM judged
)
SELECT staging_rows, identical, conflicts, lost,
       CASE WHEN conflicts = 0 THEN '[]'::jsonb ELSE (-- Sample rows of one verdict of a mapped table's proof (at most 20 staging ids): the key, the
-- staging row translated through the maps, and the row of the merged view its map entry names, as JSON.
SELECT coalesce(jsonb_agg(jsonb_build_object('key', '[]'::jsonb, 'staging', jsonb_build_array("f0".public_id, st."recorded_at", st."event_count"),
                                             'public', jsonb_build_array("p"."datasource_id", "p"."recorded_at", "p"."event_count"))), '[]')
FROM (SELECT * FROM "staging"."datasource_metrics" WHERE "id" = ANY (v."conflict_ids")) st
LEFT JOIN "pgmerge"."map_datasource" AS "f0" ON "f0".staging_id = st."datasource_id"
LEFT JOIN "pgmerge"."map_datasource_metrics" m ON m.staging_id = st."id"
LEFT JOIN "pgmerge"."merged_datasource_metrics" p ON p."id" = m.public_id) END AS conflict_sample,
       CASE WHEN lost = 0 THEN '[]'::jsonb ELSE (-- Sample rows of one verdict of a mapped table's proof (at most 20 staging ids): the key, the
-- staging row translated through the maps, and the row of the merged view its map entry names, as JSON.
SELECT coalesce(jsonb_agg(jsonb_build_object('key', '[]'::jsonb, 'staging', jsonb_build_array("f0".public_id, st."recorded_at", st."event_count"),
                                             'public', jsonb_build_array("p"."datasource_id", "p"."recorded_at", "p"."event_count"))), '[]')
FROM (SELECT * FROM "staging"."datasource_metrics" WHERE "id" = ANY (v."lost_ids")) st
LEFT JOIN "pgmerge"."map_datasource" AS "f0" ON "f0".staging_id = st."datasource_id"
LEFT JOIN "pgmerge"."map_datasource_metrics" m ON m.staging_id = st."id"
LEFT JOIN "pgmerge"."merged_datasource_metrics" p ON p."id" = m.public_id) END AS lost_sample
FROM verdict v;

-- proof datasource_event_finding
-- Lossless proof for a table whose columns are all its natural key (a join table; no id, so no map): every
-- staging row, foreign keys translated through the parents' maps, must be a row of the merged view (target ∪
-- pending); there is nothing else to differ, so no conflicts. Complete keys are looked up on their own
-- columns (k0, k1, …: a hash or merge anti-join on native values, no grouping of the target); a key holding
-- a NULL cannot match with =, so those few rows are looked up as jsonb among the target's incomplete keys.
WITH s AS MATERIALIZED (
    SELECT "f0".public_id AS "k0", "f1".public_id AS "k1", (st."datasource_event_id" IS NOT NULL AND "f0".staging_id IS NULL) OR (st."finding_id" IS NOT NULL AND "f1".staging_id IS NULL) AS unmapped
    FROM "staging"."datasource_event_finding" st
    LEFT JOIN "pgmerge"."map_datasource_event" AS "f0" ON "f0".staging_id = st."datasource_event_id"
    LEFT JOIN "pgmerge"."map_finding" AS "f1" ON "f1".staging_id = st."finding_id"
), lost AS MATERIALIZED (
    SELECT * FROM s WHERE unmapped
    UNION ALL
    SELECT * FROM s
    WHERE NOT unmapped AND s."k0" IS NOT NULL AND s."k1" IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM "pgmerge"."merged_datasource_event_finding" p WHERE p."datasource_event_id" = s."k0" AND p."finding_id" = s."k1")
    UNION ALL
    SELECT * FROM s
    WHERE NOT unmapped AND NOT (s."k0" IS NOT NULL AND s."k1" IS NOT NULL)
      AND NOT EXISTS (SELECT 1 FROM "pgmerge"."merged_datasource_event_finding" p WHERE NOT (p."datasource_event_id" IS NOT NULL AND p."finding_id" IS NOT NULL) AND jsonb_build_array("p"."datasource_event_id", "p"."finding_id") = jsonb_build_array(s."k0", s."k1"))
)
SELECT (SELECT count(*) FROM s) AS staging_rows,
       (SELECT count(*) FROM s) - (SELECT count(*) FROM lost) AS identical,
       0::bigint AS conflicts,
       (SELECT count(*) FROM lost) AS lost,
       '[]'::jsonb AS conflict_sample,
       coalesce((SELECT jsonb_agg(jsonb_build_object('key', jsonb_build_array(s."k0", s."k1"), 'staging', jsonb_build_array(s."k0", s."k1"), 'public', NULL))
                 FROM (SELECT * FROM lost LIMIT 20) s), '[]') AS lost_sample;

-- proof datasource_event_package
-- Lossless proof for a table whose columns are all its natural key (a join table; no id, so no map): every
-- staging row, foreign keys translated through the parents' maps, must be a row of the merged view (target ∪
-- pending); there is nothing else to differ, so no conflicts. Complete keys are looked up on their own
-- columns (k0, k1, …: a hash or merge anti-join on native values, no grouping of the target); a key holding
-- a NULL cannot match with =, so those few rows are looked up as jsonb among the target's incomplete keys.
WITH s AS MATERIALIZED (
    SELECT "f0".public_id AS "k0", "f1".public_id AS "k1", (st."datasource_event_id" IS NOT NULL AND "f0".staging_id IS NULL) OR (st."package_id" IS NOT NULL AND "f1".staging_id IS NULL) AS unmapped
    FROM "staging"."datasource_event_package" st
    LEFT JOIN "pgmerge"."map_datasource_event" AS "f0" ON "f0".staging_id = st."datasource_event_id"
    LEFT JOIN "pgmerge"."map_package" AS "f1" ON "f1".staging_id = st."package_id"
), lost AS MATERIALIZED (
    SELECT * FROM s WHERE unmapped
    UNION ALL
    SELECT * FROM s
    WHERE NOT unmapped AND s."k0" IS NOT NULL AND s."k1" IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM "pgmerge"."merged_datasource_event_package" p WHERE p."datasource_event_id" = s."k0" AND p."package_id" = s."k1")
    UNION ALL
    SELECT * FROM s
    WHERE NOT unmapped AND NOT (s."k0" IS NOT NULL AND s."k1" IS NOT NULL)
      AND NOT EXISTS (SELECT 1 FROM "pgmerge"."merged_datasource_event_package" p WHERE NOT (p."datasource_event_id" IS NOT NULL AND p."package_id" IS NOT NULL) AND jsonb_build_array("p"."datasource_event_id", "p"."package_id") = jsonb_build_array(s."k0", s."k1"))
)
SELECT (SELECT count(*) FROM s) AS staging_rows,
       (SELECT count(*) FROM s) - (SELECT count(*) FROM lost) AS identical,
       0::bigint AS conflicts,
       (SELECT count(*) FROM lost) AS lost,
       '[]'::jsonb AS conflict_sample,
       coalesce((SELECT jsonb_agg(jsonb_build_object('key', jsonb_build_array(s."k0", s."k1"), 'staging', jsonb_build_array(s."k0", s."k1"), 'public', NULL))
                 FROM (SELECT * FROM lost LIMIT 20) s), '[]') AS lost_sample;
