"""Random schemas of the shapes pgmerge merges today, their data, a split into two diverged databases,
and an id-free canonical form written from the schema model alone (no planner, no proof code).

Used by test_split_remerge.py:

* `schemas()` — a hypothesis strategy drawing a `Schema`: entity tables (surrogate id from bigserial,
  an identity column, or a uuid primary key no sequence feeds; a UNIQUE natural key of 1–2 columns
  that may hold NOT NULL foreign keys to earlier entities; more foreign keys nullable or not; maybe a
  nullable foreign key to itself; maybe a nullable foreign key to a later entity, which may close a
  cycle; payload columns; bigint[] columns holding ids of an entity table with integer ids); join
  tables (composite primary key of two foreign keys, optional payload); append-only history tables
  (surrogate id, or no id and no primary key at all; a NOT NULL foreign key, maybe a nullable one,
  payload, maybe an id array when the table has an id). Also: a NOT NULL forward reference no constraint
  declares (a NOT NULL cycle the draft must find in the data), ids no sequence feeds, join and history tables
  partitioned by hash with their foreign keys on the partitions, update stamps set by triggers.
* `build_split()` — in an "origin" database: the records, set-based from generate_series with
  md5-driven pseudo-randomness, each placed in db1, db2 or both; then per database the rows that live
  there, renumbered in a per-database order (integer ids collide; uuids differ per database),
  references translated, db2's copies of shared records carrying conflicting non-key values; copied
  with COPY into db1 and db2 (same DDL: tables, COPY, then foreign keys, as a forward foreign key would
  stop a COPY in table order), sequences set past max(id).
* `canonical()` / `expected_merge()` — the oracle: every row id-free, foreign keys and array
  elements replaced by the referenced row's natural key (recursively), as sorted lists of text.

All SQL is composed with psycopg.sql (identifiers quoted, never formatted into strings).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import psycopg
from hypothesis import strategies as st
from psycopg import sql

# Shapes that once broke the tool, kept on since the fixes, and shapes added to the generator later;
# all on by default, PGMERGE_PROPERTY_OFF=NAME,... switches one off.
_OFF = {f.strip().upper() for f in os.environ.get("PGMERGE_PROPERTY_OFF", "").split(",") if f.strip()}

# Natural-key column names equal to names the tool's SQL gives its own columns ("staging_id",
# "public_id", "n"): keys now travel as one row value and check samples are numbered apart.
ADVERSARIAL_COLUMN_NAMES = "ADVERSARIAL_COLUMN_NAMES" not in _OFF

# A table name containing a dot ("Mixed.Case"): spec table names are no longer split at dots.
DOTTED_TABLE_NAMES = "DOTTED_TABLE_NAMES" not in _OFF

# An id array pointing at any table, also one merged later: repaired_arrays/<t>__<c> now waits for
# merged/<ref> as well.
ARRAYS_TO_ANY_TABLE = "ARRAYS_TO_ANY_TABLE" not in _OFF

# An entity's nullable foreign key to itself ("parent_ref"), outside its natural key: merged in one
# statement, every id known from the table's own map.
SELF_REFERENCES = "SELF_REFERENCES" not in _OFF

# An entity's nullable foreign key to a later entity, outside its natural key: a forward edge, or a
# cycle with the later entity's foreign keys back; the draft defers a nullable column of each cycle.
FK_CYCLES = "FK_CYCLES" not in _OFF

# An entity's id as `uuid PRIMARY KEY` with no default: per-database uuids, foreign keys to it typed
# uuid; a new row keeps its own uuid (no sequence). Id arrays point only at tables with integer ids.
UUID_KEYS = "UUID_KEYS" not in _OFF

# A history table with no id column and no primary key: appended once, foreign keys translated, no arrays.
KEYLESS_TABLES = "KEYLESS_TABLES" not in _OFF

# A history table referencing a join table by its two-column primary key (one FOREIGN KEY on two
# columns, nullable or not): the draft lists it under `references`; each column holds the id of the
# entity the join column does.
COMPOSITE_REFERENCES = "COMPOSITE_REFERENCES" not in _OFF

# Tables in a second schema (also one whose name needs quoting), foreign keys across the two, and a
# table named like one of public's: the spec is drafted from both schemas, public is the target_schema.
SEVERAL_SCHEMAS = "SEVERAL_SCHEMAS" not in _OFF
SECOND_SCHEMAS = ["app", "Sch ema", 'q"s', "Auth"]

# Sub-case of FK_CYCLES: a table on a foreign-key cycle with two foreign keys to the same table of that
# cycle, one of them nullable outside the natural key (e.g. b.a_ref, b.a_ref_2 -> a and a.b_ref -> b).
# draft_spec looped forever deferring b.a_ref again; now an edge is deferred whole, each column once.
# Switched off, the generator drops forward foreign keys until no cycle has it.
CYCLE_PARALLEL_FKS = "CYCLE_PARALLEL_FKS" not in _OFF

# Sub-case of FK_CYCLES: a nullable foreign key outside the natural key on a cycle (one the draft may
# defer) pointing at a table whose natural key holds a foreign key (e.g. team.captain_id -> player,
# player's key (squad_id, email), squad's key (team_id, name)). merged/<t> checked the deferred column
# against the parent's id map before that map existed; now only cycle_fk/<t>__<c> checks it.
# Switched off, the generator drops forward foreign keys until no cycle has it.
CYCLE_TO_FK_KEYED_TABLE = "CYCLE_TO_FK_KEYED_TABLE" not in _OFF

# An entity whose natural key (one text column named name, code or title) no constraint declares: the
# draft must find it in the two databases' data (pgmerge spec --dsn db1 --dsn2 db2). At least 30 records.
UNDECLARED_KEYS = "UNDECLARED_KEYS" not in _OFF
UNDECLARED_KEY_NAMES = ["name", "code", "title"]

# History tables stamped with a timestamptz column: with the data read, a stamped table nothing
# references is history even where a few rows make some column set unique by chance.
HISTORY_TIMESTAMPS = "HISTORY_TIMESTAMPS" not in _OFF

# Sub-case of FK_CYCLES, as in the film-rental sample (store.manager_staff_id -> staff undeclared, staff.store_id ->
# store declared): the forward column is NOT NULL, holds ids of a later entity with integer ids, is named
# <table>_id or manager_<table>_id, and no constraint declares it; the later entity's foreign key back (NOT NULL or
# not) closes the cycle. The draft must propose it from the data (both databases). Where its name would not point
# at its table once every name is final (a twin name in the second schema, a name cut at 63 bytes), it is declared.
UNDECLARED_CYCLES = "UNDECLARED_CYCLES" not in _OFF

# Join and history tables, and entities whose key no constraint declares (their only unique key is the id),
# partitioned by hash (of the id, or of the first key or foreign-key column), their foreign keys declared on each
# partition rather than on the parent (as pg_dump shows the film-rental sample's payment partitions), or on the
# parent.
PARTITIONS = "PARTITIONS" not in _OFF

# A timestamptz column named like an update stamp (last_update, updated_at, modified) that a BEFORE INSERT OR
# UPDATE trigger (or BEFORE UPDATE only, as in the film-rental sample) sets to now(). The trigger is created after
# the data (as pg_dump restores it), so db1 and db2 hold the generated stamps. It stays enabled during the merge:
# a row the merge inserts is stamped by the publish (the oracle expects "<stamped>" there); a row it updated would
# be stamped too, and none may be (db1's rows keep their stamps).
STAMP_TRIGGERS = "STAMP_TRIGGERS" not in _OFF
STAMP_NAMES = ["last_update", "updated_at", "modified"]

# An entity's id as `bigint PRIMARY KEY` that no sequence feeds (the application assigns it): ids collide between
# db1 and db2 like any; new rows get fresh ids from pgmerge's counter, never dump #2's own.
UNSEQUENCED_IDS = "UNSEQUENCED_IDS" not in _OFF

PLAIN_TABLES = ["customer", "product", "supplier", "region", "category", "warehouse", "invoice",
                "shipment", "tag", "ledger", "event", "audit", "visit", "account"]
WEIRD_TABLES = ["Order", "a b", 'a"b', "select", "it's", "Größe", "x%s", "user",
                "L" + "o" * 54 + "ng_Table"]  # 63 bytes: pgmerge's map_<table> must be shortened
if DOTTED_TABLE_NAMES:
    WEIRD_TABLES.append("Mixed.Case")
PLAIN_COLUMNS = ["code", "name", "label", "qty", "born", "amount", "note", "kind", "ref", "score",
                 "day", "title", "size", "rank"]
WEIRD_COLUMNS = ["Name", "a b", 'c"d', "order", "from", "x'y", "ID", "é", "50%", "user", "A.B", "group",
                 # names the tool's SQL uses for its own aliases and output columns
                 "inserted", "element", "ord", "repaired", "k", "c", "found", "matched", "rows", "value",
                 "problem", "id", "offending", "sample", "leader", "u", "st", "m", "p", "s"]
ADVERSARIAL_COLUMNS = ["staging_id", "public_id", "n"]
WEIRD_IDS = ["ID", "Id x", 'the"id', "pk"]

KEY_TYPES = ["text", "int", "date"]
PAYLOAD_TYPES = ["text", "int", "date", "boolean", "numeric"]
SQL_TYPES = {"text": "text", "int": "integer", "date": "date", "boolean": "boolean", "numeric": "numeric",
             "timestamp": "timestamptz", "fk": "bigint", "array": "bigint[]"}
ID_KINDS = ["bigserial", "identity_by_default", "identity_always"]
OFTEN = st.sampled_from([False, True, True])  # a shape drawn in two of three cases; shrinks to without
ENTITY_ID_KINDS = (ID_KINDS + (["uuid"] if UUID_KEYS else [])  # history tables keep sequence-fed integer ids
                   + (["unsequenced"] if UNSEQUENCED_IDS else []))
ID_TYPES = {"bigserial": "bigserial", "identity_by_default": "bigint GENERATED BY DEFAULT AS IDENTITY",
            "identity_always": "bigint GENERATED ALWAYS AS IDENTITY", "uuid": "uuid", "unsequenced": "bigint"}
SEQUENCED = ("bigserial", "identity_by_default", "identity_always")


@dataclass
class Col:
    name: str
    kind: str  # text | int | date | boolean | numeric | timestamp | fk | array
    nullable: bool = True
    ref: int | None = None  # fk/array: index of the referenced table
    via: int | None = None  # fk: part of a two-column reference to this join table, as its key column via_pos
    via_pos: int = 0
    declared: bool = True  # fk: a constraint declares it (else the draft must find it in the data)
    stamp: str | None = None  # timestamp: "insert" (BEFORE INSERT OR UPDATE trigger) or "update" (BEFORE UPDATE)
    # key columns: injective value of x = i-1 (or a part of it); payload: pseudo-random
    key_prefix: str = ""
    key_step: int = 1
    key_offset: int = 0


@dataclass
class Table:
    name: str
    kind: str  # entity | join | history
    rows: int
    cols: list[Col] = field(default_factory=list)  # every column but the id, in DDL order of `order`
    id: str | None = None  # None: join tables, keyless history tables
    id_kind: str | None = None  # one of ID_KINDS, or "uuid" (entities)
    key: tuple[int, ...] = ()  # indexes into cols: natural key (entity) or primary key (join)
    key_mod: int = 1  # two-column keys of plain columns: first = x % key_mod, second = x / key_mod
    order: list[int] = field(default_factory=list)  # DDL column order; -1 is the id
    schema: str = "public"
    declared: bool = True  # entity: its natural key is declared UNIQUE (else the draft reads it from the data)
    partitions: int = 0  # join/history: partitioned by hash into this many partitions
    fks_on_partitions: bool = False  # partitioned: foreign keys declared on each partition, not on the parent

    def partition_column(self) -> str:
        """The hash partition key: the id, else the first column (a join key, a NOT NULL foreign key)."""
        return self.id or self.cols[0].name

    def partition_names(self) -> list[str]:
        return [_fit(self.name, f"_p{i}") for i in range(self.partitions)]

    def col_names(self) -> list[str]:
        return [self.id if j == -1 else self.cols[j].name for j in self.order]

    def key_names(self) -> list[str]:
        return [self.cols[j].name for j in self.key]

    @property
    def qualified(self) -> tuple[str, str]:
        return (self.schema, self.name)

    def reference(self) -> tuple[list[int], int] | None:
        """The two-column reference to a join table: its columns in join-key order, and the join table."""
        via = sorted((c.via_pos, j) for j, c in enumerate(self.cols) if c.via is not None)
        return ([j for _, j in via], self.cols[via[0][1]].via) if via else None


@dataclass
class Schema:
    tables: list[Table]  # entities first (FKs point at earlier entities only), then join, then history
    both_share: float  # of records eligible for both databases, the share that goes to both
    db1_share: float  # of the others, the share that goes to db1 only
    conflict_rate: float
    id_offsets: tuple[int, int]  # renumbering starts after these in db1 / db2

    def fks(self) -> list[tuple[int, Col]]:
        return [(ti, c) for ti, t in enumerate(self.tables) for c in t.cols if c.kind == "fk"]

    def self_references(self) -> list[tuple[int, Col]]:
        return [(ti, c) for ti, c in self.fks() if c.ref == ti]

    def forward_fks(self) -> list[tuple[int, Col]]:
        return [(ti, c) for ti, c in self.fks() if c.ref > ti]

    def fk_cycles(self) -> bool:
        """Whether the foreign keys between different tables form a cycle."""
        from graphlib import CycleError, TopologicalSorter

        graph = {ti: {c.ref for c in t.cols if c.kind == "fk" and c.ref != ti} for ti, t in enumerate(self.tables)}
        try:
            TopologicalSorter(graph).prepare()
        except CycleError:
            return True
        return False

    def uuid_tables(self) -> list[Table]:
        return [t for t in self.tables if t.id_kind == "uuid"]

    def keyless_tables(self) -> list[Table]:
        return [t for t in self.tables if t.kind == "history" and t.id is None]

    def undeclared_fks(self) -> list[tuple[int, Col]]:
        return [(ti, c) for ti, c in self.fks() if not c.declared]

    def not_null_cycle(self) -> bool:
        """Whether NOT NULL foreign keys (declared or not) between different tables form a cycle."""
        from graphlib import CycleError, TopologicalSorter

        graph = {ti: {c.ref for c in t.cols if c.kind == "fk" and c.ref != ti and not c.nullable}
                 for ti, t in enumerate(self.tables)}
        try:
            TopologicalSorter(graph).prepare()
        except CycleError:
            return True
        return False

    def partitioned(self) -> list[Table]:
        return [t for t in self.tables if t.partitions]

    def stamps(self) -> list[tuple[Table, Col]]:
        return [(t, c) for t in self.tables for c in t.cols if c.stamp]

    def unsequenced_tables(self) -> list[Table]:
        return [t for t in self.tables if t.id_kind == "unsequenced"]

    def schema_names(self) -> list[str]:
        """public first (the target_schema), then the second schema if a table lives there."""
        return ["public"] + sorted({t.schema for t in self.tables} - {"public"})

    def summary(self) -> str:
        shapes = [f"{len(self.self_references())} self-references", f"{len(self.forward_fks())} forward fks",
                  f"fk cycle: {self.fk_cycles()}", f"{len(self.uuid_tables())} uuid ids",
                  f"{len(self.keyless_tables())} keyless history",
                  f"{sum(1 for t in self.tables if t.reference())} two-column references",
                  f"{len(self.undeclared_fks())} undeclared fks (NOT NULL cycle: {self.not_null_cycle()})",
                  f"{len(self.partitioned())} partitioned "
                  f"({sum(1 for t in self.partitioned() if t.fks_on_partitions)} with fks on the partitions)",
                  f"{len(self.stamps())} stamp triggers ({sum(1 for _, c in self.stamps() if c.stamp == 'insert')} "
                  f"on insert)", f"{len(self.unsequenced_tables())} ids no sequence feeds",
                  f"schemas {self.schema_names()}"]
        lines = [f"split: both={self.both_share} db1-only-share={self.db1_share} conflicts={self.conflict_rate} "
                 f"id offsets={self.id_offsets}"]
        lines.append(f"shapes: {', '.join(shapes)}")
        for ti, t in enumerate(self.tables):
            cols = []
            for j in t.order:
                if j == -1:
                    cols.append(f"{t.id!r}:{t.id_kind}")
                    continue
                c = t.cols[j]
                desc = c.kind if c.ref is None else f"{c.kind}->{self.tables[c.ref].name!r}"
                if c.via is not None:
                    desc += f"(via {self.tables[c.via].name!r})"
                if c.kind == "fk" and c.ref == ti:
                    desc += "(self)"
                elif c.kind == "fk" and c.ref > ti:
                    desc += "(forward)"
                elif c.kind == "fk" and self.tables[c.ref].id_kind == "uuid":
                    desc += "(uuid)"
                if not c.declared:
                    desc += "(undeclared)"
                if c.stamp:
                    desc += f"(stamped on {c.stamp})"
                cols.append(f"{c.name!r}:{desc}{'' if c.nullable else '!'}{'*' if j in t.key else ''}")
            kind = t.kind + (" keyless (no id, no primary key)" if t.kind == "history" and t.id is None else "")
            kind += "" if t.declared else " key undeclared"
            if t.partitions:
                kind += f" partitioned by hash({t.partition_column()!r}) into {t.partitions}" + (
                    ", fks on the partitions" if t.fks_on_partitions else "")
            lines.append(f"  t{ti} {kind} {t.schema}.{t.name!r} rows={t.rows} key_mod={t.key_mod}: {', '.join(cols)}")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------
# The strategy
# ---------------------------------------------------------------------------------------------------

def _name(draw, used: set[str], base: str, weird_pool: list[str], weird: bool) -> str:
    candidate = base
    if weird and draw(st.booleans()):
        candidate = draw(st.sampled_from(weird_pool))
    if ADVERSARIAL_COLUMN_NAMES and weird_pool is not WEIRD_TABLES and draw(st.integers(0, 3)) == 0:
        candidate = draw(st.sampled_from(ADVERSARIAL_COLUMNS))
    stem = candidate
    candidate, n = _fit(stem), 2
    while candidate in used:
        candidate = _fit(stem, f"_{n}")
        n += 1
    used.add(candidate)
    return candidate


def _fit(stem: str, suffix: str = "") -> str:
    """stem + suffix within PostgreSQL's 63 bytes (it would truncate longer names silently)."""
    room = 63 - len(suffix.encode())
    return stem.encode()[:room].decode(errors="ignore") + suffix


