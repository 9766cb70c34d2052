"""One merge at a time per target: a session advisory lock held by a connection of the merging process,
from the first step that writes pgmerge's objects until publish (or undo) ends. A killed process loses its
connection and so the lock; a second merge fails at once, naming who holds it."""

from __future__ import annotations

import hashlib
import threading
from datetime import datetime, timezone

import psycopg

from pgmerge_assets.templates import load

DEFAULT_LOCK_TIMEOUT = 60.0  # seconds a statement waits for a table lock before it fails, naming who holds it

_held: dict[tuple[str, int], psycopg.Connection] = {}
_taking = threading.Lock()  # steps run in threads: two of them must not both try to take the lock


class MergeRunningError(RuntimeError):
    """Another merge into the same target holds the lock."""


def lock_key(map_schema: str) -> int:
    """A stable signed 64-bit key per pgmerge schema of a database."""
    return int.from_bytes(hashlib.sha1(f"pgmerge:{map_schema}".encode()).digest()[:8], "big", signed=True)


def hold(dsn: str, map_schema: str, what: str = "merge") -> None:
    """Take the lock for this process, or find that it already holds it."""
    with _taking:
        _hold(dsn, map_schema, what)


def _hold(dsn: str, map_schema: str, what: str) -> None:
    key = lock_key(map_schema)
    conn = _held.get((dsn, key))
    if conn is not None and not conn.closed:
        return
    since = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    conn = psycopg.connect(dsn, autocommit=True, application_name=f"pgmerge {what} since {since}")
    if conn.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone()[0]:
        _held[(dsn, key)] = conn
        return
    holder = conn.execute(load("own/lock_holder.sql"), {"high": (key >> 32) & 0xFFFFFFFF,
                                                        "low": key & 0xFFFFFFFF}).fetchone()
    conn.close()
    who = f"pid {holder[0]}, {holder[1]}" if holder else "a session that just ended"
    raise MergeRunningError(f"another pgmerge merge or undo into this database is running ({who}); "
                            f"wait for it to end or stop it. Nothing was changed.")


def release(dsn: str, map_schema: str) -> None:
    conn = _held.pop((dsn, lock_key(map_schema)), None)
    if conn is not None:
        conn.close()


def release_all() -> None:
    """Let go of every lock this process holds (the end of an in-process run)."""
    while _held:
        _held.popitem()[1].close()
