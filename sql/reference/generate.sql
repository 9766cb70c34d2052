-- Deterministic demo data for the reference schema (sql/reference/schema.sql).
--
-- Run by pgmerge_assets/demo/generate.py one section at a time; a line "-- @@ name" starts a
-- section. Every section is plain SQL without placeholders: the caller fills origin.params.
--
--   session    settings for every connection that runs the sections below
--   setup      a fresh schema `origin` holding the one-row table origin.params
--   origin     the logical universe: every natural-key record with its membership (db1 only, db2
--              only, or both), its db1 values and its db2 values (they differ for conflicts), and
--              each environment's own history rows (the history written after the divergence)
--   derive     fill `public` (reference schema, created by the caller) with one target's content:
--              'db1', 'db2', or 'merged' (what merging db2 into db1 must give: db1's records with
--              db1's values, db2-only records with db2's values, and the history of both)
--   checks     invariants of the derived content: every row must report 0
--   conflicts  per table, the records present in both databases whose db2 values differ
--
-- The caller computes the origin once, copies that database (CREATE DATABASE ... TEMPLATE) once
-- per target, sets origin.params.target in each copy and derives. Randomness is hash based
-- (origin.h), never random(): the same parameters give the same rows on any server.

-- @@ session
SET TimeZone = 'UTC';
SET jit = off;  -- compiling these one-shot queries costs more than running them

-- @@ setup
DROP SCHEMA IF EXISTS origin CASCADE;
CREATE SCHEMA origin;
CREATE TABLE origin.params (
    seed          bigint  NOT NULL,
    scale         integer NOT NULL CHECK (scale >= 1),
    overlap       numeric NOT NULL CHECK (overlap BETWEEN 0 AND 1),
    conflict_rate numeric NOT NULL CHECK (conflict_rate BETWEEN 0 AND 1),
    target        text    NOT NULL CHECK (target IN ('db1', 'db2', 'merged'))
);

-- @@ origin

-- uniform in [0, 1), a pure function of (seed, tag, i). Only immutable operators inside (seed::text,
-- not seed || ...): that lets the planner inline it, which makes generation several times faster.
CREATE FUNCTION origin.h(seed bigint, tag text, i text) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT ('x' || substr(md5(seed::text || ':' || tag || ':' || i), 1, 8))::bit(32)::bigint / 4294967296.0::float8 $$;

