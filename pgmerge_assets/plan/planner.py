"""Spec → ordered merge steps, each with the SQL it runs. Pure Python: no Dagster, no database.

Steps come in foreign-key order. Every step is idempotent: maps only gain unmapped staging rows,
inserts skip rows public already holds, array repair recomputes from staging, sequences only move
forward. Guards run first in the step's transaction and stop it with a clear error on bad input.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from psycopg import sql

from pgmerge_assets.catalog.spec import MergeSpec, TableSpec
from pgmerge_assets.plan.names import asset_name, object_name
from pgmerge_assets.plan.order import merge_order
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
    kind: str  # id_map | merged | repaired_arrays | sequences
    description: str
    deps: tuple[StepKey, ...]
    statements: tuple[sql.Composed, ...]
    guards: tuple[Guard, ...] = ()
    stats: sql.Composed | None = None  # one row of named counts for metadata
    table: str | None = None


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


class Names:
    """Qualified identifiers for one spec's schemas and pgmerge's own objects."""

    def __init__(self, spec: MergeSpec):
        self.spec = spec
        self.map_schema = sql.Identifier(spec.map_schema)
        self.merge_log = sql.Identifier(spec.map_schema, "merge_log")
        self.state = sql.Identifier(spec.map_schema, "state")

    def public(self, table: str) -> sql.Identifier:
        """The spec table's table in the target database (its own schema and name)."""
        t = self.spec.tables[table]
        return sql.Identifier(t.schema, t.relname)

    def staging(self, table: str) -> sql.Identifier:
        return sql.Identifier(self.spec.staging_schema, table)

    def map(self, table: str) -> sql.Identifier:
        return sql.Identifier(self.spec.map_schema, object_name("map_", table))

    def sequence(self, t: TableSpec) -> sql.Composed:
        """The sequence as a regclass literal, for nextval()/setval()."""
        return sql.SQL("{}::regclass").format(sql.Literal(self.sequence_table(t).as_string()))

    def sequence_table(self, t: TableSpec) -> sql.Identifier:
        return sql.Identifier(t.sequence_schema or t.schema, t.sequence)


def id_map_key(table: str) -> StepKey:
    return ("id_map", asset_name(table))


def merged_key(table: str) -> StepKey:
    return ("merged", asset_name(table))


def deferred_key(table: str, column: str) -> StepKey:
    return ("deferred_fk", asset_name(table, column))


def repaired_key(table: str, column: str) -> StepKey:
    return ("repaired_arrays", asset_name(table, column))


def wrap(offending_rows: sql.Composable) -> sql.Composed:
    return compose("checks/wrap.sql", offending_rows=offending_rows)


def _ident_list(columns, prefix: str | None = None) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(prefix, c) if prefix else sql.Identifier(c) for c in columns)


def _parent_joins(n: Names, t: TableSpec, fks) -> tuple[sql.Composed, dict[str, sql.Identifier]]:
    """LEFT JOINs of the parents' maps for these foreign keys, and the alias that translates each column."""
    joins, aliases = [], {}
    for i, fk in enumerate(fks):
        alias = sql.Identifier(f"f{i}")
        aliases[fk.column] = alias
        joins.append(sql.SQL("LEFT JOIN {} AS {} ON {}.staging_id = st.{}").format(
            n.map(fk.table), alias, alias, sql.Identifier(fk.column)))
    return sql.SQL("\n    ").join(joins), aliases


def _translated(column: str, aliases: dict[str, sql.Identifier]) -> sql.Composed:
    """The staging value of a column as public must see it: a foreign key goes through its parent's map."""
    if column in aliases:
        return sql.SQL("{}.public_id").format(aliases[column])
    return sql.SQL("st.{}").format(sql.Identifier(column))


def _key_match(t: TableSpec, left: str, right: str) -> sql.Composed:
    """Natural keys equal; with nulls_in_key: equal, NULL matches NULL."""
    op = sql.SQL(" IS NOT DISTINCT FROM " if t.nulls_in_key == "equal" else " = ")
    return sql.SQL(" AND ").join(
        sql.SQL("{}{}{}").format(sql.Identifier(left, c), op, sql.Identifier(right, c)) for c in t.natural_key)


