"""Dagster definitions, generated from the merge spec file; loading them touches no database."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from pgmerge_assets.assets.factories import build_graph
from pgmerge_assets.assets.resources import (
    DEFAULT_WORKDIR,
    INPUT_ENV,
    LOCK_TIMEOUT_ENV,
    SPEC_ENV,
    TARGET_DSN_ENV,
    WORKDIR_ENV,
    MergeInputs,
    TargetDatabase,
)
from pgmerge_assets.assets.sensor import dump_sensor
from pgmerge_assets.catalog.spec import load_spec
from pgmerge_assets.paths import REFERENCE_SPEC
from pgmerge_assets.pg.merge_lock import DEFAULT_LOCK_TIMEOUT
from pgmerge_assets.plan.planner import build_plan


def _env(name: str):
    """Bind a setting to its environment variable when set; unset means the documented default."""
    return dg.EnvVar(name) if os.environ.get(name) else None


def default_resources() -> dict:
    return {
        "target": TargetDatabase(dsn=_env(TARGET_DSN_ENV), workdir=os.environ.get(WORKDIR_ENV, DEFAULT_WORKDIR),
                                 lock_timeout=float(os.environ.get(LOCK_TIMEOUT_ENV) or DEFAULT_LOCK_TIMEOUT)),
        "inputs": MergeInputs(**{field: _env(var) for field, var in INPUT_ENV.items()}),
    }


def build_definitions(spec_path: str | Path, resources: dict | None = None) -> dg.Definitions:
    plan = build_plan(load_spec(spec_path))
    assets, jobs = build_graph(plan)
    # in process: the steps are SQL statements that wait on the server, one at a time; a process per step
    # would only add start-up time (and the merge lock is held by the run's own process)
    return dg.Definitions(assets=assets, jobs=jobs, resources=resources or default_resources(),
                          sensors=[dump_sensor("merge")], executor=dg.in_process_executor)


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(os.environ.get(SPEC_ENV) or REFERENCE_SPEC)
