"""The merge spec: which tables merge how, read from a checked-in YAML file and validated on load.

The spec carries the catalog facts the planner needs (columns, id column and its sequence, foreign
keys), so definitions and plans are built from the file alone, with no database at load time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

STRATEGIES = ("natural_key", "append", "skip")


class SpecError(ValueError):
    """The spec is malformed or contradicts itself; the message names the table and field."""


@dataclass(frozen=True)
class ForeignKey:
    column: str
    table: str  # references that table's `id` column


@dataclass(frozen=True)
class ArrayRef:
    column: str
    table: str  # each element is an `id` of that table


@dataclass(frozen=True)
class TableSpec:
    name: str
    strategy: str
    columns: tuple[str, ...]
    id: str | None = None
    sequence: str | None = None
    identity: str | None = None
    natural_key: tuple[str, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    arrays: tuple[ArrayRef, ...] = ()
    deferred_foreign_keys: tuple[str, ...] = ()  # inserted NULL, set once their parents are merged
    nulls_in_key: str = "distinct"  # distinct: a NULL in the key never matches (the row is new); equal: NULL = NULL

    @property
    def has_map(self) -> bool:
        """Tables with a surrogate id get an id map staging_id → public_id."""
        return self.id is not None and self.strategy in ("natural_key", "append")

    @property
    def ordering_foreign_keys(self) -> tuple[ForeignKey, ...]:
        """Foreign keys whose parent must be merged first: not deferred, not to the table itself."""
        return tuple(f for f in self.foreign_keys if f.table != self.name and f.column not in self.deferred_foreign_keys)

    def fk(self, column: str) -> ForeignKey | None:
        return next((f for f in self.foreign_keys if f.column == column), None)


@dataclass(frozen=True)
class MergeSpec:
    tables: dict[str, TableSpec]
    target_schema: str = "public"
    staging_schema: str = "staging"
    map_schema: str = "pgmerge"
    path: Path | None = field(default=None, compare=False)

    @property
    def merged_tables(self) -> list[TableSpec]:
        return [t for t in self.tables.values() if t.strategy != "skip"]


def _names(value, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SpecError(f"{where}: expected a column name or a list of column names, got {value!r}")
    return tuple(value)


def _refs(value, where: str, kind: type) -> tuple:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise SpecError(f"{where}: expected a mapping column: table, got {value!r}")
    for column, table in value.items():
        if not isinstance(table, str):
            raise SpecError(f"{where}.{column}: name the table its values reference (got {table!r})")
    return tuple(kind(column, table) for column, table in value.items())


def _table(name: str, raw: dict) -> TableSpec:
    where = f"table {name}"
    if not isinstance(raw, dict):
        raise SpecError(f"{where}: expected a mapping, got {raw!r}")
    unknown = set(raw) - {"strategy", "columns", "id", "sequence", "identity", "natural_key", "foreign_keys", "arrays",
                          "deferred_foreign_keys", "nulls_in_key", "note"}
    if unknown:
        raise SpecError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    strategy = raw.get("strategy")
    if strategy not in STRATEGIES:
        raise SpecError(f"{where}: strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    nulls = raw.get("nulls_in_key", "distinct")
    if nulls not in ("distinct", "equal"):
        raise SpecError(f"{where}: nulls_in_key must be distinct or equal, got {nulls!r}")
    identity = raw.get("identity")
    if identity not in (None, "always", "by_default"):
        raise SpecError(f"{where}: identity must be always or by_default, got {identity!r}")
    return TableSpec(
        name=name,
        strategy=strategy,
        columns=_names(raw.get("columns"), f"{where}.columns"),
        id=raw.get("id"),
        sequence=raw.get("sequence"),
        identity=identity,
        natural_key=_names(raw.get("natural_key"), f"{where}.natural_key"),
        foreign_keys=_refs(raw.get("foreign_keys"), f"{where}.foreign_keys", ForeignKey),
        arrays=_refs(raw.get("arrays"), f"{where}.arrays", ArrayRef),
        deferred_foreign_keys=_names(raw.get("deferred_foreign_keys"), f"{where}.deferred_foreign_keys"),
        nulls_in_key=nulls,
    )


def validate(spec: MergeSpec) -> MergeSpec:
    """Every reference resolves, every strategy has what it needs, and the merge order exists."""
    for t in spec.tables.values():
        where = f"table {t.name}"
        if not t.columns:
            raise SpecError(f"{where}: columns is empty")
        cols = set(t.columns)
        for field_name, used in (("id", [t.id] if t.id else []), ("natural_key", t.natural_key),
                                 ("foreign_keys", [f.column for f in t.foreign_keys]),
                                 ("arrays", [a.column for a in t.arrays])):
            for column in used:
                if column not in cols:
                    raise SpecError(f"{where}.{field_name}: column {column} is not among the table's columns")
        for ref in (*t.foreign_keys, *t.arrays):
            target = spec.tables.get(ref.table)
            kind = "foreign_keys" if isinstance(ref, ForeignKey) else "arrays"
            if target is None:
                raise SpecError(f"{where}.{kind}.{ref.column}: references table {ref.table}, which is not in the spec")
            if target.id is None:
                raise SpecError(f"{where}.{kind}.{ref.column}: references table {ref.table}, which has no id column to map")
            if t.strategy != "skip" and target.strategy == "skip":
                raise SpecError(f"{where}.{kind}.{ref.column}: references table {ref.table}, whose strategy is skip; "
                                f"its ids could not be translated")
        for column in t.deferred_foreign_keys:
            if t.fk(column) is None:
                raise SpecError(f"{where}.deferred_foreign_keys: {column} is not one of the table's foreign_keys")
            if t.id is None:
                raise SpecError(f"{where}.deferred_foreign_keys: only tables with an id column can set a foreign "
                                f"key after inserting (their rows are found through the id map)")
            if column in t.natural_key:
                raise SpecError(f"{where}.deferred_foreign_keys: {column} is part of the natural key, which "
                                f"must be known when rows are matched")
        if t.strategy == "natural_key" and not t.natural_key:
            raise SpecError(f"{where}: strategy natural_key needs natural_key columns")
        if t.strategy == "append" and t.id is not None and t.sequence is None:
            raise SpecError(f"{where}: strategy append needs the sequence that feeds its id column, for fresh ids")
        if t.strategy == "append" and t.id is None and t.arrays:
            raise SpecError(f"{where}.arrays: a table without an id column cannot have its arrays repaired")
    from pgmerge_assets.plan.order import merge_order  # the cycle check lives with the ordering

    merge_order(spec)
    return spec


def load_spec(path: str | Path) -> MergeSpec:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise SpecError(f"spec file {path} does not exist") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"spec file {path} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("tables"), dict):
        raise SpecError(f"spec file {path}: expected a mapping with a 'tables' mapping")
    unknown = set(raw) - {"version", "target_schema", "staging_schema", "map_schema", "tables"}
    if unknown:
        raise SpecError(f"spec file {path}: unknown field(s) {', '.join(sorted(unknown))}")
    spec = MergeSpec(
        tables={name: _table(name, body) for name, body in raw["tables"].items()},
        target_schema=raw.get("target_schema", "public"),
        staging_schema=raw.get("staging_schema", "staging"),
        map_schema=raw.get("map_schema", "pgmerge"),
        path=path,
    )
    return validate(spec)
