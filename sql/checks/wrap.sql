-- Every guard and check: count the offending rows and keep a sample of at most 20 as JSON.
SELECT count(*) AS offending, coalesce(jsonb_agg(to_jsonb(b) - 'n') FILTER (WHERE b.n <= 20), '[]'::jsonb) AS sample
FROM (SELECT q.*, row_number() OVER () AS n FROM ({offending_rows}) q) b
