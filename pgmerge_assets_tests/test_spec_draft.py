"""`pgmerge spec` drafts the checked-in reference spec from the catalog; only the array targets need a human."""

import psycopg
import pytest
import yaml

from pgmerge_assets.catalog.spec import SpecError, load_spec
from pgmerge_assets.cli import main
from pgmerge_assets.paths import REFERENCE_SCHEMA_SQL, REFERENCE_SPEC


def test_draft_matches_reference_spec_but_for_array_targets(fresh_db, tmp_path, capsys):
    with psycopg.connect(fresh_db) as conn:
        conn.execute(REFERENCE_SCHEMA_SQL.read_text())
    out = tmp_path / "draft.yaml"
    assert main(["spec", "--dsn", fresh_db, "--output", str(out)]) == 0
    assert "name the table of each array column" in capsys.readouterr().out

    draft = yaml.safe_load(out.read_text())
    reference = yaml.safe_load(REFERENCE_SPEC.read_text())
    assert draft["tables"]["datasource"]["arrays"] == {"package_indexes": None}
    assert draft["tables"]["dataset_metrics"]["arrays"] == {"package_indexes": None}
    for name in ("datasource", "dataset_metrics"):
        draft["tables"][name]["arrays"] = reference["tables"][name]["arrays"]
    assert draft == reference

    with pytest.raises(SpecError, match="arrays.package_indexes: name the table its values reference"):
        load_spec(out)


def test_draft_guesses_strategies_from_keys(fresh_db, capsys):
    with psycopg.connect(fresh_db) as conn:
        conn.execute("CREATE TABLE person (id serial PRIMARY KEY, email text UNIQUE);"
                     "CREATE TABLE login (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, person_id int REFERENCES person);"
                     "CREATE TABLE loose (a int, b text)")
    assert main(["spec", "--dsn", fresh_db]) == 0
    tables = yaml.safe_load(capsys.readouterr().out)["tables"]
    assert tables["person"]["strategy"] == "natural_key" and tables["person"]["natural_key"] == ["email"]
    assert tables["login"]["strategy"] == "append" and tables["login"]["identity"] == "always"
    assert tables["login"]["foreign_keys"] == {"person_id": "person"}
    assert tables["loose"]["strategy"] == "append" and "id" not in tables["loose"]  # no key: appended once


def test_spec_that_contradicts_the_catalog_stops_before_staging(fresh_db, tmp_path):
    """A spec written for another version of the schema fails naming every table and column that differ."""
    from pgmerge_assets_tests.merge_helpers import materialize

    import dagster as dg

    with psycopg.connect(fresh_db) as conn:
        conn.execute(REFERENCE_SCHEMA_SQL.read_text())
        conn.execute("ALTER TABLE package ADD COLUMN homepage text; ALTER TABLE finding DROP COLUMN summary;"
                     "ALTER TABLE datasource ALTER COLUMN package_indexes TYPE text[]")
    result = materialize(fresh_db, tmp_path, selection=dg.AssetSelection.assets("staging_schema"))
    assert not result.success
    from pgmerge_assets.run import root_message

    message = next(root_message(e.step_failure_data.error) for e in result.all_events
                   if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    assert "the spec does not fit the target database (3 problems)" in message
    assert "table finding: spec column summary is not a column of public.finding" in message
    assert "table package: column homepage is missing from the spec's columns" in message
    assert "table datasource: arrays.package_indexes is text[], not an integer array" in message
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'staging'").fetchone()[0] == 0
