-- An order-independent checksum of one staging table: same dump #2, same fingerprint. The row count and
-- the sum of 64-bit row hashes: no sort, one pass (an md5 per row sorted and concatenated cost 6 s of
-- a 1M-row load).
SELECT count(*) || ':' || coalesce(sum(hashtextextended(t::text, 0)::numeric), 0) FROM {staging_table} t
