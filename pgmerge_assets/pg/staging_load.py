"""Load dump #2 (or a live database) into `staging.<table>` without ever touching `public`.

Design (why it is safe): dump #2 is never replayed against the target. It is restored into a
throw-away SCRATCH database (on `scratch_admin_dsn`'s server, or the embedded server under
`./.pgmerge`), where its `SET search_path`, `CREATE`, `ALTER` and `setval('public.…')` lines do
whatever they like. Then, after comparing dump #2's tables and columns with the target's `public`,
each table is streamed with COPY into the target's `staging.<table>`. A full archive's scratch database
gets its tables only: its rows go from `pg_restore --data-only -f -` straight into staging, of which only
the rows of each COPY block are used, as the data of pgmerge's own COPY (`copy_blocks`); where they do not
fit as they are (a bad row, another encoding, rows of a table not being loaded), they are restored into
scratch after all and copied from there, where the checks count and name what is wrong. Other dumps' rows
are copied from the scratch database into the target's `staging.<table>`
(binary COPY when every column type is built in, text otherwise), in two streams of tables of about equal
size on two target connections (one on a one-core machine), each a transaction that first truncates its
staging tables; the first failure cancels the other stream, both roll back, and both commit only once both
have loaded (only a failing COMMIT could leave one stream's tables loaded: a load is started over anyway).
The source side is read by `psql` (COPY TO STDOUT, in the snapshot the source connection exported), so
rows pass through Python in 1 MiB blocks, never one by one; each clone's indexes are dropped before its
COPY and built again after it, in that transaction.
Where dump #2's own definitions allow it, `staging_early` makes and fills staging this way before the
target's tables exist, and keeps it only if it is what this module would have made.
The scratch database is dropped afterwards, also on failure. A live `source_dsn` is read the same
way, in one REPEATABLE READ snapshot, without scratch.

Data-only dumps carry no table definitions, so the scratch database first gets the target's own
(`pg_dump --schema-only --section=pre-data` of the target, all schemas but staging; no indexes,
foreign keys or triggers). Their COPY headers / INSERT column lists are compared with the target's
columns while the dump streams through (a column too many or too few stops the load, naming table,
column and row count). Limitations of data-only dumps, by nature: they carry no column types, so a
changed type is only caught when a value does not convert (the error names table and column); and
positional INSERTs (`pg_dump --inserts` without `--column-inserts`) are refused, because nothing
ties their values to columns.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import socket
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import psycopg
from psycopg import sql

from pgmerge_assets.templates import compose, load
from pgmerge_assets.pg import sessions
from pgmerge_assets.pg.ownership import check_ours, mark
from pgmerge_assets.pg.embedded import (
    create_clean_database,
    drop_database,
    embedded_server_uri,
    redact,
    with_dbname,
)
from pgmerge_assets.pg.archive_toc import DataEntry, archive_info, constraint_entries, data_entries
from pgmerge_assets.pg.copy_blocks import CopyBlocks, Rows
from pgmerge_assets.pg.dump_format import DumpError, detect_format
from pgmerge_assets.pg.plain_stream import DumpStream, Producer, pg_dump_stream, plain_is_data_only, sql_stream
from pgmerge_assets.pg.restore import PsqlFailure, describe_failure, run_psql, server_version, tools_line
from pgmerge_assets.pg.tools import PgTool, find_tool, psql_knows_restrict, scrub, tool_conninfo, tool_version

SCRATCH_PREFIX = "pgmerge_scratch_"
_HOST = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]  # scratch names say which machine made them
FLUSH_BYTES = 1 << 20  # COPY data is read from the source and written to the target in blocks of this size
BUILTIN_OID_LIMIT = 10000  # types below this oid are built in: their binary COPY format is stable
_scratch_left: set[tuple[str, str]] = set()  # (admin DSN, name) of the scratch databases restored, not yet dropped
_scratch_lock = threading.Lock()
_dropping: list[threading.Thread] = []  # scratch databases being dropped while the merge goes on


class StagingError(RuntimeError):
    """The target is not ready for a staging load (missing public table, stale staging clone...)."""


@dataclass(frozen=True)
class StagingLoadResult:
    source_format: str  # 'plain' | 'plain-inserts' | 'custom' | 'directory' | 'tar' | 'live'
    data_only: bool | None  # None for a live source
    row_counts: dict[str, int]  # rows now in staging.<table>, per table of `tables`
    seconds: dict[str, float]  # restore, check, copy, total
    scratch: str  # redacted DSN of the scratch database (dropped by now) or of the live source


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    type_oid: int
    generated: bool


@dataclass(frozen=True)
class Table:
    schema: str
    name: str
    relkind: str
    columns: tuple[Column, ...]

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


@dataclass(frozen=True)
class StagedTable:
    """Table `schema.name` of the target (and of dump #2) is cloned, and loaded, as `<staging>.clone`."""

    schema: str
    name: str
    clone: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.schema, self.name)

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"


def staged_tables(tables: list, public: str) -> list[StagedTable]:
    """StagedTables as given; a bare name is a table of `public` cloned under its own name (a dot is part of
    a name, never a schema separator). Once each."""
    out = [t if isinstance(t, StagedTable) else StagedTable(public, t, t) for t in tables]
    return list(dict.fromkeys(out))


