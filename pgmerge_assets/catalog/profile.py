"""Measure the data of one or two databases for the draft (`pgmerge spec --dsn A --dsn2 B`): which column
sets are unique and not null, which integer columns hold another table's ids, and whether an id is a code
both databases share. Everything is counted inside PostgreSQL over at most SAMPLE_ROWS rows per table; only
counts (and a bounded sketch of hashes) come back. The draft decides from these numbers (draft.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

import psycopg
from psycopg import sql

from pgmerge_assets.catalog.introspect import INTEGER_TYPES, Catalog, Table
from pgmerge_assets.catalog.naming import kind, points_at
from pgmerge_assets.templates import compose

SAMPLE_ROWS = 200_000  # rows read per table and database; a big table is judged on its first rows
SKETCH_IDS = 200  # ids compared per table when looking for a shared code
MAX_COLUMNS = 12  # columns of one table considered for keys
SET_COLUMNS = 7  # the most plausible not-null columns combined into pairs and triples


@dataclass(frozen=True)
class ColumnSet:
    columns: tuple[str, ...]
    distinct: tuple[int, ...]  # per database: distinct values (a NULL is no value)
    rows: tuple[int, ...]  # per database: rows sampled

    @property
    def unique(self) -> bool:
        """Unique and not null in every database."""
        return all(d == r for d, r in zip(self.distinct, self.rows))

    def share(self) -> str:
        """Distinct values per row, per database, as people read it."""
        return " / ".join(f"{d}/{r}" for d, r in zip(self.distinct, self.rows))


@dataclass
class TableProfile:
    rows: tuple[int, ...]  # rows sampled, per database
    sampled: bool  # some database had more rows than SAMPLE_ROWS
    singles: dict[str, ColumnSet] = field(default_factory=dict)  # every considered column
    sets: list[ColumnSet] = field(default_factory=list)  # unique pairs and triples of not-null columns
    references: dict[str, tuple[str, str]] = field(default_factory=dict)  # column -> table whose ids it holds
    shared_code: tuple[int, int] | None = None  # ids both sketches hold, and of those with equal content


Profile = dict[tuple[str, str], TableProfile]


def _profiled(t: Table) -> bool:
    """Tables whose key the catalog does not tell: no unique key but ones holding the id."""
    return not [k for k in t.unique_keys if t.id_column not in k] and not len(t.primary_key) > 1


def _columns(conn: psycopg.Connection, t: Table, names: list[str]) -> tuple[int, dict[str, tuple[int, int]]]:
    aggregates = sql.SQL(", ").join(sql.SQL("count({c}), count(DISTINCT {c})").format(c=sql.Identifier(c))
                                    for c in names) if names else sql.SQL("0")
    row = conn.execute(compose("profile/columns.sql", aggregates=aggregates, table=sql.Identifier(t.schema, t.name),
                               limit=sql.Literal(SAMPLE_ROWS))).fetchone()
    return row[0], {c: (row[1 + 2 * i], row[2 + 2 * i]) for i, c in enumerate(names)}


def _sets(conn: psycopg.Connection, t: Table, sets: list[tuple[str, ...]]) -> list[int]:
    if not sets:
        return []
    aggregates = sql.SQL(", ").join(
        sql.SQL("count(DISTINCT ({}))").format(sql.SQL(", ").join(map(sql.Identifier, s))) for s in sets)
    return list(conn.execute(compose("profile/column_sets.sql", aggregates=aggregates,
                                     table=sql.Identifier(t.schema, t.name), limit=sql.Literal(SAMPLE_ROWS))).fetchone())


def _holds_ids(conns, t: Table, column: str, ref: Table) -> bool:
    """Every non-null value of the column names a row of `ref`, in every database, and there are some."""
    seen = 0
    for conn in conns:
        non_null, missing = conn.execute(compose(
            "profile/reference_values.sql", column=sql.Identifier(column), table=sql.Identifier(t.schema, t.name),
            ref_table=sql.Identifier(ref.schema, ref.name), ref_id=sql.Identifier(ref.id_column),
            limit=sql.Literal(SAMPLE_ROWS))).fetchone()
        if missing:
            return False
        seen += non_null
    return seen > 0


def _shared_code(conns, t: Table, plain: list[str]) -> tuple[int, int] | None:
    """Of the ids both databases' sketches hold, how many carry equal content (None: one database only)."""
    if len(conns) < 2 or not plain:
        return None
    sketches = []
    for conn in conns:
        ids, contents = conn.execute(compose(
            "profile/id_sketch.sql", id=sql.Identifier(t.id_column), table=sql.Identifier(t.schema, t.name),
            content=sql.SQL(", ").join(map(sql.Identifier, plain)), k=sql.Literal(SKETCH_IDS))).fetchone()
        sketches.append(dict(zip(ids, contents)))
    common = sketches[0].keys() & sketches[1].keys()
    return len(common), sum(sketches[0][h] == sketches[1][h] for h in common)


