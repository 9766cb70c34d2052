"""SQL templates from `sql/`: reviewable files whose identifiers are filled in with psycopg.sql."""

from __future__ import annotations

from functools import cache

from psycopg import sql

from pgmerge_assets.paths import SQL_DIR


@cache
def load(name: str) -> str:
    """The text of `sql/<name>`."""
    return (SQL_DIR / name).read_text()


def compose(template: str, /, **parts: sql.Composable) -> sql.Composed:
    """`sql/<template>` with its `{placeholders}` filled by identifiers, literals or composed fragments."""
    return sql.SQL(load(template).strip().rstrip(";")).format(**parts)
