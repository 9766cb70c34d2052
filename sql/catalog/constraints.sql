-- Primary keys, unique keys (constraints and plain unique indexes without expressions or predicates)
-- and foreign keys, with column names in key order. A foreign key declared on a partition belongs to
-- the partitioned table (rows go through it), and one naming a partition names its partitioned table;
-- a key unique in one partition only says nothing of the whole table, so it stays with the partition.
SELECT n.nspname,
       c.relname,
       con.contype::text,
       ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i),
       rn.nspname,
       rc.relname,
       ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i)
FROM pg_constraint con
JOIN pg_class c ON c.oid = CASE WHEN con.contype = 'f' THEN coalesce(pg_partition_root(con.conrelid), con.conrelid)
                                ELSE con.conrelid END
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class rc ON rc.oid = coalesce(pg_partition_root(con.confrelid), con.confrelid)
LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
WHERE n.nspname = ANY (%(schemas)s) AND con.contype IN ('p', 'u', 'f') AND con.conparentid = 0
UNION ALL
SELECT n.nspname,
       c.relname,
       'u',
       ARRAY(SELECT a.attname FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(n, o)
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o),
       NULL,
       NULL,
       NULL
FROM pg_index i
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY (%(schemas)s) AND i.indisunique AND NOT i.indisprimary
  AND i.indexprs IS NULL AND i.indpred IS NULL
  AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid)
ORDER BY 1, 2, 3, 4
