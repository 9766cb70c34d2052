-- A scratch database for dump #2: from template0 (nothing inherited), UTF8, byte-order collation.
CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'
