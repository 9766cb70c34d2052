-- Pending rows whose id the target already gives another row: publishing them would collide. Where the
-- target's own unique index holds the ids, the insert itself meets such a row (and publish names it).
SELECT p.{id}::text AS id
FROM {pending} p
JOIN {public_table} t ON t.{id} = p.{id}
WHERE NOT {held_unique}
