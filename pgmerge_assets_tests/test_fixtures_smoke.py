import psycopg


def test_fresh_db_is_empty_and_writable(fresh_db):
    with psycopg.connect(fresh_db) as conn:
        conn.execute("CREATE TABLE t (x int)")
        conn.execute("INSERT INTO t SELECT generate_series(1, 3)")
        assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 3