def _key_col(draw, name: str, kind: str) -> Col:
    prefix = ""
    if kind == "text":
        prefix = draw(st.sampled_from(["", "k-", "It's ", 'q"', "ü "]))
    return Col(name, kind, nullable=False, key_prefix=prefix,
               key_step=draw(st.integers(1, 4)), key_offset=draw(st.integers(-50, 50)))


def _drop_cycles_the_tool_cannot_merge(entities: list[Table]) -> None:
    """Drop forward foreign keys until no cycle holds a sub-case switched off: a table with two foreign
    keys to one table of the same cycle, one of them nullable outside the key (CYCLE_PARALLEL_FKS); a
    nullable foreign key outside the key to a table of the same cycle whose key holds a foreign key
    (CYCLE_TO_FK_KEYED_TABLE)."""
    n = len(entities)
    while True:
        reach = [[False] * n for _ in range(n)]  # reach[a][b]: a path of foreign keys leads from a to b
        for a, t in enumerate(entities):
            for c in t.cols:
                if c.kind == "fk" and c.ref != a:
                    reach[a][c.ref] = True
        for k in range(n):
            for a in range(n):
                for b in range(n):
                    reach[a][b] = reach[a][b] or (reach[a][k] and reach[k][b])
        offending = None
        for a, t in enumerate(entities):
            for p in range(n):
                to_p = [j for j, c in enumerate(t.cols) if c.kind == "fk" and c.ref == p != a]
                deferrable = [j for j in to_p if t.cols[j].nullable and j not in t.key]
                if not (deferrable and reach[p][a]):
                    continue
                if not CYCLE_PARALLEL_FKS and len(to_p) > 1:
                    offending = a
                if not CYCLE_TO_FK_KEYED_TABLE and any(entities[p].cols[k].kind == "fk" for k in entities[p].key):
                    offending = a
        if offending is None:
            return
        cycle = [s for s in range(n) if s == offending or (reach[s][offending] and reach[offending][s])]
        s = next(s for s in cycle if any(c.kind == "fk" and c.ref > s for c in entities[s].cols))
        entities[s].cols = [c for c in entities[s].cols if not (c.kind == "fk" and c.ref > s)]  # after the key


