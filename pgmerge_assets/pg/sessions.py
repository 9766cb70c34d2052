"""The connections pgmerge's steps have open, so that an interrupted run can cancel what they are doing: a
step running in a thread (see `executor.py`) hears of the interruption only between Python statements,
never while it waits on the server for a statement to finish. Within a run, steps hand their connections
on to the next (`pooling`): a new server session costs ~6 ms to open and a few more to warm its catalog
caches, and a run opens some seventy."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

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


_idle: dict[str, list[psycopg.Connection]] = {}
_pooling = 0  # runs under way in this process that hand connections on


@contextmanager
def pooling() -> Iterator[None]:
    """While a run is under way: `session` keeps the connections its callers are done with for the next caller
    (each ends the transaction it was in, as psycopg's `with` does); afterwards they are closed."""
    global _pooling
    with _lock:
        _pooling += 1
    try:
        yield
    finally:
        with _lock:
            _pooling -= 1
            left = [] if _pooling else [c for conns in _idle.values() for c in conns]
            if left:
                _idle.clear()
        for conn in left:
            conn.close()


@contextmanager
def session(dsn: str, setup: Callable[[psycopg.Connection], None]) -> Iterator[psycopg.Connection]:
    """A connection to `dsn`, `setup` once when new; at the end its transaction is committed (rolled back on an
    error) and it is closed, or, while `pooling`, kept for the next caller with the server's defaults for
    isolation and read-only (which `join_snapshot` changes)."""
    with _lock:
        conn = _idle.get(dsn, []).pop() if _pooling and _idle.get(dsn) else None
    if conn is None:
        conn = connect(dsn)
        try:
            setup(conn)
            conn.commit()
        except BaseException:
            conn.close()
            raise
    try:
        yield conn
    except BaseException:
        _put_back(dsn, conn, commit=False)
        raise
    _put_back(dsn, conn, commit=True)


def _put_back(dsn: str, conn: psycopg.Connection, commit: bool) -> None:
    """End the connection's transaction (a failing commit raises, as psycopg's `with` would) and keep it while
    pooling; a connection that cannot be reset is closed."""
    kept = False
    try:
        if commit:
            conn.commit()
        if not conn.closed and not conn.broken:
            try:
                conn.rollback()
                conn.isolation_level, conn.read_only = None, None
                with _lock:
                    if _pooling:
                        _idle.setdefault(dsn, []).append(conn)
                        kept = True
            except psycopg.Error:
                pass  # a connection the server dropped, or a rollback that failed: never handed on
    finally:
        if not kept:
            conn.close()


@contextmanager
def notices_to(conn: psycopg.Connection, log: Callable[[str], None] | None) -> Iterator[None]:
    """The server's notices on `conn` (a table not there to drop, …) go to `log` until the block ends: a session
    handed on must not keep telling an earlier step's log what a later caller does."""
    if log is None:
        yield
        return

    def handler(diagnostic: psycopg.errors.Diagnostic) -> None:
        log(diagnostic.message_primary)

    conn.add_notice_handler(handler)
    try:
        yield
    finally:
        conn.remove_notice_handler(handler)


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
