-- Pending rows whose values in a unique index's columns the target, or another pending row, already holds
-- (NULLs never collide).
SELECT count(*)
FROM {pending} p
WHERE EXISTS (SELECT 1 FROM {public_table} t WHERE {equal})
   OR EXISTS (SELECT 1 FROM {pending} t WHERE {equal} AND t.ctid <> p.ctid)
