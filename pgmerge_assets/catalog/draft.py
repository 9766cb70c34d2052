"""Draft a merge spec from the catalog, for the user to review and edit (`pgmerge spec`)."""

from __future__ import annotations

from collections import Counter
from math import prod
from graphlib import CycleError, TopologicalSorter

import yaml

from pgmerge_assets.catalog.introspect import INTEGER_TYPES, Catalog, Table
from pgmerge_assets.catalog.naming import key_name, kind
from pgmerge_assets.catalog.profile import ColumnSet, Profile, TableProfile
from pgmerge_assets.plan.names import object_name

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
#
# Comments above a table say what its data showed (with --dsn2: in both databases), where the catalog
# declares no key: the column sets unique and not null (distinct values / rows per database), the one
# chosen and why, and why a table is taken for history.
"""

SMALL = 10  # in a table of fewer rows, only a single column unique makes a key (sets are unique by chance)
SHARED_CODE = 0.9  # of the ids both databases hold, the share whose rows are equal: a code both use
UPDATE_STAMPS = ("last_update", "updated", "updated_at", "modified", "modified_at", "last_modified", "changed_at")


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


def _rank(t: Table, s: ColumnSet, p: TableProfile, fks: set[str]) -> tuple:
    """How a person orders candidate keys: text (or a code-like name) and no timestamp first, then foreign
    keys only; fewer columns; names like name/title/email/code; fewer plain numbers; table order."""
    kinds = ["fk" if c in fks else kind(t.column(c).type) for c in s.columns]
    worded = [c for c, k in zip(s.columns, kinds) if k in ("text", "uuid") or (k == "integer" and key_name(c) == 2)]
    # a set with text tells which row is which where its text column nearly does by itself, or where its
    # columns' values are too few for so many rows to be unique by chance (birthday bound)
    rows = max(p.rows)
    combos = prod(max(p.singles[c].distinct) for c in s.columns)
    telling = bool(worded) and (len(s.columns) == 1 or rows * rows >= 2 * combos or any(
        min(d / max(r, 1) for d, r in zip(p.singles[c].distinct, p.rows)) >= 0.5 for c in worded))
    if telling and "time" not in kinds:
        klass = 0
    elif len(s.columns) > 1 and all(k == "fk" for k in kinds):
        klass = 1
    else:
        klass = 2
    position = [next(i for i, col in enumerate(t.columns) if col.name == c) for c in s.columns]
    return (klass, len(s.columns), -max(map(key_name, s.columns)), sum(k in ("integer", "number") for k in kinds),
            position)


def _event_stamp(t: Table) -> str | None:
    """A timestamp column that says when a row happened (not when it was last updated)."""
    return next((c.name for c in t.columns if c.type.startswith("timestamp") and c.name.lower() not in UPDATE_STAMPS),
                None)


def _read_data(tables: Catalog, profile: Profile, fks: dict[tuple[str, str], set[str]],
               referrers: dict[tuple[str, str], set[tuple[str, str]]]) -> dict[tuple[str, str], tuple]:
    """Per table the data could judge: (strategy, natural key, comment lines, keep_ids). A candidate key is a
    column set unique and not null in each database; history is a table with no telling candidate, or one
    stamped with a time that only other history references (unless a single column named like a key is
    unique in SMALL rows or more)."""
    decided: dict[tuple[str, str], tuple] = {}
    best: dict[tuple[str, str], tuple[ColumnSet | None, list[str]]] = {}
    for key, t in tables.items():
        p = profile.get(key)
        if p is None or not p.rows:
            continue
        if max(p.rows) < 2:
            decided[key] = (None, (), [f"{max(p.rows)} rows: too few to tell a key from the data"], False)
            continue
        candidates = sorted((s for s in [*p.singles.values(), *p.sets] if s.unique
                             and (len(s.columns) == 1 or max(p.rows) >= SMALL)),
                            key=lambda s: _rank(t, s, p, fks[key]))
        strong = [s for s in candidates if _rank(t, s, p, fks[key])[0] < 2]
        lines = [f"rows read: {' / '.join(map(str, p.rows))}{' (the first rows of a big table)' if p.sampled else ''}"]
        if candidates:
            shown = ", ".join(f"({', '.join(s.columns)}) {s.share()}" for s in candidates[:5])
            lines.append(f"unique and not null in {'each database' if len(p.rows) > 1 else 'the data'}: {shown}")
        near = sorted((s for s in p.singles.values() if not s.unique and min(p.rows) and all(s.distinct)),
                      key=lambda s: -min(d / r for d, r in zip(s.distinct, s.rows)))[:3]
        if near:
            lines.append("not unique: " + ", ".join(f"{s.columns[0]} {s.share()}" for s in near))
        best[key] = (strong[0] if strong else None, lines)
    history = {key for key, (s, _) in best.items() if s is None} | {
        key for key, t in tables.items() if key not in best and _strategy(t)[0] == "append"}
    while True:  # a stamped table only history references is history too
        more = {key for key, (s, _) in best.items() if key not in history and _event_stamp(tables[key])
                and referrers[key] <= history | {key}
                and not (len(s.columns) == 1 and key_name(s.columns[0]) == 2 and max(profile[key].rows) >= SMALL)}
        if not more:
            break
        history |= more
    for key, (s, lines) in best.items():
        t, p = tables[key], profile[key]
        code = p.shared_code
        if key in history and code and code[0] and code[1] >= SHARED_CODE * code[0]:
            lines.append(f"id {t.id_column} is a code both databases share: {code[1]} of the {code[0]} ids both hold "
                         f"carry equal rows; natural_key: [{t.id_column}], new codes keep their own value")
            decided[key] = ("natural_key", (t.id_column,), lines, True)
        elif key in history:
            stamp = _event_stamp(t)
            why = (f"stamped by {stamp} and referenced by {'nothing' if not referrers[key] - {key} else 'history only'}"
                   if s else "no candidate key made of text or of foreign keys only")
            if code and code[0]:
                why += f"; id {t.id_column} is no shared code ({code[1]} of {code[0]} ids both hold carry equal rows)"
            lines.append(f"append (history): {why}")
            decided[key] = ("append", (), lines, False)
        else:
            lines.append(f"natural_key: ({', '.join(s.columns)}), the first of these a person would choose "
                         f"(text before numbers and times, fewest columns, names like name/title/email/code)")
            decided[key] = ("natural_key", s.columns, lines, False)
    return decided


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
    """Spec names: a table's own name, qualified as schema.table only where another schema has the same name
    (shortened with a hash past 63 bytes: the spec name is also its staging clone's name)."""
    counts = Counter(name for _, name in tables)
    labels: dict[tuple[str, str], str] = {}
    for s, name in sorted(tables, key=lambda k: (k[0] != schema, k)):
        label = name if s == schema or counts[name] == 1 else object_name("", f"{s}.{name}")
        stem, n = label, 2
        while label in labels.values():
            label, n = f"{stem}_{n}", n + 1
        labels[(s, name)] = label
    return labels


def _add_note(entry: dict, note: str) -> None:
    entry["note"] = f"{entry['note']}; {note}" if "note" in entry else note


def draft_spec(tables: Catalog, schema: str = "public", profile: Profile | None = None) -> str:
    """A spec for every table of `tables`; `schema` becomes target_schema, where tables need no schema field.
    With a `profile` of the data, keys the catalog does not declare and references no constraint declares
    are read from the data, and comments say why."""
    labels = _labels(tables, schema)
    profile = profile or {}
    proposed = {key: {c: ref for c, ref in p.references.items() if ref in tables} for key, p in profile.items()}
    fks = {key: {c for fk in t.foreign_keys for c in fk.columns} | set(proposed.get(key, {})) for key, t in tables.items()}
    referrers: dict[tuple[str, str], set[tuple[str, str]]] = {key: set() for key in tables}
    for key, t in tables.items():
        for ref in [(fk.ref_schema, fk.ref_table) for fk in t.foreign_keys] + list(proposed.get(key, {}).values()):
            if ref in referrers:
                referrers[ref].add(key)
    from_data = _read_data(tables, profile, fks, referrers)
    body: dict[str, dict] = {}
    comments: dict[str, list[str]] = {}
    for key in sorted(tables, key=lambda k: labels[k]):
        t, name = tables[key], labels[key]
        strategy, natural_key, note = _strategy(t)
        keep_ids = False
        if key in from_data:
            comments[name] = from_data[key][2]
            if from_data[key][0]:
                strategy, natural_key, _, keep_ids = from_data[key]
                note = None if strategy == "natural_key" else note
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
            if keep_ids or (not t.sequence and t.column(id_column).type not in INTEGER_TYPES):
                entry["keep_ids"] = True  # uuid, text, a shared code: a new row keeps its own id
            identity = t.column(id_column).identity
            if identity:
                entry["identity"] = identity
        fk_entries, references = {}, []
        generated = {c.name for c in t.columns if c.generated}
        for fk in t.foreign_keys:
            ref_key = (fk.ref_schema, fk.ref_table)
            if generated & set(fk.columns):
                _add_note(entry, f"({', '.join(fk.columns)}) references {fk.ref_schema}.{fk.ref_table} from generated "
                                 f"columns: computed from the merged ones, never translated; PostgreSQL checks the "
                                 f"key when the rows are published")
            elif ref_key not in tables:
                _add_note(entry, f"({', '.join(fk.columns)}) references {fk.ref_schema}.{fk.ref_table}, outside the "
                                 f"drafted schemas: draft with that schema too")
            elif len(fk.columns) == 1 and fk.ref_columns == (tables[ref_key].id_column,):
                fk_entries[fk.columns[0]] = labels[ref_key]
            else:
                references.append({"columns": list(fk.columns), "table": labels[ref_key],
                                   "ref_columns": list(fk.ref_columns)})
        for column, ref in proposed.get(key, {}).items():
            fk_entries[column] = labels[ref]
            _add_note(entry, f"{column} holds {labels[ref]} ids (its name says so and every value is one in the data), "
                             f"though no constraint declares it: foreign_keys.{column} proposed from the data")
        if fk_entries:
            entry["foreign_keys"] = fk_entries
        if references:
            entry["references"] = references
        own = [column for column, ref in fk_entries.items() if ref == name]
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
    doc = {"version": 1, "target_schema": schema, "staging_schema": "staging", "map_schema": "pgmerge"}
    text = HEADER.format(schemas=", ".join(schemas)) + yaml.safe_dump(doc, sort_keys=False) + "tables:\n"
    for name, entry in body.items():
        text += "".join(f"  # {line}\n" for line in comments.get(name, []))
        text += "".join(f"  {line}\n" for line in _dump({name: entry}).splitlines())
    return text


def _dump(doc: dict) -> str:
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=100, allow_unicode=True)
