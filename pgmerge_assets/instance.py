"""The Dagster home under a work directory: run history kept in a `dagster` database on the target's server,
so the CLI's runs show in the UI and nothing is lost when the UI restarts."""

from __future__ import annotations

import copy
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import dagster as dg
import psycopg
import yaml
from psycopg.conninfo import conninfo_to_dict

from dagster_postgres.event_log import PostgresEventLogStorage
from dagster_postgres.utils import get_token_provider_from_config, pg_url_from_config

from pgmerge_assets.pg.embedded import ensure_database

DAGSTER_DB = "dagster"
HOME_DIR = "dagster_home"
# dagster.yaml names this variable instead of holding the password; pgmerge sets it for its own processes
PASSWORD_ENV = "PGMERGE_DAGSTER_PASSWORD"


def storage_config(server_dsn: str) -> dict:
    """dagster-postgres settings for the `dagster` database of `server_dsn`'s server.

    psycopg2 explicitly: a bare postgresql:// URL picks psycopg 3 under SQLAlchemy 2.1, which breaks the
    webserver's NOTIFY (dagster-io/dagster#33958). A socket directory (the embedded server) goes in `params`.
    """
    params = {k: v for k, v in conninfo_to_dict(server_dsn).items() if v not in (None, "")}
    host = str(params.pop("host", ""))
    db = {"scheme": "postgresql+psycopg2", "username": params.pop("user", os.environ.get("PGUSER", "postgres")),
          "db_name": DAGSTER_DB, "port": int(params.pop("port", 5432))}
    if params.pop("password", None):
        db["password"] = {"env": PASSWORD_ENV}
    params.pop("dbname", None)
    if host.startswith("/"):
        db["hostname"], params["host"] = "", host
    else:
        db["hostname"] = host or "localhost"
    # run history is worth an fsync per run, not per event: a crash loses at most the last events' records
    params["options"] = "-c synchronous_commit=off"
    db["params"] = params

    def storage(module: str, cls: str) -> dict:
        return {"module": module, "class": cls, "config": {"postgres_db": copy.deepcopy(db)}}

    return {"run_storage": storage("dagster_postgres.run_storage", "PostgresRunStorage"),
            "event_log_storage": storage("pgmerge_assets.instance", "EventLogStorage"),
            "schedule_storage": storage("dagster_postgres.schedule_storage", "PostgresScheduleStorage"),
            # a launched run starts at once instead of waiting for the daemon to dequeue it; the merge lock
            # already keeps two merges of one target apart
            "run_coordinator": {"module": "dagster._core.run_coordinator", "class": "DefaultRunCoordinator"},
            # the steps log through Dagster's event log; capturing their stdout starts `tail` processes per step
            "compute_logs": {"module": "dagster._core.storage.noop_compute_log_manager",
                             "class": "NoOpComputeLogManager"},
            # Dagster's usage statistics: a database tool phones nowhere by default (and each of a run's ~60
            # telemetry lines cost a run-storage query and two file reads on the run's critical path)
            "telemetry": {"enabled": False}}


class EventLogStorage(PostgresEventLogStorage):
    """dagster-postgres's event log, remembering its own tables: it asks the catalog which columns asset_keys has,
    or whether a table exists, for nearly every event it stores (1.5–2 s of a run's ~3xx events on 2 cores).
    Those tables change only by `dagster instance migrate` (`upgrade`, which forgets the answers)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._known: dict[tuple[str, str], bool] = {}

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> "EventLogStorage":
        return cls(inst_data=inst_data, postgres_url=pg_url_from_config(config_value),
                   should_autocreate_tables=config_value.get("should_autocreate_tables", True),
                   token_provider=get_token_provider_from_config(config_value))

    def _remembered(self, key: tuple[str, str], ask) -> bool:
        if key not in self._known:
            self._known[key] = ask()
        return self._known[key]

    def _has_asset_key_col_on_connection(self, conn, column_name: str) -> bool:
        return self._remembered(("asset_keys column", column_name),
                                lambda: super(EventLogStorage, self)._has_asset_key_col_on_connection(conn, column_name))

    def has_table(self, table_name: str) -> bool:
        return self._remembered(("table", table_name), lambda: super(EventLogStorage, self).has_table(table_name))

    def upgrade(self) -> None:
        super().upgrade()
        self._known.clear()


def password_env(server_dsn: str) -> dict[str, str]:
    """The environment a process reading dagster.yaml needs: the password, when the DSN has one."""
    password = conninfo_to_dict(server_dsn).get("password")
    return {PASSWORD_ENV: str(password)} if password else {}


def dagster_home(workdir: str | os.PathLike, server_dsn: str) -> Path:
    """Create the `dagster` database (if absent) and `workdir/dagster_home/dagster.yaml` pointing at it."""
    ensure_database(server_dsn, DAGSTER_DB)
    home = Path(workdir).resolve() / HOME_DIR
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(
        "# written by pgmerge: runs, events and schedules in the `dagster` database of the target's server\n"
        + yaml.safe_dump(storage_config(server_dsn), sort_keys=False))
    return home


@contextmanager
def workdir_instance(workdir: str | os.PathLike, server_dsn: str) -> Iterator[dg.DagsterInstance]:
    """$DAGSTER_HOME when set; else the work directory's home; a throwaway one (said on stderr) when the
    server refuses to create the `dagster` database."""
    if os.environ.get("DAGSTER_HOME"):
        yield dg.DagsterInstance.get()
        return
    try:
        home = dagster_home(workdir, server_dsn)
    except psycopg.Error as exc:
        print(f"pgmerge: run history not kept (database {DAGSTER_DB}: {str(exc).strip()}); "
              "set DAGSTER_HOME to keep it elsewhere", file=sys.stderr)
        with dg.DagsterInstance.ephemeral() as instance:
            yield instance
        return
    os.environ.update(password_env(server_dsn))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        # dagster-postgres opens a connection per event unless pooled; a run stores hundreds of events
        instance.optimize_for_webserver(statement_timeout=0, pool_recycle=3600, max_overflow=4)
        for storage in (instance.event_log_storage, instance.run_storage):
            keep_connections(storage, KEPT_CONNECTIONS)
        yield instance


KEPT_CONNECTIONS = 5  # a run's step threads (two on two cores, up to four) and its main thread store events at once


def keep_connections(storage, size: int) -> None:
    """dagster-postgres pools one connection per storage and opens (and closes) another for every event stored
    while that one is in use: ~50 new server sessions a run, ~0.5 core-seconds at scale 5. Keep `size` (plus
    the same overflow as before). SQLAlchemy's `dispose` makes the pool again from the old one's settings."""
    engine = getattr(storage, "_engine", None)
    queue = getattr(getattr(engine, "pool", None), "_pool", None)
    if queue is not None and getattr(queue, "maxsize", size) < size:
        queue.maxsize = size
        engine.dispose()
