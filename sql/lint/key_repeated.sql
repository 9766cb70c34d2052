-- pgmerge plan --dsn: natural-key values one database holds more than once (its rows would all be matched
-- to one row): how many values, and how many rows hold them.
SELECT count(*) AS repeated_keys, coalesce(sum(n), 0) AS rows
FROM (SELECT count(*) AS n FROM {table} t WHERE {key_complete} GROUP BY {key_columns} HAVING count(*) > 1) r
