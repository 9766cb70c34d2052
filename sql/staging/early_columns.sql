-- Dump #2's own definition of each wanted table (in its scratch database), for a staging table typed as
-- dump #2 types it, made before the target's tables exist. Per column, in column order: its type as SQL and its oid,
-- NOT NULL, and whether it rules that out: a type not built in (the target may not hold it yet), a
-- generated column, a collation other than the database's. Parameters: schemas text[], names text[].
SELECT n.nspname, c.relname, c.relkind::text, a.attname,
       pg_catalog.format_type(a.atttypid, a.atttypmod) AS column_type, a.atttypid::bigint AS type_oid,
       a.attnotnull,
       a.atttypid >= %(builtin_limit)s OR a.attgenerated <> '' OR a.attcollation NOT IN (0, 100) AS unfit
FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
JOIN unnest(%(schemas)s::text[], %(names)s::text[]) AS w(schema_name, table_name)
  ON w.schema_name = n.nspname AND w.table_name = c.relname
JOIN pg_catalog.pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'p')
ORDER BY n.nspname, c.relname, a.attnum
