"""Random schemas of the shapes pgmerge merges today, their data, a split into two diverged databases,
and an id-free canonical form written from the schema model alone (no planner, no proof code).

Used by test_split_remerge.py:

* `schemas()` — a hypothesis strategy drawing a `Schema`: entity tables (surrogate id from bigserial or
  an identity column, a UNIQUE natural key of 1–2 columns that may hold NOT NULL foreign keys, more
  foreign keys nullable or not, payload columns, bigint[] columns holding ids of an entity table);
  join tables (composite primary key of two foreign keys, optional payload); append-only history
  tables (surrogate id, a NOT NULL foreign key, maybe a nullable one, payload, maybe an id array).
* `build_split()` — in an "origin" database: the records, set-based from generate_series with
  md5-driven pseudo-randomness, each placed in db1, db2 or both; then per database the rows that live
  there, renumbered in a per-database order (ids collide), references translated, db2's copies of
  shared records carrying conflicting non-key values; copied with COPY into db1 and db2 (same DDL),
  sequences set past max(id).
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

# Shapes that once broke the tool, kept on since the fixes; PGMERGE_PROPERTY_OFF=NAME,... switches one off.
_OFF = {f.strip().upper() for f in os.environ.get("PGMERGE_PROPERTY_OFF", "").split(",") if f.strip()}

# Natural-key column names equal to names the tool's SQL gives its own columns ("staging_id",
# "public_id", "n"): keys now travel as one row value and check samples are numbered apart.
ADVERSARIAL_COLUMN_NAMES = "ADVERSARIAL_COLUMN_NAMES" not in _OFF

# A table name containing a dot ("Mixed.Case"): spec table names are no longer split at dots.
DOTTED_TABLE_NAMES = "DOTTED_TABLE_NAMES" not in _OFF

# An id array pointing at any table, also one merged later: repaired_arrays/<t>__<c> now waits for
# merged/<ref> as well.
ARRAYS_TO_ANY_TABLE = "ARRAYS_TO_ANY_TABLE" not in _OFF

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
             "fk": "bigint", "array": "bigint[]"}
ID_KINDS = ["bigserial", "identity_by_default", "identity_always"]


@dataclass
class Col:
    name: str
    kind: str  # text | int | date | boolean | numeric | fk | array
    nullable: bool = True
    ref: int | None = None  # fk/array: index of the referenced table
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
    id: str | None = None
    id_kind: str | None = None
    key: tuple[int, ...] = ()  # indexes into cols: natural key (entity) or primary key (join)
    key_mod: int = 1  # two-column keys of plain columns: first = x % key_mod, second = x / key_mod
    order: list[int] = field(default_factory=list)  # DDL column order; -1 is the id

    def col_names(self) -> list[str]:
        return [self.id if j == -1 else self.cols[j].name for j in self.order]

    def key_names(self) -> list[str]:
        return [self.cols[j].name for j in self.key]


@dataclass
class Schema:
    tables: list[Table]  # entities first (FKs point at earlier entities only), then join, then history
    both_share: float  # of records eligible for both databases, the share that goes to both
    db1_share: float  # of the others, the share that goes to db1 only
    conflict_rate: float
    id_offsets: tuple[int, int]  # renumbering starts after these in db1 / db2

    def summary(self) -> str:
        lines = [f"split: both={self.both_share} db1-only-share={self.db1_share} conflicts={self.conflict_rate} "
                 f"id offsets={self.id_offsets}"]
        for ti, t in enumerate(self.tables):
            cols = []
            for j in t.order:
                if j == -1:
                    cols.append(f"{t.id!r}:{t.id_kind}")
                    continue
                c = t.cols[j]
                desc = c.kind if c.ref is None else f"{c.kind}->{self.tables[c.ref].name!r}"
                cols.append(f"{c.name!r}:{desc}{'' if c.nullable else '!'}{'*' if j in t.key else ''}")
            lines.append(f"  t{ti} {t.kind} {t.name!r} rows={t.rows} key_mod={t.key_mod}: {', '.join(cols)}")
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


@st.composite
def schemas(draw) -> Schema:
    weird = draw(st.booleans())
    n_entity = draw(st.integers(1, 4))
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

    def payload(t: Table, used: set[str], bases: list[str], count: int) -> None:
        for b in bases[:count]:
            t.cols.append(Col(_name(draw, used, b, WEIRD_COLUMNS, weird), draw(st.sampled_from(PAYLOAD_TYPES)),
                              nullable=draw(st.booleans())))

    ancestors: list[set[int]] = []  # per entity: the tables its foreign keys lead to, transitively

    def lineage(t: Table) -> set[int]:
        out: set[int] = set()
        for c in t.cols:
            if c.kind == "fk":
                out |= {c.ref} | ancestors[c.ref]
        return out

    def arrays(t: Table, used: set[str], count: int, own: int | None) -> None:
        targets = sorted(lineage(t) | ({own} if own is not None else set()))
        for a in range(count):
            ref = draw(st.integers(0, n_entity - 1)) if ARRAYS_TO_ANY_TABLE else draw(st.sampled_from(targets))
            t.cols.append(Col(_name(draw, used, f"{'ids' if a == 0 else 'more_ids'}", WEIRD_COLUMNS, weird),
                              "array", nullable=True, ref=ref))

    def id_column(t: Table, used: set[str]) -> None:
        t.id = "id"
        if weird and draw(st.booleans()):
            t.id = draw(st.sampled_from(WEIRD_IDS))
        used.add(t.id)
        t.id_kind = draw(st.sampled_from(ID_KINDS))

    for ti in range(n_entity):
        t = Table(names[ti], "entity", rows=draw(st.integers(3, 80)))
        used: set[str] = set()
        id_column(t, used)
        bases = plain_cols()
        shapes = ["one", "two"] + (["fk+one", "fk", "fk+fk"] if ti > 0 else [])
        shape = draw(st.sampled_from(shapes))
        if shape in ("one", "two"):
            for b in bases[: 1 if shape == "one" else 2]:
                t.cols.append(_key_col(draw, _name(draw, used, b, WEIRD_COLUMNS, weird), draw(st.sampled_from(KEY_TYPES))))
            t.key = tuple(range(len(t.cols)))
            if shape == "two":
                t.key_mod = draw(st.integers(1, 6))
        else:
            parents = [draw(st.integers(0, ti - 1)) for _ in range(2 if shape == "fk+fk" else 1)]
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
        # more foreign keys outside the key
        for _ in range(draw(st.integers(0, 2)) if ti > 0 else 0):
            p = draw(st.integers(0, ti - 1))
            t.cols.append(Col(_name(draw, used, f"{names[p]}_ref", WEIRD_COLUMNS, weird), "fk",
                              nullable=draw(st.booleans()), ref=p))
        payload(t, used, bases[2:], draw(st.sampled_from([1, 2, 3, 0])))
        arrays(t, used, draw(st.integers(0, 2)) if draw(st.booleans()) else 0, ti)
        ancestors.append(lineage(t))
        tables.append(t)

    for k in range(n_join):
        t = Table(names[n_entity + k], "join", rows=draw(st.integers(0, 120)))
        used = set()
        a = draw(st.integers(0, n_entity - 1))
        b = draw(st.integers(0, n_entity - 1))
        t.cols.append(Col(_name(draw, used, f"{names[a]}_id", WEIRD_COLUMNS, weird), "fk", nullable=False, ref=a))
        t.cols.append(Col(_name(draw, used, f"{names[b]}_id", WEIRD_COLUMNS, weird), "fk", nullable=False, ref=b))
        t.key = (0, 1)
        payload(t, used, plain_cols(), draw(st.integers(0, 1)))
        tables.append(t)

    for k in range(n_history):
        t = Table(names[n_entity + n_join + k], "history", rows=draw(st.integers(0, 120)))
        used = set()
        id_column(t, used)
        p = draw(st.integers(0, n_entity - 1))
        t.cols.append(Col(_name(draw, used, f"{names[p]}_id", WEIRD_COLUMNS, weird), "fk", nullable=False, ref=p))
        if draw(st.booleans()):
            q = draw(st.integers(0, n_entity - 1))
            t.cols.append(Col(_name(draw, used, f"{names[q]}_ref", WEIRD_COLUMNS, weird), "fk", nullable=True, ref=q))
        payload(t, used, plain_cols(), draw(st.integers(1, 3)))
        arrays(t, used, draw(st.integers(0, 1)), None)
        tables.append(t)

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
    return sql.Identifier("public", t.name)


def ddl(schema: Schema) -> list[sql.Composed]:
    out = []
    for t in schema.tables:
        items = []
        for j in t.order:
            if j == -1:
                idtype = {"bigserial": "bigserial",
                          "identity_by_default": "bigint GENERATED BY DEFAULT AS IDENTITY",
                          "identity_always": "bigint GENERATED ALWAYS AS IDENTITY"}[t.id_kind]
                items.append(sql.SQL("{} " + idtype + " PRIMARY KEY").format(sql.Identifier(t.id)))
                continue
            c = t.cols[j]
            item = sql.SQL("{} " + SQL_TYPES[c.kind] + ("" if c.nullable else " NOT NULL")).format(sql.Identifier(c.name))
            if c.kind == "fk":
                ref = schema.tables[c.ref]
                item = sql.SQL("{} REFERENCES {} ({})").format(item, _pub(ref), sql.Identifier(ref.id))
            items.append(item)
        keys = sql.SQL(", ").join(sql.Identifier(n) for n in t.key_names())
        if t.kind == "entity":
            items.append(sql.SQL("UNIQUE ({})").format(keys))
        elif t.kind == "join":
            items.append(sql.SQL("PRIMARY KEY ({})").format(keys))
        out.append(sql.SQL("CREATE TABLE {} ({})").format(_pub(t), sql.SQL(", ").join(items)))
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
    }[kind].format(h=h)


def _altered(kind: str, v: sql.Composable) -> sql.Composed:
    """db2's value of a conflicting payload column: always different from db1's."""
    return {
        "text": sql.SQL("coalesce({v}, '') || '~2'"),
        "int": sql.SQL("coalesce({v}, 0) + 1"),
        "date": sql.SQL("coalesce({v}, date '1999-01-01') + 1"),
        "boolean": sql.SQL("NOT coalesce({v}, false)"),
        "numeric": sql.SQL("coalesce({v}, 0) + 0.5"),
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
        if c.kind == "fk" and not c.nullable:
            mask = sql.SQL("{} & (SELECT p._p FROM {} p WHERE p._oid = t.{})").format(mask, _o(c.ref), _c(j))
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


def _translate_fk(c: Col, j: int, d: str) -> sql.Composed:
    return sql.SQL("(SELECT m.id FROM {} m WHERE m._oid = t.{})").format(sql.Identifier(d, f"m{c.ref}"), _c(j))


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
    for k in (1, 2):
        d = f"d{k}"
        origin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(d)))
        for ti, t in enumerate(schema.tables):
            if t.id:
                origin.execute(sql.SQL(
                    "CREATE TABLE {} AS SELECT _oid, {} + row_number() OVER (ORDER BY md5({} || _oid)) AS id "
                    "FROM {} WHERE _p & {} <> 0").format(
                    sql.Identifier(d, f"m{ti}"), sql.Literal(schema.id_offsets[k - 1]),
                    sql.Literal(f"{seed}:{k}:{ti}:"), _o(ti), sql.Literal(k)))
        for ti, t in enumerate(schema.tables):
            values = [sql.SQL("m.id") if t.id else sql.SQL("NULL::bigint")]
            for j, c in enumerate(t.cols):
                if c.kind == "fk":
                    v = _translate_fk(c, j, d)
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
    """Create the schema in `target` and copy database k's rows in, parents first; sequences past max(id)."""
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
        if t.id:
            qualified = sql.Literal(_pub(t).as_string(target))
            target.execute(sql.SQL("SELECT setval(pg_get_serial_sequence({q}, {c}), coalesce(max({id}), 0) + 1, false) "
                                   "FROM {t}").format(q=qualified, c=sql.Literal(t.id), id=sql.Identifier(t.id), t=_pub(t)))


