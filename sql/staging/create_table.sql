-- An empty clone: columns, defaults, identity, generated columns, CHECK/NOT NULL constraints and
-- every index (primary key, natural-key UNIQUE). LIKE never copies foreign keys or triggers.
CREATE UNLOGGED TABLE {clone} (
    LIKE {table}
    INCLUDING DEFAULTS
    INCLUDING IDENTITY
    INCLUDING GENERATED
    INCLUDING INDEXES
    INCLUDING CONSTRAINTS
    INCLUDING STORAGE
    INCLUDING COMMENTS
)
