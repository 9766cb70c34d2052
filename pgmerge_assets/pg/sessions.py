"""The connections pgmerge's steps have open, so that an interrupted run can cancel what they are doing: a
step running in a thread (see `executor.py`) hears of the interruption only between Python statements,
never while it waits on the server for a statement to finish."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from contextlib import AbstractContextManager

import psycopg
from psycopg import sql

from pgmerge_assets.templates import compose

Connect = Callable[[], AbstractContextManager[psycopg.Connection]]  # a new connection, as TargetDatabase.connect gives

_open: weakref.WeakSet[psycopg.Connection] = weakref.WeakSet()
_lock = threading.Lock()


def connect(dsn: str, **kwargs) -> psycopg.Connection:
    """psycopg.connect, remembered until the connection is gone."""
    conn = psycopg.connect(dsn, **kwargs)
    with _lock:
        _open.add(conn)
    return conn


def cancel_all() -> None:
    """Cancel the statement running on each open connection (idle ones are unaffected)."""
    with _lock:
        conns = [c for c in _open if not c.closed]
    for conn in conns:
        try:
            conn.cancel_safe()
        except psycopg.Error:
            pass  # the connection just ended: nothing runs on it to cancel


def join_snapshot(conn: psycopg.Connection, snapshot: str) -> None:
    """Make `conn` read, read-only, exactly what the transaction that exported `snapshot` sees."""
    conn.isolation_level, conn.read_only = psycopg.IsolationLevel.REPEATABLE_READ, True
    conn.execute(compose("report/snapshot_import.sql", snapshot=sql.Literal(snapshot)))
