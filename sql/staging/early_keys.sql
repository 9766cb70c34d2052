-- Dump #2's primary keys, UNIQUE and EXCLUDE constraints of the wanted tables (in its scratch database), for
-- the staging tables typed as dump #2 types them: built once their rows are in, while dump #1 is restored.
-- Their definitions name columns only, never the table. Parameters: schemas text[], names text[].
SELECT n.nspname, c.relname, pg_catalog.pg_get_constraintdef(con.oid) AS definition
FROM pg_catalog.pg_constraint AS con
JOIN pg_catalog.pg_class AS c ON c.oid = con.conrelid
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
JOIN unnest(%(schemas)s::text[], %(names)s::text[]) AS w(schema_name, table_name)
  ON w.schema_name = n.nspname AND w.table_name = c.relname
WHERE con.contype IN ('p', 'u', 'x')
ORDER BY n.nspname, c.relname, con.conname