def read_tables(
    conn: psycopg.Connection, schemas: list[str] | None, exclude: list[str] = ()
) -> dict[tuple[str, str], Table]:
    """The user tables of `schemas` (None: all), with their columns, keyed by (schema, table)."""
    rows = conn.execute(load("staging/columns.sql"), {"schemas": schemas, "exclude_schemas": list(exclude)}).fetchall()
    out: dict[tuple[str, str], list] = {}
    kinds: dict[tuple[str, str], str] = {}
    for schema, table, relkind, col, ctype, oid, generated in rows:
        out.setdefault((schema, table), []).append(Column(col, ctype, int(oid), bool(generated)))
        kinds[(schema, table)] = relkind
    return {k: Table(k[0], k[1], kinds[k], tuple(v)) for k, v in out.items()}


# --------------------------------------------------------------------------------------------
# staging schema


def create_staging_schema(
    conn: psycopg.Connection, tables: list[str | StagedTable], *, public: str = "public", staging: str = "staging"
) -> None:
    """(Re)create `staging` holding an empty UNLOGGED clone of each table of `tables` (bare names: of `public`).

    Clones keep columns, defaults, identity, generated columns, CHECK/NOT NULL constraints and all
    indexes (so natural-key UNIQUE constraints hold in staging too), never foreign keys or triggers.
    Refuses (NotOursError) a `staging` that exists without pgmerge's mark, and (StagingError) when
    objects outside `staging` depend on it, since DROP ... CASCADE
    would silently take them along. Runs in the caller's transaction: the caller commits.
    Note: INCLUDING DEFAULTS keeps `nextval('public.x_seq')` defaults; loads always supply the key
    columns, so they never fire, but an INSERT into staging that omits them would use public's sequence.
    """
    names = staged_tables(tables, public)
    if staging in {t.schema for t in names}:
        raise ValueError("the staging schema must differ from the schemas of the tables it clones")
    existing = read_tables(conn, sorted({t.schema for t in names}))
    missing = [str(t) for t in names if t.key not in existing]
    if missing:
        raise StagingError(
            f"no table {', '.join(missing)}: cannot clone {'it' if len(missing) == 1 else 'them'} into {staging}"
        )
    empty_staging_schema(conn, staging)
    for t in names:
        conn.execute(compose("staging/create_table.sql", clone=sql.Identifier(staging, t.clone),
                             table=sql.Identifier(t.schema, t.name)))


def empty_staging_schema(conn: psycopg.Connection, staging: str) -> None:
    """Drop and recreate `staging`, marked as pgmerge's: refused (NotOursError) for a schema of that name without
    pgmerge's mark, and (StagingError) when objects outside it depend on it (DROP ... CASCADE would take them)."""
    check_ours(conn, staging, "staging_schema")  # a schema of the user's of that name is never dropped
    dependents = conn.execute(load("staging/outside_dependents.sql"), {"staging": staging}).fetchall()
    if dependents:
        listed = ", ".join(f"{kind} {ident}" for kind, ident in dependents[:10])
        raise StagingError(
            f"refusing to DROP SCHEMA {staging} CASCADE: {len(dependents)} object(s) outside it depend on it ({listed})"
        )
    conn.execute(compose("staging/drop_schema.sql", staging=sql.Identifier(staging)))
    mark(conn, staging, "staging schema: dump #2's rows, loaded for merging")


# --------------------------------------------------------------------------------------------
# loading


@dataclass(frozen=True)
class Scratch:
    """Dump #2 restored into a scratch database of `admin`'s server, waiting to be copied into staging (which
    drops it)."""

    admin: str
    name: str
    format: str
    data_only: bool
    inserts: bool  # INSERT-style plain dump
    seconds: float
    path: str

    @property
    def dsn(self) -> str:
        return with_dbname(self.admin, self.name)

    @property
    def rows_in_archive(self) -> bool:
        """A full archive's scratch database holds its tables, not its rows: those go from the archive straight
        into staging (`pg_restore --data-only -L` gives each stream its own tables' rows). A plain dump is
        restored whole (its rows may be INSERTs, which only a server reads), a data-only one needs the
        target's table definitions first."""
        return self.format != "plain" and not self.data_only


def restore_scratch(dump_path: Path, scratch_admin: str, *, target_dsn: str | None = None,
                    public: str = "public", staging: str = "staging", pg_bin: str | None = None) -> Scratch:
    """Restore dump #2 into a new scratch database (dropped again if that fails): a full archive's tables only
    (its rows stream into staging later), a plain or data-only dump whole. A data-only dump needs the target's
    table definitions (`target_dsn`, its tables already there); a full one needs nothing of it, so it can be
    restored while dump #1 is."""
    dump_path = Path(dump_path)
    fmt, data_only = dump_kind(dump_path, pg_bin)
    if data_only and target_dsn is None:
        raise ValueError("a data-only dump is restored against the target's table definitions: give target_dsn")
    target_all = {}
    if data_only:
        with psycopg.connect(target_dsn, autocommit=True) as conn:
            target_all = read_tables(conn, None, exclude=[staging])
    drop_abandoned_scratch(scratch_admin)
    name = f"{SCRATCH_PREFIX}{_HOST}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    create_clean_database(scratch_admin, name)
    with _scratch_lock:
        _scratch_left.add((scratch_admin, name))
    scratch_dsn = with_dbname(scratch_admin, name)
    scratch = Scratch(scratch_admin, name, fmt, data_only, False, 0.0, str(dump_path))
    try:
        sections = ["--section=pre-data"] if scratch.rows_in_archive else None
        inserts = _restore_into_scratch(dump_path, fmt, data_only, scratch_dsn, target_dsn, target_all, public,
                                        staging, pg_bin, sections)
    except BaseException as exc:
        _drop_scratch(scratch_admin, name, exc)
        raise
    return dataclasses.replace(scratch, inserts=inserts, seconds=round(time.monotonic() - started, 3))


