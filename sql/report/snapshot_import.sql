-- A helper connection of the report reads the snapshot the report exported (first statement of its
-- REPEATABLE READ transaction).
SET TRANSACTION SNAPSHOT {snapshot}
