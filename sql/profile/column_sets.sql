-- Distinct values of pairs and triples of not-null columns of one table, over at most {limit} rows: a set
-- whose distinct count equals the rows is unique in the sample.
SELECT {aggregates}
FROM (SELECT * FROM {table} LIMIT {limit}) s
