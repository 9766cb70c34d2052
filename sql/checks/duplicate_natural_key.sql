-- Natural keys the merge made ambiguous: held by more than one public row, one of them inserted by the
-- merge, on target ∪ pending. (Keys public repeated before the merge are reported by natural_keys_repeated.)
-- Repeated keys first (one hash aggregate), then only their rows are looked up in the map.
SELECT {key_out}, r.rows
FROM (
    SELECT {key_columns}, count(*) AS rows, {ids} AS ids
    FROM {public_table} t
    WHERE {key_complete}
    GROUP BY {key_columns}
    HAVING count(*) > 1
) r
WHERE {merge_inserted}