def drop_left_scratch() -> None:
    """Wait for the scratch databases being dropped, and drop those this process restored and no load took (the
    run failed in between, or a drop failed); a killed process's are dropped by the next load
    (`drop_abandoned_scratch`)."""
    while _dropping:
        _dropping.pop().join()
    with _scratch_lock:
        left = sorted(_scratch_left)
    for admin, name in left:
        _drop_scratch(admin, name)


def drop_meanwhile_scratch(scratch: Scratch) -> None:
    """Drop a scratch database in a thread of its own (a DROP DATABASE took up to 0.2 s, measured: the merge need
    not wait); `drop_left_scratch` waits for it."""
    dropping = threading.Thread(target=_drop_quietly, args=(scratch.admin, scratch.name), name=f"drop {scratch.name}")
    dropping.start()
    _dropping.append(dropping)


def _drop_quietly(scratch_admin: str, name: str) -> None:
    """In a thread of its own: a database that could not be dropped stays listed, for drop_left_scratch."""
    try:
        _drop_scratch(scratch_admin, name)
    except psycopg.Error:
        pass


def dump_kind(dump_path: Path, pg_bin: str | None = None) -> tuple[str, bool]:
    """A dump's format, and whether it is data-only (carries no table definitions)."""
    fmt = detect_format(dump_path)
    if fmt == "plain":
        return fmt, plain_is_data_only(dump_path)
    return fmt, archive_info(dump_path, fmt, pg_bin).data_only  # ArchiveVersionError on skew


def _drop_scratch(scratch_admin: str, name: str, exc: BaseException | None = None) -> None:
    """Drop a scratch database; when that fails while `exc` is being raised, keep `exc` and say what is left."""
    try:
        drop_database(scratch_admin, name)
        with _scratch_lock:
            _scratch_left.discard((scratch_admin, name))
    except psycopg.Error as drop_exc:
        if exc is None:
            raise
        exc.add_note(f"also, scratch database {redact(with_dbname(scratch_admin, name))} could not be dropped: "
                     f"{scrub(str(drop_exc), scratch_admin)}")


def load_staging(
    target_dsn: str,
    tables: list[str | StagedTable],
    *,
    dump_path: Path | None = None,
    source_dsn: str | None = None,
    scratch: Scratch | None = None,
    scratch_admin_dsn: str | None = None,
    public: str = "public",
    staging: str = "staging",
    pg_bin: str | None = None,
    skipped: list[str | StagedTable] = (),
    drop_meanwhile: bool = False,
) -> StagingLoadResult:
    """Fill the staging clone of each table of `tables` (bare names: of `public`) from dump #2 (any pg_dump format, full or
    data-only; or already restored into `scratch`, which is dropped afterwards) or from a live `source_dsn`.
    Idempotent: staging tables are truncated first, in the same transactions as the copy. `public` is only ever
    read. Raises DumpError when dump #2 does not fit `public` (naming table, column and row count), StagingError
    when staging is not ready. `drop_meanwhile`: the scratch database is dropped in a thread of its own once
    loaded (`drop_meanwhile_scratch`)."""
    if sum(x is not None for x in (dump_path, source_dsn, scratch)) != 1:
        raise ValueError("give exactly one of dump_path, source_dsn and scratch")
    started = time.monotonic()
    seconds: dict[str, float] = {}
    names = staged_tables(tables, public)
    skipped = [t.key for t in staged_tables(list(skipped), public)]
    if not names:
        raise ValueError("no tables to load")
    with psycopg.connect(target_dsn, autocommit=True) as conn:
        target_all = read_tables(conn, None, exclude=[staging])
        staged = read_tables(conn, [staging])
    try:
        _check_staging_ready(names, target_all, staged, staging)
    except BaseException as exc:
        if scratch is not None:
            _drop_scratch(scratch.admin, scratch.name, exc)
        raise

    if source_dsn is not None:
        counts, check_s, copy_s = check_and_copy(
            source_dsn, target_dsn, names, target_all, public, staging, label="source", skipped=skipped, pg_bin=pg_bin
        )
        seconds.update(restore=0.0, check=check_s, copy=copy_s, total=round(time.monotonic() - started, 3))
        return StagingLoadResult("live", None, counts, seconds, redact(source_dsn))

    if scratch is None:
        scratch = restore_scratch(Path(dump_path), scratch_admin_dsn or embedded_server_uri(Path(".pgmerge")),
                                  target_dsn=target_dsn, public=public, staging=staging, pg_bin=pg_bin)
    seconds["restore"] = scratch.seconds
    try:
        loaded = None
        if scratch.rows_in_archive:
            try:
                loaded = check_and_copy(scratch.dsn, target_dsn, names, target_all, public, staging,
                                        label="dump #2", skipped=skipped, pg_bin=pg_bin,
                                        archive=Path(scratch.path))
            except Refit:  # the rows go through scratch after all, where what does not fit is counted and named
                t0 = time.monotonic()
                _restore_into_scratch(Path(scratch.path), scratch.format, False, scratch.dsn, None, {}, public,
                                      staging, pg_bin, ["--section=data"])
                seconds["rows_into_scratch"] = round(time.monotonic() - t0, 3)
        if loaded is None:
            loaded = check_and_copy(scratch.dsn, target_dsn, names, target_all, public, staging,
                                    label="dump #2", skipped=skipped, pg_bin=pg_bin)
        counts, check_s, copy_s = loaded
        seconds.update(check=check_s, copy=copy_s)
    except BaseException as exc:
        _drop_scratch(scratch.admin, scratch.name, exc)
        raise
    if drop_meanwhile:
        drop_meanwhile_scratch(scratch)
    else:
        _drop_scratch(scratch.admin, scratch.name)
    seconds["total"] = round(time.monotonic() - started, 3)
    source_format = "plain-inserts" if scratch.format == "plain" and scratch.inserts else scratch.format
    return StagingLoadResult(source_format, scratch.data_only, counts, seconds, redact(scratch.dsn))


