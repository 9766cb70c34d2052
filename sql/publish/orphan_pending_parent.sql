NOT EXISTS (SELECT 1 FROM {parent_pending} p WHERE {match})
