"""Undo: take out exactly the rows one publish inserted, children first (a cycle's tables in one statement),
refusing while rows written since then still reference them."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from pgmerge_assets.catalog.spec import MergeSpec, TableSpec
from pgmerge_assets.plan.common import Guard, Names, ident_list, wrap
from pgmerge_assets.plan.order import merge_groups
from pgmerge_assets.plan.publish import TargetForeignKey, key_parts, merged_table
from pgmerge_assets.templates import compose


@dataclass(frozen=True)
class Dependent:
    """Rows outside the merge that reference its rows: undo would leave them dangling."""

    label: str  # table.column -> parent
    count: sql.Composed  # one number
    key: tuple | None = None  # a scalar key as the catalog would declare it (_key_shape); None: an array


@dataclass(frozen=True)
class UndoPlan:
    dependents: tuple[Dependent, ...]
    deletes: tuple[tuple[tuple[str, ...], sql.Composed], ...]  # (tables, one statement: rows deleted per table)
    drop_kept: tuple[sql.Composed, ...]


def _key_shape(schema: str, table: str, columns: tuple[str, ...], parent_schema: str, parent: str,
               parent_columns: tuple[str, ...]) -> tuple:
    """What makes a spec's reference and a catalog's foreign key the same key."""
    return schema, table, columns, parent_schema, parent, parent_columns


def _references(column: str, array: bool, parent_ids: sql.Composed, table: sql.Identifier) -> sql.Composed:
    """`table`'s rows (as `c`) whose column (an id array where `array`) names one of `parent_ids`."""
    if not array:
        return sql.SQL("c.{} IN ({})").format(sql.Identifier(column), parent_ids)
    # an array: one hash join of all the table's elements with the ids (`&&` against an array of the ids
    # compares each element with every id: minutes for a big merge)
    return compose("undo/array_references.sql", table=table, column=sql.Identifier(column), parent_ids=parent_ids)


def _dependents(n: Names, merge_id: int, t: TableSpec) -> list[Dependent]:
    out = []
    kept = n.kept(merge_id, t.name)
    for column, parent, array in [*((f.column, f.table, False) for f in t.mapped_columns),
                                  *((a.column, a.table, True) for a in t.arrays)]:
        p = n.spec.tables[parent]
        parent_ids = sql.SQL("SELECT {} FROM {}").format(sql.Identifier(p.id), n.kept(merge_id, parent))
        parts = dict(public_table=n.public(t.name), kept=kept,
                     references=_references(column, array, parent_ids, n.public(t.name)))
        if t.id:
            query = compose("undo/dependents_by_id.sql", **parts, id=sql.Identifier(t.id))
        else:
            query = compose("undo/dependents_by_content.sql", **parts,
                            kept_references=_references(column, array, parent_ids, kept))
        key = None if array else _key_shape(t.schema, t.relname, (column,), p.schema, p.relname, (p.id,))
        out.append(Dependent(f"{t.schema}.{t.relname}.{column} -> {p.schema}.{p.relname}", query, key))
    return out


def _delete(n: Names, merge_id: int, t: TableSpec, row_key: tuple[str, ...] | None) -> sql.Composed:
    parts = dict(public_table=n.public(t.name), kept=n.kept(merge_id, t.name))
    content = sql.SQL("jsonb_build_array({})")
    key = (t.id,) if t.id else row_key
    if key and set(key) <= set(t.columns):
        match = [sql.SQL("t.{c} = k.{c}").format(c=sql.Identifier(c)) for c in key]
        rest = [c for c in t.columns if c not in key]
        if not t.id and rest:  # a row of that key written since with other values is not the merge's
            match.append(sql.SQL("{} = {}").format(content.format(ident_list(rest, "t")),
                                                   content.format(ident_list(rest, "k"))))
        return compose("undo/delete_by_key.sql", **parts, match=sql.SQL(" AND ").join(match))
    return compose("undo/delete_by_content.sql", **parts, public_content=content.format(ident_list(t.columns, "p")),
                   kept_content=content.format(ident_list(t.columns, "k")))


