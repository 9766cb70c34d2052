"""The merge spec: which tables merge how, read from a checked-in YAML file and validated on load.

The spec carries the catalog facts the planner needs (columns, id column and its sequence, foreign
keys), so definitions and plans are built from the file alone, with no database at load time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from pgmerge_assets.plan.names import MAX_IDENTIFIER

STRATEGIES = ("natural_key", "append", "skip")

# what Dagster accepts as an asset's owner and tag (checked here, so a bad spec says where it is wrong)
OWNER = re.compile(r"^(team:\S+|[^@\s]+@[^@\s]+)$")
TAG_KEY = re.compile(r"^([A-Za-z0-9_.-]+/)?[A-Za-z0-9_.-]{1,63}$")
TAG_VALUE = re.compile(r"^[A-Za-z0-9_.-]{0,63}$")


class SpecError(ValueError):
    """The spec is malformed or contradicts itself; the message names the table and field."""


@dataclass(frozen=True)
class ForeignKey:
    column: str
    table: str  # references that table's `id` column


@dataclass(frozen=True)
class Reference:
    """A foreign key on several columns, or on columns other than the referenced table's id: its rows must
    be merged first, and each column is translated the way the referenced column is (an id through that
    table's map, a foreign key through its parent's map, anything else kept as it is)."""

    columns: tuple[str, ...]
    table: str
    ref_columns: tuple[str, ...]


@dataclass(frozen=True)
class ArrayRef:
    column: str
    table: str  # each element is an `id` of that table


@dataclass(frozen=True)
class TableSpec:
    name: str  # the spec's name for the table; also its staging clone's and its map's name
    strategy: str
    columns: tuple[str, ...]
    schema: str = "public"  # where the table lives in the target database
    relname: str = ""  # its name there (the spec's name unless `table:` says otherwise)
    id: str | None = None
    sequence: str | None = None
    sequence_schema: str | None = None  # the sequence's schema when it is not the table's
    identity: str | None = None
    keep_ids: bool = False  # new rows keep their own id (uuid, text); else they get fresh ids that collide with nothing
    natural_key: tuple[str, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    references: tuple[Reference, ...] = ()
    arrays: tuple[ArrayRef, ...] = ()
    # foreign keys that close a cycle; accepted from older specs, no longer needed: a cycle's tables are
    # published in one statement, every value final (the spec check refuses one on a NOT NULL column)
    deferred_foreign_keys: tuple[str, ...] = ()
    nulls_in_key: str = "distinct"  # distinct: a NULL in the key never matches (the row is new); equal: NULL = NULL
    # history (append): drop — a row whose content the target already holds is not inserted again (a
    # multiset: n copies match n copies), so merging the same rows twice adds nothing; keep — every row is new
    duplicates: str = "drop"
    owners: tuple[str, ...] = ()  # shown on the table's assets in the UI (e-mail addresses or team:name)
    tags: tuple[tuple[str, str], ...] = ()  # likewise, as Dagster asset tags
    # every column holding ids of a mapped table: foreign_keys plus what references imply (set by validate)
    mapped_columns: tuple[ForeignKey, ...] = ()

    @property
    def fresh_ids(self) -> bool:
        """New rows get ids from pgmerge's counter: fed by the table's sequence, or, with none, past max(id)."""
        return self.id is not None and not self.keep_ids

    @property
    def has_map(self) -> bool:
        """Tables with a surrogate id get an id map staging_id → public_id."""
        return self.id is not None and self.strategy in ("natural_key", "append")

    @property
    def parents(self) -> dict[str, list[str]]:
        """Tables whose rows this table's rows reference (not the table itself), with the columns that say so."""
        out: dict[str, list[str]] = {}
        for f in self.foreign_keys:
            if f.table != self.name:
                out.setdefault(f.table, []).append(f.column)
        for r in self.references:
            if r.table != self.name:
                out.setdefault(r.table, []).append("(" + ", ".join(r.columns) + ")")
        return out

    def fk(self, column: str) -> ForeignKey | None:
        return next((f for f in self.foreign_keys if f.column == column), None)

    def mapped(self, column: str) -> ForeignKey | None:
        """How a column is translated: the table whose ids it holds, or None (kept as it is)."""
        return next((f for f in self.mapped_columns if f.column == column), None)


@dataclass(frozen=True)
class MergeSpec:
    tables: dict[str, TableSpec]
    target_schema: str = "public"
    staging_schema: str = "staging"
    map_schema: str = "pgmerge"
    path: Path | None = field(default=None, compare=False)
    text: str = field(default="", compare=False, repr=False)  # the YAML it was read from (the ledger keeps it)

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


