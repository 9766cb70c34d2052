"""Schemas that declare no key but the id: `pgmerge spec --dsn A --dsn2 B` reads natural keys, history and
undeclared references from the data, and the draft merges as it comes (two databases, pg_dump, the graph)."""

import shutil
import tempfile
import uuid
from pathlib import Path

import psycopg
import pytest
import yaml

from pgmerge_assets.assets.resources import MergeInputs, TargetDatabase
from pgmerge_assets.cli import main
from pgmerge_assets.pg.embedded import drop_database, ensure_database, with_dbname
from pgmerge_assets.pg.tools import find_tool, run_tool, tool_conninfo
from pgmerge_assets.run import run_graph

# A music store as the sample databases have it: serial ids, names and titles nobody declared unique,
# an employee tree by `reports_to`, plays as history, invoices as history their lines belong to.
MUSIC_DDL = """
CREATE TABLE artist (id serial PRIMARY KEY, name text NOT NULL);
CREATE TABLE album (id serial PRIMARY KEY, title text NOT NULL, artist_id int NOT NULL REFERENCES artist,
                    released int);
CREATE TABLE track (id serial PRIMARY KEY, name text NOT NULL, album_id int NOT NULL REFERENCES album,
                    milliseconds int NOT NULL, unit_price numeric(4, 2) NOT NULL);
CREATE TABLE employee (id serial PRIMARY KEY, first_name text NOT NULL, last_name text NOT NULL,
                       email text NOT NULL, reports_to int);
CREATE TABLE customer (id serial PRIMARY KEY, first_name text NOT NULL, last_name text NOT NULL, email text NOT NULL,
                       city text, support_rep_id int REFERENCES employee);
CREATE TABLE play (id serial PRIMARY KEY, track_id int NOT NULL REFERENCES track,
                   customer_id int NOT NULL REFERENCES customer, played_at timestamptz NOT NULL);
"""

# Each database holds the records k of its own (k % 3 <> 2 in db1, k % 3 <> 1 in db2: k % 3 = 0 in both),
# inserted in an order of its own, so the serial ids of one record differ between them.
MUSIC_DATA = """
INSERT INTO artist (name) SELECT 'Artist ' || k FROM generate_series(1, 40) k
 WHERE k % 3 <> {other} ORDER BY md5(k || '{salt}');
INSERT INTO album (title, artist_id, released)
 SELECT CASE WHEN k % 7 = 0 THEN 'Greatest Hits' ELSE 'Album ' || k END, a.id, 1960 + k % 50
 FROM generate_series(1, 80) k JOIN artist a ON a.name = 'Artist ' || (1 + k % 40)
 WHERE k % 3 <> {other} ORDER BY md5(k || '{salt}');
INSERT INTO track (name, album_id, milliseconds, unit_price)
 SELECT 'Track ' || (k % 61), al.id, 180000 + (k * 7919) % 90000, 0.99
 FROM generate_series(1, 300) k JOIN album al ON al.title = CASE WHEN (1 + k % 80) % 7 = 0 THEN 'Greatest Hits'
      ELSE 'Album ' || (1 + k % 80) END AND al.released = 1960 + (1 + k % 80) % 50
 WHERE k % 3 <> {other} ORDER BY md5(k || '{salt}');
INSERT INTO employee (first_name, last_name, email) SELECT 'E' || k, 'Staff', 'e' || k || '@store'
 FROM generate_series(1, 30) k WHERE k % 3 <> {other} OR k < 4 ORDER BY md5(k || '{salt}');
UPDATE employee e SET reports_to = b.id FROM employee b WHERE b.email = 'e1@store' AND e.email <> 'e1@store';
INSERT INTO customer (first_name, last_name, email, city, support_rep_id)
 SELECT 'C' || k, CASE WHEN k % 5 = 0 THEN 'Smith' ELSE 'Name' || k END, 'c' || k || '@mail', 'City ' || (k % 4),
        (SELECT id FROM employee WHERE email = 'e' || (1 + k % 3) || '@store')
 FROM generate_series(1, 60) k WHERE k % 3 <> {other} ORDER BY md5(k || '{salt}');
INSERT INTO play (track_id, customer_id, played_at)
 SELECT t.id, c.id, timestamptz '2024-01-01' + k * interval '1 minute' + {other} * interval '1 day'
 FROM generate_series(1, 200) k JOIN track t ON t.id = 1 + k % 50 JOIN customer c ON c.id = 1 + k % 20;
"""


