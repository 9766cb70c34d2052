-- A table without id: delete one target row per kept row of the same content (the n-th copy for the n-th).
DELETE FROM {public_table} t
WHERE (t.tableoid, t.ctid) IN (
    SELECT p.tableoid, p.ctid
    FROM (SELECT p.tableoid, p.ctid, {public_content} AS content,
                 row_number() OVER (PARTITION BY {public_content}) AS copy
          FROM {public_table} p) p
    JOIN (SELECT {kept_content} AS content, row_number() OVER (PARTITION BY {kept_content}) AS copy
          FROM {kept} k) k ON k.content = p.content AND k.copy = p.copy)
RETURNING 1
