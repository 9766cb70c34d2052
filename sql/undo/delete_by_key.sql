-- Delete the kept rows from the target by a key that identifies them: the id, or for a table without one the
-- columns of its primary key (or of a unique index on NOT NULL columns); one hash join.
DELETE FROM {public_table} t USING {kept} k WHERE {match}
RETURNING 1
