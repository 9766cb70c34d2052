-- What this publish inserts, copied for undo ({kept_columns}: the id where the table has one, else whole
-- rows) while its inserts run: the pending rows are what it inserts. A copy a failed publish left behind is
-- replaced.
DROP TABLE IF EXISTS {kept_copy};
CREATE TABLE {kept_copy} AS SELECT {kept_columns} FROM {pending}
