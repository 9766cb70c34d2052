-- Move the sequence past max(id) when it is not already, so nextval() can never hand out a used id.
SELECT setval({sequence}, t.max_id)
FROM (SELECT max({id}) AS max_id FROM {public_table}) t, {sequence_table} s
WHERE t.max_id > s.last_value OR (t.max_id = s.last_value AND NOT s.is_called)
