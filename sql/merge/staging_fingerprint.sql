-- An order-independent checksum of one staging table: same dump #2, same fingerprint.
SELECT coalesce(md5(string_agg(h, '' ORDER BY h)), '') FROM (SELECT md5(t::text) AS h FROM {staging_table} t) x
