"""Dump #2's fingerprint, as the ledger shows it: one order-independent checksum per staging table, the md5 of
them joined by commas. Same rows, same fingerprint, whatever their order or dump format."""

from __future__ import annotations

import hashlib

import psycopg
from psycopg import sql

from pgmerge_assets.plan.staging import StagingPlan


def _checksum(conn: psycopg.Connection, by_columns: sql.Composed, by_text: sql.Composed) -> str:
    try:
        with conn.transaction():  # a savepoint: the caller's transaction goes on after a refusal
            return conn.execute(by_columns).fetchone()[0]
    except psycopg.errors.UndefinedFunction:  # a column type without a hash function (json, point, …)
        return conn.execute(by_text).fetchone()[0]


def staging_fingerprint(conn: psycopg.Connection, staging: StagingPlan) -> str:
    """The staging tables' fingerprint, read in the caller's transaction (publish reads it on its second
    connection, in its own snapshot, while the rows go in: the ledger records exactly what was merged)."""
    parts = [_checksum(conn, *queries) for queries in staging.fingerprint_parts()]
    return hashlib.md5(",".join(parts).encode()).hexdigest()
