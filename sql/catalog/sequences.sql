-- The primary-key column a sequence feeds, and that sequence with its schema: the one an identity or serial
-- column owns, else the one its default takes nextval() from (a sequence several tables may share).
-- Partitioned tables often have a key like (id, created_at): the sequence-fed column is still the id.
SELECT DISTINCT ON (n.nspname, c.relname) n.nspname, c.relname, a.attname, sn.nspname, s.relname
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_constraint con ON con.conrelid = c.oid AND con.contype = 'p'
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY (con.conkey)
JOIN pg_class s ON s.oid = coalesce(
    pg_get_serial_sequence(format('%%I.%%I', n.nspname, c.relname), a.attname)::regclass::oid,
    (SELECT dep.refobjid
     FROM pg_attrdef d
     JOIN pg_depend dep ON dep.classid = 'pg_attrdef'::regclass AND dep.objid = d.oid
                       AND dep.refclassid = 'pg_class'::regclass
     JOIN pg_class seq ON seq.oid = dep.refobjid AND seq.relkind = 'S'
     WHERE d.adrelid = c.oid AND d.adnum = a.attnum
     LIMIT 1))
JOIN pg_namespace sn ON sn.oid = s.relnamespace
WHERE n.nspname = ANY (%(schemas)s)
ORDER BY n.nspname, c.relname, array_position(con.conkey, a.attnum)
