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


def draft_and_merge(dbs: dict, work: Path, admin_dsn: str, capsys, schemas: tuple[str, ...] = ()
                    ) -> tuple[dict, str, object]:
    """`pgmerge spec --dsn db1 --dsn2 db2 [--schema S...]`, unedited, then the whole graph from the two dumps
    into target."""
    spec_path = work / "spec.yaml"
    assert main(["spec", "--dsn", dbs["db1"], "--dsn2", dbs["db2"], "-o", str(spec_path),
                 *(a for schema in schemas for a in ("--schema", schema))]) == 0
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


# As in the film-rental sample: store.manager_staff_id names a staff row but no constraint says so, while
# staff.store_id -> store is declared NOT NULL (a cycle of NOT NULL columns once the reference is known);
# staff.reports_to names staff, undeclared too.
RENTAL_DDL = """
CREATE TABLE store (id serial PRIMARY KEY, manager_staff_id int NOT NULL UNIQUE, address text NOT NULL);
CREATE TABLE staff (id serial PRIMARY KEY, email text NOT NULL UNIQUE, store_id int NOT NULL REFERENCES store,
                    reports_to int);
"""
RENTAL_DB1 = ("INSERT INTO store VALUES (1, 2, 'Main St'), (2, 1, 'Side St');"
              "INSERT INTO staff VALUES (1, 'ann@x', 2, NULL), (2, 'bob@x', 1, 1), (3, 'cid@x', 1, 2);"
              "SELECT setval('store_id_seq', 2), setval('staff_id_seq', 3)")
# db2 numbers its own: bob (its staff 7) manages its store 5 (Main St, matched), dan (8) a new one
RENTAL_DB2 = ("INSERT INTO store VALUES (5, 7, 'Main Street'), (6, 8, 'Hill Rd');"
              "INSERT INTO staff VALUES (7, 'bob@x', 5, NULL), (8, 'dan@x', 6, 7), (9, 'eve@x', 6, 8);"
              "SELECT setval('store_id_seq', 6), setval('staff_id_seq', 9)")


def test_undeclared_references_are_proposed_from_the_data_and_merge(databases, admin_dsn, capsys):
    dbs, work = databases
    _fill(dbs["db1"], RENTAL_DDL, RENTAL_DB1, 0)
    _fill(dbs["db2"], RENTAL_DDL, RENTAL_DB2, 0)
    tables, _, _ = draft_and_merge(dbs, work, admin_dsn, capsys)
    assert tables["store"]["foreign_keys"] == {"manager_staff_id": "staff"}
    assert tables["store"]["natural_key"] == ["manager_staff_id"]
    assert "manager_staff_id holds staff ids" in tables["store"]["note"]
    assert tables["staff"]["foreign_keys"] == {"store_id": "store", "reports_to": "staff"}
    with psycopg.connect(dbs["target"]) as conn:
        assert conn.execute("SELECT s.address, m.email FROM store s JOIN staff m ON m.id = s.manager_staff_id "
                            "ORDER BY 1").fetchall() == [("Hill Rd", "dan@x"), ("Main St", "bob@x"), ("Side St", "ann@x")]
        assert conn.execute("SELECT e.email, s.address, b.email FROM staff e JOIN store s ON s.id = e.store_id "
                            "LEFT JOIN staff b ON b.id = e.reports_to ORDER BY 1").fetchall() == [
            ("ann@x", "Side St", None), ("bob@x", "Main St", "ann@x"), ("cid@x", "Main St", "bob@x"),
            ("dan@x", "Hill Rd", "bob@x"), ("eve@x", "Hill Rd", "dan@x")]


def test_an_id_both_databases_share_as_a_code_is_the_natural_key(databases, admin_dsn, capsys):
    """Integer ids with no sequence: a code table whose equal ids carry equal rows in both databases is
    matched by its id (new codes keep theirs); a table each database numbered itself is history."""
    dbs, work = databases
    ddl = ("CREATE TABLE status (id int PRIMARY KEY, label text NOT NULL, rank int NOT NULL);"
           "CREATE TABLE ticket (id int PRIMARY KEY, status_id int NOT NULL REFERENCES status, opened timestamptz NOT NULL,"
           " body text NOT NULL)")
    data = ("INSERT INTO status SELECT k, 'status ' || (k % 4), k % 3 FROM generate_series(1, 12 + {other}) k;"
            "INSERT INTO ticket SELECT k, 1 + k % 12, timestamptz '2024-01-01' + (k + 100 * {other}) * interval '1 hour',"
            " 'ticket ' || (k + 100 * {other}) FROM generate_series(1, 30) k")
    _fill(dbs["db1"], ddl, data, 0)
    _fill(dbs["db2"], ddl, data, 2)  # two more codes, and 30 other tickets under the same numbers
    tables, text, _ = draft_and_merge(dbs, work, admin_dsn, capsys)
    assert (tables["status"]["strategy"], tables["status"]["natural_key"], tables["status"]["keep_ids"]) == (
        "natural_key", ["id"], True)
    assert "id id is a code both databases share: 12 of the 12 ids" in text
    assert tables["ticket"]["strategy"] == "append" and "keep_ids" not in tables["ticket"]
    with psycopg.connect(dbs["target"]) as conn:
        assert conn.execute("SELECT count(*), max(id) FROM status").fetchone() == (14, 14)
        assert conn.execute("SELECT count(*), count(DISTINCT body) FROM ticket").fetchone() == (60, 60)
        assert conn.execute("SELECT count(*) FROM ticket t JOIN status s ON s.id = t.status_id "
                            "WHERE s.id <> 1 + (substr(t.body, 8)::int % 100) % 12").fetchone() == (0,)