def drop_abandoned_scratch(scratch_admin: str) -> list[str]:
    """Drop the scratch databases a killed run of this machine left behind (their process is gone)."""
    pattern = re.compile(rf"{SCRATCH_PREFIX}{_HOST}_(\d+)_[0-9a-f]+$")
    with psycopg.connect(scratch_admin, autocommit=True) as conn:
        names = [r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s",
                                            [f"{SCRATCH_PREFIX}{_HOST}_%"]).fetchall()]
    dropped = []
    for name in names:
        match = pattern.match(name)
        if match and not _alive(int(match.group(1))):
            drop_database(scratch_admin, name)
            dropped.append(name)
    return dropped


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _check_staging_ready(names, target_all, staged, staging) -> None:
    missing = [str(t) for t in names if t.key not in target_all]
    if missing:
        raise StagingError(f"the target has no table {', '.join(missing)}; nothing to stage it for")
    for t in names:
        clone = staged.get((staging, t.clone))
        if clone is None:
            raise StagingError(f"{staging}.{t.clone} does not exist: run create_staging_schema first")
        want = [(c.name, c.type) for c in target_all[t.key].columns]
        have = [(c.name, c.type) for c in clone.columns]
        if want != have:
            raise StagingError(
                f"{staging}.{t.clone} no longer matches {t} (columns {have} vs {want}): "
                f"run create_staging_schema again"
            )


def _restore_into_scratch(path, fmt, data_only, scratch_dsn, target_dsn, target_all, public, staging, pg_bin,
                          sections: list[str] | None = None) -> bool:
    """Restore dump #2 into the scratch database (an archive's `sections`: by default tables and rows); return
    whether it is INSERT-style."""
    major, full = server_version(scratch_dsn)
    psql = find_tool("psql", pg_bin)
    strip = not psql_knows_restrict(str(psql.path))
    if data_only:
        pg_dump = find_tool("pg_dump", pg_bin)
        quoted = '"' + staging.replace('"', '""') + '"'
        schema_stream = DumpStream(server_major=major, strip_restrict=strip, scratch=True, label="the target's schema")
        try:
            run_psql(
                psql,
                scratch_dsn,
                pg_dump_stream(
                    pg_dump,
                    target_dsn,
                    [
                        "--schema-only",
                        "--section=pre-data",
                        "--no-owner",
                        "--no-privileges",
                        f"--exclude-schema={quoted}",
                    ],
                    schema_stream,
                ),
            )
        except PsqlFailure as failure:
            raise StagingError(
                f"copying the table definitions of {redact(target_dsn)} into scratch database "
                f"{redact(scratch_dsn)} (PostgreSQL {full}) with {tools_line(pg_dump, psql)} failed:\n"
                f"{describe_failure(failure.stderr)}"
            ) from None

    def on_data(schema: str, table: str, columns: list[str] | None, style: str) -> str | None:
        target = target_all.get((schema, table))
        if target is None:
            return (
                f"dump #2 has {{count}} for table {schema}.{table}, which the target has no table for; "
                f"they would be lost"
            )
        if columns is None:
            return (
                f"dump #2 table {table} ({{count}}): a data-only dump written with pg_dump --inserts names no "
                f"columns, so its values cannot be matched to the columns of {schema}.{table}; re-dump with "
                f"--column-inserts (or without --inserts)"
            )
        known = {c.name for c in target.columns}
        extra = [c for c in columns if c not in known]
        if extra:
            return f"dump #2 table {table} ({{count}}): column {extra[0]} is in dump #2 but not in {schema}.{table}" + (
                f" (nor are {', '.join(extra[1:])})" if extra[1:] else ""
            )
        lacking = [c.name for c in target.columns if not c.generated and c.name not in columns]
        if lacking:
            return (
                f"dump #2 table {table} ({{count}}): column {lacking[0]} of {schema}.{table} is missing from "
                f"dump #2"
                + (f" (and {', '.join(lacking[1:])})" if lacking[1:] else "")
                + "; its rows would get defaults instead of their values"
            )
        return None

    stream = DumpStream(
        server_major=major, strip_restrict=strip, scratch=True, on_data=on_data if data_only else None, label="dump #2"
    )
    pg_restore = None
    tools = [psql]
    if fmt != "plain":
        pg_restore = find_tool("pg_restore", pg_bin)
        tools = [pg_restore, psql]
    # full archives: tables and data only; indexes, constraints and triggers are of no use in scratch
    args = [] if data_only else sections or ["--section=pre-data", "--section=data"]
    try:
        run_psql(psql, scratch_dsn, sql_stream(path, fmt, stream, pg_restore=pg_restore, restore_args=args))
    except PsqlFailure as failure:
        raise _scratch_failure(failure.stderr, path, fmt, stream, scratch_dsn, full, tools, public) from None
    return stream.inserts


def restore_keys_into_scratch(scratch: Scratch, pg_bin: str | None = None) -> bool:
    """A full archive's primary keys, UNIQUE and EXCLUDE constraints too, into its scratch database (whose tables
    are empty: nothing to build), so that staging tables made from dump #2's definitions can have them before
    their rows arrive. Whether that worked; a failure changes nothing else."""
    if not scratch.rows_in_archive:
        return False
    entries = constraint_entries(Path(scratch.path), pg_bin)
    if not entries:
        return True
    psql, pg_restore = find_tool("psql", pg_bin), find_tool("pg_restore", pg_bin)
    stream = DumpStream(server_major=server_version(scratch.dsn)[0], strip_restrict=not psql_knows_restrict(
        str(psql.path)), scratch=True, label="dump #2's keys")
    with tempfile.NamedTemporaryFile("w", suffix=".list") as listed:
        listed.write("".join(line + "\n" for line in entries))
        listed.flush()
        try:
            run_psql(psql, scratch.dsn, sql_stream(Path(scratch.path), scratch.format, stream, pg_restore=pg_restore,
                                                   restore_args=["-L", listed.name]))
        except PsqlFailure:
            return False
    return True


def _scratch_failure(err, path, fmt, stream, scratch_dsn, server, tools, public) -> DumpError:
    made_by = f", written by pg_dump {stream.pg_dump_version}" if stream.pg_dump_version else ""
    where = (
        f"(restoring {path.name} ({fmt}{made_by}) into scratch database {redact(scratch_dsn)}, "
        f"PostgreSQL {server}, with {tools_line(*tools)})"
    )
    m = re.search(r'column "([^"]+)" of relation "([^"]+)" does not exist', err)
    if m:
        col, rel = m.groups()
        return DumpError(f"dump #2 table {rel}: column {col} is in dump #2 but not in {public}.{rel} {where}")
    m = re.search(r"CONTEXT:\s+COPY (\S+), line (\d+)(?:, column ([^:\n]+))?", err)
    if m:
        rel, line, col = m.groups()
        first = next((ln for ln in err.splitlines() if "ERROR" in ln), "").split("ERROR:", 1)[-1].strip()
        return DumpError(
            f"dump #2 table {rel}: row {line}{f', column {col}' if col else ''} does not fit "
            f"{public}.{rel}: {first} {where}"
        )
    m = re.search(r'relation "([^"]+)" does not exist', err)
    if m:
        return DumpError(f"dump #2 has data for table {m.group(1)}, which the target has no table for {where}")
    skew = f"; dropped for version skew: {', '.join(stream.dropped)}" if stream.dropped else ""
    return DumpError(f"dump #2 could not be restored {where}{skew}:\n{describe_failure(err)}")


class Refit(Exception):
    """The archive's rows cannot go straight into staging (a row that does not fit, rows of a table not being
    loaded, another encoding): they go through the scratch database, whose check names what is wrong."""


