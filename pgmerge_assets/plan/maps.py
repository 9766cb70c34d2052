"""Id maps, staging id → target id per table: the first stage. Every map exists before any pending row,
so each value a pending row holds is final when it is written."""

from __future__ import annotations

from psycopg import sql

from pgmerge_assets.catalog.spec import MergeSpec, TableSpec
from pgmerge_assets.plan.common import (
    STAGING_DATA,
    Guard,
    Names,
    Step,
    analyze,
    held_unique,
    id_map_key,
    ident_list,
    parent_joins,
    translated,
    translated_arrays,
    wrap,
)
from pgmerge_assets.plan.names import object_name
from pgmerge_assets.plan.order import merge_order
from pgmerge_assets.templates import compose


def map_needs(spec: MergeSpec) -> dict[str, list[str]]:
    """The tables whose maps each table's map is built from: the foreign keys of a natural key; for history
    compared by content, every table its foreign keys and id arrays name, except where that would need
    this very map again (a self-reference, a cycle): such a column is left out of the comparison."""
    tables = [t for t in merge_order(spec) if t.has_map]
    needs: dict[str, list[str]] = {t.name: list(dict.fromkeys(
        f.table for f in t.mapped_columns if f.column in t.natural_key and f.table != t.name))
        for t in tables if t.strategy == "natural_key"}

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            name = todo.pop()
            if name == goal:
                return True
            if name not in seen:
                seen.add(name)
                todo += needs.get(name, [])
        return False

    for t in tables:
        if t.strategy == "append":
            needs[t.name] = []
            if t.duplicates == "drop":
                for table in dict.fromkeys([*(f.table for f in t.mapped_columns), *(a.table for a in t.arrays)]):
                    if table != t.name and not reaches(table, t.name):
                        needs[t.name].append(table)
    return needs


def compared_content(n: Names, t: TableSpec, needs: list[str],
                     source: sql.Composable | None = None) -> tuple[sql.Composed, sql.Composed, sql.Composed]:
    """A history row's content as one jsonb value on the staging side (references translated through the
    maps in `needs`) and on the target side, and the joins the staging side reads (its id arrays read from
    `source`, by default the staging table)."""
    fks = [f for f in t.mapped_columns if f.table in needs]
    skipped = {f.column for f in t.mapped_columns if f.table not in needs} | {a.column for a in t.arrays
                                                                               if a.table not in needs}
    columns = [c for c in t.columns if c != t.id and c not in skipped]
    joins, aliases = parent_joins(n, fks)
    array_joins, array_values = translated_arrays(n, t, [a for a in t.arrays if a.table in needs], source)
    staging = sql.SQL("jsonb_build_array({})").format(sql.SQL(", ").join(
        array_values.get(c) or translated(c, aliases) for c in columns))
    public = sql.SQL("jsonb_build_array({})").format(ident_list(columns, "p"))
    return staging, public, sql.SQL("\n    ").join([joins, *array_joins])


def allocator_catch_up(n: Names, t: TableSpec, table: sql.Composable) -> sql.Composed:
    """Move pgmerge's id counter past `table`'s max(id) (and past the table's sequence, when it has one)."""
    sequence_used = (sql.SQL("(SELECT CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END FROM {} s)")
                     .format(n.sequence_table(t)) if t.sequence else sql.SQL("0"))
    return compose("merge/allocator_catch_up.sql", allocator=n.allocator(t), allocator_table=n.allocator_table(t),
                   sequence_used=sequence_used, id=sql.Identifier(t.id), table=table)


def _map_key_parts(t: TableSpec, aliases: dict[str, sql.Identifier]) -> dict[str, sql.Composable]:
    """The natural key on each side: as its own columns k0, k1, … (hash-joined) and as one row value (for keys
    holding a NULL, which match only with nulls_in_key: equal); and which rows group together (with
    nulls_in_key: distinct, a row with a NULL in its key matches nothing and stands alone)."""
    key = [translated(c, aliases) for c in t.natural_key]
    positions = [sql.Identifier(f"k{i}") for i in range(len(key))]
    equal = t.nulls_in_key == "equal"

    def nonnull(exprs) -> sql.Composed:
        return sql.SQL(" AND ").join(sql.SQL("{} IS NOT NULL").format(e) for e in exprs)

    public = [sql.Identifier("p", c) for c in t.natural_key]
    return dict(
        staging_key=sql.SQL(", ").join(key),
        staging_key_columns=sql.SQL(", ").join(sql.SQL("{} AS {}").format(e, k) for e, k in zip(key, positions)),
        staging_key_nonnull=nonnull(key),
        staging_key_complete=sql.SQL("true") if equal else nonnull(key),
        public_key=sql.SQL(", ").join(public),
        public_key_columns=sql.SQL(", ").join(sql.SQL("{} AS {}").format(e, k) for e, k in zip(public, positions)),
        public_key_nonnull=nonnull(public),
        nulls_equal=sql.SQL("true" if equal else "false"),
        key_equal=sql.SQL(" AND ").join(sql.SQL("p.{k} = s.{k}").format(k=k) for k in positions),
        group_key=sql.SQL(", ").join([sql.SQL("s.{}").format(k) for k in positions] + (
            [] if equal else [sql.SQL("CASE WHEN NOT s.key_complete THEN s.staging_id END")])),
    )


