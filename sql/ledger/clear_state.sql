DELETE FROM {state} WHERE key = %(key)s
