ALTER TABLE {clone} DROP CONSTRAINT {constraint}
