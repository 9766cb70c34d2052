"""Restoring pg_dump output (every format, full and data-only) on the real test server.

Run against the embedded PostgreSQL 18 by default, against PostgreSQL 15 with
PGMERGE_TEST_DSN=postgresql://postgres@127.0.0.1:5432/postgres, where restoring pg_dump 18 output is
the version-skew case. The helpers at the top are shared with test_staging_load.py.
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from pgmerge_assets.paths import REFERENCE_SCHEMA_SQL
from pgmerge_assets.pg.embedded import drop_database, ensure_database, with_dbname
from pgmerge_assets.pg.archive_toc import ArchiveVersionError
from pgmerge_assets.pg.dump_format import DumpError, detect_format
from pgmerge_assets.pg.plain_stream import DumpStream
from pgmerge_assets.pg.restore import dump_info, existing_tables, restore_dump, run_psql
from pgmerge_assets.demo.generate import TABLES as REFERENCE_TABLES
from pgmerge_assets.pg.tools import embedded_bin_dirs, find_tool, tool_conninfo

TABLES = list(REFERENCE_TABLES)
PUBLIC_TABLES = [("public", t) for t in TABLES]

# (variant name, pg_dump arguments, format name, data_only, inserts)
VARIANTS = [
    ("plain", [], "plain", False, False),
    ("plain-inserts", ["--column-inserts"], "plain", False, True),
    ("custom", ["-Fc"], "custom", False, False),
    ("directory", ["-Fd"], "directory", False, False),
    ("tar", ["-Ft"], "tar", False, False),
    ("plain-data", ["--data-only"], "plain", True, False),
    ("plain-inserts-data", ["--data-only", "--column-inserts"], "plain", True, True),
    ("custom-data", ["-Fc", "--data-only"], "custom", True, False),
    ("directory-data", ["-Fd", "--data-only"], "directory", True, False),
    ("tar-data", ["-Ft", "--data-only"], "tar", True, False),
]

# A few values that stress COPY text escaping and the dump scanner.
AWKWARD = (
    "tab\there, newline\nthere, back\\slash, \\. dot, ünïcødé, -- Data for Name: x; Type: TABLE DATA; Schema: public;"
)


FILL_SQL = """
            INSERT INTO dataset (id, name, description, created_at)
            SELECT g, %(p)s || '-dataset-' || g, CASE WHEN g %% 3 = 0 THEN NULL ELSE %(awk)s END,
                   timestamptz '2024-01-01 00:00+00' + g * interval '1 hour'
            FROM generate_series(1, %(n)s) g;
            INSERT INTO package (id, purl, version, license)
            SELECT g, 'pkg:pypi/' || %(p)s || g, g || '.0', CASE WHEN g %% 2 = 0 THEN 'MIT' END
            FROM generate_series(1, 4 * %(n)s) g;
            INSERT INTO datasource (id, purl, dataset_id, url, package_indexes)
            SELECT g, 'ds:' || %(p)s || g, 1 + g %% %(n)s, 'https://example.org/' || g,
                   ARRAY[1 + g %% (4 * %(n)s), 1 + (g * 7) %% (4 * %(n)s)]::bigint[]
            FROM generate_series(1, 2 * %(n)s) g;
            INSERT INTO finding (id, identifier, severity, summary)
            SELECT g, 'CVE-' || %(p)s || '-' || g, (ARRAY['low','high'])[1 + g %% 2], %(awk)s
            FROM generate_series(1, %(n)s) g;
            INSERT INTO finding_reporter (id, name, email)
            SELECT g, %(p)s || '-reporter-' || g, 'r' || g || '@example.org' FROM generate_series(1, %(n)s) g;
            INSERT INTO datasource_event (id, datasource_id, kind, occurred_at, payload)
            SELECT g, 1 + g %% (2 * %(n)s), 'scan', timestamptz '2024-02-01 00:00+00' + g * interval '1 minute',
                   jsonb_build_object('g', g, 'note', %(awk)s)
            FROM generate_series(1, 3 * %(n)s) g;
            INSERT INTO datasource_event_package (datasource_event_id, package_id)
            SELECT g, 1 + g %% (4 * %(n)s) FROM generate_series(1, 3 * %(n)s) g;
            INSERT INTO datasource_event_finding (datasource_event_id, finding_id)
            SELECT g, 1 + g %% %(n)s FROM generate_series(1, 3 * %(n)s) g;
            INSERT INTO finding_finding_reporter (finding_id, finding_reporter_id)
            SELECT g, 1 + g %% %(n)s FROM generate_series(1, %(n)s) g;
            INSERT INTO dataset_metrics (id, dataset_id, txid, recorded_at, package_count, package_indexes)
            SELECT g, 1 + g %% %(n)s, 1000 + g, timestamptz '2024-03-01 00:00+00' + g * interval '1 day', g,
                   ARRAY[1, 2, g]::bigint[]
            FROM generate_series(1, 2 * %(n)s) g;
            INSERT INTO datasource_metrics (id, datasource_id, recorded_at, event_count)
            SELECT g, 1 + g %% (2 * %(n)s), timestamptz '2024-03-01 00:00+00' + g * interval '1 day', g
            FROM generate_series(1, 2 * %(n)s) g;
            INSERT INTO edit (id, dataset_id, author, edited_at, change)
            SELECT g, CASE WHEN g %% 4 = 0 THEN NULL ELSE 1 + g %% %(n)s END, 'author' || g,
                   timestamptz '2024-04-01 00:00+00' + g * interval '1 hour', jsonb_build_object('field', 'x')
            FROM generate_series(1, %(n)s) g;
            """


# ------------------------------------------------------------------------------------------------
# shared helpers


def new_db(admin_dsn: str, encoding: str | None = None) -> str:
    name = f"pgmerge_test_{uuid.uuid4().hex[:10]}"
    if encoding is None:
        ensure_database(admin_dsn, name)
    else:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING {} LOCALE 'C'").format(
                sql.Identifier(name), sql.Literal(encoding)))
    return with_dbname(admin_dsn, name)


def dbname(dsn: str) -> str:
    from psycopg.conninfo import conninfo_to_dict

    return conninfo_to_dict(dsn)["dbname"]


def load_reference_schema(dsn: str) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute(REFERENCE_SCHEMA_SQL.read_text())


def fill(dsn: str, scale: int = 1, prefix: str = "s", seq_value: int = 5000) -> None:
    """Rows in every reference table (scale ~ rows per 10), sequences pushed to `seq_value`."""
    n = 10 * scale
    with psycopg.connect(dsn, cursor_factory=psycopg.ClientCursor) as conn:
        for statement in FILL_SQL.split(";")[:-1]:
            conn.execute(statement, {"n": n, "p": prefix, "awk": AWKWARD})
        for (seq,) in conn.execute(
            "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) FROM pg_sequences"
            " WHERE schemaname = 'public'"
        ).fetchall():
            conn.execute("SELECT setval(%s::regclass, %s, true)", [seq, seq_value])


def row_counts(dsn: str, schema: str = "public", tables: list[str] = TABLES) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        return {
            t: conn.execute(
                sql.SQL("SELECT count(*) FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(t))
            ).fetchone()[0]
            for t in tables
        }


def table_checksums(dsn: str, schema: str = "public", tables: list[str] | None = None) -> dict[str, str]:
    """md5 of every row's text, ordered, per table."""
    with psycopg.connect(dsn) as conn:
        if tables is None:
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1", [schema]
                ).fetchall()
            ]
        out = {}
        for t in tables:
            q = sql.SQL(
                "SELECT count(*), md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '')) FROM {}.{} AS x"
            )
            n, digest = conn.execute(q.format(sql.Identifier(schema), sql.Identifier(t))).fetchone()
            out[t] = f"{n}:{digest}"
        return out