def _declare_what_names_do_not_tell(tables: list[Table]) -> None:
    """An undeclared reference whose name, with every name final, does not point at its table (points_at, as
    the draft reads names) is declared: what is drawn is the reference the data shows, not a name puzzle."""
    from pgmerge_assets.catalog.naming import points_at

    with_ids = {(t.schema, t.name): t.name for t in tables if t.id and t.id_kind != "uuid"}
    for t in tables:
        for c in t.cols:
            if c.kind == "fk" and not c.declared:
                ref = tables[c.ref]
                if points_at(c.name, (t.schema, t.name), with_ids) != (ref.schema, ref.name):
                    c.declared = True


@st.composite
def schemas(draw) -> Schema:
    weird = draw(st.booleans())
    n_entity = draw(st.sampled_from([2, 3, 1, 4]))  # most shapes need two entities or more
    n_join = draw(st.integers(0, 2)) if n_entity >= 1 else 0
    n_history = draw(st.integers(0, 2))
    while n_entity + n_join + n_history < 3:
        n_history += 1
    while n_entity + n_join + n_history > 7:
        n_history -= 1
    pool = list(PLAIN_TABLES)
    if weird:
        pool = draw(st.permutations(WEIRD_TABLES))[:4] + pool
    names = []
    used_tables: set[str] = set()
    for k in range(n_entity + n_join + n_history):
        name = pool[k] if weird and k < 4 and draw(st.booleans()) else PLAIN_TABLES[k]
        while name in used_tables:
            name += "_x"
        used_tables.add(name)
        names.append(name)

    tables: list[Table] = []
    plain_cols = lambda: draw(st.permutations(PLAIN_COLUMNS))  # noqa: E731

    stamping = STAMP_TRIGGERS and draw(OFTEN)

    def stamp(t: Table, used: set[str]) -> None:
        """Maybe an update stamp set by a trigger (names the draft reads as update stamps, not event times)."""
        if stamping and draw(st.booleans()):
            name = draw(st.sampled_from([n for n in STAMP_NAMES if n not in used]))
            used.add(name)
            t.cols.append(Col(name, "timestamp", nullable=False, stamp=draw(st.sampled_from(["insert", "update"]))))

    def partition(t: Table) -> None:
        if PARTITIONS and draw(st.integers(0, 2)) == 0:
            t.partitions = draw(st.integers(2, 3))
            t.fks_on_partitions = draw(OFTEN)

    def payload(t: Table, used: set[str], bases: list[str], count: int) -> None:
        for b in bases[:count]:
            t.cols.append(Col(_name(draw, used, b, WEIRD_COLUMNS, weird), draw(st.sampled_from(PAYLOAD_TYPES)),
                              nullable=draw(st.booleans())))

    ancestors: list[set[int]] = []  # per entity: the tables its foreign keys lead to, transitively
    # drawn up front: arrays may point at later entities, and only at those with integer ids
    id_kinds = [draw(st.sampled_from(ENTITY_ID_KINDS)) for _ in range(n_entity)]
    integer_ids = [e for e in range(n_entity) if id_kinds[e] != "uuid"]
    pointed_from: list[list[int]] = [[] for _ in range(n_entity)]  # earlier entities with a forward fk here

    def lineage(t: Table, ti: int) -> set[int]:
        """Backward references only: forward and self references are no merge-order ancestors."""
        out: set[int] = set()
        for c in t.cols:
            if c.kind == "fk" and c.ref < ti:
                out |= {c.ref} | ancestors[c.ref]
        return out

    def arrays(t: Table, used: set[str], count: int, ti: int, own: bool) -> None:
        targets = sorted(e for e in lineage(t, ti) | ({ti} if own else set()) if e in integer_ids)
        candidates = integer_ids if ARRAYS_TO_ANY_TABLE else targets
        for a in range(count if candidates else 0):
            ref = draw(st.sampled_from(candidates))
            t.cols.append(Col(_name(draw, used, f"{'ids' if a == 0 else 'more_ids'}", WEIRD_COLUMNS, weird),
                              "array", nullable=True, ref=ref))

    def id_column(t: Table, used: set[str], kind: str) -> None:
        t.id = "id"
        if weird and draw(st.booleans()):
            t.id = draw(st.sampled_from(WEIRD_IDS))
        used.add(t.id)
        t.id_kind = kind

    def parent(ti: int, t: Table, in_key: bool) -> int:
        """An earlier entity; sometimes one with a forward fk to this one, which closes a cycle (with the
        sub-cases switched off, only where the cycle is kept: see _drop_cycles_the_tool_cannot_merge)."""
        closing = [a for a in pointed_from[ti]
                   if (CYCLE_PARALLEL_FKS or all(c.ref != a for c in t.cols if c.kind == "fk"))
                   and (CYCLE_TO_FK_KEYED_TABLE or not in_key)]
        if closing and draw(st.integers(0, 2)) > 0:
            return draw(st.sampled_from(closing))
        return draw(st.integers(0, ti - 1))

    for ti in range(n_entity):
        t = Table(names[ti], "entity", rows=draw(st.integers(3, 80)))
        used: set[str] = set()
        id_column(t, used, id_kinds[ti])
        bases = plain_cols()
        shapes = ["one", "two"] + (["fk+one", "fk", "fk+fk"] if ti > 0 else [])
        if pointed_from[ti] and not CYCLE_TO_FK_KEYED_TABLE and draw(st.integers(0, 2)) > 0:
            shapes = ["one", "two"]  # a key without foreign keys: the forward fks here may close a cycle
        shape = draw(st.sampled_from(shapes))
        if shape == "one" and UNDECLARED_KEYS and draw(st.integers(0, 2)) == 0:
            t.declared, t.rows = False, max(t.rows, 30)
            name = draw(st.sampled_from([n for n in UNDECLARED_KEY_NAMES if n not in used]))
            used.add(name)
            t.cols.append(_key_col(draw, name, "text"))
            t.key = (0,)
        elif shape in ("one", "two"):
            for b in bases[: 1 if shape == "one" else 2]:
                t.cols.append(_key_col(draw, _name(draw, used, b, WEIRD_COLUMNS, weird), draw(st.sampled_from(KEY_TYPES))))
            t.key = tuple(range(len(t.cols)))
            if shape == "two":
                t.key_mod = draw(st.integers(1, 6))
        else:
            parents = [parent(ti, t, in_key=True) for _ in range(2 if shape == "fk+fk" else 1)]
            for p in parents:
                t.cols.append(Col(_name(draw, used, f"{names[p]}_id", WEIRD_COLUMNS, weird), "fk", nullable=False, ref=p))
            if shape == "fk+one":
                t.cols.append(_key_col(draw, _name(draw, used, bases[0], WEIRD_COLUMNS, weird), draw(st.sampled_from(KEY_TYPES))))
            if draw(st.booleans()):  # key column order: sometimes the plain column first
                t.cols.reverse()
            t.key = tuple(range(len(t.cols)))
            np = [tables[p].rows for p in parents]
            if shape == "fk":
                t.rows = min(t.rows, np[0])
            elif shape == "fk+fk":
                t.rows = min(t.rows, np[0] * np[1])
        # more foreign keys outside the key; at least one where a forward fk points here (it may close a cycle)
        for _ in range(draw(st.integers(1 if pointed_from[ti] else 0, 2)) if ti > 0 else 0):
            p = parent(ti, t, in_key=False)
            nullable = draw(st.booleans())
            if p in pointed_from[ti] and not CYCLE_TO_FK_KEYED_TABLE and any(tables[p].cols[k].kind == "fk"
                                                                               for k in tables[p].key):
                nullable = False  # closes a cycle the generator keeps: not deferrable
            t.cols.append(Col(_name(draw, used, f"{names[p]}_ref", WEIRD_COLUMNS, weird), "fk", nullable=nullable, ref=p))
        if SELF_REFERENCES and draw(st.integers(0, 3)) == 0:  # rows point at random rows of the same table
            t.cols.append(Col(_name(draw, used, "parent_ref", WEIRD_COLUMNS, weird), "fk", nullable=True, ref=ti))
        if FK_CYCLES and ti < n_entity - 1 and draw(st.integers(0, 3)) > 0:
            p = draw(st.integers(ti + 1, n_entity - 1))
            undeclared = f"{draw(st.sampled_from(['', 'manager_']))}{names[p]}_id"
            if (UNDECLARED_CYCLES and id_kinds[p] != "uuid" and undeclared not in used
                    and _fit(undeclared) == undeclared and draw(st.booleans())):
                used.add(undeclared)  # NOT NULL and no constraint: the film-rental store.manager_staff_id
                t.cols.append(Col(undeclared, "fk", nullable=False, ref=p, declared=False))
            else:
                t.cols.append(Col(_name(draw, used, f"{names[p]}_ref", WEIRD_COLUMNS, weird), "fk", nullable=True,
                                  ref=p))
            pointed_from[p].append(ti)
        payload(t, used, bases[2:], draw(st.sampled_from([1, 2, 3, 0])))
        stamp(t, used)
        arrays(t, used, draw(st.integers(0, 2)) if draw(st.booleans()) else 0, ti, own=True)
        if not t.declared:  # no unique key but the id: it can be partitioned by its id
            partition(t)
        ancestors.append(lineage(t, ti))
        tables.append(t)

    _drop_cycles_the_tool_cannot_merge(tables)

    for k in range(n_join):
        t = Table(names[n_entity + k], "join", rows=draw(st.integers(0, 120)))
        used = set()
        a = draw(st.integers(0, n_entity - 1))
        b = draw(st.integers(0, n_entity - 1))
        t.cols.append(Col(_name(draw, used, f"{names[a]}_id", WEIRD_COLUMNS, weird), "fk", nullable=False, ref=a))
        t.cols.append(Col(_name(draw, used, f"{names[b]}_id", WEIRD_COLUMNS, weird), "fk", nullable=False, ref=b))
        t.key = (0, 1)
        payload(t, used, plain_cols(), draw(st.integers(0, 1)))
        stamp(t, used)
        partition(t)
        tables.append(t)

    for k in range(n_history):
        t = Table(names[n_entity + n_join + k], "history", rows=draw(st.integers(0, 120)))
        used = set()
        keyless = KEYLESS_TABLES and draw(OFTEN)  # no id, no primary key
        if not keyless:
            id_column(t, used, draw(st.sampled_from(ID_KINDS)))
        p = draw(st.integers(0, n_entity - 1))
        t.cols.append(Col(_name(draw, used, f"{names[p]}_id", WEIRD_COLUMNS, weird), "fk", nullable=False, ref=p))
        if draw(st.booleans()):
            q = draw(st.integers(0, n_entity - 1))
            t.cols.append(Col(_name(draw, used, f"{names[q]}_ref", WEIRD_COLUMNS, weird), "fk", nullable=True, ref=q))
        joins = [j for j in range(n_entity, n_entity + n_join)]
        if COMPOSITE_REFERENCES and joins and draw(OFTEN):
            jt = draw(st.sampled_from(joins))
            nullable = tables[jt].rows == 0 or draw(st.booleans())  # an empty join table has nothing to name
            for pos in (0, 1):
                e = tables[jt].cols[pos].ref
                t.cols.append(Col(_name(draw, used, f"{names[e]}_via", WEIRD_COLUMNS, weird), "fk",
                                  nullable=nullable, ref=e, via=jt, via_pos=pos))
        payload(t, used, plain_cols(), draw(st.integers(1, 3)))
        if HISTORY_TIMESTAMPS:
            t.cols.append(Col(_name(draw, used, "at", WEIRD_COLUMNS, weird), "timestamp", nullable=False))
        stamp(t, used)
        arrays(t, used, 0 if keyless else draw(st.integers(0, 1)), n_entity + n_join + k, own=False)
        partition(t)
        tables.append(t)

    if SEVERAL_SCHEMAS and draw(OFTEN):
        second = draw(st.sampled_from(SECOND_SCHEMAS))
        for t in tables:
            if draw(st.integers(0, 2)) == 0:
                t.schema = second
        for t in tables:  # sometimes named like a table of public: the draft then qualifies it
            taken = {u.name for u in tables if u.schema == second}
            twins = [u.name for u in tables if u.schema == "public" and u.name not in taken]
            if t.schema == second and twins and draw(st.integers(0, 2)) == 0:
                t.name = draw(st.sampled_from(twins))

    _declare_what_names_do_not_tell(tables)

    for t in tables:
        order = ([-1] if t.id else []) + list(range(len(t.cols)))
        t.order = draw(st.permutations(order)) if draw(st.booleans()) else order

    return Schema(
        tables=tables,
        both_share=draw(st.sampled_from([0.5, 0.3, 0.8, 1.0, 0.0])),  # first = what shrinking keeps
        db1_share=draw(st.sampled_from([0.5, 0.3, 1.0, 0.0])),
        conflict_rate=draw(st.sampled_from([0.5, 0.3, 1.0, 0.0])),
        id_offsets=(draw(st.sampled_from([0, 0, 7, 1000])), draw(st.sampled_from([0, 0, 3, 1000]))),
    )


