"""`pgmerge`: demo, merge, undo, history, plan, spec, ui and stop, from the command line."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path

from pgmerge_assets.paths import REFERENCE_SPEC
from pgmerge_assets.pg.merge_lock import DEFAULT_LOCK_TIMEOUT

DEFAULT_DEMO_DIR = ".pgmerge-demo"


def _print_counts(report: dict) -> None:
    header = f"{'table':<26} {'public before':>13} {'staging':>9} {'matched':>9} {'inserted':>9} {'conflicts':>9} {'public after':>12}"
    print(header)
    print("-" * len(header))
    for name, t in report["tables"].items():
        print(f"{name:<26} {t['rows_before'] if t['rows_before'] is not None else '-':>13} {t['staging_rows']:>9} "
              f"{t['matched_existing']:>9} {t['inserted'] if t['inserted'] is not None else '-':>9} "
              f"{t['conflicts']:>9} {t['rows_now'] if t['rows_now'] is not None else '-':>12}")
    proof = report["lossless"]
    print(f"\nlossless proof: {proof['proven']} of {proof['staging_rows']} staging rows in public "
          f"({proof['conflicts_public_won']} conflicts kept public's values), {proof['lost']} lost; "
          f"checks {'all passed' if report['checks_passed'] else 'FAILED'}")
    for c in report["checks"]:  # warnings: the merge went on, but the spec may be wrong
        if not c["passed"] and c["severity"] == "WARN":
            print(f"warning: {c['asset']}:{c['check']}: {c['offending']} found: {c['description']} "
                  f"{json.dumps(c['sample'][:3], default=str)}")


def _finish(outcome, workdir: Path) -> int:
    if outcome.report:
        _print_counts(outcome.report)
        print(f"report: {workdir / 'report.md'} and {workdir / 'report.json'}")
    if outcome.published:
        print(outcome.published)
    if outcome.success:
        return 0
    for failure in outcome.failures or ["the run failed"]:
        print(f"pgmerge: {failure}", file=sys.stderr)
    if not outcome.published and not any("othing was published" in f for f in outcome.failures):
        print("pgmerge: nothing was published; the target is unchanged", file=sys.stderr)
    return 1


def _run(target, inputs, spec_path, verbose: bool, threads: int | None = None):
    """The graph in process; Ctrl-C stops it, and says whether anything reached the target."""
    from pgmerge_assets.catalog.spec import load_spec
    from pgmerge_assets.pg.publish import history
    from pgmerge_assets.run import run_graph

    def ledger_size() -> int:
        import psycopg

        try:
            with psycopg.connect(target.resolved_dsn(), connect_timeout=5) as conn:
                return len(history(conn, load_spec(spec_path).map_schema))
        except psycopg.Error:
            return -1

    before = ledger_size()
    try:
        return run_graph(target, inputs, spec_path, log_level="INFO" if verbose else "CRITICAL", threads=threads)
    except KeyboardInterrupt:
        after = ledger_size()
        print("pgmerge: interrupted; " + ("the merge was published (see pgmerge history)" if after > before >= 0
                                          else "nothing was published; the target is unchanged"), file=sys.stderr)
        raise SystemExit(130) from None


def cmd_demo(args) -> int:
    from pgmerge_assets.assets.resources import SCRATCH_DSN_ENV, MergeInputs, TargetDatabase
    from pgmerge_assets.demo.generate import generate_demo
    from pgmerge_assets.pg.embedded import (
        EMBEDDED_DBNAME,
        drop_database,
        embedded_server_uri,
        ensure_database,
        redact,
        with_dbname,
    )

    workdir = Path(args.workdir)
    print(f"generating two diverged databases (scale {args.scale}, seed {args.seed}) into {workdir}/ ...")
    files = generate_demo(workdir, scale=args.scale, seed=args.seed)
    for name in ("dump1_sql", "dump1_custom", "dump2_sql", "dump2_custom", "truth"):
        print(f"  {getattr(files, name)}")
    admin = embedded_server_uri(workdir)  # generated the dumps; also hosts dump #2's scratch database
    if args.target_dsn:
        dsn = args.target_dsn
    else:
        drop_database(admin, EMBEDDED_DBNAME)  # a demo starts from an empty target every time
        ensure_database(admin, EMBEDDED_DBNAME)
        dsn = with_dbname(admin, EMBEDDED_DBNAME)
    print(f"merging into {redact(dsn)}: dump #1 = {files.dump1_custom.name}, dump #2 = {files.dump2_sql.name}")
    outcome = _run(TargetDatabase(dsn=dsn, workdir=str(workdir)),
                   MergeInputs(dump1=str(files.dump1_custom), dump2=str(files.dump2_sql),
                               scratch_dsn=os.environ.get(SCRATCH_DSN_ENV) or admin), args.spec, args.verbose)
    return _finish(outcome, workdir)


def cmd_merge(args) -> int:
    from pgmerge_assets.assets.resources import MergeInputs, TargetDatabase

    if not args.dump2 and not args.source_dsn:
        print("pgmerge: give --dump2 FILE or --source-dsn DSN", file=sys.stderr)
        return 2
    for label, path in (("--dump1", args.dump1), ("--dump2", args.dump2), ("--spec", args.spec)):
        if path and not Path(path).exists():
            print(f"pgmerge: {label} {path} does not exist; nothing was changed", file=sys.stderr)
            return 2
    workdir = Path(args.workdir)
    # dump #2's scratch database needs a server: without --scratch-dsn, an embedded one under --workdir,
    # stopped again afterwards if this merge started it
    own_scratch_server = not args.scratch_dsn and not args.source_dsn and not _server_running(workdir)
    try:
        outcome = _run(TargetDatabase(dsn=args.target_dsn, workdir=str(workdir), lock_timeout=args.lock_timeout),
                       MergeInputs(dump1=args.dump1, dump2=args.dump2, source_dsn=args.source_dsn,
                                   scratch_dsn=args.scratch_dsn, pg_bin=args.pg_bin), args.spec, args.verbose,
                       args.threads)
    finally:
        if own_scratch_server and _server_running(workdir):
            _stop_server(workdir)
    return _finish(outcome, workdir)


def _map_schema(spec_path: str) -> str:
    from pgmerge_assets.catalog.spec import load_spec

    return load_spec(spec_path).map_schema


def cmd_undo(args) -> int:
    import psycopg

    from pgmerge_assets.pg import merge_lock
    from pgmerge_assets.pg.publish import PublishError, undo

    map_schema = _map_schema(args.spec)
    try:
        merge_lock.hold(args.target_dsn, map_schema, "undo")
        with psycopg.connect(args.target_dsn) as conn:
            done = undo(conn, map_schema, args.lock_timeout, args.merge)
    except (PublishError, merge_lock.MergeRunningError) as exc:
        print(f"pgmerge: {exc}", file=sys.stderr)
        return 1
    finally:
        merge_lock.release_all()
    print(f"merge {done.merge_id} undone: {sum(done.rows.values())} rows deleted")
    for table, rows in done.rows.items():
        if rows:
            print(f"  {table}: {rows}")
    if done.sequences_restored:
        print(f"sequences restored: {', '.join(done.sequences_restored)}")
    if done.sequences_left:
        print(f"sequences left where they are (used since the merge): {', '.join(done.sequences_left)}")
    return 0


def cmd_history(args) -> int:
    import psycopg

    from pgmerge_assets.pg.publish import history

    with psycopg.connect(args.target_dsn) as conn:
        merges = history(conn, _map_schema(args.spec))
    if not merges:
        print("no merge was published into this database")
        return 0
    print(f"{'merge':>5}  {'published at':<25} {'rows':>9}  {'state':<30} dump #2 fingerprint")
    for m in merges:
        state = f"undone {m['undone_at']:%Y-%m-%d %H:%M:%S}" if m["undone_at"] else "published"
        print(f"{m['merge_id']:>5}  {m['published_at']:%Y-%m-%d %H:%M:%S %Z}   {m['total_rows']:>9}  {state:<30} "
              f"{m['dump2_fingerprint'][:12]}")
    return 0


def cmd_plan(args) -> int:
    from pgmerge_assets.catalog.spec import load_spec
    from pgmerge_assets.plan.planner import build_plan
    from pgmerge_assets.plan.publish import plan_publish

    plan = build_plan(load_spec(args.spec))
    for number, step in enumerate(plan.steps, 1):
        print(f"-- step {number}: {'/'.join(step.key)}  (after: {', '.join('/'.join(d) for d in step.deps)})")
        print(f"-- {step.description}")
        for guard in step.guards:
            print(f"-- guard: {guard.problem}")
        for statement in step.statements:
            print(statement.as_string().strip() + ";\n")
    for check in plan.checks:
        print(f"-- check {'/'.join(check.step)}:{check.name} ({'blocking' if check.blocking else 'warn'}): {check.description}")
    publishing = plan_publish(plan.spec)
    print("\n-- published: one transaction, once integrity_report's audit of the pending rows passed")
    for _, statement in publishing.locks:
        print(statement.as_string().strip() + ";")
    for guard in publishing.verify:
        print(f"-- re-verify: {guard.problem} (none may be found)")
    for group in publishing.groups:
        print(f"-- insert {', '.join(group.tables)}" + (" (a foreign-key cycle: one statement)" if len(group.tables) > 1 else ""))
        print(group.statement.as_string().strip() + ";\n")
    for move in publishing.sequences:
        print(f"-- move {move.sequence} past max(id) when it is not (ALTER SEQUENCE .. RESTART, then setval):")
        print(move.past_max.as_string().strip() + ";")
    print("-- then: the ledger row (pgmerge history), the inserted rows kept for pgmerge undo")
    return _lint_databases(plan.spec, args) if args.dsn else 0


def _lint_databases(spec, args) -> int:
    """Warnings from the data of each database given (the spec's tables where they live): printed, never fatal."""
    import psycopg

    from pgmerge_assets.plan.lint import plan_database_lint

    warned = 0
    for label, dsn in (("--dsn", args.dsn), ("--dsn2", args.dsn2)):
        if not dsn:
            continue
        with psycopg.connect(dsn) as conn:
            for guard in plan_database_lint(spec):
                count, sample = conn.execute(guard.query).fetchone()
                if count:
                    warned += 1
                    print(f"-- warning ({label}): {guard.problem}: {count} found, e.g. "
                          f"{json.dumps(sample[:3], default=str)}")
    print(f"-- {warned} warning(s) from the data" if warned else "-- the data gives no warning")
    return 0


def cmd_spec(args) -> int:
    import psycopg

    from pgmerge_assets.catalog.draft import draft_spec
    from pgmerge_assets.catalog.introspect import read_catalog
    from pgmerge_assets.catalog.profile import profile_catalog

    schemas = list(dict.fromkeys(args.schema or ["public"]))
    with psycopg.connect(args.dsn) as conn:
        tables = read_catalog(conn, schemas)
        empty = [s for s in schemas if not any(schema == s for schema, _ in tables)]
        if empty:
            print(f"pgmerge: schema {', '.join(empty)} holds no tables", file=sys.stderr)
            return 1
        if args.dsn2:  # the second database's data too, read under the same catalog
            with psycopg.connect(args.dsn2) as conn2:
                profile = profile_catalog(tables, [conn, conn2])
        else:
            profile = profile_catalog(tables, [conn])
    text = draft_spec(tables, schemas[0], profile)
    if args.output:
        Path(args.output).write_text(text)
        print(f"wrote {args.output}: review every table, and name the table of each array column marked null")
    else:
        print(text, end="")
    return 0


def _server_running(workdir: Path) -> bool:
    return (Path(workdir).resolve() / "pgdata" / "postmaster.pid").exists()


def _stop_server(workdir: Path) -> int:
    import subprocess

    from pgmerge_assets.pg.tools import find_tool

    pgdata = Path(workdir).resolve() / "pgdata"
    command = [str(find_tool("pg_ctl").path), "-D", str(pgdata), "stop", "-m", "fast"]
    owner = pgdata.owner()
    if os.geteuid() == 0 and owner != "root":  # run as root, the embedded server runs as its own user
        command = ["su", owner, "-s", "/bin/sh", "-c", shlex.join(command)]
    return subprocess.run(command, capture_output=True).returncode


def cmd_ui(args) -> int:
    from pgmerge_assets.ui import UiError, port_free, running_ui, start_ui

    workdir = Path(args.workdir)
    ui = running_ui(workdir)
    if ui is None:
        if not port_free(args.port):
            print(f"pgmerge: port {args.port} is taken; choose another with --port", file=sys.stderr)
            return 1
        try:
            ui = start_ui(workdir, args.port, args.target_dsn, args.spec)
        except UiError as exc:
            print(f"pgmerge: {exc}", file=sys.stderr)
            return 1
    home = os.environ.get("DAGSTER_HOME") or workdir.resolve() / "dagster_home"
    print(f"Dagster UI at {ui.url} (log: {ui.log}); run history: Dagster home {home}")
    print(f"stop it and the embedded server: pgmerge stop --workdir {args.workdir}")
    return 0


def cmd_stop(args) -> int:
    from pgmerge_assets.ui import stop_ui

    if stop_ui(args.workdir):
        print("UI stopped")
    if not _server_running(args.workdir):
        print(f"no embedded server is running in {Path(args.workdir).resolve() / 'pgdata'}")
        return 0
    code = _stop_server(args.workdir)
    print("server stopped" if code == 0 else "pgmerge: the server did not stop (pg_ctl failed)")
    return code


def _steps_at_once(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"a whole number of steps, 1 or more, not {value!r}")
    return int(value)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pgmerge", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="generate two diverged dumps and merge them end to end")
    demo.add_argument("--scale", type=int, default=1, help="data size; 1 is small, ~500 reaches 1M rows")
    demo.add_argument("--seed", type=int, default=42)
    demo.add_argument("--workdir", default=DEFAULT_DEMO_DIR)
    demo.add_argument("--target-dsn", help="merge into this database instead of an embedded server under --workdir")
    demo.add_argument("--spec", default=str(REFERENCE_SPEC))
    demo.add_argument("--verbose", action="store_true", help="show Dagster's step logs")
    demo.set_defaults(func=cmd_demo)

    merge = sub.add_parser("merge", help="merge dump #2 into a target database headless")
    merge.add_argument("--target-dsn", required=True)
    merge.add_argument("--dump2", help="pg_dump file of the second database (plain, -Fc, -Fd or -Ft)")
    merge.add_argument("--source-dsn", help="read the second database live instead of from --dump2")
    merge.add_argument("--dump1", help="restored into the target first, unless it already holds the tables")
    merge.add_argument("--spec", default=str(REFERENCE_SPEC))
    merge.add_argument("--workdir", default=".pgmerge", help="where report.md and report.json go")
    merge.add_argument("--scratch-dsn", help="server where a scratch database may be created (default: embedded)")
    merge.add_argument("--pg-bin", help="folder with pg_restore/psql/pg_dump to use")
    merge.add_argument("--lock-timeout", type=float, default=DEFAULT_LOCK_TIMEOUT,
                       help="seconds to wait for a table lock before giving up (default %(default)g)")
    merge.add_argument("--threads", type=_steps_at_once, help="steps run at once (default: $PGMERGE_THREADS, else "
                                                               "this machine's cores, at most 4; 1: one at a time)")
    merge.add_argument("--verbose", action="store_true", help="show Dagster's step logs")
    merge.set_defaults(func=cmd_merge)

    undo = sub.add_parser("undo", help="take the newest published merge (or --merge ID) out of the target again")
    undo.add_argument("--target-dsn", required=True)
    undo.add_argument("--merge", type=int, help="merge id from pgmerge history (default: the newest)")
    undo.add_argument("--spec", default=str(REFERENCE_SPEC), help="names pgmerge's schema (map_schema)")
    undo.add_argument("--workdir", default=".pgmerge")
    undo.add_argument("--lock-timeout", type=float, default=DEFAULT_LOCK_TIMEOUT)
    undo.set_defaults(func=cmd_undo)

    hist = sub.add_parser("history", help="list the merges published into the target (the ledger)")
    hist.add_argument("--target-dsn", required=True)
    hist.add_argument("--spec", default=str(REFERENCE_SPEC), help="names pgmerge's schema (map_schema)")
    hist.set_defaults(func=cmd_history)

    plan = sub.add_parser("plan", help="print the ordered merge steps and their SQL without running them")
    plan.add_argument("--spec", default=str(REFERENCE_SPEC))
    plan.add_argument("--dsn", help="a database holding the spec's tables (dump #1's): warn where its data contradicts the spec")
    plan.add_argument("--dsn2", help="the second database (dump #2's): warn where its data does")
    plan.set_defaults(func=cmd_plan)

    spec = sub.add_parser("spec", help="draft a merge spec from a database's catalog and data")
    spec.add_argument("--dsn", required=True, help="the database of dump #1: its catalog and data")
    spec.add_argument("--dsn2", help="the second database (dump #2 restored): keys must hold in its data too")
    spec.add_argument("--schema", action="append",
                      help="schema to draft (repeat for several; the first is the target_schema); default public")
    spec.add_argument("--output", "-o")
    spec.set_defaults(func=cmd_spec)

    ui = sub.add_parser("ui", help="open the Dagster UI on a work directory's target, dumps and run history "
                                   "(in the background; pgmerge stop ends it)")
    ui.add_argument("--workdir", default=DEFAULT_DEMO_DIR)
    ui.add_argument("--port", type=int, default=3000)
    ui.add_argument("--target-dsn", default=os.environ.get("PGMERGE_TARGET_DSN"),
                    help="merge into this database instead of the embedded server under --workdir")
    ui.add_argument("--spec", help="merge spec the asset graph is built from (default: $PGMERGE_SPEC or the reference)")
    ui.set_defaults(func=cmd_ui)

    stop = sub.add_parser("stop", help="stop the UI and the embedded server under a work directory")
    stop.add_argument("--workdir", default=DEFAULT_DEMO_DIR)
    stop.set_defaults(func=cmd_stop)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("pgmerge: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `pgmerge plan | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # one clear line for the user; the traceback helps nobody at a prompt
        print(f"pgmerge: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
