"""Definitions load from the spec file alone: no database is touched, and the graph carries the lineage."""

import dagster as dg

from pgmerge_assets.assets.resources import TARGET_DSN_ENV


def load(monkeypatch):
    # A DSN that cannot answer: loading must not try it.
    monkeypatch.setenv(TARGET_DSN_ENV, "postgresql://nobody:secret@127.0.0.1:1/none?connect_timeout=1")
    from pgmerge_assets.definitions import defs

    definitions = defs()
    dg.Definitions.validate_loadable(definitions)
    return definitions


def test_definitions_load_with_no_database_reachable(monkeypatch):
    definitions = load(monkeypatch)
    graph = definitions.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"public_restored", "staging_schema", "staging_data", "id_map/datasource", "merged/datasource_event",
            "repaired_arrays/datasource__package_indexes", "sequences", "integrity_report"} <= keys
    assert not any(k.startswith("id_map/datasource_event_") for k in keys), "join tables have no surrogate id to map"


def test_lineage_shows_which_maps_feed_which_tables(monkeypatch):
    graph = load(monkeypatch).resolve_asset_graph()

    def parents(key: str) -> set[str]:
        return {k.to_user_string() for k in graph.get(dg.AssetKey.from_user_string(key)).parent_keys}

    assert {"id_map/datasource", "id_map/datasource_event"} <= parents("merged/datasource_event")
    assert {"id_map/datasource_event", "id_map/package"} <= parents("merged/datasource_event_package")
    assert parents("repaired_arrays/dataset_metrics__package_indexes") == {
        "merged/dataset_metrics", "id_map/package", "merged/package"}
    assert parents("id_map/dataset") == {"staging_data"}


def test_checks_sit_under_their_assets_and_block(monkeypatch):
    definitions = load(monkeypatch)
    specs = {(s.asset_key.to_user_string(), s.name): s
             for asset in definitions.assets for s in asset.check_specs}
    for key in [("merged/datasource", "foreign_keys_resolve"), ("merged/datasource", "natural_key_unique"),
                ("merged/datasource", "rows_conserved"), ("id_map/package", "map_complete"),
                ("repaired_arrays/datasource__package_indexes", "array_elements_exist"), ("sequences", "sequences_ahead"),
                ("integrity_report", "lossless")]:
        assert specs[key].blocking, key


def test_publish_comes_last_and_jobs_run_in_the_runs_own_process(monkeypatch):
    definitions = load(monkeypatch)
    graph = definitions.resolve_asset_graph()
    assert {k.to_user_string() for k in graph.get(dg.AssetKey("published")).parent_keys} == {"integrity_report"}
    assert {"merge", "undo"} <= {job.name for job in definitions.jobs}
    assert definitions.resolve_job_def("merge").executor_def.name == "pgmerge_threads"


def test_the_report_waits_for_the_last_steps_only_and_tables_carry_owners_and_tags(monkeypatch, tmp_path):
    import yaml

    from pgmerge_assets.assets.resources import SPEC_ENV
    from pgmerge_assets.paths import REFERENCE_SPEC

    raw = yaml.safe_load(REFERENCE_SPEC.read_text())
    raw["tables"]["datasource"].update(owners=["team:data", "ana@example.com"], tags={"domain": "scans"})
    spec = tmp_path / "owned.yaml"
    spec.write_text(yaml.safe_dump(raw))
    monkeypatch.setenv(SPEC_ENV, str(spec))
    graph = load(monkeypatch).resolve_asset_graph()
    report_parents = {k.to_user_string() for k in graph.get(dg.AssetKey("integrity_report")).parent_keys}
    assert report_parents == {  # no fan of every step: what no other step waits for (link tables have no id)
        "sequences", "repaired_arrays/dataset_metrics__package_indexes", "repaired_arrays/datasource__package_indexes",
        "merged/datasource_event_finding", "merged/datasource_event_package", "merged/finding_finding_reporter"}
    node = graph.get(dg.AssetKey(["merged", "datasource"]))
    assert node.owners == ["team:data", "ana@example.com"] and node.tags["domain"] == "scans"
