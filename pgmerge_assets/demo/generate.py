"""Deterministic demo dumps: two diverged databases of the reference schema, and the merge's truth.

`generate_demo()` builds, on a PostgreSQL server, one logical universe of records (the "origin")
for the reference schema (sql/reference/schema.sql) and derives from it three databases:

* db1 ("public", the environment whose values win) and db2 (the environment to merge in). Every
  natural-key record (dataset.name, package.purl, datasource.purl, finding.identifier,
  finding_reporter.name, datasource_event (datasource, kind, occurred_at), and the three join
  tables by both sides' keys) lives in db1 only, db2 only, or both; a share `overlap` of the
  records eligible for both is in both. Children and join rows only exist in a database that also
  holds their parents, and package_indexes arrays only mention packages of their database
  (some arrays are NULL, some empty, some hold a NULL element).
* History rows (dataset_metrics with txid and package_indexes, datasource_metrics, edit with a
  nullable dataset_id) are each environment's own history written after the two diverged: each
  row belongs to exactly one database and references parents present there. txid values of db1
  and db2 overlap on purpose (both counters continued from the same past).
* Conflicts: of the records present in both, a share `conflict_rate` carries different non-key
  values in db2 (description, version, license, url, package_indexes, severity, summary, email,
  payload); db1's values are the truth ("public wins").
* Ids are renumbered from 1 independently in each database, in a per-database hash order of the
  natural key, so the same id means different records in db1 and db2. Foreign keys and array
  elements hold that database's ids, and sequences stand past max(id), as in a real database.
* The merged database (the expected result: db1's records with db1's values, db2-only records with
  db2's values, all history rows of both) is derived the same way and rendered with the
  independent oracle sql/reference/canonical.sql into truth.json.

All data is made inside PostgreSQL with set-based SQL (sql/reference/generate.sql); randomness is
md5-based on the integer seed (no random()), so the same parameters give the same rows on any
server (checked: PostgreSQL 15 and 18 give byte-identical truth.json and COPY data). The origin is
computed once in a scratch database, copied per target with CREATE DATABASE ... TEMPLATE, and each
copy derives its content. The real pg_dump then writes the dumps (--no-owner --no-privileges).

Rows per unit of `scale` (linear; measured with seed 42, overlap 0.5, conflict_rate 0.2). Origin:
8 datasets, 230 packages, 62 datasources, 115 findings, 16 reporters, ~217 events, ~340
event-package, ~254 event-finding, ~151 finding-reporter links, 90 dataset_metrics,
180 datasource_metrics, 70 edits. Each of db1 and db2 holds about 1,000 rows per unit of scale
(per table: 6 / 172 / 39 / 86 / 12 / 122 / 176 / 132 / 86 / 45 / 90 / 35), the truth ~1,730.
scale=1: 1,036 + 1,143 rows, a couple of seconds; scale=500: 1,001,980 rows in the two databases,
about a minute on 2 cores (truth.json ~134 MB, each plain dump ~21 MB, the INSERT dump ~64 MB).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pgmerge_assets.paths import REFERENCE_SCHEMA_SQL, SQL_DIR
from pgmerge_assets.pg.embedded import create_clean_database, drop_database, embedded_server_uri, with_dbname
from pgmerge_assets.pg.tools import PgToolError, find_tool, run_tool

GENERATE_SQL = SQL_DIR / "reference" / "generate.sql"
CANONICAL_SQL = SQL_DIR / "reference" / "canonical.sql"

# the reference schema's tables, parents before children
TABLES = (
    "dataset",
    "package",
    "datasource",
    "finding",
    "finding_reporter",
    "datasource_event",
    "datasource_event_package",
    "datasource_event_finding",
    "finding_finding_reporter",
    "dataset_metrics",
    "datasource_metrics",
    "edit",
)
HISTORY_TABLES = ("dataset_metrics", "datasource_metrics", "edit")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoFiles:
    workdir: Path
    dump1_sql: Path  # workdir/dump1.sql   plain, full (COPY)
    dump1_custom: Path  # workdir/dump1.dump  -Fc, full
    dump2_sql: Path  # workdir/dump2.sql   plain, full (COPY)
    dump2_custom: Path  # workdir/dump2.dump  -Fc, full
    dump2_data_sql: Path  # workdir/dump2.data.sql    plain --data-only (COPY)
    dump2_data_custom: Path  # workdir/dump2.data.dump -Fc --data-only
    dump2_inserts_sql: Path  # workdir/dump2.inserts.sql  plain --data-only --column-inserts
    dump2_dir: Path  # workdir/dump2.dir   -Fd full
    truth: Path  # workdir/truth.json  ground truth
    counts1: dict[str, int]  # rows per table in db1
    counts2: dict[str, int]  # rows per table in db2


# attribute -> (database, file name, pg_dump options)
_DUMPS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "dump1_sql": ("db1", "dump1.sql", ("--format=plain",)),
    "dump1_custom": ("db1", "dump1.dump", ("--format=custom",)),
    "dump2_sql": ("db2", "dump2.sql", ("--format=plain",)),
    "dump2_custom": ("db2", "dump2.dump", ("--format=custom",)),
    "dump2_data_sql": ("db2", "dump2.data.sql", ("--format=plain", "--data-only")),
    "dump2_data_custom": ("db2", "dump2.data.dump", ("--format=custom", "--data-only")),
    "dump2_inserts_sql": ("db2", "dump2.inserts.sql", ("--format=plain", "--data-only", "--column-inserts")),
    "dump2_dir": ("db2", "dump2.dir", ("--format=directory",)),
}


def _sections(path: Path, marker: str) -> dict[str, str]:
    """Split a checked-in SQL file at lines `<marker> name` into {name: sql}."""
    parts = re.split(rf"^{re.escape(marker)} (\w+)[^\n]*$", path.read_text(), flags=re.MULTILINE)
    return {parts[i]: parts[i + 1].strip() for i in range(1, len(parts), 2)}


def canonical_rows(conn: psycopg.Connection, schema: str = "public") -> dict[str, list[str]]:
    """Every table of the reference schema in `schema` as sorted, id-free canonical row strings.

    The queries are sql/reference/canonical.sql (the independent oracle); history tables are
    multisets, so duplicates are kept. Changes no session setting.
    """
    out: dict[str, list[str]] = {}
    for table, text in _sections(CANONICAL_SQL, "-- @table").items():
        query = sql.SQL(text).format(schema=sql.Identifier(schema))
        out[table] = [row[0] for row in conn.execute(query).fetchall()]
    return out


def _server_major(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.info.server_version // 10000


def _count_rows(conn: psycopg.Connection, schema: str = "public") -> dict[str, int]:
    return {
        table: conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, table))
        ).fetchone()[0]
        for table in TABLES
    }


def _connect(dsn: str) -> psycopg.Connection:
    conn = psycopg.connect(dsn)
    conn.execute(_sections(GENERATE_SQL, "-- @@")["session"])
    return conn


def _build_origin(dsn: str, params: dict) -> None:
    """Compute the logical universe (schema `origin`) in database `dsn`."""
    sections = _sections(GENERATE_SQL, "-- @@")
    with _connect(dsn) as conn:
        conn.execute(sections["setup"])
        conn.execute(
            "INSERT INTO origin.params (seed, scale, overlap, conflict_rate, target) VALUES (%s, %s, %s, %s, 'merged')",
            [params["seed"], params["scale"], params["overlap"], params["conflict_rate"]],
        )
        conn.execute(sections["origin"])
        conn.commit()


def _derive(dsn: str, target: str) -> dict:
    """Fill public (reference schema) of `dsn`, a copy of the origin database, with `target`'s content.

    Returns row counts; for target 'merged' also the truth (canonical rows) and the conflicts.
    """
    sections = _sections(GENERATE_SQL, "-- @@")
    with _connect(dsn) as conn:
        conn.execute("UPDATE origin.params SET target = %s", [target])
        conn.execute("SET search_path = public")
        conn.execute(REFERENCE_SCHEMA_SQL.read_text())
        conn.execute(sections["derive"])
        bad = [(what, n) for what, n in conn.execute(sections["checks"]).fetchall() if n]
        if bad:
            raise RuntimeError(f"demo generation for {target} broke its own invariants: {bad}")
        result: dict = {"counts": _count_rows(conn)}
        if target == "merged":
            found = dict(conn.execute(sections["conflicts"]).fetchall())
            result["conflicts"] = {table: found[table] for table in TABLES if table in found}
            result["tables"] = canonical_rows(conn, "public")
        conn.execute("DROP SCHEMA origin CASCADE")
        conn.commit()
    return result


def _pg_dump(pg_dump: Path, dsn: str, options: tuple[str, ...], out: Path) -> None:
    """Run pg_dump on `dsn` into `out`; a password travels in PGPASSWORD, not on the command line."""
    params = conninfo_to_dict(dsn)
    env = dict(os.environ, PGTZ="UTC")
    password = params.pop("password", None)
    if password:
        env["PGPASSWORD"] = password
    if out.is_dir():
        shutil.rmtree(out)
    elif out.exists():
        out.unlink()
    run_tool(
        [str(pg_dump), "--no-owner", "--no-privileges", *options, "--file", str(out),
         "--dbname", make_conninfo(**params)],
        what=f"pg_dump {' '.join(options)} > {out.name}",
        env=env,
    )


def generate_demo(
    workdir: Path,
    *,
    scale: int = 1,
    seed: int = 42,
    overlap: float = 0.5,
    conflict_rate: float = 0.2,
    admin_dsn: str | None = None,
    pg_bin: str | None = None,
) -> DemoFiles:
    """Write two diverged dumps of the reference schema and their merge's truth into `workdir`.

    `admin_dsn` must be allowed to CREATE DATABASE; None starts (or reuses) the embedded server with
    its data under `workdir/pgdata` (the server keeps running afterwards, see embedded_server_uri).
    Three scratch databases pgmerge_gen_<token>_{db1,db2,merged} are created on it and dropped at
    the end; the per-call token keeps concurrent calls (other test runs on a shared server) apart.
    `pg_bin` chooses the folder of pg_dump (see pgmerge_assets.pg.tools.find_tool); its major
    version must be at least the server's.
    """
    for name, value in (("scale", scale), ("seed", seed)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an integer, not {value!r}")
    if scale < 1:
        raise ValueError(f"scale must be >= 1, not {scale}")
    for name, value in (("overlap", overlap), ("conflict_rate", conflict_rate)):
        if not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"{name} must be between 0 and 1, not {value!r}")

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if admin_dsn is None:
        admin_dsn = embedded_server_uri(workdir)

    pg_dump = find_tool("pg_dump", pg_bin)
    server_major = _server_major(admin_dsn)
    if pg_dump.major < server_major:
        raise PgToolError(
            f"{pg_dump.path} is pg_dump {pg_dump.major}, older than the PostgreSQL {server_major} server: "
            f"pass pg_bin (or set PGMERGE_PG_BIN) to the bin folder of pg_dump {server_major} or newer"
        )

    params = {
        "seed": seed,
        "scale": scale,
        "overlap": Decimal(str(overlap)),
        "conflict_rate": Decimal(str(conflict_rate)),
    }
    token = uuid.uuid4().hex[:10]
    dbnames = {target: f"pgmerge_gen_{token}_{target}" for target in ("db1", "db2", "merged")}
    dsns = {target: with_dbname(admin_dsn, name) for target, name in dbnames.items()}
    try:
        # the origin is computed once; each target database starts as a file-level copy of it
        started = time.monotonic()
        create_clean_database(admin_dsn, dbnames["merged"])
        _build_origin(dsns["merged"], params)
        for target in ("db1", "db2"):
            create_clean_database(admin_dsn, dbnames[target], template=dbnames["merged"])
        log.info("demo origin (seed %s, scale %s) built in %.1f s", seed, scale, time.monotonic() - started)
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=3) as pool:
            futures = {target: pool.submit(_derive, dsns[target], target) for target in dbnames}
            built = {target: future.result() for target, future in futures.items()}
        log.info("demo databases db1, db2 and merged derived in %.1f s", time.monotonic() - started)
        started = time.monotonic()

        paths = {attr: workdir / filename for attr, (_, filename, _) in _DUMPS.items()}
        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            jobs = [
                pool.submit(_pg_dump, pg_dump.path, dsns[db], options, paths[attr])
                for attr, (db, _, options) in _DUMPS.items()
            ]
            for job in jobs:
                job.result()
        log.info("demo dumps written in %.1f s", time.monotonic() - started)
    finally:
        for name in dbnames.values():
            drop_database(admin_dsn, name)

    truth_path = workdir / "truth.json"
    truth = {
        "seed": seed,
        "scale": scale,
        "overlap": float(overlap),
        "conflict_rate": float(conflict_rate),
        "conflicts": built["merged"]["conflicts"],
        "tables": built["merged"]["tables"],
    }
    truth_path.write_text(json.dumps(truth, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return DemoFiles(
        workdir=workdir,
        truth=truth_path,
        counts1=built["db1"]["counts"],
        counts2=built["db2"]["counts"],
        **paths,
    )
