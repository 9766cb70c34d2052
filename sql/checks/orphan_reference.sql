-- Rows whose multi-column reference names no row of the referenced table (MATCH SIMPLE, as PostgreSQL's
-- own foreign keys: a reference with a NULL part references nothing), whether or not a constraint exists.
SELECT {reference} AS reference, {values} AS value
FROM {table} c
WHERE {all_present}
  AND NOT EXISTS (SELECT 1 FROM {parent_table} p WHERE {match})
