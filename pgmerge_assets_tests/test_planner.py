"""The planner needs no database: its order, its errors and the exact SQL it emits for the reference schema."""

import os
from pathlib import Path

import pytest
import yaml

from pgmerge_assets.catalog.spec import SpecError, load_spec
from pgmerge_assets.paths import REFERENCE_SPEC
from pgmerge_assets.plan.planner import build_plan
from pgmerge_assets.plan.proof import build_proofs

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
    insert = plan.step(("merged", "datasource")).statements[0].as_string()
    assert 'INSERT INTO "public"."datasource" ("id", "purl", "dataset_id", "url", "package_indexes")' in insert
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
    (lambda t: t["edit"].pop("sequence"), "table edit: strategy append needs the sequence that feeds its id column"),
    (lambda t: t["dataset"].update(foreign_keys={"description": "datasource"}),
     "foreign keys form a cycle: "),
])
def test_bad_specs_fail_on_load_naming_table_and_field(tmp_path, mutate, message):
    with pytest.raises(SpecError) as err:
        load_spec(_spec_with(tmp_path, mutate))
    assert message in str(err.value)
