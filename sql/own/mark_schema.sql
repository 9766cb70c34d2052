-- Mark a schema as pgmerge's own: only schemas carrying this mark are ever written or dropped.
CREATE SCHEMA IF NOT EXISTS {schema};
COMMENT ON SCHEMA {schema} IS {marker}
