-- The seed's sanity query: rows whose array names an id missing from the referenced table
-- (NULL elements are kept on purpose and are not dangling). All elements at once: unnest, one hash
-- anti-join, grouped back to their rows.
SELECT t.{id} AS id, t.{column} AS elements
FROM {public_table} t
CROSS JOIN LATERAL unnest(t.{column}) AS x(element)
WHERE x.element IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM {ref_table} r WHERE r.{ref_id} = x.element)
GROUP BY t.{id}, t.{column}
