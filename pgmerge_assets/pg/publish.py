"""Run the publish and undo plans: one transaction each, under pgmerge's merge lock, bounded lock waits.
A kill, a timeout or an error at any moment rolls the whole transaction back: the target stays as it was."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

import psycopg
from psycopg import errors, sql

from pgmerge_assets.catalog.spec import MergeSpec, parse_spec
from pgmerge_assets.plan.common import Guard, Names
from pgmerge_assets.plan.publish import (PublishPlan, TargetForeignKey, merged_table, orphan_guard, plan_publish,
                                         replication_role, sequence_set, taken_since_audit)
from pgmerge_assets.pg.fingerprint import staging_fingerprint
from pgmerge_assets.pg.sessions import Connect, join_snapshot
from pgmerge_assets.plan.staging import StagingPlan
from pgmerge_assets.plan.undo import changed_on_delete_guard, dangling_guard, left_to_count, plan_undo
from pgmerge_assets.templates import compose, load


T = TypeVar("T")
U = TypeVar("U")


class PublishError(RuntimeError):
    """Publishing (or undoing) was refused or could not finish; the target is unchanged."""


@dataclass
class Published:
    merge_id: int | None  # None: nothing new to publish
    rows: dict[str, int] = field(default_factory=dict)
    sequences: dict[str, dict] = field(default_factory=dict)
    message: str = ""
    foreign_keys: str = ""  # how the inserted rows' foreign keys were checked


def _state(conn: psycopg.Connection, n: Names) -> dict[str, str]:
    return dict(conn.execute(compose("ledger/state.sql", state=n.state)).fetchall())


def _lock_tables(conn: psycopg.Connection, locks, lock_timeout: float) -> None:
    """Wait at most lock_timeout seconds for each table; a timeout names the table and who holds it."""
    conn.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(f"{int(lock_timeout * 1000)}ms")))
    for label, statement in locks:
        try:
            with conn.transaction():  # a savepoint: a timeout leaves the outer transaction usable to ask who
                conn.execute(statement)
        except errors.LockNotAvailable:
            holders = conn.execute(load("publish/lock_holders.sql"), {"table": label}).fetchall()
            who = "; ".join(f"pid {pid} ({state}: {query[:80]!r})" for pid, state, query in holders) or "a session"
            raise PublishError(f"waited {lock_timeout:g} s for a lock on {label}, held by {who}; nothing was "
                               f"changed (raise --lock-timeout, or end that session)") from None


def _positions(conn: psycopg.Connection, moves) -> dict[str, list]:
    return {m.sequence: list(conn.execute(m.position).fetchone()) for m in moves}


def publish(conn: psycopg.Connection, spec: MergeSpec, lock_timeout: float,
            connect: Connect | None = None) -> Published:
    """Insert the audited pending rows into the target, move its sequences, record the merge in the ledger.
    With `connect`, the inserted rows' foreign keys are judged and dump #2's fingerprint is read on a second
    connection while the rows go in."""
    try:
        return _publish(conn, spec, lock_timeout, connect)
    except errors.UniqueViolation as exc:  # rolled back by now
        raise _unique_collision(conn, spec, exc) from None


def _unique_collision(conn: psycopg.Connection, spec: MergeSpec, exc: errors.UniqueViolation) -> PublishError:
    """A unique constraint of the target refused pending rows: an id or natural key the target took since the
    audit (merge again), or a constraint the spec's natural key does not cover (which columns, how many rows)."""
    d, n = exc.diag, Names(spec)
    t = merged_table(spec, d.schema_name, d.table_name)
    for guard in taken_since_audit(n, t, trust_indexes=False) if t is not None else ():
        count, sample = conn.execute(guard.query).fetchone()
        if count:
            return PublishError(f"{guard.problem}: {count} rows (sample {sample[:5]}; the target's "
                                f"{d.constraint_name} refused them); merge again to rebuild the maps. Nothing was "
                                f"published")
    columns = [c for (c,) in conn.execute(load("publish/index_columns.sql"),
                                          {"schema": d.schema_name, "index": d.constraint_name}).fetchall()]
    count = "some"
    if t is not None and columns and None not in columns:
        equal = sql.SQL(" AND ").join(sql.SQL("t.{c} = p.{c}").format(c=sql.Identifier(c)) for c in columns)
        count = conn.execute(compose("publish/unique_collisions.sql", pending=n.pending(t.name),
                                     public_table=n.public(t.name), equal=equal)).fetchone()[0]
    key = f"; the spec's natural key for it is ({', '.join(t.natural_key)})" if t is not None and t.natural_key else ""
    return PublishError(
        f"{d.schema_name}.{d.table_name}: {count} pending rows repeat ({', '.join(c or '<expression>' for c in columns)}), "
        f"which the target's {d.constraint_name} holds unique ({d.message_detail}){key}. Key the table on those "
        f"columns in the spec so such rows match the target's; nothing was published")


