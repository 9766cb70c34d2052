-- The sessions holding a lock on a table (the ones a publish waited for).
SELECT a.pid, a.state, coalesce(a.query, '')
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.relation = to_regclass(%(table)s) AND l.granted AND l.pid <> pg_backend_pid()
ORDER BY a.pid
