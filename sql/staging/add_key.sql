-- A key or CHECK constraint for a staging table loaded early, under a name PostgreSQL chooses: unique in the
-- staging schema, where two spec tables of one name in two schemas would otherwise bring the same one.
ALTER TABLE {clone} ADD {definition}
