"""Schema shapes beyond the reference schema, each merged from a spec drafted by `pgmerge spec`."""

import json
import psycopg
import pytest
import yaml

from pgmerge_assets.assets.runner import prepare_merge_state
from pgmerge_assets.catalog.draft import draft_spec
from pgmerge_assets.catalog.introspect import read_catalog
from pgmerge_assets.catalog.spec import load_spec
from pgmerge_assets.plan.staging import StagingPlan
from pgmerge_assets_tests.merge_helpers import MERGE_ONLY, clone_public_into_staging, materialize


def merge_shape(dsn, tmp_path, ddl: str, public_rows: str, staging_rows: str, arrays: dict | None = None,
                edits: dict | None = None, schema: str | list[str] = "public"):
    """Create the schema, draft its spec from `schema` (several: the first is the target_schema), pointing
    array columns where told and applying the user's `edits` {table: {field: value}}, load both sides, merge."""
    schemas = [schema] if isinstance(schema, str) else schema
    with psycopg.connect(dsn) as conn:
        conn.execute(ddl)
        raw = yaml.safe_load(draft_spec(read_catalog(conn, schemas), schemas[0]))
        for (table, column), target in (arrays or {}).items():
            raw["tables"][table]["arrays"][column] = target
        for table, fields in (edits or {}).items():
            raw["tables"][table].update(fields)
        spec_path = tmp_path / "spec.yaml"
        spec_path.write_text(yaml.safe_dump(raw, sort_keys=False))
        clone_public_into_staging(conn, spec_path)
        conn.execute(public_rows)
        conn.execute(staging_rows)
        conn.commit()
        prepare_merge_state(conn, StagingPlan(load_spec(spec_path)))
    result = materialize(dsn, tmp_path, spec_path=spec_path, selection=MERGE_ONLY)
    failed = [(e.asset_key.to_user_string(), e.check_name, e.severity.value)
              for e in result.get_asset_check_evaluations() if not e.passed]
    assert result.success and all(severity == "WARN" for *_, severity in failed), failed
    raw["warnings"] = [f"{key}:{name}" for key, name, _ in failed]
    return raw


def rows(dsn, query):
    with psycopg.connect(dsn) as conn:
        return conn.execute(query).fetchall()


@pytest.mark.parametrize("edits", [
    None,  # one INSERT carries the whole tree: every id is known from the map, the FK is checked at statement end
    {"employee": {"deferred_foreign_keys": ["manager_id"]}},  # an older spec's entry: accepted, same result
], ids=["one-statement", "deferred-entry-of-an-older-spec"])
def test_self_referencing_table_keeps_its_tree(fresh_db, tmp_path, edits):
    """Staging's new employees point at new and at matched managers; both ways give the same tree."""
    merge_shape(
        fresh_db, tmp_path,
        "CREATE TABLE employee (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE,"
        " manager_id bigint REFERENCES employee (id))",
        "INSERT INTO public.employee VALUES (1, 'boss@x', NULL), (2, 'a@x', 1);"
        "SELECT setval('public.employee_id_seq', 2)",
        # staging numbers them differently; 'newer' comes before its manager 'new' in id order
        "INSERT INTO staging.employee VALUES (1, 'newer@x', 4), (2, 'ceo@x', NULL), (3, 'boss@x', 2),"
        " (4, 'new@x', 3)",
        edits=edits,
    )
    assert rows(fresh_db, "SELECT e.email, m.email FROM employee e LEFT JOIN employee m ON m.id = e.manager_id "
                          "ORDER BY 1") == [
        ("a@x", "boss@x"), ("boss@x", None), ("ceo@x", None), ("new@x", "boss@x"), ("newer@x", "new@x")]


def test_identifiers_that_need_quoting(fresh_db, tmp_path):
    """Mixed case, spaces, quotes and reserved words survive every statement: nothing is concatenated."""
    spec = merge_shape(
        fresh_db, tmp_path,
        'CREATE TABLE "Order" (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "a b" text NOT NULL UNIQUE);'
        'CREATE TABLE "a""b" ("select" bigserial PRIMARY KEY, "Order Id" bigint NOT NULL REFERENCES "Order" (id),'
        ' "Ids" bigint[], UNIQUE ("Order Id", "select"))',
        'INSERT INTO public."Order" OVERRIDING SYSTEM VALUE VALUES (1, \'x\'), (2, \'y\');'
        'SELECT setval(pg_get_serial_sequence(\'public."Order"\', \'id\'), 2);'
        'INSERT INTO public."a""b" VALUES (1, 1, \'{1,2}\');'
        'SELECT setval(pg_get_serial_sequence(\'public."a""b"\', \'select\'), 1)',
        'INSERT INTO staging."Order" OVERRIDING SYSTEM VALUE VALUES (1, \'y\'), (2, \'z\');'
        'INSERT INTO staging."a""b" VALUES (5, 2, \'{2,1,NULL}\')',
        arrays={('a"b', "Ids"): "Order"},
    )
    assert spec["tables"]["Order"]["identity"] == "always"
    assert spec["tables"]['a"b']["strategy"] == "append", "a unique key holding the id is no natural key"
    assert rows(fresh_db, 'SELECT id, "a b" FROM "Order" ORDER BY id') == [(1, "x"), (2, "y"), (3, "z")]
    assert rows(fresh_db, 'SELECT o."a b", t."Ids" FROM "a""b" t JOIN "Order" o ON o.id = t."Order Id" '
                          'ORDER BY 1') == [("x", [1, 2]), ("z", [3, 2, None])]


CYCLE_DDL = """
CREATE TABLE team (id bigserial PRIMARY KEY, name text NOT NULL UNIQUE, captain_id bigint);
CREATE TABLE player (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE, team_id bigint NOT NULL REFERENCES team);
ALTER TABLE team ADD FOREIGN KEY (captain_id) REFERENCES player;
"""


def test_foreign_key_cycle_is_published_in_one_statement(fresh_db, tmp_path):
    spec = merge_shape(
        fresh_db, tmp_path, CYCLE_DDL,
        "INSERT INTO public.team VALUES (1, 'reds', NULL); INSERT INTO public.player VALUES (1, 'ann@x', 1);"
        "UPDATE public.team SET captain_id = 1; SELECT setval('public.team_id_seq', 1), setval('public.player_id_seq', 1)",
        "INSERT INTO staging.team VALUES (1, 'blues', 2), (2, 'reds', 1);"
        "INSERT INTO staging.player VALUES (1, 'bob@x', 2), (2, 'cid@x', 1)",
    )
    assert "deferred_foreign_keys" not in spec["tables"]["team"]
    assert "on the foreign-key cycle" in spec["tables"]["team"]["note"]
    assert rows(fresh_db, "SELECT t.name, c.email FROM team t LEFT JOIN player c ON c.id = t.captain_id ORDER BY 1") == [
        ("blues", "cid@x"), ("reds", "ann@x")]  # reds matched: public's captain kept
    assert rows(fresh_db, "SELECT p.email, t.name FROM player p JOIN team t ON t.id = p.team_id ORDER BY 1") == [
        ("ann@x", "reds"), ("bob@x", "reds"), ("cid@x", "blues")]


