"""Run plan steps and checks against PostgreSQL: one transaction per step, cancellable, timed."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

import psycopg
from psycopg import sql

from pgmerge_assets.plan.planner import Guard, Step
from pgmerge_assets.plan.staging import StagingPlan


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
            raise BadInputError(f"{guard.problem}: {count} offending rows; sample: {sample[:5]}. Nothing was merged.")


def run_step(conn: psycopg.Connection, step: Step, log=None) -> StepResult:
    """Guards, statements and stats of one step in one transaction: all of it happens or none."""
    started = time.monotonic()
    if log is not None:
        conn.add_notice_handler(lambda d: log.info(d.message_primary))
    with cancel_on_interrupt(conn), conn.transaction():
        check_guards(conn, step.guards)
        rowcounts = []
        for statement in step.statements:
            cur = conn.execute(statement)
            rowcounts.append(cur.rowcount)
        stats: dict[str, Any] = {}
        if step.stats is not None:
            cur = conn.execute(step.stats)
            row = cur.fetchone()
            if row is not None:
                stats = {d.name: v for d, v in zip(cur.description, row)}
    return StepResult(time.monotonic() - started, rowcounts, stats)


def statements_markdown(conn: psycopg.Connection, statements) -> str:
    return "\n\n".join(f"```sql\n{s.as_string(conn)}\n```" for s in statements)


def table_counts(conn: psycopg.Connection, staging: StagingPlan) -> dict[str, int]:
    """Rows of every merged table in the target database, by spec name."""
    row = conn.execute(staging.target_count_query()).fetchone()
    return dict(zip(staging.tables, row))


def prepare_merge_state(conn: psycopg.Connection, staging: StagingPlan) -> bool:
    """Create pgmerge's schema; drop old maps when staging now holds a different dump #2. True if reset."""
    with conn.transaction():
        conn.execute(staging.prepare())
        fingerprint = conn.execute(staging.fingerprint()).fetchone()[0]
        before = conn.execute(staging.record_fingerprint(fingerprint)).fetchone()[0]
        if before is None or before == fingerprint:
            return False
        conn.execute(staging.reset())
        conn.execute(staging.prepare())
        conn.execute(staging.record_fingerprint(fingerprint))
        return True
