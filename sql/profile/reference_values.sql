-- An integer column that may hold ids of another table: its non-null values, and how many of them name
-- no row of that table (none: every value is one of its ids).
SELECT count(s.{column}) AS non_null,
       count(s.{column}) FILTER (WHERE NOT EXISTS (SELECT 1 FROM {ref_table} r WHERE r.{ref_id} = s.{column})) AS missing
FROM (SELECT {column} FROM {table} LIMIT {limit}) s