def test_cycle_through_a_table_whose_key_holds_a_foreign_key(fresh_db, tmp_path):
    """team.captain_id -> player, whose key holds squad_id, whose key holds team_id: player's map waits for
    squad's and team's, so only the cycle_fk step may look at it (merged/team once did, before it existed)."""
    spec = merge_shape(
        fresh_db, tmp_path,
        "CREATE TABLE team (id bigserial PRIMARY KEY, name text NOT NULL UNIQUE, captain_id bigint);"
        "CREATE TABLE squad (id bigserial PRIMARY KEY, team_id bigint NOT NULL REFERENCES team, name text NOT NULL,"
        " UNIQUE (team_id, name));"
        "CREATE TABLE player (id bigserial PRIMARY KEY, squad_id bigint NOT NULL REFERENCES squad,"
        " email text NOT NULL, UNIQUE (squad_id, email));"
        "ALTER TABLE team ADD FOREIGN KEY (captain_id) REFERENCES player",
        "INSERT INTO public.team VALUES (1, 'reds', NULL); INSERT INTO public.squad VALUES (1, 1, 'a');"
        "INSERT INTO public.player VALUES (1, 1, 'ann@x'); UPDATE public.team SET captain_id = 1;"
        "SELECT setval('public.team_id_seq', 1), setval('public.squad_id_seq', 1), setval('public.player_id_seq', 1)",
        "INSERT INTO staging.team VALUES (1, 'blues', 2), (2, 'reds', 1);"
        "INSERT INTO staging.squad VALUES (1, 2, 'a'), (2, 1, 'b');"
        "INSERT INTO staging.player VALUES (1, 1, 'ann@x'), (2, 2, 'bob@x')",
    )
    assert "deferred_foreign_keys" not in spec["tables"]["team"]
    assert rows(fresh_db, "SELECT t.name, c.email, ct.name FROM team t JOIN player c ON c.id = t.captain_id "
                          "JOIN squad s ON s.id = c.squad_id JOIN team ct ON ct.id = s.team_id ORDER BY 1") == [
        ("blues", "bob@x", "blues"), ("reds", "ann@x", "reds")]


def test_cycle_of_not_null_columns_merges_and_no_update_trigger_fires(fresh_db, tmp_path):
    """team.captain_id and player.team_id both NOT NULL: the two tables are published in one statement (the
    foreign keys are checked at its end). A BEFORE UPDATE trigger that stamps rows never fires: nothing is
    inserted NULL and updated later."""
    stamp = ("CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.touched = true; RETURN NEW; "
             "END $$; ALTER TABLE team ADD COLUMN touched boolean NOT NULL DEFAULT false;"
             "CREATE TRIGGER stamp BEFORE UPDATE ON team FOR EACH ROW EXECUTE FUNCTION stamp();")
    spec = merge_shape(
        fresh_db, tmp_path, CYCLE_DDL.replace("captain_id bigint", "captain_id bigint NOT NULL") + stamp,
        "WITH t AS (INSERT INTO public.team VALUES (1, 'reds', 1) RETURNING 1)"
        " INSERT INTO public.player VALUES (1, 'ann@x', 1);"
        "SELECT setval('public.team_id_seq', 1), setval('public.player_id_seq', 1)",
        "INSERT INTO staging.team VALUES (1, 'blues', 2, false), (2, 'reds', 1, false);"
        "INSERT INTO staging.player VALUES (1, 'bob@x', 2), (2, 'cid@x', 1)",
    )
    assert "deferred_foreign_keys" not in spec["tables"]["team"]
    assert rows(fresh_db, "SELECT t.name, c.email, t.touched FROM team t JOIN player c ON c.id = t.captain_id "
                          "ORDER BY 1") == [("blues", "cid@x", False), ("reds", "ann@x", False)]
    assert rows(fresh_db, "SELECT p.email, t.name FROM player p JOIN team t ON t.id = p.team_id ORDER BY 1") == [
        ("ann@x", "reds"), ("bob@x", "reds"), ("cid@x", "blues")]


def refused_before_staging(dsn, tmp_path, raw: dict) -> str:
    """Run staging_schema with this spec; the failure it must end in (nothing created), as the user reads it."""
    import dagster as dg

    from pgmerge_assets.run import root_message

    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(raw))
    result = materialize(dsn, tmp_path, spec_path=path, selection=dg.AssetSelection.assets("staging_schema"))
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'staging'").fetchone()[0] == 0
    return next(root_message(e.step_failure_data.error) for e in result.all_events
                if e.event_type == dg.DagsterEventType.STEP_FAILURE)


def test_a_deferred_entry_on_a_not_null_column_is_refused_before_anything_runs(fresh_db, tmp_path):
    with psycopg.connect(fresh_db) as conn:
        conn.execute(CYCLE_DDL.replace("captain_id bigint", "captain_id bigint NOT NULL"))
        raw = yaml.safe_load(draft_spec(read_catalog(conn, "public")))
    raw["tables"]["team"]["deferred_foreign_keys"] = ["captain_id"]
    message = refused_before_staging(fresh_db, tmp_path, raw)
    assert "table team: deferred_foreign_keys.captain_id is NOT NULL in public.team" in message


def test_natural_keys_that_hold_each_other_are_the_one_cycle_refused(tmp_path):
    from pgmerge_assets.catalog.spec import SpecError

    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump({"tables": {
        "a": {"strategy": "natural_key", "columns": ["id", "b_id"], "id": "id", "sequence": "a_seq",
              "natural_key": ["b_id"], "foreign_keys": {"b_id": "b"}},
        "b": {"strategy": "natural_key", "columns": ["id", "a_id"], "id": "id", "sequence": "b_seq",
              "natural_key": ["a_id"], "foreign_keys": {"a_id": "a"}}}}))
    with pytest.raises(SpecError, match=r"natural keys form a cycle: .*a.\(b_id\) -> b"):
        load_spec(path)


