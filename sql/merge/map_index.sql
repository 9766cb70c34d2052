-- The map's indexes, built once it is filled: every later step finds map entries by staging id (the
-- unique index also proves each staging row is mapped once) and publish's guards by public id.
CREATE UNIQUE INDEX IF NOT EXISTS {map_staging_index} ON {map} (staging_id);
CREATE INDEX IF NOT EXISTS {map_public_index} ON {map} (public_id)