def profile_catalog(catalog: Catalog, conns: list[psycopg.Connection]) -> Profile:
    """Per table of `catalog`: undeclared references its integer columns hold (all tables), and for tables
    with no declared key but the id: the uniqueness of single columns and of pairs and triples of plausible
    not-null columns, and whether an integer id is a shared code. One to three queries per table and
    database; the sets combined are bounded by MAX_COLUMNS and SET_COLUMNS."""
    out: Profile = {}
    with_ids = {key: t.name for key, t in sorted(catalog.items())
                if t.id_column and t.column(t.id_column).type in INTEGER_TYPES}
    for key, t in sorted(catalog.items()):
        declared = {c for fk in t.foreign_keys for c in fk.columns}
        profile = TableProfile(rows=(), sampled=False)
        for c in t.columns:
            if c.name in declared or c.name == t.id_column or c.type not in INTEGER_TYPES:
                continue
            ref = points_at(c.name, key, with_ids)
            if ref and _holds_ids(conns, t, c.name, catalog[ref]):
                profile.references[c.name] = ref
        out[key] = profile
        if not _profiled(t):
            continue
        names = [c.name for c in t.columns if c.name != t.id_column and not c.generated and kind(c.type)][:MAX_COLUMNS]
        counts = [_columns(conn, t, names) for conn in conns]
        profile.rows = tuple(rows for rows, _ in counts)
        profile.sampled = any(rows >= SAMPLE_ROWS for rows in profile.rows)
        profile.singles = {c: ColumnSet((c,), tuple(per[c][1] for _, per in counts), profile.rows) for c in names}
        # pairs and triples of not-null columns that are not unique alone, most distinct first
        not_null = [c for c in names if all(per[c][0] == rows for rows, per in counts)]
        plausible = sorted((c for c in not_null if not profile.singles[c].unique),
                           key=lambda c: -min(per[c][1] / max(rows, 1) for rows, per in counts))[:SET_COLUMNS]
        plausible = [c for c in names if c in plausible]  # table order
        pairs = list(combinations(plausible, 2))
        distinct = [_sets(conn, t, pairs) for conn in conns]
        unique_pairs = {p for i, p in enumerate(pairs) if all(d[i] == rows for d, rows in zip(distinct, profile.rows))}
        profile.sets = [ColumnSet(p, tuple(d[i] for d in distinct), profile.rows) for i, p in enumerate(pairs)
                        if p in unique_pairs]
        triples = [s for s in combinations(plausible, 3) if not any(p in unique_pairs for p in combinations(s, 2))]
        distinct = [_sets(conn, t, triples) for conn in conns]
        profile.sets += [ColumnSet(s, tuple(d[i] for d in distinct), profile.rows) for i, s in enumerate(triples)
                         if all(d[i] == rows for d, rows in zip(distinct, profile.rows))]
        if t.id_column and not t.sequence_column and t.column(t.id_column).type in INTEGER_TYPES:
            fks = declared | set(profile.references)
            profile.shared_code = _shared_code(conns, t, [c for c in names if c not in fks])
    return out
