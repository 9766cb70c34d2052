"""Getting pg_dump output into a database: whole-dump restores through psql, and what a dump holds.

Every restore goes the same way: the SQL stream of the dump (`plain_stream.sql_stream`: a plain
file read in blocks, or `pg_restore -f -` of a custom/directory/tar archive, or `pg_dump` output)
passes through a `DumpStream` and is fed to `psql -X -v ON_ERROR_STOP=1 --single-transaction -f -`.
One transaction means a failed restore leaves the database as it was; the error then names the
client tools, the server and the pg_dump involved. Reading dumps lives next door: format detection
in `dump_format`, archive tables of contents in `archive_toc`, the stream filter and scanner in
`plain_stream`.

Limitations (documented, deliberate):
* Archives are restored through `pg_restore -f -`, hence single-threaded (no `-j`).
* Plain dumps made with `--create` or `--clean` (without `--if-exists`) are not supported.
* `restore_dump` keeps owners and privileges of plain dumps (roles must exist); archives are
  restored with `--no-owner --no-privileges`.
* Dumps can only go to servers at least as new as the one they were dumped from (pg_dump writes
  the source server's syntax); the error then names pg_dump's, psql's and the server's versions.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import psycopg

from pgmerge_assets.paths import SQL_DIR
from pgmerge_assets.pg.archive_toc import archive_info
from pgmerge_assets.pg.dump_format import DumpError, DumpInfo, detect_format
from pgmerge_assets.pg.embedded import redact
from pgmerge_assets.pg.plain_stream import DumpStream, sql_stream
from pgmerge_assets.pg.tools import PgTool, find_tool, psql_knows_restrict, scrub, tool_conninfo, tool_version


@dataclass(frozen=True)
class RestoreResult:
    format: str
    seconds: float
    client_tool_version: str  # e.g. 'pg_restore 18.4 (/…/pg_restore) | psql 18.4 (/…/psql)'
    server_version: str  # e.g. '15.20'


def dump_info(path: Path, pg_bin: str | None = None) -> DumpInfo:
    """What a dump holds. Plain files are read once in 1 MiB blocks; archives via `pg_restore -l`."""
    path = Path(path)
    fmt = detect_format(path)
    if fmt != "plain":
        return archive_info(path, fmt, pg_bin)
    stream = DumpStream()
    with open(path, "rb") as fh:
        for _ in stream.filter(fh):
            pass
    return stream.info("plain")


def server_version(dsn: str) -> tuple[int, str]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        full = conn.execute("SHOW server_version").fetchone()[0]
        return conn.info.server_version // 10000, full.split(" ")[0]


@dataclass
class PsqlFailure(Exception):
    stderr: str
    returncode: int


def run_psql(psql: PgTool, dsn: str, chunks: Iterable[bytes]) -> None:
    """Feed `chunks` to `psql -1 -f -` on `dsn`. Any exception while producing the chunks kills
    psql before it can see end-of-input, so its single transaction is rolled back, never committed.
    Raises PsqlFailure (stderr scrubbed of the password) when psql reports an error."""
    conninfo, env = tool_conninfo(dsn)
    errfile = tempfile.TemporaryFile()  # noqa: SIM115 - closed in finally
    args = [str(psql.path), "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-f", "-", "-d", conninfo]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errfile, env=env)
    assert proc.stdin is not None
    try:
        try:
            for chunk in chunks:
                proc.stdin.write(chunk)
        except BrokenPipeError:
            pass  # psql stopped on an error: its message says why
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        try:
            proc.stdin.close()
        except BrokenPipeError:
            pass
        rc = proc.wait()
        if rc != 0:
            errfile.seek(0)
            err = errfile.read().decode("utf-8", "replace").strip()
            raise PsqlFailure(scrub(err, dsn)[-3000:], rc)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()  # stops a pg_restore/pg_dump producer that psql no longer listens to
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        errfile.close()


def tools_line(*tools: PgTool) -> str:
    return " | ".join(f"{t.name} {tool_version(str(t.path))} ({t.path})" for t in tools)


def describe_failure(err: str) -> str:
    """The ERROR lines (and their CONTEXT) of psql's stderr, without notices."""
    lines = [ln for ln in err.splitlines() if re.search(r"ERROR|FATAL|CONTEXT|DETAIL|HINT|LINE \d+|error", ln)]
    return "\n".join(lines[-12:]) or err[-1500:]


def restore_dump(dsn: str, path: Path, *, pg_bin: str | None = None) -> RestoreResult:
    """Restore a whole dump (plain, custom, directory or tar) into the database of `dsn`.

    One psql transaction: on any failure the database is left as it was, and the error names the
    client tools, the server and the pg_dump involved. Plain dumps keep their owners/privileges
    (roles must exist); archives are restored with --no-owner --no-privileges.
    """
    path = Path(path)
    fmt = detect_format(path)
    started = time.monotonic()
    major, full = server_version(dsn)
    psql = find_tool("psql", pg_bin)
    stream = DumpStream(
        server_major=major, strip_restrict=not psql_knows_restrict(str(psql.path)), label=f"dump {path.name}"
    )
    tools = [psql]
    pg_restore = None
    dumped_by = None
    if fmt != "plain":
        pg_restore = find_tool("pg_restore", pg_bin)
        info = archive_info(path, fmt, pg_bin)  # raises ArchiveVersionError on version skew
        dumped_by = info.pg_dump_version
        tools = [pg_restore, psql]
    try:
        run_psql(psql, dsn, sql_stream(path, fmt, stream, pg_restore=pg_restore))
    except PsqlFailure as failure:
        dumped_by = dumped_by or stream.pg_dump_version
        skew = f"; dropped for version skew: {', '.join(stream.dropped)}" if stream.dropped else ""
        raise DumpError(
            f"restoring {path} ({fmt}, written by pg_dump {dumped_by or 'unknown'}) into {redact(dsn)} "
            f"(PostgreSQL {full}) with {tools_line(*tools)} failed; nothing was committed{skew}:\n"
            f"{describe_failure(failure.stderr)}"
        ) from None
    return RestoreResult(
        format=fmt,
        seconds=round(time.monotonic() - started, 3),
        client_tool_version=tools_line(*tools),
        server_version=full,
    )


def existing_tables(dsn: str, tables: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Which of the (schema, table) pairs exist as tables, in the given order."""
    query = (SQL_DIR / "staging" / "existing_tables.sql").read_text()
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(query, {"schemas": [s for s, _ in tables], "names": [n for _, n in tables]}).fetchall()
    found = {(s, n) for s, n in rows}
    return [t for t in tables if t in found]


__all__ = [
    "RestoreResult",
    "dump_info",
    "existing_tables",
    "restore_dump",
]
