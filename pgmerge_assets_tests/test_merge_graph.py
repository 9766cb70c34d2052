"""The merge graph on a small hand-made pair of databases whose right answer is known row by row."""

import psycopg
import pytest
import dagster as dg

from pgmerge_assets.assets.runner import prepare_merge_state
from pgmerge_assets.catalog.spec import load_spec
from pgmerge_assets.paths import REFERENCE_SCHEMA_SQL, REFERENCE_SPEC
from pgmerge_assets.pg.fingerprint import staging_fingerprint
from pgmerge_assets.plan.staging import StagingPlan
from pgmerge_assets.run import root_message
from pgmerge_assets_tests.merge_helpers import MERGE_ONLY, checksums, clone_public_into_staging, materialize

PUBLIC_ROWS = """
INSERT INTO public.dataset VALUES (1, 'a', NULL, '2024-01-01'), (2, 'b', 'public says b', '2024-01-01');
INSERT INTO public.package VALUES (1, 'pkg:p1'), (2, 'pkg:p2');
INSERT INTO public.datasource VALUES (1, 'ds1', 1, 'http://one', '{1,2}');
INSERT INTO public.datasource_event VALUES (1, 1, 'scan', '2020-01-01', NULL);
INSERT INTO public.datasource_event_package VALUES (1, 1);
INSERT INTO public.dataset_metrics VALUES (1, 1, 100, '2024-01-02', 2, '{1,2}');
SELECT setval('public.dataset_id_seq', 2), setval('public.package_id_seq', 2), setval('public.datasource_id_seq', 1),
       setval('public.dataset_metrics_id_seq', 1), setval('public.datasource_event_id_seq', 1);
"""
# Staging ids collide with public's on purpose: staging dataset 1 is public's 'b', package 1 is public's p2.
STAGING_ROWS = """
INSERT INTO staging.dataset VALUES (1, 'b', 'staging says b', '2024-01-01'), (2, 'c', NULL, '2024-01-01');
INSERT INTO staging.package VALUES (1, 'pkg:p2'), (2, 'pkg:p3');
INSERT INTO staging.datasource VALUES (1, 'ds2', 2, NULL, '{1,NULL,2}'), (2, 'ds1', 1, 'http://other', '{2}'),
                                      (3, 'ds3', 2, NULL, '{}'), (4, 'ds4', 2, NULL, NULL);
INSERT INTO staging.datasource_event VALUES (1, 1, 'scan', '2020-01-01', NULL), (2, 2, 'scan', '2020-01-01', NULL);
INSERT INTO staging.datasource_event_package VALUES (1, 1), (1, 2), (2, 2);
INSERT INTO staging.dataset_metrics VALUES (1, 1, 200, '2024-01-03', 1, '{2,1}');
"""


def setup_pair(dsn: str, public_rows: str = PUBLIC_ROWS, staging_rows: str = STAGING_ROWS) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute(REFERENCE_SCHEMA_SQL.read_text())
        clone_public_into_staging(conn)
        conn.execute(public_rows)
        conn.execute(staging_rows)
        conn.commit()
        prepare_merge_state(conn, StagingPlan(load_spec(REFERENCE_SPEC)))


