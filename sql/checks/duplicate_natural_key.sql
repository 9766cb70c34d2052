-- Natural keys the merge made ambiguous: held by more than one public row, one of them inserted by the
-- merge, on target ∪ pending. (Keys public repeated before the merge are reported by natural_keys_repeated.)
-- Where the target's own unique index holds its keys unique, a key can only repeat through a pending row:
-- only the pending rows are grouped, each key then looked up once in the target (a hash join), the target's
-- rows never grouped. Else every key of target ∪ pending is grouped (one hash aggregate), and only repeated
-- keys are looked up in the map.
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
    SELECT g.*, g.pending_rows + CASE WHEN t.ctid IS NULL THEN 0 ELSE 1 END AS rows
    FROM (SELECT {pending_key_columns}, count(*) AS pending_rows
          FROM {pending} p
          WHERE {pending_key_complete} AND {held_unique}
          GROUP BY {pending_key_columns}) g
    LEFT JOIN {target_table} t ON {target_key_match}
) r
WHERE r.rows > 1
