-- A history (append) table most of whose dump #2 rows the target already holds: its id map (built by content,
-- foreign keys translated) matched them to target rows. Shared history is dropped as duplicates; but if the
-- rows are records (an entity), a record both hold with some other value would be added twice: name a
-- natural_key. The map has counted them: nothing is compared again.
SELECT s.staging_rows, s.identical_to_target
FROM (SELECT count(*) AS staging_rows, count(*) FILTER (WHERE NOT inserted) AS identical_to_target
      FROM {map}) s
WHERE s.identical_to_target * 2 > s.staging_rows