@contextmanager
def _meanwhile(connect: Connect, snapshot: str, work: Callable[[psycopg.Connection], T],
               then: Callable[[psycopg.Connection], U]) -> Iterator[Callable[[], tuple[T, U]]]:
    """Run `work` on a connection of its own, in `snapshot`, and `then` in a transaction of its own that commits,
    while the caller goes on; yields a function that waits for both results. Left early, its query is cancelled."""
    results: list = []
    failed: list[BaseException] = []
    opened: list[psycopg.Connection] = []

    def run() -> None:
        try:
            with connect() as c:
                opened.append(c)
                join_snapshot(c, snapshot)
                seen = work(c)
                c.rollback()
                c.read_only = False
                results.append((seen, then(c)))
                c.commit()
        except BaseException as exc:  # handed to the caller's thread
            failed.append(exc)

    thread = threading.Thread(target=run, name="publish: meanwhile")
    thread.start()

    def outcome() -> tuple[T, U]:
        thread.join()
        if failed:
            raise failed[0]
        return results[0]

    try:
        yield outcome
    finally:
        if thread.is_alive():
            for c in opened:
                c.cancel_safe()
            thread.join()


def _publish(conn: psycopg.Connection, spec: MergeSpec, lock_timeout: float, connect: Connect | None) -> Published:
    n, plan = Names(spec), plan_publish(spec)
    with conn.transaction():
        state = _state(conn, n)
        version = state.get("work_version")
        if version is None:
            raise PublishError("nothing to publish: load dump #2 and build the merge first (staging_data onwards)")
        if state.get("published_version") == version:
            merge = state.get("published_merge")
            return Published(int(merge) if merge else None, message=(
                f"already published as merge {merge}" if merge else "nothing new: already published"))
        audit = conn.execute(compose("ledger/audit_of.sql", audit=n.audit), {"version": int(version)}).fetchone()
        if audit is None:
            raise PublishError("the pending rows have not been audited since they last changed: materialize "
                               "integrity_report (and its checks) first; nothing was published")
        passed, lost, failed = audit
        if not passed:
            raise PublishError(f"the audit failed ({lost} staging rows would be lost; failed checks: "
                               f"{', '.join(failed) or 'none'}); nothing was published")
        _lock_tables(conn, plan.locks, lock_timeout)
        for guard in plan.verify:
            count, sample = conn.execute(guard.query).fetchone()
            if count:
                raise PublishError(f"{guard.problem}: {count} rows (sample {sample[:5]}); merge again to rebuild "
                                   f"the maps. Nothing was published")
        before = _positions(conn, plan.sequences)
        rows: dict[str, int] = {}
        _check_pending_intact(conn, n, plan)
        set_based, foreign_keys = _set_based_foreign_keys(conn, spec, plan)
        by_trigger = [t for t in plan.tables if t not in set_based]
        checked = f"{len(foreign_keys)} foreign keys of {len(set_based)} tables checked by publish for all rows at once"
        if by_trigger:
            checked += f"; PostgreSQL's triggers row by row for {', '.join(by_trigger)}"
        # The keys' parents are tables publish holds locked; where none of them has triggers that could change
        # the rows it inserts, its rows once published are its rows now and its pending rows: the keys can be
        # judged in this transaction's snapshot from before the inserts, on another connection, meanwhile.
        # Dump #2's fingerprint for the ledger is read there too (staging as this transaction sees it), and then
        # the pending rows are copied for undo there, committed apart (this transaction renames the copies).
        parents = {(t.schema, t.relname) for t in spec.merged_tables if t.name in set_based}
        keys_meanwhile = connect is not None and bool(foreign_keys) and all(
            (fk.parent_schema, fk.parent) in parents for fk in foreign_keys)
        guards = [orphan_guard(spec, fk, before_insert=keys_meanwhile) for fk in foreign_keys]
        staging = StagingPlan(spec)

        def beside(c: psycopg.Connection) -> tuple[list, str]:
            return ([c.execute(guard.query).fetchone() for guard in guards] if keys_meanwhile else [],
                    staging_fingerprint(c, staging))

        def copy_kept(c: psycopg.Connection) -> dict[str, int]:
            kept = {}
            for table, statement in plan.copy_kept():
                cursor = c.execute(statement)
                while cursor.nextset():
                    pass
                kept[table] = cursor.rowcount  # CREATE TABLE AS says how many rows it copied
            return kept

        with ExitStack() as judging:
            if connect is not None:
                snapshot = conn.execute(load("report/snapshot_export.sql")).fetchone()[0]
                meanwhile = judging.enter_context(_meanwhile(connect, snapshot, beside, copy_kept))
            for group in plan.groups:
                replica = all(t in set_based for t in group.tables)
                if replica:
                    conn.execute(replication_role("replica"))
                rows.update(zip(group.tables, conn.execute(group.statement).fetchone()))
                if replica:
                    conn.execute(replication_role("origin"))
            (judged, fingerprint), kept = (meanwhile() if connect is not None else
                                           (([], staging_fingerprint(conn, staging)), copy_kept(conn)))
        found = judged if keys_meanwhile else [conn.execute(guard.query).fetchone() for guard in guards]
        for guard, (count, sample) in zip(guards, found):
            if count:
                raise PublishError(f"{guard.problem}: {count} rows (sample {sample[:5]}); were referenced rows "
                                   f"deleted since the audit? Merge again. Nothing was published")
        unequal = [f"{t} ({rows[t]} inserted, {kept.get(t)} copied)" for t in plan.tables if kept.get(t) != rows[t]]
        if unequal:
            raise PublishError(f"the rows kept for undo differ from the rows inserted: {', '.join(unequal)}; "
                               f"nothing was published")
        if not any(rows.values()):
            for statement in plan.drop_kept_copies():
                conn.execute(statement)
            _set_state(conn, n, published_version=version, published_merge=None)
            return Published(None, rows, foreign_keys=checked, message=(
                "nothing new: every row of dump #2 is in the target already; nothing was changed"))
        for move in plan.sequences:
            past = conn.execute(move.past_max).fetchone()
            if past:
                conn.execute(move.set_to(past[0]))
        after = _positions(conn, plan.sequences)
        sequences = {m.sequence: {"schema": m.schema, "name": m.name, "before": before[m.sequence],
                                  "after": after[m.sequence]}
                     for m in plan.sequences if before[m.sequence] != after[m.sequence]}
        merge_id = conn.execute(compose("ledger/record_merge.sql", ledger=n.ledger), {
            "fingerprint": fingerprint, "spec_hash": hashlib.sha256(spec.text.encode()).hexdigest(),
            "spec": spec.text, "rows": json.dumps(rows), "sequences": json.dumps(sequences),
            "started": state.get("started_at"),  # when this merge's dump #2 was loaded
        }).fetchone()[0]
        for statement in plan.keep(merge_id):
            conn.execute(statement)
        _set_state(conn, n, published_version=version, published_merge=str(merge_id))
    return Published(merge_id, rows, sequences, f"published as merge {merge_id}: {sum(rows.values())} rows inserted",
                     checked)


