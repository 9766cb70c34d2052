"""Split and re-merge, as a property: any schema of the supported shapes, split into two diverged
databases, merges back into exactly db1's records + db2's new records + the history of both (a
history row db1 holds too counted once).

Per example (see random_schema.py): draw a schema and a seed; generate the records in an origin
database; place each record in db1, db2 or both (history in exactly one), renumber ids per database
(they collide), give db2's shared records conflicting non-key values; pg_dump db1 and db2 (plain or
custom, at random); draft the spec from db1's catalog and both databases' data with `draft_spec` and
fill in only the arrays' tables; run the whole asset graph into a fresh target; compare the target's id-free canonical form
with the expected one computed by the oracle in random_schema.py (no planner or proof code).

Shapes drawn (see random_schema.py): ids from bigserial, identity columns or uuid primary keys with no
sequence; natural keys holding foreign keys; nullable foreign keys to the table itself and to later
tables (foreign-key cycles, published in one statement); id arrays; join
tables; history tables with an id or with no id and no primary key at all, maybe referencing a join
table by a two-column foreign key, stamped with a timestamptz; entities whose natural key no constraint
declares (found in the data of both databases by the draft); NOT NULL foreign-key cycles closed through a
reference no constraint declares (proposed by the draft from the data); join and history tables partitioned by
hash, their foreign keys declared on the partitions; update stamps set by BEFORE INSERT OR UPDATE (or UPDATE)
triggers, enabled during the merge (a row the merge inserts is expected stamped, no other row may be);
entities whose integer ids no sequence feeds; tables in a second schema, maybe named like a table of public;
names that need quoting.

Budget: PGMERGE_PROPERTY_EXAMPLES examples (default 5, derandomized so CI is stable). On demand:
    PGMERGE_PROPERTY_EXAMPLES=500 uv run pytest pgmerge_assets_tests/test_split_remerge.py
which explores with fresh randomness (set PGMERGE_PROPERTY_DERANDOMIZE=1 to keep it fixed).
A failure prints the seed, the schema summary and @reproduce_failure. PGMERGE_PROPERTY_SHRINK=0 skips
shrinking (a failing example is reported as found; shrinking one can take minutes).
Shapes that once broke the tool, and the shapes added later, are named by flags at the top of
random_schema.py, all on; PGMERGE_PROPERTY_OFF=NAME,... switches one off. A draft_spec that does not
return (it once looped forever) is reported as a failure after DRAFT_TIMEOUT seconds.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import uuid
from pathlib import Path

import psycopg
import yaml
from psycopg import sql
from hypothesis import HealthCheck, Phase, event, given, note, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from pgmerge_assets.assets.resources import MergeInputs, TargetDatabase
from pgmerge_assets.catalog.draft import draft_spec
from pgmerge_assets.catalog.introspect import read_catalog
from pgmerge_assets.catalog.profile import profile_catalog
from pgmerge_assets.pg.embedded import drop_database, ensure_database, with_dbname
from pgmerge_assets.pg.tools import find_tool, run_tool, tool_conninfo
from pgmerge_assets.run import run_graph
from pgmerge_assets_tests.random_schema import (SEQUENCED, Schema, as_inserted, build_split, canonical, expected_merge,
                                                load_database, schemas)

EXAMPLES_ENV = "PGMERGE_PROPERTY_EXAMPLES"
EXAMPLES = int(os.environ.get(EXAMPLES_ENV, "5"))
SHRINK = os.environ.get("PGMERGE_PROPERTY_SHRINK", "1") == "1"  # 0: report the first failure unshrunk (faster)
DERANDOMIZE = os.environ.get("PGMERGE_PROPERTY_DERANDOMIZE", "0" if EXAMPLES_ENV in os.environ else "1") == "1"
DRAFT_TIMEOUT = 60  # seconds; draft_spec takes milliseconds, so longer means it does not return


def _event(text: str) -> None:
    if currently_in_test_context():  # the body also runs as a plain function for hand-written schemas
        event(text)


def _dump(dsn: str, path: Path, custom: bool) -> None:
    conninfo, env = tool_conninfo(dsn)
    args = [str(find_tool("pg_dump").path), "--no-owner", "--no-privileges", "-f", str(path), "-d", conninfo]
    if custom:
        args.insert(1, "-Fc")
    run_tool(args, what=f"pg_dump of {path.name}", env=env)


def _draft(db1_dsn: str, db2_dsn: str, schema: Schema) -> tuple[str, dict, dict]:
    """The drafted spec (public the target_schema, every schema of the model drafted, the data of both
    databases read as `pgmerge spec --dsn db1 --dsn2 db2` does) with every `arrays: {col: null}` filled in
    from the model, nothing else edited; and each spec name's model table."""
    with psycopg.connect(db1_dsn) as conn, psycopg.connect(db2_dsn) as conn2:
        catalog = read_catalog(conn, schema.schema_names())
        profile = profile_catalog(catalog, [conn, conn2])

    def hung(signum, frame):
        raise AssertionError(f"draft_spec did not return within {DRAFT_TIMEOUT} s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(DRAFT_TIMEOUT)
    try:
        text = draft_spec(catalog, profile=profile)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    doc = yaml.safe_load(text)
    by_qualified = {t.qualified: t for t in schema.tables}
    model = {name: by_qualified.get((entry.get("schema", "public"), entry.get("table", name)))
             for name, entry in doc["tables"].items()}
    assert None not in model.values() and len(model) == len(schema.tables), f"draft tables {sorted(doc['tables'])}"
    label = {t.qualified: name for name, t in model.items()}

    def spec_name(ti: int) -> str:
        return label[schema.tables[ti].qualified]

    for name, entry in doc["tables"].items():
        t = model[name]
        arrays = entry.get("arrays") or {}
        model_arrays = {c.name: spec_name(c.ref) for c in t.cols if c.kind == "array"}
        assert set(arrays) == set(model_arrays), f"{name}: drafted arrays {arrays}, model {model_arrays}"
        assert all(v is None for v in arrays.values()), f"{name}: the draft guessed array tables {arrays}"
        if model_arrays:
            entry["arrays"] = model_arrays
        # the draft must have guessed the rest right by itself; a wrong guess is a finding, not an edit
        want = {"entity": "natural_key", "join": "natural_key", "history": "append"}[t.kind]
        assert entry["strategy"] == want, f"{name}: drafted strategy {entry['strategy']}, model {want}"
        if t.kind != "history":
            assert entry["natural_key"] == t.key_names(), f"{name}: drafted key {entry['natural_key']}"
        assert entry.get("id") == t.id, f"{name}: drafted id {entry.get('id')}"
        model_fks = {c.name: spec_name(c.ref) for c in t.cols if c.kind == "fk" and c.via is None}
        assert (entry.get("foreign_keys") or {}) == model_fks, f"{name}: drafted fks {entry.get('foreign_keys')}"
        model_references = []
        if t.reference():
            cols, jt = t.reference()
            model_references = [{"columns": [t.cols[j].name for j in cols], "table": spec_name(jt),
                                 "ref_columns": schema.tables[jt].key_names()}]
        assert (entry.get("references") or []) == model_references, f"{name}: drafted {entry.get('references')}"
        # a foreign-key cycle needs nothing of the user: its tables are published in one statement
        assert "deferred_foreign_keys" not in entry, name
    head = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    spec_text = head + "\n" + yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=100, allow_unicode=True)
    return spec_text, doc, {name: t.qualified for name, t in model.items()}


