-- The staging rows their map marks as new, as publish will insert them: under their mapped ids, every
-- foreign key (cycle columns too) translated through its parent's map.
INSERT INTO {pending} ({columns})
SELECT {values}
FROM {staging_table} st
JOIN {map} m ON m.staging_id = st.{id} AND m.inserted
{parent_joins}
