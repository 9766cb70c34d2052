-- Per column of one table: non-null values and distinct values, over at most {limit} rows (a sample of
-- a big table: a repeated value there proves a column not unique, and the rest is an estimate).
SELECT count(*) AS rows, {aggregates}
FROM (SELECT * FROM {table} LIMIT {limit}) s