def _key_complete(t: TableSpec, alias: str) -> sql.Composable:
    """Rows whose key can match at all: with nulls_in_key: distinct, those without a NULL in it."""
    if t.nulls_in_key == "equal":
        return sql.SQL("true")
    return sql.SQL(" AND ").join(sql.SQL("{} IS NOT NULL").format(sql.Identifier(alias, c)) for c in t.natural_key)


def _map_key_parts(t: TableSpec, aliases: dict[str, sql.Identifier]) -> dict[str, sql.Composable]:
    """The natural key as one row value on each side, how two such keys match, and which rows group together
    (with nulls_in_key: distinct, a row with a NULL in its key matches nothing and stands alone)."""
    translated = [_translated(c, aliases) for c in t.natural_key]
    equal = t.nulls_in_key == "equal"
    complete = sql.SQL("true") if equal else sql.SQL(" AND ").join(
        sql.SQL("{} IS NOT NULL").format(expr) for expr in translated)
    return dict(
        staging_key=sql.SQL(", ").join(translated),
        staging_key_complete=complete,
        public_key=_ident_list(t.natural_key, "p"),
        # row values compare NULL fields as equal, so a key with a NULL is kept out explicitly
        key_match=sql.SQL("p.natural_key = s.natural_key" if equal
                          else "p.natural_key = s.natural_key AND s.key_complete"),
        group_key=sql.SQL("s.natural_key" if equal
                          else "s.natural_key, CASE WHEN NOT s.key_complete THEN s.staging_id END"),
    )


def _id_map_step(n: Names, t: TableSpec) -> Step:
    ids = dict(id=sql.Identifier(t.id), map=n.map(t.name), staging_table=n.staging(t.name),
               public_table=n.public(t.name))
    statements = [compose("merge/map_create.sql", **ids,
                          map_staging_index=sql.Identifier(object_name("map_", t.name, "_staging_id")),
                          map_public_index=sql.Identifier(object_name("map_", t.name, "_public_id")))]
    if t.sequence:
        statements.append(compose("merge/sequence_catch_up.sql", sequence=n.sequence(t), id=ids["id"],
                                  public_table=ids["public_table"], sequence_table=n.sequence_table(t)))
        new_id = sql.SQL("nextval({})").format(n.sequence(t))
    else:  # uuid, text and other keys no sequence feeds: a new row keeps its own id
        new_id = sql.SQL("l.staging_id")
    key_fks = [f for f in t.mapped_columns if f.column in t.natural_key]
    if t.strategy == "natural_key":
        joins, aliases = _parent_joins(n, t, key_fks)
        fill = compose("merge/map_natural_key.sql", **ids, new_id=new_id, parent_joins=joins,
                       **_map_key_parts(t, aliases))
        how = (f"natural key ({', '.join(t.natural_key)}); public wins, new keys get "
               f"{'fresh ids' if t.sequence else 'their own ids'}")
    else:
        fill = compose("merge/map_append.sql", **ids, sequence=n.sequence(t))
        how = "append-only history: every staging row gets a fresh id"
    guards = tuple(_unmapped_fk_guard(n, t, fk) for fk in key_fks)
    deps = (STAGING_DATA, *dict.fromkeys(id_map_key(f.table) for f in key_fks if f.table != t.name))
    stats = sql.SQL("SELECT count(*) AS row_count, count(*) FILTER (WHERE inserted) AS new_rows, "
                    "count(*) FILTER (WHERE NOT inserted) AS matched_rows FROM {}").format(ids["map"])
    return Step(id_map_key(t.name), "id_map", f"Map staging {t.name}.{t.id} to public ids by {how}.",
                deps, (*statements, fill), guards, stats, t.name)


def _unmapped_reference_guard(n: Names, t: TableSpec, ref) -> Guard:
    return Guard(f"{n.spec.staging_schema}.{t.name}.({', '.join(ref.columns)}): rows reference {ref.table} rows "
                 f"that dump #2 does not hold", wrap(_orphan_reference(n.staging, t, ref)))


