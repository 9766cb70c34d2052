"""Undo: take out exactly the rows one publish inserted, children first (a cycle's tables in one statement),
refusing while rows written since then still reference them."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from pgmerge_assets.catalog.spec import MergeSpec, TableSpec
from pgmerge_assets.plan.common import Names, ident_list
from pgmerge_assets.plan.order import merge_groups
from pgmerge_assets.templates import compose


@dataclass(frozen=True)
class Dependent:
    """Rows outside the merge that reference its rows: undo would leave them dangling."""

    label: str  # table.column -> parent
    count: sql.Composed  # one number


@dataclass(frozen=True)
class UndoPlan:
    dependents: tuple[Dependent, ...]
    deletes: tuple[tuple[tuple[str, ...], sql.Composed], ...]  # (tables, one statement: rows deleted per table)
    drop_kept: tuple[sql.Composed, ...]


def _dependents(n: Names, merge_id: int, t: TableSpec) -> list[Dependent]:
    out = []
    kept = n.kept(merge_id, t.name)
    for column, parent in [*((f.column, f.table) for f in t.mapped_columns), *((a.column, a.table) for a in t.arrays)]:
        p = n.spec.tables[parent]
        is_array = any(a.column == column for a in t.arrays)
        test = sql.SQL("c.{} && ARRAY(SELECT {} FROM {})" if is_array else "c.{} IN (SELECT {} FROM {})")
        parts = dict(public_table=n.public(t.name), kept=kept,
                     references=test.format(sql.Identifier(column), sql.Identifier(p.id), n.kept(merge_id, parent)))
        if t.id:
            query = compose("undo/dependents_by_id.sql", **parts, id=sql.Identifier(t.id))
        else:
            query = compose("undo/dependents_by_content.sql", **parts)
        out.append(Dependent(f"{t.schema}.{t.relname}.{column} -> {p.schema}.{p.relname}", query))
    return out


def _delete(n: Names, merge_id: int, t: TableSpec) -> sql.Composed:
    parts = dict(public_table=n.public(t.name), kept=n.kept(merge_id, t.name))
    if t.id:
        return compose("undo/delete_by_id.sql", **parts, id=sql.Identifier(t.id))
    content = sql.SQL("jsonb_build_array({})")
    return compose("undo/delete_by_content.sql", **parts, public_content=content.format(ident_list(t.columns, "p")),
                   kept_content=content.format(ident_list(t.columns, "k")))


def plan_undo(spec: MergeSpec, merge_id: int) -> UndoPlan:
    n = Names(spec)
    groups = merge_groups(spec)[::-1]  # children first
    deletes = []
    for group in groups:
        ctes = sql.SQL(",\n").join(sql.SQL("{} AS ({})").format(sql.Identifier(f"deleted_{i}"), _delete(n, merge_id, t))
                                   for i, t in enumerate(group))
        counts = sql.SQL(", ").join(sql.SQL("(SELECT count(*) FROM {})").format(sql.Identifier(f"deleted_{i}"))
                                    for i in range(len(group)))
        deletes.append((tuple(t.name for t in group), sql.SQL("WITH {}\nSELECT {}").format(ctes, counts)))
    tables = [t for group in groups for t in group]
    return UndoPlan(tuple(d for t in tables for d in _dependents(n, merge_id, t)), tuple(deletes),
                    tuple(sql.SQL("DROP TABLE IF EXISTS {}").format(n.kept(merge_id, t.name)) for t in tables))
