UPDATE {ledger} SET undone_at = clock_timestamp() WHERE merge_id = %(merge_id)s