def test_a_spec_that_will_merge_wrongly_warns(fresh_db, tmp_path, capsys):
    """The catalog-only draft of the film-rental shape keeps manager_staff_id and reports_to as plain data,
    takes artist (no declared key) for history, and a key the user chose pairs unrelated rows: the merge
    passes every check, and four warnings say why it is wrong."""
    from pgmerge_assets_tests.test_shapes import merge_shape

    spec = merge_shape(
        fresh_db, tmp_path,
        RENTAL_DDL + "CREATE TABLE artist (id serial PRIMARY KEY, name text NOT NULL);"
                     "CREATE TABLE song (id serial PRIMARY KEY, title text NOT NULL, year int NOT NULL)",
        RENTAL_DB1.replace("SELECT setval", "INSERT INTO public.artist (name) SELECT 'a' || k FROM generate_series(1, 9) k;"
                                            "INSERT INTO public.song (title, year) SELECT 's' || k, 1990 + k "
                                            "FROM generate_series(1, 9) k; SELECT setval"),
        RENTAL_DB2.replace("INSERT INTO ", "INSERT INTO staging.").replace("SELECT setval('store_id_seq', 6), "
                                                                           "setval('staff_id_seq', 9)", "")
        + ";INSERT INTO staging.artist SELECT k, 'a' || k FROM generate_series(1, 12) k;"
          "INSERT INTO staging.song SELECT k, 't' || k, 1990 + k FROM generate_series(1, 9) k",
        edits={"song": {"strategy": "natural_key", "natural_key": ["year"]}},
    )
    assert sorted(spec["warnings"]) == ["id_map/artist:history_rows_in_target", "id_map/song:matches_mostly_differ",
                                        "id_map/staff:plain_column_holds_ids", "id_map/store:plain_column_holds_ids"]


def test_the_reference_schema_drafts_from_its_data_what_it_drafts_from_its_catalog(databases, admin_dsn, tmp_path):
    """The demo's two databases: the data changes no strategy, key or reference of the checked-in spec."""
    from pgmerge_assets.catalog.draft import draft_spec
    from pgmerge_assets.catalog.introspect import read_catalog
    from pgmerge_assets.catalog.profile import profile_catalog
    from pgmerge_assets.demo.generate import generate_demo
    from pgmerge_assets.paths import REFERENCE_SPEC
    from pgmerge_assets.pg.restore import restore_dump

    dbs, _ = databases
    files = generate_demo(tmp_path, scale=1, admin_dsn=admin_dsn)
    for role, dump in (("db1", files.dump1_custom), ("db2", files.dump2_custom)):
        restore_dump(dbs[role], dump)
    with psycopg.connect(dbs["db1"]) as c1, psycopg.connect(dbs["db2"]) as c2:
        catalog = read_catalog(c1, "public")
        text = draft_spec(catalog, "public", profile_catalog(catalog, [c1, c2]))
    drafted, reference = yaml.safe_load(text)["tables"], yaml.safe_load(REFERENCE_SPEC.read_text())["tables"]
    fields = ("strategy", "natural_key", "foreign_keys", "references", "id", "keep_ids")
    assert {n: [t.get(f) for f in fields] for n, t in drafted.items()} == {
        n: [t.get(f) for f in fields] for n, t in reference.items()}
    assert "# append (history): no candidate key made of text or of foreign keys only" in text


