DELETE FROM {public_table} t USING {kept} k WHERE t.{id} = k.{id}
RETURNING 1
