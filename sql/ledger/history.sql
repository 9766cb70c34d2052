-- The merge ledger, oldest first.
SELECT merge_id, published_at, undone_at, dump2_fingerprint, spec_hash, rows_inserted,
       (SELECT coalesce(sum(value::bigint), 0) FROM jsonb_each_text(rows_inserted)) AS total_rows
FROM {ledger}
ORDER BY merge_id