# ---------------------------------------------------------------------------------------------------
# DDL
# ---------------------------------------------------------------------------------------------------

def _pub(t: Table) -> sql.Identifier:
    return sql.Identifier(t.schema, t.name)


def col_type(schema: Schema, c: Col) -> str:
    """A column's SQL type in db1/db2: a foreign key has its parent's id type."""
    if c.kind == "fk" and schema.tables[c.ref].id_kind == "uuid":
        return "uuid"
    return SQL_TYPES[c.kind]


def ddl(schema: Schema) -> list[sql.Composed]:
    """CREATE SCHEMA and CREATE TABLE statements without foreign keys (see `foreign_keys`)."""
    out = [sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(s)) for s in schema.schema_names() if s != "public"]
    for t in schema.tables:
        items = []
        for j in t.order:
            if j == -1:
                items.append(sql.SQL("{} " + ID_TYPES[t.id_kind] + " PRIMARY KEY").format(sql.Identifier(t.id)))
                continue
            c = t.cols[j]
            items.append(sql.SQL("{} " + col_type(schema, c) + ("" if c.nullable else " NOT NULL")).format(
                sql.Identifier(c.name)))
        keys = sql.SQL(", ").join(sql.Identifier(n) for n in t.key_names())
        if t.kind == "entity" and t.declared:
            items.append(sql.SQL("UNIQUE ({})").format(keys))
        elif t.kind == "join":
            items.append(sql.SQL("PRIMARY KEY ({})").format(keys))
        partitioned = (sql.SQL(" PARTITION BY HASH ({})").format(sql.Identifier(t.partition_column()))
                       if t.partitions else sql.SQL(""))
        out.append(sql.SQL("CREATE TABLE {} ({}){}").format(_pub(t), sql.SQL(", ").join(items), partitioned))
        for i, part in enumerate(t.partition_names()):
            out.append(sql.SQL("CREATE TABLE {} PARTITION OF {} FOR VALUES WITH (MODULUS {}, REMAINDER {})").format(
                sql.Identifier(t.schema, part), _pub(t), sql.Literal(t.partitions), sql.Literal(i)))
    return out


