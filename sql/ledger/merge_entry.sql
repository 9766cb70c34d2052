-- What undo needs of one merge: the spec it merged by and the sequences it moved.
SELECT spec, sequences FROM {ledger} WHERE merge_id = %(merge_id)s
