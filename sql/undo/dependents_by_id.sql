-- Rows the merge did not insert that reference rows it did: undo would leave them dangling.
SELECT count(*) FROM {public_table} c
WHERE {references}
  AND NOT EXISTS (SELECT 1 FROM {kept} k WHERE k.{id} = c.{id})
