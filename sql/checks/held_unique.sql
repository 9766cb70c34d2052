EXISTS (
    -- Whether the table's own unique index already holds these columns' values unique, so that a query for
    -- repeats has nothing to find (PostgreSQL answers this once, before reading any row): a valid, immediate,
    -- non-partial unique index on plain key columns (INCLUDE columns aside), each of them one of these
    -- (unique on fewer columns is unique on more), and, where a NULL counts as a value, NOT NULL columns only.
    SELECT 1
    FROM pg_catalog.pg_index i
    WHERE i.indrelid = {table_name}::regclass
      AND i.indisunique AND i.indimmediate AND i.indisvalid
      AND i.indpred IS NULL AND i.indexprs IS NULL
      AND (SELECT bool_and(a.attname = ANY ({columns}::name[]) AND (a.attnotnull OR NOT {nulls_counted}))
           FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])))