def _set_based_foreign_keys(conn: psycopg.Connection, spec: MergeSpec,
                            plan: PublishPlan) -> tuple[set[str], list[TargetForeignKey]]:
    """The tables whose foreign keys publish checks itself, for all their rows at once, instead of PostgreSQL's
    trigger per inserted row and key (which costs as much as the insert). Holding those triggers back changes
    nothing else only for tables that have no triggers or rules of their users and whose keys reference
    tables publish holds locked (no one can delete a referenced row before commit); and it needs a role that
    may set session_replication_role; a foreign key declared on one partition only, or on a column the
    pending rows do not carry (a generated column), stays with its trigger.
    Other tables are inserted with every trigger firing."""
    tables, labels, triggered, rows, fks = _keys_and_triggers(conn, spec, plan, "root")
    on_partition = {(r[0], r[1]) for r in rows if r[8]}  # keys of one partition: left to their triggers
    locked = {(t.schema, t.relname) for t in tables.values()}
    chosen = {name for name, t in tables.items()
              if labels[name] not in triggered and (t.schema, t.relname) not in on_partition
              and all((fk.parent_schema, fk.parent) in locked and set(fk.columns) <= set(t.columns)
                      for fk in fks if (fk.schema, fk.table) == (t.schema, t.relname))}
    chosen = chosen if chosen and _may_hold_back_triggers(conn) else set()
    where = {(tables[name].schema, tables[name].relname) for name in chosen}
    keys = [fk for fk in fks if (fk.schema, fk.table) in where]
    return chosen, keys


