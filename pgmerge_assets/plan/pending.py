"""Pending rows: the exact rows publish will insert, built in pgmerge's own tables from staging and the id
maps. Nothing here writes the target; the checks judge target ∪ pending through the merged views."""

from __future__ import annotations

from psycopg import sql

from pgmerge_assets.catalog.spec import MergeSpec, TableSpec
from pgmerge_assets.plan.common import (
    SEQUENCES,
    STAGING_DATA,
    Guard,
    Names,
    Step,
    analyze,
    cycle_key,
    id_map_key,
    ident_list,
    key_match,
    merged_key,
    parent_joins,
    repaired_key,
    translated,
    translated_arrays,
    wrap,
)
from pgmerge_assets.plan.maps import allocator_catch_up, map_guarded, map_needs, unmapped_fk_guard
from pgmerge_assets.plan.names import object_name
from pgmerge_assets.plan.order import cycle_partners, merge_order
from pgmerge_assets.templates import compose


def orphan_reference(side, t: TableSpec, r) -> sql.Composed:
    """Rows of `t` whose reference names no row of its table, on one side (Names.merged or Names.staging)."""
    return compose("checks/orphan_reference.sql",
                   reference=sql.Literal(f"({', '.join(r.columns)}) -> {r.table} ({', '.join(r.ref_columns)})"),
                   values=sql.SQL("jsonb_build_array({})").format(ident_list(r.columns, "c")),
                   table=side(t.name), parent_table=side(r.table),
                   all_present=sql.SQL(" AND ").join(sql.SQL("c.{} IS NOT NULL").format(sql.Identifier(c))
                                                     for c in r.columns),
                   match=sql.SQL(" AND ").join(sql.SQL("p.{} = c.{}").format(sql.Identifier(pc), sql.Identifier(c))
                                               for c, pc in zip(r.columns, r.ref_columns)))


def _unmapped_reference_guard(n: Names, t: TableSpec, ref) -> Guard:
    return Guard(f"{n.spec.staging_schema}.{t.name}.({', '.join(ref.columns)}): rows reference {ref.table} rows "
                 f"that dump #2 does not hold", wrap(orphan_reference(n.staging, t, ref)))


def _id_taken_guard(n: Names, t: TableSpec) -> Guard:
    return Guard(f"{t.schema}.{t.relname}.{t.id}: new rows of dump #2 keep ids the target already gives other rows",
                 wrap(compose("checks/pending_id_taken.sql", pending=n.pending(t.name), public_table=n.public(t.name),
                              id=sql.Identifier(t.id), held_unique=sql.SQL("false"))))  # found here, not by publish


def _analyze(n: Names, t: TableSpec) -> sql.Composed:
    """Statistics for what later queries join and group the pending rows on (id, natural key, references):
    the other columns are only copied or compared, and a payload column's statistics cost the most."""
    joined = [c for c in t.columns if c == t.id or c in t.natural_key or t.mapped(c)
              or any(c in r.columns for r in t.references)]
    return analyze(n.pending(t.name), joined)


def _merged_step(n: Names, t: TableSpec, partners: set[str], guarded: list) -> Step:
    """`guarded`: the foreign keys the table's id_map step refused unmapped already."""
    joins, aliases = parent_joins(n, t.mapped_columns)
    common = dict(pending=n.pending(t.name), public_table=n.public(t.name), staging_table=n.staging(t.name),
                  columns=ident_list(t.columns), parent_joins=joins)
    if t.has_map:
        values = sql.SQL(", ").join(sql.SQL("m.public_id") if c == t.id else translated(c, aliases) for c in t.columns)
        fill = compose("merge/insert_mapped.sql", **common, values=values, map=n.map(t.name), id=sql.Identifier(t.id))
        how = "rows new to the target, under their mapped ids"
    elif t.strategy == "append":
        values = sql.SQL(", ").join(sql.SQL("{} AS {}").format(translated(c, aliases), sql.Identifier(c))
                                    for c in t.columns)
        content = sql.SQL("jsonb_build_array({})").format(sql.SQL(", ").join(translated(c, aliases) for c in t.columns))
        fill = compose("merge/insert_once.sql" if t.duplicates == "drop" else "merge/insert_all.sql", **common,
                       values=values, columns_of_s=ident_list(t.columns, "s"), staging_content=content,
                       public_content=sql.SQL("jsonb_build_array({})").format(ident_list(t.columns, "p")))
        how = ("rows whose content the target does not hold yet (the table has no key)" if t.duplicates == "drop"
               else "every row (the table has no key; duplicates kept)")
    else:
        values = sql.SQL(", ").join(
            sql.SQL("{} AS {}").format(translated(c, aliases), sql.Identifier(c)) for c in t.columns)
        fill = compose("merge/insert_keyed.sql", **common, values=values, columns_of_s=ident_list(t.columns, "s"),
                       key_match=key_match(t, "p", "s"))
        how = f"rows whose natural key ({', '.join(t.natural_key)}) the target lacks"
    statements = (sql.SQL("TRUNCATE {}").format(n.pending(t.name)), fill,
                  *([compose("merge/pending_index.sql", pending=n.pending(t.name), id=sql.Identifier(t.id),
                                   index=sql.Identifier(object_name("pending_", t.name, "_id")))]
                    if t.id else []),
                  compose("merge/record_inserted.sql", merge_log=n.merge_log, table_name=sql.Literal(t.name),
                          public_table=n.public(t.name), pending=n.pending(t.name)),
                  _analyze(n, t))
    deps = tuple(dict.fromkeys(
        ([id_map_key(t.name)] if t.has_map else [STAGING_DATA])
        + [id_map_key(f.table) for f in t.mapped_columns if f.table != t.name]
        + [merged_key(p) for p in t.parents if p not in partners]))
    matched = (sql.SQL("(SELECT count(*) FROM {} WHERE NOT inserted)").format(n.map(t.name)) if t.has_map
               else sql.SQL("(SELECT count(*) FROM {}) - l.rows_pending").format(n.staging(t.name)))
    # rows once published: the merge log's counts (rows_conserved counts target ∪ pending to check them)
    stats = sql.SQL("SELECT l.rows_before + l.rows_pending AS row_count, (SELECT count(*) FROM {}) AS staging_rows, "
                    "l.rows_before, l.rows_pending AS rows_inserted, {} AS rows_matched "
                    "FROM {} l WHERE l.table_name = {}").format(
        n.staging(t.name), matched, n.merge_log, sql.Literal(t.name))
    fks = ", ".join(f"{f.column}→{f.table}" for f in t.mapped_columns) or "none"
    guards = (*(unmapped_fk_guard(n, t, fk) for fk in t.mapped_columns if fk not in guarded),
              *(_unmapped_reference_guard(n, t, ref) for ref in t.references))
    return Step(merged_key(t.name), "merged",
                f"Pending rows for {t.name} (published later, in one transaction): {how}; foreign keys "
                f"translated: {fks}.", deps, statements, guards, stats, t.name,
                # ids from pgmerge's counter are past every id the target holds; a uuid or text id kept from
                # dump #2 may not be
                after=(_id_taken_guard(n, t),) if t.has_map and t.keep_ids else ())