def check_and_copy(source_dsn, target_dsn, names, target_all, public, staging, *, label, skipped=(), pg_bin=None,
                    archive: Path | None = None):
    """Compare the source's tables with public's, then stream every table into staging: from the source's
    rows, or (`archive`, the source holding its tables only) from the archive's. Rows of tables the spec skips
    on purpose (`skipped`) are left behind without complaint."""
    t0 = time.monotonic()
    entries = {}
    with sessions.connect(source_dsn, client_encoding="UTF8") as src:
        src.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        src.read_only = True
        source = read_tables(src, None)
        problems: list[str] = []
        # 1. rows that would be lost: tables with data that are not being loaded
        expected = {t.key for t in names} | set(skipped)
        if archive is not None:
            entries = {(e.schema, e.table): e for e in data_entries(archive, pg_bin)}
            unexpected = [f"{schema}.{table}" for schema, table in entries if (schema, table) not in expected]
            if unexpected:
                raise Refit(f"{label} has rows of {', '.join(unexpected)}")
        for schema, table, root_schema, root_table in src.execute(load("staging/data_tables.sql")).fetchall():
            if (root_schema, root_table) in expected:
                continue
            if not _has_rows(src, schema, table):
                continue
            n = _count(src, schema, table, only=True)
            if n:
                part = (
                    ""
                    if (schema, table) == (root_schema, root_table)
                    else f" (partition of {root_schema}.{root_table})"
                )
                why = (
                    "is not among the tables being loaded"
                    if (schema, table) in target_all
                    else "has no counterpart in the target"
                )
                problems.append(f"{label} table {schema}.{table}{part} has {n} rows but {why}; they would be lost")
        # 2. column differences of the tables being loaded
        plans: dict[StagedTable, tuple[Table, Table]] = {}
        for t in names:
            theirs = source.get(t.key)
            if theirs is None:
                continue  # absent from dump #2: loads 0 rows
            ours = target_all[t.key]
            diffs = _column_diffs(theirs, ours, label, t.schema)
            if diffs:
                n = _count(src, t.schema, t.name, only=theirs.relkind == "r")
                problems += [f"{label} table {_shown(t, public)} ({n} rows): {d}" for d in diffs]
            plans[t] = (theirs, ours)
        if problems and archive is not None:
            raise Refit("the problems are counted on the rows in scratch")
        if problems:
            raise DumpError(
                ("\n".join(problems))
                if len(problems) == 1
                else f"{len(problems)} problems, nothing was loaded:\n" + "\n".join(problems)
            )
        check_s = round(time.monotonic() - t0, 3)

        t1 = time.monotonic()
        if archive is None:
            snapshot = src.execute(load("report/snapshot_export.sql")).fetchone()[0]
            copy_out = _CopyOut(find_tool("psql", pg_bin), source_dsn, snapshot)
        else:
            plans = {t: plan for t, plan in plans.items() if t.key in entries}  # no rows in the archive: 0 rows
        counts = {t.clone: 0 for t in names if t not in plans}  # absent from the source: 0 rows
        loading = [t for t in names if t in plans]
        with ExitStack() as stack:
            targets = [stack.enter_context(sessions.connect(target_dsn, client_encoding="UTF8"))]
            streams = _streams(src if archive is None else targets[0], loading,
                               {t: plans[t][0 if archive is None else 1] for t in loading})
            targets += [stack.enter_context(sessions.connect(target_dsn, client_encoding="UTF8")) for _ in streams[1:]]
            failed: list[BaseException] = []

            def fill(dst: psycopg.Connection, tables: list[StagedTable]) -> None:
                if archive is not None:
                    keys = {t.key for t in tables}  # listed in the archive's order: a tar archive is read front to back
                    listed = [e for key, e in entries.items() if key in keys]
                    counts.update(_copy_archive(archive, listed, dst, plans, staging, pg_bin,
                                                stopped=lambda: bool(failed)))
                    return
                for t in tables:
                    if failed:
                        return
                    theirs, ours = plans[t]
                    counts[t.clone] = _copy_table(copy_out, dst, theirs, ours, staging, t.clone, label)

            def stream(dst: psycopg.Connection, tables: list[StagedTable], emptied: list[StagedTable]) -> None:
                try:
                    if emptied:
                        dst.execute(compose("staging/truncate.sql", tables=sql.SQL(", ").join(
                            sql.Identifier(staging, t.clone) for t in emptied)))
                    fill(dst, tables)
                except BaseException as exc:  # handed to the loading thread, which stops the other streams
                    failed.append(exc)
                    for conn in targets:
                        if conn is not dst:
                            conn.cancel_safe()

            absent = [t for t in names if t not in plans]  # emptied by the first stream
            threads = [threading.Thread(target=stream, args=(dst, tables, tables + (absent if i == 0 else [])),
                                        name=f"copy into {staging} {i}")
                       for i, (dst, tables) in enumerate(zip(targets, streams))]
            try:
                for thread in threads:
                    thread.start()
                for thread in threads:
                    while thread.is_alive():
                        thread.join(0.1)  # short waits: an interruption (Dagster's terminate) is heard in between
            except BaseException:
                # e.g. Dagster's DagsterExecutionInterruptedError: psycopg only cancels running
                # statements on KeyboardInterrupt/SystemExit, so cancel the COPYs ourselves
                failed.append(None)  # the streams stop before their next table
                for conn in (src, *targets):
                    try:
                        conn.cancel_safe()
                    except psycopg.Error:
                        pass  # the interruption is re-raised below; a failed cancel changes nothing
                for thread in threads:
                    thread.join()
                raise
            if failed:  # the first stream's error; the others were cancelled because of it
                for dst in targets:
                    dst.rollback()
                raise failed[0]
            for dst in targets:  # every stream loaded: all are committed (one could only fail to commit)
                dst.commit()
        counts = {t.clone: counts[t.clone] for t in names}
        src.rollback()
    return counts, check_s, round(time.monotonic() - t1, 3)


