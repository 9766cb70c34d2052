"""Dump #2's rows into staging while dump #1 is still being restored into the target.

Why: the staging clone is normally made from the target's tables (`create_staging_schema`), so the load
waits for dump #1's restore, which is one transaction on one core. When dump #2's scratch database (a full
dump) holds every table with built-in column types, staging is made from dump #2's own definitions instead
(`load_early`), loaded at once, and compared with the target's tables once they exist (`fit_staging`):
where every column (name, type, NOT NULL, collation, order) matches, the target's keys and CHECK constraints
are added to it, which also validates the rows against them; anything else — a column that differs, a key
the rows repeat, a CHECK they fail — and staging is cloned from the target and loaded again as before, whose
checks name the table, column and rows. Either way staging ends up the same: nothing of dump #2 reaches the
target but its rows, as the data of pgmerge's COPY.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
from psycopg import sql

from pgmerge_assets.pg.archive_toc import archive_toc_namespaces
from pgmerge_assets.pg.dump_format import DumpError
from pgmerge_assets.pg.ownership import NotOursError
from pgmerge_assets.pg.staging_load import (
    BUILTIN_OID_LIMIT,
    Column,
    Refit,
    Scratch,
    StagedTable,
    StagingError,
    Table,
    check_and_copy,
    empty_staging_schema,
    restore_keys_into_scratch,
    staged_tables,
)
from pgmerge_assets.templates import compose, load


def early_blocker(dump1: Path | None, restores_dump1: bool, staging: str, pg_bin: str | None) -> str | None:
    """Why staging may not be made before dump #1 is restored, if it may not: dump #1's restore would create
    objects in the staging schema (a dump of a database pgmerge merged into), or cannot be read without
    scanning it (a plain dump)."""
    if not restores_dump1:
        return None
    if dump1 is None:
        return "no dump #1"
    namespaces = archive_toc_namespaces(dump1, pg_bin)
    if namespaces is None:
        return "dump #1 is a plain dump, whose schemas are not known before it is restored"
    if staging in namespaces:
        return f"dump #1 holds objects of schema {staging}"
    return None


def load_early(target_dsn: str, tables: list[StagedTable], scratch: Scratch, *, public: str = "public",
               staging: str, skipped=(), pg_bin: str | None = None) -> dict[str, int] | str:
    """Make staging from dump #2's definitions in `scratch` and load its rows: the rows per staging table, or
    why staging is left to be cloned from the target (nothing is raised for what the regular load would
    judge and name)."""
    names = staged_tables(tables, public)
    wanted = {"schemas": [t.schema for t in names], "names": [t.name for t in names]}
    with psycopg.connect(scratch.dsn, autocommit=True) as src:
        rows = src.execute(load("staging/early_columns.sql"), {**wanted, "builtin_limit": BUILTIN_OID_LIMIT}).fetchall()
        defined: dict[tuple[str, str], list] = {}
        for schema, table, relkind, column, column_type, type_oid, not_null, unfit in rows:
            defined.setdefault((schema, table), []).append(
                (column, column_type, type_oid, not_null, unfit or relkind != "r"))
        absent = [str(t) for t in names if t.key not in defined]
        if absent:
            return f"dump #2 has no table {', '.join(absent)}"
        unfit = [f"{t}.{c}" for t in names for c, _, _, _, bad in defined[t.key] if bad]
        if unfit:
            return f"column {unfit[0]} has a type, collation or expression of its own"
        keys: dict[tuple[str, str], list] = {}
        if restore_keys_into_scratch(scratch, pg_bin):  # else the target's are added by fit_staging
            for schema, table, definition in src.execute(load("staging/early_keys.sql"), wanted).fetchall():
                keys.setdefault((schema, table), []).append(definition)
    with psycopg.connect(target_dsn) as conn:
        try:
            empty_staging_schema(conn, staging)
        except (NotOursError, StagingError) as exc:  # said again, and raised, by staging_schema
            conn.rollback()
            return f"the staging schema cannot be recreated: {exc}"
        try:
            _create_typed(conn, names, defined, keys, staging)
        except psycopg.Error as exc:
            conn.rollback()
            return f"staging could not be made from dump #2's definitions ({type(exc).__name__})"
    typed = {t.key: Table(staging, t.clone, "r", tuple(Column(c, column_type, type_oid, False)
                                                       for c, column_type, type_oid, _, _ in defined[t.key]))
             for t in names}
    archive = Path(scratch.path) if scratch.rows_in_archive else None
    try:
        counts, _, _ = check_and_copy(scratch.dsn, target_dsn, names, typed, public, staging, label="dump #2",
                                      skipped=[t.key for t in staged_tables(list(skipped), public)],
                                      pg_bin=pg_bin, archive=archive)
    except (DumpError, Refit, StagingError) as exc:
        return f"left to the regular load, which names what does not fit ({type(exc).__name__})"
    return counts


def _create_typed(conn: psycopg.Connection, names: list[StagedTable], defined: dict, keys: dict, staging: str) -> None:
    """The staging tables as dump #2 defines them: columns, NOT NULL, and its keys where known."""
    for t in names:
        columns = sql.SQL(", ").join(
            sql.SQL("{} {}{}").format(sql.Identifier(c), sql.SQL(column_type),  # a built-in type's name
                                      sql.SQL(" NOT NULL" if not_null else ""))
            for c, column_type, _, not_null, _ in defined[t.key])
        clone = sql.Identifier(staging, t.clone)
        conn.execute(compose("staging/create_typed_table.sql", clone=clone, columns=columns))
        for definition in keys.get(t.key, []):  # dropped before the rows are copied, built after
            conn.execute(compose("staging/add_key.sql", clone=clone, definition=sql.SQL(definition)))


def fit_staging(conn: psycopg.Connection, tables: list[StagedTable], *, public: str = "public",
                staging: str) -> str | None:
    """Make each early-loaded staging table hold the target table's keys and CHECK constraints (dump #2's own
    keys, built with the rows, are kept where the target has them too), if its columns are the target table's:
    None when every table fits (committed), else why not (nothing changed)."""
    names = staged_tables(tables, public)
    changes = []
    for t in names:
        target = sql.Identifier(t.schema, t.name).as_string(conn)
        clone = sql.Identifier(staging, t.clone)
        sides = {side: (columns, generated, unbacked) for side, columns, generated, unbacked in conn.execute(
            load("staging/shape.sql"), {"public": target, "staging": clone.as_string(conn)})}
        columns, generated, unbacked = sides["public"]
        if columns != sides["staging"][0]:
            return f"{t}: dump #2's columns differ from the target's"
        if generated or unbacked:
            return f"{t}: generated columns or unique indexes without a constraint"
        wanted = conn.execute(load("staging/keys.sql"), {"table": target}).fetchall()
        held = conn.execute(load("staging/keys.sql"), {"table": clone.as_string(conn)}).fetchall()
        kept = {(kind, definition) for _, kind, definition in wanted}
        changes += [compose("staging/drop_constraint.sql", clone=clone, constraint=sql.Identifier(name))
                    for name, kind, definition in held if (kind, definition) not in kept]
        present = {(kind, definition) for _, kind, definition in held}
        changes += [compose("staging/add_key.sql", clone=clone, definition=sql.SQL(definition))
                    for _, kind, definition in wanted if (kind, definition) not in present]
    try:
        with conn.transaction():
            for change in changes:
                conn.execute(change)
    except psycopg.Error as exc:  # a key dump #2's rows repeat, a CHECK they fail: named by the regular load
        return f"the target's constraints refuse dump #2's rows ({type(exc).__name__})"
    conn.commit()
    return None
