-- The first statement of a transaction that only reads, and reads one state of the database throughout
-- (its snapshot can be shared with helper connections).
SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY
