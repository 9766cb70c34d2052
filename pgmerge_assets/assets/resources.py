"""Dagster resources: the target database and where the dumps come from. Nothing connects at load time."""

import threading
from contextlib import AbstractContextManager
from functools import cache
from pathlib import Path

import dagster as dg
import psycopg

from pgmerge_assets.pg import sessions
from pgmerge_assets.pg.merge_lock import DEFAULT_LOCK_TIMEOUT
from pgmerge_assets.pg.tools import PG_BIN_ENV
from pgmerge_assets.pg.embedded import EMBEDDED_DBNAME, embedded_server_uri, ensure_database, redact, with_dbname

TARGET_DSN_ENV = "PGMERGE_TARGET_DSN"
WORKDIR_ENV = "PGMERGE_WORKDIR"
DUMP1_ENV = "PGMERGE_DUMP1"
DUMP2_ENV = "PGMERGE_DUMP2"
SOURCE_DSN_ENV = "PGMERGE_SOURCE_DSN"
SCRATCH_DSN_ENV = "PGMERGE_SCRATCH_DSN"
SPEC_ENV = "PGMERGE_SPEC"
LOCK_TIMEOUT_ENV = "PGMERGE_LOCK_TIMEOUT"
DEFAULT_WORKDIR = ".pgmerge"
INPUT_ENV = {"dump1": DUMP1_ENV, "dump2": DUMP2_ENV, "source_dsn": SOURCE_DSN_ENV, "scratch_dsn": SCRATCH_DSN_ENV,
             "pg_bin": PG_BIN_ENV, "spec": SPEC_ENV}  # MergeInputs' fields and the variables that set them


_starting = threading.Lock()  # steps run in threads: the first two must not both start the server


def embedded_target(workdir: str) -> str:
    """Start the embedded server and create its database once per process, not on every connection."""
    with _starting:
        return _embedded_target(workdir)


@cache
def _embedded_target(workdir: str) -> str:
    admin = embedded_server_uri(workdir)
    ensure_database(admin, EMBEDDED_DBNAME)
    return with_dbname(admin, EMBEDDED_DBNAME)


WORK_MEM = "64MB"  # per sort or hash node of pgmerge's own sessions; the server's setting elsewhere


class TargetDatabase(dg.ConfigurableResource):
    """The database that ends up holding the merge. Without a DSN, an embedded server under `workdir`."""

    dsn: str | None = None
    workdir: str = DEFAULT_WORKDIR
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT  # seconds any statement waits for a table lock before failing

    def resolved_dsn(self) -> str:
        return self.dsn or embedded_target(str(Path(self.workdir).resolve()))

    def describe(self) -> str:
        """Where the target is, without credentials."""
        return redact(self.dsn) if self.dsn else f"embedded server under {Path(self.workdir).resolve()}"

    def connect(self) -> AbstractContextManager[psycopg.Connection]:
        """A session set up for pgmerge's queries (within a run, one an earlier step was done with)."""
        return sessions.session(self.resolved_dsn(), self._setup)

    def _setup(self, conn: psycopg.Connection) -> None:
        # the maps, checks and proof are hash joins and aggregates over whole tables: with the server's default
        # 4MB they spill to disk in batches (measured: checks 1.7x and proof 1.2x slower at scale 500).
        # pgmerge's queries are big but few: JIT compiling each costs up to 0.7 s (measured) and rarely pays;
        # and they join whole tables: a memoized index lookup per array element ran 2x slower than one hash
        # join (measured on the array repair)
        conn.execute("SELECT set_config('lock_timeout', %s, false), set_config('work_mem', %s, false), "
                     "set_config('jit', 'off', false), set_config('enable_memoize', 'off', false)",
                     [f"{int(self.lock_timeout * 1000)}ms", WORK_MEM])


class MergeInputs(dg.ConfigurableResource):
    """Dump #1 (restored into public unless public already holds the tables) and dump #2 or a live source."""

    dump1: str | None = None
    dump2: str | None = None
    source_dsn: str | None = None
    scratch_dsn: str | None = None  # a server where a scratch database may be created; default embedded
    pg_bin: str | None = None
    # the spec this run merges by; default: the one the graph was built from. It may change how tables merge
    # (keys, strategies, conflicts), not which assets exist: that is fixed when the definitions load
    spec: str | None = None
