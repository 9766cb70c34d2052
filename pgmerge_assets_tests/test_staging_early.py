"""Dump #2's rows loaded into staging while dump #1 is being restored (dump2_restored), then kept by
staging_schema only where they are exactly what the regular load would have made: the same columns, the
target's keys and CHECK constraints. Everything else falls back to the regular load and its named errors,
with public untouched. Real dumps, real PostgreSQL, the graph's load assets."""

from __future__ import annotations

import dagster as dg
import psycopg
import pytest
from psycopg import sql

from pgmerge_assets.assets.resources import MergeInputs
from pgmerge_assets.pg.embedded import drop_database
from pgmerge_assets.run import root_message
from pgmerge_assets.templates import load
from pgmerge_assets_tests.merge_helpers import materialize
from pgmerge_assets_tests.test_restore import (
    TABLES,
    dbname,
    fill,
    load_reference_schema,
    new_db,
    pg_dump,
    public_fingerprint,
    table_checksums,
)

LOAD = dg.AssetSelection.groups("load")


def _dump(admin_dsn: str, path, *, scale: int, prefix: str, ddl: str = "") -> str:
    """A custom-format dump of the reference schema with rows, after `ddl`; the source database is dropped."""
    dsn = new_db(admin_dsn)
    try:
        load_reference_schema(dsn)
        fill(dsn, scale=scale, prefix=prefix)
        if ddl:
            with psycopg.connect(dsn) as conn:
                conn.execute(ddl)
        pg_dump(dsn, path, ["-Fc"])
        return table_checksums(dsn, "public", TABLES)
    finally:
        drop_database(admin_dsn, dbname(dsn))


def _load(target: str, tmp_path, dump1, dump2, scratch_admin_dsn):
    result = materialize(target, tmp_path / "work", selection=LOAD, inputs=MergeInputs(
        dump1=str(dump1), dump2=str(dump2), scratch_dsn=scratch_admin_dsn))
    metadata = {e.event_specific_data.materialization.asset_key.to_user_string():
                {k: v.value for k, v in e.event_specific_data.materialization.metadata.items()}
                for e in result.get_asset_materialization_events()}
    failures = [root_message(e.step_failure_data.error) for e in result.all_events
                if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    return result, metadata, failures


def _keys(dsn: str, schema: str) -> dict[str, set]:
    with psycopg.connect(dsn) as conn:
        return {t: {(kind, definition) for _, kind, definition in conn.execute(
                    load("staging/keys.sql"), {"table": sql.Identifier(schema, t).as_string(conn)})}
                for t in TABLES}


def _columns(dsn: str, schema: str) -> dict[str, list]:
    with psycopg.connect(dsn) as conn:
        return {t: conn.execute("SELECT attname, format_type(atttypid, atttypmod), attnotnull FROM pg_attribute "
                                "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                                [sql.Identifier(schema, t).as_string(conn)]).fetchall() for t in TABLES}


def test_dump2_is_loaded_while_dump1_restores_and_kept_as_the_regular_load_would_make_it(
        fresh_db, admin_dsn, scratch_admin_dsn, tmp_path):
    check = "ALTER TABLE package ADD CONSTRAINT version_short CHECK (length(version) < 60)"
    _dump(admin_dsn, tmp_path / "one.dump", scale=1, prefix="one", ddl=check)
    rows2 = _dump(admin_dsn, tmp_path / "two.dump", scale=3, prefix="two")  # without the CHECK
    result, metadata, failures = _load(fresh_db, tmp_path, tmp_path / "one.dump", tmp_path / "two.dump",
                                       scratch_admin_dsn)
    assert result.success, failures
    assert sum(metadata["dump2_restored"]["staging_rows"].values()) == metadata["dump2_restored"]["dagster/row_count"]
    assert metadata["staging_schema"]["early_rows_kept"] is True, metadata["staging_schema"]
    assert metadata["staging_data"]["loaded"] == "by dump2_restored"
    assert table_checksums(fresh_db, "staging", TABLES) == rows2
    # what a clone of the target's tables holds: the same columns, keys and CHECK constraints (no foreign keys)
    assert _columns(fresh_db, "staging") == _columns(fresh_db, "public")
    public_keys = _keys(fresh_db, "public")
    assert _keys(fresh_db, "staging") == public_keys
    assert ("c", "CHECK ((length(version) < 60))") in public_keys["package"]


@pytest.mark.parametrize("ddl, message, why", [
    ("ALTER TABLE datasource ALTER COLUMN url TYPE varchar(300)",
     "column url is character varying(300) in dump #2 but text in public", "columns differ"),
    ("ALTER TABLE package DROP CONSTRAINT package_purl_key; UPDATE package SET purl = 'dup' WHERE id IN (1, 2)",
     "package (2 rows repeating a key (purl))", "constraints refuse"),
    ("ALTER TABLE package ALTER COLUMN purl DROP NOT NULL; UPDATE package SET purl = NULL WHERE id <= 3",
     "package (3 rows with purl NULL)", "columns differ"),
], ids=["changed-type", "repeated-key", "null-in-required-column"])
def test_what_the_target_would_refuse_goes_through_the_regular_load_and_its_error(
        fresh_db, admin_dsn, scratch_admin_dsn, tmp_path, ddl, message, why):
    _dump(admin_dsn, tmp_path / "one.dump", scale=1, prefix="one")
    _dump(admin_dsn, tmp_path / "two.dump", scale=1, prefix="two", ddl=ddl)
    result, metadata, failures = _load(fresh_db, tmp_path, tmp_path / "one.dump", tmp_path / "two.dump",
                                       scratch_admin_dsn)
    assert "staging_rows" in metadata["dump2_restored"]  # dump #2's own definitions took its rows
    assert metadata["staging_schema"]["early_rows_kept"] is False
    assert why in metadata["staging_schema"]["made"], metadata["staging_schema"]
    assert not result.success
    assert len(failures) == 1 and failures[0].startswith("dump #2 table") and message in failures[0], failures
    restored = public_fingerprint(fresh_db)
    result, _, _ = _load(fresh_db, tmp_path, tmp_path / "one.dump", tmp_path / "two.dump", scratch_admin_dsn)
    assert public_fingerprint(fresh_db) == restored  # dump #1 restored once; the failed loads changed nothing


def test_a_dump1_holding_the_staging_schema_is_restored_before_staging_is_made(
        fresh_db, admin_dsn, scratch_admin_dsn, tmp_path):
    _dump(admin_dsn, tmp_path / "one.dump", scale=1, prefix="one",
          ddl="CREATE SCHEMA staging; CREATE TABLE staging.note (line text); INSERT INTO staging.note VALUES ('x')")
    _dump(admin_dsn, tmp_path / "two.dump", scale=2, prefix="two")
    result, metadata, failures = _load(fresh_db, tmp_path, tmp_path / "one.dump", tmp_path / "two.dump",
                                       scratch_admin_dsn)
    assert "dump #1 holds objects of schema staging" in metadata["dump2_restored"]["staging"]
    # restored with dump #1, the schema is not pgmerge's: staging_schema refuses it by name, as before
    assert not result.success and "staging" in failures[0], failures
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("SELECT line FROM staging.note").fetchall() == [("x",)]
        assert conn.execute("SELECT count(*) FROM public.package").fetchone()[0] > 0