def public_fingerprint(dsn: str) -> dict:
    """Everything a staging load must not change: rows of every public table, every public
    sequence's last_value/is_called, and public's column definitions."""
    fp: dict = {"tables": table_checksums(dsn, "public")}
    with psycopg.connect(dsn) as conn:
        seqs = conn.execute("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1").fetchall()
        fp["sequences"] = {
            s: conn.execute(sql.SQL("SELECT last_value, is_called FROM public.{}").format(sql.Identifier(s))).fetchone()
            for (s,) in seqs
        }
        fp["columns"] = conn.execute(
            "SELECT table_name, column_name, data_type, column_default FROM information_schema.columns"
            " WHERE table_schema = 'public' ORDER BY 1, ordinal_position"
        ).fetchall()
    return fp


def pg_dump(dsn: str, out: Path, args: list[str], pg_bin: str | None = None) -> Path:
    tool = find_tool("pg_dump", pg_bin)
    conninfo, env = tool_conninfo(dsn)
    subprocess.run([str(tool.path), *args, "-f", str(out), "-d", conninfo], check=True, env=env, capture_output=True)
    return out


def make_dumps(dsn: str, folder: Path, variants=VARIANTS) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return {name: pg_dump(dsn, folder / name, args) for name, args, *_ in variants}


