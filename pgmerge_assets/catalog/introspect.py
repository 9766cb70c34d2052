"""Read what a schema is from pg_catalog: tables, columns, keys, sequences and array columns.

Used only by `pgmerge spec` (to draft a spec) and by run-time validation; definitions never call it.
"""

from __future__ import annotations

from collections.abc import Sequence
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


INTEGER_TYPES = ("smallint", "integer", "bigint")


@dataclass(frozen=True)
class ForeignKeyConstraint:
    columns: tuple[str, ...]
    ref_schema: str
    ref_table: str
    ref_columns: tuple[str, ...]


@dataclass
class Table:
    schema: str
    name: str
    columns: list[Column] = field(default_factory=list)
    primary_key: tuple[str, ...] = ()
    unique_keys: list[tuple[str, ...]] = field(default_factory=list)
    foreign_keys: list[ForeignKeyConstraint] = field(default_factory=list)
    sequence: tuple[str, str] | None = None  # (schema, name) of the sequence feeding a primary-key column
    sequence_column: str | None = None
    insert_triggers: tuple[str, ...] = ()  # user triggers that fire on INSERT

    @property
    def id_column(self) -> str | None:
        """The surrogate id maps translate: the sequence-fed key column, else a single-column key."""
        return self.sequence_column or (self.primary_key[0] if len(self.primary_key) == 1 else None)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


Catalog = dict[tuple[str, str], Table]  # (schema, table) -> Table


def read_catalog(conn: psycopg.Connection, schemas: str | Sequence[str] = "public") -> Catalog:
    """Every ordinary or partitioned table of `schemas` (partitions excluded), by (schema, name)."""
    params = {"schemas": [schemas] if isinstance(schemas, str) else list(schemas)}
    tables: Catalog = {}
    for schema, name, column, type_, identity, generated, nullable, int_array in conn.execute(
            load("catalog/columns.sql"), params):
        table = tables.setdefault((schema, name), Table(schema, name))
        identity = {"a": "always", "d": "by_default"}.get(identity)
        table.columns.append(Column(column, type_, identity, generated, nullable, int_array))
    for schema, name, kind, columns, ref_schema, ref_table, ref_columns in conn.execute(
            load("catalog/constraints.sql"), params):
        table = tables.get((schema, name))
        if table is None:
            continue
        if kind == "p":
            table.primary_key = tuple(columns)
        elif kind == "u":
            if tuple(columns) not in table.unique_keys:
                table.unique_keys.append(tuple(columns))
        elif kind == "f":  # the same key declared on several partitions counts once
            fk = ForeignKeyConstraint(tuple(columns), ref_schema, ref_table, tuple(ref_columns))
            if fk not in table.foreign_keys:
                table.foreign_keys.append(fk)
    for schema, name, triggers in conn.execute(load("catalog/insert_triggers.sql"), params):
        if (schema, name) in tables:
            tables[(schema, name)].insert_triggers = tuple(triggers)
    for schema, name, column, sequence_schema, sequence in conn.execute(load("catalog/sequences.sql"), params):
        if (schema, name) in tables:
            tables[(schema, name)].sequence_column = column
            tables[(schema, name)].sequence = (sequence_schema, sequence)
    return tables


def spec_mismatches(spec, tables: Catalog) -> list[str]:
    """Where a spec contradicts the live catalog of its schemas: each line names table and column."""
    problems = []
    for t in spec.merged_tables:
        table = tables.get((t.schema, t.relname))
        where = f"{t.schema}.{t.relname}"
        if table is None:
            problems.append(f"table {t.name}: {where} does not exist")
            continue
        live = {c.name: c for c in table.columns if not c.generated}
        for column in t.columns:
            if column not in live:
                problems.append(f"table {t.name}: spec column {column} is not a column of {where}")
        for column in live:
            if column not in t.columns:
                problems.append(f"table {t.name}: column {column} is missing from the spec's columns (its values would be lost)")
        for array in t.arrays:
            if array.column in live and not live[array.column].is_integer_array:
                problems.append(f"table {t.name}: arrays.{array.column} is {live[array.column].type}, not an integer array")
        if t.fresh_ids and t.id in live and live[t.id].type not in INTEGER_TYPES:
            problems.append(f"table {t.name}: id column {t.id} is {live[t.id].type}, which pgmerge cannot count up: "
                            f"add keep_ids: true (new rows then keep their own {live[t.id].type} ids)")
        for column in t.deferred_foreign_keys:
            if column in live and not live[column].nullable:
                problems.append(f"table {t.name}: deferred_foreign_keys.{column} is NOT NULL in {where}; a foreign-key "
                                f"cycle needs no deferred column (its tables are published in one statement): "
                                f"remove the entry")
    return problems