@pytest.fixture
def databases(admin_dsn):
    """Three throwaway databases (db1, db2, target) and a work folder."""
    names = {role: f"pgmerge_data_{uuid.uuid4().hex[:8]}_{role}" for role in ("db1", "db2", "target")}
    work = Path(tempfile.mkdtemp(prefix="pgmerge-data-"))
    for name in names.values():
        ensure_database(admin_dsn, name)
    yield {role: with_dbname(admin_dsn, name) for role, name in names.items()}, work
    for name in names.values():
        drop_database(admin_dsn, name)
    shutil.rmtree(work, ignore_errors=True)


def _dump(dsn: str, path: Path) -> Path:
    conninfo, env = tool_conninfo(dsn)
    run_tool([str(find_tool("pg_dump").path), "-Fc", "--no-owner", "--no-privileges", "-f", str(path), "-d", conninfo],
             what=f"pg_dump of {path.name}", env=env)
    return path


def draft_and_merge(dbs: dict, work: Path, admin_dsn: str, capsys) -> tuple[dict, str, object]:
    """`pgmerge spec --dsn db1 --dsn2 db2`, unedited, then the whole graph from the two dumps into target."""
    spec_path = work / "spec.yaml"
    assert main(["spec", "--dsn", dbs["db1"], "--dsn2", dbs["db2"], "-o", str(spec_path)]) == 0
    capsys.readouterr()
    text = spec_path.read_text()
    outcome = run_graph(TargetDatabase(dsn=dbs["target"], workdir=str(work / "run")),
                        MergeInputs(dump1=str(_dump(dbs["db1"], work / "1.dump")),
                                    dump2=str(_dump(dbs["db2"], work / "2.dump")), scratch_dsn=admin_dsn), spec_path)
    assert outcome.success, f"{outcome.failures}\n{text}"
    assert outcome.report["lossless"]["lost"] == 0
    return yaml.safe_load(text)["tables"], text, outcome


def _fill(dsn: str, ddl: str, data: str, other: int) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute(ddl)
        conn.execute(data.format(other=other, salt=other))


def test_music_store_without_declared_keys_merges_with_the_draft_as_it_comes(databases, admin_dsn, capsys):
    dbs, work = databases
    _fill(dbs["db1"], MUSIC_DDL, MUSIC_DATA, 2)
    _fill(dbs["db2"], MUSIC_DDL, MUSIC_DATA, 1)
    tables, text, _ = draft_and_merge(dbs, work, admin_dsn, capsys)
    keys = {name: (t["strategy"], t.get("natural_key")) for name, t in tables.items()}
    assert keys == {
        "artist": ("natural_key", ["name"]),
        "album": ("natural_key", ["title", "artist_id"]),  # 'Greatest Hits' is no key by itself
        "track": ("natural_key", ["name", "album_id"]),
        "employee": ("natural_key", ["email"]),
        "customer": ("natural_key", ["email"]),
        "play": ("append", None),
    }
    assert tables["employee"]["foreign_keys"] == {"reports_to": "employee"}
    assert "reports_to holds employee ids" in tables["employee"]["note"]
    assert "# natural_key: (title, artist_id)" in text and "not unique: title" in text
    with psycopg.connect(dbs["target"]) as conn:
        def one(query):
            return conn.execute(query).fetchone()[0]

        # every record once: the union of both databases' records, nothing duplicated
        assert one("SELECT count(*) FROM artist") == one("SELECT count(DISTINCT name) FROM artist") == 40 - 13 + 13
        assert one("SELECT count(*) FROM album") == one("SELECT count(DISTINCT (title, artist_id)) FROM album")
        assert one("SELECT count(*) FROM customer") == 60
        assert one("SELECT count(*) FROM employee") == 30
        assert one("SELECT count(*) FROM employee e JOIN employee b ON b.id = e.reports_to "
                   "WHERE b.email = 'e1@store'") == 29
        assert one("SELECT count(*) FROM play") == 400  # history of both: the timestamps differ by a day
