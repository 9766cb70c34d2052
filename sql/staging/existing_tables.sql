-- Which of the wanted (schema, table) pairs exist as tables. Parameters: schemas text[], names text[].
SELECT n.nspname, c.relname
FROM pg_catalog.pg_class AS c
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
JOIN unnest(%(schemas)s::text[], %(names)s::text[]) AS w(schema_name, table_name)
  ON w.schema_name = n.nspname AND w.table_name = c.relname
WHERE c.relkind IN ('r', 'p')
