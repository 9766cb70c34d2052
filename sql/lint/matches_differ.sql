-- A natural key that pairs unrelated rows: most dump #2 rows it matched to a target row differ from it in
-- their plain columns (not key, id or references), where real conflicts are a few. (From {least} matches;
-- judged on {judged} matches at most, found by id: a key that pairs unrelated rows shows in any of them.)
SELECT s.matched, s.differing
FROM (SELECT count(*) AS matched,
             count(*) FILTER (WHERE jsonb_build_array({staging_content}) IS DISTINCT FROM jsonb_build_array({public_content}))
             AS differing
      FROM (SELECT staging_id, public_id FROM {map} WHERE NOT inserted LIMIT {judged}) m
      JOIN {staging_table} st ON st.{id} = m.staging_id
      JOIN {public_table} p ON p.{id} = m.public_id) s
WHERE s.matched >= {least} AND s.differing * 2 > s.matched
