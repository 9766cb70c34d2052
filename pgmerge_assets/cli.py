"""`pgmerge`: demo, merge, plan, spec and stop, from the command line."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from pgmerge_assets.paths import REFERENCE_SPEC

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


def _finish(outcome, workdir: Path) -> int:
    if outcome.report:
        _print_counts(outcome.report)
        print(f"report: {workdir / 'report.md'} and {workdir / 'report.json'}")
    if outcome.success:
        return 0
    for failure in outcome.failures or ["the run failed"]:
        print(f"pgmerge: {failure}", file=sys.stderr)
    return 1


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
    from pgmerge_assets.run import run_graph

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
    outcome = run_graph(TargetDatabase(dsn=dsn, workdir=str(workdir)),
                        MergeInputs(dump1=str(files.dump1_custom), dump2=str(files.dump2_sql),
                                    scratch_dsn=os.environ.get(SCRATCH_DSN_ENV) or admin), args.spec)
    return _finish(outcome, workdir)


def cmd_merge(args) -> int:
    from pgmerge_assets.assets.resources import MergeInputs, TargetDatabase
    from pgmerge_assets.run import run_graph

    if not args.dump2 and not args.source_dsn:
        print("pgmerge: give --dump2 FILE or --source-dsn DSN", file=sys.stderr)
        return 2
    workdir = Path(args.workdir)
    outcome = run_graph(TargetDatabase(dsn=args.target_dsn, workdir=str(workdir)),
                        MergeInputs(dump1=args.dump1, dump2=args.dump2, source_dsn=args.source_dsn,
                                    scratch_dsn=args.scratch_dsn, pg_bin=args.pg_bin), args.spec)
    return _finish(outcome, workdir)


def cmd_plan(args) -> int:
    from pgmerge_assets.catalog.spec import load_spec
    from pgmerge_assets.plan.planner import build_plan

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
    return 0


def cmd_spec(args) -> int:
    import psycopg

    from pgmerge_assets.catalog.draft import draft_spec
    from pgmerge_assets.catalog.introspect import read_catalog

    schemas = list(dict.fromkeys(args.schema or ["public"]))
    with psycopg.connect(args.dsn) as conn:
        tables = read_catalog(conn, schemas)
    empty = [s for s in schemas if not any(schema == s for schema, _ in tables)]
    if empty:
        print(f"pgmerge: schema {', '.join(empty)} holds no tables", file=sys.stderr)
        return 1
    text = draft_spec(tables, schemas[0])
    if args.output:
        Path(args.output).write_text(text)
        print(f"wrote {args.output}: review every table, and name the table of each array column marked null")
    else:
        print(text, end="")
    return 0


def cmd_stop(args) -> int:
    import subprocess

    from pgmerge_assets.pg.tools import find_tool

    pgdata = Path(args.workdir).resolve() / "pgdata"
    if not (pgdata / "postmaster.pid").exists():
        print(f"no embedded server is running in {pgdata}")
        return 0
    command = [str(find_tool("pg_ctl").path), "-D", str(pgdata), "stop", "-m", "fast"]
    owner = pgdata.owner()
    if os.geteuid() == 0 and owner != "root":  # run as root, the embedded server runs as its own user
        command = ["su", owner, "-s", "/bin/sh", "-c", shlex.join(command)]
    return subprocess.run(command).returncode


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pgmerge", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="generate two diverged dumps and merge them end to end")
    demo.add_argument("--scale", type=int, default=1, help="data size; 1 is small, ~500 reaches 1M rows")
    demo.add_argument("--seed", type=int, default=42)
    demo.add_argument("--workdir", default=DEFAULT_DEMO_DIR)
    demo.add_argument("--target-dsn", help="merge into this database instead of an embedded server under --workdir")
    demo.add_argument("--spec", default=str(REFERENCE_SPEC))
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
    merge.set_defaults(func=cmd_merge)

    plan = sub.add_parser("plan", help="print the ordered merge steps and their SQL without running them")
    plan.add_argument("--spec", default=str(REFERENCE_SPEC))
    plan.set_defaults(func=cmd_plan)

    spec = sub.add_parser("spec", help="draft a merge spec from a database's catalog")
    spec.add_argument("--dsn", required=True)
    spec.add_argument("--schema", action="append",
                      help="schema to draft (repeat for several; the first is the target_schema); default public")
    spec.add_argument("--output", "-o")
    spec.set_defaults(func=cmd_spec)

    stop = sub.add_parser("stop", help="stop the embedded server under a work directory")
    stop.add_argument("--workdir", default=DEFAULT_DEMO_DIR)
    stop.set_defaults(func=cmd_stop)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `pgmerge plan | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # one clear line for the user; the traceback helps nobody at a prompt
        print(f"pgmerge: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
