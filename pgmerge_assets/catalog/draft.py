"""Draft a merge spec from the catalog, for the user to review and edit (`pgmerge spec`)."""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter

import yaml

from pgmerge_assets.catalog.introspect import Table

HEADER = """\
# pgmerge merge spec, drafted from the catalog of schema {schema}. Review before merging.
#
# Per table:
#   strategy     natural_key: rows of dump #2 whose natural key exists in public are matched (public wins);
#                             the others are inserted with fresh ids.
#                append:      history; every row of dump #2 is new and gets a fresh id.
#                skip:        not merged.
#   natural_key  columns that identify a row across the two databases (foreign-key columns are
#                compared after translating them to public's ids).
#   foreign_keys column: table whose id it holds (translated through that table's id map).
#   deferred_foreign_keys  nullable foreign-key columns that close a cycle: inserted NULL, set once
#                both tables are merged.
#   arrays       integer-array column: table whose ids its elements hold (rewritten through that
#                table's id map). The catalog cannot know this: every `null` below needs a table name.
#   columns, id, sequence, identity: catalog facts; keep them in step with the schema.
"""


def _strategy(table: Table) -> tuple[str, tuple[str, ...], str | None]:
    """(strategy, natural key, note) guessed from keys: unique key → natural_key, serial-only → append."""
    pk = table.primary_key
    # a key holding the sequence-fed id identifies nothing across two databases
    natural = [key for key in table.unique_keys if table.sequence_column not in key]
    if natural:
        return "natural_key", natural[0], None
    if table.sequence_column:
        return "append", (), "no unique key besides the id: treated as history (every row of dump #2 is new)"
    if len(pk) > 1:
        return "natural_key", pk, None
    if pk:
        return "natural_key", pk, "primary key without a sequence: its value is taken as the natural key"
    return "append", (), "no primary or unique key: every row of dump #2 is appended once"


def _defer_cycles(tables: dict[str, Table], body: dict[str, dict]) -> None:
    """Break each foreign-key cycle at a nullable column of a table with an id; flag what cannot be broken."""
    while True:
        graph = {
            name: {fk for fk, ref in entry.get("foreign_keys", {}).items()
                   if ref != name and fk not in entry.get("deferred_foreign_keys", [])}
            for name, entry in body.items() if entry["strategy"] != "skip"
        }
        graph = {name: {body[name]["foreign_keys"][c] for c in cols} for name, cols in graph.items()}
        try:
            TopologicalSorter(graph).prepare()
            return
        except CycleError as exc:
            cycle = exc.args[1][::-1]
        for child, parent in zip(cycle, cycle[1:]):
            entry = body[child]
            candidates = [c for c, ref in entry.get("foreign_keys", {}).items()
                          if ref == parent and "id" in entry and c not in entry.get("natural_key", [])
                          and tables[child].column(c).nullable]
            if candidates:
                entry.setdefault("deferred_foreign_keys", []).append(candidates[0])
                break
        else:
            body[cycle[0]]["note"] = (f"foreign-key cycle {' -> '.join(cycle)} has no nullable column to break it "
                                      f"at: it cannot be merged as is")
            return


def draft_spec(tables: dict[str, Table], schema: str = "public") -> str:
    body: dict[str, dict] = {}
    for name in sorted(tables):
        t = tables[name]
        strategy, natural_key, note = _strategy(t)
        id_column = t.id_column
        entry: dict = {"strategy": strategy}
        if note:
            entry["note"] = note
        if natural_key:
            entry["natural_key"] = list(natural_key)
        entry["columns"] = [c.name for c in t.columns if not c.generated]
        if id_column:
            entry["id"] = id_column
            if t.sequence:
                entry["sequence"] = t.sequence
            identity = t.column(id_column).identity
            if identity:
                entry["identity"] = identity
        fks = {fk.columns[0]: fk.ref_table for fk in t.foreign_keys if len(fk.columns) == 1}
        if fks:
            entry["foreign_keys"] = fks
        own = [column for column, ref in fks.items() if ref == name]
        if own:
            entry["note"] = (f"{entry['note']}; " if "note" in entry else "") + (
                f"references itself ({', '.join(own)}): merged in one statement, every id known from the map")
        composite = [fk for fk in t.foreign_keys if len(fk.columns) > 1]
        if composite:
            entry["note"] = (f"{entry['note']}; " if "note" in entry else "") + (
                "composite foreign keys are not translated by this version: "
                + ", ".join(f"({', '.join(fk.columns)}) -> {fk.ref_table}" for fk in composite))
        arrays = {c.name: None for c in t.columns if c.is_integer_array}
        if arrays:
            entry["arrays"] = arrays
        body[name] = entry
    _defer_cycles(tables, body)
    doc = {"version": 1, "target_schema": schema, "staging_schema": "staging", "map_schema": "pgmerge", "tables": body}
    return HEADER.format(schema=schema) + yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=100)
