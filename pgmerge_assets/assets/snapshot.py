"""Read-only queries run several at a time on connections that share one snapshot: the proof and the checks
are one query each, using one core of the server each, so on a machine with cores to spare they finish in the
time of the longest rather than of all together, and still see exactly one state of the database."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any, Callable

import psycopg

from pgmerge_assets.pg.sessions import Connect, join_snapshot
from pgmerge_assets.templates import load

# measured on 2 cores: the report 1.7x faster with 2 connections than with 1
PARALLEL = max(1, min(4, os.cpu_count() or 1))
Task = Callable[[psycopg.Connection], Any]


def run_tasks(conn: psycopg.Connection, tasks: list[Task], connect: Connect | None, parallel: int = PARALLEL) -> list:
    """Each task (a function of a connection) run in the snapshot of `conn`'s open REPEATABLE READ transaction:
    on `conn` itself one after another, or `parallel` at a time on `conn` and connections from `connect`
    importing that snapshot. The results in task order."""
    if connect is None or parallel <= 1 or len(tasks) <= 1:
        return [task(conn) for task in tasks]
    snapshot = conn.execute(load("report/snapshot_export.sql")).fetchone()[0]
    return _in_snapshot(conn, tasks, connect, snapshot, parallel)


def _in_snapshot(conn: psycopg.Connection, tasks: list[Task], connect: Connect, snapshot: str, parallel: int) -> list:
    """Interrupted (a Dagster termination): every query still running is cancelled."""
    results: list[Any] = [None] * len(tasks)
    todo = iter(reversed(range(len(tasks))))  # the last tasks (the proofs of the biggest tables, often) first
    lock, stop = threading.Lock(), threading.Event()

    def work(c: psycopg.Connection) -> None:
        while not stop.is_set():
            with lock:
                i = next(todo, None)
            if i is None:
                return
            results[i] = tasks[i](c)

    with ExitStack() as stack:
        connections = [conn]
        for _ in range(min(parallel, len(tasks)) - 1):
            c = stack.enter_context(connect())
            join_snapshot(c, snapshot)
            connections.append(c)
        with ThreadPoolExecutor(len(connections)) as pool:
            running = [pool.submit(work, c) for c in connections]
            try:
                for future in running:
                    future.result()
            except BaseException:
                stop.set()
                for c in connections:
                    c.cancel_safe()
                raise
        for c in connections[1:]:
            c.rollback()
    return results
