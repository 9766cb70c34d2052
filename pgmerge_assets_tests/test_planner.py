"""The planner needs no database: its order, its errors and the exact SQL it emits for the reference schema."""

import os
from pathlib import Path

import pytest
import yaml

from pgmerge_assets.catalog.spec import SpecError, load_spec
from pgmerge_assets.paths import REFERENCE_SPEC
from pgmerge_assets.plan.common import id_map_key
from pgmerge_assets.plan.planner import build_plan
from pgmerge_assets.plan.proof import build_proofs
from pgmerge_assets.plan.staging import StagingPlan

SNAPSHOT = Path(__file__).parent / "snapshots" / "reference_plan.sql"


def render(plan, proofs) -> str:
    parts = []
    for step in plan.steps:
        parts.append(f"-- step {'/'.join(step.key)} after {', '.join('/'.join(d) for d in step.deps)}")
        parts += [f"-- guard {g.problem}\n{g.query.as_string()};" for g in step.guards]
        parts += [s.as_string().strip() + ";" for s in step.statements]
    for check in plan.checks:
        parts.append(f"-- check {'/'.join(check.step)}:{check.name}\n{check.query.as_string()};")
    for proof in proofs:
        parts.append(f"-- proof {proof.table}\n{proof.query.as_string()};")
    return "\n\n".join(parts) + "\n"


def test_reference_plan_sql_matches_snapshot():
    """Any change to the emitted SQL shows up in review as a diff of this snapshot."""
    spec = load_spec(REFERENCE_SPEC)
    text = render(build_plan(spec), build_proofs(spec))
    if os.environ.get("PGMERGE_UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(text)
    assert text == SNAPSHOT.read_text(), "planner output changed: rerun with PGMERGE_UPDATE_SNAPSHOTS=1 and review the diff"


def test_parents_come_before_children():
    plan = build_plan(load_spec(REFERENCE_SPEC))
    order = [s.key for s in plan.steps]
    for step in plan.steps:
        for dep in step.deps:
            if dep in order:
                assert order.index(dep) < order.index(step.key), (dep, step.key)
    merged = [s.table for s in plan.steps if s.kind == "merged"]
    assert merged.index("dataset") < merged.index("datasource") < merged.index("datasource_event")
    assert merged.index("datasource_event") < merged.index("datasource_event_package")


def test_lineage_names_the_maps_each_table_uses():
    plan = build_plan(load_spec(REFERENCE_SPEC))
    event = plan.step(("merged", "datasource_event"))
    assert ("id_map", "datasource") in event.deps and ("id_map", "datasource_event") in event.deps
    join = plan.step(("merged", "datasource_event_package"))
    assert {("id_map", "datasource_event"), ("id_map", "package")} <= set(join.deps)
    repair = plan.step(("repaired_arrays", "datasource__package_indexes"))
    assert set(repair.deps) == {("merged", "datasource"), ("id_map", "package"), ("merged", "package")}


def test_every_identifier_is_quoted():
    plan = build_plan(load_spec(REFERENCE_SPEC))
    insert = plan.step(("merged", "datasource")).statements[1].as_string()
    assert 'INSERT INTO "pgmerge"."pending_datasource" ("id", "purl", "dataset_id", "url", "package_indexes")' in insert
    assert 'LEFT JOIN "pgmerge"."map_dataset" AS "f0" ON "f0".staging_id = st."dataset_id"' in insert


def _spec_with(tmp_path, mutate) -> Path:
    raw = yaml.safe_load(REFERENCE_SPEC.read_text())
    mutate(raw["tables"])
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize("mutate, message", [
    (lambda t: t["datasource"]["foreign_keys"].update(dataset_id="nosuch"),
     "table datasource.foreign_keys.dataset_id: references table nosuch, which is not in the spec"),
    (lambda t: t["dataset"].update(natural_key=["title"]),
     "table dataset.natural_key: column title is not among the table's columns"),
    (lambda t: t["datasource"]["arrays"].update(package_indexes=None),
     "table datasource.arrays.package_indexes: name the table its values reference"),
    (lambda t: t["dataset"].update(strategy="upsert"), "table dataset: strategy must be one of"),
    (lambda t: t["edit"].update(keep_ids="yes"), "table edit.keep_ids: expected true or false, got 'yes'"),
    (lambda t: t["dataset"].update(foreign_keys={"description": "datasource"}, natural_key=["name", "description"])
     or t["datasource"].update(natural_key=["purl", "dataset_id"]),
     "natural keys form a cycle: "),
    (lambda t: t["edit"].update(references=[{"columns": ["dataset_id", "author"], "table": "dataset",
                                             "ref_columns": ["id"]}]),
     "table edit.references[0]: columns and ref_columns must be equally long and not empty"),
    (lambda t: t["edit"].update(references=[{"columns": ["dataset_id", "writer"], "table": "dataset",
                                             "ref_columns": ["id", "name"]}]),
     "table edit.references.(dataset_id, writer): column writer is not among the table's columns"),
    (lambda t: t["edit"].update(references=[{"columns": ["author"], "table": "finding_reporter",
                                             "ref_columns": ["handle"]}]),
     "table edit.references.(author): column handle is not among the columns of finding_reporter"),
    (lambda t: t["package"].update(schema="registry", table="dataset", natural_key=["name"],
                                   columns=["id", "name"]) or t["dataset"].update(schema="registry"),
     "table package: registry.dataset is also spec table dataset"),
    (lambda t: t["edit"].update(schema="staging"),
     "staging_schema staging is also the schema of table edit: pgmerge drops and recreates it"),
])
def test_bad_specs_fail_on_load_naming_table_and_field(tmp_path, mutate, message):
    with pytest.raises(SpecError) as err:
        load_spec(_spec_with(tmp_path, mutate))
    assert message in str(err.value)


def _two_schema_spec(tmp_path) -> Path:
    """Two tables named account in two schemas, and a reference on two columns to a join table."""
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump({"target_schema": "app", "tables": {
        "account": {"strategy": "natural_key", "natural_key": ["email"], "columns": ["id", "email"], "id": "id",
                    "sequence": "account_id_seq"},
        "auth.account": {"schema": "auth", "table": "account", "strategy": "natural_key", "natural_key": ["login"],
                         "columns": ["id", "login", "app_account_id"], "id": "id", "sequence": "ids",
                         "sequence_schema": "shared", "foreign_keys": {"app_account_id": "account"}},
        "membership": {"strategy": "natural_key", "natural_key": ["account_id", "auth_id"],
                       "columns": ["account_id", "auth_id"],
                       "foreign_keys": {"account_id": "account", "auth_id": "auth.account"}},
        "grant": {"strategy": "append", "columns": ["id", "member", "login_id", "note"], "id": "id",
                  "sequence": "grant_id_seq",
                  "references": [{"columns": ["member", "login_id"], "table": "membership",
                                  "ref_columns": ["account_id", "auth_id"]}]},
    }}))
    return path


