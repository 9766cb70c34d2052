"""Dagster definitions, generated from the merge spec file; loading them touches no database."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from pgmerge_assets.assets.resources import (
    DEFAULT_WORKDIR,
    INPUT_ENV,
    LOCK_TIMEOUT_ENV,
    SPEC_ENV,
    TARGET_DSN_ENV,
    WORKDIR_ENV,
)
from pgmerge_assets.assets.sensor import WATCH_DIR_ENV
from pgmerge_assets import defs as scaffolded
from pgmerge_assets.component import Env, Inputs, PgMergeComponent, Target
from pgmerge_assets.paths import REFERENCE_SPEC
from pgmerge_assets.pg.merge_lock import DEFAULT_LOCK_TIMEOUT


def default_component(spec_path: str | Path) -> PgMergeComponent:
    """The unprefixed merge, set up from the PGMERGE_* environment variables (unset means the documented default)."""
    return PgMergeComponent(
        spec=str(Path(spec_path).resolve()), watch_dir=os.environ.get(WATCH_DIR_ENV),
        target=Target(dsn=Env(env=TARGET_DSN_ENV), workdir=os.environ.get(WORKDIR_ENV, DEFAULT_WORKDIR),
                      lock_timeout=float(os.environ.get(LOCK_TIMEOUT_ENV) or DEFAULT_LOCK_TIMEOUT)),
        inputs=Inputs(**{field: Env(env=var) for field, var in INPUT_ENV.items()}))


def build_definitions(spec_path: str | Path, resources: dict | None = None) -> dg.Definitions:
    return default_component(spec_path).definitions(Path.cwd(), resources)


@dg.definitions
def defs() -> dg.Definitions:
    """The unprefixed merge, and the PgMergeComponents `dg scaffold defs` put in pgmerge_assets/defs (each
    under its own key prefix)."""
    return dg.Definitions.merge(build_definitions(os.environ.get(SPEC_ENV) or REFERENCE_SPEC),
                                dg.load_defs(scaffolded, project_root=Path(__file__).parent.parent))