def _sequences_ahead(conn: psycopg.Connection, schema: Schema) -> list[str]:
    """Independent of the tool's check: nextval() of each table's sequence is past max(id)."""
    behind = []
    for t in schema.tables:
        if t.id_kind not in SEQUENCED:  # no sequence: uuids kept, integer ids from pgmerge's counter
            continue
        table = sql.Identifier(t.schema, t.name)
        nxt, top = conn.execute(sql.SQL("SELECT nextval(pg_get_serial_sequence({}, {})), (SELECT max({}) FROM {})").format(
            sql.Literal(table.as_string(conn)), sql.Literal(t.id), sql.Identifier(t.id), table)).fetchone()
        if top is not None and nxt <= top:
            behind.append(f"{t.name}: nextval {nxt} <= max(id) {top}")
    return behind


def _first_difference(name: str, got: list[str], want: list[str]) -> str:
    from collections import Counter

    g, w = Counter(got), Counter(want)
    missing = list((w - g).elements())[:5]
    extra = list((g - w).elements())[:5]
    return f"{name}: merged {len(got)} rows, expected {len(want)}; missing {missing}; unexpected {extra}"


@settings(max_examples=EXAMPLES, deadline=None, print_blob=True, derandomize=DERANDOMIZE, database=None,
          phases=[p for p in Phase if SHRINK or p is not Phase.shrink],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])