def test_keys_that_are_not_bigserial(fresh_db, tmp_path):
    """uuid and text keys keep their values, a smallint identity and a shared sequence hand out new ones,
    and a table with no key at all is appended once."""
    spec = merge_shape(
        fresh_db, tmp_path,
        "CREATE TABLE tenant (id uuid PRIMARY KEY, name text NOT NULL UNIQUE);"
        "CREATE TABLE country (code text PRIMARY KEY, name text);"
        "CREATE TABLE region (id smallint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text UNIQUE NOT NULL,"
        " country_code text REFERENCES country);"
        "CREATE SEQUENCE shared_seq;"
        "CREATE TABLE site (id bigint PRIMARY KEY DEFAULT nextval('shared_seq'), url text UNIQUE NOT NULL,"
        " tenant_id uuid REFERENCES tenant, region_id smallint REFERENCES region);"
        "CREATE TABLE page (id bigint PRIMARY KEY DEFAULT nextval('shared_seq'), path text NOT NULL,"
        " site_id bigint NOT NULL REFERENCES site, UNIQUE (site_id, path));"
        "CREATE TABLE hit (site_id bigint REFERENCES site, at timestamptz)",
        "INSERT INTO public.tenant VALUES ('00000000-0000-0000-0000-000000000001', 'acme');"
        "INSERT INTO public.country VALUES ('fr', 'France');"
        "INSERT INTO public.region OVERRIDING SYSTEM VALUE VALUES (1, 'north', 'fr');"
        "INSERT INTO public.site VALUES (1, 'a.example', '00000000-0000-0000-0000-000000000001', 1);"
        "INSERT INTO public.page VALUES (2, '/', 1); SELECT setval('public.shared_seq', 2);"
        "SELECT setval(pg_get_serial_sequence('public.region', 'id'), 1);"
        "INSERT INTO public.hit VALUES (1, '2024-01-01')",
        "INSERT INTO staging.tenant VALUES ('00000000-0000-0000-0000-000000000002', 'acme'),"
        " ('00000000-0000-0000-0000-000000000003', 'globex');"
        "INSERT INTO staging.country VALUES ('fr', 'République'), ('de', 'Germany');"
        "INSERT INTO staging.region OVERRIDING SYSTEM VALUE VALUES (1, 'south', 'de'), (2, 'north', 'fr');"
        "INSERT INTO staging.site VALUES (1, 'b.example', '00000000-0000-0000-0000-000000000003', 1),"
        " (2, 'a.example', '00000000-0000-0000-0000-000000000002', 2);"
        "INSERT INTO staging.page VALUES (3, '/', 1), (4, '/', 2), (5, '/about', 2);"
        "INSERT INTO staging.hit VALUES (1, '2024-02-01'), (2, '2024-02-02')",
    )
    assert spec["tables"]["site"]["sequence"] == spec["tables"]["page"]["sequence"] == "shared_seq"
    assert spec["tables"]["tenant"]["natural_key"] == ["name"] and "sequence" not in spec["tables"]["tenant"]
    assert spec["tables"]["hit"]["strategy"] == "append" and "id" not in spec["tables"]["hit"]
    assert rows(fresh_db, "SELECT id::text, name FROM tenant ORDER BY name") == [
        ("00000000-0000-0000-0000-000000000001", "acme"), ("00000000-0000-0000-0000-000000000003", "globex")]
    assert rows(fresh_db, "SELECT code, name FROM country ORDER BY 1") == [("de", "Germany"), ("fr", "France")]
    assert rows(fresh_db, "SELECT id, name, country_code FROM region ORDER BY 1") == [(1, "north", "fr"), (2, "south", "de")]
    assert rows(fresh_db, "SELECT s.url, t.name, r.name FROM site s JOIN tenant t ON t.id = s.tenant_id "
                          "JOIN region r ON r.id = s.region_id ORDER BY 1") == [
        ("a.example", "acme", "north"), ("b.example", "globex", "south")]
    # one sequence feeds both tables: every id is distinct across them and the sequence is past all of them
    ids = rows(fresh_db, "SELECT id FROM site UNION ALL SELECT id FROM page")
    assert len(ids) == len(set(ids)) == 5
    assert rows(fresh_db, "SELECT s.url, p.path FROM page p JOIN site s ON s.id = p.site_id ORDER BY 1, 2") == [
        ("a.example", "/"), ("a.example", "/about"), ("b.example", "/")]
    assert rows(fresh_db, "SELECT s.url, h.at::date::text FROM hit h JOIN site s ON s.id = h.site_id ORDER BY 2") == [
        ("a.example", "2024-01-01"), ("b.example", "2024-02-01"), ("a.example", "2024-02-02")]
    assert rows(fresh_db, "SELECT nextval('shared_seq') > max(id) FROM (SELECT id FROM site UNION ALL SELECT id FROM page) x") == [(True,)]


def test_columns_the_merge_leaves_alone(fresh_db, tmp_path):
    """Generated columns are recomputed, enum/domain/jsonb values copied as they are, and a partitioned
    table is written through its parent."""
    spec = merge_shape(
        fresh_db, tmp_path,
        "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');"
        "CREATE DOMAIN score AS integer CHECK (VALUE BETWEEN 0 AND 100);"
        "CREATE TABLE person (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE, mood mood, score score,"
        " profile jsonb, email_domain text GENERATED ALWAYS AS (split_part(email, '@', 2)) STORED);"
        "CREATE TABLE visit (id bigserial, person_id bigint NOT NULL REFERENCES person, at date NOT NULL,"
        " PRIMARY KEY (id, at)) PARTITION BY RANGE (at);"
        "CREATE TABLE visit_2023 PARTITION OF visit FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');"
        "CREATE TABLE visit_2024 PARTITION OF visit FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
        "INSERT INTO public.person (id, email, mood, score, profile) VALUES (1, 'a@x.org', 'ok', 50, '{\"a\": 1}');"
        "INSERT INTO public.visit VALUES (1, 1, '2023-05-01'); SELECT setval('public.person_id_seq', 1),"
        " setval('public.visit_id_seq', 1)",
        "INSERT INTO staging.person (id, email, mood, score, profile) VALUES (1, 'b@y.com', 'happy', 99,"
        " '{\"b\": [1, 2]}'), (2, 'a@x.org', 'sad', 1, NULL);"
        "INSERT INTO staging.visit VALUES (1, 1, '2024-06-01'), (2, 2, '2023-07-01')",
    )
    assert "email_domain" not in spec["tables"]["person"]["columns"]
    # the key (id, at) holds the sequence-fed id: history, fresh ids, distinct across partitions
    assert spec["tables"]["visit"]["strategy"] == "append" and spec["tables"]["visit"]["id"] == "id"
    assert rows(fresh_db, "SELECT count(DISTINCT id) FROM visit") == [(3,)]
    assert rows(fresh_db, "SELECT email, mood::text, score, profile, email_domain FROM person ORDER BY 1") == [
        ("a@x.org", "ok", 50, {"a": 1}, "x.org"), ("b@y.com", "happy", 99, {"b": [1, 2]}, "y.com")]
    assert rows(fresh_db, "SELECT v.tableoid::regclass::text, p.email, v.at::text FROM visit v "
                          "JOIN person p ON p.id = v.person_id ORDER BY 3") == [
        ("visit_2023", "a@x.org", "2023-05-01"), ("visit_2023", "a@x.org", "2023-07-01"),
        ("visit_2024", "b@y.com", "2024-06-01")]


TAG_DDL = "CREATE TABLE tag (id bigserial PRIMARY KEY, scope text, name text NOT NULL)"  # key not declared
TAG_PUBLIC = "INSERT INTO public.tag VALUES (1, NULL, 'x'), (2, 'a', 'y'); SELECT setval('public.tag_id_seq', 2)"
TAG_STAGING = "INSERT INTO staging.tag VALUES (1, NULL, 'x'), (2, 'a', 'y'), (3, 'b', 'z'), (4, 'b', 'z')"