def _streams(conn: psycopg.Connection, tables: list[StagedTable], sized: dict[StagedTable, Table]) -> list[list[StagedTable]]:
    """The tables split into two streams of about equal size (one where the machine has one core), biggest
    first: one target connection copies and indexes a table while the other does the next. A table's size is
    that of its `sized` table, read on `conn` (the source's own, or the target's where the source has no rows
    yet: a table of dump #1 is about as big as dump #2's)."""
    count = min(2, os.cpu_count() or 1)
    sizes = {t: conn.execute(load("staging/table_size.sql"),
                             {"table": sql.Identifier(sized[t].schema, sized[t].name).as_string(conn)}).fetchone()[0]
             for t in tables} if count > 1 else {}
    streams: list[list[StagedTable]] = [[] for _ in range(count)]
    loads = [0] * count
    for t in sorted(tables, key=lambda t: -sizes.get(t, 0)):
        i = loads.index(min(loads))
        streams[i].append(t)
        loads[i] += sizes.get(t, 0)
    return [s for s in streams if s] or [[]]


def _column_diffs(theirs: Table, ours: Table, label: str, public: str) -> list[str]:
    diffs = []
    for c in ours.columns:
        other = theirs.column(c.name)
        if other is None:
            diffs.append(f"column {c.name} ({c.type}) of {public}.{ours.name} is missing from {label}")
        elif other.type != c.type:
            diffs.append(f"column {c.name} is {other.type} in {label} but {c.type} in {public}")
    for c in theirs.columns:
        if ours.column(c.name) is None:
            diffs.append(f"column {c.name} ({c.type}) is in {label} but not in {public}.{ours.name}")
    return diffs


def _has_rows(conn: psycopg.Connection, schema: str, table: str) -> bool:
    q = compose("staging/has_rows.sql", only=sql.SQL("ONLY"), schema=sql.Identifier(schema), table=sql.Identifier(table))
    return bool(conn.execute(q).fetchone()[0])


def _offending(conn: psycopg.Connection, dst: psycopg.Connection, theirs: Table, clone: sql.Identifier,
               exc: psycopg.Error, column: str | None) -> tuple[int, str]:
    """How many of the table's rows the failure is about: those with the NULL, or with the repeated key;
    else the table's row count."""
    only = sql.SQL("ONLY" if theirs.relkind == "r" else "")
    where = dict(only=only, schema=sql.Identifier(theirs.schema), table=sql.Identifier(theirs.name))
    if isinstance(exc, psycopg.errors.NotNullViolation) and column:
        n = conn.execute(compose("staging/null_rows.sql", **where, column=sql.Identifier(column))).fetchone()[0]
        return n, f"rows with {column} NULL"
    if isinstance(exc, psycopg.errors.UniqueViolation) and exc.diag.constraint_name:
        columns = dst.execute(load("staging/unique_columns.sql"),
                              {"table": clone.as_string(dst), "name": exc.diag.constraint_name}).fetchone()[0]
        if columns:
            n = conn.execute(compose(
                "staging/duplicate_rows.sql", **where, columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
                complete=sql.SQL(" AND ").join(sql.SQL("{} IS NOT NULL").format(sql.Identifier(c))
                                               for c in columns))).fetchone()[0]
            return n, f"rows repeating a key ({', '.join(columns)})"
    return _count(conn, theirs.schema, theirs.name, only=theirs.relkind == "r"), "rows"


def _count(conn: psycopg.Connection, schema: str, table: str, *, only: bool) -> int:
    q = compose("staging/count_rows.sql",
        only=sql.SQL("ONLY" if only else ""),
        schema=sql.Identifier(schema),
        table=sql.Identifier(table),
    )
    return int(conn.execute(q).fetchone()[0])


def _shown(t: StagedTable, public: str) -> str:
    """How messages name a table: bare in the default schema, qualified elsewhere."""
    return t.name if t.schema == public else f"{t.schema}.{t.name}"


@dataclass(frozen=True)
class _CopyOut:
    """COPY TO STDOUT of the source through psql, read in large blocks: relayed by psycopg, each row would be
    one Python iteration (about as long as the server's work on it). Every table is read in the snapshot the
    source connection exported, so a live source is copied as of one moment."""

    psql: PgTool
    dsn: str
    snapshot: str

    def open(self, statement: sql.Composed, conn: psycopg.Connection) -> Producer:
        conninfo, env = tool_conninfo(self.dsn)
        snapshot = compose("report/snapshot_import.sql", snapshot=sql.Literal(self.snapshot)).as_string(conn)
        return Producer([str(self.psql.path), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", conninfo,
                         "-c", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "-c", snapshot,
                         "-c", statement.as_string(conn)],
                        what=f"psql {self.psql.path} reading {redact(self.dsn)}", env=env, dsn=self.dsn)


