-- Rows holding an array element among the kept ids: one hash join of all the table's elements with the
-- ids (an overlap test against an array of them would compare each element with every id).
(c.tableoid, c.ctid) IN (SELECT a.tableoid, a.ctid FROM {table} a, unnest(a.{column}) e
                         WHERE e IN ({parent_ids}))
