-- The sequence (serial or identity) behind each single-column primary key, unqualified.
SELECT c.relname, s.relname
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_constraint con ON con.conrelid = c.oid AND con.contype = 'p' AND cardinality(con.conkey) = 1
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = con.conkey[1]
JOIN pg_class s ON s.oid = pg_get_serial_sequence(format('%%I.%%I', n.nspname, c.relname), a.attname)::regclass
WHERE n.nspname = %(schema)s
