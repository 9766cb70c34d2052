-- A sequence that would hand out an id target ∪ pending already holds. While rows are pending, pgmerge's
-- id counter stands for the target's sequence (publish moves the sequence past every id it inserts).
SELECT {table_name} AS table_name, t.max_id::text AS max_id, s.last_value, s.is_called,
       a.last_value AS allocated
FROM (SELECT max({id}) AS max_id FROM {merged_view}) t, {sequence_table} s, {allocator_table} a
WHERE t.max_id > greatest(CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END,
                          CASE WHEN EXISTS (SELECT 1 FROM {pending})
                               THEN CASE WHEN a.is_called THEN a.last_value ELSE a.last_value - 1 END END)
