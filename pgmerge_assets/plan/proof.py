"""The lossless proof, planned from the spec: two linear passes per table, each reading its tables once
by hash joins.

(a) Every map entry links a staging row and a row of the merged view (target ∪ pending: the target as it
    will be once published) with equal natural keys, the foreign-key parts of the staging key translated
    through their parents' maps — maps proven by the same query one table earlier in merge order, so by
    induction this is the id-free comparison of natural keys.
(b) Every staging row, its foreign keys and id arrays translated through the maps, equals the row its map
    links it to — or, where it matched an existing target row, differs as a conflict the target won.
Anything else is lost. History is keyed by its whole content; tables without an id are compared as
multisets. The tests keep an independent oracle (an id-free canonical form of both dumps), so a flaw
here cannot hide.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from pgmerge_assets.catalog.spec import MergeSpec, TableSpec
from pgmerge_assets.plan.common import Names, ident_list, parent_joins, translated, translated_array, translated_arrays
from pgmerge_assets.plan.order import merge_order
from pgmerge_assets.templates import compose


@dataclass(frozen=True)
class Proof:
    table: str
    query: sql.Composed  # staging_rows, identical, conflicts, lost, conflict_sample, lost_sample


def _staging_values(n: Names, t: TableSpec, columns: list[str]) -> tuple[list[sql.Composable], sql.Composed]:
    """Each column's staging value translated through the maps (`st`), and the joins those values read."""
    joins, aliases = parent_joins(n, t.mapped_columns)
    array_joins, arrays = translated_arrays(n, t, t.arrays) if t.id else ([], {})
    per_row = {a.column: a.table for a in t.arrays}  # no id to join back on: one subquery per row
    values = [arrays.get(c) or (translated_array(n, c, per_row[c]) if c in per_row else translated(c, aliases))
              for c in columns]
    return values, sql.SQL("\n    ").join([joins, *array_joins])


def _sides(n: Names, t: TableSpec, columns: list[str]) -> tuple[sql.Composed, sql.Composed, sql.Composed]:
    """The columns as one jsonb array: staging's translated through the maps (`st`), the merged view's (`p`),
    and the joins the staging side reads."""
    values, joins = _staging_values(n, t, columns)
    return (sql.SQL("jsonb_build_array({})").format(sql.SQL(", ").join(values)),
            sql.SQL("jsonb_build_array({})").format(ident_list(columns, "p")), joins)


def _keyed_without_id(n: Names, t: TableSpec) -> dict[str, sql.Composable]:
    """The parts of the proof of a table with a natural key and no id: the key compared on its own columns
    (a hash join on native values; jsonb only for keys holding a NULL, which = cannot match), the other
    columns as one jsonb value."""
    key = list(t.natural_key)
    values, _ = _staging_values(n, t, key)
    k = [sql.Identifier(f"k{i}") for i in range(len(key))]
    rest_staging, rest_public, _ = _sides(n, t, [c for c in t.columns if c not in key])
    return dict(
        staging_key_columns=sql.SQL(", ").join(sql.SQL("{} AS {}").format(v, ki) for v, ki in zip(values, k)),
        public_key_columns=sql.SQL(", ").join(sql.SQL("p.{} AS {}").format(sql.Identifier(c), ki)
                                              for c, ki in zip(key, k)),
        key_positions=sql.SQL(", ").join(sql.SQL(str(i + 1)) for i in range(len(key))),
        staging_rest=rest_staging, public_rest=rest_public,
        key_equal=sql.SQL(" AND ").join(sql.SQL("p.{ki} = s.{ki}").format(ki=ki) for ki in k),
        staging_complete=sql.SQL(" AND ").join(sql.SQL("s.{} IS NOT NULL").format(ki) for ki in k),
        public_complete=sql.SQL(" AND ").join(sql.SQL("p.{} IS NOT NULL").format(sql.Identifier(c)) for c in key),
        staging_key=sql.SQL("jsonb_build_array({})").format(sql.SQL(", ").join(sql.SQL("s.{}").format(ki) for ki in k)),
        public_key=sql.SQL("jsonb_build_array({})").format(ident_list(key, "p")))


def _unmapped(t: TableSpec) -> sql.Composable:
    """A staging foreign key whose parent row has no map entry (parent_joins' alias f<i>): the row cannot
    have been carried over."""
    return sql.SQL(" OR ").join(
        [sql.SQL("(st.{} IS NOT NULL AND {}.staging_id IS NULL)").format(sql.Identifier(f.column), sql.Identifier(f"f{i}"))
         for i, f in enumerate(t.mapped_columns)] or [sql.SQL("false")])


def build_proofs(spec: MergeSpec) -> list[Proof]:
    """One proof query per merged table, in merge order."""
    n = Names(spec)
    proofs = []
    for t in merge_order(spec):
        staging_content, public_content, joins = _sides(n, t, [c for c in t.columns if c != t.id])
        parts = dict(staging_table=n.staging(t.name), merged_view=n.merged(t.name), parent_joins=joins,
                     counts=compose("report/proof_counts.sql"),
                     staging_content=staging_content, public_content=public_content, unmapped=_unmapped(t))
        if t.strategy == "natural_key":
            parts["staging_key"], parts["public_key"], _ = _sides(n, t, list(t.natural_key))
        if t.has_map:
            if t.strategy != "natural_key":  # history: its content is its key, and a row that differs is lost
                parts.update(staging_key=sql.SQL("'[]'::jsonb"), public_key=sql.SQL("'[]'::jsonb"),
                             matched=sql.SQL("false"))
            query = compose("report/proof_mapped.sql", **{"matched": sql.SQL("NOT m.inserted"), **parts},
                            map=n.map(t.name), id=sql.Identifier(t.id))
        elif t.strategy == "natural_key":
            query = compose("report/proof_keyed.sql", **{**parts, **_keyed_without_id(n, t)})
        else:
            query = compose("report/proof_append.sql", **parts)
        proofs.append(Proof(t.name, query))
    return proofs