def _unmapped_fk_guard(n: Names, t: TableSpec, fk) -> Guard:
    return Guard(
        f"{n.spec.staging_schema}.{t.name}.{fk.column}: rows reference {fk.table} ids that dump #2 does not hold",
        wrap(compose("checks/unmapped_foreign_key.sql", column=sql.Identifier(fk.column),
                     staging_table=n.staging(t.name), parent_map=n.map(fk.table))))


def _merged_step(n: Names, t: TableSpec) -> Step:
    joins, aliases = _parent_joins(n, t, t.mapped_at_insert)
    overriding = sql.SQL("OVERRIDING SYSTEM VALUE" if t.identity == "always" else "")
    record = compose("merge/record_inserted.sql", merge_log=n.merge_log, table_name=sql.Literal(t.name),
                     public_table=n.public(t.name))
    common = dict(public_table=n.public(t.name), staging_table=n.staging(t.name), columns=_ident_list(t.columns),
                  overriding=overriding, parent_joins=joins, record_inserted=record)
    if t.has_map:
        values = sql.SQL(", ").join(
            sql.SQL("m.public_id") if c == t.id else sql.SQL("NULL") if c in t.deferred_foreign_keys
            else _translated(c, aliases) for c in t.columns)
        insert = compose("merge/insert_mapped.sql", **common, values=values, map=n.map(t.name), id=sql.Identifier(t.id))
        how = "rows new to public, under their mapped ids"
    elif t.strategy == "append":
        values = sql.SQL(", ").join(_translated(c, aliases) for c in t.columns)
        insert = compose("merge/insert_once.sql", **common, values=values, merge_log=n.merge_log,
                         table_name=sql.Literal(t.name))
        how = "every row, once (the table has no key)"
    else:
        values = sql.SQL(", ").join(
            sql.SQL("{} AS {}").format(_translated(c, aliases), sql.Identifier(c)) for c in t.columns)
        insert = compose("merge/insert_keyed.sql", **common, values=values, columns_of_s=_ident_list(t.columns, "s"),
                         key_match=_key_match(t, "p", "s"))
        how = f"rows whose natural key ({', '.join(t.natural_key)}) public lacks"
    deps = tuple(dict.fromkeys(
        ([id_map_key(t.name)] if t.has_map else [STAGING_DATA])
        + [id_map_key(f.table) for f in t.mapped_at_insert if f.table != t.name]
        + [merged_key(p) for p in t.parents]))
    matched = (sql.SQL("(SELECT count(*) FROM {} WHERE NOT inserted)").format(n.map(t.name)) if t.has_map
               else sql.SQL("(SELECT count(*) FROM {}) - l.rows_inserted").format(n.staging(t.name)))
    stats = sql.SQL("SELECT (SELECT count(*) FROM {}) AS row_count, (SELECT count(*) FROM {}) AS staging_rows, "
                    "l.rows_before, l.rows_inserted, {} AS rows_matched FROM {} l WHERE l.table_name = {}").format(
        n.public(t.name), n.staging(t.name), matched, n.merge_log, sql.Literal(t.name))
    fks = ", ".join(f"{f.column}→{f.table}{' (set later)' if f.column in t.deferred_foreign_keys else ''}"
                    for f in t.mapped_columns) or "none"
    return Step(merged_key(t.name), "merged",
                f"Insert staging {t.name} into public: {how}; foreign keys translated: {fks}.",
                deps, (insert,), tuple(_unmapped_fk_guard(n, t, fk) for fk in t.mapped_at_insert)
                + tuple(_unmapped_reference_guard(n, t, ref) for ref in t.references), stats, t.name)


def _deferred_step(n: Names, t: TableSpec, column: str) -> Step:
    fk = t.fk(column)
    update = compose("merge/set_deferred_foreign_key.sql", public_table=n.public(t.name), column=sql.Identifier(column),
                     staging_table=n.staging(t.name), map=n.map(t.name), id=sql.Identifier(t.id),
                     parent_map=n.map(fk.table))
    stats = sql.SQL("SELECT count(*) AS row_count FROM {} WHERE inserted").format(n.map(t.name))
    deps = tuple(dict.fromkeys([merged_key(t.name), id_map_key(fk.table), merged_key(fk.table)]))
    return Step(deferred_key(t.name, column), "deferred_fk",
                f"Set {t.name}.{column} (inserted NULL to break a foreign-key cycle) through the {fk.table} id map.",
                deps, (update,), (_unmapped_fk_guard(n, t, fk),), stats, t.name)


