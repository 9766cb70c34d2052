ALTER TABLE {clone} ADD CONSTRAINT {constraint} {definition}