# ------------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def source_db(admin_dsn):
    dsn = new_db(admin_dsn)
    load_reference_schema(dsn)
    fill(dsn, scale=2)
    yield dsn
    drop_database(admin_dsn, dbname(dsn))


@pytest.fixture(scope="module")
def dumps(source_db, tmp_path_factory) -> dict[str, Path]:
    return make_dumps(source_db, tmp_path_factory.mktemp("dumps"))


# ------------------------------------------------------------------------------------------------
# detect_format / dump_info


@pytest.mark.parametrize("variant", VARIANTS, ids=[v[0] for v in VARIANTS])
def test_detect_format_and_dump_info(dumps, source_db, variant):
    name, _args, fmt, data_only, inserts = variant
    path = dumps[name]
    assert detect_format(path) == fmt
    info = dump_info(path)
    assert info.format == fmt
    assert info.data_only is data_only
    assert set(info.tables) == {f"public.{t}" for t in TABLES}
    assert info.pg_dump_version and info.pg_dump_version.split(".")[0] == str(find_tool("pg_dump").major)
    assert info.source_server_version
    if fmt == "plain":
        assert info.inserts is inserts
        assert info.archive_version is None
        expected = row_counts(source_db)
        assert {k.split(".", 1)[1]: v for k, v in info.row_counts.items() if v} == {
            t: n for t, n in expected.items() if n
        }
    else:
        assert info.archive_version and info.archive_version.startswith("1.")


def test_detect_format_rejects_bad_input(tmp_path):
    with pytest.raises(DumpError, match="does not exist"):
        detect_format(tmp_path / "nope.sql")
    empty = tmp_path / "empty.sql"
    empty.write_bytes(b"")
    with pytest.raises(DumpError, match="empty"):
        detect_format(empty)
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 20)
    with pytest.raises(DumpError, match="neither"):
        detect_format(junk)
    gz = tmp_path / "d.sql.gz"
    gz.write_bytes(b"\x1f\x8b\x08\x00" + b"\x00" * 100)
    with pytest.raises(DumpError, match="gzip"):
        detect_format(gz)
    cluster = tmp_path / "all.sql"
    cluster.write_text("--\n-- PostgreSQL database cluster dump\n--\n\nSET default_transaction_read_only = off;\n")
    with pytest.raises(DumpError, match="pg_dumpall"):
        detect_format(cluster)
    folder = tmp_path / "somedir"
    folder.mkdir()
    with pytest.raises(DumpError, match="not a pg_dump -Fd archive"):
        detect_format(folder)


# ------------------------------------------------------------------------------------------------
# restore_dump


