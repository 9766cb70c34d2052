-- Map every staging row when both sides' own unique indexes hold the natural key unique (the common case:
-- the spec drafter keys tables on such constraints) and the key has no foreign-key parts: each staging row
-- then has one public row with its key at most, and no other staging row shares it. A match maps to that
-- row (inserted = false); every other row is new and gets a fresh id (or, for keys no sequence feeds, its
-- own), in staging id order. Two hash joins on the key's own columns: the general statement
-- (map_natural_key.sql) picks among candidates and groups repeated keys, which cannot happen here. A key
-- holding a NULL matches nothing (=), so its row is new, as there. PostgreSQL asks whether both hold once,
-- before reading a row; where they do not, this inserts nothing and the general statement maps every row.
INSERT INTO {map} (staging_id, public_id, inserted)
SELECT st.{id}, p.{id}, false
FROM {staging_table} st
JOIN {public_table} p ON {key_equal}
WHERE {held}
UNION ALL
SELECT l.staging_id, {new_id}, true
FROM (SELECT st.{id} AS staging_id
      FROM {staging_table} st
      WHERE {held} AND NOT EXISTS (SELECT 1 FROM {public_table} p WHERE {key_equal})
      ORDER BY st.{id}) l
