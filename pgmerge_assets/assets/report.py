"""The integrity report: per-table counts, every check's result, and the lossless proof, as JSON and Markdown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg

from pgmerge_assets.assets.runner import merged_counts, offending
from pgmerge_assets.assets.snapshot import PARALLEL, Connect, run_tasks
from pgmerge_assets.plan.common import Plan
from pgmerge_assets.plan.proof import build_proofs
from pgmerge_assets.plan.staging import StagingPlan
from pgmerge_assets.templates import load


def _row(conn: psycopg.Connection, query) -> dict[str, Any]:
    cur = conn.execute(query)
    row = cur.fetchone()
    return {d.name: v for d, v in zip(cur.description, row)} if row else {}


def column_types(conn: psycopg.Connection, schema: str) -> dict[str, dict[str, str]]:
    """table → column → type of the staging clones, for the proof to compare natively where it may."""
    types: dict[str, dict[str, str]] = {}
    for table, column, type_name in conn.execute(load("report/column_types.sql"), {"schema": schema}):
        types.setdefault(table, {})[column] = type_name
    return types


def gather(conn: psycopg.Connection, plan: Plan, judged: dict | None = None, connect: Connect | None = None,
           parallel: int = PARALLEL) -> dict[str, Any]:
    """Read everything the report shows, in one repeatable-read snapshot of the work it judges (target ∪
    pending: what publishing would make of the target), `parallel` queries at a time on connections from
    `connect` that share that snapshot. Checks this run judged already (`judged`: (step, check) → (offending
    count, sample)) are taken as they are, not run twice."""
    judged = judged or {}
    with conn.transaction():
        conn.execute(load("report/read_only_snapshot.sql"))
        proofs = build_proofs(plan.spec, column_types(conn, plan.spec.staging_schema))
        staging = StagingPlan(plan.spec)
        version = conn.execute(staging.work_version()).fetchone()[0]
        logged = {name: (before, pending) for name, before, pending in conn.execute(staging.merge_log())}
        tasks = [lambda c, p=p: _row(c, p.query) for p in proofs]
        unjudged = [check for check in plan.checks if (check.step, check.name) not in judged]
        tasks += [lambda c, check=check: offending(c, check.query) for check in unjudged]
        tasks.append(lambda c: merged_counts(c, staging))  # runs first, beside the biggest proof
        *results, counted = run_tasks(conn, tasks, connect, parallel)
    tables: dict[str, Any] = {}
    for proof, result in zip(proofs, results):
        t = plan.spec.tables[proof.table]
        before, pending = logged.get(t.name, (None, None))
        tables[t.name] = {
            "strategy": t.strategy,
            "staging_rows": result["staging_rows"],
            # every staging row not inserted matched a target row (its map's or its key's), as the merged step's
            # own count says while rows_conserved holds pending rows = the map's new rows
            "matched_existing": None if pending is None else result["staging_rows"] - pending,
            "inserted": pending,
            "rows_before": before,
            "rows_now": None if pending is None else before + pending,
            "identical": result["identical"],
            "conflicts": result["conflicts"],
            "lost": result["lost"],
            "conflict_sample": result["conflict_sample"],
            "lost_sample": result["lost_sample"],
        }
    offending_rows = {(c.step, c.name): r for c, r in zip(unjudged, results[len(proofs):])}
    checks = []
    for check in plan.checks:
        count, sample = judged.get((check.step, check.name)) or offending_rows[(check.step, check.name)]
        checks.append({"asset": "/".join(check.step), "check": check.name, "passed": count == 0,
                       "severity": "ERROR" if check.blocking else "WARN",
                       "offending": count, "sample": sample, "description": check.description})
    staging_rows = sum(t["staging_rows"] for t in tables.values())
    proven = sum(t["identical"] + t["conflicts"] for t in tables.values())
    lost = sum(t["lost"] for t in tables.values())
    return {
        "work_version": version,
        "counted": counted,  # every merged view's rows in the audit's snapshot (for the lossless check; not shown)
        "lossless": {
            "staging_rows": staging_rows,
            "proven": proven,
            "identical": sum(t["identical"] for t in tables.values()),
            "conflicts_public_won": sum(t["conflicts"] for t in tables.values()),
            "lost": lost,
            "coverage": 1.0 if staging_rows == 0 else proven / staging_rows,
        },
        "checks_passed": all(c["passed"] for c in checks if c["severity"] == "ERROR"),
        "tables": tables,
        "checks": checks,
    }


def render_markdown(report: dict[str, Any]) -> str:
    proof = report["lossless"]
    verdict = "LOSSLESS" if proof["lost"] == 0 else "ROWS LOST"
    lines = [
        f"# pgmerge integrity report: {verdict}",
        "",
        f"Lossless proof: {proof['proven']} of {proof['staging_rows']} staging rows found in public "
        f"({proof['coverage']:.2%}): {proof['identical']} identical, {proof['conflicts_public_won']} conflicts "
        f"where public's values were kept, {proof['lost']} lost.",
        f"Checks: {sum(c['passed'] for c in report['checks'])} of {len(report['checks'])} passed.",
        "",
        "| table | strategy | staging rows | matched existing | inserted | conflicts | lost | rows now |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, t in report["tables"].items():
        lines.append(f"| {name} | {t['strategy']} | {t['staging_rows']} | {t['matched_existing']} | {t['inserted']} "
                     f"| {t['conflicts']} | {t['lost']} | {t['rows_now']} |")
    lines += ["", "## Checks", "", "| asset | check | result | offending rows |", "|---|---|---|---:|"]
    for c in report["checks"]:
        result = "pass" if c["passed"] else ("FAIL" if c["severity"] == "ERROR" else "warn")
        lines.append(f"| {c['asset']} | {c['check']} | {result} | {c['offending']} |")
    for c in report["checks"]:
        if not c["passed"]:
            lines += ["", f"### {c['asset']} {c['check']}: {c['offending']} offending rows", "", "```json", json.dumps(c["sample"], indent=1, default=str), "```"]
    for name, t in report["tables"].items():
        if t["conflicts"]:
            lines += ["", f"## Conflicts in {name} ({t['conflicts']}; public's values kept; first {len(t['conflict_sample'])})",
                      "", "```json", json.dumps(t["conflict_sample"], indent=1, default=str), "```"]
        if t["lost"]:
            lines += ["", f"## Lost rows of {name} ({t['lost']})", "", "```json",
                      json.dumps(t["lost_sample"], indent=1, default=str), "```"]
    return "\n".join(lines) + "\n"


def write(report: dict[str, Any], directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    md, js = directory / "report.md", directory / "report.json"
    md.write_text(render_markdown(report))
    js.write_text(json.dumps(report, indent=1, default=str))
    return md, js
