-- The foreign keys of the tables publish inserts into (by the tables' quoted names), as the target has
-- them now: constraint, columns, the referenced table and columns, MATCH FULL or not, and whether it is
-- declared on one partition only (such a key holds for that partition's rows, not the whole table's).
SELECT rootn.nspname,
       root.relname,
       con.conname,
       ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i),
       rn.nspname,
       rc.relname,
       ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i),
       con.confmatchtype = 'f' AS match_full,
       con.conrelid <> root.oid AS on_partition
FROM pg_constraint con
JOIN pg_class root ON root.oid = coalesce(pg_partition_root(con.conrelid), con.conrelid)
JOIN pg_namespace rootn ON rootn.oid = root.relnamespace
JOIN pg_class rc ON rc.oid = coalesce(pg_partition_root(con.confrelid), con.confrelid)
JOIN pg_namespace rn ON rn.oid = rc.relnamespace
WHERE con.contype = 'f' AND con.conparentid = 0
  AND root.oid = ANY (SELECT to_regclass(t) FROM unnest(%(tables)s::text[]) t)
ORDER BY 1, 2, 3
