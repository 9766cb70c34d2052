-- Foreign keys as the target has them now, by the quoted names of the tables publish inserts into (or undo
-- deletes from): the last condition names root for the keys of those tables, rc for the keys of any table
-- that reference them. Per key: its table, constraint and columns, the referenced table and columns, MATCH FULL
-- or not, whether it is declared on one partition only (or references one: it then holds for that
-- partition's rows, not the whole table's), whether it is validated (a NOT VALID key may already have
-- rows naming no row), and whether deleting a referenced row changes the rows naming it (ON DELETE
-- CASCADE, SET NULL, SET DEFAULT).
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
       con.conrelid <> root.oid OR con.confrelid <> rc.oid AS on_partition,
       con.convalidated,
       con.confdeltype IN ('c', 'n', 'd') AS changes_on_delete
FROM pg_constraint con
JOIN pg_class root ON root.oid = coalesce(pg_partition_root(con.conrelid), con.conrelid)
JOIN pg_namespace rootn ON rootn.oid = root.relnamespace
JOIN pg_class rc ON rc.oid = coalesce(pg_partition_root(con.confrelid), con.confrelid)
JOIN pg_namespace rn ON rn.oid = rc.relnamespace
WHERE con.contype = 'f' AND con.conparentid = 0
  AND {tables_are}.oid = ANY (SELECT to_regclass(t) FROM unnest(%(tables)s::text[]) t)
ORDER BY 1, 2, 3
