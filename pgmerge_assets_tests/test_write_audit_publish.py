"""Write-audit-publish, as a user meets it from the command line: nothing reaches the target until the
whole merge passed its checks; one publish transaction; a ledger; undo; one merge at a time; kills and
locks leave the target exactly before or exactly after a merge."""

import os
import signal
import subprocess
import sys
import time

import psycopg
import pytest

from pgmerge_assets.catalog.spec import load_spec
from pgmerge_assets.cli import main
from pgmerge_assets.paths import REFERENCE_SPEC
from pgmerge_assets.pg import staging_load
from pgmerge_assets.pg.fingerprint import staging_fingerprint
from pgmerge_assets.pg.publish import PublishError, publish, undo
from pgmerge_assets.demo.generate import generate_demo
from pgmerge_assets.pg.restore import restore_dump
from pgmerge_assets.plan.planner import build_plan
from pgmerge_assets.plan.staging import StagingPlan
from pgmerge_assets_tests.merge_helpers import checksums

PGMERGE = [sys.executable, "-m", "pgmerge_assets.cli"]


@pytest.fixture(scope="module")
def demo(admin_dsn, tmp_path_factory):
    return generate_demo(tmp_path_factory.mktemp("wap"), scale=1, seed=5, admin_dsn=admin_dsn)


@pytest.fixture
def target(fresh_db, demo):
    """A target holding dump #1, as a user's database would before the merge."""
    restore_dump(fresh_db, demo.dump1_custom)
    return fresh_db


def merge_args(dsn, demo, scratch, workdir, *more, dump2=None):
    return ["merge", "--target-dsn", dsn, "--dump2", str(dump2 or demo.dump2_sql), "--scratch-dsn", scratch,
            "--workdir", str(workdir), *more]


def scratch_databases(admin_dsn, prefix: str) -> list[str]:
    with psycopg.connect(admin_dsn) as conn:
        return [r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [prefix + "%"])]


def state(dsn) -> dict[str, str]:
    with psycopg.connect(dsn) as conn:
        return checksums(conn)


def total_rows(dsn) -> int:
    with psycopg.connect(dsn) as conn:
        return sum(conn.execute(f"SELECT count(*) FROM public.{t}").fetchone()[0] for t, in conn.execute(
            "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE nspname = 'public' AND relkind = 'r'").fetchall())


def test_a_users_schema_named_staging_is_never_dropped(target, demo, scratch_admin_dsn, tmp_path, capsys,
                                                       monkeypatch):
    """(Dump #2 was restored into a scratch database meanwhile, for a load that never came: it is dropped.)"""
    prefix = f"pgm_scr_{os.getpid()}_"
    monkeypatch.setattr(staging_load, "SCRATCH_PREFIX", prefix)
    with psycopg.connect(target) as conn:
        conn.execute("CREATE SCHEMA staging; CREATE TABLE staging.customer_import AS "
                     "SELECT g AS id FROM generate_series(1, 500) g")
    before = state(target)
    assert main(merge_args(target, demo, scratch_admin_dsn, tmp_path)) == 1
    err = capsys.readouterr().err
    assert "schema staging already exists and pgmerge did not create it" in err and "staging_schema" in err
    assert "nothing was published; the target is unchanged" in err
    # a mistyped dump path is refused before anything runs
    assert main(merge_args(target, demo, scratch_admin_dsn, tmp_path, dump2=tmp_path / "nope.sql")) == 2
    assert "does not exist" in capsys.readouterr().err
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT count(*) FROM staging.customer_import").fetchone()[0] == 500
    assert state(target) == before
    assert scratch_databases(scratch_admin_dsn, prefix) == []


def _bad_dump2(demo, tmp_path, replace: tuple[str, str], source=None):
    """dump #2 (or another of its formats) with one line of its COPY data changed."""
    text = (source or demo.dump2_sql).read_text()
    assert replace[0] in text
    path = tmp_path / "bad_dump2.sql"
    path.write_text(text.replace(replace[0], replace[1], 1))
    return path


def _first_copy_row(demo, table: str) -> str:
    lines = demo.dump2_sql.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"COPY public.{table} "))
    return lines[start + 1]


