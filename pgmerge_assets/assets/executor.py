"""The merge's executor: each step in a thread of the run's own process, up to `threads` at a time.

The steps are SQL statements that wait on the server, so independent tables' steps (the maps of unrelated
parents, the pending rows of siblings) can run at once and use the server's cores. Dagster's multiprocess
executor would start a Python process per step (seconds each), and the merge lock is held by a connection
of the run's process. Built like that executor, on Dagster's ActiveExecution, with threads for processes.
Where the instance captures compute logs (Dagster's default outside pgmerge), or with `threads: 1`, the
steps run one after another, as Dagster's in-process executor runs them.

Interrupted (Ctrl-C, a terminated run): every step still running gets DagsterExecutionInterruptedError, as
the in-process executor would raise it, and every statement pgmerge has running is cancelled (a thread
waiting on the server would otherwise hear of it only when the statement ends)."""

from __future__ import annotations

import ctypes
import os
import queue
import sys
import threading

import dagster as dg
from dagster._core.definitions.job_base import InMemoryJob
from dagster._core.errors import DagsterExecutionInterruptedError
from dagster._core.events import DagsterEvent, EngineEventData
from dagster._core.execution.api import create_execution_plan, execute_plan_iterator
from dagster._core.execution.execute_in_process import core_execute_in_process
from dagster._core.execution.plan.active import ActiveExecution
from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext
from dagster._core.execution.retries import RetryMode
from dagster._core.executor.in_process import InProcessExecutor
from dagster._core.storage.noop_compute_log_manager import NoOpComputeLogManager
from dagster._utils.error import serializable_error_info_from_exc_info

from pgmerge_assets.pg import sessions

CAPTURED = ("steps run one after another: this instance captures each step's stdout and stderr (compute logs) "
            "by redirecting the process's file descriptors, which steps in threads would undo for each other; "
            "compute_logs: NoOpComputeLogManager in dagster.yaml (as pgmerge's own instance has) runs them at once")
# measured on 2 cores, scale 1000: the whole merge 18.5–19.5 s with one step at a time, 15.2–15.9 s with two
THREADS_ENV = "PGMERGE_THREADS"


def default_threads() -> int:
    value = os.environ.get(THREADS_ENV)
    if not value:
        return max(1, min(4, os.cpu_count() or 1))
    if not value.strip().isdigit() or int(value) < 1:
        raise ValueError(f"{THREADS_ENV} must be a whole number of steps to run at once (1 or more), not {value!r}")
    return int(value)


DEFAULT_THREADS = default_threads()
_ENDED = object()


class ThreadedExecutor(dg.Executor):
    def __init__(self, threads: int):
        self.threads = max(1, threads)

    @property
    def retries(self) -> RetryMode:
        return RetryMode.DISABLED

    def execute(self, plan_context, execution_plan):
        if self.threads == 1 or not isinstance(plan_context.instance.compute_log_manager, NoOpComputeLogManager):
            if self.threads > 1:
                yield DagsterEvent.engine_event(plan_context, CAPTURED, EngineEventData())
            yield from InProcessExecutor(self.retries).execute(plan_context, execution_plan)
            return
        yield DagsterEvent.engine_event(
            plan_context, f"Executing steps in threads, {self.threads} at a time (pid: {os.getpid()})",
            EngineEventData.in_process(os.getpid(), execution_plan.step_keys_to_execute))
        events: queue.Queue = queue.Queue()
        running: dict[str, threading.Thread] = {}
        errors = []
        stopping = False
        with InstanceConcurrencyContext(plan_context.instance, plan_context.dagster_run) as concurrency, \
                ActiveExecution(execution_plan, retry_mode=self.retries, max_concurrent=self.threads,
                                instance_concurrency_context=concurrency) as active:
            try:
                while (not stopping and not active.is_complete) or running:
                    if not stopping and active.check_for_interrupts():
                        stopping = True
                        active.mark_interrupted()
                        _interrupt(running.values())
                    while not stopping:
                        steps = active.get_steps_to_execute(limit=self.threads - len(running))
                        yield from active.concurrency_event_iterator(plan_context)
                        if not steps:
                            break
                        for step in steps:
                            running[step.key] = threading.Thread(
                                target=_run_step, name=f"pgmerge {step.key}", daemon=True,
                                args=(plan_context, execution_plan, step.key, active.get_known_state(), events))
                            running[step.key].start()
                    try:
                        key, event = events.get(timeout=0.05)
                    except queue.Empty:
                        continue
                    if event is _ENDED:
                        running.pop(key).join()
                        active.verify_complete(plan_context, key)
                    elif isinstance(event, DagsterEvent):
                        yield event
                        active.handle_event(event)
                    elif not stopping:
                        errors.append(event)
                    yield from active.plan_events_iterator(plan_context)
            except BaseException:
                _interrupt(running.values())  # never leave steps running behind a failed orchestrator
                for thread in running.values():
                    thread.join()
                raise
        if stopping:
            raise DagsterExecutionInterruptedError()
        if errors:
            raise dg.DagsterError("a step's thread failed outside the step: " + "; ".join(e.to_string() for e in errors))


def _run_step(plan_context, execution_plan, step_key: str, known_state, events: queue.Queue) -> None:
    """One step, as the multiprocess executor runs one in a child process: its own plan and context."""
    try:
        plan = create_execution_plan(plan_context.job, run_config=plan_context.run_config,
                                     step_keys_to_execute=[step_key], known_state=known_state,
                                     repository_load_data=execution_plan.repository_load_data)
        for event in execute_plan_iterator(plan, plan_context.job, plan_context.dagster_run, plan_context.instance,
                                           run_config=plan_context.run_config):
            events.put((step_key, event))
    except DagsterExecutionInterruptedError:
        pass  # the step said so in its failure event
    except BaseException:
        events.put((step_key, serializable_error_info_from_exc_info(sys.exc_info())))
    finally:
        events.put((step_key, _ENDED))


def _interrupt(threads) -> None:
    for thread in threads:
        if thread.ident is not None and thread.is_alive():
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident),
                                                       ctypes.py_object(DagsterExecutionInterruptedError))
    sessions.cancel_all()


@dg.executor(name="pgmerge_threads", config_schema={"threads": dg.Field(
    int, is_required=False, default_value=DEFAULT_THREADS,
    description="Steps at a time (default: PGMERGE_THREADS, else the machine's cores, at most 4). "
                "1: one after another.")})
def threaded_executor(init_context) -> ThreadedExecutor:
    return ThreadedExecutor(init_context.executor_config["threads"])


def run_in_process(job: dg.JobDefinition, instance: dg.DagsterInstance, run_config: dict) -> dg.ExecuteInProcessResult:
    """A run of `job` in this process under the job's own executor (`execute_in_process` would impose Dagster's
    in-process one), recorded in `instance` like any run."""
    return core_execute_in_process(run_config=run_config, job=InMemoryJob(job), instance=instance,
                                   output_capturing_enabled=False, raise_on_error=False)
