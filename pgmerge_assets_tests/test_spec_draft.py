"""`pgmerge spec` drafts the checked-in reference spec from the catalog; only the array targets need a human."""

import psycopg
import pytest
import yaml

from pgmerge_assets.catalog.spec import SpecError, load_spec, parse_spec
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


def test_draft_of_several_schemas(fresh_db, capsys):
    """The first --schema is the target_schema; a name two schemas share is qualified in the other one."""
    with psycopg.connect(fresh_db) as conn:
        conn.execute("CREATE SCHEMA shop; CREATE SCHEMA crm;"
                     "CREATE TABLE shop.customer (id serial PRIMARY KEY, email text UNIQUE);"
                     "CREATE TABLE crm.customer (id serial PRIMARY KEY, handle text UNIQUE,"
                     " shop_customer_id int REFERENCES shop.customer);"
                     "CREATE TABLE crm.note (id serial PRIMARY KEY, customer_id int REFERENCES crm.customer)")
    assert main(["spec", "--dsn", fresh_db, "--schema", "shop", "--schema", "crm"]) == 0
    doc = yaml.safe_load(capsys.readouterr().out)
    assert doc["target_schema"] == "shop"
    assert list(doc["tables"]) == ["crm.customer", "customer", "note"]
    assert "schema" not in doc["tables"]["customer"]
    assert (doc["tables"]["crm.customer"]["schema"], doc["tables"]["crm.customer"]["table"]) == ("crm", "customer")
    assert doc["tables"]["crm.customer"]["foreign_keys"] == {"shop_customer_id": "customer"}
    assert doc["tables"]["note"]["schema"] == "crm" and "table" not in doc["tables"]["note"]
    assert doc["tables"]["note"]["foreign_keys"] == {"customer_id": "crm.customer"}

    assert main(["spec", "--dsn", fresh_db, "--schema", "shop", "--schema", "nosuch"]) == 1
    assert "schema nosuch holds no tables" in capsys.readouterr().err


@pytest.mark.parametrize("second_nullable", [True, False])
def test_draft_of_a_cycle_with_two_foreign_keys_to_one_table(fresh_db, capsys, second_nullable):
    """A table on a cycle with two foreign keys to the same table (the draft once looped forever on it):
    nothing is deferred any more, the cycle is named in both tables' notes, and the spec loads."""
    with psycopg.connect(fresh_db) as conn:
        conn.execute("CREATE TABLE team (id bigserial PRIMARY KEY, name text UNIQUE NOT NULL, captain_id bigint);"
                     "CREATE TABLE player (id bigserial PRIMARY KEY, email text UNIQUE NOT NULL,"
                     " team_ref bigint REFERENCES team,"
                     f" team_ref_2 bigint{'' if second_nullable else ' NOT NULL'} REFERENCES team);"
                     "ALTER TABLE team ADD FOREIGN KEY (captain_id) REFERENCES player")
    assert main(["spec", "--dsn", fresh_db]) == 0
    text = capsys.readouterr().out
    tables = yaml.safe_load(text)["tables"]
    assert not any("deferred_foreign_keys" in t for t in tables.values())
    assert all("on the foreign-key cycle" in tables[name]["note"] for name in ("team", "player"))
    assert [t.name for t in parse_spec(text).merged_tables]


def test_foreign_keys_declared_on_partitions_belong_to_the_partitioned_table(fresh_db, capsys):
    """As in the film-rental sample: payment is partitioned and each partition declares its own foreign key."""
    with psycopg.connect(fresh_db) as conn:
        conn.execute("CREATE TABLE customer (id bigserial PRIMARY KEY, email text UNIQUE NOT NULL);"
                     "CREATE TABLE payment (id bigserial, at date NOT NULL, customer_id bigint NOT NULL,"
                     " PRIMARY KEY (id, at)) PARTITION BY RANGE (at);"
                     "CREATE TABLE payment_2024 PARTITION OF payment FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');"
                     "CREATE TABLE payment_2025 PARTITION OF payment FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');"
                     "ALTER TABLE payment_2024 ADD FOREIGN KEY (customer_id) REFERENCES customer;"
                     "ALTER TABLE payment_2025 ADD FOREIGN KEY (customer_id) REFERENCES customer;")
    assert main(["spec", "--dsn", fresh_db]) == 0
    tables = yaml.safe_load(capsys.readouterr().out)["tables"]
    assert set(tables) == {"customer", "payment"}
    assert tables["payment"]["foreign_keys"] == {"customer_id": "customer"}


def test_the_draft_lists_the_triggers_that_fire_when_publishing(fresh_db, capsys):
    with psycopg.connect(fresh_db) as conn:
        conn.execute("CREATE TABLE film (id bigserial PRIMARY KEY, title text UNIQUE NOT NULL, last_update timestamptz);"
                     "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS "
                     "$$ BEGIN NEW.last_update = now(); RETURN NEW; END $$;"
                     "CREATE TRIGGER film_insert BEFORE INSERT ON film FOR EACH ROW EXECUTE FUNCTION touch();"
                     "CREATE TRIGGER film_update BEFORE UPDATE ON film FOR EACH ROW EXECUTE FUNCTION touch();")
    assert main(["spec", "--dsn", fresh_db]) == 0
    note = yaml.safe_load(capsys.readouterr().out)["tables"]["film"]["note"]
    assert "triggers on INSERT, which fire when pgmerge publishes: film_insert" in note and "film_update" not in note
