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

Equal means what equality of the values' JSON says. Where a column's type has exactly that equality (the
types in NATIVE and BYTEWISE), a mapped table's proof compares the values natively instead, which spares
building JSON for every row (given the types; without them every column is compared as JSON).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from psycopg import sql

from pgmerge_assets.catalog.spec import MergeSpec, TableSpec
from pgmerge_assets.plan.common import Names, ident_list, parent_joins, translated, translated_array, translated_arrays
from pgmerge_assets.plan.order import merge_order
from pgmerge_assets.templates import compose


# Types whose equality says exactly what equality of their JSON (`to_jsonb`) says; and arrays of integers,
# their lower bounds set to 1 first (JSON has none). Anything else (json, geometry, intervals, domains, enums,
# citext, other arrays…) is compared as JSON. Text is compared byte by byte, as JSON strings are, whatever
# the column's collation.
NATIVE = frozenset({"smallint", "integer", "bigint", "boolean", "uuid", "date", "timestamp without time zone",
                    "timestamp with time zone", "numeric", "real", "double precision", "bytea", "jsonb"})
BYTEWISE = frozenset({"text", "character varying"})
INTEGERS = frozenset({"smallint", "integer", "bigint"})  # a translated id compares with any integer width

Types = Mapping[str, Mapping[str, str]]  # table → column → format_type()


@dataclass(frozen=True)
class Proof:
    table: str
    query: sql.Composed  # staging_rows, identical, conflicts, lost, conflict_sample, lost_sample


def _staging_values(n: Names, t: TableSpec, columns: list[str],
                    source: sql.Composable | None = None) -> tuple[list[sql.Composable], sql.Composed]:
    """Each column's staging value translated through the maps (`st`), and the joins those values read
    (id arrays read from `source`, by default the whole staging table)."""
    joins, aliases = parent_joins(n, t.mapped_columns)
    array_joins, arrays = translated_arrays(n, t, t.arrays, source) if t.id else ([], {})
    per_row = {a.column: a.table for a in t.arrays}  # no id to join back on: one subquery per row
    values = [arrays.get(c) or (translated_array(n, c, per_row[c]) if c in per_row else translated(c, aliases))
              for c in columns]
    return values, sql.SQL("\n    ").join([joins, *array_joins])


def _sides(n: Names, t: TableSpec, columns: list[str],
           source: sql.Composable | None = None) -> tuple[sql.Composed, sql.Composed, sql.Composed]:
    """The columns as one jsonb array: staging's translated through the maps (`st`), the merged view's (`p`),
    and the joins the staging side reads."""
    values, joins = _staging_values(n, t, columns, source)
    return (sql.SQL("jsonb_build_array({})").format(sql.SQL(", ").join(values)),
            sql.SQL("jsonb_build_array({})").format(ident_list(columns, "p")), joins)


def _equal(t: TableSpec, column: str, value: sql.Composable, type_name: str | None) -> sql.Composed:
    """The staging value (translated) equals the merged view's (`p`), NULL equal to NULL: natively where the
    column's type allows (a translated id only for integer columns), else as JSON."""
    base = None if type_name is None else re.sub(r"\(.*?\)", "", type_name).strip()
    mine = sql.SQL("p.{}").format(sql.Identifier(column))
    translated = t.mapped(column) is not None or any(a.column == column for a in t.arrays)
    if base is not None and base.endswith("[]"):
        if base.removesuffix("[]") in INTEGERS:  # [:] starts both at 1: JSON has no lower bounds
            return sql.SQL("({})[:]::bigint[] IS NOT DISTINCT FROM ({})[:]::bigint[]").format(value, mine)
        base = None
    if base in INTEGERS or (base in NATIVE and not translated):
        return sql.SQL("{} IS NOT DISTINCT FROM {}").format(value, mine)
    if base in BYTEWISE and not translated:
        return sql.SQL('{} COLLATE "C" IS NOT DISTINCT FROM {} COLLATE "C"').format(value, mine)
    return sql.SQL("to_jsonb({}) IS NOT DISTINCT FROM to_jsonb({})").format(value, mine)


def _mapped(n: Names, t: TableSpec, types: Mapping[str, str]) -> sql.Composed:
    """The proof of a table with an id map: the verdicts from native comparisons, the samples as JSON."""
    content = [c for c in t.columns if c != t.id]
    compared = content + [c for c in t.natural_key if c not in content]  # a key may hold the id itself
    values, joins = _staging_values(n, t, compared)
    value = dict(zip(compared, values))

    def all_equal(columns) -> sql.Composable:
        return sql.SQL(" AND ").join([_equal(t, c, value[c], types.get(c)) for c in columns] or [sql.SQL("true")])

    natural = t.strategy == "natural_key"  # else history: its content is its key, and a row that differs is lost
    tables = dict(map=n.map(t.name), merged_view=n.merged(t.name), id=sql.Identifier(t.id))

    def sample(ids: str) -> sql.Composed:
        source = sql.SQL("(SELECT * FROM {} WHERE {} = ANY (v.{}))").format(
            n.staging(t.name), sql.Identifier(t.id), sql.Identifier(ids))
        staging_content, public_content, sample_joins = _sides(n, t, content, source)
        staging_key = _sides(n, t, list(t.natural_key), source)[0] if natural else sql.SQL("'[]'::jsonb")
        return compose("report/proof_sample.sql", source=source, parent_joins=sample_joins, staging_key=staging_key,
                       staging_content=staging_content, public_content=public_content, **tables)

    return compose("report/proof_mapped.sql", staging_table=n.staging(t.name), parent_joins=joins,
                   unmapped=_unmapped(t), content_equal=all_equal(content),
                   key_equal=all_equal(t.natural_key) if natural else sql.SQL("true"),
                   matched=sql.SQL("NOT m.inserted") if natural else sql.SQL("false"),
                   conflict_sample=sample("conflict_ids"), lost_sample=sample("lost_ids"), **tables)


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
        public_key_equal=sql.SQL(" AND ").join(sql.SQL("p.{} = s.{}").format(sql.Identifier(c), ki)
                                               for c, ki in zip(key, k)),
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


def build_proofs(spec: MergeSpec, types: Types | None = None) -> list[Proof]:
    """One proof query per merged table, in merge order (`types`: each staging clone's column types)."""
    n = Names(spec)
    proofs = []
    for t in merge_order(spec):
        if t.has_map:
            proofs.append(Proof(t.name, _mapped(n, t, (types or {}).get(t.name, {}))))
            continue
        staging_content, public_content, joins = _sides(n, t, [c for c in t.columns if c != t.id])
        parts = dict(staging_table=n.staging(t.name), merged_view=n.merged(t.name), parent_joins=joins,
                     counts=compose("report/proof_counts.sql"),
                     staging_content=staging_content, public_content=public_content, unmapped=_unmapped(t))
        if t.strategy == "natural_key" and set(t.columns) <= set(t.natural_key):
            query = compose("report/proof_key_only.sql", **{**parts, **_keyed_without_id(n, t)})
        elif t.strategy == "natural_key":
            query = compose("report/proof_keyed.sql", **{**parts, **_keyed_without_id(n, t)})
        else:
            query = compose("report/proof_append.sql", **parts)
        proofs.append(Proof(t.name, query))
    return proofs
