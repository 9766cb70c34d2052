"""Benchmark: the whole merge against its floor, a bare pg_restore of dump #2, on generated data.

    uv run python bench/merge_bench.py --scales 5,100,500,1000 [--admin-dsn DSN] [--workdir DIR] [--threads N] [--repeat N]

Per scale: the floor (dump #2's custom dump restored into an empty database), each phase of one merge run
(restore of dump #1 and load of dump #2, id maps, pending rows, the checks of those steps, the integrity report
with the lossless proof, publish, and what Dagster and the process add around the steps), the total, the ratios
total ÷ floor and data path ÷ floor (load, maps, pending, publish: the steps' writes without their checks), this
process's peak memory (the data must stay inside PostgreSQL, so Python's memory must not grow with the scale), and
the core-seconds this machine spent busy during the floor and the merge, with their ratio: the work done, which
varies far less between runs on a VM than wall time does, and the work bound: the merge's core-seconds ÷ (this
machine's cores × the floor), the lowest total ÷ floor any schedule of that much work could reach here (with
every core busy all the time); the time a bare restore of dump #1 takes, and total ÷ both restores (the floor
if the merge is held to restoring both dumps); then `pgmerge undo` of that merge, timed (and ÷ floor).
Steps run several at a time, so a phase is the wall time during which any of its steps was under way: phases
overlap, and add up to more than the total.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from pgmerge_assets.assets.executor import DEFAULT_THREADS
from pgmerge_assets.catalog.spec import load_spec
from pgmerge_assets.assets.resources import MergeInputs, TargetDatabase
from pgmerge_assets.paths import REFERENCE_SPEC
from pgmerge_assets.pg.embedded import drop_database, embedded_server_uri, ensure_database, with_dbname
from pgmerge_assets.pg.publish import undo
from pgmerge_assets.pg.restore import restore_dump
from pgmerge_assets.instance import workdir_instance
from pgmerge_assets.run import run_graph, step_times

CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
PHASES = ("load", "maps", "pending", "checks", "report", "publish", "around steps")
DATA_PATH = ("load", "maps", "pending", "publish")


def phase_of(step: str) -> str:
    """The phase of a step, by its asset key (its checks, run in the same step after its write, are counted
    apart as `checks`)."""
    head = step.split("/")[0]
    if head in ("public_restored", "dump2_restored", "staging_schema", "staging_data"):
        return "load"
    if head == "id_map":
        return "maps"
    if head in ("merged", "cycle_fk", "repaired_arrays", "sequences"):
        return "pending"
    if head == "integrity_report":
        return "report"
    return "publish"


def covered(spans: list[tuple[float, float]]) -> float:
    """Seconds during which at least one of the spans was under way (steps of a phase run at once)."""
    total, reached = 0.0, float("-inf")
    for start, end in sorted(spans):
        if end > reached:
            total += end - max(start, reached)
            reached = end
    return total


def busy_seconds() -> float:
    """Core-seconds this machine has spent busy so far (user, nice, system, irq, softirq in /proc/stat; NaN
    off Linux): every process counts (server, pg_restore, psql, this one), and a VM's stolen time does not,
    so the work a run did varies far less from run to run than its wall time."""
    try:
        fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    except (OSError, ValueError):
        return float("nan")
    user, nice, system, _idle, _iowait, irq, softirq = fields
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def timed(fn):
    """The value, the wall seconds and the busy core-seconds of fn()."""
    started, busy = time.monotonic(), busy_seconds()
    value = fn()
    return value, time.monotonic() - started, busy_seconds() - busy


def generate(workdir: Path, scale: int, admin_dsn: str | None) -> tuple[int, int]:
    """In a child process: generation holds the ground truth in memory, which would hide ours."""
    script = ("import json, sys; from pathlib import Path; from pgmerge_assets.demo.generate import generate_demo; "
              "f = generate_demo(Path(sys.argv[1]), scale=int(sys.argv[2]), admin_dsn=sys.argv[3] or None); "
              "print(json.dumps([sum(f.counts1.values()), sum(f.counts2.values())]))")
    out = subprocess.run([sys.executable, "-c", script, str(workdir), str(scale), admin_dsn or ""],
                         check=True, capture_output=True, text=True).stdout
    rows1, rows2 = json.loads(out.strip().splitlines()[-1])
    return rows1, rows2


def bench(scale: int, root: Path, admin_dsn: str | None, reuse: bool = False, threads: int | None = None) -> dict:
    workdir = root / f"scale{scale}"
    workdir.mkdir(parents=True, exist_ok=True)
    admin = admin_dsn or embedded_server_uri(root)
    counted = workdir / "rows.json"
    if reuse and counted.exists() and (workdir / "dump2.dump").exists():
        rows1, rows2 = json.loads(counted.read_text())
    else:
        rows1, rows2 = generate(workdir, scale, admin_dsn or admin)
        counted.write_text(json.dumps([rows1, rows2]))

    floors = {}
    for dump in ("dump2.dump", "dump1.dump"):
        drop_database(admin, "bench_restore")
        ensure_database(admin, "bench_restore")
        _, seconds, busy = timed(lambda: restore_dump(with_dbname(admin, "bench_restore"), workdir / dump))
        floors[dump] = seconds, busy
        drop_database(admin, "bench_restore")
    (floor, floor_cpu), (floor1, _) = floors["dump2.dump"], floors["dump1.dump"]

    drop_database(admin, "bench_merge")
    ensure_database(admin, "bench_merge")
    target = TargetDatabase(dsn=with_dbname(admin, "bench_merge"), workdir=str(workdir))
    inputs = MergeInputs(dump1=str(workdir / "dump1.dump"), dump2=str(workdir / "dump2.dump"), scratch_dsn=admin_dsn)
    outcome, total, cpu = timed(lambda: run_graph(target, inputs, REFERENCE_SPEC, threads=threads))
    with workdir_instance(target.workdir, target.resolved_dsn()) as instance:
        times = step_times(instance, outcome.run_id)
    assert outcome.success, outcome.failures
    with psycopg.connect(target.resolved_dsn()) as conn:  # every row the merge inserted taken out again
        undone, undo_seconds, _ = timed(lambda: undo(conn, load_spec(REFERENCE_SPEC).map_schema, lock_timeout=60))
    assert sum(undone.rows.values()) > 0
    drop_database(admin, "bench_merge")

    spans: dict[str, list[tuple[float, float]]] = {phase: [] for phase in PHASES}
    for asset, t in times.items():
        phase = phase_of(asset)
        if phase in DATA_PATH:  # its checks, run in the same step after its write, are counted apart
            spans[phase].append((t.start, t.written))
            spans["checks"].append((t.written, t.end))
        else:
            spans[phase].append((t.start, t.end))
    phases = {phase: covered(spans[phase]) for phase in PHASES}
    phases["around steps"] = total - covered([s for phase in PHASES for s in spans[phase]])
    slowest = sorted(((asset, t.end - t.start) for asset, t in times.items()), key=lambda kv: -kv[1])
    zero = min(t.start for t in times.values())
    timeline = sorted((t.start - zero, t.written - zero, t.end - zero, asset) for asset, t in times.items())
    return dict(scale=scale, rows1=rows1, rows2=rows2, floor=floor, floor1=floor1, phases=phases, total=total,
                timeline=timeline, floor_cpu=floor_cpu, cpu=cpu, undo=undo_seconds,
                data=covered([s for p in DATA_PATH for s in spans[p]]), slowest=slowest, threads=threads,
                proven=outcome.report["lossless"]["proven"], peak_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", default="5,100", help="comma-separated demo scales (100 ≈ 100k rows a side)")
    parser.add_argument("--workdir", default=".pgmerge-bench")
    parser.add_argument("--admin-dsn", help="server to run on (needs CREATE DATABASE); default: embedded")
    parser.add_argument("--reuse", action="store_true", help="merge the dumps an earlier run generated, if there")
    parser.add_argument("--steps", action="store_true", help="print every step's seconds, not the five slowest")
    parser.add_argument("--timeline", action="store_true", help="print when each step started, wrote and ended")
    parser.add_argument("--threads", type=int, help="steps at a time (default: the executor's, cores up to 4)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="floor and merge N times per scale, one after the other; the table shows the run of "
                             "the median total/floor (a VM's speed varies by ±10%% from one run to the next)")
    args = parser.parse_args()
    results = []
    for scale in (int(s) for s in args.scales.split(",")):
        runs = [bench(scale, Path(args.workdir), args.admin_dsn, args.reuse or i > 0, args.threads)
                for i in range(max(1, args.repeat))]
        if len(runs) > 1:
            print(f"scale {scale}: total/floor of {len(runs)} runs: "
                  + ", ".join(f"{x['total'] / x['floor']:.1f} ({x['total']:.2f} s / {x['floor']:.2f} s; "
                              f"{x['cpu']:.1f} / {x['floor_cpu']:.1f} core-s)" for x in runs))
        r = sorted(runs, key=lambda x: x["total"] / x["floor"])[len(runs) // 2]
        results.append(r)
        print(f"scale {scale}: dump #1 {r['rows1']:,} rows, dump #2 {r['rows2']:,} rows; "
              f"{r['threads'] or DEFAULT_THREADS} steps at a time; "
              f"proven {r['proven']:,}; slowest steps: "
              + ", ".join(f"{step} {seconds:.2f} s" for step, seconds in r["slowest"][:None if args.steps else 5]),
              flush=True)
        if args.timeline:
            for start, written, end, asset in r["timeline"]:
                print(f"  {start:6.2f} {written:6.2f} {end:6.2f}  {asset}")
    head = ["scale", "rows #2", "floor s", *PHASES, "total s", "total/floor", "data/floor", "peak MiB",
            "floor core-s", "core-s", "core-s/floor's", "work bound", "restore #1 s", "total/both restores",
            "undo s", "undo/floor"]
    print("\n| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for r in results:
        cells = [r["scale"], f"{r['rows2']:,}", f"{r['floor']:.2f}", *(f"{r['phases'][p]:.2f}" for p in PHASES),
                 f"{r['total']:.2f}", f"{r['total'] / r['floor']:.1f}", f"{r['data'] / r['floor']:.1f}",
                 f"{r['peak_mib']:.0f}", f"{r['floor_cpu']:.2f}", f"{r['cpu']:.2f}", f"{r['cpu'] / r['floor_cpu']:.1f}",
                 f"{r['cpu'] / (CORES * r['floor']):.1f}", f"{r['floor1']:.2f}",
                 f"{r['total'] / (r['floor'] + r['floor1']):.1f}",
                 f"{r['undo']:.2f}", f"{r['undo'] / r['floor']:.1f}"]
        print("| " + " | ".join(str(c) for c in cells) + " |")


if __name__ == "__main__":
    main()
