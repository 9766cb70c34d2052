"""What every planning stage shares: steps, checks and guards, the names of pgmerge's objects, and the SQL
fragments that translate a staging row into the target's ids. Pure Python: no Dagster, no database."""

from __future__ import annotations

from dataclasses import dataclass, field

from psycopg import sql

from pgmerge_assets.catalog.spec import MergeSpec, TableSpec
from pgmerge_assets.plan.names import asset_name, object_name
from pgmerge_assets.templates import compose

StepKey = tuple[str, ...]

STAGING_DATA: StepKey = ("staging_data",)
SEQUENCES: StepKey = ("sequences",)


@dataclass(frozen=True)
class Guard:
    """Offending-row query (count, sample) that must find nothing before a step may write."""

    problem: str
    query: sql.Composed


@dataclass(frozen=True)
class Step:
    key: StepKey
    kind: str  # id_map | merged | cycle_fk | repaired_arrays | sequences
    description: str
    deps: tuple[StepKey, ...]
    statements: tuple[sql.Composed, ...]
    guards: tuple[Guard, ...] = ()
    stats: sql.Composed | None = None  # one row of named counts for metadata
    table: str | None = None
    after: tuple[Guard, ...] = ()  # judged after the statements, in their transaction: rows found undo the step


@dataclass(frozen=True)
class Check:
    """A data-quality gate on a step's asset: the query returns (offending count, sample)."""

    name: str
    step: StepKey
    description: str
    query: sql.Composed
    blocking: bool = True  # False: a warning that does not stop what comes after


@dataclass
class Plan:
    spec: MergeSpec
    steps: list[Step] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    def step(self, key: StepKey) -> Step:
        return next(s for s in self.steps if s.key == key)

    def last_steps(self) -> list[Step]:
        """The steps no other step waits for: what the audit needs to wait for, everything else being
        upstream of them (so the lineage shows maps feeding tables, not a fan of every step into the report)."""
        waited_for = {d for s in self.steps for d in s.deps}
        return [s for s in self.steps if s.key not in waited_for]


class Names:
    """Qualified identifiers for one spec's schemas and pgmerge's own objects."""

    def __init__(self, spec: MergeSpec):
        self.spec = spec
        self.map_schema = sql.Identifier(spec.map_schema)
        self.merge_log = sql.Identifier(spec.map_schema, "merge_log")
        self.state = sql.Identifier(spec.map_schema, "state")
        self.ledger = sql.Identifier(spec.map_schema, "merges")
        self.audit = sql.Identifier(spec.map_schema, "audit")

    def public(self, table: str) -> sql.Identifier:
        """The spec table's table in the target database (its own schema and name)."""
        t = self.spec.tables[table]
        return sql.Identifier(t.schema, t.relname)

    def staging(self, table: str) -> sql.Identifier:
        return sql.Identifier(self.spec.staging_schema, table)

    def map(self, table: str) -> sql.Identifier:
        return sql.Identifier(self.spec.map_schema, object_name("map_", table))

    def pending(self, table: str) -> sql.Identifier:
        """The rows publish will insert into the table, with final values."""
        return sql.Identifier(self.spec.map_schema, object_name("pending_", table))

    def merged(self, table: str) -> sql.Identifier:
        """The view target ∪ pending: the table as it will be once published. Checks and proof read it."""
        return sql.Identifier(self.spec.map_schema, object_name("merged_", table))

    def kept(self, merge_id: int, table: str) -> sql.Identifier:
        """The rows one publish inserted into the table, kept for undo."""
        return sql.Identifier(self.spec.map_schema, self.kept_name(merge_id, table))

    def kept_name(self, merge_id: int, table: str) -> str:
        return object_name(f"merge{merge_id}_", table)

    def kept_copy(self, table: str) -> sql.Identifier:
        """The running publish's rows of the table, copied for undo before its merge has a number."""
        return sql.Identifier(self.spec.map_schema, object_name("kept_", table))

    def sequence_table(self, t: TableSpec) -> sql.Identifier:
        return sql.Identifier(t.sequence_schema or t.schema, t.sequence)

    def allocator_table(self, t: TableSpec) -> sql.Identifier:
        """pgmerge's own counter of new ids: one per sequence (shared by the tables sharing it), or per table
        for an integer id no sequence feeds."""
        fed_by = f"{t.sequence_schema or t.schema}.{t.sequence}" if t.sequence else f"{t.schema}.{t.relname}.{t.id}"
        return sql.Identifier(self.spec.map_schema, object_name("next_", fed_by))

    def allocator(self, t: TableSpec) -> sql.Composed:
        return sql.SQL("{}::regclass").format(sql.Literal(self.allocator_table(t).as_string()))


def id_map_key(table: str) -> StepKey:
    return ("id_map", asset_name(table))


def merged_key(table: str) -> StepKey:
    return ("merged", asset_name(table))


def cycle_key(table: str, columns: tuple[str, ...]) -> StepKey:
    return ("cycle_fk", asset_name(table, *columns))


def repaired_key(table: str, column: str) -> StepKey:
    return ("repaired_arrays", asset_name(table, column))


def wrap(offending_rows: sql.Composable) -> sql.Composed:
    return compose("checks/wrap.sql", offending_rows=offending_rows)