-- 1 .. n from u in [0, 1)
CREATE FUNCTION origin.pick(u double precision, n bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT 1 + floor(u * n)::bigint $$;

-- which databases a child may live in, given where its parents are
CREATE FUNCTION origin.elig(in1 boolean, in2 boolean) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE WHEN in1 AND in2 THEN 'both' WHEN in1 THEN '1' WHEN in2 THEN '2' END $$;

-- text that exercises quoting and COPY escaping
CREATE FUNCTION origin.tricky(k bigint) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT E'Tricky #' || k::text || E': O''Reilly "quoted" back\\slash\ttab\nsecond line, ünïcødé ✓' $$;

-- Membership. A record eligible for one database only goes there. Of the records eligible for both,
-- the first round(overlap * n) in hash order go to both, the others alternate db1-only / db2-only.
-- Then, of the records in both, the first round(conflict_rate * n) in hash order are conflicts
-- (db2 carries the alt_* values).
CREATE FUNCTION origin.assign(tbl text, with_conflicts boolean) RETURNS void
    LANGUAGE plpgsql AS $fn$
BEGIN
    EXECUTE format($q$
        WITH r AS (
            SELECT t.k, t.elig,
                   row_number() OVER (PARTITION BY t.elig ORDER BY origin.h(p.seed, 'member:' || $1, t.k::text), t.k) AS rn,
                   round(count(*) OVER (PARTITION BY t.elig) * p.overlap) AS nb
            FROM origin.%1$I AS t CROSS JOIN origin.params AS p
        ), m AS (
            SELECT k,
                   CASE elig WHEN '1' THEN true WHEN '2' THEN false ELSE rn <= nb OR (rn - nb) %% 2 = 1 END AS in1,
                   CASE elig WHEN '1' THEN false WHEN '2' THEN true ELSE rn <= nb OR (rn - nb) %% 2 = 0 END AS in2
            FROM r
        ), c AS (
            SELECT m.k, m.in1, m.in2,
                   $2 AND m.in1 AND m.in2
                   AND row_number() OVER (PARTITION BY m.in1 AND m.in2 ORDER BY origin.h(p.seed, 'conflict:' || $1, m.k::text), m.k)
                       <= round(count(*) OVER (PARTITION BY m.in1 AND m.in2) * p.conflict_rate) AS conflict
            FROM m CROSS JOIN origin.params AS p
        )
        UPDATE origin.%1$I AS t SET in1 = c.in1, in2 = c.in2, conflict = c.conflict FROM c WHERE c.k = t.k
    $q$, tbl) USING tbl, with_conflicts;
    EXECUTE format('ANALYZE origin.%I', tbl);
END
$fn$;

-- Rows per unit of scale of the logical universe (the databases hold subsets of it).
CREATE TABLE origin.n AS
SELECT 8 * p.scale   AS dataset,
       230 * p.scale AS package,
       62 * p.scale  AS datasource,
       115 * p.scale AS finding,
       16 * p.scale  AS finding_reporter,
       8             AS max_events_per_datasource,     -- 0 .. 7, mean 3.5
       5             AS max_packages_per_event,        -- 0 .. 4 picks
       4             AS max_findings_per_event,        -- 0 .. 3 picks
       4             AS max_reporters_per_finding,     -- 0 .. 3 picks
       90 * p.scale  AS dataset_metrics,
       180 * p.scale AS datasource_metrics,
       70 * p.scale  AS edit
FROM origin.params AS p;
-- fresh tables have no statistics, and plans made blind go quadratic: analyze as we go
ANALYZE origin.params, origin.n;

-- ---------------------------------------------------------------- roots

CREATE TABLE origin.dataset AS
SELECT s.*,
       CASE WHEN s.description IS NULL THEN 'Documented in env 2: shard ' || s.k
            WHEN origin.h(p.seed, 'dataset.alt', s.k::text) < 0.25 THEN NULL
            ELSE s.description || ' (edited in env 2)' END AS alt_description,
       'both'::text AS elig, false AS in1, false AS in2, false AS conflict
FROM (
    SELECT k, eco || '-mirror-' || k AS name,
           CASE WHEN u < 0.15 THEN NULL
                WHEN u < 0.20 THEN origin.tricky(k)
                ELSE 'Mirror of ' || eco || ' packages, shard ' || k END AS description,
           created_at
    FROM (
        SELECT k,
               (ARRAY['npm', 'pypi', 'maven', 'cargo', 'rubygems', 'nuget', 'golang', 'debian'])
                   [origin.pick(origin.h(p.seed, 'dataset.eco', k::text), 8)] AS eco,
               origin.h(p.seed, 'dataset.desc', k::text) AS u,
               timestamptz '2020-01-01 00:00:00+00'
                   + origin.h(p.seed, 'dataset.created', k::text) * interval '1500 days' AS created_at
        FROM origin.params AS p CROSS JOIN origin.n CROSS JOIN generate_series(1, n.dataset) AS k
    ) AS x
) AS s CROSS JOIN origin.params AS p;
SELECT origin.assign('dataset', true);

CREATE TABLE origin.package AS
SELECT s.k, s.purl, s.version, s.license,
       -- a conflicting package always has another version, half of them another license too
       CASE WHEN s.version IS NULL THEN '0.0.1-env2'
            ELSE s.major || '.' || s.minor || '.' || (s.patch + 1) END AS alt_version,
       CASE WHEN origin.h(p.seed, 'package.altlic', s.k::text) < 0.5
            THEN (ARRAY['MIT', 'Apache-2.0', 'BSD-3-Clause', 'GPL-3.0-only', 'ISC', NULL])
                     [(s.li - 1 + 1 + floor(origin.h(p.seed, 'package.altlic2', s.k::text) * 4)::int) % 6 + 1]
            ELSE s.license END AS alt_license,
       'both'::text AS elig, false AS in1, false AS in2, false AS conflict
FROM (
    SELECT x.*,
           'pkg:' || x.eco || '/' || x.word || '-' || x.k AS purl,
           CASE WHEN x.hv < 0.05 THEN NULL ELSE x.major || '.' || x.minor || '.' || x.patch END AS version,
           (ARRAY['MIT', 'Apache-2.0', 'BSD-3-Clause', 'GPL-3.0-only', 'ISC', NULL])[x.li] AS license
    FROM (
        SELECT k,
               (ARRAY['npm', 'pypi', 'maven', 'cargo', 'gem', 'nuget', 'golang'])
                   [origin.pick(origin.h(p.seed, 'package.eco', k::text), 7)] AS eco,
               (ARRAY['left', 'pad', 'core', 'util', 'http', 'json', 'yaml', 'crypto', 'log', 'test'])
                   [origin.pick(origin.h(p.seed, 'package.word', k::text), 10)] AS word,
               origin.h(p.seed, 'package.hasversion', k::text) AS hv,
               floor(origin.h(p.seed, 'package.major', k::text) * 5)::int AS major,
               floor(origin.h(p.seed, 'package.minor', k::text) * 20)::int AS minor,
               floor(origin.h(p.seed, 'package.patch', k::text) * 30)::int AS patch,
               origin.pick(origin.h(p.seed, 'package.license', k::text), 6)::int AS li
        FROM origin.params AS p CROSS JOIN origin.n CROSS JOIN generate_series(1, n.package) AS k
    ) AS x
) AS s CROSS JOIN origin.params AS p;
SELECT origin.assign('package', true);

CREATE TABLE origin.finding AS
SELECT s.k, s.identifier,
       (ARRAY['low', 'medium', 'high', 'critical', NULL])[s.si] AS severity,
       s.summary,
       -- a conflicting finding always has another severity, half of them another summary too
       (ARRAY['low', 'medium', 'high', 'critical', NULL])
           [(s.si - 1 + 1 + floor(origin.h(p.seed, 'finding.altsev', s.k::text) * 4)::int) % 5 + 1] AS alt_severity,
       CASE WHEN origin.h(p.seed, 'finding.altsum', s.k::text) < 0.5
            THEN coalesce(s.summary, 'Untitled') || ' [triaged in env 2]'
            ELSE s.summary END AS alt_summary,
       'both'::text AS elig, false AS in1, false AS in2, false AS conflict
FROM (
    SELECT k,
           'CVE-' || (2015 + floor(origin.h(p.seed, 'finding.year', k::text) * 10)::int) || '-' || (10000 + k) AS identifier,
           origin.pick(origin.h(p.seed, 'finding.severity', k::text), 5)::int AS si,
           CASE WHEN origin.h(p.seed, 'finding.summary', k::text) < 0.10 THEN NULL
                WHEN origin.h(p.seed, 'finding.summary', k::text) < 0.15 THEN origin.tricky(k)
                ELSE (ARRAY['Buffer overflow', 'Path traversal', 'Prototype pollution', 'ReDoS', 'SQL injection', 'XSS'])
                         [origin.pick(origin.h(p.seed, 'finding.kind', k::text), 6)]
                     || ' in component ' || (k % 97) END AS summary
    FROM origin.params AS p CROSS JOIN origin.n CROSS JOIN generate_series(1, n.finding) AS k
) AS s CROSS JOIN origin.params AS p;
SELECT origin.assign('finding', true);

CREATE TABLE origin.finding_reporter AS
SELECT s.*,
       -- a conflicting reporter always has another email
       'security+' || s.k || '@env2.example.com' AS alt_email,
       'both'::text AS elig, false AS in1, false AS in2, false AS conflict
FROM (
    SELECT k, name,
           CASE WHEN origin.h(p.seed, 'reporter.email', k::text) < 0.2 THEN NULL
                ELSE name || '@' || (ARRAY['example.com', 'example.org', 'corp.example'])
                                        [origin.pick(origin.h(p.seed, 'reporter.domain', k::text), 3)] END AS email
    FROM (
        SELECT p.seed, k,
               'reporter-' || k || '-' || (ARRAY['osv', 'ghsa', 'nvd', 'snyk', 'internal'])
                                              [origin.pick(origin.h(p.seed, 'reporter.word', k::text), 5)] AS name
        FROM origin.params AS p CROSS JOIN origin.n CROSS JOIN generate_series(1, n.finding_reporter) AS k
    ) AS x CROSS JOIN origin.params AS p
) AS s;
SELECT origin.assign('finding_reporter', true);

-- ---------------------------------------------------------------- children

CREATE TABLE origin.datasource AS
SELECT s.*,
       -- a conflicting datasource always has another url; every other one another package_indexes
       'https://mirror.example.net/source-' || s.k || '.git' AS alt_url,
       false AS arrconflict,
       origin.elig(d.in1, d.in2) AS elig, false AS in1, false AS in2, false AS conflict
FROM (
    SELECT k,
           'pkg:github/org-' || (k % 37) || '/source-' || k AS purl,
           origin.pick(origin.h(p.seed, 'datasource.dataset', k::text), n.dataset) AS dataset_k,
           CASE WHEN origin.h(p.seed, 'datasource.url', k::text) < 0.1 THEN NULL
                ELSE 'https://git.example.org/org-' || (k % 37) || '/source-' || k END AS url
    FROM origin.params AS p CROSS JOIN origin.n CROSS JOIN generate_series(1, n.datasource) AS k
) AS s
CROSS JOIN origin.params AS p
JOIN origin.dataset AS d ON d.k = s.dataset_k;
SELECT origin.assign('datasource', true);
WITH c AS (
    SELECT d.k, row_number() OVER (ORDER BY origin.h(p.seed, 'datasource.arrconflict', d.k::text), d.k) AS rn
    FROM origin.datasource AS d CROSS JOIN origin.params AS p
    WHERE d.in1 AND d.in2 AND d.conflict
)
UPDATE origin.datasource AS d SET arrconflict = true FROM c WHERE c.k = d.k AND c.rn % 2 = 1;

-- (datasource_id, kind, occurred_at) is unique: occurred_at grows by at least 4 hours with j
CREATE TABLE origin.datasource_event AS
SELECT s.*,
       CASE WHEN s.payload IS NULL THEN jsonb_build_object('status', 'retried')
            ELSE s.payload || jsonb_build_object('rescanned', true) END AS alt_payload,
       origin.elig(ds.in1, ds.in2) AS elig, false AS in1, false AS in2, false AS conflict
FROM (
    SELECT row_number() OVER (ORDER BY ds.k, j) AS k, ds.k AS datasource_k, j,
           (ARRAY['scan', 'ingest', 'publish', 'yank'])[origin.pick(origin.h(p.seed, 'event.kind', ds.k || ':' || j), 4)] AS kind,
           timestamptz '2023-01-01 00:00:00+00' + (j - 1) * interval '1 day'
               + origin.h(p.seed, 'event.at', ds.k || ':' || j) * interval '20 hours' AS occurred_at,
           CASE WHEN origin.h(p.seed, 'event.payload', ds.k || ':' || j) < 0.1 THEN NULL
                ELSE jsonb_build_object(
                    'status', (ARRAY['ok', 'failed', 'partial'])[origin.pick(origin.h(p.seed, 'event.status', ds.k || ':' || j), 3)],
                    'items', floor(origin.h(p.seed, 'event.items', ds.k || ':' || j) * 500)::int,
                    'tool', 'scanner/' || (1 + floor(origin.h(p.seed, 'event.tool', ds.k || ':' || j) * 3)::int)) END AS payload
    FROM origin.datasource AS ds
    CROSS JOIN origin.params AS p CROSS JOIN origin.n
    CROSS JOIN LATERAL generate_series(1, floor(origin.h(p.seed, 'event.count', ds.k::text) * n.max_events_per_datasource)::int) AS j
) AS s
JOIN origin.datasource AS ds ON ds.k = s.datasource_k;
SELECT origin.assign('datasource_event', true);

-- join rows: picked per left side; they live only where both sides live, then get their own membership
CREATE TABLE origin.datasource_event_package AS
SELECT row_number() OVER (ORDER BY x.event_k, x.package_k) AS k, x.event_k, x.package_k,
       origin.elig(e.in1 AND pk.in1, e.in2 AND pk.in2) AS elig, false AS in1, false AS in2, false AS conflict
FROM (
    SELECT DISTINCT e.k AS event_k,
           origin.pick(origin.h(p.seed, 'dep.package', e.k || ':' || i), n.package) AS package_k
    FROM origin.datasource_event AS e CROSS JOIN origin.params AS p CROSS JOIN origin.n
    CROSS JOIN LATERAL generate_series(1, floor(origin.h(p.seed, 'dep.count', e.k::text) * n.max_packages_per_event)::int) AS g(i)
) AS x
JOIN origin.datasource_event AS e ON e.k = x.event_k
JOIN origin.package AS pk ON pk.k = x.package_k
WHERE (e.in1 AND pk.in1) OR (e.in2 AND pk.in2);
SELECT origin.assign('datasource_event_package', false);

CREATE TABLE origin.datasource_event_finding AS
SELECT row_number() OVER (ORDER BY x.event_k, x.finding_k) AS k, x.event_k, x.finding_k,
       origin.elig(e.in1 AND f.in1, e.in2 AND f.in2) AS elig, false AS in1, false AS in2, false AS conflict
FROM (
    SELECT DISTINCT e.k AS event_k,
           origin.pick(origin.h(p.seed, 'def.finding', e.k || ':' || i), n.finding) AS finding_k
    FROM origin.datasource_event AS e CROSS JOIN origin.params AS p CROSS JOIN origin.n
    CROSS JOIN LATERAL generate_series(1, floor(origin.h(p.seed, 'def.count', e.k::text) * n.max_findings_per_event)::int) AS g(i)
) AS x
JOIN origin.datasource_event AS e ON e.k = x.event_k
JOIN origin.finding AS f ON f.k = x.finding_k
WHERE (e.in1 AND f.in1) OR (e.in2 AND f.in2);
SELECT origin.assign('datasource_event_finding', false);

CREATE TABLE origin.finding_finding_reporter AS
SELECT row_number() OVER (ORDER BY x.finding_k, x.reporter_k) AS k, x.finding_k, x.reporter_k,
       origin.elig(f.in1 AND r.in1, f.in2 AND r.in2) AS elig, false AS in1, false AS in2, false AS conflict
FROM (
    SELECT DISTINCT f.k AS finding_k,
           origin.pick(origin.h(p.seed, 'ffr.reporter', f.k || ':' || i), n.finding_reporter) AS reporter_k
    FROM origin.finding AS f CROSS JOIN origin.params AS p CROSS JOIN origin.n
    CROSS JOIN LATERAL generate_series(1, floor(origin.h(p.seed, 'ffr.count', f.k::text) * n.max_reporters_per_finding)::int) AS g(i)
) AS x
JOIN origin.finding AS f ON f.k = x.finding_k
JOIN origin.finding_reporter AS r ON r.k = x.reporter_k
WHERE (f.in1 AND r.in1) OR (f.in2 AND r.in2);
SELECT origin.assign('finding_finding_reporter', false);

-- ---------------------------------------------------------------- pools
-- pool(tbl, db, r, k): the records of tbl present in db ('1', '2' or 'both'), numbered 1 .. n

CREATE TABLE origin.pool AS
SELECT 'package'::text AS tbl, 'both'::text AS db, row_number() OVER (ORDER BY k) AS r, k FROM origin.package WHERE in1 AND in2
UNION ALL SELECT 'package', '1', row_number() OVER (ORDER BY k), k FROM origin.package WHERE in1
UNION ALL SELECT 'package', '2', row_number() OVER (ORDER BY k), k FROM origin.package WHERE in2
UNION ALL SELECT 'dataset', '1', row_number() OVER (ORDER BY k), k FROM origin.dataset WHERE in1
UNION ALL SELECT 'dataset', '2', row_number() OVER (ORDER BY k), k FROM origin.dataset WHERE in2
UNION ALL SELECT 'datasource', '1', row_number() OVER (ORDER BY k), k FROM origin.datasource WHERE in1
UNION ALL SELECT 'datasource', '2', row_number() OVER (ORDER BY k), k FROM origin.datasource WHERE in2;
CREATE INDEX ON origin.pool (tbl, db, r);
CREATE TABLE origin.pool_size AS SELECT tbl, db, count(*) AS n FROM origin.pool GROUP BY tbl, db;
ANALYZE origin.pool, origin.pool_size;

-- ---------------------------------------------------------------- history
-- Each history row is owned by exactly one database ('1' or '2'): each environment's own history
-- written after the two diverged. It only references parents present in its owner.

CREATE TABLE origin.dataset_metrics AS
SELECT s.k, s.owner, pl.k AS dataset_k,
       -- one snapshot transaction writes 4 consecutive rows: db1 and db2 share txid values
       700000 + (s.k / 4) * 5 AS txid,
       timestamptz '2024-01-01 00:00:00+00' + s.k * interval '47 minutes' AS recorded_at
FROM (
    SELECT p.seed, k, CASE WHEN origin.h(p.seed, 'dm.owner', k::text) < 0.5 THEN '1' ELSE '2' END AS owner
    FROM origin.params AS p CROSS JOIN origin.n CROSS JOIN generate_series(1, n.dataset_metrics) AS k
) AS s
JOIN origin.pool_size AS ps ON ps.tbl = 'dataset' AND ps.db = s.owner
JOIN origin.pool AS pl ON pl.tbl = 'dataset' AND pl.db = s.owner
                      AND pl.r = origin.pick(origin.h(s.seed, 'dm.dataset', s.k::text), ps.n);

CREATE TABLE origin.datasource_metrics AS
SELECT s.k, s.owner, pl.k AS datasource_k,
       timestamptz '2024-02-01 00:00:00+00' + s.k * interval '13 minutes' AS recorded_at,
       floor(origin.h(s.seed, 'dsm.events', s.k::text) * 50)::int AS event_count
FROM (
    SELECT p.seed, k, CASE WHEN origin.h(p.seed, 'dsm.owner', k::text) < 0.5 THEN '1' ELSE '2' END AS owner
    FROM origin.params AS p CROSS JOIN origin.n CROSS JOIN generate_series(1, n.datasource_metrics) AS k
) AS s
JOIN origin.pool_size AS ps ON ps.tbl = 'datasource' AND ps.db = s.owner
JOIN origin.pool AS pl ON pl.tbl = 'datasource' AND pl.db = s.owner
                      AND pl.r = origin.pick(origin.h(s.seed, 'dsm.datasource', s.k::text), ps.n);

CREATE TABLE origin.edit AS
SELECT s.k, s.owner, pl.k AS dataset_k,
       (ARRAY['alice', 'bob', 'carol', 'dave', 'ci-bot'])[origin.pick(origin.h(s.seed, 'edit.author', s.k::text), 5)] AS author,
       timestamptz '2024-03-01 00:00:00+00' + s.k * interval '29 minutes' AS edited_at,
       CASE WHEN origin.h(s.seed, 'edit.change', s.k::text) < 0.1 THEN NULL
            ELSE jsonb_build_object(
                'field', (ARRAY['description', 'name', 'created_at'])[origin.pick(origin.h(s.seed, 'edit.field', s.k::text), 3)],
                'from', 'v' || s.k,
                'to', 'v' || (s.k + 1)) END AS change
FROM (
    SELECT p.seed, k, CASE WHEN origin.h(p.seed, 'edit.owner', k::text) < 0.5 THEN '1' ELSE '2' END AS owner,
           origin.h(p.seed, 'edit.nodataset', k::text) < 0.2 AS no_dataset
    FROM origin.params AS p CROSS JOIN origin.n CROSS JOIN generate_series(1, n.edit) AS k
) AS s
JOIN origin.pool_size AS ps ON ps.tbl = 'dataset' AND ps.db = s.owner
LEFT JOIN origin.pool AS pl ON NOT s.no_dataset AND pl.tbl = 'dataset' AND pl.db = s.owner
                           AND pl.r = origin.pick(origin.h(s.seed, 'edit.dataset', s.k::text), ps.n);
ANALYZE origin.dataset_metrics, origin.datasource_metrics, origin.edit;

-- ---------------------------------------------------------------- package_indexes arrays
-- Elements are origin package keys; the derive step translates them to each database's ids.
-- Shapes: 10% NULL arrays, 10% empty, 10% with one NULL element, the rest 1 .. maxlen elements.
-- datasource variant '1' is db1's array (and db2's when db2 does not differ), variant '2' is
-- db2's own array: datasources only in db2, and array conflicts (one element longer than db1's
-- array, so they always differ). Arrays shared by both databases only mention packages in both;
-- the others only packages of their database.