# ---------------------------------------------------------------------------------------------------
# The oracle: id-free canonical form, from the model alone
# ---------------------------------------------------------------------------------------------------

class _Canon:
    def __init__(self, schema: Schema):
        self.schema = schema
        self.n = 0

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
        return sql.SQL("to_jsonb({})").format(col)

    def key(self, t: Table, alias: str) -> sql.Composed:
        return sql.SQL("jsonb_build_array({})").format(sql.SQL(", ").join(self.value(t, j, alias) for j in t.key))

    def row(self, t: Table, alias: str) -> sql.Composed:
        return sql.SQL("jsonb_build_array({})").format(
            sql.SQL(", ").join(self.value(t, j, alias) for j in range(len(t.cols))))


def canonical(conn: psycopg.Connection, schema: Schema) -> dict[str, list[tuple[str | None, str]]]:
    """Per table, sorted (natural key, row) pairs as jsonb text; the key is None for history rows."""
    out = {}
    for t in schema.tables:
        c = _Canon(schema)
        key = c.key(t, "a0") if t.kind != "history" else sql.SQL("NULL::jsonb")
        rows = conn.execute(sql.SQL("SELECT ({})::text, ({})::text FROM {} a0").format(key, c.row(t, "a0"), _pub(t))).fetchall()
        out[t.name] = sorted(rows, key=lambda r: (r[0] or "", r[1]))
    return out


def expected_merge(db1: dict, db2: dict, schema: Schema) -> tuple[dict[str, list[str]], dict[str, int]]:
    """db1's rows, db2's rows whose natural key db1 lacks, all history rows; and db2's conflicts per table."""
    expected, conflicts = {}, {}
    for t in schema.tables:
        rows1, rows2 = db1[t.name], db2[t.name]
        if t.kind == "history":
            expected[t.name] = sorted(r for _, r in rows1 + rows2)
            conflicts[t.name] = 0
            continue
        by_key = {k: r for k, r in rows1}
        assert len(by_key) == len(rows1), f"{t.name}: natural key not unique in db1"
        expected[t.name] = sorted([r for _, r in rows1] + [r for k, r in rows2 if k not in by_key])
        conflicts[t.name] = sum(1 for k, r in rows2 if k in by_key and by_key[k] != r)
    return expected, conflicts
