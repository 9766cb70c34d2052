-- Whether the schema exists and the comment it carries (pgmerge marks the schemas it creates).
SELECT obj_description(n.oid, 'pg_namespace') FROM pg_namespace n WHERE n.nspname = %(schema)s