CREATE FUNCTION origin.own_a2(in1 boolean, in2 boolean, conflict boolean, arrconflict boolean) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT in2 AND NOT (in1 AND NOT (conflict AND arrconflict)) $$;

CREATE TABLE origin.arrspec AS
WITH wanted AS (
    SELECT 'datasource'::text AS tbl, k, '1'::text AS variant,
           CASE WHEN in2 AND NOT (conflict AND arrconflict) THEN 'both' ELSE '1' END AS pooldb, 6 AS maxlen
    FROM origin.datasource WHERE in1
    UNION ALL
    SELECT 'datasource', k, '2', '2', 6
    FROM origin.datasource WHERE origin.own_a2(in1, in2, conflict, arrconflict) AND NOT in1
    UNION ALL
    SELECT 'dataset_metrics', k, owner, owner, 8 FROM origin.dataset_metrics
), shaped AS (
    SELECT w.*, p.seed, w.tbl || ':' || w.k || ':' || w.variant AS key,
           origin.h(p.seed, 'arr.shape', w.tbl || ':' || w.k || ':' || w.variant) AS u,
           coalesce(ps.n, 0) AS pool_n
    FROM wanted AS w CROSS JOIN origin.params AS p
    LEFT JOIN origin.pool_size AS ps ON ps.tbl = 'package' AND ps.db = w.pooldb
)
SELECT tbl, k, variant, pooldb, pool_n, seed, key,
       CASE WHEN u < 0.1 THEN 'null' WHEN u < 0.2 THEN 'empty' WHEN u < 0.3 THEN 'nullelem' ELSE 'normal' END AS shape,
       CASE WHEN u < 0.2 OR pool_n = 0 THEN 0
            WHEN u < 0.3 THEN 2 + floor(origin.h(seed, 'arr.len', key) * 4)::int
            ELSE 1 + floor(origin.h(seed, 'arr.len', key) * maxlen)::int END AS len
