-- Pending rows are found by id (array repair, the merged view, publish's checks).
CREATE INDEX IF NOT EXISTS {index} ON {pending} ({id})
