-- A table's primary key, UNIQUE, EXCLUDE and CHECK constraints: the target's are what a staging table loaded
-- early must have (NOT NULL is part of the column). Their definitions name columns only, never the table,
-- so they fit the staging table as they are. Parameter: table regclass text.
SELECT con.conname, con.contype::text, pg_catalog.pg_get_constraintdef(con.oid) AS definition
FROM pg_catalog.pg_constraint con
WHERE con.conrelid = %(table)s::regclass AND con.contype IN ('p', 'u', 'x', 'c')
ORDER BY con.contype = 'c', con.conname
