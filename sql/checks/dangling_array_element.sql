-- The seed's sanity query: rows whose array names an id missing from the referenced table
-- (NULL elements are kept on purpose and are not dangling).
SELECT t.{id} AS id, t.{column} AS elements
FROM {public_table} t
WHERE t.{column} IS NOT NULL
  AND EXISTS (SELECT 1 FROM unnest(t.{column}) AS x(element)
              LEFT JOIN {ref_table} r ON r.{ref_id} = x.element
              WHERE x.element IS NOT NULL AND r.{ref_id} IS NULL)
