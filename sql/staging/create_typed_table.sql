-- A staging table typed as dump #2 types it (columns, types, NOT NULL), made while dump #1 is still being
-- restored; staging_schema compares it with the target's table and adds the target's keys, or clones the
-- target's table after all.
CREATE UNLOGGED TABLE {clone} ({columns})