def test_plan_with_the_databases_warns_where_their_data_contradicts_the_spec(databases, capsys):
    """The catalog-only draft of the film-rental shape, linted on both databases before any merge."""
    from pgmerge_assets.catalog.draft import draft_spec
    from pgmerge_assets.catalog.introspect import read_catalog

    dbs, work = databases
    _fill(dbs["db1"], RENTAL_DDL + "CREATE TABLE tag (id serial PRIMARY KEY, label text NOT NULL)",
          RENTAL_DB1 + ";INSERT INTO tag (label) VALUES ('a'), ('a'), ('b')", 0)
    _fill(dbs["db2"], RENTAL_DDL + "CREATE TABLE tag (id serial PRIMARY KEY, label text NOT NULL)", RENTAL_DB2, 0)
    with psycopg.connect(dbs["db1"]) as conn:
        raw = yaml.safe_load(draft_spec(read_catalog(conn, "public")))
    raw["tables"]["tag"].update(strategy="natural_key", natural_key=["label"])
    (work / "spec.yaml").write_text(yaml.safe_dump(raw))
    assert main(["plan", "--spec", str(work / "spec.yaml"), "--dsn", dbs["db1"], "--dsn2", dbs["db2"]]) == 0
    warnings = [line for line in capsys.readouterr().out.splitlines() if line.startswith("-- warning")]
    assert warnings == [
        "-- warning (--dsn): table staff: column reports_to is plain data in the spec, but its name points at staff "
        "and every value is a staff id: add foreign_keys.reports_to: staff: 1 found, e.g. "
        '[{"column": "reports_to", "looks_like_ids_of": "staff", "staging_rows_with_a_value": 2}]',
        "-- warning (--dsn): table store: column manager_staff_id is plain data in the spec, but its name points at "
        "staff and every value is a staff id: add foreign_keys.manager_staff_id: staff: 1 found, e.g. "
        '[{"column": "manager_staff_id", "looks_like_ids_of": "staff", "staging_rows_with_a_value": 2}]',
        "-- warning (--dsn): table tag: natural key (label) is not unique (its rows would all be matched to one row): "
        '1 found, e.g. [{"rows": 2, "natural_key": ["a"]}]',
        "-- warning (--dsn2): table staff: column reports_to is plain data in the spec, but its name points at staff "
        "and every value is a staff id: add foreign_keys.reports_to: staff: 1 found, e.g. "
        '[{"column": "reports_to", "looks_like_ids_of": "staff", "staging_rows_with_a_value": 2}]',
        "-- warning (--dsn2): table store: column manager_staff_id is plain data in the spec, but its name points at "
        "staff and every value is a staff id: add foreign_keys.manager_staff_id: staff: 1 found, e.g. "
        '[{"column": "manager_staff_id", "looks_like_ids_of": "staff", "staging_rows_with_a_value": 2}]',
    ]


LONG = "L" + "o" * 54 + "ng_Table"  # 63 bytes, PostgreSQL's limit


def test_twin_tables_named_with_63_bytes_in_two_schemas_merge(databases, admin_dsn, capsys):
    """The second schema's twin was drafted as spec name app.<name>, 67 bytes; its staging table was created
    under the name PostgreSQL cut at 63 bytes and then looked up by the whole one ("staging.app.Loo…ng_Table
    does not exist"). The draft now shortens such a name with a hash, and a spec name past 63 bytes is refused."""
    from pgmerge_assets.catalog.spec import SpecError, parse_spec

    dbs, work = databases
    ddl = (f'CREATE SCHEMA app; CREATE TABLE public."{LONG}" (id bigserial PRIMARY KEY, name text NOT NULL UNIQUE);'
           f'CREATE TABLE app."{LONG}" (id bigserial PRIMARY KEY, code text NOT NULL UNIQUE,'
           f' public_id bigint REFERENCES public."{LONG}")')
    data = (f'INSERT INTO public."{LONG}" (name) SELECT \'n\' || k FROM generate_series(1 + {{other}}, 5 + {{other}}) k;'
            f'INSERT INTO app."{LONG}" (code, public_id) SELECT \'c\' || k, 1 + k % 5 FROM generate_series(1 + {{other}}, 4 + {{other}}) k')
    _fill(dbs["db1"], ddl, data, 0)
    _fill(dbs["db2"], ddl, data, 2)
    tables, _, _ = draft_and_merge(dbs, work, admin_dsn, capsys, schemas=("public", "app"))
    twin = next(name for name, t in tables.items() if t.get("schema") == "app")
    assert len(twin.encode()) == 63 and twin.startswith("app.Loooo") and tables[twin]["table"] == LONG
    with psycopg.connect(dbs["target"]) as conn:
        assert conn.execute(f'SELECT count(*) FROM public."{LONG}"').fetchone() == (7,)
        assert conn.execute(f'SELECT a.code, p.name FROM app."{LONG}" a JOIN public."{LONG}" p ON p.id = a.public_id '
                            'ORDER BY 1').fetchall() == [
            ("c1", "n2"), ("c2", "n3"), ("c3", "n4"), ("c4", "n5"), ("c5", "n3"), ("c6", "n4")]
    with pytest.raises(SpecError, match="the spec name is also its staging table's, which PostgreSQL cuts at 63"):
        parse_spec(yaml.safe_dump({"tables": {f"app.{LONG}": {"strategy": "append", "columns": ["id"],
                                                              "schema": "app", "table": LONG}}}))