def foreign_keys(schema: Schema) -> list[sql.Composed]:
    """ALTER TABLE ... ADD FOREIGN KEY for every foreign key a constraint declares, run after the data is in (as
    pg_dump does); on each partition instead of the parent where the table says so."""
    out = []
    for t in schema.tables:
        owners = ([sql.Identifier(t.schema, part) for part in t.partition_names()] if t.fks_on_partitions
                  else [_pub(t)])
        for c in t.cols:
            if c.kind == "fk" and c.via is None and c.declared:
                out += [sql.SQL("ALTER TABLE {} ADD FOREIGN KEY ({}) REFERENCES {} ({})").format(
                    owner, sql.Identifier(c.name), _pub(schema.tables[c.ref]), sql.Identifier(schema.tables[c.ref].id))
                    for owner in owners]
        if t.reference():
            cols, jt = t.reference()
            out += [sql.SQL("ALTER TABLE {} ADD FOREIGN KEY ({}) REFERENCES {} ({})").format(
                owner, sql.SQL(", ").join(sql.Identifier(t.cols[j].name) for j in cols), _pub(schema.tables[jt]),
                sql.SQL(", ").join(sql.Identifier(n) for n in schema.tables[jt].key_names())) for owner in owners]
    return out


STAMP_FUNCTION = sql.SQL(
    "CREATE FUNCTION public.pgmerge_test_stamp() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN NEW := jsonb_populate_record(NEW, jsonb_build_object(TG_ARGV[0], now())); RETURN NEW; END $$")


def triggers(schema: Schema) -> list[sql.Composed]:
    """The stamp triggers (one function, the column as its argument), created after the data as pg_dump does."""
    stamps = schema.stamps()
    out = [STAMP_FUNCTION] if stamps else []
    for t, c in stamps:
        out.append(sql.SQL("CREATE TRIGGER {} BEFORE {} ON {} FOR EACH ROW EXECUTE FUNCTION public.pgmerge_test_stamp({})")
                   .format(sql.Identifier(f"stamp_{c.name}"),
                           sql.SQL("INSERT OR UPDATE" if c.stamp == "insert" else "UPDATE"), _pub(t),
                           sql.Literal(c.name)))
    return out


# ---------------------------------------------------------------------------------------------------
# Origin data and the split (all in the origin database; generic names o.t<i>.c<j>)
# ---------------------------------------------------------------------------------------------------

def _o(ti: int, schema: str = "o") -> sql.Identifier:
    return sql.Identifier(schema, f"t{ti}")