def _repaired_step(n: Names, t: TableSpec, array) -> Step:
    ids = dict(public_table=n.public(t.name), staging_table=n.staging(t.name), column=sql.Identifier(array.column),
               id=sql.Identifier(t.id), map=n.map(t.name), ref_map=n.map(array.table))
    guard = Guard(f"{n.spec.staging_schema}.{t.name}.{array.column}: elements name {array.table} ids "
                  f"that dump #2 does not hold",
                  wrap(compose("checks/unmapped_array_element.sql", **{k: v for k, v in ids.items() if k != "public_table"})))
    stats = sql.SQL("SELECT count(*) AS row_count FROM {} WHERE inserted").format(n.map(t.name))
    return Step(repaired_key(t.name, array.column), "repaired_arrays",
                f"Rewrite {t.name}.{array.column} of dump #2's rows through the {array.table} id map.",
                tuple(dict.fromkeys([merged_key(t.name), id_map_key(array.table), merged_key(array.table)])),
                (compose("merge/repair_array.sql", **ids),),
                (guard,), stats, t.name)


def _sequences_step(n: Names, tables: list[TableSpec]) -> Step:
    statements = tuple(
        compose("merge/sequence_catch_up.sql", sequence=n.sequence(t), id=sql.Identifier(t.id),
                public_table=n.public(t.name), sequence_table=n.sequence_table(t))
        for t in tables if t.sequence)
    return Step(SEQUENCES, "sequences", "Move every merged table's sequence past max(id).",
                tuple(merged_key(t.name) for t in tables), statements)


def _orphans(n: Names, t: TableSpec, fks) -> sql.Composed:
    return sql.SQL("\nUNION ALL\n").join(
        compose("checks/orphan_foreign_key.sql", column_name=sql.Literal(fk.column), column=sql.Identifier(fk.column),
                public_table=n.public(t.name), parent_table=n.public(fk.table),
                parent_id=sql.Identifier(n.spec.tables[fk.table].id))
        for fk in fks)


def _orphan_reference(side, t: TableSpec, r) -> sql.Composed:
    """Rows of `t` whose reference names no row of its table, on one side (Names.public or Names.staging)."""
    return compose("checks/orphan_reference.sql",
                   reference=sql.Literal(f"({', '.join(r.columns)}) -> {r.table} ({', '.join(r.ref_columns)})"),
                   values=sql.SQL("jsonb_build_array({})").format(_ident_list(r.columns, "c")),
                   table=side(t.name), parent_table=side(r.table),
                   all_present=sql.SQL(" AND ").join(sql.SQL("c.{} IS NOT NULL").format(sql.Identifier(c))
                                                     for c in r.columns),
                   match=sql.SQL(" AND ").join(sql.SQL("p.{} = c.{}").format(sql.Identifier(pc), sql.Identifier(c))
                                               for c, pc in zip(r.columns, r.ref_columns)))