FROM shaped;
INSERT INTO origin.arrspec (tbl, k, variant, pooldb, pool_n, seed, key, shape, len)
SELECT s.tbl, s.k, '2', '2', coalesce(ps.n, 0), s.seed, s.tbl || ':' || s.k || ':2', 'normal',
       CASE WHEN coalesce(ps.n, 0) = 0 THEN 0 ELSE s.len + 1 END
FROM origin.arrspec AS s
JOIN origin.datasource AS d ON d.k = s.k
LEFT JOIN origin.pool_size AS ps ON ps.tbl = 'package' AND ps.db = '2'
WHERE s.tbl = 'datasource' AND s.variant = '1' AND d.in2 AND origin.own_a2(d.in1, d.in2, d.conflict, d.arrconflict);
ANALYZE origin.arrspec;

CREATE TABLE origin.arr AS
WITH e AS (
    SELECT s.tbl, s.k, s.variant, j,
           CASE WHEN s.shape = 'nullelem' AND j = origin.pick(origin.h(s.seed, 'arr.nullpos', s.key), s.len) THEN NULL
                ELSE pl.k END AS pk
    FROM origin.arrspec AS s
    CROSS JOIN LATERAL generate_series(1, s.len) AS j
    LEFT JOIN origin.pool AS pl
           ON pl.tbl = 'package' AND pl.db = s.pooldb
          AND pl.r = origin.pick(origin.h(s.seed, 'arr.elem', s.key || ':' || j), s.pool_n)
)
SELECT s.tbl, s.k, s.variant,
       CASE WHEN s.shape = 'null' THEN NULL ELSE coalesce(a.arr, '{}'::bigint[]) END AS arr
