-- pgmerge's own schema: id maps and the per-table merge log (rows before the merge, rows inserted).
CREATE SCHEMA IF NOT EXISTS {map_schema};
CREATE TABLE IF NOT EXISTS {merge_log} (
    table_name    text PRIMARY KEY,
    rows_before   bigint NOT NULL,
    rows_inserted bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS {state} (
    key   text PRIMARY KEY,
    value text NOT NULL
)
