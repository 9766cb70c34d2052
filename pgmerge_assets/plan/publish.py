"""Publish: the one transaction that moves the audited pending rows into the target. Tables are inserted in
constraint order; the tables of a foreign-key cycle in one statement (PostgreSQL checks non-deferrable
foreign keys at the end of each statement), so no column is inserted NULL and updated later."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from pgmerge_assets.catalog.spec import MergeSpec, TableSpec
from pgmerge_assets.plan.common import Guard, Names, held_unique, ident_list, key_match, wrap
from pgmerge_assets.plan.order import merge_groups, merge_order
from pgmerge_assets.templates import compose


@dataclass(frozen=True)
class InsertGroup:
    tables: tuple[str, ...]
    statement: sql.Composed  # one row: the rows inserted into each table, in `tables` order


@dataclass(frozen=True)
class SequenceMove:
    table: str
    sequence: str  # the quoted, qualified name, as the ledger shows it
    schema: str
    name: str
    position: sql.Composed  # (last_value, is_called) of the target's sequence
    past_max: sql.Composed  # max(id) when the sequence is not past it already

    def set_to(self, value: int, is_called: bool = True) -> sql.Composed:
        return sequence_set(sql.Identifier(self.schema, self.name), value, is_called)


def sequence_set(sequence: sql.Identifier, value: int, is_called: bool) -> sql.Composed:
    """Set a sequence inside the publish (or undo) transaction: rolled back with it, unlike a bare setval()."""
    return compose("ledger/sequence_set.sql", sequence_table=sequence,
                   sequence=sql.SQL("{}::regclass").format(sql.Literal(sequence.as_string())),
                   value=sql.Literal(value), is_called=sql.Literal(is_called))


@dataclass(frozen=True)
class PublishPlan:
    spec: MergeSpec
    locks: tuple[tuple[str, sql.Composed], ...]  # (quoted schema.table, LOCK statement)
    verify: tuple[Guard, ...]  # inside the transaction, after the locks: the audit still holds
    groups: tuple[InsertGroup, ...]
    sequences: tuple[SequenceMove, ...]
    tables: tuple[str, ...]  # spec names, in insert order
    pending_rows: sql.Composed  # one row: each table's pending row count, in `tables` order

    def copy_kept(self) -> list[tuple[str, sql.Composed]]:
        """(table, statement): each table's pending rows copied for undo. Publish runs them on its second
        connection while it inserts (committed apart: a copy a failed publish left is replaced next time)."""
        n = Names(self.spec)
        return [(t.name, compose("publish/copy_kept.sql", kept_copy=n.kept_copy(t.name), pending=n.pending(t.name),
                                 kept_columns=sql.Identifier(t.id) if t.id else sql.SQL("*")))
                for t in merge_order(self.spec)]

    def keep(self, merge_id: int) -> list[sql.Composed]:
        """Keep each table's copied rows under the merge's number for undo, and empty the pending tables."""
        n = Names(self.spec)
        return [compose("publish/keep_rows.sql", kept_copy=n.kept_copy(t.name),
                        kept_name=sql.Identifier(n.kept_name(merge_id, t.name)), pending=n.pending(t.name))
                for t in merge_order(self.spec)]

    def drop_kept_copies(self) -> list[sql.Composed]:
        n = Names(self.spec)
        return [sql.SQL("DROP TABLE IF EXISTS {}").format(n.kept_copy(t.name)) for t in merge_order(self.spec)]


@dataclass(frozen=True)
class TargetForeignKey:
    """A foreign key of a table publish inserts into, as the target's catalog has it when publish runs."""

    schema: str
    table: str
    constraint: str
    columns: tuple[str, ...]
    parent_schema: str
    parent: str
    parent_columns: tuple[str, ...]
    match_full: bool


def merged_table(spec: MergeSpec, schema: str, relname: str) -> TableSpec | None:
    """The spec's merged table that is the target's table `schema.relname`, if any."""
    return next((t for t in spec.merged_tables if (t.schema, t.relname) == (schema, relname)), None)


def key_parts(fk: TargetForeignKey) -> tuple[list[sql.Composed], sql.Composed, sql.Composed]:
    """The key's columns of its table's row `c`, "all of them not NULL", and "parent row `p` matches"."""
    columns = [sql.SQL("c.{}").format(sql.Identifier(c)) for c in fk.columns]
    complete = sql.SQL(" AND ").join(sql.SQL("{} IS NOT NULL").format(c) for c in columns)
    match = sql.SQL(" AND ").join(sql.SQL("p.{} = {}").format(sql.Identifier(p), c)
                                  for p, c in zip(fk.parent_columns, columns))
    return columns, complete, match