def analyze(table: sql.Identifier, columns=()) -> sql.Composed:
    """Statistics for a table pgmerge filled, from a small sample (its later queries only need rough counts)."""
    return compose("merge/analyze.sql", table=table,
                   columns=sql.SQL(" ({})").format(ident_list(columns)) if columns else sql.SQL(""))


def ident_list(columns, prefix: str | None = None) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(prefix, c) if prefix else sql.Identifier(c) for c in columns)


def parent_joins(n: Names, fks) -> tuple[sql.Composed, dict[str, sql.Identifier]]:
    """LEFT JOINs of the parents' maps for these foreign keys, and the alias that translates each column."""
    joins, aliases = [], {}
    for i, fk in enumerate(fks):
        alias = sql.Identifier(f"f{i}")
        aliases[fk.column] = alias
        joins.append(sql.SQL("LEFT JOIN {} AS {} ON {}.staging_id = st.{}").format(
            n.map(fk.table), alias, alias, sql.Identifier(fk.column)))
    return sql.SQL("\n    ").join(joins), aliases


def translated(column: str, aliases: dict[str, sql.Identifier]) -> sql.Composed:
    """The staging value of a column as public must see it: a foreign key goes through its parent's map."""
    if column in aliases:
        return sql.SQL("{}.public_id").format(aliases[column])
    return sql.SQL("st.{}").format(sql.Identifier(column))


def translated_array(n: Names, column: str, ref_table: str) -> sql.Composed:
    """A staging id array rewritten element by element through the referenced table's map (order kept)."""
    col = sql.SQL("st.{}").format(sql.Identifier(column))
    return sql.SQL("CASE WHEN {col} IS NULL THEN NULL ELSE ARRAY(SELECT rm.public_id FROM unnest({col}) "
                   "WITH ORDINALITY AS u(element, ord) LEFT JOIN {ref_map} rm ON rm.staging_id = u.element "
                   "ORDER BY u.ord) END").format(col=col, ref_map=n.map(ref_table))


def translated_arrays(n: Names, t: TableSpec, arrays,
                      source: sql.Composable | None = None) -> tuple[list[sql.Composable], dict[str, sql.Composed]]:
    """These id arrays of the staging rows (`st`, a table with an id) translated element by element through
    their maps for all rows at once (unnest, one hash join, one aggregate — no subquery and no index lookup
    per row): the joins, and the value that stands for each array (order, length and NULL elements kept).
    The arrays are read from `source` (by default the staging table; a query may narrow it to the rows it
    needs)."""
    joins, values = [], {}
    for i, a in enumerate(arrays):
        alias, col = sql.Identifier(f"a{i}"), sql.Identifier(a.column)
        joins.append(sql.SQL(
            "LEFT JOIN (SELECT x.{id} AS staging_id, array_agg(rm.public_id ORDER BY u.ord) AS ids FROM {staging} x "
            "CROSS JOIN LATERAL unnest(x.{col}) WITH ORDINALITY AS u(element, ord) "
            "LEFT JOIN {ref_map} rm ON rm.staging_id = u.element GROUP BY 1) AS {alias} ON {alias}.staging_id = st.{id}"
        ).format(id=sql.Identifier(t.id), staging=source or n.staging(t.name), col=col, ref_map=n.map(a.table),
                 alias=alias))
        values[a.column] = sql.SQL("CASE WHEN st.{col} IS NULL THEN NULL ELSE coalesce({alias}.ids, '{{}}') END").format(
            col=col, alias=alias)
    return joins, values


def key_match(t: TableSpec, left: str, right: str) -> sql.Composed:
    """Natural keys equal; with nulls_in_key: equal, NULL matches NULL."""
    op = sql.SQL(" IS NOT DISTINCT FROM " if t.nulls_in_key == "equal" else " = ")
    return sql.SQL(" AND ").join(
        sql.SQL("{}{}{}").format(sql.Identifier(left, c), op, sql.Identifier(right, c)) for c in t.natural_key)


def key_complete(t: TableSpec, alias: str) -> sql.Composable:
    """Rows whose key can match at all: with nulls_in_key: distinct, those without a NULL in it."""
    if t.nulls_in_key == "equal":
        return sql.SQL("true")
    return sql.SQL(" AND ").join(sql.SQL("{} IS NOT NULL").format(sql.Identifier(alias, c)) for c in t.natural_key)


def held_unique(table: sql.Identifier, columns, *, nulls_counted: bool = False) -> sql.Composed:
    """True when `table`'s own unique index holds `columns` unique (for rows with no NULL in them, unless
    `nulls_counted`): then a check for repeats has nothing to find, and skips its scan."""
    return compose("checks/held_unique.sql", table_name=sql.Literal(table.as_string()),
                   columns=sql.Literal(list(columns)), nulls_counted=sql.Literal(nulls_counted))


def held_foreign_key(table: sql.Identifier, column: str, parent: sql.Identifier, parent_id: str) -> sql.Composed:
    """True when `table`'s own foreign key holds `column` to existing `parent` rows (validated, from exactly
    that column to exactly `parent_id`, none of its triggers disabled): then a check for orphans needs to read
    only the pending rows."""
    return compose("checks/held_foreign_key.sql", table_name=sql.Literal(table.as_string()),
                   parent_name=sql.Literal(parent.as_string()), column=sql.Literal(column),
                   parent_id=sql.Literal(parent_id))
