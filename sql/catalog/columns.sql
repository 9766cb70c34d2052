-- Columns of every table in the given schemas, in column order. Partitions are left out: rows go through the parent.
SELECT n.nspname,
       c.relname,
       a.attname,
       format_type(a.atttypid, a.atttypmod),
       nullif(a.attidentity, ''),
       a.attgenerated <> '',
       NOT a.attnotnull,
       t.typcategory = 'A' AND et.typname IN ('int2', 'int4', 'int8')
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type et ON et.oid = t.typelem
WHERE n.nspname = ANY (%(schemas)s)
  AND c.relkind IN ('r', 'p')
  AND NOT c.relispartition
ORDER BY n.nspname, c.relname, a.attnum
