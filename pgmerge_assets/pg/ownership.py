"""Touch only what is ours: pgmerge marks every schema it creates, and never writes or drops one without
the mark — a user's schema that happens to be called `staging` stays as it is."""

from __future__ import annotations

import psycopg
from psycopg import sql

from pgmerge_assets.templates import compose, load

MARK = "pgmerge:"


class NotOursError(RuntimeError):
    """A schema pgmerge would write exists, and pgmerge did not create it."""


def check_ours(conn: psycopg.Connection, schema: str, option: str) -> bool:
    """True when the schema exists with pgmerge's mark, False when it does not exist; raises when it exists
    without the mark (naming the spec option that picks another name)."""
    row = conn.execute(load("own/schema_marker.sql"), {"schema": schema}).fetchone()
    if row is None:
        return False
    if not (row[0] or "").startswith(MARK):
        raise NotOursError(f"schema {schema} already exists and pgmerge did not create it (no pgmerge mark on it): "
                           f"pgmerge never writes or drops it. Choose another name with the spec's {option} "
                           f"(e.g. {option}: pgmerge_{schema})")
    return True


def mark(conn: psycopg.Connection, schema: str, role: str) -> None:
    """Create the schema if needed and mark it as pgmerge's."""
    conn.execute(compose("own/mark_schema.sql", schema=sql.Identifier(schema),
                         marker=sql.Literal(f"{MARK} {role}; created by pgmerge, which may empty, drop and recreate it")))


def claim(conn: psycopg.Connection, schema: str, role: str, option: str) -> None:
    """The schema exists afterwards, marked as pgmerge's; an unmarked one of that name is refused."""
    if not check_ours(conn, schema, option):
        mark(conn, schema, role)
