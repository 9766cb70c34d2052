-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
-- (The sample rows are numbered in a column of their own, so no user column name can clash.)
SELECT count(*) AS offending,
       coalesce(jsonb_agg(b.sample_row) FILTER (WHERE b.sample_number <= 20), '[]'::jsonb) AS sample
FROM (SELECT to_jsonb(q) AS sample_row, row_number() OVER () AS sample_number FROM ({offending_rows}) q) b
