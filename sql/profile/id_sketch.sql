-- The {k} smallest md5 hashes of a table's ids, each with the hash of the row's other plain content:
-- comparing two databases' sketches tells, for a sample of the ids both hold, whether equal ids carry
-- equal content (a shared code) or unrelated rows (a surrogate id each database numbered itself).
SELECT coalesce(array_agg(id_hash ORDER BY id_hash), '{{}}') AS ids,
       coalesce(array_agg(content_hash ORDER BY id_hash), '{{}}') AS contents
FROM (SELECT md5({id}::text) AS id_hash, md5(jsonb_build_array({content})::text) AS content_hash
      FROM {table} ORDER BY 1 LIMIT {k}) s
