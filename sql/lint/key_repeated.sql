-- pgmerge plan --dsn: natural-key values one database holds more than once (its rows would all be matched
-- to one row), with how many rows hold each.
SELECT jsonb_build_array({key_columns}) AS natural_key, count(*) AS rows
FROM {table} t
WHERE {key_complete}
GROUP BY {key_columns}
HAVING count(*) > 1
