-- The ledger: one row per publish, with what undo needs (the spec it merged by, the sequences it moved).
INSERT INTO {ledger} (dump2_fingerprint, spec_hash, spec, rows_inserted, sequences, started_at)
VALUES (%(fingerprint)s, %(spec_hash)s, %(spec)s, %(rows)s::jsonb, %(sequences)s::jsonb, coalesce(%(started)s::timestamptz, transaction_timestamp()))
RETURNING merge_id
