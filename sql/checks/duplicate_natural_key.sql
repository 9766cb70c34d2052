-- Natural keys the merge made ambiguous: held by more than one public row, one of them inserted by the
-- merge, on target ∪ pending. (Keys public repeated before the merge are reported by natural_keys_repeated.)
-- Where the target's own unique index holds its keys unique, a key can only repeat through
-- a pending row: only the rows sharing a key with one are grouped (a hash semi-join). Else every key is
-- grouped (one hash aggregate), and only repeated keys are looked up in the map.
SELECT {key_out}, r.rows
FROM (
    SELECT {key_columns}, count(*) AS rows, {ids} AS ids
    FROM {public_table} t
    WHERE {key_complete} AND NOT {held_unique}
    GROUP BY {key_columns}
    HAVING count(*) > 1
) r
WHERE {merge_inserted}
UNION ALL
SELECT {key_out}, r.rows
FROM (
    SELECT {key_columns}, count(*) AS rows
    FROM {public_table} t
    WHERE {key_complete} AND {held_unique} AND EXISTS (SELECT 1 FROM {pending} p WHERE {key_match})
    GROUP BY {key_columns}
    HAVING count(*) > 1
) r
