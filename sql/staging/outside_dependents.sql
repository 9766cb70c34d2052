-- Objects outside the staging schema that DROP SCHEMA ... CASCADE would take along (views,
-- foreign keys, functions of other schemas that depend on staging's tables, types, functions).
-- Parameter: staging text.
WITH s AS (
    SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = %(staging)s
), refs AS (
    SELECT 'pg_catalog.pg_class'::regclass AS classid, c.oid
    FROM pg_catalog.pg_class AS c JOIN s ON c.relnamespace = s.oid
    UNION ALL
    SELECT 'pg_catalog.pg_type'::regclass, t.oid
    FROM pg_catalog.pg_type AS t JOIN s ON t.typnamespace = s.oid
    UNION ALL
    SELECT 'pg_catalog.pg_proc'::regclass, p.oid
    FROM pg_catalog.pg_proc AS p JOIN s ON p.pronamespace = s.oid
)
SELECT DISTINCT i.type, i.identity
FROM pg_catalog.pg_depend AS d
JOIN refs AS r ON d.refclassid = r.classid AND d.refobjid = r.oid
CROSS JOIN LATERAL pg_catalog.pg_identify_object(d.classid, d.objid, d.objsubid) AS i
WHERE d.deptype = 'n'
  AND i.schema IS DISTINCT FROM %(staging)s
ORDER BY 1, 2