def test_tables_of_several_schemas_and_references(tmp_path):
    spec = load_spec(_two_schema_spec(tmp_path))
    plan = build_plan(spec)
    # the spec's name is the staging clone's and the map's; the target's own schema and name are used there
    auth_map = plan.step(id_map_key("auth.account"))
    text = " ".join(s.as_string() for s in auth_map.statements)
    assert '"auth"."account"' in text and '"staging"."auth.account"' in text and '"pgmerge"."map_auth.account"' in text
    assert '"pgmerge"."next_shared.ids"' in text and '"shared"."ids" s' in text
    # a reference translates each column as the column it points at: member through account's map,
    # login_id through auth.account's map; grant waits for membership to be merged
    assert [(f.column, f.table) for f in spec.tables["grant"].mapped_columns] == [
        ("member", "account"), ("login_id", "auth.account")]
    grant = plan.step(("merged", "grant"))
    assert ("merged", "membership") in grant.deps and ("id_map", "account") in grant.deps
    check = next(c for c in plan.checks if c.step == ("merged", "grant") and c.name == "references_resolve")
    # checks read the merged view (target ∪ pending), which is built over the table in its own schema
    assert '"pgmerge"."merged_membership"' in check.query.as_string()
    views = " ".join(s.as_string() for s in StagingPlan(spec).start_over())
    assert 'CREATE VIEW "pgmerge"."merged_membership" AS\nSELECT "account_id", "auth_id" FROM "app"."membership"' in views


def test_every_step_runs_after_the_load_even_with_no_sequence_to_catch_up(tmp_path):
    """Only uuid ids (keep_ids): the sequences step caught up no table, had no deps, and ran before the staging
    load had created pgmerge's state table (UndefinedTable "pgmerge.state"); found by the property test."""
    from pgmerge_assets.plan.common import STAGING_DATA

    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump({"tables": {
        "tenant": {"strategy": "natural_key", "columns": ["id", "name"], "id": "id", "keep_ids": True,
                   "natural_key": ["name"]},
        "site": {"strategy": "natural_key", "columns": ["id", "url", "tenant_id"], "id": "id", "keep_ids": True,
                 "natural_key": ["url"], "foreign_keys": {"tenant_id": "tenant"}}}}))
    for spec in (load_spec(path), load_spec(REFERENCE_SPEC)):
        steps = {s.key: s for s in build_plan(spec).steps}

        def after_load(key) -> bool:
            return key == STAGING_DATA or (key in steps and bool(steps[key].deps)
                                           and all(after_load(d) for d in steps[key].deps))

        assert [key for key in steps if not after_load(key)] == []
