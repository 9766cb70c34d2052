"""End to end on generated dumps: the merged database, written id-free, equals the generator's ground truth.

The canonical form comes from sql/reference/canonical.sql, hand-written for the reference schema and
independent of the planner, so the tool is judged by an oracle it does not share code with.
"""

import json

import psycopg
import pytest

from pgmerge_assets.cli import main
from pgmerge_assets.demo.generate import canonical_rows, generate_demo
from pgmerge_assets_tests.merge_helpers import checksums

SEED_SANITY_QUERY = """
SELECT count(*) AS bad_dataset_metrics_rows
FROM public.dataset_metrics dm
WHERE dm.package_indexes IS NOT NULL
  AND EXISTS (
    SELECT 1
    FROM unnest(dm.package_indexes) AS x
    LEFT JOIN public.package p ON p.id = x
    WHERE p.id IS NULL AND x IS NOT NULL
  )
"""


@pytest.fixture(scope="module")
def demo_files(admin_dsn, tmp_path_factory):
    return generate_demo(tmp_path_factory.mktemp("demo"), scale=1, seed=11, admin_dsn=admin_dsn)


def assert_matches_truth(dsn: str, truth_path, workdir) -> None:
    truth = json.loads(truth_path.read_text())
    with psycopg.connect(dsn) as conn:
        merged = canonical_rows(conn, "public")
        assert conn.execute(SEED_SANITY_QUERY).fetchone()[0] == 0
        assert conn.execute("SELECT purl, count(*) FROM package GROUP BY 1 HAVING count(*) > 1").fetchall() == []
    for table, expected in truth["tables"].items():
        assert merged[table] == expected, f"{table}: merged rows differ from the ground truth"
    report = json.loads((workdir / "report.json").read_text())
    assert report["lossless"]["lost"] == 0
    assert report["lossless"]["proven"] == report["lossless"]["staging_rows"] > 0
    assert report["checks_passed"]
    for table, conflicts in truth["conflicts"].items():
        assert report["tables"][table]["conflicts"] == conflicts, table
    assert sum(truth["conflicts"].values()) > 0, "the generator must produce conflicts for this test to mean anything"


def test_demo_command_merges_custom_dump1_and_plain_dump2_into_the_truth(fresh_db, tmp_path, capsys):
    workdir = tmp_path / "demo"
    try:
        code = main(["demo", "--workdir", str(workdir), "--target-dsn", fresh_db, "--seed", "11"])
    finally:
        main(["stop", "--workdir", str(workdir)])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "lossless proof:" in out.out and "datasource_event_package" in out.out
    assert_matches_truth(fresh_db, workdir / "truth.json", workdir)


def test_merge_command_on_plain_dump1_and_custom_dump2_twice(demo_files, fresh_db, scratch_admin_dsn, tmp_path, capsys):
    workdir = tmp_path / "merge"
    args = ["merge", "--target-dsn", fresh_db, "--dump1", str(demo_files.dump1_sql),
            "--dump2", str(demo_files.dump2_custom), "--workdir", str(workdir), "--scratch-dsn", scratch_admin_dsn]
    assert main(args) == 0, capsys.readouterr().err
    assert_matches_truth(fresh_db, demo_files.truth, workdir)
    with psycopg.connect(fresh_db) as conn:
        first = checksums(conn)

    # The whole graph again (restore skipped, staging reloaded, every merge step re-run): nothing changes.
    assert main(args) == 0, capsys.readouterr().err
    with psycopg.connect(fresh_db) as conn:
        assert checksums(conn) == first
    assert_matches_truth(fresh_db, demo_files.truth, workdir)
