-- What a staging table must share with the target's table it stands for (Parameters: public, staging
-- regclass text). One row per side: its columns in order (name, type, NOT NULL, collation), whether any
-- column is generated, and its unique indexes that no constraint backs (LIKE copies those; staging_schema
-- can add constraints only). The target's keys and CHECK constraints come from keys.sql.
SELECT side,
       (SELECT jsonb_agg(jsonb_build_array(a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull,
                                           a.attcollation) ORDER BY a.attnum)
        FROM pg_catalog.pg_attribute a WHERE a.attrelid = t.rel AND a.attnum > 0 AND NOT a.attisdropped) AS columns,
       EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
               WHERE a.attrelid = t.rel AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated <> '') AS generated,
       (SELECT count(*) FROM pg_catalog.pg_index i
        WHERE i.indrelid = t.rel AND i.indisunique
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint con WHERE con.conindid = i.indexrelid
                                                                      AND con.conrelid = t.rel)) AS unbacked_unique
FROM (VALUES ('public', %(public)s::regclass), ('staging', %(staging)s::regclass)) AS t(side, rel)
ORDER BY side