def _c(j: int) -> sql.Identifier:
    return sql.Identifier(f"c{j}")


def _h(tag: str, i: sql.Composable) -> sql.Composed:
    """A pseudo-random float in [0, 1) from the seed (baked into o.h), a tag and a row number."""
    return sql.SQL("o.h({}, {})").format(sql.Literal(tag), i)


def _key_value(c: Col, x: sql.Composable) -> sql.Composed:
    if c.kind == "text":
        return sql.SQL("{} || ({})::text").format(sql.Literal(c.key_prefix), x)
    if c.kind == "int":
        return sql.SQL("(({}) * {} + {})::integer").format(x, sql.Literal(c.key_step), sql.Literal(c.key_offset))
    return sql.SQL("date '2000-01-01' + (({}) * {})::integer").format(x, sql.Literal(c.key_step))


def _payload_value(kind: str, h: sql.Composable) -> sql.Composed:
    return {
        "text": sql.SQL("CASE WHEN {h} < 0.05 THEN '' WHEN {h} < 0.1 THEN 'it''s \"q\" \\ x' "
                        "ELSE 'v' || floor({h} * 7)::int END"),
        "int": sql.SQL("floor({h} * 9)::integer - 4"),
        "date": sql.SQL("date '2020-02-28' + floor({h} * 5)::integer"),
        "boolean": sql.SQL("{h} < 0.5"),
        "numeric": sql.SQL("round(({h} * 10)::numeric, 1)"),
        "timestamp": sql.SQL("timestamptz '2024-01-01 00:00+00' + floor({h} * 1e7)::integer * interval '1 second'"),
    }[kind].format(h=h)


def _altered(kind: str, v: sql.Composable) -> sql.Composed:
    """db2's value of a conflicting payload column: always different from db1's."""
    return {
        "text": sql.SQL("coalesce({v}, '') || '~2'"),
        "int": sql.SQL("coalesce({v}, 0) + 1"),
        "date": sql.SQL("coalesce({v}, date '1999-01-01') + 1"),
        "boolean": sql.SQL("NOT coalesce({v}, false)"),
        "numeric": sql.SQL("coalesce({v}, 0) + 0.5"),
        "timestamp": sql.SQL("coalesce({v}, timestamptz '1999-01-01 00:00+00') + interval '1 day'"),
    }[kind].format(v=v)


def _origin_insert(schema: Schema, ti: int) -> sql.Composed:
    t = schema.tables[ti]
    i = sql.SQL("g.i")
    x = sql.SQL("(g.i - 1)")
    values = []
    key_fks = [j for j in t.key if t.cols[j].kind == "fk"]
    key_plain = [j for j in t.key if t.cols[j].kind != "fk"]
    for j, c in enumerate(t.cols):
        tag = f"t{ti}c{j}"
        h = _h(tag, i)
        if t.kind == "entity" and j in t.key:
            if c.kind == "fk":
                nps = [schema.tables[t.cols[k].ref].rows for k in key_fks]
                pos = key_fks.index(j)
                if len(key_fks) == 1 and not key_plain:  # one-to-one: a permutation of the parents
                    v = sql.SQL("(SELECT r FROM (SELECT r, row_number() OVER (ORDER BY md5({} || r)) AS q "
                                "FROM generate_series(1, {}) r) z WHERE z.q = g.i)").format(
                        sql.Literal(tag), sql.Literal(nps[0]))
                elif pos == 0:
                    v = sql.SQL("1 + {} % {}").format(x, sql.Literal(nps[0]))
                else:
                    v = sql.SQL("1 + ({} / {}) % {}").format(x, sql.Literal(nps[0]), sql.Literal(nps[1]))
            elif key_fks:  # fk + plain: plain part counts the rows per parent
                v = _key_value(c, sql.SQL("{} / {}").format(x, sql.Literal(schema.tables[t.cols[key_fks[0]].ref].rows)))
            elif len(key_plain) == 2:
                part = sql.SQL("{} % {}") if key_plain.index(j) == 0 else sql.SQL("{} / {}")
                v = _key_value(c, part.format(x, sql.Literal(t.key_mod)))
            else:
                v = _key_value(c, x)
        elif c.via is not None:  # both columns from one random row of the join table
            pick = sql.SQL("1 + floor({} * (SELECT count(*) FROM {}))::bigint").format(_h(f"t{ti}via", i), _o(c.via))
            v = sql.SQL("(SELECT x.{} FROM {} x WHERE x._oid = {})").format(_c(c.via_pos), _o(c.via), pick)
            if c.nullable:
                v = sql.SQL("CASE WHEN {} < 0.2 THEN NULL ELSE {} END").format(_h(f"t{ti}vian", i), v)
        elif c.kind == "fk":
            n = schema.tables[c.ref].rows
            v = sql.SQL("1 + floor({} * {})::bigint").format(h, sql.Literal(n))
            if c.nullable:
                v = sql.SQL("CASE WHEN {} < 0.2 THEN NULL ELSE {} END").format(_h(tag + "n", i), v)
        elif c.kind == "array":
            n = schema.tables[c.ref].rows
            v = sql.SQL(
                "CASE WHEN {h} < 0.15 THEN NULL WHEN {h} < 0.3 THEN '{{}}'::bigint[] ELSE "
                "ARRAY(SELECT CASE WHEN o.h({tag} || 'e', g.i * 10 + e) < 0.12 THEN NULL "
                "ELSE 1 + floor(o.h({tag} || 'v', g.i * 10 + e) * {n})::bigint END "
                "FROM generate_series(1, 1 + floor({h} * 5)::int) e ORDER BY e) END").format(
                h=h, tag=sql.Literal(tag), n=sql.Literal(n))
        else:
            v = _payload_value(c.kind, h)
            if c.nullable:
                v = sql.SQL("CASE WHEN {} < 0.15 THEN NULL ELSE {} END").format(_h(tag + "n", i), v)
        values.append(v)
    cols = sql.SQL(", ").join(_c(j) for j in range(len(t.cols)))
    body = sql.SQL(", ").join(values)
    if t.kind == "join":  # random pairs, duplicates dropped
        return sql.SQL("INSERT INTO {o} (_oid, {cols}) SELECT row_number() OVER (ORDER BY min(s.i)), {c0}, {c1}{rest} "
                       "FROM (SELECT g.i, {body} FROM generate_series(1, {n}) g(i)) s({allcols}) "
                       "GROUP BY {c0}, {c1}").format(
            o=_o(ti), cols=cols, c0=_c(0), c1=_c(1), body=body, n=sql.Literal(t.rows),
            rest=sql.SQL("").join(sql.SQL(", min({})").format(_c(j)) if t.cols[j].kind != "boolean"
                                  else sql.SQL(", bool_or({})").format(_c(j)) for j in range(2, len(t.cols))),
            allcols=sql.SQL(", ").join([sql.Identifier("i"), *(_c(j) for j in range(len(t.cols)))]))
    return sql.SQL("INSERT INTO {} (_oid, {}) SELECT g.i, {} FROM generate_series(1, {}) g(i)").format(
        _o(ti), cols, body, sql.Literal(t.rows))


