"""The threaded executor on its own: which steps overlap, what a failing step stops, and when it falls back to
one step at a time. Its steps here only wait (no data); the merge's own runs are in test_write_audit_publish."""

from __future__ import annotations

import time

import dagster as dg
import pytest

from pgmerge_assets.assets.executor import run_in_process, threaded_executor
from pgmerge_assets.run import step_times

WAIT = 0.6


def _job(fail: str | None = None, hooks=frozenset()) -> dg.JobDefinition:
    """left and right are independent; both feeds bottom."""

    def waiting(name, deps=()):
        @dg.asset(name=name, deps=deps)
        def _asset():
            time.sleep(WAIT)
            print(f"{name} waited", flush=True)
            if name == fail:
                raise RuntimeError(f"{name} failed on purpose")

        return _asset

    left, right = waiting("left"), waiting("right")
    bottom = waiting("bottom", deps=[left, right])
    job = dg.define_asset_job("waits", executor_def=threaded_executor, hooks=set(hooks))
    return dg.Definitions(assets=[left, right, bottom], jobs=[job]).resolve_job_def("waits")


def _spans(instance, result) -> dict[str, tuple[float, float]]:
    return {asset: (t.start, t.end) for asset, t in step_times(instance, result.run_id).items()}


def _overlap(a, b) -> bool:
    return a[0] < b[1] and b[0] < a[1]


@pytest.mark.parametrize("threads", [1, 2])
def test_independent_steps_overlap_and_dependent_ones_wait(threads):
    with dg.DagsterInstance.ephemeral() as instance:
        result = run_in_process(_job(), instance, {"execution": {"config": {"threads": threads}}})
        spans = _spans(instance, result)
    assert result.success
    assert _overlap(spans["left"], spans["right"]) == (threads > 1)
    assert spans["bottom"][0] >= max(spans["left"][1], spans["right"][1])


def test_a_failing_step_stops_what_depends_on_it_and_not_what_runs_beside_it():
    with dg.DagsterInstance.ephemeral() as instance:
        result = run_in_process(_job(fail="left"), instance, {})
    assert not result.success
    outcome = {e.step_key: e.event_type for e in result.all_events if e.event_type in (
        dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE)}
    assert outcome == {"left": dg.DagsterEventType.STEP_FAILURE, "right": dg.DagsterEventType.STEP_SUCCESS}
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    assert "left failed on purpose" in str(failure.step_failure_data.error.cause)


def test_the_jobs_hooks_hear_of_each_step():
    heard = []

    @dg.success_hook
    def succeeded(context):
        heard.append(("success", context.op.name))

    @dg.failure_hook
    def failed(context):
        heard.append(("failure", context.op.name))

    with dg.DagsterInstance.ephemeral() as instance:
        run_in_process(_job(fail="right", hooks={succeeded, failed}), instance, {})
    assert sorted(heard) == [("failure", "right"), ("success", "left")]


def test_steps_at_once_under_an_instance_that_captures_their_output(tmp_path, capfd):
    """Dagster's default instance captures stdout and stderr by redirecting the process's descriptors: once for
    the run, as in process, so that steps in threads never undo each other's redirection."""
    logs = {"module": "dagster._core.storage.local_compute_log_manager", "class": "LocalComputeLogManager",
            "config": {"base_dir": str(tmp_path / "logs")}}
    with dg.instance_for_test(overrides={"compute_logs": logs}, temp_dir=str(tmp_path)) as instance:
        result = run_in_process(_job(), instance, {"execution": {"config": {"threads": 2}}})
        spans = _spans(instance, result)
    assert result.success
    assert _overlap(spans["left"], spans["right"])
    captured = "".join(p.read_text() for p in (tmp_path / "logs").rglob("*.out"))
    assert all(f"{name} waited" in captured for name in ("left", "right", "bottom")), captured
    print("stdout is ours again")
    assert "stdout is ours again" in capfd.readouterr().out  # (mirrored there too, as Dagster does)


def test_pgmerge_threads_sets_the_default_and_refuses_what_is_not_a_count(monkeypatch):
    from pgmerge_assets.assets.executor import THREADS_ENV, default_threads

    monkeypatch.setenv(THREADS_ENV, "6")
    assert default_threads() == 6
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv(THREADS_ENV, bad)
        with pytest.raises(ValueError, match=f"PGMERGE_THREADS must be a whole number.*{bad!r}"):
            default_threads()