FROM origin.arrspec AS s
LEFT JOIN (SELECT tbl, k, variant, array_agg(pk ORDER BY j) AS arr FROM e GROUP BY tbl, k, variant) AS a
       USING (tbl, k, variant);
ANALYZE origin.arr;

-- @@ derive

CREATE FUNCTION origin.present(target text, in1 boolean, in2 boolean) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE target WHEN 'db1' THEN in1 WHEN 'db2' THEN in2 ELSE in1 OR in2 END $$;

-- does the target take db1's values for this record?
CREATE FUNCTION origin.use1(target text, in1 boolean) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT target = 'db1' OR (target = 'merged' AND in1) $$;

CREATE FUNCTION origin.owned(target text, owner text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT target = 'merged' OR target = 'db' || owner $$;

-- id maps: origin key -> this target's id, numbered from 1 in a per-target hash order of the
-- natural key (so the same id means different records in db1 and db2); alt = take db2's values

CREATE TABLE origin.id_dataset AS
SELECT d.k, row_number() OVER (ORDER BY origin.h(p.seed, p.target || ':dataset', d.name), d.k) AS id,
       origin.use1(p.target, d.in1) AS use1, d.conflict AND NOT origin.use1(p.target, d.in1) AS alt
FROM origin.dataset AS d CROSS JOIN origin.params AS p
WHERE origin.present(p.target, d.in1, d.in2);

CREATE TABLE origin.id_package AS
SELECT d.k, row_number() OVER (ORDER BY origin.h(p.seed, p.target || ':package', d.purl), d.k) AS id,
       origin.use1(p.target, d.in1) AS use1, d.conflict AND NOT origin.use1(p.target, d.in1) AS alt
FROM origin.package AS d CROSS JOIN origin.params AS p
WHERE origin.present(p.target, d.in1, d.in2);

CREATE TABLE origin.id_datasource AS
SELECT d.k, row_number() OVER (ORDER BY origin.h(p.seed, p.target || ':datasource', d.purl), d.k) AS id,
       origin.use1(p.target, d.in1) AS use1, d.conflict AND NOT origin.use1(p.target, d.in1) AS alt
FROM origin.datasource AS d CROSS JOIN origin.params AS p
WHERE origin.present(p.target, d.in1, d.in2);

CREATE TABLE origin.id_finding AS
SELECT d.k, row_number() OVER (ORDER BY origin.h(p.seed, p.target || ':finding', d.identifier), d.k) AS id,
       origin.use1(p.target, d.in1) AS use1, d.conflict AND NOT origin.use1(p.target, d.in1) AS alt
FROM origin.finding AS d CROSS JOIN origin.params AS p
WHERE origin.present(p.target, d.in1, d.in2);

CREATE TABLE origin.id_finding_reporter AS
SELECT d.k, row_number() OVER (ORDER BY origin.h(p.seed, p.target || ':finding_reporter', d.name), d.k) AS id,
       origin.use1(p.target, d.in1) AS use1, d.conflict AND NOT origin.use1(p.target, d.in1) AS alt
FROM origin.finding_reporter AS d CROSS JOIN origin.params AS p
WHERE origin.present(p.target, d.in1, d.in2);

CREATE TABLE origin.id_datasource_event AS
SELECT e.k, row_number() OVER (ORDER BY origin.h(p.seed, p.target || ':datasource_event',
                                                  ds.purl || ':' || e.kind || ':' || e.occurred_at::text), e.k) AS id,
       origin.use1(p.target, e.in1) AS use1, e.conflict AND NOT origin.use1(p.target, e.in1) AS alt
FROM origin.datasource_event AS e CROSS JOIN origin.params AS p
JOIN origin.datasource AS ds ON ds.k = e.datasource_k
WHERE origin.present(p.target, e.in1, e.in2);

CREATE TABLE origin.id_dataset_metrics AS
SELECT h.k, row_number() OVER (ORDER BY origin.h(p.seed, p.target || ':dataset_metrics', h.k::text), h.k) AS id
FROM origin.dataset_metrics AS h CROSS JOIN origin.params AS p WHERE origin.owned(p.target, h.owner);

CREATE TABLE origin.id_datasource_metrics AS
SELECT h.k, row_number() OVER (ORDER BY origin.h(p.seed, p.target || ':datasource_metrics', h.k::text), h.k) AS id
FROM origin.datasource_metrics AS h CROSS JOIN origin.params AS p WHERE origin.owned(p.target, h.owner);

CREATE TABLE origin.id_edit AS
SELECT h.k, row_number() OVER (ORDER BY origin.h(p.seed, p.target || ':edit', h.k::text), h.k) AS id
FROM origin.edit AS h CROSS JOIN origin.params AS p WHERE origin.owned(p.target, h.owner);

ANALYZE origin.id_dataset, origin.id_package, origin.id_datasource, origin.id_finding, origin.id_finding_reporter,
        origin.id_datasource_event, origin.id_dataset_metrics, origin.id_datasource_metrics, origin.id_edit;

-- every array translated to this target's package ids (a package absent from the target would
-- become -1, which the checks report; NULL elements stay NULL, empty arrays stay empty)
CREATE TABLE origin.arr_ids AS
SELECT a.tbl, a.k, a.variant,
       CASE WHEN a.arr IS NULL THEN NULL ELSE coalesce(x.ids, '{}'::bigint[]) END AS ids