def left_to_count(plan: UndoPlan, checked_after: list[TargetForeignKey]) -> list[Dependent]:
    """The dependents to count before the deletes: those no key checked after them (dangling_guard) counts
    again, i.e. arrays and the keys the spec declares and the catalog does not."""
    shapes = {_key_shape(fk.schema, fk.table, fk.columns, fk.parent_schema, fk.parent, fk.parent_columns)
              for fk in checked_after}
    return [d for d in plan.dependents if d.key not in shapes]


def dangling_guard(fk: TargetForeignKey) -> Guard:
    """Rows of fk's table naming a row undo deleted. Undo holds back the per-row triggers of the keys that
    reference the tables it deletes from (each would read the referencing table once per deleted row: hours
    where no index covers the key) and asks this once per key after its deletes, in the same transaction."""
    columns, complete, match = key_parts(fk)
    return Guard(f"{fk.schema}.{fk.table}.{', '.join(fk.columns)} -> {fk.parent_schema}.{fk.parent} "
                 f"(constraint {fk.constraint})",
                 wrap(compose("undo/dangling_rows.sql", columns=sql.SQL(", ").join(columns), complete=complete,
                              child=sql.Identifier(fk.schema, fk.table), match=match,
                              parent=sql.Identifier(fk.parent_schema, fk.parent))))


def changed_on_delete_guard(spec: MergeSpec, merge_id: int, fk: TargetForeignKey) -> Guard:
    """Rows of fk's table that its ON DELETE action would delete or change when undo deletes the merge's rows
    of fk's parent (a table deleted from with its triggers firing): asked just before that delete."""
    n, parent = Names(spec), merged_table(spec, fk.parent_schema, fk.parent)
    columns, complete, match = key_parts(fk)
    kept = n.kept(merge_id, parent.name)
    deleted = (sql.SQL("{} k JOIN {} p ON p.{id} = k.{id}").format(kept, n.public(parent.name),
                                                                   id=sql.Identifier(parent.id))
               if parent.id else sql.SQL("{} p").format(kept))  # without id, the kept rows are whole rows
    return Guard(f"{fk.schema}.{fk.table}.{', '.join(fk.columns)} -> {fk.parent_schema}.{fk.parent} "
                 f"(constraint {fk.constraint}, whose ON DELETE action would change them)",
                 wrap(compose("undo/changed_on_delete.sql", columns=sql.SQL(", ").join(columns), complete=complete,
                              child=sql.Identifier(fk.schema, fk.table), deleted=deleted, match=match)))


def plan_undo(spec: MergeSpec, merge_id: int, row_keys: dict[str, tuple[str, ...]] | None = None) -> UndoPlan:
    """`row_keys`: per table without id, by spec name, columns the target holds unique and NOT NULL (its
    primary key): its kept rows are deleted by those in one hash join, else by content (sorting every row)."""
    n = Names(spec)
    row_keys = row_keys or {}
    groups = merge_groups(spec)[::-1]  # children first
    deletes = []
    for group in groups:
        ctes = sql.SQL(",\n").join(sql.SQL("{} AS ({})").format(sql.Identifier(f"deleted_{i}"),
                                                                 _delete(n, merge_id, t, row_keys.get(t.name)))
                                   for i, t in enumerate(group))
        counts = sql.SQL(", ").join(sql.SQL("(SELECT count(*) FROM {})").format(sql.Identifier(f"deleted_{i}"))
                                    for i in range(len(group)))
        deletes.append((tuple(t.name for t in group), sql.SQL("WITH {}\nSELECT {}").format(ctes, counts)))
    tables = [t for group in groups for t in group]
    return UndoPlan(tuple(d for t in tables for d in _dependents(n, merge_id, t)), tuple(deletes),
                    tuple(sql.SQL("DROP TABLE IF EXISTS {}").format(n.kept(merge_id, t.name)) for t in tables))