def rows(dsn: str, query: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(query).fetchall()


def materialized(result) -> set[str]:
    return {e.event_specific_data.materialization.asset_key.to_user_string()
            for e in result.get_asset_materialization_events()}


def test_merge_translates_ids_foreign_keys_and_arrays(fresh_db, tmp_path):
    setup_pair(fresh_db)
    result = materialize(fresh_db, tmp_path, selection=MERGE_ONLY)
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())

    # public wins on 'b'; 'c' is new and gets the next id of public's sequence
    assert rows(fresh_db, "SELECT id, name, description FROM dataset ORDER BY id") == [
        (1, "a", None), (2, "b", "public says b"), (3, "c", None)]
    assert rows(fresh_db, "SELECT id, purl FROM package ORDER BY id") == [(1, "pkg:p1"), (2, "pkg:p2"), (3, "pkg:p3")]
    # ds1 matched (public's url and array kept); new datasources point at public's ids; arrays keep
    # order, length, NULL elements, empty and NULL arrays
    assert rows(fresh_db, "SELECT purl, dataset_id, url, package_indexes FROM datasource ORDER BY purl") == [
        ("ds1", 1, "http://one", [1, 2]), ("ds2", 3, None, [2, None, 3]), ("ds3", 3, None, []), ("ds4", 3, None, None)]
    assert rows(fresh_db, "SELECT d.purl, e.kind FROM datasource_event e JOIN datasource d ON d.id = e.datasource_id "
                          "ORDER BY 1") == [("ds1", "scan"), ("ds2", "scan")]
    assert rows(fresh_db, "SELECT d.purl, p.purl FROM datasource_event_package j "
                          "JOIN datasource_event e ON e.id = j.datasource_event_id "
                          "JOIN datasource d ON d.id = e.datasource_id JOIN package p ON p.id = j.package_id "
                          "ORDER BY 1, 2") == [("ds1", "pkg:p1"), ("ds1", "pkg:p3"), ("ds2", "pkg:p2"), ("ds2", "pkg:p3")]
    # history: staging's snapshot is appended with a fresh id, its array rewritten through the package map
    assert rows(fresh_db, "SELECT m.id, d.name, m.txid, m.package_indexes FROM dataset_metrics m "
                          "JOIN dataset d ON d.id = m.dataset_id ORDER BY m.id") == [
        (1, "a", 100, [1, 2]), (2, "b", 200, [3, 2])]
    # the maps are there to inspect
    assert rows(fresh_db, "SELECT staging_id, public_id, inserted FROM pgmerge.map_dataset ORDER BY 1") == [
        (1, 2, False), (2, 3, True)]
    # sequences are past max(id): the next dataset gets 4
    assert rows(fresh_db, "SELECT nextval('dataset_id_seq')") == [(4,)]

    report = (tmp_path / "report.json").read_text()
    import json
    data = json.loads(report)
    assert data["lossless"]["lost"] == 0
    assert data["lossless"]["proven"] == data["lossless"]["staging_rows"] == 14
    assert data["tables"]["dataset"]["conflicts"] == 1  # 'b': staging's description lost to public's
    assert data["tables"]["datasource"]["conflicts"] == 1  # ds1: other url and array
    assert data["tables"]["dataset"]["conflict_sample"][0]["key"] == ["b"]


def test_materializing_twice_changes_nothing(fresh_db, tmp_path):
    setup_pair(fresh_db)
    assert materialize(fresh_db, tmp_path, selection=MERGE_ONLY).success
    with psycopg.connect(fresh_db) as conn:
        first = checksums(conn)
    second_run = materialize(fresh_db, tmp_path, selection=MERGE_ONLY)
    assert second_run.success
    with psycopg.connect(fresh_db) as conn:
        second = checksums(conn)
        # the maps were rebuilt against the merged target: every staging row now maps to the row it became
        assert rows(fresh_db, "SELECT count(*) FILTER (WHERE inserted) FROM pgmerge.map_dataset") == [(0,)]
        assert conn.execute("SELECT count(*) FROM pgmerge.merges").fetchone() == (1,)
    assert first == second
    assert len(first) > 10
    published = [e.event_specific_data.materialization.metadata for e in second_run.get_asset_materialization_events()
                 if e.event_specific_data.materialization.asset_key.to_user_string() == "published"]
    assert "nothing new" in published[0]["message"].value