@pytest.mark.parametrize("name", ["plain", "plain-inserts", "custom", "directory", "tar"])
def test_restore_full_dump_into_empty_db(dumps, source_db, fresh_db, name):
    result = restore_dump(fresh_db, dumps[name])
    assert result.format == detect_format(dumps[name])
    assert result.seconds > 0
    assert "psql" in result.client_tool_version
    assert result.server_version[0].isdigit()
    assert table_checksums(fresh_db) == table_checksums(source_db)
    # sequences come along as in the source
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("SELECT last_value FROM public.dataset_id_seq").fetchone()[0] == 5000


def test_restore_data_only_dump_onto_schema(dumps, source_db, fresh_db):
    load_reference_schema(fresh_db)
    restore_dump(fresh_db, dumps["custom-data"])
    assert row_counts(fresh_db) == row_counts(source_db)


def test_failed_restore_commits_nothing(dumps, fresh_db, tmp_path):
    broken = tmp_path / "broken.sql"
    text = dumps["plain"].read_text()
    marker = "COPY public.edit "
    assert marker in text
    # a statement that fails late in the dump: everything restored before it must roll back
    broken.write_text(text.replace(marker, "INSERT INTO public.no_such_table VALUES (1);\n" + marker, 1))
    with pytest.raises(DumpError) as err:
        restore_dump(fresh_db, broken)
    assert "no_such_table" in str(err.value)
    assert "nothing was committed" in str(err.value)
    assert existing_tables(fresh_db, PUBLIC_TABLES) == []


def test_restore_refuses_create_dumps(source_db, fresh_db, tmp_path):
    path = pg_dump(source_db, tmp_path / "create.sql", ["--create"])
    with pytest.raises(DumpError, match="--create"):
        restore_dump(fresh_db, path)
    assert existing_tables(fresh_db, PUBLIC_TABLES) == []


def test_errors_never_show_the_password(dumps, fresh_db, tmp_path):
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(fresh_db)
    params["password"] = "Sekr3t-pw-xyz"  # trust auth ignores it; it must still never be printed
    dsn = make_conninfo(**params)
    broken = tmp_path / "broken.sql"
    broken.write_text("SELECT 1;\nSELECT * FROM no_such_table;\n")
    with pytest.raises(DumpError) as err:
        restore_dump(dsn, broken)
    assert "Sekr3t-pw-xyz" not in str(err.value)
    assert "no_such_table" in str(err.value)


def test_existing_tables(fresh_db):
    assert existing_tables(fresh_db, [("public", "dataset"), ("public", "package")]) == []
    load_reference_schema(fresh_db)
    with psycopg.connect(fresh_db) as conn:
        conn.execute('CREATE SCHEMA other; CREATE TABLE other."Mixed.Case" (id int)')
    assert existing_tables(fresh_db, [("public", "package"), ("public", "nope"), ("other", "dataset"),
                                      ("other", "Mixed.Case"), ("public", "dataset")]) == [
        ("public", "package"), ("other", "Mixed.Case"), ("public", "dataset")]


# ------------------------------------------------------------------------------------------------
# version skew


def test_stream_drops_skew_lines_for_old_servers_and_psql(dumps, fresh_db):
    """pg_dump 18 writes `SET transaction_timeout` (servers < 17 reject it) and `\\restrict`
    (psql < 17.6 rejects it). With an old server and a psql said not to know \\restrict, the
    filtered stream has neither, and it still restores on the real server."""
    stream = DumpStream(server_major=15, strip_restrict=True)
    with open(dumps["plain"], "rb") as fh:
        out = b"".join(stream.filter(fh))
    assert b"transaction_timeout" not in out
    assert b"\\restrict" not in out and b"\\unrestrict" not in out
    assert "SET transaction_timeout = 0;" in stream.dropped
    original = dumps["plain"].read_bytes()
    assert out.count(b"\n") == original.count(b"\n") - 3  # exactly those three lines went
    run_psql(find_tool("psql"), fresh_db, iter([out]))
    assert existing_tables(fresh_db, PUBLIC_TABLES) == PUBLIC_TABLES


