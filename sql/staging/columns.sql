-- Columns of the user tables of a database, in column order. Parameters:
--   schemas text[] (NULL: every schema), exclude_schemas text[].
-- Extension member tables (their rows come from CREATE EXTENSION) are left out.
SELECT n.nspname                                     AS schema_name,
       c.relname                                     AS table_name,
       c.relkind::text                               AS relkind,
       a.attname                                     AS column_name,
       pg_catalog.format_type(a.atttypid, a.atttypmod) AS column_type,
       a.atttypid::bigint                            AS type_oid,
       a.attgenerated <> ''                          AS is_generated
FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_(toast|temp_)'
  AND (%(schemas)s::text[] IS NULL OR n.nspname = ANY (%(schemas)s::text[]))
  AND n.nspname <> ALL (%(exclude_schemas)s::text[])
  AND NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_depend AS d
        WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY n.nspname, c.relname, a.attnum