FROM origin.arr AS a
LEFT JOIN (
    SELECT a.tbl, a.k, a.variant,
           array_agg(CASE WHEN u.pk IS NULL THEN NULL ELSE coalesce(ip.id, -1) END ORDER BY u.ord) AS ids
    FROM origin.arr AS a
    CROSS JOIN LATERAL unnest(a.arr) WITH ORDINALITY AS u(pk, ord)
    LEFT JOIN origin.id_package AS ip ON ip.k = u.pk
    GROUP BY a.tbl, a.k, a.variant
) AS x USING (tbl, k, variant);
ANALYZE origin.arr_ids;

INSERT INTO public.dataset (id, name, description, created_at)
SELECT m.id, d.name, CASE WHEN m.alt THEN d.alt_description ELSE d.description END, d.created_at
FROM origin.id_dataset AS m JOIN origin.dataset AS d USING (k)
ORDER BY m.id;

INSERT INTO public.package (id, purl, version, license)
SELECT m.id, d.purl,
       CASE WHEN m.alt THEN d.alt_version ELSE d.version END,
       CASE WHEN m.alt THEN d.alt_license ELSE d.license END
FROM origin.id_package AS m JOIN origin.package AS d USING (k)
ORDER BY m.id;

INSERT INTO public.finding (id, identifier, severity, summary)
SELECT m.id, d.identifier,
       CASE WHEN m.alt THEN d.alt_severity ELSE d.severity END,
       CASE WHEN m.alt THEN d.alt_summary ELSE d.summary END
