-- Move pgmerge's id counter past the target sequence's position (if a sequence feeds the id) and the
-- table's max(id), so a new id can never be one the target holds or its sequence has handed out.
SELECT setval({allocator}, greatest(
    CASE WHEN a.is_called THEN a.last_value ELSE a.last_value - 1 END,
    {sequence_used},
    coalesce((SELECT max({id}) FROM {table}), 0)))
FROM {allocator_table} a
