-- A history (append) table most of whose dump #2 rows equal a target row in every plain column: the two
-- databases share these rows. Shared history is dropped as duplicates; but if the rows are records (an
-- entity), a record both hold with some other value would be added twice: name a natural_key.
SELECT s.staging_rows, s.identical_to_target
FROM (SELECT count(*) AS staging_rows, count(p.content) AS identical_to_target
      FROM {staging_table} st
      LEFT JOIN (SELECT DISTINCT jsonb_build_array({public_content}) AS content FROM {public_table} p) p
             ON p.content = jsonb_build_array({staging_content})) s
WHERE s.identical_to_target * 2 > s.staging_rows