def _placement(schema: Schema, ti: int) -> list[sql.Composed]:
    """_p is a bit mask: 1 = in db1, 2 = in db2. NOT NULL references restrict it to the parents' databases."""
    t = schema.tables[ti]
    mask = sql.SQL("3")
    for j, c in enumerate(t.cols):
        if c.kind == "fk" and not c.nullable and c.ref < ti:  # forward ones: _place_forward_references
            mask = sql.SQL("{} & (SELECT p._p FROM {} p WHERE p._oid = t.{})").format(mask, _o(c.ref), _c(j))
    if t.reference() and not t.cols[t.reference()[0][0]].nullable:  # where the join row is
        mask = sql.SQL("{} & ({})").format(mask, _join_row(t, "_p"))
    h = _h(f"t{ti}place", sql.SQL("t._oid"))
    h2 = _h(f"t{ti}side", sql.SQL("t._oid"))
    if t.kind == "history":
        choice = sql.SQL("CASE WHEN {} < {} THEN 1 ELSE 2 END").format(h2, sql.Literal(schema.db1_share))
    else:
        choice = sql.SQL("CASE WHEN {} < {} THEN 3 WHEN {} < {} THEN 1 ELSE 2 END").format(
            h, sql.Literal(schema.both_share), h2, sql.Literal(schema.db1_share))
    return [
        sql.SQL("UPDATE {} t SET _p = {}, _c = {} < {}").format(
            _o(ti), mask, _h(f"t{ti}conflict", sql.SQL("t._oid")), sql.Literal(schema.conflict_rate)),
        sql.SQL("UPDATE {} t SET _p = {} WHERE _p = 3").format(_o(ti), choice),
    ]


def _place_forward_references(origin: psycopg.Connection, schema: Schema, n_entity: int) -> None:
    """A NOT NULL foreign key to a later entity (placed after this one) points at a row of it living in every
    database this row does (else in some of them, and this row then lives only there); every entity's placement
    is narrowed to its NOT NULL parents'; and again, until nothing changes (a row may end in neither database).
    Re-pointing before narrowing keeps a cycle of NOT NULL references from emptying its tables."""
    forward = [(ti, j, c) for ti in range(n_entity) for j, c in enumerate(schema.tables[ti].cols)
               if c.kind == "fk" and not c.nullable and c.ref > ti]
    if not forward:
        return
    pick = sql.SQL("(SELECT b._oid FROM {p} b WHERE {cond} ORDER BY md5({tag} || t._oid || ':' || b._oid) LIMIT 1)")
    while True:
        changed = 0
        for ti, j, c in forward:
            tag = sql.Literal(f"t{ti}c{j}fit")
            changed += origin.execute(sql.SQL(
                "UPDATE {t} t SET {c} = coalesce({fits}, {some}, t.{c}) "
                "WHERE coalesce((SELECT b._p FROM {p} b WHERE b._oid = t.{c}), 0) & t._p <> t._p").format(
                t=_o(ti), c=_c(j), p=_o(c.ref),
                fits=pick.format(p=_o(c.ref), cond=sql.SQL("b._p & t._p = t._p"), tag=tag),
                some=pick.format(p=_o(c.ref), cond=sql.SQL("b._p & t._p <> 0"), tag=tag))).rowcount
        for ti in range(n_entity):
            mask = sql.SQL("t._p")
            for j, c in enumerate(schema.tables[ti].cols):
                if c.kind == "fk" and not c.nullable:
                    mask = sql.SQL("{} & coalesce((SELECT p._p FROM {} p WHERE p._oid = t.{}), 0)").format(
                        mask, _o(c.ref), _c(j))
            changed += origin.execute(sql.SQL("UPDATE {t} t SET _p = {m} WHERE _p <> {m}").format(
                t=_o(ti), m=mask)).rowcount
        if not changed:
            return


def _join_row(t: Table, what: str) -> sql.Composed:
    """`what` of the join-table row a two-column reference names."""
    cols, jt = t.reference()
    return sql.SQL("SELECT x.{} FROM {} x WHERE x.c0 = t.{} AND x.c1 = t.{}").format(
        sql.Identifier(what), _o(jt), _c(cols[0]), _c(cols[1]))


def _translate_fk(t: Table, c: Col, j: int, d: str, k: int) -> sql.Composed:
    """A nullable two-column reference is NULL where its join row is not in this database."""
    v = sql.SQL("(SELECT m.id FROM {} m WHERE m._oid = t.{})").format(sql.Identifier(d, f"m{c.ref}"), _c(j))
    if c.via is not None and c.nullable:
        v = sql.SQL("CASE WHEN ({}) & {} <> 0 THEN {} END").format(_join_row(t, "_p"), sql.Literal(k), v)
    return v


def _translate_array(c: Col, j: int, d: str) -> sql.Composed:
    """Elements naming records absent from this database are dropped; NULL elements stay."""
    return sql.SQL("CASE WHEN t.{c} IS NULL THEN NULL ELSE ARRAY(SELECT m.id FROM unnest(t.{c}) WITH ORDINALITY u(e, o) "
                   "LEFT JOIN {m} m ON m._oid = u.e WHERE u.e IS NULL OR m._oid IS NOT NULL ORDER BY u.o) END").format(
        c=_c(j), m=sql.Identifier(d, f"m{c.ref}"))


def build_split(origin: psycopg.Connection, schema: Schema, seed: int) -> None:
    """Origin records, their placement, and per database k the schema d<k> holding its renumbered rows."""
    body = ("SELECT ('x' || substr(md5('" + str(int(seed)) + ":' || tag || ':' || i), 1, 12))::bit(48)::bigint"
            "::float8 / 281474976710656.0")
    origin.execute("CREATE SCHEMA o")
    origin.execute(sql.SQL("CREATE FUNCTION o.h(tag text, i bigint) RETURNS float8 LANGUAGE sql IMMUTABLE AS {}")
                   .format(sql.Literal(body)))
    for ti, t in enumerate(schema.tables):
        cols = [sql.SQL("{} " + SQL_TYPES[c.kind]).format(_c(j)) for j, c in enumerate(t.cols)]
        origin.execute(sql.SQL("CREATE TABLE {} (_oid bigint PRIMARY KEY, _p int NOT NULL DEFAULT 3, "
                               "_c bool NOT NULL DEFAULT false, {})").format(_o(ti), sql.SQL(", ").join(cols)))
        origin.execute(_origin_insert(schema, ti))
        for statement in _placement(schema, ti):
            origin.execute(statement)
        if t.kind == "entity" and (ti + 1 == len(schema.tables) or schema.tables[ti + 1].kind != "entity"):
            _place_forward_references(origin, schema, ti + 1)
    for k in (1, 2):
        d = f"d{k}"
        origin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(d)))
        for ti, t in enumerate(schema.tables):
            if t.id:
                salt = sql.Literal(f"{seed}:{k}:{ti}:")
                if t.id_kind == "uuid":  # distinct per database: a shared record has two different uuids
                    new_id = sql.SQL("md5({} || _oid)::uuid").format(salt)
                else:
                    new_id = sql.SQL("{} + row_number() OVER (ORDER BY md5({} || _oid))").format(
                        sql.Literal(schema.id_offsets[k - 1]), salt)
                origin.execute(sql.SQL("CREATE TABLE {} AS SELECT _oid, {} AS id FROM {} WHERE _p & {} <> 0").format(
                    sql.Identifier(d, f"m{ti}"), new_id, _o(ti), sql.Literal(k)))
        for ti, t in enumerate(schema.tables):
            values = [sql.SQL("m.id") if t.id else sql.SQL("NULL::bigint")]
            for j, c in enumerate(t.cols):
                if c.kind == "fk":
                    v = _translate_fk(t, c, j, d, k)
                elif c.kind == "array":
                    v = _translate_array(c, j, d)
                    if k == 2:  # db2's copy of a conflicting shared record: elements reversed
                        v = sql.SQL("CASE WHEN t._p = 3 AND t._c THEN ARRAY(SELECT x FROM unnest({v}) WITH ORDINALITY "
                                    "r(x, o) ORDER BY r.o DESC) ELSE {v} END").format(v=v)
                else:
                    v = sql.SQL("t.{}").format(_c(j))
                    if k == 2 and not (t.kind != "history" and j in t.key):
                        flip = _h(f"t{ti}c{j}flip", sql.SQL("t._oid"))
                        v = sql.SQL("CASE WHEN t._p = 3 AND t._c AND {} < 0.7 THEN {} ELSE {} END").format(
                            flip, _altered(c.kind, v), v)
                values.append(v)
            join = (sql.SQL("JOIN {} m ON m._oid = t._oid").format(sql.Identifier(d, f"m{ti}")) if t.id
                    else sql.SQL(""))
            origin.execute(sql.SQL("CREATE TABLE {} AS SELECT t._oid, {} FROM {} t {} WHERE t._p & {} <> 0").format(
                _o(ti, d), sql.SQL(", ").join(sql.SQL("{} AS {}").format(v, sql.Identifier(n))
                                              for v, n in zip(values, ["id", *(f"c{j}" for j in range(len(t.cols)))])),
                _o(ti), join, sql.Literal(k)))


