-- Which of the tables publish inserts into (by quoted name) have triggers or rules of their users
-- (also on their partitions): those are inserted with every trigger firing as usual.
SELECT t
FROM unnest(%(tables)s::text[]) t
CROSS JOIN LATERAL (SELECT ARRAY(SELECT relid FROM pg_partition_tree(to_regclass(t)))
                           || to_regclass(t)::oid AS relids) tree
WHERE EXISTS (SELECT 1 FROM pg_trigger g WHERE NOT g.tgisinternal AND g.tgrelid = ANY (tree.relids))
   OR EXISTS (SELECT 1 FROM pg_rewrite r WHERE r.rulename <> '_RETURN' AND r.ev_class = ANY (tree.relids))
