"""Draft a merge spec from the catalog, for the user to review and edit (`pgmerge spec`)."""

from __future__ import annotations

from collections import Counter
from graphlib import CycleError, TopologicalSorter

import yaml

from pgmerge_assets.catalog.introspect import INTEGER_TYPES, Catalog, Table

HEADER = """\
# pgmerge merge spec, drafted from the catalog of schema(s) {schemas}. Review before merging.
#
# Per table:
#   strategy     natural_key: rows of dump #2 whose natural key exists in public are matched (public wins);
#                             the others are inserted with fresh ids.
#                append:      history; a row of dump #2 whose content public already holds is that
#                             row (duplicates: keep to append every row), the others get fresh ids.
#                skip:        not merged.
#   natural_key  columns that identify a row across the two databases (foreign-key columns are
#                compared after translating them to public's ids).
#   schema, table  where the table lives, when not in target_schema or not under its spec name.
#   foreign_keys column: table whose id it holds (translated through that table's id map).
#   references   foreign keys on several columns or on columns other than the id: merged after their
#                table; each column translated as the column it references is.
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
        return "append", (), "no unique key besides the id: treated as history (rows public already holds are not added again)"
    if len(pk) > 1:
        return "natural_key", pk, None
    if pk and table.column(pk[0]).type not in INTEGER_TYPES:
        return "natural_key", pk, f"{table.column(pk[0]).type} primary key: its value is taken as the natural key"
    if pk:
        return "append", (), ("integer primary key without a sequence and no unique key: treated as history (rows "
                              "public already holds are not added again), new rows get ids past max(id); name the "
                              "columns that identify a row as natural_key if there are some")
    return "append", (), "no primary or unique key: rows of dump #2 public does not already hold are appended"


def _note_cycles(body: dict[str, dict]) -> None:
    """Say which tables form a foreign-key cycle: nothing to edit, they are published in one statement."""
    graph = {name: {ref for ref in entry.get("foreign_keys", {}).values() if ref != name}
             | {r["table"] for r in entry.get("references", []) if r["table"] != name}
             for name, entry in body.items() if entry["strategy"] != "skip"}
    while True:
        try:
            TopologicalSorter(graph).prepare()
            return
        except CycleError as exc:
            cycle = exc.args[1][::-1]
        for name in cycle[:-1]:
            _add_note(body[name], f"on the foreign-key cycle {' -> '.join(cycle)}: its tables are published in one "
                                  f"statement, every foreign key final")
        graph[cycle[0]].discard(cycle[1])  # look for the next cycle


def _labels(tables: Catalog, schema: str) -> dict[tuple[str, str], str]:
    """Spec names: a table's own name, qualified as schema.table only where another schema has the same name."""
    counts = Counter(name for _, name in tables)
    labels: dict[tuple[str, str], str] = {}
    for s, name in sorted(tables, key=lambda k: (k[0] != schema, k)):
        label = name if s == schema or counts[name] == 1 else f"{s}.{name}"
        stem, n = label, 2
        while label in labels.values():
            label, n = f"{stem}_{n}", n + 1
        labels[(s, name)] = label
    return labels


def _add_note(entry: dict, note: str) -> None:
    entry["note"] = f"{entry['note']}; {note}" if "note" in entry else note


def draft_spec(tables: Catalog, schema: str = "public") -> str:
    """A spec for every table of `tables`; `schema` becomes target_schema, where tables need no schema field."""
    labels = _labels(tables, schema)
    body: dict[str, dict] = {}
    for key in sorted(tables, key=lambda k: labels[k]):
        t, name = tables[key], labels[key]
        strategy, natural_key, note = _strategy(t)
        id_column = t.id_column
        entry: dict = {"strategy": strategy}
        if note:
            entry["note"] = note
        if t.schema != schema:
            entry["schema"] = t.schema
        if t.name != name:
            entry["table"] = t.name
        if natural_key:
            entry["natural_key"] = list(natural_key)
        entry["columns"] = [c.name for c in t.columns if not c.generated]
        if id_column:
            entry["id"] = id_column
            if t.sequence:
                entry["sequence"] = t.sequence[1]
                if t.sequence[0] != t.schema:
                    entry["sequence_schema"] = t.sequence[0]
            if not t.sequence and t.column(id_column).type not in INTEGER_TYPES:
                entry["keep_ids"] = True  # uuid, text: a new row keeps its own id
            identity = t.column(id_column).identity
            if identity:
                entry["identity"] = identity
        fks, references = {}, []
        for fk in t.foreign_keys:
            ref_key = (fk.ref_schema, fk.ref_table)
            if ref_key not in tables:
                _add_note(entry, f"({', '.join(fk.columns)}) references {fk.ref_schema}.{fk.ref_table}, outside the "
                                 f"drafted schemas: draft with that schema too")
            elif len(fk.columns) == 1 and fk.ref_columns == (tables[ref_key].id_column,):
                fks[fk.columns[0]] = labels[ref_key]
            else:
                references.append({"columns": list(fk.columns), "table": labels[ref_key],
                                   "ref_columns": list(fk.ref_columns)})
        if fks:
            entry["foreign_keys"] = fks
        if references:
            entry["references"] = references
        own = [column for column, ref in fks.items() if ref == name]
        if own:
            _add_note(entry, f"references itself ({', '.join(own)}): merged in one statement, every id known from the map")
        if t.insert_triggers:
            _add_note(entry, f"triggers on INSERT, which fire when pgmerge publishes: {', '.join(t.insert_triggers)}")
        arrays = {c.name: None for c in t.columns if c.is_integer_array}
        if arrays:
            entry["arrays"] = arrays
        body[name] = entry
    _note_cycles(body)
    schemas = sorted({s for s, _ in tables} | {schema}, key=lambda s: (s != schema, s))
    doc = {"version": 1, "target_schema": schema, "staging_schema": "staging", "map_schema": "pgmerge", "tables": body}
    return HEADER.format(schemas=", ".join(schemas)) + yaml.safe_dump(doc, sort_keys=False, default_flow_style=None,
                                                                       width=100, allow_unicode=True)