def _checks(n: Names, t: TableSpec) -> list[Check]:
    checks = []
    if t.has_map:
        staging_key = (sql.SQL("jsonb_build_array({})").format(_ident_list(t.natural_key, "st"))
                       if t.strategy == "natural_key" else sql.SQL("st.{}").format(sql.Identifier(t.id)))
        checks.append(Check("map_complete", id_map_key(t.name),
                            "Every staging row is mapped once; no public row is shared by different natural keys.",
                            wrap(compose("checks/map_incomplete.sql", id=sql.Identifier(t.id), map=n.map(t.name),
                                         staging_table=n.staging(t.name), staging_key=staging_key))))
    if t.mapped_columns:
        checks.append(Check("foreign_keys_resolve", merged_key(t.name),
                            "No foreign-key value points at a missing parent, constraint or not.",
                            wrap(_orphans(n, t, t.mapped_columns))))
    if t.references:
        checks.append(Check("references_resolve", merged_key(t.name),
                            "Every multi-column reference names an existing row (MATCH SIMPLE: a NULL part "
                            "references nothing), constraint or not.",
                            wrap(sql.SQL("\nUNION ALL\n").join(_orphan_reference(n.public, t, r) for r in t.references))))
    if t.strategy == "natural_key":
        merge_inserted = (sql.SQL("bool_or(EXISTS (SELECT 1 FROM {} m WHERE m.public_id = t.{} AND m.inserted))").format(
            n.map(t.name), sql.Identifier(t.id)) if t.has_map else sql.SQL("true"))
        checks.append(Check("natural_key_unique", merged_key(t.name),
                            f"The merge gave no natural key ({', '.join(t.natural_key)}) a second public row.",
                            wrap(compose("checks/duplicate_natural_key.sql", public_table=n.public(t.name),
                                         key_columns=_ident_list(t.natural_key, "t"),
                                         key_complete=_key_complete(t, "t"), merge_inserted=merge_inserted))))
        if t.has_map:
            checks.append(Check("natural_keys_repeated", id_map_key(t.name),
                                "Natural keys repeated within dump #2 or within public (a warning).",
                                wrap(compose("checks/repeated_natural_key.sql", staging_table=n.staging(t.name),
                                             public_table=n.public(t.name),
                                             staging_key_columns=_ident_list(t.natural_key, "st"),
                                             public_key_columns=_ident_list(t.natural_key, "t"),
                                             staging_key_complete=_key_complete(t, "st"),
                                             public_key_complete=_key_complete(t, "t"))),
                                blocking=False))
    new_in_map = (sql.SQL("(SELECT count(*) FROM {} WHERE inserted)").format(n.map(t.name)) if t.has_map
                  else sql.SQL("l.rows_inserted"))
    checks.append(Check("rows_conserved", merged_key(t.name),
                        "Public rows after = public rows before + rows inserted.",
                        wrap(compose("checks/rows_not_conserved.sql", merge_log=n.merge_log, public_table=n.public(t.name),
                                     table_name=sql.Literal(t.name), new_in_map=new_in_map))))
    for column in t.deferred_foreign_keys:
        checks.append(Check("foreign_key_resolves", deferred_key(t.name, column),
                            f"Every {t.name}.{column} names an existing {t.fk(column).table} row.",
                            wrap(_orphans(n, t, [t.fk(column)]))))
    for array in t.arrays:
        ref = n.spec.tables[array.table]
        checks.append(Check("array_elements_exist", repaired_key(t.name, array.column),
                            f"Every element of {t.name}.{array.column} names an existing {array.table} row "
                            f"(the seed's sanity query).",
                            wrap(compose("checks/dangling_array_element.sql", id=sql.Identifier(t.id),
                                         column=sql.Identifier(array.column), public_table=n.public(t.name),
                                         ref_table=n.public(ref.name), ref_id=sql.Identifier(ref.id)))))
    return checks


def _sequence_check(n: Names, tables: list[TableSpec]) -> Check:
    behind = sql.SQL("\nUNION ALL\n").join(
        compose("checks/sequence_behind.sql", table_name=sql.Literal(t.name), id=sql.Identifier(t.id),
                public_table=n.public(t.name), sequence_table=n.sequence_table(t))
        for t in tables if t.sequence)
    return Check("sequences_ahead", SEQUENCES, "Every sequence is past its column's max.", wrap(behind))


def build_plan(spec: MergeSpec) -> Plan:
    """The whole merge for one spec: steps in dependency order, then the checks on their assets."""
    n = Names(spec)
    tables = merge_order(spec)
    plan = Plan(spec)
    plan.steps += [_id_map_step(n, t) for t in tables if t.has_map]
    plan.steps += [_merged_step(n, t) for t in tables]
    plan.steps += [_deferred_step(n, t, c) for t in tables for c in t.deferred_foreign_keys]
    plan.steps += [_repaired_step(n, t, a) for t in tables for a in t.arrays]
    plan.steps.append(_sequences_step(n, tables))
    for t in tables:
        plan.checks += _checks(n, t)
    if any(t.sequence for t in tables):
        plan.checks.append(_sequence_check(n, tables))
    return plan
