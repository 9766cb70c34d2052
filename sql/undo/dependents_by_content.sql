-- Rows the merge did not insert that reference rows it did (a table without id: the rows referencing
-- them now, less those the merge inserted).
SELECT greatest((SELECT count(*) FROM {public_table} c WHERE {references})
                - (SELECT count(*) FROM {kept} c WHERE {kept_references}), 0)
