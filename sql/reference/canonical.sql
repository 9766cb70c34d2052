-- Canonical, id-free rows of the reference schema (sql/reference/schema.sql): the independent
-- oracle that merged databases are compared against. Hand-written for the reference schema; it
-- uses no other project code.
--
-- A line "-- @table name" starts that table's query. {schema} is the schema holding the tables
-- (pgmerge_assets/demo/generate.py:canonical_rows fills it with psycopg.sql.Identifier). Each
-- query returns one text column r, sorted bytewise (COLLATE "C"), one row per table row:
--   * every column except the surrogate id columns, as a jsonb object rendered as text;
--   * a foreign key becomes the referenced row's natural key (recursively: an event's key holds
--     its datasource's purl);
--   * a package_indexes element becomes that package's purl; order, length and NULL elements are
--     kept, a NULL array stays null, an empty array stays [];
--   * a reference to a row that does not exist renders as "!dangling <table> id <n>", which
--     never matches a correct row;
--   * timestamps render in UTC with microseconds, whatever the session's TimeZone.
-- History tables (dataset_metrics, datasource_metrics, edit) have no natural key: compare them as
-- multisets (duplicate rows are kept).

-- @table dataset
SELECT r FROM (
    SELECT jsonb_build_object(
               'name', t.name,
               'description', t.description,
               'created_at', to_char(t.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text AS r
    FROM {schema}.dataset AS t
) AS s ORDER BY r COLLATE "C";

-- @table package
SELECT r FROM (
    SELECT jsonb_build_object(
               'purl', t.purl,
               'version', t.version,
               'license', t.license)::text AS r
    FROM {schema}.package AS t
) AS s ORDER BY r COLLATE "C";

-- @table datasource
SELECT r FROM (
    SELECT jsonb_build_object(
               'purl', t.purl,
               'dataset', coalesce(to_jsonb(d.name), to_jsonb('!dangling dataset id ' || t.dataset_id)),
               'url', t.url,
               'package_indexes',
               CASE WHEN t.package_indexes IS NULL THEN NULL ELSE coalesce(
                   (SELECT jsonb_agg(CASE WHEN u.pid IS NULL THEN NULL
                                          ELSE coalesce(to_jsonb(p.purl), to_jsonb('!dangling package id ' || u.pid)) END
                                     ORDER BY u.ord)
                    FROM unnest(t.package_indexes) WITH ORDINALITY AS u(pid, ord)
                    LEFT JOIN {schema}.package AS p ON p.id = u.pid),
                   '[]'::jsonb) END)::text AS r
    FROM {schema}.datasource AS t
    LEFT JOIN {schema}.dataset AS d ON d.id = t.dataset_id
) AS s ORDER BY r COLLATE "C";

-- @table finding
SELECT r FROM (
    SELECT jsonb_build_object(
               'identifier', t.identifier,
               'severity', t.severity,
               'summary', t.summary)::text AS r
    FROM {schema}.finding AS t
) AS s ORDER BY r COLLATE "C";

-- @table finding_reporter
SELECT r FROM (
    SELECT jsonb_build_object(
               'name', t.name,
               'email', t.email)::text AS r
    FROM {schema}.finding_reporter AS t
) AS s ORDER BY r COLLATE "C";

-- @table datasource_event
SELECT r FROM (
    SELECT jsonb_build_object(
               'datasource', coalesce(to_jsonb(ds.purl), to_jsonb('!dangling datasource id ' || t.datasource_id)),
               'kind', t.kind,
               'occurred_at', to_char(t.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
               'payload', t.payload)::text AS r
    FROM {schema}.datasource_event AS t
    LEFT JOIN {schema}.datasource AS ds ON ds.id = t.datasource_id
) AS s ORDER BY r COLLATE "C";

-- @table datasource_event_package
SELECT r FROM (
    SELECT jsonb_build_object(
               'datasource_event',
               CASE WHEN e.id IS NULL THEN to_jsonb('!dangling datasource_event id ' || t.datasource_event_id)
                    ELSE jsonb_build_object(
                        'datasource', coalesce(to_jsonb(ds.purl), to_jsonb('!dangling datasource id ' || e.datasource_id)),
                        'kind', e.kind,
                        'occurred_at', to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')) END,
               'package', coalesce(to_jsonb(p.purl), to_jsonb('!dangling package id ' || t.package_id)))::text AS r
    FROM {schema}.datasource_event_package AS t
    LEFT JOIN {schema}.datasource_event AS e ON e.id = t.datasource_event_id
    LEFT JOIN {schema}.datasource AS ds ON ds.id = e.datasource_id
    LEFT JOIN {schema}.package AS p ON p.id = t.package_id
) AS s ORDER BY r COLLATE "C";

-- @table datasource_event_finding
SELECT r FROM (
    SELECT jsonb_build_object(
               'datasource_event',
               CASE WHEN e.id IS NULL THEN to_jsonb('!dangling datasource_event id ' || t.datasource_event_id)
                    ELSE jsonb_build_object(
                        'datasource', coalesce(to_jsonb(ds.purl), to_jsonb('!dangling datasource id ' || e.datasource_id)),
                        'kind', e.kind,
                        'occurred_at', to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')) END,
               'finding', coalesce(to_jsonb(f.identifier), to_jsonb('!dangling finding id ' || t.finding_id)))::text AS r
    FROM {schema}.datasource_event_finding AS t
    LEFT JOIN {schema}.datasource_event AS e ON e.id = t.datasource_event_id
    LEFT JOIN {schema}.datasource AS ds ON ds.id = e.datasource_id
    LEFT JOIN {schema}.finding AS f ON f.id = t.finding_id
) AS s ORDER BY r COLLATE "C";

-- @table finding_finding_reporter
SELECT r FROM (
    SELECT jsonb_build_object(
               'finding', coalesce(to_jsonb(f.identifier), to_jsonb('!dangling finding id ' || t.finding_id)),
               'finding_reporter', coalesce(to_jsonb(fr.name), to_jsonb('!dangling finding_reporter id ' || t.finding_reporter_id)))::text AS r
    FROM {schema}.finding_finding_reporter AS t
    LEFT JOIN {schema}.finding AS f ON f.id = t.finding_id
    LEFT JOIN {schema}.finding_reporter AS fr ON fr.id = t.finding_reporter_id
) AS s ORDER BY r COLLATE "C";

-- @table dataset_metrics
SELECT r FROM (
    SELECT jsonb_build_object(
               'dataset', coalesce(to_jsonb(d.name), to_jsonb('!dangling dataset id ' || t.dataset_id)),
               'txid', t.txid,
               'recorded_at', to_char(t.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
               'package_count', t.package_count,
               'package_indexes',
               CASE WHEN t.package_indexes IS NULL THEN NULL ELSE coalesce(
                   (SELECT jsonb_agg(CASE WHEN u.pid IS NULL THEN NULL
                                          ELSE coalesce(to_jsonb(p.purl), to_jsonb('!dangling package id ' || u.pid)) END
                                     ORDER BY u.ord)
                    FROM unnest(t.package_indexes) WITH ORDINALITY AS u(pid, ord)
                    LEFT JOIN {schema}.package AS p ON p.id = u.pid),
                   '[]'::jsonb) END)::text AS r
    FROM {schema}.dataset_metrics AS t
    LEFT JOIN {schema}.dataset AS d ON d.id = t.dataset_id
) AS s ORDER BY r COLLATE "C";

-- @table datasource_metrics
SELECT r FROM (
    SELECT jsonb_build_object(
               'datasource', coalesce(to_jsonb(ds.purl), to_jsonb('!dangling datasource id ' || t.datasource_id)),
               'recorded_at', to_char(t.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
               'event_count', t.event_count)::text AS r
    FROM {schema}.datasource_metrics AS t
    LEFT JOIN {schema}.datasource AS ds ON ds.id = t.datasource_id
) AS s ORDER BY r COLLATE "C";

-- @table edit
SELECT r FROM (
    SELECT jsonb_build_object(
               'dataset', CASE WHEN t.dataset_id IS NULL THEN NULL
                               ELSE coalesce(to_jsonb(d.name), to_jsonb('!dangling dataset id ' || t.dataset_id)) END,
               'author', t.author,
               'edited_at', to_char(t.edited_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
               'change', t.change)::text AS r
    FROM {schema}.edit AS t
    LEFT JOIN {schema}.dataset AS d ON d.id = t.dataset_id
) AS s ORDER BY r COLLATE "C";
