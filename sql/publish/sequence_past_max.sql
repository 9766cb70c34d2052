-- The value to move the sequence to, when max(id) is past it (no row when nextval() cannot hand out a used id).
SELECT t.max_id
FROM (SELECT max({id}) AS max_id FROM {public_table}) t, {sequence_table} s
WHERE t.max_id > s.last_value OR (t.max_id = s.last_value AND NOT s.is_called)