def test_unresolvable_foreign_key_is_one_clear_error_and_public_is_untouched(fresh_db, tmp_path):
    setup_pair(fresh_db, staging_rows=STAGING_ROWS + "INSERT INTO staging.datasource VALUES (9, 'ds9', 77, NULL, NULL);")
    with psycopg.connect(fresh_db) as conn:
        before = checksums(conn)
    result = materialize(fresh_db, tmp_path, selection=MERGE_ONLY)
    assert not result.success
    failures = [root_message(e.step_failure_data.error) for e in result.all_events
                if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert any("staging.datasource.dataset_id: rows reference dataset ids that dump #2 does not hold: 1 offending rows"
               in f for f in failures), failures
    assert "merged/datasource" not in materialized(result)
    with psycopg.connect(fresh_db) as conn:
        after = checksums(conn)
    assert after["datasource"] == before["datasource"]


# Each corruption breaks exactly what one check guards; blocking checks stop everything downstream.
CORRUPTIONS = [
    pytest.param("ALTER TABLE public.datasource_event DROP CONSTRAINT datasource_event_datasource_id_fkey;"
                 "INSERT INTO public.datasource_event VALUES (50, 999, 'orphan', '2020-01-01', NULL);",
                 "merged/datasource_event", "foreign_keys_resolve", "merged/datasource_event_package", id="orphan-fk"),
    pytest.param("INSERT INTO public.datasource VALUES (50, 'dirty', 1, NULL, '{1,999}');",
                 "repaired_arrays/datasource__package_indexes", "array_elements_exist", "integrity_report",
                 id="dangling-array-element"),
]


@pytest.mark.parametrize("corruption, asset, check, downstream", CORRUPTIONS)
def test_blocking_checks_fail_and_stop_downstream(fresh_db, tmp_path, corruption, asset, check, downstream):
    setup_pair(fresh_db, public_rows=PUBLIC_ROWS + corruption)
    result = materialize(fresh_db, tmp_path, selection=MERGE_ONLY)
    failed = {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations() if not e.passed}
    assert (asset, check) in failed, failed.keys()
    assert failed[(asset, check)].metadata["offending_rows"].value >= 1
    assert downstream not in materialized(result)
    assert "integrity_report" not in materialized(result)


# Corruptions after a good merge, seen by re-running the checks alone.
AFTERMATH = [
    pytest.param("INSERT INTO staging.dataset VALUES (3, 'late', NULL, '2024-01-01')", "id_map/dataset", "map_complete",
                 id="unmapped-staging-row"),
    pytest.param("DELETE FROM staging.dataset WHERE name = 'c'", "id_map/dataset", "map_complete",
                 id="map-row-without-staging-row"),
    pytest.param("DELETE FROM public.dataset_metrics WHERE id = 2", "merged/dataset_metrics", "rows_conserved",
                 id="row-lost"),
    pytest.param("SELECT setval('public.dataset_id_seq', 1)", "sequences", "sequences_ahead", id="rewound-sequence"),
    pytest.param("ALTER TABLE public.dataset DROP CONSTRAINT dataset_name_key;"
                 "INSERT INTO public.dataset VALUES (99, 'c', NULL, '2024-01-01')",  # 'c' came from dump #2
                 "merged/dataset", "natural_key_unique", id="duplicate-key"),
]


@pytest.mark.parametrize("corruption, asset, check", AFTERMATH)
def test_checks_catch_damage_after_the_merge(fresh_db, tmp_path, corruption, asset, check):
    setup_pair(fresh_db)
    assert materialize(fresh_db, tmp_path, selection=MERGE_ONLY).success
    with psycopg.connect(fresh_db) as conn:
        conn.execute(corruption)
    result = materialize(fresh_db, tmp_path, selection=dg.AssetSelection.all_asset_checks())
    failed = {(e.asset_key.to_user_string(), e.check_name) for e in result.get_asset_check_evaluations() if not e.passed}
    assert (asset, check) in failed


def test_a_pending_row_repeating_a_key_the_targets_unique_index_holds_fails_the_check(fresh_db, tmp_path):
    """With dataset_name_key in place, natural_key_unique groups only the rows that share a key with a pending
    row: a pending row given public's key 'a' (as a wrong map would) is still found, before publish."""
    setup_pair(fresh_db)
    before_report = MERGE_ONLY - dg.AssetSelection.assets("integrity_report", "published")
    assert materialize(fresh_db, tmp_path, selection=before_report).success
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("SELECT to_regclass('public.dataset_name_key')").fetchone() == ('dataset_name_key',)
        conn.execute("UPDATE pgmerge.pending_dataset SET name = 'a'")
    result = materialize(fresh_db, tmp_path, selection=dg.AssetSelection.checks_for_assets(
        dg.AssetKey(["merged", "dataset"])))
    failed = {e.check_name: e for e in result.get_asset_check_evaluations() if not e.passed}
    assert failed["natural_key_unique"].metadata["sample"].value == [{"name": "a", "rows": 2}]


def test_keys_repeated_before_the_merge_warn_without_blocking(fresh_db, tmp_path):
    """Public already repeating a natural key (no unique constraint) is reported, and staging's row with that
    key maps deterministically to the lowest public id."""
    setup_pair(fresh_db, public_rows=PUBLIC_ROWS + (
        "ALTER TABLE public.dataset DROP CONSTRAINT dataset_name_key;"
        "INSERT INTO public.dataset VALUES (3, 'b', 'again', '2024-01-01'); SELECT setval('public.dataset_id_seq', 3);"))
    result = materialize(fresh_db, tmp_path, selection=MERGE_ONLY)
    assert result.success
    warned = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert [(e.asset_key.to_user_string(), e.check_name, e.severity) for e in warned] == [
        ("id_map/dataset", "natural_keys_repeated", dg.AssetCheckSeverity.WARN)]
    assert warned[0].metadata["sample"].value == [{"side": "public", "natural_key": ["b"], "rows": 2}]
    assert rows(fresh_db, "SELECT staging_id, public_id, inserted FROM pgmerge.map_dataset ORDER BY 1") == [
        (1, 2, False), (2, 4, True)]


def _reload_staging(dsn: str, staging_rows: str, spec_path=REFERENCE_SPEC) -> None:
    """What staging_data does with a new dump #2: staging refilled, pgmerge's work started over."""
    with psycopg.connect(dsn) as conn:
        spec = load_spec(spec_path)
        conn.execute("TRUNCATE " + ", ".join(f"staging.{t.name}" for t in spec.merged_tables))
        conn.execute(staging_rows)
        conn.commit()
        prepare_merge_state(conn, StagingPlan(spec))


def test_the_staging_fingerprint_ignores_row_order_and_sees_every_value(fresh_db):
    """The ledger's dump #2 fingerprint: rows hashed by their columns' hash functions, summed (json, which has
    none, takes the rows' text: test_the_proof_calls_values_equal_exactly_when_their_json_is)."""
    def fingerprint() -> str:
        with psycopg.connect(fresh_db) as conn:
            return staging_fingerprint(conn, StagingPlan(load_spec(REFERENCE_SPEC)))

    setup_pair(fresh_db)
    first = fingerprint()
    statements = [s for s in STAGING_ROWS.strip().split(";\n") if s]
    _reload_staging(fresh_db, ";\n".join(reversed(statements)).replace(
        "(1, 'b', 'staging says b', '2024-01-01'), (2, 'c', NULL, '2024-01-01')",
        "(2, 'c', NULL, '2024-01-01'), (1, 'b', 'staging says b', '2024-01-01')"))
    assert fingerprint() == first
    _reload_staging(fresh_db, STAGING_ROWS.replace("'staging says b'", "'staging says B'"))
    assert fingerprint() != first


def test_a_re_export_with_new_rows_adds_exactly_those(fresh_db, tmp_path):
    setup_pair(fresh_db)
    assert materialize(fresh_db, tmp_path, selection=MERGE_ONLY).success
    counts = rows(fresh_db, "SELECT (SELECT count(*) FROM dataset), (SELECT count(*) FROM dataset_metrics)")[0]
    # dump #2 exported again later: one more dataset and one more history row, the rest as before
    _reload_staging(fresh_db, STAGING_ROWS + "INSERT INTO staging.dataset VALUES (7, 'd', NULL, '2024-02-01');"
                                             "INSERT INTO staging.dataset_metrics VALUES (5, 7, 300, '2024-02-02', 0, '{}');")
    assert materialize(fresh_db, tmp_path, selection=MERGE_ONLY).success
    assert rows(fresh_db, "SELECT (SELECT count(*) FROM dataset), (SELECT count(*) FROM dataset_metrics)")[0] == (
        counts[0] + 1, counts[1] + 1)
    assert rows(fresh_db, "SELECT d.name, m.txid FROM dataset_metrics m JOIN dataset d ON d.id = m.dataset_id "
                          "WHERE m.txid = 300") == [("d", 300)]
    assert rows(fresh_db, "SELECT merge_id, rows_inserted->>'dataset', rows_inserted->>'dataset_metrics' "
                          "FROM pgmerge.merges ORDER BY 1")[1] == (2, "1", "1")


def test_history_with_duplicates_kept_is_appended_every_time(fresh_db, tmp_path):
    import yaml

    raw = yaml.safe_load(REFERENCE_SPEC.read_text())
    raw["tables"]["dataset_metrics"]["duplicates"] = "keep"
    spec_path = tmp_path / "keep.yaml"
    spec_path.write_text(yaml.safe_dump(raw))
    setup_pair(fresh_db)
    assert materialize(fresh_db, tmp_path, spec_path=spec_path, selection=MERGE_ONLY).success
    _reload_staging(fresh_db, STAGING_ROWS, spec_path)
    assert materialize(fresh_db, tmp_path, spec_path=spec_path, selection=MERGE_ONLY).success
    assert rows(fresh_db, "SELECT txid, count(*) FROM dataset_metrics GROUP BY 1 ORDER BY 1") == [(100, 1), (200, 2)]
    assert rows(fresh_db, "SELECT count(*) FROM dataset") == [(3,)]  # natural keys still match


def test_lossless_check_reads_the_database_not_the_report_file(fresh_db, tmp_path):
    setup_pair(fresh_db)
    assert materialize(fresh_db, tmp_path, selection=MERGE_ONLY).success
    with psycopg.connect(fresh_db) as conn:
        conn.execute("DELETE FROM public.dataset_metrics WHERE id = 2")
    result = materialize(fresh_db, tmp_path, selection=dg.AssetSelection.all_asset_checks())
    lossless = next(e for e in result.get_asset_check_evaluations() if e.check_name == "lossless")
    assert not lossless.passed
    assert lossless.metadata["tables_changed_since_audit"].value == ["dataset_metrics"]


def test_the_reports_table_counts_are_what_the_database_holds(fresh_db, tmp_path):
    """Rows before, inserted, rows now, matched and staging rows per table, as report.json shows them, against
    counts of the target before and after the merge, the staging clones and the id maps."""
    setup_pair(fresh_db)
    spec = load_spec(REFERENCE_SPEC)
    count = "SELECT count(*) FROM {}"
    with psycopg.connect(fresh_db) as conn:
        before = {t.name: conn.execute(count.format(f"public.{t.relname}")).fetchone()[0] for t in spec.merged_tables}
    assert materialize(fresh_db, tmp_path, selection=MERGE_ONLY).success
    report = __import__("json").loads((tmp_path / "report.json").read_text())
    with psycopg.connect(fresh_db) as conn:
        for t in spec.merged_tables:
            shown = report["tables"][t.name]
            now = conn.execute(count.format(f"public.{t.relname}")).fetchone()[0]
            staged = conn.execute(count.format(f"staging.{t.name}")).fetchone()[0]
            assert (shown["rows_before"], shown["rows_now"], shown["inserted"], shown["staging_rows"]) == \
                (before[t.name], now, now - before[t.name], staged), t.name
            matched = (conn.execute(f"SELECT count(*) FROM pgmerge.map_{t.name} WHERE NOT inserted").fetchone()[0]
                       if t.has_map else staged - (now - before[t.name]))
            assert shown["matched_existing"] == matched, t.name
    assert any(report["tables"][t.name]["matched_existing"] for t in spec.merged_tables)


def test_the_lossless_check_beside_its_report_judges_the_rows_the_report_counted(fresh_db, tmp_path):
    """Run in the report's step, the lossless check takes the rows the report counted in its own snapshot
    (no second count of every table): a row the target lost since the pending rows were built still shows."""
    setup_pair(fresh_db)
    before_report = MERGE_ONLY - dg.AssetSelection.assets("integrity_report", "published")
    assert materialize(fresh_db, tmp_path, selection=before_report).success
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("DELETE FROM public.dataset_metrics WHERE id = (SELECT min(id) FROM public.dataset_metrics)"
                            ).rowcount == 1
    result = materialize(fresh_db, tmp_path, selection=dg.AssetSelection.assets("integrity_report"))
    lossless = next(e for e in result.get_asset_check_evaluations() if e.check_name == "lossless")
    assert not lossless.passed
    assert lossless.metadata["tables_changed_since_audit"].value == ["dataset_metrics"]
    report = __import__("json").loads((tmp_path / "report.json").read_text())
    assert "counted" not in report


@pytest.mark.parametrize("tamper, table", [
    ("UPDATE pgmerge.pending_dataset SET description = 'tampered'", "dataset"),
    # a foreign key pointing at another existing parent: every check passes, only the proof can see it
    ("UPDATE pgmerge.pending_datasource SET dataset_id = 1 WHERE purl = 'ds2'", "datasource"),
    ("UPDATE pgmerge.pending_dataset_metrics SET package_indexes = '{1}'", "dataset_metrics"),
    # a foreign key naming no parent (as a wrong map would make), though the target has the constraint: no
    # check reads the pending rows' keys again, the proof does
    ("UPDATE pgmerge.pending_datasource_event SET datasource_id = 999999 "
     "WHERE id = (SELECT min(id) FROM pgmerge.pending_datasource_event)", "datasource_event"),
    # a map entry leading to another key's row (map_complete only counts entries; where they lead is proven)
    ("UPDATE pgmerge.map_package SET public_id = (SELECT min(public_id) FROM pgmerge.map_package) "
     "WHERE staging_id = (SELECT max(staging_id) FROM pgmerge.map_package)", "package"),
    # a join table (every column in its key): a pending row gone
    ("DELETE FROM pgmerge.pending_datasource_event_package WHERE ctid = "
     "(SELECT min(ctid) FROM pgmerge.pending_datasource_event_package)", "datasource_event_package"),
])
def test_the_proof_sees_a_pending_row_that_differs_and_publish_refuses(fresh_db, tmp_path, tamper, table):
    setup_pair(fresh_db)
    before_report = MERGE_ONLY - dg.AssetSelection.assets("integrity_report", "published")
    assert materialize(fresh_db, tmp_path, selection=before_report).success
    with psycopg.connect(fresh_db) as conn:
        before = checksums(conn)
        conn.execute(tamper)
    result = materialize(fresh_db, tmp_path, selection=dg.AssetSelection.assets("integrity_report", "published"))
    report = __import__("json").loads((tmp_path / "report.json").read_text())
    assert report["tables"][table]["lost"] == 1, report["tables"][table]
    assert "published" not in materialized(result)
    with psycopg.connect(fresh_db) as conn:
        assert checksums(conn) == before


def test_metadata_says_which_table_how_each_column_is_made_and_what_each_statement_wrote(fresh_db, tmp_path):
    setup_pair(fresh_db)
    result = materialize(fresh_db, tmp_path, selection=MERGE_ONLY)
    shown = {e.event_specific_data.materialization.asset_key.to_user_string(): e.event_specific_data.materialization.metadata
             for e in result.get_asset_materialization_events()}
    event = shown["merged/datasource_event"]
    assert event["dagster/table_name"].value == '"public"."datasource_event"'
    columns = {c.name: c for c in event["dagster/column_schema"].value.columns}
    assert '"pgmerge"."map_datasource"' in columns["datasource_id"].description
    assert columns["id"].description.startswith("a fresh id")
    assert columns["kind"].type == "text" and columns["kind"].description == "as in dump #2"
    written = shown["merged/datasource"]["rows_written"].value
    assert written[next(label for label in written if label.startswith("The staging rows their map marks as new"))] == 3
    assert shown["id_map/dataset"]["dagster/table_name"].value == '"pgmerge"."map_dataset"'


def test_a_spec_given_at_launch_decides_how_tables_merge_but_not_which_assets_exist(fresh_db, tmp_path):
    """Launchpad: resources.inputs.config.spec. Same graph: the run merges by it (here dataset keyed on
    (name, description), so staging's 'b' is new, and publish meets public's 'b' on the UNIQUE name, naming
    table, columns and count). Another
    graph: refused before anything runs, naming the difference and how to load that graph."""
    from pgmerge_assets.assets.resources import MergeInputs

    setup_pair(fresh_db)
    rekeyed = tmp_path / "rekeyed.yaml"
    rekeyed.write_text(REFERENCE_SPEC.read_text().replace(
        "  dataset:\n    strategy: natural_key\n    natural_key: [name]",
        "  dataset:\n    strategy: natural_key\n    natural_key: [name, description]"))
    result = materialize(fresh_db, tmp_path, selection=MERGE_ONLY, inputs=MergeInputs(spec=str(rekeyed)))
    assert rows(fresh_db, "SELECT count(*) FILTER (WHERE inserted), count(*) FROM pgmerge.map_dataset") == [(2, 2)]
    failures = [root_message(e.step_failure_data.error) for e in result.all_events
                if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert any("public.dataset: 1 pending rows repeat (name), which the target's dataset_name_key holds unique "
               "(Key (name)=(b) already exists.); the spec's natural key for it is (name, description)" in f
               and "nothing was published" in f for f in failures), failures
    assert "published" not in materialized(result)
    assert rows(fresh_db, "SELECT count(*) FROM public.dataset WHERE name = 'b'") == [(1,)]

    setup_again = materialize(fresh_db, tmp_path, selection=MERGE_ONLY)  # the graph's own spec: 'b' matches
    assert setup_again.success
    assert rows(fresh_db, "SELECT count(*) FILTER (WHERE inserted), count(*) FROM pgmerge.map_dataset") == [(1, 2)]

    skipped = tmp_path / "skipped.yaml"
    skipped.write_text(REFERENCE_SPEC.read_text().replace(
        "  edit:\n    strategy: append", "  edit:\n    strategy: skip"))
    refused = materialize(fresh_db, tmp_path, selection=MERGE_ONLY, inputs=MergeInputs(spec=str(skipped)))
    assert not refused.success
    failures = [root_message(e.step_failure_data.error) for e in refused.all_events
                if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert failures and all("makes another asset graph than the one loaded" in f and "not id_map/edit" in f
                            and f"--spec {skipped}" in f for f in failures), failures


def test_the_report_read_on_several_connections_in_one_snapshot_equals_the_serial_one(fresh_db, tmp_path):
    """The proof and the checks run `parallel` at a time on connections sharing the report's snapshot."""
    from pgmerge_assets.assets.report import gather
    from pgmerge_assets.assets.resources import TargetDatabase
    from pgmerge_assets.plan.planner import build_plan

    setup_pair(fresh_db)
    assert materialize(fresh_db, tmp_path, selection=MERGE_ONLY - dg.AssetSelection.assets("published")).success
    with psycopg.connect(fresh_db) as conn:  # a lost row and a failing check, so the report has something to say
        conn.execute("UPDATE pgmerge.pending_dataset SET description = 'tampered'")
        conn.execute("ALTER TABLE public.datasource_event DROP CONSTRAINT datasource_event_datasource_id_fkey;"
                     "INSERT INTO public.datasource_event VALUES (50, 999, 'orphan', '2020-01-01', NULL)")
    plan, target = build_plan(load_spec(REFERENCE_SPEC)), TargetDatabase(dsn=fresh_db, workdir=str(tmp_path))
    with target.connect() as conn:
        serial = gather(conn, plan, parallel=1)
    with target.connect() as conn:
        parallel = gather(conn, plan, connect=target.connect, parallel=3)
    assert parallel == serial
    assert serial["tables"]["dataset"]["lost"] == 1
    assert "foreign_keys_resolve" in [c["check"] for c in serial["checks"] if not c["passed"]]
