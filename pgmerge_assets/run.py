"""Run the whole asset graph in process (for the CLI): the same assets and checks the UI runs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from pgmerge_assets.assets.executor import run_in_process, threaded_executor
from pgmerge_assets.assets.resources import MergeInputs, TargetDatabase
from pgmerge_assets.definitions import build_definitions
from pgmerge_assets.instance import workdir_instance
from pgmerge_assets.pg import merge_lock
from pgmerge_assets.pg.staging_load import drop_left_scratch


@dataclass
class RunOutcome:
    success: bool
    failures: list[str] = field(default_factory=list)
    report: dict | None = None
    report_path: Path | None = None
    published: str | None = None  # what publish said, when it ran
    run_id: str = ""


def root_message(error) -> str:
    """Dagster wraps the exception an asset raised; the user needs the innermost message."""
    while error is not None and error.cause is not None:
        error = error.cause
    if error is None:
        return "failed"
    message = error.message.strip()
    head, _, text = message.partition(": ")
    if text and head.endswith(error.cls_name):  # "module.Class: text"
        # pgmerge's own errors say what happened; a database's or library's keeps its class (QueryCanceled: …)
        return text if head.startswith("pgmerge_assets.") else f"{error.cls_name}: {text}"
    return message


def _interrupted(error) -> bool:
    while error is not None:
        if error.cls_name == "DagsterExecutionInterruptedError":
            return True
        error = error.cause
    return False


def run_graph(target: TargetDatabase, inputs: MergeInputs, spec_path: str | Path,
              selection: dg.AssetSelection | None = None, log_level: str = "CRITICAL",
              threads: int | None = None) -> RunOutcome:
    """The job `merge` (or the `selection` of its assets and checks), run in this process, its steps in threads
    as the UI's runs are (`threads` at a time; default: the executor's); `dg.materialize` would run every step
    one after another."""
    defs = build_definitions(spec_path, {"target": target, "inputs": inputs})
    name = "merge" if selection is None else "merge_subset"
    job = dg.define_asset_job(name, selection=selection or dg.AssetSelection.all(), executor_def=threaded_executor)
    job_def = dg.Definitions(assets=defs.assets, jobs=[job], resources=defs.resources).resolve_job_def(name)
    run_config = {"loggers": {"console": {"config": {"log_level": log_level}}},
                  **({"execution": {"config": {"threads": threads}}} if threads else {})}
    try:
        with workdir_instance(target.workdir, target.resolved_dsn()) as instance:  # runs then show in the UI
            result = run_in_process(job_def, instance, run_config)
    finally:
        merge_lock.release_all()
        drop_left_scratch()
    assets = {k.to_python_identifier(): k.to_user_string() for a in defs.assets for k in a.keys}
    failures = []
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.STEP_FAILURE and _interrupted(event.step_failure_data.error) or \
                event.event_type == dg.DagsterEventType.RUN_FAILURE and _interrupted(event.event_specific_data.error):
            raise KeyboardInterrupt  # Ctrl-C (or a kill signal) in the run: the caller says what was published
        if event.event_type == dg.DagsterEventType.STEP_FAILURE:
            failures.append(f"{assets.get(event.step_key, event.step_key)}: {root_message(event.step_failure_data.error)}")
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
            offending = evaluation.metadata.get("offending_rows")
            count = f" ({offending.value} offending rows)" if offending is not None else ""
            failures.append(f"check {evaluation.asset_key.to_user_string()}:{evaluation.check_name} failed{count}")
    published = next((m.metadata["message"].value for m in
                      (e.event_specific_data.materialization for e in result.get_asset_materialization_events())
                      if m.asset_key.to_user_string() == "published"), None)
    report_path = Path(target.workdir) / "report.json"
    reported = any(m.asset_key.to_user_string() == "integrity_report" for m in
                   (e.event_specific_data.materialization for e in result.get_asset_materialization_events()))
    report = json.loads(report_path.read_text()) if reported else None  # this run's, never an older file
    return RunOutcome(result.success and not failures, failures, report, report_path if report else None, published,
                      result.run_id)


@dataclass(frozen=True)
class StepTimes:
    """When a step started, wrote its asset (its checks run after, in the same step) and ended (epoch s)."""

    start: float
    written: float
    end: float


def step_times(instance: dg.DagsterInstance, run_id: str) -> dict[str, StepTimes]:
    """Per asset of a run's successful steps, from the run's event log: the benchmark's phases are the spans
    of these (steps run at once, so their durations no longer add up to the run's)."""
    wanted = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.ASSET_MATERIALIZATION, dg.DagsterEventType.STEP_SUCCESS}
    seen: dict[str, dict] = {}
    for entry in instance.all_logs(run_id, of_type=wanted):
        times = seen.setdefault(entry.step_key, {})
        kind = entry.dagster_event.event_type
        if kind == dg.DagsterEventType.STEP_START:
            times["start"] = entry.timestamp
        elif kind == dg.DagsterEventType.ASSET_MATERIALIZATION:
            times["asset"] = entry.dagster_event.asset_key.to_user_string()
            times["written"] = entry.timestamp
        else:
            times["end"] = entry.timestamp
    return {t["asset"]: StepTimes(t["start"], t["written"], t["end"]) for t in seen.values()
            if {"asset", "start", "end"} <= t.keys()}