def _set_based_references(conn: psycopg.Connection, spec: MergeSpec, plan: PublishPlan
                          ) -> tuple[set[str], list[TargetForeignKey], list[TargetForeignKey]]:
    """The tables undo deletes from with the triggers of the keys referencing them held back, and those keys,
    which undo then checks itself, once each after its deletes: each trigger would read the referencing table
    once per deleted row (hours for a big merge where no index covers the key; publish's inserts have the
    parent's unique index to look in). As for publish, only tables without triggers or rules of their users,
    referenced by validated keys (a NOT VALID one may hold rows naming no row already) of whole tables.
    Third: the keys referencing the other tables whose ON DELETE action (their trigger) would change rows."""
    tables, labels, triggered, rows, fks = _keys_and_triggers(conn, spec, plan, "rc")
    kept_triggers = {(r[4], r[5]) for r in rows if r[8] or not r[9]}
    chosen = {name for name, t in tables.items()
              if labels[name] not in triggered and (t.schema, t.relname) not in kept_triggers}
    chosen = chosen if chosen and _may_hold_back_triggers(conn) else set()
    where = {(tables[name].schema, tables[name].relname) for name in chosen}
    return (chosen, [fk for fk in fks if (fk.parent_schema, fk.parent) in where],
            [fk for fk, r in zip(fks, rows) if r[10] and (fk.parent_schema, fk.parent) not in where])


def _row_keys(conn: psycopg.Connection, spec: MergeSpec, plan: PublishPlan) -> dict[str, tuple[str, ...]]:
    """Per merged table without id, the columns of the target's primary key (or of a unique index on NOT NULL
    columns): undo finds its kept rows by those."""
    names = {label: name for name, (label, _) in zip(plan.tables, plan.locks) if not spec.tables[name].id}
    found = conn.execute(load("undo/row_keys.sql"), {"tables": list(names)}).fetchall() if names else []
    return {names[label]: tuple(columns) for label, columns in found}


def _keys_and_triggers(conn: psycopg.Connection, spec: MergeSpec, plan: PublishPlan, tables_are: str):
    """The merged tables by spec name, their quoted names, which of those have triggers or rules of their
    users, and the foreign keys of those tables (`tables_are` root) or referencing them (rc): the catalog's
    rows (publish/foreign_keys.sql) and each as a TargetForeignKey."""
    tables = {t.name: t for t in spec.merged_tables if t.name in plan.tables}
    labels = {name: label for name, (label, _) in zip(plan.tables, plan.locks)}
    quoted = {"tables": list(labels.values())}
    triggered = {r[0] for r in conn.execute(load("publish/with_triggers.sql"), quoted).fetchall()}
    keys = compose("publish/foreign_keys.sql", tables_are=sql.Identifier(tables_are))
    rows = conn.execute(keys, quoted).fetchall()
    fks = [TargetForeignKey(*r[:3], tuple(r[3]), *r[4:6], tuple(r[6]), r[7]) for r in rows]
    return tables, labels, triggered, rows, fks


def _may_hold_back_triggers(conn: psycopg.Connection) -> bool:
    """Whether this role may set session_replication_role (a superuser, or GRANT SET ON PARAMETER)."""
    try:
        with conn.transaction():
            conn.execute(replication_role("origin"))
    except errors.InsufficientPrivilege:
        return False
    return True


def _check_pending_intact(conn: psycopg.Connection, n: Names, plan) -> None:
    """Pending rows live in unlogged tables, which a server crash empties: publish only what was audited."""
    built = dict(conn.execute(compose("publish/pending_counts.sql", merge_log=n.merge_log)).fetchall())
    now = dict(zip(plan.tables, conn.execute(plan.pending_rows).fetchone()))
    gone = {t: (built[t], now[t]) for t in plan.tables if t in built and built[t] != now[t]}
    if gone:
        listed = ", ".join(f"{t}: {was} built and audited, {there} there now" for t, (was, there) in gone.items())
        raise PublishError(f"pending rows changed since the audit ({listed}); did the server restart? Pending "
                           f"rows live in unlogged tables, which a crash empties. Merge again; nothing was "
                           f"published")


def _set_state(conn: psycopg.Connection, n: Names, **values: str | None) -> None:
    for key, value in values.items():
        if value is None:
            conn.execute(compose("ledger/clear_state.sql", state=n.state), {"key": key})
        else:
            conn.execute(compose("ledger/set_state.sql", state=n.state), {"key": key, "value": value})


def history(conn: psycopg.Connection, map_schema: str) -> list[dict]:
    """The ledger, oldest first; empty when nothing was ever published."""
    if conn.execute("SELECT to_regclass(%s)", [sql.Identifier(map_schema, "merges").as_string(conn)]).fetchone()[0] is None:
        return []
    cur = conn.execute(compose("ledger/history.sql", ledger=sql.Identifier(map_schema, "merges")))
    return [{d.name: v for d, v in zip(cur.description, row)} for row in cur.fetchall()]


