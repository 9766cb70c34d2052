-- setval() alone is not transactional: a kill before COMMIT would leave the sequence moved. RESTART gives the
-- sequence new storage in this transaction, so the setval() after it commits or rolls back with the rows.
ALTER SEQUENCE {sequence_table} RESTART;
SELECT setval({sequence}, {value}, {is_called})
