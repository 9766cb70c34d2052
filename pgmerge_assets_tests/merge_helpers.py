"""Helpers for merge tests: run the generated graph in process against a test database."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import psycopg

from pgmerge_assets.assets.resources import MergeInputs, TargetDatabase
from pgmerge_assets.catalog.spec import load_spec
from pgmerge_assets.definitions import build_definitions
from pgmerge_assets.paths import REFERENCE_SPEC
from pgmerge_assets.pg import merge_lock
from pgmerge_assets.pg.ownership import mark
from pgmerge_assets.plan.planner import build_plan

MERGE_ONLY = dg.AssetSelection.all() - dg.AssetSelection.groups("load")


def materialize(dsn: str, workdir: Path, *, spec_path=REFERENCE_SPEC, selection=None, inputs: MergeInputs | None = None,
                instance: dg.DagsterInstance | None = None):
    defs = build_definitions(spec_path, {"target": TargetDatabase(dsn=dsn, workdir=str(workdir)),
                                         "inputs": inputs or MergeInputs()})
    try:
        return dg.materialize(defs.assets, selection=selection, resources=defs.resources,
                              instance=instance or dg.DagsterInstance.ephemeral(), raise_on_error=False)
    finally:
        merge_lock.release_all()


def clone_public_into_staging(conn: psycopg.Connection, spec_path=REFERENCE_SPEC) -> None:
    """Test setup only: an empty staging clone, as the staging_schema asset would leave it."""
    from psycopg import sql

    spec = load_spec(spec_path)
    mark(conn, spec.staging_schema, "staging schema (test setup)")
    for t in spec.merged_tables:
        conn.execute(sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL)").format(
            sql.Identifier(spec.staging_schema, t.name), sql.Identifier(t.schema, t.relname)))
    conn.commit()


def checksums(conn: psycopg.Connection, schema: str = "public") -> dict[str, str]:
    """md5 of every table's sorted rows and every sequence's state in `schema`."""
    from psycopg import sql

    out = {}
    tables = conn.execute("SELECT relname, relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                          "WHERE nspname = %s AND relkind IN ('r', 'S') ORDER BY 1", [schema]).fetchall()
    for name, kind in tables:
        ident = sql.Identifier(schema, name)
        if kind == "S":
            q = sql.SQL("SELECT last_value::text || is_called::text FROM {}").format(ident)
        else:
            q = sql.SQL("SELECT coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM {} t").format(ident)
        out[name] = conn.execute(q).fetchone()[0]
    return out


def plan():
    return build_plan(load_spec(REFERENCE_SPEC))
