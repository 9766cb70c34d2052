"""The lossless proof, planned from the spec: each row written id-free, compared across schemas.

A row's id-free form replaces every foreign key and array element with the referenced row's natural
key (recursively: an event's key holds its datasource's purl). The same expressions read staging and
the merged views (target ∪ pending, i.e. the target as it will be once published), so a staging row is
found there exactly when the merge carries it over intact — proven before anything is published.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from psycopg import sql

from pgmerge_assets.catalog.spec import MergeSpec, SpecError, TableSpec
from pgmerge_assets.plan.order import merge_order
from pgmerge_assets.plan.common import Names
from pgmerge_assets.templates import compose

MAX_DEPTH = 8


@dataclass(frozen=True)
class Proof:
    table: str
    query: sql.Composed  # staging_rows, identical, conflicts, lost, conflict_sample, lost_sample


class _IdFree:
    def __init__(self, spec: MergeSpec, table_name: Callable[[str], sql.Identifier]):
        self.spec, self.table_name = spec, table_name  # staging's or the target's table of a spec table

    def key(self, t: TableSpec, alias: str, depth: int) -> sql.Composed:
        """jsonb natural key of the row at `alias`; tables without one are identified by their content."""
        if not t.natural_key:
            return self.content(t, alias, depth)
        return sql.SQL("jsonb_build_array({})").format(
            sql.SQL(", ").join(self.value(t, c, alias, depth) for c in t.natural_key))

    def content(self, t: TableSpec, alias: str, depth: int) -> sql.Composed:
        """jsonb of every column but the id, references written as natural keys."""
        pairs = [sql.SQL("{}, {}").format(sql.Literal(c), self.value(t, c, alias, depth))
                 for c in t.columns if c != t.id]
        return sql.SQL("jsonb_build_object({})").format(sql.SQL(", ").join(pairs))

    def value(self, t: TableSpec, column: str, alias: str, depth: int) -> sql.Composed:
        col = sql.Identifier(alias, column)
        fk = t.mapped(column)
        array = next((a for a in t.arrays if a.column == column), None)
        if fk:
            return self.key_of(fk.table, col, depth + 1)
        if array:
            return sql.SQL(
                "CASE WHEN {col} IS NULL THEN NULL ELSE coalesce((SELECT jsonb_agg({k} ORDER BY u.ord) "
                "FROM unnest({col}) WITH ORDINALITY AS u(element, ord)), '[]'::jsonb) END"
            ).format(col=col, k=self.key_of(array.table, sql.SQL("u.element"), depth + 1))
        return sql.SQL("to_jsonb({})").format(col)

    def key_of(self, table: str, id_expr: sql.Composable, depth: int) -> sql.Composed:
        """The natural key of the `table` row whose id is `id_expr` (NULL stays NULL)."""
        if depth > MAX_DEPTH:
            raise SpecError(f"table {table}: natural keys nest deeper than {MAX_DEPTH} levels (a reference cycle?)")
        t = self.spec.tables[table]
        alias = f"k{depth}"
        return sql.SQL("(SELECT {key} FROM {tbl} AS {a} WHERE {a}.{id} = {id_expr})").format(
            key=self.key(t, alias, depth), tbl=self.table_name(table), a=sql.Identifier(alias),
            id=sql.Identifier(t.id), id_expr=id_expr)


def build_proofs(spec: MergeSpec) -> list[Proof]:
    """One proof query per merged table, in merge order."""
    n = Names(spec)
    staging, public = _IdFree(spec, n.staging), _IdFree(spec, n.merged)
    proofs = []
    for t in merge_order(spec):
        sides = dict(staging_table=n.staging(t.name), public_table=n.merged(t.name),
                     staging_content=staging.content(t, "k0", 0), public_content=public.content(t, "k0", 0))
        if t.strategy == "append":
            query = compose("report/proof_append.sql", **sides)
        else:
            if t.has_map:
                staging_id = sql.SQL("k0.{}").format(sql.Identifier(t.id))
                matched = sql.SQL("NOT m.inserted")
                map_join = sql.SQL("LEFT JOIN {} m ON m.staging_id = s.staging_id").format(n.map(t.name))
            else:
                staging_id, matched, map_join = sql.SQL("NULL"), sql.SQL("true"), sql.SQL("")
            query = compose("report/proof_keyed.sql", **sides, staging_id=staging_id, matched=matched,
                            map_join=map_join, staging_key=staging.key(t, "k0", 0), public_key=public.key(t, "m", 0))
        proofs.append(Proof(t.name, query))
    return proofs
