"""Where the checked-in SQL and the reference spec live, in a checkout and in an installed wheel."""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_REPO = _PACKAGE.parent

SQL_DIR = _REPO / "sql" if (_REPO / "sql").is_dir() else _PACKAGE / "sql"
REFERENCE_SPEC = _REPO / "pgmerge.yaml" if (_REPO / "pgmerge.yaml").is_file() else _PACKAGE / "pgmerge.yaml"
REFERENCE_SCHEMA_SQL = SQL_DIR / "reference" / "schema.sql"
