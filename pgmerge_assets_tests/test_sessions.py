"""Connections within a run: handed on from step to step, each back to the server's defaults, never one the
server dropped, all closed when the run ends; outside a run, each closed at once."""

from __future__ import annotations

import time

import psycopg
import pytest

from pgmerge_assets.assets.resources import TargetDatabase
from pgmerge_assets.pg import sessions


def _backend(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT pg_backend_pid()").fetchone()[0]


def _gone(dsn: str, pid: int) -> bool:
    """Whether the server session `pid` has ended (it ends a moment after its client closes)."""
    with psycopg.connect(dsn) as conn:
        for _ in range(50):
            if not conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
                return True
            time.sleep(0.1)
    return False


def test_a_run_hands_its_connections_on_and_closes_them_when_it_ends(fresh_db, tmp_path):
    target = TargetDatabase(dsn=fresh_db, workdir=str(tmp_path))
    with sessions.pooling():
        with target.connect() as conn:
            first = _backend(conn)
            conn.execute("CREATE TABLE t (x int)")
            conn.commit()
            conn.isolation_level, conn.read_only = psycopg.IsolationLevel.REPEATABLE_READ, True  # as join_snapshot
            conn.execute("SELECT count(*) FROM t")
        with target.connect() as conn:
            assert _backend(conn) == first
            assert conn.execute("SHOW transaction_isolation").fetchone()[0] == "read committed"
            assert conn.execute("SHOW work_mem").fetchone()[0] == "64MB"  # set up once, kept
            conn.execute("INSERT INTO t VALUES (1)")  # committed at the end, as psycopg's `with` does
        with pytest.raises(psycopg.errors.DivisionByZero):
            with target.connect() as conn:
                conn.execute("INSERT INTO t VALUES (2)")
                conn.execute("SELECT 1 / 0")
        with target.connect() as conn:
            assert _backend(conn) == first  # an error in the caller's transaction does not cost the session
            assert conn.execute("SELECT array_agg(x) FROM t").fetchone()[0] == [1]  # the failed one rolled back
        with pytest.raises(psycopg.OperationalError):
            with target.connect() as conn, psycopg.connect(fresh_db, autocommit=True) as other:
                other.execute("SELECT pg_terminate_backend(%s)", [first])
                conn.execute("SELECT 1")
        with target.connect() as conn:
            second = _backend(conn)  # the dropped session was not handed on
        assert second != first
        assert not _gone(fresh_db, second)  # kept for the next step
    assert _gone(fresh_db, second)


def test_a_session_handed_on_tells_only_the_current_callers_log_its_notices(fresh_db, tmp_path):
    target = TargetDatabase(dsn=fresh_db, workdir=str(tmp_path))
    first_log: list[str] = []
    second_log: list[str] = []
    with sessions.pooling():
        with target.connect() as conn, sessions.notices_to(conn, first_log.append):
            conn.execute("DROP TABLE IF EXISTS first_absent")
            pid = _backend(conn)
        with target.connect() as conn, sessions.notices_to(conn, second_log.append):
            assert _backend(conn) == pid  # the same session, handed on
            conn.execute("DROP TABLE IF EXISTS second_absent")
        with target.connect() as conn:
            conn.execute("DROP TABLE IF EXISTS nobody_listens")
    assert first_log == ['table "first_absent" does not exist, skipping']
    assert second_log == ['table "second_absent" does not exist, skipping']


def test_outside_a_run_each_connection_is_closed_at_once(fresh_db, tmp_path):
    target = TargetDatabase(dsn=fresh_db, workdir=str(tmp_path))
    with target.connect() as conn:
        pid = _backend(conn)
    assert _gone(fresh_db, pid)