def unmapped_fk_guard(n: Names, t: TableSpec, fk) -> Guard:
    return Guard(
        f"{n.spec.staging_schema}.{t.name}.{fk.column}: rows reference {fk.table} ids that dump #2 does not hold",
        wrap(compose("checks/unmapped_foreign_key.sql", column=sql.Identifier(fk.column),
                     staging_table=n.staging(t.name), parent_map=n.map(fk.table))))


def key_foreign_keys(t: TableSpec) -> list:
    """The foreign keys among the natural key's columns (compared through their parents' maps)."""
    return [f for f in t.mapped_columns if f.column in t.natural_key]


def map_guarded(t: TableSpec, needs: list[str]) -> list:
    """The foreign keys whose values the id_map step refuses unmapped (its map reads them through their
    parents' maps): the merged step, built from that map and the same staging rows, need not ask again."""
    if t.strategy == "natural_key":
        return key_foreign_keys(t)
    if t.duplicates == "drop":
        return [f for f in t.mapped_columns if f.table in needs]
    return []


def _id_map_step(n: Names, t: TableSpec, needs: list[str]) -> Step:
    ids = dict(id=sql.Identifier(t.id), map=n.map(t.name), staging_table=n.staging(t.name),
               public_table=n.public(t.name))
    statements = [compose("merge/map_create.sql", **ids)]
    if t.fresh_ids:
        statements.append(allocator_catch_up(n, t, ids["public_table"]))
        new_id = sql.SQL("nextval({})").format(n.allocator(t))
    else:  # uuid, text and other keys no sequence feeds: a new row keeps its own id
        new_id = sql.SQL("l.staging_id")
    key_fks = key_foreign_keys(t)
    if t.strategy == "natural_key":
        joins, aliases = parent_joins(n, key_fks)
        equal = t.nulls_in_key == "equal"
        public_held = held_unique(ids["public_table"], t.natural_key, nulls_counted=equal)
        staging_held = sql.SQL("false") if key_fks else held_unique(ids["staging_table"], t.natural_key,
                                                                     nulls_counted=equal)
        both_held = sql.SQL("false")
        if not key_fks and not equal:  # the common case's two joins first; the general statement then skips
            both_held = sql.SQL("({} AND {})").format(public_held, staging_held)
            key_equal = sql.SQL(" AND ").join(sql.SQL("p.{c} = st.{c}").format(c=sql.Identifier(c))
                                              for c in t.natural_key)
            statements.append(compose("merge/map_natural_key_held.sql", **ids, new_id=new_id, held=both_held,
                                      key_equal=key_equal))
        fill = compose("merge/map_natural_key.sql", **ids, new_id=new_id, parent_joins=joins,
                       public_held=public_held, staging_held=staging_held, mapped_already=both_held,
                       **_map_key_parts(t, aliases))
        how = (f"natural key ({', '.join(t.natural_key)}); public wins, new keys get "
               f"{'fresh ids' if t.fresh_ids else 'their own ids'}")
    elif t.duplicates == "drop":
        staging_content, public_content, joins = compared_content(n, t, needs, sql.Identifier("candidates"))
        translated_columns = {f.column for f in t.mapped_columns} | {a.column for a in t.arrays}
        plain = [c for c in t.columns if c != t.id and c not in translated_columns]
        fill = compose("merge/map_append.sql", **ids, new_id=new_id, parent_joins=joins,
                       staging_content=staging_content, public_content=public_content,
                       staging_plain=sql.SQL("jsonb_build_array({})").format(ident_list(plain, "st")),
                       public_plain=sql.SQL("jsonb_build_array({})").format(ident_list(plain, "p")))
        how = "history: a row the target already holds (same content) is that row; every other row gets a fresh id"
    else:
        fill = compose("merge/map_append_all.sql", **ids, new_id=new_id)
        how = "history, duplicates kept: every staging row gets a fresh id"
    index = compose("merge/map_index.sql", map=ids["map"],
                    map_staging_index=sql.Identifier(object_name("map_", t.name, "_staging_id")),
                    map_public_index=sql.Identifier(object_name("map_", t.name, "_public_id")))
    deps = (STAGING_DATA, *(id_map_key(table) for table in needs))
    stats = sql.SQL("SELECT count(*) AS row_count, count(*) FILTER (WHERE inserted) AS new_rows, "
                    "count(*) FILTER (WHERE NOT inserted) AS matched_rows FROM {}").format(ids["map"])
    return Step(id_map_key(t.name), "id_map", f"Map staging {t.name}.{t.id} to target ids by {how}.",
                deps, (*statements, fill, index, analyze(ids["map"])),
                tuple(unmapped_fk_guard(n, t, fk) for fk in map_guarded(t, needs)), stats, t.name)


def plan_maps(spec: MergeSpec) -> list[Step]:
    """One id_map step per table with a surrogate id, in merge order."""
    n, needs = Names(spec), map_needs(spec)
    return [_id_map_step(n, t, needs[t.name]) for t in merge_order(spec) if t.has_map]
