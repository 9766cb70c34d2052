"""The demo generator against a real PostgreSQL (PGMERGE_TEST_DSN or the embedded server).

Dumps are restored with the real psql / pg_restore and read back with canonical_rows, the
independent oracle; the truth must be exactly db1's records + db2-only records + both histories.
"""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from collections import Counter
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from pgmerge_assets.demo.generate import (
    HISTORY_TABLES,
    TABLES,
    canonical_rows,
    generate_demo,
)
from pgmerge_assets.paths import REFERENCE_SCHEMA_SQL
from pgmerge_assets.pg.embedded import drop_database, ensure_database, with_dbname
from pgmerge_assets.pg.tools import PgToolError, embedded_bin_dirs, find_tool

from .conftest import server_major

# natural key fields of each canonical row; history tables have none
KEYS = {
    "dataset": ("name",),
    "package": ("purl",),
    "datasource": ("purl",),
    "finding": ("identifier",),
    "finding_reporter": ("name",),
    "datasource_event": ("datasource", "kind", "occurred_at"),
    "datasource_event_package": ("datasource_event", "package"),
    "datasource_event_finding": ("datasource_event", "finding"),
    "finding_finding_reporter": ("finding", "finding_reporter"),
}
ROOTS = ("dataset", "package", "finding", "finding_reporter")
JOIN_TABLES = ("datasource_event_package", "datasource_event_finding", "finding_finding_reporter")
CONFLICT_TABLES = ("dataset", "package", "datasource", "finding", "finding_reporter", "datasource_event")
# pg_dump 17+ writes this line; a PostgreSQL 15/16 server rejects it (and nothing else must fail)
VERSION_SKEW_ERROR = 'unrecognized configuration parameter "transaction_timeout"'


def natural_key(table: str, row: str) -> str:
    data = json.loads(row)
    return json.dumps([data[field] for field in KEYS[table]], sort_keys=True)


def keyed(table: str, rows: list[str]) -> dict[str, str]:
    out = {natural_key(table, row): row for row in rows}
    assert len(out) == len(rows), f"{table}: natural keys are not unique"
    return out


def _errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "ERROR" in line and VERSION_SKEW_ERROR not in line]