def _references(value, where: str) -> tuple[Reference, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise SpecError(f"{where}: expected a list of {{columns, table, ref_columns}}, got {value!r}")
    out = []
    for i, item in enumerate(value):
        here = f"{where}[{i}]"
        if not isinstance(item, dict) or set(item) != {"columns", "table", "ref_columns"}:
            raise SpecError(f"{here}: expected columns, table and ref_columns, got {item!r}")
        if not isinstance(item["table"], str):
            raise SpecError(f"{here}.table: name the referenced table (got {item['table']!r})")
        columns, ref_columns = _names(item["columns"], f"{here}.columns"), _names(item["ref_columns"], f"{here}.ref_columns")
        if not columns or len(columns) != len(ref_columns):
            raise SpecError(f"{here}: columns and ref_columns must be equally long and not empty")
        out.append(Reference(columns, item["table"], ref_columns))
    return tuple(out)


def _table(name: str, raw: dict, default_schema: str) -> TableSpec:
    where = f"table {name}"
    if not isinstance(raw, dict):
        raise SpecError(f"{where}: expected a mapping, got {raw!r}")
    unknown = set(raw) - {"strategy", "columns", "schema", "table", "id", "sequence", "sequence_schema", "identity",
                          "natural_key", "foreign_keys", "references", "arrays", "deferred_foreign_keys",
                          "nulls_in_key", "duplicates", "keep_ids", "note", "owners", "tags"}
    if unknown:
        raise SpecError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    strategy = raw.get("strategy")
    if strategy not in STRATEGIES:
        raise SpecError(f"{where}: strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    nulls = raw.get("nulls_in_key", "distinct")
    if nulls not in ("distinct", "equal"):
        raise SpecError(f"{where}: nulls_in_key must be distinct or equal, got {nulls!r}")
    keep_ids = raw.get("keep_ids", False)
    if not isinstance(keep_ids, bool):
        raise SpecError(f"{where}.keep_ids: expected true or false, got {keep_ids!r}")
    duplicates = raw.get("duplicates", "drop")
    if duplicates not in ("drop", "keep"):
        raise SpecError(f"{where}: duplicates must be drop or keep, got {duplicates!r}")
    if "duplicates" in raw and strategy != "append":
        raise SpecError(f"{where}: duplicates applies to strategy append only")
    identity = raw.get("identity")
    if identity not in (None, "always", "by_default"):
        raise SpecError(f"{where}: identity must be always or by_default, got {identity!r}")
    owners, tags = raw.get("owners", []), raw.get("tags", {})
    if not (isinstance(owners, list) and all(isinstance(o, str) and OWNER.match(o) for o in owners)):
        raise SpecError(f"{where}.owners: expected a list of e-mail addresses or team:names, got {owners!r}")
    if not (isinstance(tags, dict) and all(isinstance(k, str) and isinstance(v, str) and TAG_KEY.match(k)
                                           and TAG_VALUE.match(v) for k, v in tags.items())):
        raise SpecError(f"{where}.tags: expected a mapping of names to short values (letters, digits, - _ ., "
                        f"at most 63 characters), got {tags!r}")
    for field_name in ("schema", "table", "sequence", "sequence_schema"):
        if field_name in raw and not (isinstance(raw[field_name], str) and raw[field_name]):
            raise SpecError(f"{where}.{field_name}: expected a name, got {raw[field_name]!r}")
    return TableSpec(
        name=name,
        strategy=strategy,
        columns=_names(raw.get("columns"), f"{where}.columns"),
        schema=raw.get("schema", default_schema),
        relname=raw.get("table", name),
        id=raw.get("id"),
        sequence=raw.get("sequence"),
        sequence_schema=raw.get("sequence_schema"),
        identity=identity,
        natural_key=_names(raw.get("natural_key"), f"{where}.natural_key"),
        foreign_keys=_refs(raw.get("foreign_keys"), f"{where}.foreign_keys", ForeignKey),
        references=_references(raw.get("references"), f"{where}.references"),
        arrays=_refs(raw.get("arrays"), f"{where}.arrays", ArrayRef),
        deferred_foreign_keys=_names(raw.get("deferred_foreign_keys"), f"{where}.deferred_foreign_keys"),
        nulls_in_key=nulls,
        duplicates=duplicates,
        keep_ids=keep_ids,
        owners=tuple(owners),
        tags=tuple(sorted(tags.items())),
    )


def _held_ids(spec: MergeSpec, table: str, column: str, seen: frozenset = frozenset()) -> str | None:
    """The table whose ids `table.column` holds: its own (the id column), a foreign key's parent, or what the
    column a reference points at holds in turn; None for a plain value."""
    if (table, column) in seen:
        raise SpecError(f"table {table}.references: column {column} is defined through a reference to itself")
    t = spec.tables[table]
    if column == t.id:
        return table
    if t.fk(column):
        return t.fk(column).table
    for r in t.references:
        if column in r.columns:
            return _held_ids(spec, r.table, r.ref_columns[r.columns.index(column)], seen | {(table, column)})
    return None


def _mapped_columns(spec: MergeSpec, t: TableSpec) -> tuple[ForeignKey, ...]:
    out = {f.column: f for f in t.foreign_keys}
    for r in t.references:
        for column, ref_column in zip(r.columns, r.ref_columns):
            held = _held_ids(spec, r.table, ref_column)
            if held is None:
                continue
            if column in out and out[column].table != held:
                raise SpecError(f"table {t.name}.references: column {column} would hold ids of both "
                                f"{out[column].table} and {held}")
            out[column] = ForeignKey(column, held)
    return tuple(out.values())


def validate(spec: MergeSpec) -> MergeSpec:
    """Every reference resolves, every strategy has what it needs, and the merge order exists. Returns the
    spec with each table's mapped_columns filled in."""
    for own in ("staging_schema", "map_schema"):
        clash = [t.name for t in spec.tables.values() if t.schema == getattr(spec, own)]
        if clash:
            raise SpecError(f"{own} {getattr(spec, own)} is also the schema of table {clash[0]}: pgmerge drops "
                            f"and recreates it, so it must be a schema of its own")
    if spec.staging_schema == spec.map_schema:
        raise SpecError(f"staging_schema and map_schema are both {spec.map_schema}: they must be two schemas")
    seen: dict[tuple[str, str], str] = {}
    for t in spec.tables.values():
        if len(t.name.encode()) > MAX_IDENTIFIER:
            raise SpecError(f"table {t.name}: the spec name is also its staging table's, which PostgreSQL cuts at "
                            f"{MAX_IDENTIFIER} bytes: give it a shorter name (table: names the table itself)")
        if (t.schema, t.relname) in seen:
            raise SpecError(f"table {t.name}: {t.schema}.{t.relname} is also spec table {seen[(t.schema, t.relname)]}")
        seen[(t.schema, t.relname)] = t.name
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
        for ref in (*t.foreign_keys, *t.arrays, *t.references):
            target = spec.tables.get(ref.table)
            kind = {ForeignKey: "foreign_keys", ArrayRef: "arrays", Reference: "references"}[type(ref)]
            label = f"{where}.{kind}." + (ref.column if kind != "references" else "(" + ", ".join(ref.columns) + ")")
            if target is None:
                raise SpecError(f"{label}: references table {ref.table}, which is not in the spec")
            if kind != "references" and target.id is None:
                raise SpecError(f"{label}: references table {ref.table}, which has no id column to map")
            if t.strategy != "skip" and target.strategy == "skip":
                raise SpecError(f"{label}: references table {ref.table}, whose strategy is skip; "
                                f"its ids could not be translated")
            if kind == "references":
                for column in ref.columns:
                    if column not in cols:
                        raise SpecError(f"{label}: column {column} is not among the table's columns")
                for column in ref.ref_columns:
                    if column not in target.columns:
                        raise SpecError(f"{label}: column {column} is not among the columns of {ref.table}")
        for column in t.deferred_foreign_keys:
            if t.fk(column) is None:
                raise SpecError(f"{where}.deferred_foreign_keys: {column} is not one of the table's foreign_keys")
            if column in t.natural_key:
                raise SpecError(f"{where}.deferred_foreign_keys: {column} is part of the natural key, which "
                                f"must be known when rows are matched")
        if t.strategy == "natural_key" and not t.natural_key:
            raise SpecError(f"{where}: strategy natural_key needs natural_key columns")
        if t.strategy == "append" and t.id is None and t.arrays:
            raise SpecError(f"{where}.arrays: a table without an id column cannot have its arrays repaired")
    spec = replace(spec, tables={name: replace(t, mapped_columns=_mapped_columns(spec, t))
                                 for name, t in spec.tables.items()})
    from pgmerge_assets.plan.order import check_key_cycles  # the cycle check lives with the ordering

    check_key_cycles(spec)
    return spec


def load_spec(path: str | Path) -> MergeSpec:
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise SpecError(f"spec file {path} does not exist") from None
    return parse_spec(text, path)


def parse_spec(text: str, path: Path | None = None) -> MergeSpec:
    """A spec from its YAML text (a file's, or the one the merge ledger kept)."""
    where = f"spec file {path}" if path else "spec"
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpecError(f"{where} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("tables"), dict):
        raise SpecError(f"{where}: expected a mapping with a 'tables' mapping")
    unknown = set(raw) - {"version", "target_schema", "staging_schema", "map_schema", "tables"}
    if unknown:
        raise SpecError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    target_schema = raw.get("target_schema", "public")
    spec = MergeSpec(
        tables={name: _table(str(name), body, target_schema) for name, body in raw["tables"].items()},
        target_schema=target_schema,
        staging_schema=raw.get("staging_schema", "staging"),
        map_schema=raw.get("map_schema", "pgmerge"),
        path=path,
        text=text,
    )
    return validate(spec)
