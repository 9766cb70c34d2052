-- Publishing holds off every other writer of the table (readers go on) until it commits, so what the
-- audit judged still holds when the rows go in.
LOCK TABLE {public_table} IN SHARE ROW EXCLUSIVE MODE