@pytest.mark.parametrize("nulls, expected", [
    ("equal", [(1, None, "x"), (2, "a", "y"), (3, "b", "z")]),            # NULL matches NULL
    ("distinct", [(1, None, "x"), (2, "a", "y"), (3, None, "x"), (4, "b", "z")]),  # a NULL key never matches
])
def test_natural_key_declared_only_in_the_spec(fresh_db, tmp_path, nulls, expected):
    """Matching by a key the schema does not declare unique: staging's repeated key ('b','z') becomes one
    public row, and NULLs in the key follow nulls_in_key."""
    spec = merge_shape(fresh_db, tmp_path, TAG_DDL, TAG_PUBLIC, TAG_STAGING,
                       edits={"tag": {"strategy": "natural_key", "natural_key": ["scope", "name"], "nulls_in_key": nulls}})
    assert spec["warnings"] == ["id_map/tag:natural_keys_repeated"]  # ('b','z') twice in dump #2
    assert rows(fresh_db, "SELECT id, scope, name FROM tag ORDER BY id") == expected
    new_id = expected[-1][0]
    assert rows(fresh_db, "SELECT staging_id, public_id FROM pgmerge.map_tag WHERE staging_id IN (3, 4)") == [
        (3, new_id), (4, new_id)]


def test_a_key_both_sides_hold_unique_with_a_null_in_it(fresh_db, tmp_path):
    """UNIQUE (scope, name) on a nullable scope, in the target and so in staging: the map's two-join statement
    for keys both sides hold unique maps them, and a key holding a NULL still matches nothing (a new row,
    as nulls_in_key: distinct says), while a complete key matches its public row."""
    merge_shape(fresh_db, tmp_path, TAG_DDL.replace("NOT NULL)", "NOT NULL, UNIQUE (scope, name))"), TAG_PUBLIC,
                "INSERT INTO staging.tag VALUES (1, NULL, 'x'), (2, 'a', 'y'), (3, 'b', 'z')",
                edits={"tag": {"strategy": "natural_key", "natural_key": ["scope", "name"]}})
    assert rows(fresh_db, "SELECT id, scope, name FROM tag ORDER BY id") == [
        (1, None, "x"), (2, "a", "y"), (3, None, "x"), (4, "b", "z")]
    assert rows(fresh_db, "SELECT staging_id, public_id, inserted FROM pgmerge.map_tag ORDER BY staging_id") == [
        (1, 3, True), (2, 2, False), (3, 4, True)]


def test_target_schema_other_than_public(fresh_db, tmp_path):
    """The merge target is the spec's target_schema; public is not touched."""
    spec = merge_shape(
        fresh_db, tmp_path,
        "CREATE SCHEMA app; CREATE TABLE public.item (id int); CREATE TABLE app.item (id bigserial PRIMARY KEY,"
        " sku text NOT NULL UNIQUE, parent_id bigint REFERENCES app.item)",
        "INSERT INTO app.item VALUES (1, 'a', NULL); SELECT setval('app.item_id_seq', 1)",
        "INSERT INTO staging.item VALUES (1, 'b', 2), (2, 'a', NULL)",
        schema="app",
    )
    assert spec["target_schema"] == "app"
    assert rows(fresh_db, "SELECT i.sku, p.sku FROM app.item i LEFT JOIN app.item p ON p.id = i.parent_id "
                          "ORDER BY 1") == [("a", None), ("b", "a")]
    assert rows(fresh_db, "SELECT count(*) FROM public.item") == [(0,)]


def test_triggers_stay_enabled_during_the_merge(fresh_db, tmp_path):
    """Rows are inserted as an application would insert them: an audit trigger records dump #2's new rows."""
    spec = merge_shape(
        fresh_db, tmp_path,
        "CREATE TABLE book (id bigserial PRIMARY KEY, isbn text NOT NULL UNIQUE);"
        "CREATE TABLE book_audit (isbn text, at timestamptz DEFAULT now());"
        "CREATE FUNCTION audit_book() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN INSERT INTO book_audit (isbn) VALUES (NEW.isbn); RETURN NEW; END $$;"
        "CREATE TRIGGER book_audited AFTER INSERT ON book FOR EACH ROW EXECUTE FUNCTION audit_book()",
        "INSERT INTO public.book VALUES (1, 'isbn-1'); SELECT setval('public.book_id_seq', 1); TRUNCATE book_audit",
        "INSERT INTO staging.book VALUES (1, 'isbn-2'), (2, 'isbn-1')",
        edits={"book_audit": {"strategy": "skip"}},
    )
    assert spec["tables"]["book_audit"]["strategy"] == "skip"
    assert rows(fresh_db, "SELECT isbn FROM book ORDER BY 1") == [("isbn-1",), ("isbn-2",)]
    assert rows(fresh_db, "SELECT isbn FROM book_audit") == [("isbn-2",)]  # only the row the merge inserted


REFERENCES_DDL = """
CREATE TABLE student (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE);
CREATE TABLE course (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, code text NOT NULL UNIQUE);
CREATE TABLE enrollment (student_id bigint NOT NULL REFERENCES student, course_id bigint NOT NULL REFERENCES course,
                         PRIMARY KEY (student_id, course_id));
-- a foreign key on two columns, to a join table: each column holds the id of the table the column it
-- references holds (student, course); it is also part of the natural key
CREATE TABLE grade (id bigserial PRIMARY KEY, student_id bigint NOT NULL, course_id bigint NOT NULL,
                    term text NOT NULL, score int, UNIQUE (student_id, course_id, term),
                    FOREIGN KEY (student_id, course_id) REFERENCES enrollment);
-- a foreign key to a unique column that is no id: its values are kept, the row waits for course
CREATE TABLE syllabus (id bigserial PRIMARY KEY, course_code text NOT NULL REFERENCES course (code),
                       version int NOT NULL, UNIQUE (course_code, version));
-- a foreign key to a key of (id, at) on a partitioned table: id through the map, at as it is
CREATE TABLE visit (id bigserial, at date NOT NULL, student_id bigint REFERENCES student, PRIMARY KEY (id, at))
    PARTITION BY RANGE (at);
CREATE TABLE visit_all PARTITION OF visit DEFAULT;
CREATE TABLE visit_note (id bigserial PRIMARY KEY, visit_id bigint NOT NULL, visit_at date NOT NULL, body text,
                         FOREIGN KEY (visit_id, visit_at) REFERENCES visit (id, at));
"""