def _fill_clone(dst: psycopg.Connection, staging: str, clone: str, columns: list[str], fmt: sql.SQL,
                rows: BinaryIO | Rows, read_all: Callable[[], None] = lambda: None) -> int:
    """COPY `rows` (a reader of raw COPY data of `columns` in `fmt`) into the clone, its indexes dropped before
    and built again after: one index build takes half the time of index rows added one by one. In the
    caller's transaction; `read_all` runs before COPY ends (the producer's own failure first)."""
    target = sql.Identifier(staging, clone)
    indexes = dst.execute(load("staging/clone_indexes.sql"), {"clone": target.as_string(dst)}).fetchall()
    for index, constraint, _ in indexes:
        dst.execute(compose("staging/drop_constraint.sql", clone=target, constraint=sql.Identifier(constraint))
                    if constraint else compose("staging/drop_index.sql", index=sql.Identifier(staging, index)))
    copy_in = compose("staging/copy_in.sql", schema=sql.Identifier(staging), table=sql.Identifier(clone),
                      columns=sql.SQL(", ").join(map(sql.Identifier, columns)), format=fmt)
    with dst.cursor() as cur:
        with cur.copy(copy_in) as sink:
            while block := rows.read(FLUSH_BYTES):  # raw COPY data, never parsed into rows
                sink.write(block)
            read_all()
        count = cur.rowcount
    for _, constraint, definition in indexes:
        dst.execute(compose("staging/add_constraint.sql", clone=target, constraint=sql.Identifier(constraint),
                            definition=sql.SQL(definition)) if constraint else sql.SQL(definition))
    return count


def _copy_archive(archive: Path, entries: list[DataEntry], dst: psycopg.Connection,
                  plans: dict[StagedTable, tuple[Table, Table]], staging: str, pg_bin: str | None,
                  stopped: Callable[[], bool]) -> dict[str, int]:
    """The rows of the archive's `entries`, in that order, from `pg_restore --data-only -f -` into their staging
    clones, as text COPY: only the rows of the stream are used. Rows per clone."""
    pg_restore = find_tool("pg_restore", pg_bin)
    by_key = {t.key: t for t in plans}
    counts: dict[str, int] = {}
    with tempfile.NamedTemporaryFile("w", suffix=".list") as listed:
        listed.write("".join(e.line + "\n" for e in entries))
        listed.flush()
        producer = Producer([str(pg_restore.path), "-f", "-", "--data-only", "-L", listed.name, str(archive)],
                            what=f"pg_restore {tool_version(str(pg_restore.path))} ({pg_restore.path}) of {archive}")
        try:
            blocks = CopyBlocks(producer.stdout)
            for schema, table, columns, rows in blocks:
                if stopped():
                    return counts
                t = by_key.get((schema, table))
                if t is None:
                    raise Refit(f"rows of {schema}.{table}, which the list did not name")
                writable = [c.name for c in plans[t][1].columns if not c.generated]
                if sorted(columns) != sorted(writable) or blocks.encodings[-1:] not in ([], ["UTF8"]):
                    raise Refit(f"{schema}.{table}: columns {columns}, encoding {blocks.encodings[-1:]}")
                try:
                    counts[t.clone] = _fill_clone(dst, staging, t.clone, columns, sql.SQL("TEXT"), rows)
                except psycopg.Error as exc:
                    raise Refit(f"{schema}.{table}: {exc}") from exc
                except EOFError:
                    producer.check()  # pg_restore's own error, if it stopped short
                    raise
            producer.check()
        finally:
            producer.close()
    return counts


def _copy_table(copy_out: _CopyOut, dst, theirs: Table, ours: Table, staging: str, clone: str, label: str) -> int:
    """Stream one table: COPY TO STDOUT on the source, blocks written into COPY FROM STDIN of the clone, whose
    indexes are built once the rows are in (same transaction: a failure leaves them as they were)."""
    source_dsn = copy_out.dsn
    columns = [c for c in ours.columns if not c.generated]
    names = [c.name for c in columns]
    binary = all(c.type_oid < BUILTIN_OID_LIMIT for c in columns) and all(
        theirs.column(n).type_oid < BUILTIN_OID_LIMIT for n in names
    )
    fmt = sql.SQL("BINARY" if binary else "TEXT")
    cols = sql.SQL(", ").join(map(sql.Identifier, names))
    statement = compose("staging/copy_out.sql",
        columns=cols,
        only=sql.SQL("ONLY" if theirs.relkind == "r" else ""),
        schema=sql.Identifier(theirs.schema),
        table=sql.Identifier(theirs.name),
        format=fmt,
    )
    target = sql.Identifier(staging, clone)
    try:
        source = copy_out.open(statement, dst)
        try:  # psql's own error, if it failed, not COPY's complaint of a short stream
            return _fill_clone(dst, staging, clone, names, fmt, source.stdout, source.check)
        finally:
            source.close()
    except psycopg.Error as exc:
        diag = exc.diag
        column = diag.column_name
        if not column and diag.context:
            m = re.search(r"column (\w+)", diag.context)
            column = m.group(1) if m else None
        dst.rollback()  # the load failed as a whole; the clone's catalog tells which key was repeated
        with psycopg.connect(source_dsn) as fresh:
            n, what = _offending(fresh, dst, theirs, target, exc, column)
        detail = "; ".join(
            x
            for x in (
                diag.message_primary or str(exc),
                diag.message_detail,
                diag.constraint_name and f"constraint {diag.constraint_name}",
            )
            if x
        )
        raise DumpError(
            f"{label} table {ours.name} ({n} {what}): loading into {staging}.{clone} failed"
            f"{f' on column {column}' if column else ''}: {scrub(detail, source_dsn)}"
        ) from None