@given(schema=schemas(), seed=st.integers(0, 2**31 - 1), dump1_custom=st.booleans(), dump2_custom=st.booleans())
def test_split_and_remerge_gives_db1_plus_db2_new_records_plus_all_history(
        admin_dsn, schema: Schema, seed: int, dump1_custom: bool, dump2_custom: bool):
    context = (f"seed={seed} dump1={'custom' if dump1_custom else 'plain'} dump2={'custom' if dump2_custom else 'plain'}\n"
               f"{schema.summary()}")
    if currently_in_test_context():
        note(context)
    tag = uuid.uuid4().hex[:10]
    names = {role: f"pgmerge_prop_{tag}_{role}" for role in ("origin", "db1", "db2", "target")}
    work = Path(tempfile.mkdtemp(prefix="pgmerge-prop-"))
    try:
        for name in names.values():
            ensure_database(admin_dsn, name)
        dsn = {role: with_dbname(admin_dsn, name) for role, name in names.items()}
        with psycopg.connect(dsn["origin"], autocommit=True) as origin:
            build_split(origin, schema, seed)
            for k in (1, 2):
                with psycopg.connect(dsn[f"db{k}"]) as conn:
                    load_database(origin, conn, schema, k)
        with psycopg.connect(dsn["db1"]) as c1, psycopg.connect(dsn["db2"]) as c2:
            canon1, canon2 = canonical(c1, schema), canonical(c2, schema)
            inserted = as_inserted(c2, schema)
        expected, conflicts = expected_merge(canon1, canon2, schema, inserted)
        rows1, rows2 = sum(len(v) for v in canon1.values()), sum(len(v) for v in canon2.values())
        _event(f"rows db1+db2: {'<100' if rows1 + rows2 < 100 else '<400' if rows1 + rows2 < 400 else '>=400'}")
        _event(f"conflicts: {'some' if sum(conflicts.values()) else 'none'}")
        _event(f"db2 records new to db1: {'some' if sum(len(v) for v in expected.values()) > rows1 else 'none'}")
        _event(f"quoted names: {any(not t.name.isidentifier() or t.name != t.name.lower() for t in schema.tables)}")
        _event(f"self references: {bool(schema.self_references())}")
        _event(f"forward fks: {'cycle' if schema.fk_cycles() else 'no cycle' if schema.forward_fks() else 'none'}")
        _event(f"uuid ids: {bool(schema.uuid_tables())}")
        _event(f"keyless history tables: {bool(schema.keyless_tables())}")
        _event(f"two-column references: {any(t.reference() for t in schema.tables)}")
        _event(f"keys found in the data: {any(not t.declared for t in schema.tables)}")
        undeclared, partitioned = schema.undeclared_fks(), schema.partitioned()
        _event(f"undeclared references: {'NOT NULL cycle' if undeclared and schema.not_null_cycle() else bool(undeclared)}")
        _event(f"partitioned tables: "
               f"{'fks on the partitions' if any(t.fks_on_partitions for t in partitioned) else bool(partitioned)}")
        _event(f"stamp triggers: {sorted({c.stamp for _, c in schema.stamps()}) or 'none'}")
        _event(f"ids no sequence feeds: {bool(schema.unsequenced_tables())}")
        _event(f"schemas: {len(schema.schema_names())}"
               f"{' (a name in both)' if len({t.name for t in schema.tables}) < len(schema.tables) else ''}")

        d1 = work / ("dump1.dump" if dump1_custom else "dump1.sql")
        d2 = work / ("dump2.dump" if dump2_custom else "dump2.sql")
        _dump(dsn["db1"], d1, dump1_custom)
        _dump(dsn["db2"], d2, dump2_custom)
        spec_text, doc, model_table = _draft(dsn["db1"], dsn["db2"], schema)
        _event(f"foreign-key cycle noted by the draft: "
               f"{'yes' if any('foreign-key cycle' in e.get('note', '') for e in doc['tables'].values()) else 'no'}")
        spec_path = work / "spec.yaml"
        spec_path.write_text(spec_text)

        with psycopg.connect(dsn["target"]) as conn:  # a row stamped since is one the merge inserted
            before_merge = conn.execute("SELECT clock_timestamp()").fetchone()[0]
        outcome = run_graph(TargetDatabase(dsn=dsn["target"], workdir=str(work / "run")),
                            MergeInputs(dump1=str(d1), dump2=str(d2), scratch_dsn=admin_dsn), spec_path)
        assert outcome.success, f"merge failed: {outcome.failures}\n{context}\nspec:\n{spec_text}"

        with psycopg.connect(dsn["target"]) as conn:
            merged = canonical(conn, schema, sql.Literal(before_merge))
            behind = _sequences_ahead(conn, schema)
        diffs = [_first_difference(f"{t.schema}.{t.name}", sorted(r for _, r in merged[t.qualified]), expected[t.qualified])
                 for t in schema.tables if sorted(r for _, r in merged[t.qualified]) != expected[t.qualified]]
        assert not diffs, "merged rows differ from the expected merge:\n" + "\n".join(diffs) + f"\n{context}"
        assert not behind, f"sequences behind: {behind}\n{context}"
        report = outcome.report
        assert report is not None, context
        assert report["lossless"]["lost"] == 0, f"lossless proof lost rows: {report['lossless']}\n{context}"
        assert report["lossless"]["staging_rows"] == sum(len(v) for v in canon2.values()), context
        got_conflicts = {model_table[name]: t["conflicts"] for name, t in report["tables"].items()}
        assert got_conflicts == conflicts, f"conflicts reported {got_conflicts}, expected {conflicts}\n{context}"
    finally:
        for name in names.values():
            drop_database(admin_dsn, name)
        shutil.rmtree(work, ignore_errors=True)
