"""PgMergeComponent: two merges (two pairs of databases), each under its own key prefix, in one code location;
configured from the defs.yaml `dg scaffold defs` writes and loaded by `dg check defs` / `dg list defs`. Loading
touches no database."""

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import yaml

from pgmerge_assets.component import Env, Inputs, PgMergeComponent, Target

SECRET = "s3cret"
DSN = f"postgresql://me:{SECRET}@db.example:1/app?connect_timeout=1"


def two_merges(monkeypatch, tmp_path) -> dg.Definitions:
    monkeypatch.setenv("EAST_SOURCE_DSN", DSN)
    east = PgMergeComponent(key_prefix="east", target=Target(dsn=Env(env="EAST_SOURCE_DSN"), workdir=str(tmp_path)),
                            inputs=Inputs(dump1="/dumps/east1.dump", source_dsn=Env(env="EAST_SOURCE_DSN"),
                                          scratch_dsn=Env(env="EAST_UNSET_SCRATCH")))
    west = PgMergeComponent(key_prefix="west", inputs=Inputs(dump2="/dumps/west2.sql"))
    definitions = dg.Definitions.merge(east.definitions(tmp_path), west.definitions(tmp_path))
    dg.Definitions.validate_loadable(definitions)
    return definitions


def test_two_prefixed_merges_live_in_one_code_location(monkeypatch, tmp_path):
    definitions = two_merges(monkeypatch, tmp_path)
    graph = definitions.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {k.split("/")[0] for k in keys} == {"east", "west"}
    assert {"east/public_restored", "east/merged/datasource_event", "east/integrity_report", "east/published",
            "west/staging_data", "west/id_map/datasource", "west/sequences", "west/published"} <= keys

    def parents(key: str) -> set[str]:
        return {k.to_user_string() for k in graph.get(dg.AssetKey.from_user_string(key)).parent_keys}

    assert {"east/id_map/datasource", "east/id_map/datasource_event"} <= parents("east/merged/datasource_event")
    assert parents("west/published") == {"west/integrity_report"}
    checks = {(s.asset_key.to_user_string(), s.name) for asset in definitions.assets for s in asset.check_specs}
    assert {("east/integrity_report", "lossless"), ("west/merged/datasource", "foreign_keys_resolve")} <= checks

    assert {"east_merge", "east_undo", "west_merge", "west_undo"} <= {job.name for job in definitions.jobs}
    east_merge = definitions.resolve_job_def("east_merge")
    assert {k.path[0] for k in east_merge.asset_layer.selected_asset_keys} == {"east"}, "a merge runs its own graph"
    assert all(name.startswith("east__") for name in east_merge.graph.node_dict)
    assert east_merge.executor_def.name == "pgmerge_threads"
    assert list(definitions.resolve_job_def("west_undo").graph.node_dict) == ["west_undo_merge"]
    assert {s.name: s.job_name for s in definitions.sensors} == {"east_new_dump2": "east_merge",
                                                                 "west_new_dump2": "west_merge"}
    assert set(definitions.resources) == {"east_target", "east_inputs", "west_target", "west_inputs"}
    for asset in definitions.assets:
        prefix = next(iter(asset.keys)).path[0]
        assert asset.required_resource_keys - {"io_manager"} <= {f"{prefix}_target", f"{prefix}_inputs"}


def test_each_merge_launches_with_its_own_inputs_and_no_secret_copied(monkeypatch, tmp_path):
    definitions = two_merges(monkeypatch, tmp_path)
    job = definitions.resolve_job_def("east_merge")
    defaults = dg.validate_run_config(job, {})["resources"]
    assert defaults["east_inputs"]["config"]["dump1"] == "/dumps/east1.dump"
    assert defaults["east_target"]["config"]["workdir"] == str(tmp_path)

    incoming = tmp_path / "incoming"  # the sensor watches <workdir>/incoming
    incoming.mkdir()
    dump = incoming / "east2.sql"
    dump.write_text("-- dump #2\n")
    os.utime(dump, (0, 0))
    sensor = definitions.resolve_sensor_def("east_new_dump2")
    [request] = sensor(dg.build_sensor_context(definitions=definitions, sensor_name="east_new_dump2"))
    assert request.run_config == {"resources": {"east_inputs": {"config": {
        "dump1": "/dumps/east1.dump", "source_dsn": {"env": "EAST_SOURCE_DSN"}, "dump2": str(dump)}}}}, \
        "the other inputs as configured, a variable by name; an unset one as if omitted"
    dg.validate_run_config(job, request.run_config)
    assert definitions.resources["east_target"].dsn == dg.EnvVar("EAST_SOURCE_DSN"), "read when a run starts"


def dg_cli(project: Path, *args: str) -> subprocess.CompletedProcess:
    """The real `dg` of this environment, run in `project` (the environment has pgmerge_assets installed, so its
    registry entry point names PgMergeComponent)."""
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "COLUMNS": "200",
           "EAST_TARGET_DSN": DSN}
    return subprocess.run([str(bin_dir / "dg"), *args], cwd=project, env=env, capture_output=True, text=True,
                          timeout=300)


def test_dg_scaffolds_a_defs_yaml_that_dg_check_and_list_load(tmp_path):
    project = tmp_path / "merges"
    (project / "merges" / "defs").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        '[project]\nname = "merges"\nversion = "0"\n\n[tool.dg]\ndirectory_type = "project"\n\n'
        '[tool.dg.project]\nroot_module = "merges"\n')
    (project / "merges" / "__init__.py").write_text("")
    (project / "merges" / "definitions.py").write_text(
        "from pathlib import Path\n\nimport dagster as dg\n\n\n@dg.definitions\ndef defs():\n"
        "    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)\n")

    scaffolded = dg_cli(project, "scaffold", "defs", "pgmerge_assets.PgMergeComponent", "east")
    assert scaffolded.returncode == 0, scaffolded.stderr
    east = project / "merges" / "defs" / "east"
    config = yaml.safe_load((east / "defs.yaml").read_text())
    assert config["type"] == "pgmerge_assets.PgMergeComponent" and config["attributes"]["key_prefix"] == "east"
    assert config["attributes"]["target"]["dsn"] == {"env": "EAST_TARGET_DSN"}
    assert (east / config["attributes"]["spec"]).is_file(), "the spec to edit sits beside defs.yaml"
    config["attributes"]["key_prefix"] = "west"  # a second pair of databases, the spec read from east's folder
    config["attributes"]["spec"] = "../east/pgmerge.yaml"
    (east.parent / "west").mkdir()
    (east.parent / "west" / "defs.yaml").write_text(yaml.safe_dump(config))

    checked = dg_cli(project, "check", "defs")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    listed = dg_cli(project, "list", "defs", "--json")
    assert listed.returncode == 0, listed.stderr
    assert SECRET not in listed.stdout
    found = json.loads(listed.stdout)
    keys = {a["asset_key"] for a in found["assets"]}
    assert {"east/merged/datasource_event", "west/merged/datasource_event", "west/published"} <= keys
    assert {k.split("/")[0] for k in keys} == {"east", "west"}
    assert {"east_merge", "east_undo", "west_merge", "west_undo"} == {j["name"] for j in found["jobs"]}
    assert {"east_new_dump2", "west_new_dump2"} == {s["name"] for s in found["sensors"]}
    assert {"east_target", "east_inputs", "west_target", "west_inputs"} == {r["name"] for r in found["resources"]}
