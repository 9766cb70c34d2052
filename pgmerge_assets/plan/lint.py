"""Warnings for a spec that will merge wrongly though every check passes (non-blocking checks): a column
kept as plain data that holds another table's ids, history rows the target already holds, and a natural
key whose matches mostly differ. Pure Python: no Dagster, no database."""

from __future__ import annotations

from psycopg import sql

from pgmerge_assets.catalog.naming import points_at
from pgmerge_assets.catalog.spec import MergeSpec, TableSpec
from pgmerge_assets.plan.common import Check, Guard, Names, id_map_key, ident_list, key_complete, merged_key, wrap
from pgmerge_assets.templates import compose

LEAST_MATCHES = 5  # fewer matched rows say nothing of a key
MATCHES_JUDGED = 1000  # a key that pairs unrelated rows shows in any 1,000 of its matches: no need to read all


def plain_columns(t: TableSpec) -> list[str]:
    """Columns kept as they are: not the id, no reference, no id array."""
    mapped = {f.column for f in t.mapped_columns} | {c for r in t.references for c in r.columns}
    return [c for c in t.columns if c != t.id and c not in mapped and c not in {a.column for a in t.arrays}]


def id_like_columns(spec: MergeSpec, t: TableSpec) -> dict[str, str]:
    """Plain columns whose name points at a spec table with an id: column -> that table."""
    with_ids = {name: other.relname for name, other in spec.tables.items() if other.id and other.strategy != "skip"}
    found = {c: points_at(c, t.name, with_ids) for c in plain_columns(t)}
    return {c: ref for c, ref in found.items() if ref}


def _plain_ids(n: Names, t: TableSpec, column: str, ref: str, staging=None) -> sql.Composed:
    """The plain_ids query on dump #2 (staging) and the target; `staging` names other tables for dump #2's."""
    staging = staging or n.staging
    return compose("lint/plain_ids.sql", column_name=sql.Literal(column), ref_name=sql.Literal(ref),
                   column=sql.Identifier(column), staging_table=staging(t.name), public_table=n.public(t.name),
                   staging_ref=staging(ref), public_ref=n.public(ref), ref_id=sql.Identifier(n.spec.tables[ref].id))


def _history_in_target(n: Names, t: TableSpec, step, plain: list[str]) -> Check:
    """Most of a history table's rows in the target already: where its map matched rows by content (duplicates
    dropped), the map's counts say so; otherwise the plain columns are compared."""
    if t.has_map and t.duplicates == "drop":
        return Check("history_rows_in_target", step,
                     "Most rows of dump #2 are rows the target already holds (the id map matched them by content) "
                     "(a warning): shared history is dropped as duplicates, but records (an entity) need a "
                     "natural_key.", wrap(compose("lint/history_matched.sql", map=n.map(t.name))), blocking=False)
    return Check("history_rows_in_target", step,
                 "Most rows of dump #2 equal a target row in every plain column (a warning): shared history is "
                 "dropped as duplicates, but records (an entity) need a natural_key.",
                 wrap(compose("lint/history_like_public.sql", staging_table=n.staging(t.name),
                              public_table=n.public(t.name), staging_content=ident_list(plain, "st"),
                              public_content=ident_list(plain, "p"))), blocking=False)


def _lint(n: Names, t: TableSpec) -> list[Check]:
    step = id_map_key(t.name) if t.has_map else merged_key(t.name)
    checks = []
    id_like = id_like_columns(n.spec, t)
    if id_like:
        checks.append(Check("plain_column_holds_ids", step,
                            "A column the spec keeps as plain data is named after a table and holds only its ids "
                            "(a warning): add it to foreign_keys, or its values will name other rows once merged.",
                            wrap(sql.SQL("\nUNION ALL\n").join(_plain_ids(n, t, c, ref) for c, ref in id_like.items())),
                            blocking=False))
    plain = plain_columns(t)
    if t.strategy == "append" and plain:
        checks.append(_history_in_target(n, t, step, plain))
    compared = [c for c in plain if c not in t.natural_key]
    if t.strategy == "natural_key" and t.has_map and compared:
        checks.append(Check("matches_mostly_differ", step,
                            f"Most rows matched by the natural key ({', '.join(t.natural_key)}) differ from the "
                            f"target's (a warning): a key that pairs unrelated rows, not real conflicts. "
                            f"Judged on {MATCHES_JUDGED:,} matches at most.",
                            wrap(compose("lint/matches_differ.sql", map=n.map(t.name), id=sql.Identifier(t.id),
                                         staging_table=n.staging(t.name), public_table=n.public(t.name),
                                         staging_content=ident_list(compared, "st"),
                                         public_content=ident_list(compared, "p"), least=sql.Literal(LEAST_MATCHES),
                                         judged=sql.Literal(MATCHES_JUDGED))),
                            blocking=False))
    return checks


def plan_lint(spec: MergeSpec) -> list[Check]:
    """The warnings, per merged table."""
    n = Names(spec)
    return [c for t in spec.merged_tables for c in _lint(n, t)]


def plan_database_lint(spec: MergeSpec) -> list[Guard]:
    """`pgmerge plan --dsn`: the warnings one database's own tables can give before any merge (each query
    reads only the spec's tables where they live): plain columns holding ids, natural keys repeated."""
    n = Names(spec)
    out = []
    for t in spec.merged_tables:
        for column, ref in id_like_columns(spec, t).items():
            out.append(Guard(f"table {t.name}: column {column} is plain data in the spec, but its name points at "
                             f"{ref} and every value is a {ref} id: add foreign_keys.{column}: {ref}",
                             wrap(_plain_ids(n, t, column, ref, staging=n.public))))
        if t.strategy == "natural_key":
            out.append(Guard(f"table {t.name}: natural key ({', '.join(t.natural_key)}) is not unique (its rows "
                             f"would all be matched to one row)",
                             wrap(compose("lint/key_repeated.sql", table=n.public(t.name),
                                          key_columns=ident_list(t.natural_key, "t"),
                                          key_complete=key_complete(t, "t")))))
    return out
