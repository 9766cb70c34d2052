"""Read what a schema is from pg_catalog: tables, columns, keys, sequences and array columns.

Used only by `pgmerge spec` (to draft a spec) and by run-time validation; definitions never call it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg

from pgmerge_assets.templates import load


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    identity: str | None  # 'always' | 'by_default' | None
    generated: bool
    nullable: bool
    is_integer_array: bool


@dataclass(frozen=True)
class ForeignKeyConstraint:
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]


@dataclass
class Table:
    name: str
    columns: list[Column] = field(default_factory=list)
    primary_key: tuple[str, ...] = ()
    unique_keys: list[tuple[str, ...]] = field(default_factory=list)
    foreign_keys: list[ForeignKeyConstraint] = field(default_factory=list)
    sequence: str | None = None  # sequence feeding a primary-key column
    sequence_column: str | None = None

    @property
    def id_column(self) -> str | None:
        """The surrogate id maps translate: the sequence-fed key column, else a single-column key."""
        return self.sequence_column or (self.primary_key[0] if len(self.primary_key) == 1 else None)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def read_catalog(conn: psycopg.Connection, schema: str = "public") -> dict[str, Table]:
    """Every ordinary or partitioned table of `schema` (partitions excluded), by name."""
    tables: dict[str, Table] = {}
    for name, column, type_, identity, generated, nullable, int_array in conn.execute(
            load("catalog/columns.sql"), {"schema": schema}):
        table = tables.setdefault(name, Table(name))
        identity = {"a": "always", "d": "by_default"}.get(identity)
        table.columns.append(Column(column, type_, identity, generated, nullable, int_array))
    for name, kind, columns, ref_table, ref_columns in conn.execute(load("catalog/constraints.sql"), {"schema": schema}):
        table = tables.get(name)
        if table is None:
            continue
        if kind == "p":
            table.primary_key = tuple(columns)
        elif kind == "u":
            if tuple(columns) not in table.unique_keys:
                table.unique_keys.append(tuple(columns))
        elif kind == "f":
            table.foreign_keys.append(ForeignKeyConstraint(tuple(columns), ref_table, tuple(ref_columns)))
    for name, column, sequence in conn.execute(load("catalog/sequences.sql"), {"schema": schema}):
        if name in tables:
            tables[name].sequence_column, tables[name].sequence = column, sequence
    return tables


def spec_mismatches(spec, tables: dict[str, Table]) -> list[str]:
    """Where a spec contradicts the live catalog of its target schema: each line names table and column."""
    problems = []
    for t in spec.merged_tables:
        table = tables.get(t.name)
        if table is None:
            problems.append(f"table {t.name}: not in schema {spec.target_schema}")
            continue
        live = {c.name: c for c in table.columns if not c.generated}
        for column in t.columns:
            if column not in live:
                problems.append(f"table {t.name}: spec column {column} is not a column of {spec.target_schema}.{t.name}")
        for column in live:
            if column not in t.columns:
                problems.append(f"table {t.name}: column {column} is missing from the spec's columns (its values would be lost)")
        for array in t.arrays:
            if array.column in live and not live[array.column].is_integer_array:
                problems.append(f"table {t.name}: arrays.{array.column} is {live[array.column].type}, not an integer array")
    return problems
