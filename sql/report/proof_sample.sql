-- Sample rows of one verdict of a mapped table's proof (at most 20 staging ids): the key, the
-- staging row translated through the maps, and the row of the merged view its map entry names, as JSON.
SELECT coalesce(jsonb_agg(jsonb_build_object('key', {staging_key}, 'staging', {staging_content},
                                             'public', {public_content})), '[]')
FROM {source} st
{parent_joins}
LEFT JOIN {map} m ON m.staging_id = st.{id}
LEFT JOIN {merged_view} p ON p.{id} = m.public_id
