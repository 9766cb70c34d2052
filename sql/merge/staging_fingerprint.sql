-- An order-independent checksum of one staging table: same dump #2, same fingerprint. The row count and
-- the sum of 64-bit row hashes: no sort, one pass (an md5 per row sorted and concatenated cost 6 s of
-- a 1M-row load). {row_hash}: hash_record_extended hashes each column by its type's hash function (2.4×
-- faster than hashing the row's text); the row's text where a column type has none (json, point, …).
SELECT count(*) || ':' || coalesce(sum({row_hash}), 0) FROM {staging_table} t