FROM origin.id_finding AS m JOIN origin.finding AS d USING (k)
ORDER BY m.id;

INSERT INTO public.finding_reporter (id, name, email)
SELECT m.id, d.name, CASE WHEN m.alt THEN d.alt_email ELSE d.email END
FROM origin.id_finding_reporter AS m JOIN origin.finding_reporter AS d USING (k)
ORDER BY m.id;

INSERT INTO public.datasource (id, purl, dataset_id, url, package_indexes)
SELECT m.id, d.purl, md.id, CASE WHEN m.alt THEN d.alt_url ELSE d.url END, a.ids
FROM origin.id_datasource AS m
JOIN origin.datasource AS d USING (k)
LEFT JOIN origin.id_dataset AS md ON md.k = d.dataset_k
LEFT JOIN origin.arr_ids AS a
       ON a.tbl = 'datasource' AND a.k = d.k
      AND a.variant = CASE WHEN NOT m.use1 AND origin.own_a2(d.in1, d.in2, d.conflict, d.arrconflict)
                           THEN '2' ELSE '1' END
ORDER BY m.id;

INSERT INTO public.datasource_event (id, datasource_id, kind, occurred_at, payload)
SELECT m.id, mds.id, e.kind, e.occurred_at, CASE WHEN m.alt THEN e.alt_payload ELSE e.payload END
FROM origin.id_datasource_event AS m
JOIN origin.datasource_event AS e USING (k)
LEFT JOIN origin.id_datasource AS mds ON mds.k = e.datasource_k
ORDER BY m.id;

INSERT INTO public.datasource_event_package (datasource_event_id, package_id)
SELECT me.id, mp.id
FROM origin.datasource_event_package AS j CROSS JOIN origin.params AS p
LEFT JOIN origin.id_datasource_event AS me ON me.k = j.event_k
LEFT JOIN origin.id_package AS mp ON mp.k = j.package_k
WHERE origin.present(p.target, j.in1, j.in2)
ORDER BY me.id, mp.id;

INSERT INTO public.datasource_event_finding (datasource_event_id, finding_id)
SELECT me.id, mf.id
FROM origin.datasource_event_finding AS j CROSS JOIN origin.params AS p
LEFT JOIN origin.id_datasource_event AS me ON me.k = j.event_k
LEFT JOIN origin.id_finding AS mf ON mf.k = j.finding_k
WHERE origin.present(p.target, j.in1, j.in2)
ORDER BY me.id, mf.id;

INSERT INTO public.finding_finding_reporter (finding_id, finding_reporter_id)
SELECT mf.id, mr.id
FROM origin.finding_finding_reporter AS j CROSS JOIN origin.params AS p
LEFT JOIN origin.id_finding AS mf ON mf.k = j.finding_k
LEFT JOIN origin.id_finding_reporter AS mr ON mr.k = j.reporter_k
WHERE origin.present(p.target, j.in1, j.in2)
ORDER BY mf.id, mr.id;

INSERT INTO public.dataset_metrics (id, dataset_id, txid, recorded_at, package_count, package_indexes)
SELECT m.id, md.id, h.txid, h.recorded_at, coalesce(cardinality(a.ids), 0), a.ids
FROM origin.id_dataset_metrics AS m
JOIN origin.dataset_metrics AS h USING (k)
LEFT JOIN origin.id_dataset AS md ON md.k = h.dataset_k
LEFT JOIN origin.arr_ids AS a ON a.tbl = 'dataset_metrics' AND a.k = h.k AND a.variant = h.owner
ORDER BY m.id;

INSERT INTO public.datasource_metrics (id, datasource_id, recorded_at, event_count)
SELECT m.id, mds.id, h.recorded_at, h.event_count
FROM origin.id_datasource_metrics AS m
JOIN origin.datasource_metrics AS h USING (k)
LEFT JOIN origin.id_datasource AS mds ON mds.k = h.datasource_k
ORDER BY m.id;

INSERT INTO public.edit (id, dataset_id, author, edited_at, change)
SELECT m.id, md.id, h.author, h.edited_at, h.change
FROM origin.id_edit AS m
JOIN origin.edit AS h USING (k)
LEFT JOIN origin.id_dataset AS md ON md.k = h.dataset_k
ORDER BY m.id;

