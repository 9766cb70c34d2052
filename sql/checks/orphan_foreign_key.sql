-- Rows whose foreign-key value names no parent row (checked whether or not a constraint exists): the
-- pending rows, and the target's rows too unless the target's own validated constraint holds them.
SELECT {column_name} AS column_name, c.{column}::text AS value, count(*) AS rows
FROM (SELECT {column} FROM {pending}
      UNION ALL
      SELECT {column} FROM {public_table} WHERE NOT {held}) c
WHERE c.{column} IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM {parent_table} p WHERE p.{parent_id} = c.{column})
GROUP BY c.{column}
