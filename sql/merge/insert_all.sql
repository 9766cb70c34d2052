-- Tables with no key at all whose duplicates are kept (spec: duplicates: keep): every staging row,
-- foreign keys translated.
INSERT INTO {pending} ({columns})
SELECT {values}
FROM {staging_table} st
{parent_joins}
