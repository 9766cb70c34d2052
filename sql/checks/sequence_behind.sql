-- A sequence that would hand out an id its table already holds.
SELECT {table_name} AS table_name, t.max_id::text AS max_id, s.last_value, s.is_called
FROM (SELECT max({id}) AS max_id FROM {public_table}) t, {sequence_table} s
WHERE t.max_id > s.last_value OR (t.max_id = s.last_value AND NOT s.is_called)