def orphan_guard(spec: MergeSpec, fk: TargetForeignKey, before_insert: bool = False) -> Guard:
    """The published rows of fk's table whose key names no row of its parent (the pending table holds exactly
    the rows publish inserted). `before_insert`: judged in publish's snapshot from before its inserts, where the
    parent's rows once published are its target rows and its pending rows."""
    n, t = Names(spec), merged_table(spec, fk.schema, fk.table)
    columns, complete, match = key_parts(fk)
    partly_null = (sql.SQL("num_nulls({}) BETWEEN 1 AND {}").format(sql.SQL(", ").join(columns),
                                                                    sql.Literal(len(columns) - 1))
                   if fk.match_full and len(columns) > 1 else sql.SQL("false"))
    also_pending = (compose("publish/orphan_pending_parent.sql", match=match,
                            parent_pending=n.pending(merged_table(spec, fk.parent_schema, fk.parent).name))
                    if before_insert else sql.SQL("true"))
    return Guard(f"{fk.schema}.{fk.table}.({', '.join(fk.columns)}): published rows reference no row of "
                 f"{fk.parent_schema}.{fk.parent} (constraint {fk.constraint})",
                 wrap(compose("publish/orphan_rows.sql", columns=sql.SQL(", ").join(columns),
                              pending=n.pending(t.name), complete=complete,
                              parent=sql.Identifier(fk.parent_schema, fk.parent), match=match,
                              partly_null=partly_null, also_pending=also_pending)))


def replication_role(role: str) -> sql.Composed:
    return compose("publish/replication_role.sql", role=sql.Literal(role))


def _insert_group(n: Names, group: list[TableSpec]) -> InsertGroup:
    ctes = sql.SQL(",\n").join(
        sql.SQL("{} AS ({})").format(sql.Identifier(f"inserted_{i}"), compose(
            "publish/insert_pending.sql", public_table=n.public(t.name), pending=n.pending(t.name),
            columns=ident_list(t.columns),
            overriding=sql.SQL("OVERRIDING SYSTEM VALUE" if t.identity == "always" else "")))
        for i, t in enumerate(group))
    counts = sql.SQL(", ").join(sql.SQL("(SELECT count(*) FROM {})").format(sql.Identifier(f"inserted_{i}"))
                                for i in range(len(group)))
    return InsertGroup(tuple(t.name for t in group), sql.SQL("WITH {}\nSELECT {}").format(ctes, counts))


def taken_since_audit(n: Names, t: TableSpec, *, trust_indexes: bool = True) -> list[Guard]:
    """What may have changed in the target since the audit: an id or a natural key now taken. Where the target's
    own unique index holds ids or keys (`trust_indexes`), the insert meets such a row itself, and the guard
    reads nothing; publish then asks again without trusting them, to say which it was."""
    def unique(table: sql.Identifier, columns, **nulls) -> sql.Composable:
        return held_unique(table, columns, **nulls) if trust_indexes else sql.SQL("false")

    guards = []
    where = f"{t.schema}.{t.relname}"
    if t.id:
        guards.append(Guard(f"{where}.{t.id}: ids of pending rows were taken in the target since the audit",
                            wrap(compose("checks/pending_id_taken.sql", pending=n.pending(t.name),
                                         public_table=n.public(t.name), id=sql.Identifier(t.id),
                                         held_unique=unique(n.public(t.name), [t.id])))))
    if t.strategy == "natural_key":
        guards.append(Guard(f"{where}.({', '.join(t.natural_key)}): natural keys of pending rows were added to the "
                            f"target since the audit",
                            wrap(compose("checks/pending_key_taken.sql", pending=n.pending(t.name),
                                         public_table=n.public(t.name), key=ident_list(t.natural_key, "p"),
                                         key_match=key_match(t, "t", "p"),
                                         held_unique=unique(n.public(t.name), t.natural_key,
                                                            nulls_counted=t.nulls_in_key == "equal")))))
    return guards


def plan_publish(spec: MergeSpec) -> PublishPlan:
    n = Names(spec)
    groups = merge_groups(spec)
    ordered = [t for group in groups for t in group]
    locks = tuple((n.public(t.name).as_string(), compose("publish/lock_table.sql", public_table=n.public(t.name)))
                  for t in ordered)
    sequences = tuple(
        SequenceMove(t.name, n.sequence_table(t).as_string(), t.sequence_schema or t.schema, t.sequence,
                     compose("ledger/sequence_position.sql", sequence=n.sequence_table(t)),
                     compose("publish/sequence_past_max.sql", id=sql.Identifier(t.id),
                             public_table=n.public(t.name), sequence_table=n.sequence_table(t)))
        for t in ordered if t.sequence)
    pending_rows = sql.SQL("SELECT {}").format(sql.SQL(", ").join(
        sql.SQL("(SELECT count(*) FROM {})").format(n.pending(t.name)) for t in ordered))
    return PublishPlan(spec, locks, tuple(g for t in ordered for g in taken_since_audit(n, t)),
                       tuple(_insert_group(n, g) for g in groups), sequences, tuple(t.name for t in ordered),
                       pending_rows)