@dataclass
class Undone:
    merge_id: int
    rows: dict[str, int]
    sequences_restored: list[str]
    sequences_left: list[str]
    foreign_keys: str = ""  # how the keys referencing the deleted rows were checked


def undo(conn: psycopg.Connection, map_schema: str, lock_timeout: float, merge_id: int | None = None) -> Undone:
    """Delete exactly the rows one publish inserted and restore the sequences it moved; newest merge first."""
    try:
        return _undo(conn, map_schema, lock_timeout, merge_id)
    except errors.ForeignKeyViolation as exc:  # a key's own trigger (a table undo deletes from with them firing)
        raise PublishError(f"{exc.diag.message_primary} ({exc.diag.message_detail}): rows written since the merge "
                           f"reference rows it inserted; undo refused, nothing was changed") from None


def _refuse_undo(conn: psycopg.Connection, guard: Guard, merge_id: int) -> None:
    count, sample = conn.execute(guard.query).fetchone()
    if count:
        raise PublishError(f"{guard.problem}: {count} rows written since merge {merge_id} reference rows it "
                           f"inserted (sample {sample[:5]}); undo refused, nothing was changed")


def _undo(conn: psycopg.Connection, map_schema: str, lock_timeout: float, merge_id: int | None) -> Undone:
    with conn.transaction():
        live = [m for m in history(conn, map_schema) if m["undone_at"] is None]
        if not live:
            raise PublishError("no merge to undo: the ledger holds no published merge that is not undone")
        newest = live[-1]["merge_id"]
        if merge_id is None:
            merge_id = newest
        if merge_id not in [m["merge_id"] for m in live]:
            raise PublishError(f"merge {merge_id} is not in the ledger, or is undone already")
        if merge_id != newest:
            raise PublishError(f"merge {merge_id} is not the newest: undo merge {newest} first (newest first)")
        ledger = sql.Identifier(map_schema, "merges")
        spec_text, sequences = conn.execute(compose("ledger/merge_entry.sql", ledger=ledger),
                                            {"merge_id": merge_id}).fetchone()
        spec = parse_spec(spec_text)
        publishing = plan_publish(spec)
        _lock_tables(conn, publishing.locks, lock_timeout)
        plan = plan_undo(spec, merge_id, _row_keys(conn, spec, publishing))
        set_based, references, changing = _set_based_references(conn, spec, publishing)
        for dependent in left_to_count(plan, references):
            count = conn.execute(dependent.count).fetchone()[0]
            if count:
                raise PublishError(f"{dependent.label}: {count} rows written since merge {merge_id} reference rows it "
                                   f"inserted; undo refused, nothing was changed")
        rows: dict[str, int] = {}
        for tables, statement in plan.deletes:
            group = {(spec.tables[t].schema, spec.tables[t].relname) for t in tables}
            for fk in changing:  # the merge's own rows of a table outside the group are gone by now
                if (fk.parent_schema, fk.parent) in group and (fk.schema, fk.table) not in group:
                    _refuse_undo(conn, changed_on_delete_guard(spec, merge_id, fk), merge_id)
            replica = all(t in set_based for t in tables)
            if replica:
                conn.execute(replication_role("replica"))
            rows.update(zip(tables, conn.execute(statement).fetchone()))
            if replica:
                conn.execute(replication_role("origin"))
        by_trigger = [t for tables, _ in plan.deletes for t in tables if t not in set_based]
        checked = (f"{len(references)} foreign keys referencing {len(set_based)} tables checked by undo for all "
                   f"rows at once")
        if by_trigger:
            checked += f"; PostgreSQL's triggers row by row for {', '.join(by_trigger)}"
        for guard in map(dangling_guard, references):
            _refuse_undo(conn, guard, merge_id)
        restored, left = [], []
        for name, moved in sequences.items():  # back where publish found it, unless ids were taken since
            sequence = sql.Identifier(moved["schema"], moved["name"])
            now = list(conn.execute(compose("ledger/sequence_position.sql", sequence=sequence)).fetchone())
            if now == moved["after"]:
                conn.execute(sequence_set(sequence, *moved["before"]))
                restored.append(name)
            else:
                left.append(name)
        for statement in plan.drop_kept:
            conn.execute(statement)
        conn.execute(compose("ledger/mark_undone.sql", ledger=ledger), {"merge_id": merge_id})
    return Undone(merge_id, rows, restored, left, checked)