def test_bad_dump2_found_late_leaves_the_target_unchanged_and_a_corrected_rerun_merges_once(
        target, demo, scratch_admin_dsn, tmp_path, capsys):
    row = _first_copy_row(demo, "dataset_metrics")  # id, dataset_id, txid, recorded_at, package_count, package_indexes
    fields = row.split("\t")
    fields[5] = "{999999}"  # an array element naming a package dump #2 lacks: found by repaired_arrays
    bad = _bad_dump2(demo, tmp_path, (row, "\t".join(fields)))
    before = state(target)
    assert main(merge_args(target, demo, scratch_admin_dsn, tmp_path, dump2=bad)) == 1
    err = capsys.readouterr().err
    assert "staging.dataset_metrics.package_indexes: elements name package ids that dump #2 does not hold: 1 offending" in err
    assert state(target) == before

    assert main(merge_args(target, demo, scratch_admin_dsn, tmp_path)) == 0, capsys.readouterr().err
    merged = state(target)
    assert merged != before
    assert main(merge_args(target, demo, scratch_admin_dsn, tmp_path)) == 0
    assert "nothing new" in capsys.readouterr().out
    assert state(target) == merged


def test_orphan_foreign_key_and_statement_timeout_leave_the_target_unchanged(
        target, demo, scratch_admin_dsn, tmp_path, capsys):
    row = _first_copy_row(demo, "datasource_event")  # id, datasource_id, ...
    fields = row.split("\t")
    fields[1] = "999999"
    # data only: no constraint of dump #2 stops the load, so the merge's own guard finds the orphan
    bad = _bad_dump2(demo, tmp_path, (row, "\t".join(fields)), source=demo.dump2_data_sql)
    before = state(target)
    assert main(merge_args(target, demo, scratch_admin_dsn, tmp_path, dump2=bad)) == 1
    assert "datasource_event.datasource_id: rows reference datasource ids that dump #2 does not hold" in \
        capsys.readouterr().err
    assert state(target) == before

    slow = target + " options='-c statement_timeout=5'"
    assert main(merge_args(slow, demo, scratch_admin_dsn, tmp_path)) == 1
    assert "statement timeout" in capsys.readouterr().err
    assert state(target) == before


def test_dump1_merged_into_itself_and_a_second_merge_add_nothing(target, demo, scratch_admin_dsn, tmp_path, capsys):
    before = state(target)
    assert main(merge_args(target, demo, scratch_admin_dsn, tmp_path, dump2=demo.dump1_sql)) == 0
    assert "nothing new" in capsys.readouterr().out
    assert state(target) == before

    assert main(merge_args(target, demo, scratch_admin_dsn, tmp_path)) == 0
    merged = state(target)
    with psycopg.connect(target) as conn:  # without pgmerge's schema, history is still recognised by content
        conn.execute("DROP SCHEMA pgmerge CASCADE; DROP SCHEMA staging CASCADE")
    assert main(merge_args(target, demo, scratch_admin_dsn, tmp_path)) == 0
    assert state(target) == merged


