"""The audit: every check judges the target as it will be once published (the merged views, target ∪
pending), so a blocking check that fails stops the merge before anything reaches the target."""

from __future__ import annotations

from psycopg import sql

from pgmerge_assets.catalog.spec import MergeSpec, TableSpec
from pgmerge_assets.plan.common import (
    SEQUENCES,
    Check,
    Names,
    cycle_key,
    held_foreign_key,
    held_unique,
    id_map_key,
    ident_list,
    key_complete,
    key_match,
    merged_key,
    repaired_key,
    wrap,
)
from pgmerge_assets.plan.order import cycle_partners, merge_order
from pgmerge_assets.plan.pending import orphan_reference, within_cycle
from pgmerge_assets.templates import compose


def _orphans(n: Names, t: TableSpec, fks) -> sql.Composed:
    """Foreign-key values of the target's rows naming no row of the parent's target ∪ pending, read only where
    no constraint of the target's own holds them (the pending rows' values are the lossless proof's)."""
    return sql.SQL("\nUNION ALL\n").join(
        compose("checks/orphan_foreign_key.sql", column_name=sql.Literal(fk.column), column=sql.Identifier(fk.column),
                public_table=n.public(t.name),
                held=held_foreign_key(n.public(t.name), fk.column, n.public(fk.table), n.spec.tables[fk.table].id),
                parent_table=n.merged(fk.table), parent_id=sql.Identifier(n.spec.tables[fk.table].id))
        for fk in fks)


def _checks(n: Names, t: TableSpec, partners: set[str]) -> list[Check]:
    checks = []
    if t.has_map:
        checks.append(Check("map_complete", id_map_key(t.name),
                            "Every staging row is mapped once, and the map names no other staging row.",
                            wrap(compose("checks/map_incomplete.sql", id=sql.Identifier(t.id), map=n.map(t.name),
                                         staging_table=n.staging(t.name),
                                         held=held_unique(n.map(t.name), ["staging_id"])))))
    later = within_cycle(t, partners)  # judged by their cycle_fk step, once the other table's pending rows exist
    checked_now = [f for f in t.mapped_columns if ((f.column,), f.table) not in later]
    if checked_now:
        checks.append(Check("foreign_keys_resolve", merged_key(t.name),
                            "No foreign-key value of the target's rows points at a missing parent of target ∪ pending, "
                            "constraint or not (the pending rows' values: the lossless proof).",
                            wrap(_orphans(n, t, checked_now))))
    references_now = [r for r in t.references if (r.columns, r.table) not in later]
    if references_now:
        checks.append(Check("references_resolve", merged_key(t.name),
                            "Every multi-column reference names an existing row (MATCH SIMPLE: a NULL part "
                            "references nothing), constraint or not.",
                            wrap(sql.SQL("\nUNION ALL\n").join(orphan_reference(n.merged, t, r) for r in references_now))))
    if t.strategy == "natural_key":
        # With nulls_in_key: equal, keys match by IS NOT DISTINCT FROM, which no hash join can do: such tables
        # always group every key, index or not.
        merge_inserted = (sql.SQL("EXISTS (SELECT 1 FROM {} m WHERE m.public_id = ANY (r.ids) AND m.inserted)").format(
            n.map(t.name)) if t.has_map else sql.SQL("true"))
        checks.append(Check("natural_key_unique", merged_key(t.name),
                            f"The merge gives no natural key ({', '.join(t.natural_key)}) a second row.",
                            wrap(compose("checks/duplicate_natural_key.sql", public_table=n.merged(t.name),
                                         key_columns=ident_list(t.natural_key, "t"),
                                         key_out=ident_list(t.natural_key, "r"),
                                         ids=sql.SQL("array_agg(t.{})").format(sql.Identifier(t.id)) if t.has_map
                                         else sql.SQL("NULL"),
                                         key_complete=key_complete(t, "t"), merge_inserted=merge_inserted,
                                         pending=n.pending(t.name), pending_key_columns=ident_list(t.natural_key, "p"),
                                         pending_key_complete=key_complete(t, "p"), target_table=n.public(t.name),
                                         target_key_match=key_match(t, "g", "t"),
                                         held_unique=held_unique(n.public(t.name), t.natural_key)
                                         if t.nulls_in_key == "distinct" else sql.SQL("false")))))
        if t.has_map:
            nulls_counted = t.nulls_in_key == "equal"
            checks.append(Check("natural_keys_repeated", id_map_key(t.name),
                                "Natural keys repeated within dump #2 or within the target (a warning).",
                                wrap(compose("checks/repeated_natural_key.sql", staging_table=n.staging(t.name),
                                             public_table=n.public(t.name),
                                             staging_key_columns=ident_list(t.natural_key, "st"),
                                             public_key_columns=ident_list(t.natural_key, "t"),
                                             staging_key_complete=key_complete(t, "st"),
                                             public_key_complete=key_complete(t, "t"),
                                             staging_held_unique=held_unique(n.staging(t.name), t.natural_key,
                                                                             nulls_counted=nulls_counted),
                                             public_held_unique=held_unique(n.public(t.name), t.natural_key,
                                                                            nulls_counted=nulls_counted))),
                                blocking=False))
    new_in_map = (sql.SQL("(SELECT count(*) FROM {} WHERE inserted)").format(n.map(t.name)) if t.has_map
                  else sql.SQL("l.rows_pending"))
    checks.append(Check("rows_conserved", merged_key(t.name),
                        "Rows after publishing = target rows before + pending rows (= the map's new rows).",
                        wrap(compose("checks/rows_not_conserved.sql", merge_log=n.merge_log, merged_view=n.merged(t.name),
                                     table_name=sql.Literal(t.name), new_in_map=new_in_map))))
    for columns, parent in later:
        reference = next((r for r in t.references if r.columns == columns and r.table == parent), None)
        query = (orphan_reference(n.merged, t, reference) if reference
                 else _orphans(n, t, [f for f in t.mapped_columns if f.column == columns[0]]))
        checks.append(Check("reference_resolves", cycle_key(t.name, columns),
                            f"Every {t.name}.({', '.join(columns)}) names an existing {parent} row.", wrap(query)))
    for array in t.arrays:
        ref = n.spec.tables[array.table]
        checks.append(Check("array_elements_exist", repaired_key(t.name, array.column),
                            f"Every element of {t.name}.{array.column} names an existing {array.table} row "
                            f"(the seed's sanity query, on target ∪ pending).",
                            wrap(compose("checks/dangling_array_element.sql", id=sql.Identifier(t.id),
                                         column=sql.Identifier(array.column), public_table=n.merged(t.name),
                                         ref_table=n.merged(ref.name), ref_id=sql.Identifier(ref.id)))))
    return checks


def _sequence_check(n: Names, tables: list[TableSpec]) -> Check:
    behind = sql.SQL("\nUNION ALL\n").join(
        compose("checks/sequence_behind.sql", table_name=sql.Literal(t.name), id=sql.Identifier(t.id),
                merged_view=n.merged(t.name), sequence_table=n.sequence_table(t), allocator_table=n.allocator_table(t),
                pending=n.pending(t.name))
        for t in tables if t.sequence)
    return Check("sequences_ahead", SEQUENCES, "Every sequence will be past its column's max once published.",
                 wrap(behind))


def plan_audit(spec: MergeSpec) -> list[Check]:
    n, tables, partners = Names(spec), merge_order(spec), cycle_partners(spec)
    checks = [c for t in tables for c in _checks(n, t, partners[t.name])]
    if any(t.sequence for t in tables):
        checks.append(_sequence_check(n, tables))
    return checks
