-- Natural keys the merge made ambiguous: held by more than one public row, one of them inserted by the
-- merge, on target ∪ pending. (Keys public repeated before the merge are reported by natural_keys_repeated.)
SELECT {key_columns}, count(*) AS rows
FROM {public_table} t
WHERE {key_complete}
GROUP BY {key_columns}
HAVING count(*) > 1 AND {merge_inserted}