def load_database(origin: psycopg.Connection, target: psycopg.Connection, schema: Schema, k: int) -> None:
    """Create the tables in `target`, copy database k's rows in, then add the foreign keys (a forward
    foreign key would reject rows copied in table order) and the triggers; sequences past max(id)."""
    for statement in ddl(schema):
        target.execute(statement)
    for ti, t in enumerate(schema.tables):
        src = sql.SQL(", ").join(sql.Identifier("id") if j == -1 else _c(j) for j in t.order)
        dst = sql.SQL(", ").join(sql.Identifier(n) for n in t.col_names())
        with origin.cursor().copy(sql.SQL("COPY (SELECT {} FROM {} ORDER BY _oid) TO STDOUT (FORMAT binary)").format(
                src, _o(ti, f"d{k}"))) as out, \
                target.cursor().copy(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary)").format(_pub(t), dst)) as into:
            for block in out:
                into.write(block)
        if t.id and t.id_kind in SEQUENCED:
            qualified = sql.Literal(_pub(t).as_string(target))
            target.execute(sql.SQL("SELECT setval(pg_get_serial_sequence({q}, {c}), coalesce(max({id}), 0) + 1, false) "
                                   "FROM {t}").format(q=qualified, c=sql.Literal(t.id), id=sql.Identifier(t.id), t=_pub(t)))
    for statement in foreign_keys(schema) + triggers(schema):
        target.execute(statement)


# ---------------------------------------------------------------------------------------------------
# The oracle: id-free canonical form, from the model alone
# ---------------------------------------------------------------------------------------------------

class _Canon:
    def __init__(self, schema: Schema, stamped_since: sql.Composable | None = None):
        self.schema = schema
        self.n = 0
        self.since = stamped_since  # a column stamped on insert shows "<stamped>" where it is at least this

    def alias(self) -> str:
        self.n += 1
        return f"a{self.n}"

    def ref(self, c: Col, value: sql.Composable) -> sql.Composed:
        """The natural key of the row of table c.ref whose id is `value`; '<dangling>' if none."""
        parent = self.schema.tables[c.ref]
        a = self.alias()
        return sql.SQL("CASE WHEN {v} IS NULL THEN NULL ELSE coalesce((SELECT {k} FROM {t} {a} WHERE {a}.{id} = {v}), "
                       "'\"<dangling>\"'::jsonb) END").format(
            v=value, k=self.key(parent, a), t=_pub(parent), a=sql.Identifier(a), id=sql.Identifier(parent.id))

    def value(self, t: Table, j: int, alias: str) -> sql.Composed:
        c = t.cols[j]
        col = sql.SQL("{}.{}").format(sql.Identifier(alias), sql.Identifier(c.name))
        if c.kind == "fk":
            return self.ref(c, col)
        if c.kind == "array":
            return sql.SQL("CASE WHEN {col} IS NULL THEN NULL ELSE (SELECT coalesce(jsonb_agg({e} ORDER BY u.o), '[]') "
                           "FROM unnest({col}) WITH ORDINALITY u(e, o)) END").format(
                col=col, e=self.ref(c, sql.SQL("u.e")))
        if c.stamp == "insert" and self.since is not None:
            return sql.SQL("CASE WHEN {} >= {} THEN '\"<stamped>\"'::jsonb ELSE to_jsonb({}) END").format(
                col, self.since, col)
        return sql.SQL("to_jsonb({})").format(col)

    def key(self, t: Table, alias: str) -> sql.Composed:
        return sql.SQL("jsonb_build_array({})").format(sql.SQL(", ").join(self.value(t, j, alias) for j in t.key))

    def row(self, t: Table, alias: str) -> sql.Composed:
        return sql.SQL("jsonb_build_array({})").format(
            sql.SQL(", ").join(self.value(t, j, alias) for j in range(len(t.cols))))


def canonical(conn: psycopg.Connection, schema: Schema, stamped_since: sql.Composable | None = None
              ) -> dict[tuple[str, str], list[tuple[str | None, str]]]:
    """Per (schema, table), sorted (natural key, row) pairs as jsonb text; the key is None for history rows.
    With `stamped_since`, a column a trigger stamps on insert shows "<stamped>" where its value is at least that
    (the merge's own inserts, in the target)."""
    out = {}
    for t in schema.tables:
        c = _Canon(schema, stamped_since)
        key = c.key(t, "a0") if t.kind != "history" else sql.SQL("NULL::jsonb")
        rows = conn.execute(sql.SQL("SELECT ({})::text, ({})::text FROM {} a0").format(key, c.row(t, "a0"), _pub(t))).fetchall()
        out[t.qualified] = sorted(rows, key=lambda r: (r[0] or "", r[1]))
    return out


def as_inserted(conn: psycopg.Connection, schema: Schema) -> dict[tuple[str, str], dict[str, str]]:
    """Per table with a column stamped on insert: each canonical row as the trigger leaves it once the merge
    inserts it ("<stamped>" for the stamp)."""
    out = {}
    for t in schema.tables:
        if any(c.stamp == "insert" for c in t.cols):
            raw, stamped = _Canon(schema), _Canon(schema, sql.SQL("'-infinity'::timestamptz"))
            out[t.qualified] = dict(conn.execute(sql.SQL("SELECT ({})::text, ({})::text FROM {} a0").format(
                raw.row(t, "a0"), stamped.row(t, "a0"), _pub(t))).fetchall())
    return out


def expected_merge(db1: dict, db2: dict, schema: Schema, inserted: dict | None = None
                   ) -> tuple[dict[tuple[str, str], list[str]], dict[tuple[str, str], int]]:
    """db1's rows, db2's rows whose natural key db1 lacks; history rows of both, where a row of db2 whose
    id-free content db1 holds too is that row (a multiset: n copies in db2 and m in db1 give max(n, m),
    the spec's default `duplicates: drop`); and db2's conflicts per table. The rows taken from db2 are as
    the merge's insert leaves them (`inserted`, from as_inserted on db2: stamped by a trigger)."""
    from collections import Counter

    expected, conflicts = {}, {}
    for t in schema.tables:
        rows1, rows2 = db1[t.qualified], db2[t.qualified]
        stamp = (inserted or {}).get(t.qualified, {})
        if t.kind == "history":
            new = Counter(r for _, r in rows2) - Counter(r for _, r in rows1)
            expected[t.qualified] = sorted([r for _, r in rows1] + [stamp.get(r, r) for r in new.elements()])
            conflicts[t.qualified] = 0
            continue
        by_key = {k: r for k, r in rows1}
        assert len(by_key) == len(rows1), f"{t.name}: natural key not unique in db1"
        expected[t.qualified] = sorted([r for _, r in rows1] + [stamp.get(r, r) for k, r in rows2 if k not in by_key])
        conflicts[t.qualified] = sum(1 for k, r in rows2 if k in by_key and by_key[k] != r)
    return expected, conflicts
