-- Rows whose foreign-key value names no parent row (checked whether or not a constraint exists).
SELECT {column_name} AS column_name, c.{column}::text AS value, count(*) AS rows
FROM {public_table} c
WHERE c.{column} IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM {parent_table} p WHERE p.{parent_id} = c.{column})
GROUP BY c.{column}