def test_stream_keeps_lines_the_server_knows(dumps):
    stream = DumpStream(server_major=18, strip_restrict=False)
    with open(dumps["plain"], "rb") as fh:
        out = b"".join(stream.filter(fh))
    assert out == dumps["plain"].read_bytes()
    assert stream.dropped == []


def test_scratch_streams_make_tables_unlogged_before_their_rows_and_restores_never(dumps, fresh_db, admin_dsn):
    """Dump #2 restored into scratch needs no WAL: its tables turn UNLOGGED after the definitions and before
    the first rows (once); a restore into the target (no scratch) keeps every table as the dump made it."""
    def persistence(dsn: str) -> set[str]:
        with psycopg.connect(dsn) as conn:
            return {r[0] for r in conn.execute("SELECT DISTINCT relpersistence FROM pg_class c JOIN pg_namespace n "
                                               "ON n.oid = c.relnamespace WHERE nspname = 'public' AND relkind = 'r'")}

    from pgmerge_assets_tests.conftest import server_major

    stream = DumpStream(server_major=server_major(admin_dsn), scratch=True)
    with open(dumps["plain"], "rb") as fh:
        out = b"".join(stream.filter(fh))
    assert out.count(b"SET UNLOGGED") == 1
    assert out.index(b"SET UNLOGGED") < out.index(b"\nCOPY ") and out.index(b"CREATE TABLE") < out.index(b"SET UNLOGGED")
    name = f"pgmerge_test_scratch_{uuid.uuid4().hex[:8]}"
    ensure_database(admin_dsn, name)
    try:
        run_psql(find_tool("psql"), with_dbname(admin_dsn, name), iter([out]))
        assert persistence(with_dbname(admin_dsn, name)) == {"u"}
        assert existing_tables(with_dbname(admin_dsn, name), PUBLIC_TABLES) == PUBLIC_TABLES
    finally:
        drop_database(admin_dsn, name)
    restore_dump(fresh_db, dumps["plain"])
    assert persistence(fresh_db) == {"p"}


def _older_pg_restore_bin() -> Path | None:
    """A bin folder whose pg_restore is older than the embedded pg_dump (the embedded 16)."""
    newest = find_tool("pg_dump").major
    for folder in embedded_bin_dirs():
        tool = folder / "pg_restore"
        if tool.is_file():
            from pgmerge_assets.pg.tools import tool_major

            if tool_major(str(tool)) < min(newest, 17):
                return folder
    return None


@pytest.mark.parametrize("name", ["custom", "directory", "tar"])
def test_old_pg_restore_names_the_versions(dumps, fresh_db, name):
    old = _older_pg_restore_bin()
    if old is None:
        pytest.skip("no pg_restore older than the archive format is installed")
    with pytest.raises(ArchiveVersionError) as err:
        restore_dump(fresh_db, dumps[name], pg_bin=str(old))
    msg = str(err.value)
    assert "1.16" in msg or "1.1" in msg
    assert str(old / "pg_restore") in msg
    assert "PGMERGE_PG_BIN" in msg
    assert existing_tables(fresh_db, PUBLIC_TABLES) == []


def test_plain_restore_throughput_is_copy_speed(admin_dsn, fresh_db, tmp_path):
    """A plain COPY dump streamed through the filter restores at COPY speed (>= 100k rows/s here)."""
    src = new_db(admin_dsn)
    try:
        with psycopg.connect(src) as conn:
            conn.execute("CREATE TABLE big (id bigint PRIMARY KEY, name text, at timestamptz)")
            conn.execute("INSERT INTO big SELECT g, 'name ' || g, now() FROM generate_series(1, 300000) g")
        path = pg_dump(src, tmp_path / "big.sql", [])
    finally:
        drop_database(admin_dsn, dbname(src))
    result = restore_dump(fresh_db, path)
    assert row_counts(fresh_db, tables=["big"]) == {"big": 300000}
    assert 300000 / result.seconds > 100_000, f"{result.seconds:.2f}s for 300k rows"
