-- A different dump #2 was loaded: its staging ids mean other rows, so old maps and logs must go.
DROP SCHEMA IF EXISTS {map_schema} CASCADE