def psql_file(dsn: str, path: Path) -> None:
    """Run a plain SQL file with psql 18; tolerate only the version-skew SET (VERSION_SKEW_ERROR)."""
    psql = find_tool("psql")
    proc = subprocess.run(
        [str(psql.path), "--no-psqlrc", "--quiet", "--dbname", dsn, "--file", str(path)],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not _errors(proc.stderr), proc.stderr[-2000:]


def pg_restore(dsn: str, path: Path) -> None:
    tool = find_tool("pg_restore")
    proc = subprocess.run(
        [str(tool.path), "--no-owner", "--no-privileges", "--dbname", dsn, str(path)],
        capture_output=True, text=True, check=False,
    )
    assert not _errors(proc.stderr), proc.stderr[-2000:]
    if proc.returncode != 0:  # only acceptable for the ignored version-skew error
        assert VERSION_SKEW_ERROR in proc.stderr, proc.stderr[-2000:]


def create_schema(dsn: str) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute(REFERENCE_SCHEMA_SQL.read_text())


def canon(dsn: str, schema: str = "public") -> dict[str, list[str]]:
    with psycopg.connect(dsn) as conn:
        return canonical_rows(conn, schema)


class Databases:
    """Scratch databases for one test module, dropped at the end."""

    def __init__(self, admin_dsn: str):
        self.admin_dsn = admin_dsn
        self.names: list[str] = []

    def new(self) -> str:
        name = f"pgmerge_test_{uuid.uuid4().hex[:10]}"
        ensure_database(self.admin_dsn, name)
        self.names.append(name)
        return with_dbname(self.admin_dsn, name)

    def drop_all(self) -> None:
        for name in self.names:
            drop_database(self.admin_dsn, name)


@pytest.fixture(scope="module")
def dbs(admin_dsn):
    databases = Databases(admin_dsn)
    yield databases
    databases.drop_all()


@pytest.fixture(scope="module")
def demo(admin_dsn, tmp_path_factory):
    return generate_demo(tmp_path_factory.mktemp("demo42"), scale=1, seed=42, admin_dsn=admin_dsn)


@pytest.fixture(scope="module")
def truth(demo):
    return json.loads(demo.truth.read_text())


@pytest.fixture(scope="module")
def restored(demo, dbs):
    """dump1.sql and dump2.sql restored with psql, each into its own database."""
    out = {}
    for which, path in (("db1", demo.dump1_sql), ("db2", demo.dump2_sql)):
        dsn = dbs.new()
        psql_file(dsn, path)
        out[which] = dsn
    return out


@pytest.fixture(scope="module")
def canon1(restored):
    return canon(restored["db1"])


@pytest.fixture(scope="module")
def canon2(restored):
    return canon(restored["db2"])


def copy_sections(path: Path) -> list[str]:
    return re.findall(r"^COPY .*?^\\\.$", path.read_text(), flags=re.MULTILINE | re.DOTALL)


def data_lines(path: Path) -> list[str]:
    """The data of a plain dump: COPY sections, INSERTs and setval calls (DDL may vary by server)."""
    lines = [line for line in path.read_text().splitlines()
             if line.startswith(("INSERT INTO ", "SELECT pg_catalog.setval("))]
    return copy_sections(path) + lines


# ---------------------------------------------------------------- files


def test_every_file_exists_and_is_not_empty(demo):
    for path in (demo.dump1_sql, demo.dump1_custom, demo.dump2_sql, demo.dump2_custom, demo.dump2_data_sql,
                 demo.dump2_data_custom, demo.dump2_inserts_sql, demo.truth):
        assert path.is_file() and path.stat().st_size > 0, path
        assert path.parent == demo.workdir
    assert demo.dump2_dir.is_dir() and (demo.dump2_dir / "toc.dat").stat().st_size > 0
    assert any(p.suffix == ".gz" or p.name.endswith(".dat") for p in demo.dump2_dir.iterdir() if p.name != "toc.dat")
    assert {p.name for p in demo.workdir.iterdir()} >= {
        "dump1.sql", "dump1.dump", "dump2.sql", "dump2.dump", "dump2.data.sql", "dump2.data.dump",
        "dump2.inserts.sql", "dump2.dir", "truth.json"}


def test_counts_cover_every_table_and_scale_1_is_small(demo):
    assert list(demo.counts1) == list(TABLES) and list(demo.counts2) == list(TABLES)
    assert all(n > 0 for n in demo.counts1.values()) and all(n > 0 for n in demo.counts2.values())
    total = sum(demo.counts1.values()) + sum(demo.counts2.values())
    assert 300 <= total <= 5000


def test_full_dumps_hold_schema_and_data_only_dumps_do_not(demo):
    for path in (demo.dump1_sql, demo.dump2_sql):
        text = path.read_text()
        assert "CREATE TABLE public.datasource " in text and "COPY public.datasource " in text
    for path in (demo.dump2_data_sql, demo.dump2_inserts_sql):
        text = path.read_text()
        assert "CREATE TABLE" not in text and "ALTER TABLE" not in text
    assert "COPY public.package " in demo.dump2_data_sql.read_text()
    inserts = demo.dump2_inserts_sql.read_text()
    assert "COPY " not in inserts and "INSERT INTO public.package (id, purl, version, license) VALUES" in inserts
    pg_restore_tool = find_tool("pg_restore")
    as_sql = subprocess.run([str(pg_restore_tool.path), "--file", "-", str(demo.dump2_data_custom)],
                            capture_output=True, text=True, check=True).stdout
    assert "CREATE TABLE" not in as_sql and "COPY public.package " in as_sql
    full = subprocess.run([str(pg_restore_tool.path), "--file", "-", str(demo.dump2_custom)],
                          capture_output=True, text=True, check=True).stdout
    assert "CREATE TABLE public.package " in full


def test_invalid_parameters_are_refused(tmp_path, admin_dsn):
    for kwargs in ({"scale": 0}, {"overlap": 1.5}, {"conflict_rate": -0.1}):
        with pytest.raises(ValueError):
            generate_demo(tmp_path, admin_dsn=admin_dsn, **kwargs)
    for kwargs in ({"seed": "42"}, {"scale": 1.5}):
        with pytest.raises(TypeError):
            generate_demo(tmp_path, admin_dsn=admin_dsn, **kwargs)


def test_pg_dump_older_than_the_server_is_refused(tmp_path, admin_dsn):
    old = [d for d in embedded_bin_dirs() if d.parent.name == "pginstall"]
    if not old or server_major(admin_dsn) <= find_tool("pg_dump", str(old[0])).major:
        pytest.skip("needs a pg_dump older than the test server")
    with pytest.raises(PgToolError, match="older than"):
        generate_demo(tmp_path, admin_dsn=admin_dsn, pg_bin=str(old[0]))


# ---------------------------------------------------------------- determinism


def test_same_seed_gives_identical_data(demo, admin_dsn, tmp_path):
    again = generate_demo(tmp_path, scale=1, seed=42, admin_dsn=admin_dsn)
    assert again.truth.read_bytes() == demo.truth.read_bytes()
    assert again.counts1 == demo.counts1 and again.counts2 == demo.counts2
    for attr in ("dump1_sql", "dump2_sql", "dump2_data_sql", "dump2_inserts_sql"):
        first, second = getattr(demo, attr), getattr(again, attr)
        assert data_lines(first) == data_lines(second), attr
    assert len(copy_sections(demo.dump1_sql)) == len(TABLES)
    assert len(data_lines(demo.dump2_inserts_sql)) == sum(demo.counts2.values()) + 9  # + 9 setval


def test_another_seed_gives_other_data(demo, truth, admin_dsn, tmp_path):
    other = generate_demo(tmp_path, scale=1, seed=43, admin_dsn=admin_dsn)
    other_truth = json.loads(other.truth.read_text())
    assert other_truth["seed"] == 43
    for table in TABLES:
        assert other_truth["tables"][table] != truth["tables"][table], table
    assert copy_sections(other.dump1_sql) != copy_sections(demo.dump1_sql)


# ---------------------------------------------------------------- content of the two databases


def test_restoring_dump1_gives_db1(demo, fresh_db, truth):
    psql_file(fresh_db, demo.dump1_sql)
    rows = canon(fresh_db)
    assert {table: len(r) for table, r in rows.items()} == demo.counts1
    for table in KEYS:  # db1's records carry db1's values, which are the truth
        assert set(rows[table]) <= set(truth["tables"][table]), table
    for table in HISTORY_TABLES:
        assert not Counter(rows[table]) - Counter(truth["tables"][table]), table


def test_every_format_of_a_dump_holds_the_same_rows(demo, dbs, canon1, canon2):
    one = dbs.new()
    pg_restore(one, demo.dump1_custom)
    assert canon(one) == canon1
    for path in (demo.dump2_custom, demo.dump2_dir):
        dsn = dbs.new()
        pg_restore(dsn, path)
        assert canon(dsn) == canon2, path.name
    for path in (demo.dump2_data_sql, demo.dump2_inserts_sql):
        dsn = dbs.new()
        create_schema(dsn)
        psql_file(dsn, path)
        assert canon(dsn) == canon2, path.name
    dsn = dbs.new()
    create_schema(dsn)
    pg_restore(dsn, demo.dump2_data_custom)
    assert canon(dsn) == canon2
    assert {table: len(r) for table, r in canon2.items()} == demo.counts2


def test_ids_collide_between_the_databases(restored):
    def ids(dsn: str, table: str, key: str) -> dict[int, str]:
        with psycopg.connect(dsn) as conn:
            query = sql.SQL("SELECT id, {} FROM {}").format(sql.Identifier(key), sql.Identifier("public", table))
            return dict(conn.execute(query).fetchall())

    for table, key in (("dataset", "name"), ("package", "purl"), ("datasource", "purl"), ("finding", "identifier")):
        one, two = ids(restored["db1"], table, key), ids(restored["db2"], table, key)
        assert min(one) == 1 and min(two) == 1
        clashing = [i for i in one.keys() & two.keys() if one[i] != two[i]]
        assert clashing, table
        # the same record has another id in the other database, often
        moved = [k for k in set(one.values()) & set(two.values())
                 if {v: i for i, v in one.items()}[k] != {v: i for i, v in two.items()}[k]]
        assert moved, table


def test_share_of_records_in_both_is_about_overlap(canon1, canon2):
    both = union = 0
    for table in ROOTS:
        one, two = set(keyed(table, canon1[table])), set(keyed(table, canon2[table]))
        both += len(one & two)
        union += len(one | two)
        share = len(one & two) / len(one | two)
        assert abs(share - 0.5) <= 0.5 / len(one | two) + 1e-9, table
    assert abs(both / union - 0.5) < 0.02
    for table in ("datasource", "datasource_event", "datasource_event_package"):
        one, two = set(keyed(table, canon1[table])), set(keyed(table, canon2[table]))
        assert one & two and one - two and two - one, table


def test_other_overlap_and_no_conflicts(admin_dsn, tmp_path, dbs):
    files = generate_demo(tmp_path, scale=1, seed=7, overlap=0.8, conflict_rate=0.0, admin_dsn=admin_dsn)
    truth = json.loads(files.truth.read_text())
    assert truth["conflicts"] == {table: 0 for table in CONFLICT_TABLES}
    one, two = dbs.new(), dbs.new()
    psql_file(one, files.dump1_sql)
    psql_file(two, files.dump2_sql)
    c1, c2 = canon(one), canon(two)
    both = union = 0
    for table in ROOTS:
        k1, k2 = keyed(table, c1[table]), keyed(table, c2[table])
        both += len(k1.keys() & k2.keys())
        union += len(k1.keys() | k2.keys())
        assert all(k1[k] == k2[k] for k in k1.keys() & k2.keys()), table
    assert abs(both / union - 0.8) < 0.02


def test_scale_grows_rows_linearly(demo, admin_dsn, tmp_path):
    double = generate_demo(tmp_path, scale=2, seed=42, admin_dsn=admin_dsn)
    one = sum(demo.counts1.values()) + sum(demo.counts2.values())
    two = sum(double.counts1.values()) + sum(double.counts2.values())
    assert 1.7 <= two / one <= 2.3


def test_conflicts_exist_and_are_listed_in_the_truth(truth, canon1, canon2):
    assert list(truth["conflicts"]) == list(CONFLICT_TABLES)
    for table in CONFLICT_TABLES:
        one, two = keyed(table, canon1[table]), keyed(table, canon2[table])
        differing = [k for k in one.keys() & two.keys() if one[k] != two[k]]
        assert len(differing) == truth["conflicts"][table] > 0, table
        truth_rows = set(truth["tables"][table])
        for k in differing:  # public wins
            assert one[k] in truth_rows and two[k] not in truth_rows
    one, two = keyed("datasource", canon1["datasource"]), keyed("datasource", canon2["datasource"])
    arrays_differ = [k for k in one.keys() & two.keys()
                     if json.loads(one[k])["package_indexes"] != json.loads(two[k])["package_indexes"]]
    assert arrays_differ


def test_truth_is_db1_plus_db2_only_records_plus_both_histories(truth, canon1, canon2):
    assert truth["seed"] == 42 and truth["scale"] == 1
    assert list(truth["tables"]) == list(TABLES)
    for table, rows in truth["tables"].items():
        assert rows == sorted(rows), table
    for table in KEYS:
        one, two = keyed(table, canon1[table]), keyed(table, canon2[table])
        expected = sorted(list(one.values()) + [row for k, row in two.items() if k not in one])
        assert truth["tables"][table] == expected, table
    for table in HISTORY_TABLES:
        assert truth["tables"][table] == sorted(canon1[table] + canon2[table]), table
        assert canon1[table] and canon2[table]


def test_package_indexes_hold_nulls_empties_and_null_elements(canon1, canon2):
    for rows in (canon1, canon2):
        for table in ("datasource", "dataset_metrics"):
            arrays = [json.loads(row)["package_indexes"] for row in rows[table]]
            assert any(a is None for a in arrays), table
            assert any(a == [] for a in arrays), table
            assert any(a and None in a for a in arrays), table
            assert any(a and None not in a and len(a) > 1 for a in arrays), table
        for table, table_rows in rows.items():
            assert not any("!dangling" in row for row in table_rows), table
    edits = [json.loads(row) for row in canon1["edit"] + canon2["edit"]]
    assert any(e["dataset"] is None for e in edits) and any(e["dataset"] for e in edits)


def test_arrays_only_mention_packages_of_their_database(restored):
    for dsn in restored.values():
        with psycopg.connect(dsn) as conn:
            for table in ("datasource", "dataset_metrics"):
                query = sql.SQL(
                    "SELECT count(*) FROM {} AS t CROSS JOIN LATERAL unnest(t.package_indexes) AS u(x) "
                    "LEFT JOIN public.package AS p ON p.id = u.x WHERE u.x IS NOT NULL AND p.id IS NULL"
                ).format(sql.Identifier("public", table))
                dangling = conn.execute(query).fetchone()[0]
                assert dangling == 0, table


def test_sequences_stand_past_max_id(restored):
    for dsn in restored.values():
        with psycopg.connect(dsn) as conn:
            for table in (t for t in TABLES if t not in JOIN_TABLES):
                seq = conn.execute("SELECT pg_get_serial_sequence(%s, 'id')", [f"public.{table}"]).fetchone()[0]
                assert seq, table
                query = sql.SQL("SELECT max(id) FROM {}").format(sql.Identifier("public", table))
                max_id = conn.execute(query).fetchone()[0]
                next_id = conn.execute("SELECT nextval(%s)", [seq]).fetchone()[0]
                assert next_id > max_id, table


def test_history_txids_overlap_between_databases(restored):
    def txids(dsn: str) -> set[int]:
        with psycopg.connect(dsn) as conn:
            return {row[0] for row in conn.execute("SELECT txid FROM public.dataset_metrics")}

    assert txids(restored["db1"]) & txids(restored["db2"])


def test_canonical_rows_reads_any_schema(demo, fresh_db, canon1):
    psql_file(fresh_db, demo.dump1_sql)
    with psycopg.connect(fresh_db) as conn:
        conn.execute('ALTER SCHEMA public RENAME TO "Odd ""schema"""')
        conn.commit()
        assert canonical_rows(conn, 'Odd "schema"') == canon1
        assert conn.execute("SHOW search_path").fetchone()[0] == '"$user", public'