def test_foreign_keys_on_several_columns_or_on_columns_that_are_no_id(fresh_db, tmp_path):
    spec = merge_shape(
        fresh_db, tmp_path, REFERENCES_DDL,
        "INSERT INTO public.student VALUES (1, 'ann@x'); INSERT INTO public.course OVERRIDING SYSTEM VALUE"
        " VALUES (1, 'math'); INSERT INTO public.enrollment VALUES (1, 1);"
        "INSERT INTO public.grade VALUES (1, 1, 1, 'fall', 90); INSERT INTO public.syllabus VALUES (1, 'math', 1);"
        "INSERT INTO public.visit VALUES (1, '2024-01-01', 1); INSERT INTO public.visit_note VALUES (1, 1, '2024-01-01', 'a');"
        "SELECT setval('public.student_id_seq', 1), setval(pg_get_serial_sequence('public.course', 'id'), 1),"
        " setval('public.grade_id_seq', 1), setval('public.syllabus_id_seq', 1), setval('public.visit_id_seq', 1),"
        " setval('public.visit_note_id_seq', 1)",
        # staging numbers everything differently: ann is 2, bob is 1; math is 2, art is 1
        "INSERT INTO staging.student VALUES (1, 'bob@x'), (2, 'ann@x');"
        "INSERT INTO staging.course OVERRIDING SYSTEM VALUE VALUES (1, 'art'), (2, 'math');"
        "INSERT INTO staging.enrollment VALUES (1, 1), (1, 2), (2, 2), (2, 1);"
        "INSERT INTO staging.grade VALUES (1, 2, 2, 'fall', 70), (2, 2, 2, 'spring', 95), (3, 1, 1, 'fall', 80),"
        " (4, 2, 1, 'fall', 60);"
        "INSERT INTO staging.syllabus VALUES (1, 'art', 1), (2, 'math', 1), (3, 'math', 2);"
        "INSERT INTO staging.visit VALUES (1, '2024-02-01', 1), (2, '2024-01-01', 2);"
        "INSERT INTO staging.visit_note VALUES (1, 1, '2024-02-01', 'b'), (2, 2, '2024-01-01', 'c')",
    )
    grade = spec["tables"]["grade"]
    assert "foreign_keys" not in grade and grade["natural_key"] == ["student_id", "course_id", "term"]
    assert grade["references"] == [{"columns": ["student_id", "course_id"], "table": "enrollment",
                                    "ref_columns": ["student_id", "course_id"]}]
    assert spec["tables"]["syllabus"]["references"] == [
        {"columns": ["course_code"], "table": "course", "ref_columns": ["code"]}]
    assert spec["tables"]["visit_note"]["references"] == [
        {"columns": ["visit_id", "visit_at"], "table": "visit", "ref_columns": ["id", "at"]}]
    assert rows(fresh_db, "SELECT s.email, c.code FROM enrollment e JOIN student s ON s.id = e.student_id "
                          "JOIN course c ON c.id = e.course_id ORDER BY 1, 2") == [
        ("ann@x", "art"), ("ann@x", "math"), ("bob@x", "art"), ("bob@x", "math")]
    # ann/math/fall matched public's row (public wins: 90); the rest came from staging
    assert rows(fresh_db, "SELECT s.email, c.code, g.term, g.score FROM grade g JOIN student s ON s.id = g.student_id "
                          "JOIN course c ON c.id = g.course_id ORDER BY 1, 2, 3") == [
        ("ann@x", "art", "fall", 60), ("ann@x", "math", "fall", 90), ("ann@x", "math", "spring", 95),
        ("bob@x", "art", "fall", 80)]
    assert rows(fresh_db, "SELECT course_code, version FROM syllabus ORDER BY 1, 2") == [
        ("art", 1), ("math", 1), ("math", 2)]
    assert rows(fresh_db, "SELECT s.email, v.at::text, n.body FROM visit_note n "
                          "JOIN visit v ON v.id = n.visit_id AND v.at = n.visit_at "
                          "JOIN student s ON s.id = v.student_id ORDER BY 3") == [
        ("ann@x", "2024-01-01", "a"), ("bob@x", "2024-02-01", "b"), ("ann@x", "2024-01-01", "c")]


SCHEMAS_DDL = """
CREATE SCHEMA app; CREATE SCHEMA "Auth";
CREATE TABLE app.account (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE);
CREATE SEQUENCE app.shared_ids;
CREATE TABLE "Auth".account (id bigint PRIMARY KEY DEFAULT nextval('app.shared_ids'), login text NOT NULL UNIQUE,
                             app_account_id bigint REFERENCES app.account);
CREATE TABLE "Auth".session (id bigserial PRIMARY KEY, account_id bigint NOT NULL REFERENCES "Auth".account,
                             started date NOT NULL);
CREATE TABLE app.account_login (account_id bigint NOT NULL REFERENCES app.account,
                                login_id bigint NOT NULL REFERENCES "Auth".account, PRIMARY KEY (account_id, login_id));
"""


