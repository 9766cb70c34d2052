-- The user triggers that fire on INSERT into each table (also those of its partitions): they run when
-- pgmerge publishes, as they would for an application's insert.
SELECT n.nspname, c.relname, array_agg(DISTINCT t.tgname ORDER BY t.tgname)
FROM pg_trigger t
JOIN pg_class p ON p.oid = t.tgrelid
JOIN pg_class c ON c.oid = coalesce(pg_partition_root(p.oid), p.oid)
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY (%(schemas)s) AND NOT t.tgisinternal AND t.tgparentid = 0
  AND t.tgtype & 4 <> 0  -- TRIGGER_TYPE_INSERT
GROUP BY 1, 2
