-- 'replica' holds back the per-row foreign-key triggers of the statements that follow in this
-- transaction (publish checks those keys itself, for all rows at once, before it commits); 'origin'
-- is PostgreSQL's default. Needs a superuser, or GRANT SET ON PARAMETER session_replication_role.
SET LOCAL session_replication_role = {role}
