-- What this publish inserted, kept under the merge's number so undo can take exactly those rows out
-- again ({kept_columns}: the id where the table has one, else whole rows); the pending table is empty
-- afterwards (target ∪ pending = target).
CREATE TABLE {kept} AS SELECT {kept_columns} FROM {pending};
TRUNCATE {pending}
