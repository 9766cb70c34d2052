-- Sent to the scratch database between dump #2's table definitions and its data: every ordinary table
-- becomes UNLOGGED while still empty. Nothing in scratch has to survive a crash; COPY into unlogged tables
-- writes no WAL, and the checkpoint that DROP DATABASE forces has their files to skip. A table that cannot
-- change (whatever the reason) simply stays as it is.
DO $pgmerge$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind = 'r' AND c.relpersistence = 'p'
               AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
    LOOP
        BEGIN
            EXECUTE format('ALTER TABLE %s SET UNLOGGED', t);
        EXCEPTION WHEN OTHERS THEN
            NULL;
        END;
    END LOOP;
END
$pgmerge$;
