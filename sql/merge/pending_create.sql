-- The rows publish will insert into the target table, final values only, where only pgmerge sees them;
-- and the merged view: the target table as it will be after publishing (target ∪ pending), which every
-- check and the lossless proof read.
DROP VIEW IF EXISTS {merged_view};
DROP TABLE IF EXISTS {pending};
CREATE UNLOGGED TABLE {pending} AS SELECT {columns} FROM {public_table} WITH NO DATA;
CREATE VIEW {merged_view} AS
SELECT {columns} FROM {public_table}
UNION ALL
SELECT {columns} FROM {pending}
