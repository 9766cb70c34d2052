-- Pending rows whose id the target already gives another row: publishing them would collide.
SELECT p.{id}::text AS id
FROM {pending} p
JOIN {public_table} t ON t.{id} = p.{id}