-- sequences past max(id), sometimes with a gap, as in a database that has lived a while
CREATE FUNCTION origin.gap(tbl text) RETURNS bigint
    LANGUAGE sql STABLE
    AS $$ SELECT floor(origin.h(p.seed, 'seqgap:' || p.target, tbl) * 5)::bigint FROM origin.params AS p $$;
SELECT setval(pg_get_serial_sequence('public.dataset', 'id'), (SELECT max(id) FROM public.dataset) + origin.gap('dataset'));
SELECT setval(pg_get_serial_sequence('public.package', 'id'), (SELECT max(id) FROM public.package) + origin.gap('package'));
SELECT setval(pg_get_serial_sequence('public.datasource', 'id'), (SELECT max(id) FROM public.datasource) + origin.gap('datasource'));
SELECT setval(pg_get_serial_sequence('public.finding', 'id'), (SELECT max(id) FROM public.finding) + origin.gap('finding'));
SELECT setval(pg_get_serial_sequence('public.finding_reporter', 'id'), (SELECT max(id) FROM public.finding_reporter) + origin.gap('finding_reporter'));
SELECT setval(pg_get_serial_sequence('public.datasource_event', 'id'), (SELECT max(id) FROM public.datasource_event) + origin.gap('datasource_event'));
SELECT setval(pg_get_serial_sequence('public.dataset_metrics', 'id'), (SELECT max(id) FROM public.dataset_metrics) + origin.gap('dataset_metrics'));
SELECT setval(pg_get_serial_sequence('public.datasource_metrics', 'id'), (SELECT max(id) FROM public.datasource_metrics) + origin.gap('datasource_metrics'));
SELECT setval(pg_get_serial_sequence('public.edit', 'id'), (SELECT max(id) FROM public.edit) + origin.gap('edit'));

-- @@ checks
SELECT 'dataset rows' AS what, (SELECT count(*) FROM public.dataset) - (SELECT count(*) FROM origin.id_dataset) AS bad
UNION ALL SELECT 'package rows', (SELECT count(*) FROM public.package) - (SELECT count(*) FROM origin.id_package)
UNION ALL SELECT 'datasource rows', (SELECT count(*) FROM public.datasource) - (SELECT count(*) FROM origin.id_datasource)
UNION ALL SELECT 'finding rows', (SELECT count(*) FROM public.finding) - (SELECT count(*) FROM origin.id_finding)
UNION ALL SELECT 'finding_reporter rows', (SELECT count(*) FROM public.finding_reporter) - (SELECT count(*) FROM origin.id_finding_reporter)
UNION ALL SELECT 'datasource_event rows', (SELECT count(*) FROM public.datasource_event) - (SELECT count(*) FROM origin.id_datasource_event)
UNION ALL SELECT 'dataset_metrics rows', (SELECT count(*) FROM public.dataset_metrics) - (SELECT count(*) FROM origin.id_dataset_metrics)
UNION ALL SELECT 'datasource_metrics rows', (SELECT count(*) FROM public.datasource_metrics) - (SELECT count(*) FROM origin.id_datasource_metrics)
UNION ALL SELECT 'edit rows', (SELECT count(*) FROM public.edit) - (SELECT count(*) FROM origin.id_edit)
UNION ALL SELECT 'datasource arrays without a variant', count(*)
    FROM public.datasource AS d JOIN origin.id_datasource AS m ON m.id = d.id
    LEFT JOIN origin.arrspec AS s ON s.tbl = 'datasource' AND s.k = m.k
    WHERE s.k IS NULL
UNION ALL SELECT 'dangling datasource.package_indexes elements', count(*)
    FROM public.datasource AS d CROSS JOIN LATERAL unnest(d.package_indexes) AS u(x)
    LEFT JOIN public.package AS p ON p.id = u.x
    WHERE u.x IS NOT NULL AND p.id IS NULL
UNION ALL SELECT 'dangling dataset_metrics.package_indexes elements', count(*)
    FROM public.dataset_metrics AS d CROSS JOIN LATERAL unnest(d.package_indexes) AS u(x)
    LEFT JOIN public.package AS p ON p.id = u.x
    WHERE u.x IS NOT NULL AND p.id IS NULL;

-- @@ conflicts
SELECT 'dataset' AS tbl, count(*) AS n FROM origin.dataset
    WHERE in1 AND in2 AND conflict AND description IS DISTINCT FROM alt_description
UNION ALL SELECT 'package', count(*) FROM origin.package
    WHERE in1 AND in2 AND conflict AND (version, license) IS DISTINCT FROM (alt_version, alt_license)
UNION ALL SELECT 'datasource', count(*) FROM origin.datasource AS d
    LEFT JOIN origin.arr AS a1 ON a1.tbl = 'datasource' AND a1.k = d.k AND a1.variant = '1'
    LEFT JOIN origin.arr AS a2 ON a2.tbl = 'datasource' AND a2.k = d.k AND a2.variant = '2'
    WHERE d.in1 AND d.in2 AND d.conflict
      AND (d.url IS DISTINCT FROM d.alt_url OR (d.arrconflict AND a1.arr IS DISTINCT FROM a2.arr))
UNION ALL SELECT 'finding', count(*) FROM origin.finding
    WHERE in1 AND in2 AND conflict AND (severity, summary) IS DISTINCT FROM (alt_severity, alt_summary)
UNION ALL SELECT 'finding_reporter', count(*) FROM origin.finding_reporter
    WHERE in1 AND in2 AND conflict AND email IS DISTINCT FROM alt_email
UNION ALL SELECT 'datasource_event', count(*) FROM origin.datasource_event
    WHERE in1 AND in2 AND conflict AND payload IS DISTINCT FROM alt_payload;
