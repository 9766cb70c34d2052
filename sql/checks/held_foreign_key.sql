EXISTS (
    -- Whether the target's own foreign key already holds this column of its rows to existing parent rows, so
    -- that only the pending rows need judging (PostgreSQL answers this once, before reading any row): a
    -- validated constraint from exactly this column to exactly the parent's id, none of its triggers disabled.
    SELECT 1
    FROM pg_catalog.pg_constraint c
    WHERE c.contype = 'f' AND c.convalidated
      AND c.conrelid = {table_name}::regclass AND c.confrelid = {parent_name}::regclass
      AND c.conkey = ARRAY[(SELECT a.attnum FROM pg_catalog.pg_attribute a
                            WHERE a.attrelid = c.conrelid AND a.attname = {column})]
      AND c.confkey = ARRAY[(SELECT a.attnum FROM pg_catalog.pg_attribute a
                             WHERE a.attrelid = c.confrelid AND a.attname = {parent_id})]
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g WHERE g.tgconstraint = c.oid AND g.tgenabled = 'D'))
