"""The UI's plumbing without a browser: the Dagster home in PostgreSQL, launch-time config, the dump sensor."""

from __future__ import annotations

import os
import shutil
import time
import uuid

import dagster as dg
import psycopg

from pgmerge_assets.assets.resources import DUMP1_ENV, SOURCE_DSN_ENV, TARGET_DSN_ENV
from pgmerge_assets.assets.sensor import WATCH_DIR_ENV, content_hash
from pgmerge_assets.instance import DAGSTER_DB, KEPT_CONNECTIONS, PASSWORD_ENV, storage_config, workdir_instance


def definitions(monkeypatch):
    monkeypatch.setenv(TARGET_DSN_ENV, "postgresql://nobody:secret@127.0.0.1:1/none?connect_timeout=1")
    from pgmerge_assets.definitions import defs

    return defs()


def test_history_is_kept_in_the_servers_dagster_database(tmp_path, admin_dsn, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)

    @dg.asset
    def answer() -> int:
        return 42

    with workdir_instance(tmp_path, admin_dsn) as instance:
        run_id = dg.materialize([answer], instance=instance).run_id
        # the event log remembers its tables instead of asking the catalog for them at every event
        assert ("table", "asset_event_tags") in instance.event_log_storage._known
    with workdir_instance(tmp_path, admin_dsn) as instance:  # a new process would see the same
        assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.SUCCESS
        assert not instance.telemetry_enabled  # Dagster's usage statistics stay off in pgmerge's own home
    with psycopg.connect(admin_dsn) as conn:
        assert conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DAGSTER_DB]).fetchone()
    assert "postgresql+psycopg2" in (tmp_path / "dagster_home" / "dagster.yaml").read_text()


def test_the_storages_keep_a_connection_for_each_thread_that_stores_events(tmp_path, admin_dsn, monkeypatch):
    """A run's step threads and its main thread store events at once: dagster-postgres's pools keep one
    connection and open (and close) another for nearly every event stored meanwhile (~50 server sessions a
    run); pgmerge's Dagster home keeps as many as store at once, and events from several threads still land."""
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    name = f"threads_{uuid.uuid4().hex[:8]}"  # the dagster database outlives the test
    with workdir_instance(tmp_path, admin_dsn) as instance:
        assert instance.event_log_storage._engine.pool.size() == KEPT_CONNECTIONS
        assert instance.run_storage._engine.pool.size() == KEPT_CONNECTIONS
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda i: instance.report_runless_asset_event(dg.AssetMaterialization(f"{name}_{i % 4}")),
                          range(40)))
        assert len(instance.fetch_materializations(dg.AssetKey(f"{name}_0"), limit=100).records) == 10
        assert instance.event_log_storage._engine.pool.checkedin() > 1  # kept, not closed


def test_dagster_yaml_reaches_sockets_and_never_holds_a_password():
    def postgres_db(dsn: str) -> dict:
        storages = storage_config(dsn)
        dbs = [storages[s]["config"]["postgres_db"] for s in ("run_storage", "event_log_storage", "schedule_storage")]
        assert dbs[0] == dbs[1] == dbs[2]
        return dbs[0]

    socket = postgres_db("postgresql://postgres:@/postgres?host=/w/pgdata")
    assert socket["hostname"] == "" and socket["params"]["host"] == "/w/pgdata" and socket["db_name"] == DAGSTER_DB
    tcp = postgres_db("postgresql://me:s3cret@db.example:6543/app?sslmode=require")
    assert tcp["password"] == {"env": PASSWORD_ENV} and "s3cret" not in repr(tcp)
    assert (tcp["hostname"], tcp["port"], tcp["params"]["sslmode"]) == ("db.example", 6543, "require")


def test_launchpad_offers_the_inputs_with_the_environment_as_defaults(monkeypatch):
    monkeypatch.setenv(DUMP1_ENV, "/dumps/one.dump")
    monkeypatch.setenv(SOURCE_DSN_ENV, "postgresql://me:s3cret@src/db")
    job = definitions(monkeypatch).resolve_job_def("merge")
    defaults = dg.validate_run_config(job, {})["resources"]
    assert defaults["inputs"]["config"]["dump1"] == "/dumps/one.dump"
    assert defaults["target"]["config"]["lock_timeout"] == 60
    chosen = dg.validate_run_config(job, {"resources": {"inputs": {"config": {"dump2": "/dumps/two.sql"}},
                                                        "target": {"config": {"lock_timeout": 5}}}})["resources"]
    assert chosen["inputs"]["config"]["dump2"] == "/dumps/two.sql" and chosen["target"]["config"]["lock_timeout"] == 5


def test_sensor_merges_each_new_dump_once_by_content(tmp_path, monkeypatch):
    watched = tmp_path / "incoming"
    watched.mkdir()
    monkeypatch.setenv(WATCH_DIR_ENV, str(watched))
    monkeypatch.setenv(DUMP1_ENV, "/dumps/one.dump")
    monkeypatch.setenv(SOURCE_DSN_ENV, "postgresql://me:s3cret@src/db")
    defs = definitions(monkeypatch)
    sensor = defs.resolve_sensor_def("new_dump2")
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED and sensor.job_name == "merge"

    settled = time.time() - 60
    first = watched / "b.sql"
    first.write_text("-- dump #2, monday\n")
    shutil.copy(first, watched / "a-copy.sql")
    (watched / "c.dump").write_text("-- dump #2, tuesday\n")
    (watched / "writing.sql").write_text("-- still being written")
    for path in (first, watched / "a-copy.sql", watched / "c.dump"):
        os.utime(path, (settled, settled))

    context = dg.build_sensor_context(definitions=defs, sensor_name="new_dump2")
    requests = sensor(context)
    assert [r.run_key for r in requests] == [content_hash(first), content_hash(first), content_hash(watched / "c.dump")]
    job = defs.resolve_job_def("merge")
    for request in requests:
        config = dg.validate_run_config(job, request.run_config)["resources"]["inputs"]["config"]
        assert config["dump2"].endswith(request.tags["pgmerge/dump2"])
        assert config["dump1"] == "/dumps/one.dump", "the other inputs keep their defaults"
        assert "s3cret" not in repr(request.run_config), "secrets stay in the environment, named, not copied"

    # the next tick reads the cursor: unchanged files are not hashed again, and keep their run keys
    later = sensor(dg.build_sensor_context(definitions=defs, sensor_name="new_dump2", cursor=context.cursor))
    assert {r.run_key for r in later} == {r.run_key for r in requests}
