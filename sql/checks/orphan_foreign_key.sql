-- The target's rows whose foreign-key value names no parent row of target ∪ pending (checked whether or
-- not a constraint exists), unless the target's own validated constraint holds them. The pending rows are
-- not read again: each of their values is a parent's map entry (the step's guard finds a staging value
-- with none) and the lossless proof follows every entry to its row.
SELECT {column_name} AS column_name, c.{column}::text AS value, count(*) AS rows
FROM {public_table} c
WHERE NOT {held}
  AND c.{column} IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM {parent_table} p WHERE p.{parent_id} = c.{column})
GROUP BY c.{column}