def test_history_undo_and_refusal(target, demo, scratch_admin_dsn, tmp_path, capsys):
    before = state(target)
    assert main(merge_args(target, demo, scratch_admin_dsn, tmp_path)) == 0
    assert "published as merge 1" in capsys.readouterr().out
    after = state(target)
    assert main(["history", "--target-dsn", target]) == 0
    out = capsys.readouterr().out
    assert "    1  " in out and "published" in out
    with psycopg.connect(target) as conn:  # the rows kept for undo, under the merge's number, as many as it inserted
        kept = {name: conn.execute(f"SELECT count(*) FROM pgmerge.{name}").fetchone()[0] for name, in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'pgmerge' AND tablename ~ '^merge[0-9]+_'")}
        rows = dict(conn.execute("SELECT key, value::bigint FROM pgmerge.merges, jsonb_each_text(rows_inserted) "
                                 "WHERE merge_id = 1").fetchall())
    assert kept == {f"merge1_{table}": count for table, count in rows.items()} and sum(kept.values()) > 0
    with psycopg.connect(target) as conn:  # dump #2's fingerprint, read by publish beside its inserts
        recorded = conn.execute("SELECT dump2_fingerprint FROM pgmerge.merges WHERE merge_id = 1").fetchone()[0]
        assert recorded == staging_fingerprint(conn, StagingPlan(load_spec(REFERENCE_SPEC)))
    assert recorded[:12] in out

    with psycopg.connect(target) as conn:  # a row written since, referencing a merged row
        conn.execute("INSERT INTO datasource_event (datasource_id, kind, occurred_at) "
                     "SELECT max(public_id), 'late', now() FROM pgmerge.map_datasource WHERE inserted")
    assert main(["undo", "--target-dsn", target]) == 1
    err = capsys.readouterr().err
    assert ("public.datasource_event.datasource_id -> public.datasource (constraint "
            "datasource_event_datasource_id_fkey): 1 rows written since merge 1 reference rows it inserted") in err
    with psycopg.connect(target) as conn:
        conn.execute("DELETE FROM datasource_event WHERE kind = 'late'")
        conn.execute("SELECT setval('datasource_event_id_seq', (SELECT max(id) FROM datasource_event))")
    assert state(target) == after

    assert main(["undo", "--target-dsn", target]) == 0
    assert "merge 1 undone" in capsys.readouterr().out
    assert state(target) == before
    assert main(["history", "--target-dsn", target]) == 0
    assert "undone" in capsys.readouterr().out
    assert main(["undo", "--target-dsn", target]) == 1
    assert "no merge to undo" in capsys.readouterr().err


def _late_rows(target, sql_text: str) -> None:
    """Rows an application wrote after the merge, each naming a row the merge inserted."""
    with psycopg.connect(target) as conn:
        conn.execute(sql_text.replace("{merged_package}", "(SELECT max(public_id) FROM pgmerge.map_package "
                                                           "WHERE inserted)"))


def test_undo_checks_every_key_referencing_its_rows_for_all_rows_at_once(target, demo, scratch_admin_dsn, tmp_path,
                                                                       capsys):
    """Undo holds back the per-row triggers of the keys referencing the tables it deletes from (each would read
    the referencing table once per deleted row: hours at scale 1000, where no index covers the key) and checks
    every such key itself after its deletes, whichever table declares it, inside the spec or not; array
    elements (no key guards them) are looked up in one hash of the merged ids. A row written since that names
    a merged row refuses the undo, naming table, column and count, and changes nothing."""
    before = state(target)
    assert main(merge_args(target, demo, scratch_admin_dsn, tmp_path)) == 0
    with psycopg.connect(target) as conn:  # an application's table, which the spec does not know
        conn.execute("CREATE TABLE public.package_note (package_id bigint REFERENCES public.package (id), note text)")
    _late_rows(target, "INSERT INTO public.package_note SELECT {merged_package}, 'late'")
    noted = state(target)
    capsys.readouterr()
    assert main(["undo", "--target-dsn", target]) == 1
    assert ("public.package_note.package_id -> public.package (constraint package_note_package_id_fkey): 1 rows "
            "written since merge 1 reference rows it inserted") in capsys.readouterr().err
    assert state(target) == noted

    _late_rows(target, "DELETE FROM public.package_note; INSERT INTO public.dataset_metrics "
                       "(dataset_id, txid, recorded_at, package_count, package_indexes) "
                       "SELECT dataset_id, txid, recorded_at, 1, ARRAY[{merged_package}] FROM public.dataset_metrics "
                       "ORDER BY id LIMIT 1")
    assert main(["undo", "--target-dsn", target]) == 1
    assert ("public.dataset_metrics.package_indexes -> public.package: 1 rows written since merge 1 reference rows "
            "it inserted") in capsys.readouterr().err

    with psycopg.connect(target) as conn:
        conn.execute("DELETE FROM public.dataset_metrics WHERE id = (SELECT max(id) FROM public.dataset_metrics)")
        conn.execute("SELECT setval('dataset_metrics_id_seq', (SELECT max(id) FROM public.dataset_metrics))")
        keys = conn.execute("SELECT count(*) FROM pg_constraint WHERE contype = 'f' "
                            "AND connamespace = 'public'::regnamespace").fetchone()[0]  # the note's too
        done = undo(conn, "pgmerge", lock_timeout=5)
    assert done.merge_id == 1 and sum(done.rows.values()) > 0 and keys > 10
    assert done.foreign_keys == f"{keys} foreign keys referencing {len(done.rows)} tables checked by undo for all rows at once"
    with psycopg.connect(target) as conn:
        conn.execute("DROP TABLE public.package_note")
    assert state(target) == before


def test_undo_of_a_table_with_user_triggers_lets_its_keys_triggers_refuse_naming_the_constraint(
        target, demo, scratch_admin_dsn, tmp_path, capsys):
    """A table with a trigger of the user's is deleted from as an application would delete: every trigger
    fires, the foreign keys' too, and a key's refusal is told as undo's own, the target unchanged; a key
    whose ON DELETE action would delete (or change) rows written since is refused before its trigger could."""
    before = state(target)
    assert main(merge_args(target, demo, scratch_admin_dsn, tmp_path)) == 0
    with psycopg.connect(target) as conn:
        conn.execute("CREATE TABLE public.package_note (package_id bigint REFERENCES public.package (id));"
                     "CREATE TABLE public.package_gone (id bigint);"
                     "CREATE FUNCTION public.gone() RETURNS trigger LANGUAGE plpgsql AS "
                     "$$ BEGIN INSERT INTO public.package_gone VALUES (OLD.id); RETURN OLD; END $$;"
                     "CREATE TRIGGER gone AFTER DELETE ON public.package FOR EACH ROW EXECUTE FUNCTION public.gone()")
    _late_rows(target, "INSERT INTO public.package_note SELECT {merged_package}")
    noted = state(target)
    capsys.readouterr()
    assert main(["undo", "--target-dsn", target]) == 1
    err = capsys.readouterr().err
    assert 'violates foreign key constraint "package_note_package_id_fkey" on table "package_note"' in err
    assert "undo refused, nothing was changed" in err
    assert state(target) == noted

    with psycopg.connect(target) as conn:  # a key whose trigger would delete the note: undo's own check refuses
        conn.execute("ALTER TABLE public.package_note DROP CONSTRAINT package_note_package_id_fkey,"
                     " ADD FOREIGN KEY (package_id) REFERENCES public.package (id) ON DELETE CASCADE")
    noted = state(target)
    assert main(["undo", "--target-dsn", target]) == 1
    assert ("public.package_note.package_id -> public.package (constraint package_note_package_id_fkey, whose ON "
            "DELETE action would change them): 1 rows written since merge 1 reference rows it inserted"
            ) in capsys.readouterr().err
    assert state(target) == noted

    with psycopg.connect(target) as conn:
        conn.execute("DELETE FROM public.package_note")
        done = undo(conn, "pgmerge", lock_timeout=5)
        gone = conn.execute("SELECT count(*) FROM public.package_gone").fetchone()[0]
        conn.execute("DROP TABLE public.package_note, public.package_gone; DROP FUNCTION public.gone() CASCADE")
    assert gone == done.rows["package"] > 0
    assert done.foreign_keys.endswith("; PostgreSQL's triggers row by row for package")
    assert state(target) == before


def test_a_locked_table_fails_in_bounded_time_naming_table_and_holder(target, demo, scratch_admin_dsn, tmp_path, capsys):
    before = state(target)
    with psycopg.connect(target) as holder:  # an application's open transaction that wrote to package
        holder.execute("UPDATE package SET version = version WHERE id = 1")
        pid = holder.info.backend_pid
        started = time.monotonic()
        code = main(merge_args(target, demo, scratch_admin_dsn, tmp_path, "--lock-timeout", "2"))
        elapsed = time.monotonic() - started
        holder.rollback()
    err = capsys.readouterr().err
    assert code == 1
    assert f'waited 2 s for a lock on "public"."package", held by pid {pid}' in err
    assert elapsed < 120
    assert state(target) == before


def _spawn(args, tmp_path, name):
    log = open(tmp_path / f"{name}.log", "w")
    return subprocess.Popen(PGMERGE + args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True), log


def test_two_merges_at_once_give_one_result(target, demo, scratch_admin_dsn, tmp_path):
    procs = [_spawn(merge_args(target, demo, scratch_admin_dsn, tmp_path / f"w{i}"), tmp_path, f"m{i}")
             for i in range(2)]
    codes = [p.wait(timeout=300) for p, _ in procs]
    logs = [(tmp_path / f"m{i}.log").read_text() for i in range(2)]
    with psycopg.connect(target) as conn:
        published = conn.execute("SELECT count(*) FROM pgmerge.merges WHERE undone_at IS NULL").fetchone()[0]
    assert published == 1, logs
    assert 0 in codes, logs
    for code, log in zip(codes, logs):
        assert code == 0 or "another pgmerge merge or undo into this database is running" in log, log
    merged = state(target)
    assert main(merge_args(target, demo, scratch_admin_dsn, tmp_path)) == 0
    assert state(target) == merged


def test_kill_9_at_any_moment_leaves_the_target_before_or_after(target, demo, scratch_admin_dsn, tmp_path):
    before = state(target)
    seen = []
    for i, delay in enumerate((1.5, 4.0, 6.0, 8.0, 10.0)):
        proc, log = _spawn(merge_args(target, demo, scratch_admin_dsn, tmp_path / "w"), tmp_path, f"k{i}")
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        seen.append(state(target))
    assert main(merge_args(target, demo, scratch_admin_dsn, tmp_path / "w")) == 0
    after = state(target)
    assert after != before
    assert all(s in (before, after) for s in seen)
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT count(*) FROM pgmerge.merges").fetchone()[0] == 1


def _wait_for(dsn, query, timeout=120):
    deadline = time.monotonic() + timeout
    with psycopg.connect(dsn, autocommit=True) as conn:
        while not conn.execute(query).fetchone()[0]:
            assert time.monotonic() < deadline, f"timed out waiting for: {query}"
            time.sleep(0.05)


def test_kill_9_inside_the_publish_transaction_leaves_sequences_where_they_were(target, demo, scratch_admin_dsn,
                                                                                 tmp_path):
    """setval() is not transactional: a kill after publish moved the sequences and before it committed must
    leave them as they were, with the rows."""
    before = state(target)
    proc, log = _spawn(merge_args(target, demo, scratch_admin_dsn, tmp_path / "w"), tmp_path, "k")
    try:
        _wait_for(target, "SELECT to_regclass('pgmerge.merges') IS NOT NULL")
        with psycopg.connect(target) as blocker:  # the ledger row waits: everything before it has run
            blocker.execute("LOCK TABLE pgmerge.merges IN EXCLUSIVE MODE")
            _wait_for(target, "SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                              "AND query LIKE '%INSERT INTO \"pgmerge\".\"merges\"%'")
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert state(target) == before, (tmp_path / "k.log").read_text()
    assert main(merge_args(target, demo, scratch_admin_dsn, tmp_path / "w")) == 0
    assert state(target) != before


def test_ctrl_c_exits_130_saying_the_target_is_unchanged(target, demo, scratch_admin_dsn, tmp_path):
    before = state(target)
    proc, log = _spawn(merge_args(target, demo, scratch_admin_dsn, tmp_path / "w"), tmp_path, "int")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until the merge is under way (it has marked its staging schema)
        with psycopg.connect(target) as conn:
            if conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = 'staging'").fetchone():
                break
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGINT)
    code = proc.wait(timeout=120)
    out = (tmp_path / "int.log").read_text()
    assert code == 130, out
    assert "interrupted; nothing was published; the target is unchanged" in out
    assert state(target) == before


def test_ctrl_c_cancels_the_statements_steps_are_waiting_on(target, demo, scratch_admin_dsn, tmp_path):
    """Steps run in threads, which hear of Ctrl-C only between statements: the statements themselves must be
    cancelled, or the run would sit out the lock timeout (60 s) before it stopped."""
    before = state(target)
    proc, log = _spawn(merge_args(target, demo, scratch_admin_dsn, tmp_path / "w"), tmp_path, "int")
    try:
        _wait_for(target, "SELECT to_regclass('staging.dataset') IS NOT NULL")
        with psycopg.connect(target) as blocker:  # the maps of dataset and its children wait for it
            blocker.execute("LOCK TABLE public.dataset IN ACCESS EXCLUSIVE MODE")
            _wait_for(target, "SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                              "AND query LIKE '%dataset%' AND pid <> pg_backend_pid()")
            interrupted = time.monotonic()
            os.killpg(proc.pid, signal.SIGINT)
            code = proc.wait(timeout=120)
            stopped = time.monotonic() - interrupted
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    out = (tmp_path / "int.log").read_text()
    assert code == 130, out
    assert stopped < 30, f"{stopped:.1f} s from Ctrl-C to exit: the waiting statement was not cancelled"
    assert "interrupted; nothing was published; the target is unchanged" in out
    assert state(target) == before


def test_the_ui_jobs_merge_and_undo(target, demo, scratch_admin_dsn, tmp_path):
    """What the UI launches: the `merge` job (every asset, checks gating `published`), then `undo`."""
    import dagster as dg

    from pgmerge_assets.assets.resources import MergeInputs, TargetDatabase
    from pgmerge_assets.definitions import build_definitions
    from pgmerge_assets.paths import REFERENCE_SPEC
    from pgmerge_assets.pg import merge_lock

    before = state(target)
    defs = build_definitions(REFERENCE_SPEC, {
        "target": TargetDatabase(dsn=target, workdir=str(tmp_path)),
        "inputs": MergeInputs(dump2=str(demo.dump2_custom), scratch_dsn=scratch_admin_dsn)})
    instance = dg.DagsterInstance.ephemeral()
    try:
        merged = defs.resolve_job_def("merge").execute_in_process(instance=instance)
        assert merged.success
        published = merged.asset_materializations_for_node("published")[0].metadata
        assert published["merge_id"].value == 1
        moved = published["sequences_moved"].value['"public"."package_id_seq"']
        assert moved["after"][0] > moved["before"][0]
        assert state(target) != before
        undone = defs.resolve_job_def("undo").execute_in_process(
            instance=instance, run_config={"ops": {"undo_merge": {"config": {"merge_id": 1}}}})
        assert undone.success
    finally:
        merge_lock.release_all()
    assert state(target) == before


def test_the_scratch_server_a_merge_starts_under_its_workdir_is_stopped_afterwards(target, demo, tmp_path):
    workdir = tmp_path / "own"
    assert main(["merge", "--target-dsn", target, "--dump2", str(demo.dump2_custom), "--workdir", str(workdir)]) == 0
    assert (workdir / "pgdata").is_dir()  # dump #2 was restored there ...
    assert not (workdir / "pgdata" / "postmaster.pid").exists()  # ... and the server is stopped again


def _audited(target, demo, scratch_admin_dsn, tmp_path) -> None:
    """Everything but publish: pending rows built and audited, the target as dump #1 left it."""
    import dagster as dg

    from pgmerge_assets.assets.resources import MergeInputs, TargetDatabase
    from pgmerge_assets.run import run_graph

    outcome = run_graph(TargetDatabase(dsn=target, workdir=str(tmp_path)),
                        MergeInputs(dump2=str(demo.dump2_sql), scratch_dsn=scratch_admin_dsn), REFERENCE_SPEC,
                        selection=dg.AssetSelection.all() - dg.AssetSelection.assets("published"))
    assert outcome.success, outcome.failures


@pytest.mark.parametrize("threads", [1, 2])
def test_independent_steps_run_at_once_and_dependent_ones_in_order(target, demo, scratch_admin_dsn, tmp_path,
                                                                    threads, capsys, monkeypatch):
    from pgmerge_assets.instance import workdir_instance
    from pgmerge_assets.run import step_times

    prefix = f"pgm_scr_{os.getpid()}_"
    monkeypatch.setattr(staging_load, "SCRATCH_PREFIX", prefix)
    before = state(target)
    assert main(merge_args(target, demo, scratch_admin_dsn, tmp_path, "--threads", str(threads))) == 0
    assert "published as merge 1" in capsys.readouterr().out
    assert scratch_databases(scratch_admin_dsn, prefix) == []  # dropped while the merge went on, by its end
    assert state(target) != before
    with workdir_instance(tmp_path, target) as instance:
        run_id = instance.get_runs(limit=1)[0].run_id
        steps = {asset: (t.start, t.end) for asset, t in step_times(instance, run_id).items()}
    plan = build_plan(load_spec(REFERENCE_SPEC))
    assert len(steps) == len(plan.steps) + 6  # the load's four, the report and publish besides the plan's
    for step in plan.steps:  # a step starts once every step it reads from has ended
        start = steps["/".join(step.key)][0]
        assert all(start >= steps["/".join(dep)][1] for dep in step.deps), step.key
    overlapping = [(a, b) for a in steps for b in steps
                   if a < b and steps[a][0] < steps[b][1] and steps[b][0] < steps[a][1]]
    assert bool(overlapping) == (threads > 1), overlapping
    # dump #2 goes into its scratch database while dump #1 goes into the target; staging waits for both
    (dump2_start, dump2_end), (dump1_start, dump1_end) = steps["dump2_restored"], steps["public_restored"]
    assert (dump2_start < dump1_end and dump1_start < dump2_end) == (threads > 1)
    assert steps["staging_data"][0] >= max(steps["dump2_restored"][1], steps["staging_schema"][1])


def test_pending_rows_a_crash_emptied_after_the_audit_are_never_published_as_nothing_new(target, demo,
                                                                                         scratch_admin_dsn, tmp_path):
    """Pending rows live in unlogged tables, which a server crash empties: publish compares what it inserts
    with what was built and audited, instead of publishing the rest (or "nothing new")."""
    _audited(target, demo, scratch_admin_dsn, tmp_path)
    before = state(target)
    with psycopg.connect(target) as conn:
        built = conn.execute("SELECT count(*) FROM pgmerge.pending_finding").fetchone()[0]
        assert built > 0
        conn.execute("TRUNCATE pgmerge.pending_finding")  # what a crash does to an unlogged table
    with psycopg.connect(target) as conn, pytest.raises(PublishError) as refused:
        publish(conn, load_spec(REFERENCE_SPEC), lock_timeout=5)
    assert f"finding: {built} built and audited, 0 there now" in str(refused.value)
    assert "nothing was published" in str(refused.value)
    assert state(target) == before


TAKEN = {
    "key": ("INSERT INTO public.finding (id, identifier, severity, summary) SELECT 1000000000, identifier, 'low', "
            "'written after the audit' FROM pgmerge.pending_finding ORDER BY id LIMIT 1",
            "public.finding.(identifier): natural keys of pending rows were added to the target since the audit"),
    "id": ("INSERT INTO public.finding (id, identifier, severity, summary) SELECT id, 'after-the-audit', 'low', "
           "'written after the audit' FROM pgmerge.pending_finding ORDER BY id LIMIT 1",
           "public.finding.id: ids of pending rows were taken in the target since the audit"),
}


@pytest.mark.parametrize("taken, unique_index", [("key", True), ("key", False), ("id", True)],
                         ids=["key-held-by-unique-index", "key-without-index", "id-held-by-primary-key"])
def test_an_id_or_key_the_target_took_after_the_audit_is_refused_naming_it(target, demo, scratch_admin_dsn, tmp_path,
                                                                          taken, unique_index):
    """A row written to the target between the audit and publish that takes a pending row's id or natural key:
    where the target's unique index holds them, the insert meets the row (publish's guard reads nothing), else
    publish's guard finds it; either way one error names table, columns and count, and nothing is published."""
    _audited(target, demo, scratch_admin_dsn, tmp_path)
    statement, problem = TAKEN[taken]
    with psycopg.connect(target, autocommit=True) as conn:
        if not unique_index:
            conn.execute("ALTER TABLE public.finding DROP CONSTRAINT finding_identifier_key")
        conn.execute(statement)
    before = state(target)
    with psycopg.connect(target) as conn, pytest.raises(PublishError) as refused:
        publish(conn, load_spec(REFERENCE_SPEC), lock_timeout=5)
    message = str(refused.value)
    assert f"{problem}: 1 rows" in message and "merge again" in message and "Nothing was published" in message
    assert ("finding_identifier_key refused them" in message) == (taken == "key" and unique_index)
    assert state(target) == before


@pytest.mark.parametrize("meanwhile", [False, True], ids=["after-the-inserts", "on-a-second-connection"])
def test_publish_checks_foreign_keys_for_all_rows_at_once_and_still_refuses_an_orphan(target, demo,
                                                                                      scratch_admin_dsn, tmp_path,
                                                                                      meanwhile):
    """Publish holds back PostgreSQL's per-row foreign-key triggers (they cost as much as the insert) and checks
    the inserted rows' keys itself, under its locks, before committing: a referenced row deleted after the
    audit is still refused, naming table, columns, constraint and count. Given a way to connect (as the
    published asset is), it judges them on a second connection, in its snapshot from before the inserts,
    while the rows go in."""
    _audited(target, demo, scratch_admin_dsn, tmp_path)
    with psycopg.connect(target, autocommit=True) as conn:
        # a finding that only pending rows reference (deleting one public rows reference fails), gone after the audit
        conn.execute("CREATE TEMP TABLE gone (id bigint)")
        conn.execute("""
            DO $$ DECLARE f bigint; BEGIN
              FOR f IN SELECT DISTINCT finding_id FROM pgmerge.pending_datasource_event_finding
                       WHERE finding_id IN (SELECT id FROM public.finding) LOOP
                BEGIN DELETE FROM public.finding WHERE id = f; INSERT INTO gone VALUES (f); RETURN;
                EXCEPTION WHEN foreign_key_violation THEN NULL; END;
              END LOOP; END $$""")
        deleted = conn.execute("SELECT count(*) FROM pgmerge.pending_datasource_event_finding "
                               "WHERE finding_id IN (SELECT id FROM gone)").fetchone()[0]
        assert deleted > 0
    before = state(target)
    connect = (lambda: psycopg.connect(target)) if meanwhile else None
    with psycopg.connect(target) as conn, pytest.raises(PublishError) as refused:
        publish(conn, load_spec(REFERENCE_SPEC), lock_timeout=5, connect=connect)
    message = str(refused.value)
    assert "public.datasource_event_finding.(finding_id): published rows reference no row of public.finding " \
           "(constraint datasource_event_finding_finding_id_fkey)" in message
    assert f": {deleted} rows" in message and "Nothing was published" in message
    assert state(target) == before



def test_publish_copies_the_rows_for_undo_meanwhile_replacing_a_copy_a_failed_publish_left(target, demo,
                                                                                          scratch_admin_dsn, tmp_path):
    """The rows publish inserts are copied for undo on its second connection while it inserts (committed apart,
    so a publish that fails after the copy leaves it behind): the next publish replaces such a copy, keeps
    exactly the rows it inserted under its merge's number, and leaves no copy; undo then takes out exactly
    those rows."""
    _audited(target, demo, scratch_admin_dsn, tmp_path)
    before = state(target)
    with psycopg.connect(target, autocommit=True) as conn:
        conn.execute("CREATE TABLE pgmerge.kept_finding AS SELECT -42::bigint AS id")  # a failed publish's copy
        pending = {r[0] for r in conn.execute("SELECT id FROM pgmerge.pending_finding").fetchall()}
    assert pending
    with psycopg.connect(target) as conn:
        done = publish(conn, load_spec(REFERENCE_SPEC), lock_timeout=5, connect=lambda: psycopg.connect(target))
    with psycopg.connect(target) as conn:
        kept = {r[0] for r in conn.execute(f"SELECT id FROM pgmerge.merge{done.merge_id}_finding").fetchall()}
        copies = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'pgmerge' "
                              "AND tablename LIKE 'kept%'").fetchone()[0]
    assert kept == pending and copies == 0
    assert done.rows["finding"] == len(pending)
    with psycopg.connect(target) as conn:
        undo(conn, "pgmerge", lock_timeout=5, merge_id=done.merge_id)
    assert state(target) == before


def test_tables_with_user_triggers_publish_with_every_trigger_firing(target, demo, scratch_admin_dsn, tmp_path):
    """A table with a trigger of the user's (or a role that may not hold triggers back) is inserted as an
    application would insert: every trigger, foreign-key triggers included, fires once per row."""
    _audited(target, demo, scratch_admin_dsn, tmp_path)
    with psycopg.connect(target, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.finding_seen (id bigint);"
                     "CREATE FUNCTION public.seen() RETURNS trigger LANGUAGE plpgsql AS "
                     "$$ BEGIN INSERT INTO public.finding_seen VALUES (NEW.id); RETURN NEW; END $$;"
                     "CREATE TRIGGER seen AFTER INSERT ON public.finding FOR EACH ROW EXECUTE FUNCTION public.seen()")
        pending = conn.execute("SELECT count(*) FROM pgmerge.pending_finding").fetchone()[0]
    with psycopg.connect(target) as conn:
        done = publish(conn, load_spec(REFERENCE_SPEC), lock_timeout=5)
    assert done.rows["finding"] == pending > 0
    with psycopg.connect(target) as conn:
        keys, tables = conn.execute(
            "SELECT count(*), count(DISTINCT conrelid) FROM pg_constraint WHERE contype = 'f' "
            "AND connamespace = 'public'::regnamespace").fetchone()
    assert done.foreign_keys == (f"{keys} foreign keys of {len(done.rows) - 1} tables checked by publish for all "
                                 f"rows at once; PostgreSQL's triggers row by row for finding")
    assert keys > 5 and tables > 5
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT count(*) FROM public.finding_seen").fetchone()[0] == pending


def test_a_role_that_may_not_hold_triggers_back_publishes_with_them(target, demo, scratch_admin_dsn, tmp_path):
    """Holding foreign-key triggers back takes a superuser (or GRANT SET ON PARAMETER session_replication_role):
    the owner of the tables, without it, publishes with every trigger firing."""
    _audited(target, demo, scratch_admin_dsn, tmp_path)
    role = f"pgmerge_test_owner_{os.getpid()}"
    with psycopg.connect(target, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} NOSUPERUSER")
        conn.execute(f"GRANT ALL ON SCHEMA public, pgmerge TO {role}")
        conn.execute(f"GRANT USAGE ON SCHEMA staging TO {role}")  # publish reads dump #2's fingerprint there
        conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA staging TO {role}")
        conn.execute(f"""DO $$ DECLARE r record; BEGIN
            FOR r IN SELECT c.oid::regclass AS rel FROM pg_class c
                     WHERE c.relnamespace IN ('public'::regnamespace, 'pgmerge'::regnamespace)
                       AND c.relkind IN ('r', 'p', 'v')
                       AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid) LOOP
              EXECUTE format('ALTER TABLE %s OWNER TO {role}', r.rel);
            END LOOP; END $$""")
    try:
        with psycopg.connect(target) as conn:
            conn.execute(f"SET ROLE {role}")
            conn.commit()
            done = publish(conn, load_spec(REFERENCE_SPEC), lock_timeout=5)
        assert done.merge_id is not None and sum(done.rows.values()) > 0
        assert done.foreign_keys.startswith("0 foreign keys of 0 tables checked by publish for all rows at once; "
                                            "PostgreSQL's triggers row by row for ")
    finally:
        with psycopg.connect(target, autocommit=True) as conn:
            conn.execute(f"REASSIGN OWNED BY {role} TO CURRENT_USER; DROP OWNED BY {role}; DROP ROLE {role}")
