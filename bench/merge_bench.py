"""Benchmark: merge time against a bare pg_restore of the same dump, on generated data.

    uv run python bench/merge_bench.py --scale 100 [--target-dsn DSN] [--workdir DIR]

Prints rows, seconds per phase and the ratios (merge ÷ pg_restore of dump #2), plus this process's peak
memory: the data must stay inside PostgreSQL, so Python's memory must not grow with the scale.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import dagster as dg

from pgmerge_assets.assets.resources import MergeInputs, TargetDatabase
from pgmerge_assets.paths import REFERENCE_SPEC
from pgmerge_assets.pg.embedded import drop_database, embedded_server_uri, ensure_database, with_dbname
from pgmerge_assets.pg.restore import restore_dump
from pgmerge_assets.run import run_graph


def timed(fn):
    started = time.monotonic()
    value = fn()
    return value, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=100)
    parser.add_argument("--workdir", default=".pgmerge-bench")
    parser.add_argument("--admin-dsn", help="server to run on (needs CREATE DATABASE); default: embedded")
    args = parser.parse_args()
    workdir = Path(args.workdir)
    admin = args.admin_dsn or embedded_server_uri(workdir)

    # Generation runs in a child process: it holds the ground truth in memory, which would hide ours.
    script = ("import json, sys; from pathlib import Path; from pgmerge_assets.demo.generate import generate_demo; "
              "f = generate_demo(Path(sys.argv[1]), scale=int(sys.argv[2]), admin_dsn=sys.argv[3] or None); "
              "print(json.dumps([sum(f.counts1.values()), sum(f.counts2.values())]))")
    generated, gen_s = timed(lambda: subprocess.run(
        [sys.executable, "-c", script, str(workdir), str(args.scale), args.admin_dsn or ""],
        check=True, capture_output=True, text=True).stdout)
    rows1, rows2 = json.loads(generated.strip().splitlines()[-1])
    files = SimpleNamespace(dump1_custom=workdir / "dump1.dump", dump2_custom=workdir / "dump2.dump")

    drop_database(admin, "bench_restore")
    ensure_database(admin, "bench_restore")
    _, restore_s = timed(lambda: restore_dump(with_dbname(admin, "bench_restore"), files.dump2_custom))
    drop_database(admin, "bench_restore")

    drop_database(admin, "bench_merge")
    ensure_database(admin, "bench_merge")
    target = TargetDatabase(dsn=with_dbname(admin, "bench_merge"), workdir=str(workdir))
    inputs = MergeInputs(dump1=str(files.dump1_custom), dump2=str(files.dump2_custom), scratch_dsn=args.admin_dsn)
    load = dg.AssetSelection.groups("load")
    outcome_load, load_s = timed(lambda: run_graph(target, inputs, REFERENCE_SPEC, selection=load))
    outcome, merge_s = timed(lambda: run_graph(target, inputs, REFERENCE_SPEC, selection=dg.AssetSelection.all() - load))
    drop_database(admin, "bench_merge")
    assert outcome_load.success and outcome.success, outcome_load.failures + outcome.failures

    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"scale {args.scale}: dump #1 {rows1:,} rows, dump #2 {rows2:,} rows (generated in {gen_s:.1f} s)")
    print(f"bare pg_restore of dump #2 (-Fc):           {restore_s:8.2f} s")
    print(f"restore #1 + load #2 into staging:          {load_s:8.2f} s   ({load_s / restore_s:5.2f}x the bare restore)")
    print(f"merge graph (maps, inserts, arrays, checks, report): {merge_s:8.2f} s   ({merge_s / restore_s:5.2f}x)")
    print(f"end to end:                                 {load_s + merge_s:8.2f} s   ({(load_s + merge_s) / restore_s:5.2f}x)")
    print(f"lossless proof: {outcome.report['lossless']['proven']:,} of {outcome.report['lossless']['staging_rows']:,}")
    print(f"peak memory of this process (restore, load, merge, report): {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
