-- pgmerge's own schema (marked before this runs): the per-run merge log and state, and the ledger of
-- publishes, which outlives every run.
CREATE TABLE IF NOT EXISTS {merge_log} (
    table_name    text PRIMARY KEY,
    rows_before   bigint NOT NULL,
    rows_pending  bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS {state} (
    key   text PRIMARY KEY,
    value text NOT NULL
);
CREATE TABLE IF NOT EXISTS {ledger} (
    merge_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dump2_fingerprint text NOT NULL,
    spec_hash       text NOT NULL,
    spec            text NOT NULL,
    rows_inserted   jsonb NOT NULL,
    sequences       jsonb NOT NULL,
    started_at      timestamptz NOT NULL,
    published_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    undone_at       timestamptz
);
CREATE TABLE IF NOT EXISTS {audit} (
    work_version  bigint PRIMARY KEY,
    passed        boolean NOT NULL,
    lost          bigint NOT NULL,
    failed_checks jsonb NOT NULL,
    row_counts    jsonb NOT NULL,
    audited_at    timestamptz NOT NULL DEFAULT clock_timestamp()
)