def within_cycle(t: TableSpec, partners: set[str]) -> list[tuple[tuple[str, ...], str]]:
    """The references of `t` (foreign-key columns, or a multi-column reference) to another table of its
    foreign-key cycle (`partners`), with that table: judged only once both tables' pending rows exist."""
    return [*(((f.column,), f.table) for f in t.mapped_columns if f.table in partners),
            *((r.columns, r.table) for r in t.references if r.table in partners)]


def _cycle_step(t: TableSpec, columns: tuple[str, ...], parent: str) -> Step:
    """A reference inside a foreign-key cycle holds its final value in the pending rows already; this audit
    step waits for the other table's pending rows too, so its check can judge it."""
    deps = tuple(dict.fromkeys([merged_key(t.name), merged_key(parent)]))
    return Step(cycle_key(t.name, columns), "cycle_fk",
                f"{t.name}.({', '.join(columns)}) -> {parent} closes a foreign-key cycle (the cycle's tables are "
                f"published in one statement): checked once {parent}'s pending rows exist too.", deps, ())


def _repaired_step(n: Names, t: TableSpec, array) -> Step:
    ids = dict(staging_table=n.staging(t.name), column=sql.Identifier(array.column),
               id=sql.Identifier(t.id), map=n.map(t.name), ref_map=n.map(array.table))
    guard = Guard(f"{n.spec.staging_schema}.{t.name}.{array.column}: elements name {array.table} ids "
                  f"that dump #2 does not hold", wrap(compose("checks/unmapped_array_element.sql", **ids)))
    stats = sql.SQL("SELECT count(*) AS row_count FROM {}").format(n.pending(t.name))
    joins, repaired = translated_arrays(n, t, [array])
    return Step(repaired_key(t.name, array.column), "repaired_arrays",
                f"Rewrite {t.name}.{array.column} of the pending rows through the {array.table} id map.",
                tuple(dict.fromkeys([merged_key(t.name), id_map_key(array.table), merged_key(array.table)])),
                (compose("merge/repair_array.sql", **ids, pending=n.pending(t.name), array_join=joins[0],
                         repaired=repaired[array.column]),),
                (guard,), stats, t.name)


def _sequences_step(n: Names, tables: list[TableSpec]) -> Step:
    statements = tuple(allocator_catch_up(n, t, n.merged(t.name)) for t in tables if t.has_map and t.fresh_ids)
    return Step(SEQUENCES, "sequences", "Where each sequence will stand once published: past max(id) of "
                "target ∪ pending (publish moves the target's sequences there).",
                # with no table to catch up it still runs after the load (prepare created pgmerge's state table)
                tuple(merged_key(t.name) for t in tables if t.has_map and t.fresh_ids) or (STAGING_DATA,), statements)


def plan_pending(spec: MergeSpec) -> list[Step]:
    n, tables, partners, needs = Names(spec), merge_order(spec), cycle_partners(spec), map_needs(spec)
    return [*(_merged_step(n, t, partners[t.name], map_guarded(t, needs[t.name]) if t.has_map else [])
              for t in tables),
            *(_cycle_step(t, columns, parent) for t in tables for columns, parent in within_cycle(t, partners[t.name])),
            *(_repaired_step(n, t, a) for t in tables for a in t.arrays),
            _sequences_step(n, tables)]