def test_tables_of_several_schemas_in_one_spec(fresh_db, tmp_path):
    """Two tables named account in two schemas, foreign keys across schemas, a sequence of another schema."""
    spec = merge_shape(
        fresh_db, tmp_path, SCHEMAS_DDL,
        "INSERT INTO app.account VALUES (1, 'ann@x'); INSERT INTO \"Auth\".account VALUES (1, 'ann', 1);"
        "INSERT INTO \"Auth\".session VALUES (1, 1, '2024-01-01'); INSERT INTO app.account_login VALUES (1, 1);"
        "SELECT setval('app.account_id_seq', 1), setval('app.shared_ids', 1), setval('\"Auth\".session_id_seq', 1)",
        "INSERT INTO staging.account VALUES (1, 'bob@x'), (2, 'ann@x');"
        "INSERT INTO staging.\"Auth.account\" VALUES (1, 'bob', 1), (2, 'ann', 2), (3, 'ann2', 2);"
        "INSERT INTO staging.session VALUES (1, 2, '2024-02-01'), (2, 1, '2024-02-02');"
        "INSERT INTO staging.account_login VALUES (1, 1), (2, 2), (2, 3)",
        schema=["app", "Auth"],
    )
    assert spec["target_schema"] == "app"
    auth = spec["tables"]["Auth.account"]
    assert (auth["schema"], auth["table"], auth["sequence"], auth["sequence_schema"]) == (
        "Auth", "account", "shared_ids", "app")
    assert auth["foreign_keys"] == {"app_account_id": "account"}
    assert spec["tables"]["account_login"]["foreign_keys"] == {"account_id": "account", "login_id": "Auth.account"}
    assert (spec["tables"]["session"]["schema"], "table" in spec["tables"]["session"]) == ("Auth", False)
    assert rows(fresh_db, 'SELECT l.login, a.email FROM "Auth".account l JOIN app.account a ON a.id = l.app_account_id '
                          "ORDER BY 1") == [("ann", "ann@x"), ("ann2", "ann@x"), ("bob", "bob@x")]
    assert rows(fresh_db, 'SELECT l.login, s.started::text FROM "Auth".session s JOIN "Auth".account l '
                          "ON l.id = s.account_id ORDER BY 2") == [
        ("ann", "2024-01-01"), ("ann", "2024-02-01"), ("bob", "2024-02-02")]
    assert rows(fresh_db, 'SELECT a.email, l.login FROM app.account_login x JOIN app.account a ON a.id = x.account_id '
                          'JOIN "Auth".account l ON l.id = x.login_id ORDER BY 1, 2') == [
        ("ann@x", "ann"), ("ann@x", "ann2"), ("bob@x", "bob")]
    # the shared sequence of the other schema moved past every id it handed out
    assert rows(fresh_db, "SELECT last_value >= (SELECT max(id) FROM \"Auth\".account) FROM app.shared_ids") == [(True,)]
    assert rows(fresh_db, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'") == [(0,)]


def test_reference_naming_a_row_dump_2_lacks_is_one_clear_error(fresh_db, tmp_path):
    """A two-column reference whose ids exist one by one but not as a pair: stopped before writing."""
    import dagster as dg

    from pgmerge_assets.run import root_message

    with pytest.raises(AssertionError):
        merge_shape(fresh_db, tmp_path, REFERENCES_DDL, "SELECT 1",
                    "INSERT INTO staging.student VALUES (1, 'bob@x'); INSERT INTO staging.course OVERRIDING SYSTEM "
                    "VALUE VALUES (1, 'art'), (2, 'math'); INSERT INTO staging.enrollment VALUES (1, 1);"
                    "INSERT INTO staging.grade VALUES (1, 1, 2, 'fall', 70), (2, 1, 2, 'spring', 75), (3, 1, 1, 'x', 1)")
    result = materialize(fresh_db, tmp_path, spec_path=tmp_path / "spec.yaml", selection=MERGE_ONLY)
    failures = [root_message(e.step_failure_data.error) for e in result.all_events
                if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert any("staging.grade.(student_id, course_id): rows reference enrollment rows that dump #2 does not hold: "
               "2 offending rows" in f and "[1, 2]" in f for f in failures), failures
    assert rows(fresh_db, "SELECT count(*) FROM grade") == [(0,)]


def test_integer_ids_no_sequence_feeds_are_still_ids(fresh_db, tmp_path):
    """Ids the application assigns (no sequence): new rows get ids past max(id), never dump #2's own
    numbers, which belong to other rows in the target; a table with no other key is drafted as history."""
    spec = merge_shape(
        fresh_db, tmp_path,
        "CREATE TABLE customer (id int PRIMARY KEY, email text NOT NULL UNIQUE);"
        "CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL REFERENCES customer, total int)",
        "INSERT INTO public.customer VALUES (1, 'ann@x'), (2, 'bob@x');"
        "INSERT INTO public.orders VALUES (1, 1, 10), (2, 2, 20)",
        # dump #2 numbers its own: its customer 1 is public's bob, its orders 1 and 2 are new
        "INSERT INTO staging.customer VALUES (1, 'bob@x'), (2, 'cid@x');"
        "INSERT INTO staging.orders VALUES (1, 1, 20), (2, 2, 30), (3, 1, 99)",
    )
    assert spec["tables"]["orders"]["strategy"] == "append" and "keep_ids" not in spec["tables"]["orders"]
    assert rows(fresh_db, "SELECT id, email FROM customer ORDER BY id") == [(1, "ann@x"), (2, "bob@x"), (3, "cid@x")]
    # bob's order of 20 is the one public holds (same content); cid's 30 and bob's 99 are new, under ids 3 and 4
    assert rows(fresh_db, "SELECT o.id, c.email, o.total FROM orders o JOIN customer c ON c.id = o.customer_id "
                          "ORDER BY o.id") == [(1, "ann@x", 10), (2, "bob@x", 20), (3, "cid@x", 30), (4, "bob@x", 99)]


def test_a_uuid_id_without_keep_ids_is_refused_before_anything_runs(fresh_db, tmp_path):
    with psycopg.connect(fresh_db) as conn:
        conn.execute("CREATE TABLE tenant (id uuid PRIMARY KEY, name text NOT NULL UNIQUE)")
        raw = yaml.safe_load(draft_spec(read_catalog(conn, "public")))
    assert raw["tables"]["tenant"]["keep_ids"] is True
    del raw["tables"]["tenant"]["keep_ids"]
    message = refused_before_staging(fresh_db, tmp_path, raw)
    assert "table tenant: id column id is uuid, which pgmerge cannot count up: add keep_ids: true" in message


@pytest.mark.parametrize("nulls, expected, conflicts", [
    ("equal", [(None, "x", "public"), ("a", "y", "public"), ("b", "z", "new")], 2),
    ("distinct", [(None, "x", "dump #2"), (None, "x", "public"), ("a", "y", "public"), ("b", "z", "new")], 1),
])
def test_a_table_without_id_keyed_on_columns_holding_null(fresh_db, tmp_path, nulls, expected, conflicts):
    """No id, so no map: the proof pairs rows by the key's own columns, and a key holding a NULL (which =
    cannot match) by its jsonb form; either way every staging row is found, identical or a conflict."""
    merge_shape(fresh_db, tmp_path, "CREATE TABLE label (scope text, name text NOT NULL, note text)",
                "INSERT INTO public.label VALUES (NULL, 'x', 'public'), ('a', 'y', 'public')",
                "INSERT INTO staging.label VALUES (NULL, 'x', 'dump #2'), ('a', 'y', 'dump #2'), ('b', 'z', 'new')",
                edits={"label": {"strategy": "natural_key", "natural_key": ["scope", "name"], "nulls_in_key": nulls}})
    assert rows(fresh_db, "SELECT scope, name, note FROM label ORDER BY 1 NULLS FIRST, 2, 3") == expected
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["tables"]["label"]["lost"] == 0 and report["tables"]["label"]["conflicts"] == conflicts
    assert report["lossless"]["proven"] == report["lossless"]["staging_rows"] == 3



def test_the_proof_calls_values_equal_exactly_when_their_json_is(fresh_db, tmp_path):
    """The proof compares some types natively for speed; its verdicts must stay those of JSON equality:
    1.0 = 1.00, json differing in spaces and integer arrays differing in lower bound only are identical; '1 day' and '24 hours' (equal intervals, different
    JSON), text differing in case under a case-insensitive collation, and a timestamp a microsecond apart
    are conflicts the target won."""
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        try:
            conn.execute("CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false)")
        except psycopg.errors.FeatureNotSupported:  # a server built without ICU: the text column is plain
            conn.execute('CREATE COLLATION ci FROM "C"')
    merge_shape(
        fresh_db, tmp_path,
        "CREATE TABLE reading (id bigserial PRIMARY KEY, code text NOT NULL UNIQUE, amount numeric,"
        " span interval, doc json, label text COLLATE ci, at timestamptz, ratio double precision, meta jsonb,"
        " ns integer[])",
        "INSERT INTO public.reading VALUES"
        " (1, 'same', 1.0, '1 day', '{\"x\": 1}', 'A', '2024-01-01', 0.5, '{\"k\": [1, 2]}', '[0:1]={1,2}'),"
        " (2, 'interval', 2, '1 day', '{}', 'a', '2024-01-01', 1, '{}', '{}'),"
        " (3, 'case', 2, '1 day', '{}', 'a', '2024-01-01', 1, '{}', '{}'),"
        " (4, 'time', 2, '1 day', '{}', 'a', '2024-01-01 00:00:00', 1, '{}', '{}');"
        "SELECT setval('public.reading_id_seq', 4)",
        "INSERT INTO staging.reading VALUES"
        " (7, 'same', 1.00, '1 day', '{\"x\":1}', 'A', '2024-01-01', 0.50, '{\"k\":[1,2]}', '{1,2}'),"
        " (8, 'interval', 2, '24 hours', '{}', 'a', '2024-01-01', 1, '{}', '{}'),"
        " (9, 'case', 2, '1 day', '{}', 'A', '2024-01-01', 1, '{}', '{}'),"
        " (10, 'time', 2, '1 day', '{}', 'a', '2024-01-01 00:00:00.000001', 1, '{}', '{}'),"
        " (11, 'new', NULL, NULL, NULL, NULL, NULL, 'NaN', NULL, '{3,NULL}')",
        edits={"reading": {"strategy": "natural_key", "natural_key": ["code"], "arrays": {}}})  # ns holds no ids
    table = json.loads((tmp_path / "report.json").read_text())["tables"]["reading"]
    assert (table["identical"], table["conflicts"], table["lost"]) == (2, 3, 0)
    assert sorted(s["key"][0] for s in table["conflict_sample"]) == ["case", "interval", "time"]
    assert rows(fresh_db, "SELECT code FROM reading ORDER BY id") == [("same",), ("interval",), ("case",), ("time",),
                                                                       ("new",)]

@pytest.mark.parametrize("nulls, expected", [
    ("equal", [(None, "x"), ("a", "y"), ("b", "z")]),
    ("distinct", [(None, "x"), (None, "x"), ("a", "y"), ("b", "z")]),
])
def test_a_table_that_is_all_key_with_a_null_in_it(fresh_db, tmp_path, nulls, expected):
    """Every column in the key (a join table's shape): the proof looks each staging row up in target ∪
    pending, a key holding a NULL by its jsonb form; every row is found, none differs."""
    merge_shape(fresh_db, tmp_path, "CREATE TABLE pair (scope text, name text NOT NULL)",
                "INSERT INTO public.pair VALUES (NULL, 'x'), ('a', 'y')",
                "INSERT INTO staging.pair VALUES (NULL, 'x'), ('a', 'y'), ('b', 'z')",
                edits={"pair": {"strategy": "natural_key", "natural_key": ["scope", "name"], "nulls_in_key": nulls}})
    assert rows(fresh_db, "SELECT scope, name FROM pair ORDER BY 1 NULLS FIRST, 2") == expected
    table = json.loads((tmp_path / "report.json").read_text())["tables"]["pair"]
    assert (table["staging_rows"], table["identical"], table["conflicts"], table["lost"]) == (3, 3, 0, 0)


def held_back(dsn, tmp_path, ddl: str, choose):
    """For a spec drafted from `ddl`: the tables `choose` (publish's or undo's) holds the keys' triggers back
    for, the keys it then checks itself as (table, columns, parent), and the spec."""
    from pgmerge_assets.plan.publish import plan_publish

    with psycopg.connect(dsn) as conn:
        conn.execute(ddl)
        spec_path = tmp_path / "spec.yaml"
        spec_path.write_text(draft_spec(read_catalog(conn, ["public"]), "public"))
        spec = load_spec(spec_path)
        chosen, keys = choose(conn, spec, plan_publish(spec))
    return chosen, [(k.table, k.columns, k.parent) for k in keys], spec


def test_publish_leaves_a_foreign_key_of_one_partition_to_its_trigger(fresh_db, tmp_path):
    """Publish checks foreign keys itself only where it checks all of them: a key declared on one partition
    holds for that partition's rows alone, and one on a generated column is not among the pending rows'
    columns, so those tables keep PostgreSQL's triggers, the others do not."""
    from pgmerge_assets.pg.publish import _set_based_foreign_keys

    chosen, keys, spec = held_back(
        fresh_db, tmp_path,
        "CREATE TABLE owner (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE);"
        "CREATE TABLE pet (id bigserial, owner_id bigint NOT NULL, name text NOT NULL, PRIMARY KEY (id, owner_id),"
        " UNIQUE (owner_id, name)) PARTITION BY HASH (owner_id);"
        "CREATE TABLE pet_0 PARTITION OF pet FOR VALUES WITH (modulus 2, remainder 0);"
        "CREATE TABLE pet_1 PARTITION OF pet FOR VALUES WITH (modulus 2, remainder 1);"
        "ALTER TABLE pet_0 ADD FOREIGN KEY (owner_id) REFERENCES owner;"
        "CREATE TABLE toy (id bigserial PRIMARY KEY, owner_id bigint REFERENCES owner, label text NOT NULL UNIQUE);"
        # a key on a generated column: publish does not insert it, so it cannot check it either
        "CREATE TABLE tag (id bigserial PRIMARY KEY, owner_text text NOT NULL UNIQUE,"
        " owner_id bigint GENERATED ALWAYS AS (split_part(owner_text, ':', 1)::bigint) STORED REFERENCES owner)",
        _set_based_foreign_keys)
    assert "foreign_keys" not in yaml.safe_load(spec.text)["tables"]["tag"]  # the draft leaves it to PostgreSQL
    assert chosen == {"owner", "toy"}
    assert keys == [("toy", ("owner_id",), "owner")]


def test_undo_leaves_a_table_a_key_not_validated_references_to_its_triggers(fresh_db, tmp_path):
    """Undo checks the keys referencing a table itself only where that check is the triggers': a NOT VALID key
    may hold rows naming no row already (its trigger tolerates them), so the table it references is deleted
    from with every trigger firing, the others by one check per key after the deletes."""
    from pgmerge_assets.pg.publish import _set_based_references

    chosen, keys, _ = held_back(
        fresh_db, tmp_path,
        "CREATE TABLE owner (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE);"
        "CREATE TABLE toy (id bigserial PRIMARY KEY, label text NOT NULL UNIQUE);"
        "CREATE TABLE note (id bigserial PRIMARY KEY, owner_id bigint, toy_id bigint REFERENCES toy,"
        " said text NOT NULL UNIQUE);"
        "INSERT INTO note (owner_id, said) VALUES (7, 'an owner long gone');"
        "ALTER TABLE note ADD FOREIGN KEY (owner_id) REFERENCES owner NOT VALID",
        lambda *args: _set_based_references(*args)[:2])
    assert chosen == {"toy", "note"}
    assert keys == [("note", ("toy_id",), "toy")]


HELD_UNIQUE = [  # (columns, nulls_counted, held): what the checks may skip because the table's own index holds it
    (["id"], False, True), (["id"], True, True),  # the primary key
    (["a"], False, False), (["a", "b"], False, True), (["b", "a", "c"], False, True),  # unique (a, b)
    (["a", "b"], True, False),  # … but b may be NULL, and NULL = NULL counts for this key
    (["b"], False, False),  # only a partial index
    (["c"], False, False),  # only an expression index
    (["d"], False, False),  # only a deferrable constraint
    (["e"], False, True), (["a"], False, False),  # unique (e) INCLUDE (a): e is held, a is only carried along
]


def test_which_foreign_keys_a_check_may_trust(fresh_db):
    """The catalog test behind foreign_keys_resolve reading only the pending rows: the target's own foreign
    key must hold the column, validated, to the parent's id, and be enforced."""
    from psycopg import sql

    from pgmerge_assets.plan.common import held_foreign_key

    with psycopg.connect(fresh_db) as conn:
        conn.execute("CREATE TABLE p (id int PRIMARY KEY, code int UNIQUE, UNIQUE (id, code));"
                     "CREATE TABLE c (id int PRIMARY KEY, held int REFERENCES p (id), not_valid int,"
                     " to_code int REFERENCES p (code), plain int, pair_id int, pair_code int,"
                     " FOREIGN KEY (pair_id, pair_code) REFERENCES p (id, code));"
                     "ALTER TABLE c ADD FOREIGN KEY (not_valid) REFERENCES p (id) NOT VALID;"
                     "CREATE TABLE off (id int PRIMARY KEY, held int REFERENCES p (id));"
                     "ALTER TABLE off DISABLE TRIGGER ALL")
        def held(table: str, column: str) -> bool:
            return conn.execute(sql.SQL("SELECT {}").format(held_foreign_key(
                sql.Identifier("public", table), column, sql.Identifier("public", "p"), "id"))).fetchone()[0]
        found = {(table, column): held(table, column) for table, column in [
            ("c", "held"), ("c", "not_valid"), ("c", "to_code"), ("c", "plain"), ("c", "pair_id"), ("off", "held")]}
    assert found == {("c", "held"): True, ("c", "not_valid"): False, ("c", "to_code"): False, ("c", "plain"): False,
                     ("c", "pair_id"): False, ("off", "held"): False}


def test_which_unique_indexes_a_check_may_trust(fresh_db):
    """The catalog test behind the checks that skip a scan when the target's own unique index already holds
    the columns unique (natural_key_unique, natural_keys_repeated, publish's guards)."""
    from psycopg import sql

    from pgmerge_assets.plan.common import held_unique

    with psycopg.connect(fresh_db) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, a text NOT NULL, b text, c text, d int, e int,"
                     " UNIQUE (a, b), UNIQUE (d) DEFERRABLE INITIALLY IMMEDIATE, UNIQUE (e) INCLUDE (a));"
                     "CREATE UNIQUE INDEX ON t (b) WHERE c IS NOT NULL; CREATE UNIQUE INDEX ON t (lower(c))")
        found = [(columns, nulls, conn.execute(sql.SQL("SELECT {}").format(
                     held_unique(sql.Identifier("public", "t"), columns, nulls_counted=nulls))).fetchone()[0])
                 for columns, nulls, _ in HELD_UNIQUE]
    assert found == HELD_UNIQUE


@pytest.mark.parametrize("ddl, edits, inserted, row_key", [
    # no key at all: the kept rows are found by content, the n-th copy for the n-th
    ("CREATE TABLE visit (who text NOT NULL, day date NOT NULL, note text)",
     {"visit": {"strategy": "append"}}, 3, None),
    # a primary key: by its columns, in one hash join
    ("CREATE TABLE visit (who text NOT NULL, day date NOT NULL, note text, PRIMARY KEY (who, day))", None, 2,
     ("who", "day")),
], ids=["by-content", "by-primary-key"])
def test_undo_of_a_table_without_id_takes_out_exactly_the_rows_publish_inserted(fresh_db, tmp_path, ddl, edits,
                                                                                 inserted, row_key):
    from pgmerge_assets.pg.publish import _row_keys, undo
    from pgmerge_assets.plan.publish import plan_publish

    visits = "SELECT who, day::text, note FROM visit ORDER BY 1, 2, 3"
    copy = " ('b', '2024-01-02', 'x')," if row_key is None else ""  # without a key, a row may repeat
    raw = merge_shape(fresh_db, tmp_path, ddl,
                      "INSERT INTO public.visit VALUES ('a', '2024-01-01', 'p'), ('b', '2024-01-02', 'x')",
                      "INSERT INTO staging.visit VALUES ('b', '2024-01-02', 'x'), ('c', '2024-01-03', 'n'),"
                      f"{copy} ('d', '2024-01-04', 'n')",
                      edits=edits)
    assert len(rows(fresh_db, visits)) == 2 + inserted
    spec = load_spec(tmp_path / "spec.yaml")
    with psycopg.connect(fresh_db) as conn:
        assert _row_keys(conn, spec, plan_publish(spec)).get("visit") == row_key, raw
        done = undo(conn, spec.map_schema, lock_timeout=5)
    assert done.rows == {"visit": inserted}
    assert rows(fresh_db, visits) == [("a", "2024-01-01", "p"), ("b", "2024-01-02", "x")]


def test_undo_counts_each_key_once_the_catalogs_after_its_deletes_the_specs_own_before(fresh_db, tmp_path):
    """A key the target's catalog declares is counted by undo's check after its deletes (naming the
    constraint); a key only the spec knows (no constraint) by the spec's own query before them. Either refuses
    the undo, naming table, column and count, and leaves the target as it was."""
    from pgmerge_assets.pg.publish import PublishError, undo

    merge_shape(fresh_db, tmp_path,
                "CREATE TABLE owner (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE);"
                "CREATE TABLE pet (id bigserial PRIMARY KEY, owner_id bigint REFERENCES owner, name text NOT NULL UNIQUE);"
                "CREATE TABLE toy (id bigserial PRIMARY KEY, owner_id bigint, label text NOT NULL UNIQUE)",
                "INSERT INTO public.owner VALUES (1, 'a@x')",
                "INSERT INTO staging.owner VALUES (1, 'b@x')",
                edits={"toy": {"foreign_keys": {"owner_id": "owner"}}})
    spec = load_spec(tmp_path / "spec.yaml")
    everything = "SELECT 'owner', count(*) FROM owner UNION ALL SELECT 'pet', count(*) FROM pet " \
                 "UNION ALL SELECT 'toy', count(*) FROM toy ORDER BY 1"
    for table, column, told in [("toy", "label", "public.toy.owner_id -> public.owner: 1 rows"),
                                ("pet", "name", "public.pet.owner_id -> public.owner (constraint pet_owner_id_fkey): "
                                                "1 rows")]:
        with psycopg.connect(fresh_db) as conn:  # written since the merge, naming the owner it inserted
            conn.execute(f"INSERT INTO {table} (owner_id, {column}) SELECT id, 'late' FROM owner WHERE email = 'b@x'")
        before = rows(fresh_db, everything)
        with psycopg.connect(fresh_db) as conn, pytest.raises(PublishError) as refused:
            undo(conn, spec.map_schema, lock_timeout=5)
        assert f"{told} written since merge 1 reference rows it inserted" in str(refused.value)
        assert rows(fresh_db, everything) == before
        with psycopg.connect(fresh_db) as conn:
            conn.execute(f"DELETE FROM {table}")
    with psycopg.connect(fresh_db) as conn:
        assert undo(conn, spec.map_schema, lock_timeout=5).rows == {"owner": 1, "pet": 0, "toy": 0}
    assert rows(fresh_db, "SELECT id, email FROM owner") == [(1, "a@x")]
