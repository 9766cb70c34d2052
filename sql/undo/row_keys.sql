-- Per table (by quoted name): the columns of a unique index that identifies its rows, the primary key
-- first, else a unique index on NOT NULL columns only, without expressions or a predicate.
SELECT DISTINCT ON (t) t,
       ARRAY(SELECT a.attname FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(n, o)
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o)
FROM unnest(%(tables)s::text[]) t
JOIN pg_index i ON i.indrelid = to_regclass(t)
WHERE i.indisunique AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL
  AND NOT EXISTS (SELECT 1 FROM unnest(i.indkey::int2[]) k(n)
                  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n
                  WHERE NOT a.attnotnull)
ORDER BY t, i.indisprimary DESC, i.indnatts
