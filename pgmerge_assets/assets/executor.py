"""The merge's executor: each step in a thread of the run's own process, up to `threads` at a time.

The steps are SQL statements that wait on the server, so independent tables' steps (the maps of unrelated
parents, the pending rows of siblings) can run at once and use the server's cores. Dagster's multiprocess
executor would start a Python process per step (seconds each), and the merge lock is held by a connection
of the run's process. This is Dagster's in-process execution (one context, resources made once, the
process's output captured once) with the loop over ready steps handing each to a thread.

Interrupted (Ctrl-C, a terminated run): every step still running gets DagsterExecutionInterruptedError, as
the in-process executor would raise it, and every statement pgmerge has running is cancelled (a thread
waiting on the server would otherwise hear of it only when the statement ends)."""

from __future__ import annotations

import ctypes
import os
import queue
import sys
import threading
from contextlib import ExitStack
from functools import partial

import dagster as dg
from dagster._core.definitions.job_base import InMemoryJob
from dagster._core.errors import DagsterExecutionInterruptedError
from dagster._core.events import DagsterEvent, EngineEventData
from dagster._core.execution.api import ExecuteRunWithPlanIterable
from dagster._core.execution.compute_logs import create_compute_log_file_key
from dagster._core.execution.context_creation_job import PlanExecutionContextManager
from dagster._core.execution.execute_in_process import core_execute_in_process
from dagster._core.execution.plan.execute_plan import _trigger_hook, dagster_event_sequence_for_step
from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext
from dagster._core.execution.retries import RetryMode
from dagster._utils.error import serializable_error_info_from_exc_info

from pgmerge_assets.pg import sessions

THREADS_ENV = "PGMERGE_THREADS"


def default_threads() -> int:
    value = os.environ.get(THREADS_ENV)
    if not value:
        return max(1, min(4, os.cpu_count() or 1))
    if not value.strip().isdigit() or int(value) < 1:
        raise ValueError(f"{THREADS_ENV} must be a whole number of steps to run at once (1 or more), not {value!r}")
    return int(value)


# measured on 2 cores, scale 1000: the whole merge 18.6–19.9 s one step at a time, 14.7–16.0 s two at a time
# (3 or 4 at a time: no faster); at scale 5, where Python's own work is most of a step, no slower
DEFAULT_THREADS = default_threads()
_ENDED = object()


class ThreadedExecutor(dg.Executor):
    def __init__(self, threads: int):
        self.threads = max(1, threads)

    @property
    def retries(self) -> RetryMode:
        return RetryMode.DISABLED

    def execute(self, plan_context, execution_plan):
        yield DagsterEvent.engine_event(
            plan_context, f"Executing steps in threads, {self.threads} at a time (pid: {os.getpid()})",
            EngineEventData.in_process(os.getpid(), execution_plan.step_keys_to_execute))
        yield from ExecuteRunWithPlanIterable(
            execution_plan=plan_context.execution_plan,
            iterator=partial(_steps_in_threads, threads=self.threads),
            execution_context_manager=PlanExecutionContextManager(
                job=plan_context.job, retry_mode=self.retries, execution_plan=plan_context.execution_plan,
                run_config=plan_context.run_config, dagster_run=plan_context.dagster_run,
                instance=plan_context.instance, raise_on_error=plan_context.raise_on_error,
                output_capture=plan_context.output_capture))


def _steps_in_threads(job_context, execution_plan, threads: int):
    """Dagster's inner_plan_execution_iterator, each ready step handed to a thread of its own."""
    events: queue.Queue = queue.Queue()
    running: dict[str, threading.Thread] = {}
    errors, stopping = [], False
    with InstanceConcurrencyContext(job_context.instance, job_context.dagster_run) as concurrency, \
            execution_plan.start(retry_mode=job_context.retry_mode, max_concurrent=threads,
                                 instance_concurrency_context=concurrency,
                                 step_dependency_config=job_context.step_dependency_config) as active, \
            ExitStack() as capture, sessions.pooling():  # steps hand their connections on
        logs = job_context.instance.compute_log_manager
        log_key = logs.build_log_key_for_run(job_context.run_id, create_compute_log_file_key())
        yield DagsterEvent.capture_logs(job_context, list(execution_plan.step_keys_to_execute), log_key,
                                        capture.enter_context(logs.capture_logs(log_key)))
        try:
            while (not stopping and not active.is_complete) or running:
                if not stopping and active.check_for_interrupts():
                    stopping = True
                    active.mark_interrupted()
                    _interrupt(running.values())
                while not stopping:
                    steps = active.get_steps_to_execute(limit=threads - len(running))
                    yield from active.concurrency_event_iterator(job_context)
                    if not steps:
                        break
                    for step in steps:
                        step_context = job_context.for_step(step, active.get_known_state())
                        running[step.key] = threading.Thread(target=_run_step, args=(step_context, events),
                                                             name=f"pgmerge {step.key}", daemon=True)
                        running[step.key].start()
                try:
                    key, event = events.get(timeout=0.05)
                except queue.Empty:
                    continue
                if event is _ENDED:
                    running.pop(key).join()
                    active.verify_complete(job_context, key)
                elif isinstance(event, DagsterEvent):
                    yield event
                    active.handle_event(event)
                elif not stopping:
                    errors.append(event)
                yield from active.plan_events_iterator(job_context)
        except BaseException:
            _interrupt(running.values())  # never leave steps running behind a failed orchestrator
            for thread in running.values():
                thread.join()
            raise
    if stopping:
        raise DagsterExecutionInterruptedError()
    if errors:
        raise dg.DagsterError("a step's thread failed outside the step: " + "; ".join(e.to_string() for e in errors))


def _run_step(step_context, events: queue.Queue) -> None:
    try:
        step_events = []
        for event in dagster_event_sequence_for_step(step_context):
            step_events.append(event)
            events.put((step_context.step.key, event))
        for event in _trigger_hook(step_context, step_events):  # the job's hooks, as in process
            events.put((step_context.step.key, event))
    except DagsterExecutionInterruptedError:
        pass  # the step said so in its failure event
    except BaseException:
        events.put((step_context.step.key, serializable_error_info_from_exc_info(sys.exc_info())))
    finally:
        events.put((step_context.step.key, _ENDED))


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
