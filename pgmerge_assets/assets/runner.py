"""Run plan steps and checks against PostgreSQL: one transaction per step, cancellable, timed."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

import psycopg
from psycopg import sql

from pgmerge_assets.pg.ownership import claim
from pgmerge_assets.pg.sessions import notices_to
from pgmerge_assets.plan.common import Guard, Step
from pgmerge_assets.plan.staging import StagingPlan
from pgmerge_assets.templates import compose, load


class BadInputError(RuntimeError):
    """A guard found rows that cannot be merged; nothing was written."""


@dataclass
class StepResult:
    seconds: float
    rowcounts: list[int]
    stats: dict[str, Any]


@contextmanager
def cancel_on_interrupt(conn: psycopg.Connection) -> Iterator[None]:
    """Dagster's run termination raises a BaseException psycopg does not cancel on: cancel the SQL ourselves."""
    try:
        yield
    except BaseException:
        conn.cancel_safe()
        raise


def offending(conn: psycopg.Connection, query: sql.Composed) -> tuple[int, list]:
    count, sample = conn.execute(query).fetchone()
    return int(count), sample


def check_guards(conn: psycopg.Connection, guards: tuple[Guard, ...]) -> None:
    for guard in guards:
        count, sample = offending(conn, guard.query)
        if count:
            raise BadInputError(f"{guard.problem}: {count} offending rows; sample: {sample[:5]}. "
                                f"Nothing was published; the target is unchanged.")


def run_step(conn: psycopg.Connection, step: Step, staging: StagingPlan, log=None) -> StepResult:
    """Guards, statements and stats of one step in one transaction: all of it happens or none. Every step
    writes pgmerge's work only, and makes it a new version (an earlier audit no longer covers it)."""
    started = time.monotonic()
    with notices_to(conn, log.info if log is not None else None), cancel_on_interrupt(conn), conn.transaction():
        check_guards(conn, step.guards)
        rowcounts = []
        for statement in step.statements:
            cur = conn.execute(statement)
            rowcounts.append(cur.rowcount)
        check_guards(conn, step.after)
        conn.execute(staging.bump_version())
        stats: dict[str, Any] = {}
        if step.stats is not None:
            cur = conn.execute(step.stats)
            row = cur.fetchone()
            if row is not None:
                stats = {d.name: v for d, v in zip(cur.description, row)}
    return StepResult(time.monotonic() - started, rowcounts, stats)


def statement_counts(conn: psycopg.Connection, statements, rowcounts: list[int]) -> dict[str, int]:
    """Rows each statement wrote, labelled by what it does: its template's first comment line, or its first
    words (statements without a row count, such as ANALYZE, are left out)."""
    counts: dict[str, int] = {}
    for statement, count in zip(statements, rowcounts):
        if count < 0:
            continue
        text = statement.as_string(conn).strip()
        first = text.splitlines()[0]
        label = first.lstrip("- ").rstrip(":") if first.startswith("--") else " ".join(text.split()[:4])
        label = label if len(label) <= 80 else label[:77] + "..."
        counts[label if label not in counts else f"{label} ({len(counts) + 1})"] = count
    return counts


def table_columns(conn: psycopg.Connection, table: sql.Identifier) -> list[tuple[str, str, bool]]:
    """(name, type, nullable) of each column of a table, in order."""
    return conn.execute(load("catalog/table_columns.sql"), {"table": table.as_string(conn)}).fetchall()


def statements_markdown(conn: psycopg.Connection, statements) -> str:
    return "\n\n".join(f"```sql\n{s.as_string(conn)}\n```" for s in statements)


def table_counts(conn: psycopg.Connection, staging: StagingPlan) -> dict[str, int]:
    """Rows of every merged table in the target database, by spec name."""
    row = conn.execute(staging.target_count_query()).fetchone()
    return dict(zip(staging.tables, row))


def merged_counts(conn: psycopg.Connection, staging: StagingPlan) -> dict[str, int]:
    """Rows of every merged table once published (target ∪ pending), by spec name."""
    row = conn.execute(staging.merged_count_query()).fetchone()
    return dict(zip(staging.tables, row))


def prepare_merge_state(conn: psycopg.Connection, staging: StagingPlan) -> None:
    """pgmerge's schema (marked as its own) and tables; this run's work starts over from the new staging."""
    spec = staging.spec
    with conn.transaction():
        claim(conn, spec.map_schema, "id maps, pending rows, merge ledger", "map_schema")
        conn.execute(staging.prepare())
        for statement in staging.start_over():
            conn.execute(statement)
        conn.execute(compose("ledger/set_state.sql", state=staging.names.state),
                     {"key": "started_at", "value": datetime.now(timezone.utc).isoformat()})
        conn.execute(staging.bump_version())


def record_audit(conn: psycopg.Connection, staging: StagingPlan, version: int, report: dict[str, Any]) -> None:
    """What the integrity report found, for the version of the work it judged."""
    failed = [f"{c['asset']}:{c['check']}" for c in report["checks"] if not c["passed"] and c["severity"] == "ERROR"]
    lost = report["lossless"]["lost"]
    with conn.transaction():
        conn.execute(compose("audit/record.sql", audit=staging.names.audit), {
            "version": version, "passed": not failed and lost == 0, "lost": lost, "failed": json.dumps(failed),
            "row_counts": json.dumps({t: v["rows_now"] for t, v in report["tables"].items()})})


def current_audit(conn: psycopg.Connection, staging: StagingPlan) -> dict[str, Any] | None:
    cur = conn.execute(compose("audit/current.sql", state=staging.names.state, audit=staging.names.audit))
    row = cur.fetchone()
    return {d.name: v for d, v in zip(cur.description, row)} if row else None
