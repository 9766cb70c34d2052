"""PgMergeComponent: the merge graph as a Dagster Component configured in a defs.yaml. Its key prefix puts
every name of the graph under one prefix, so several merges (pairs of databases) share one code location."""

import os
import re
import shutil
from dataclasses import dataclass, field, fields
from pathlib import Path

import dagster as dg

from pgmerge_assets.assets.executor import threaded_executor
from pgmerge_assets.assets.factories import Prefix, build_graph
from pgmerge_assets.assets.resources import DEFAULT_WORKDIR, MergeInputs, TargetDatabase
from pgmerge_assets.assets.sensor import dump_sensor
from pgmerge_assets.catalog.spec import load_spec
from pgmerge_assets.paths import REFERENCE_SPEC
from pgmerge_assets.pg.merge_lock import DEFAULT_LOCK_TIMEOUT
from pgmerge_assets.plan.planner import build_plan


class Env(dg.Model):
    """`{env: NAME}`: the value of this environment variable, read by Dagster at run time, so a password in a
    DSN never lands in config, metadata or logs. Unset when the definitions load: as if the field were omitted."""

    env: str


Setting = str | Env | None


def bound(value: Setting):
    if isinstance(value, Env):
        return dg.EnvVar(value.env) if os.environ.get(value.env) else None
    return value


def as_config(value: Setting):
    """The run-config form of a setting: a variable stays a name."""
    value = bound(value)
    return {"env": value.env_var_name} if isinstance(value, dg.EnvVar) else value


@dataclass
class Target(dg.Resolvable):
    """TargetDatabase's settings. Without a DSN: an embedded server under `workdir`."""

    dsn: Setting = None
    workdir: str = DEFAULT_WORKDIR
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT

    def resource(self) -> TargetDatabase:
        return TargetDatabase(dsn=bound(self.dsn), workdir=self.workdir, lock_timeout=self.lock_timeout)


@dataclass
class Inputs(dg.Resolvable):
    """MergeInputs' settings: dump #1, and dump #2 or a live source."""

    dump1: Setting = None
    dump2: Setting = None
    source_dsn: Setting = None
    scratch_dsn: Setting = None
    pg_bin: Setting = None
    spec: Setting = None  # this run's spec (same graph); default: the component's

    def resource(self) -> MergeInputs:
        return MergeInputs(**self.values())

    def values(self) -> dict:
        values = {f.name: bound(getattr(self, f.name)) for f in fields(self)}
        return {name: value for name, value in values.items() if value is not None}

    def run_config(self, key: str, **values: str) -> dict:
        """The resource's run config with `values` changed: run config replaces a resource's whole config, so the
        other fields are repeated, each variable by its name."""
        config = {name: as_config(getattr(self, name)) for name in self.values()}
        return {"resources": {key: {"config": {**config, **values}}}}


class PgMergeScaffolder(dg.Scaffolder):
    """`dg scaffold defs pgmerge_assets.PgMergeComponent NAME`: a defs.yaml whose databases and dumps come from
    NAME_* environment variables, and the reference spec beside it to edit (or replace with `pgmerge spec`'s)."""

    def scaffold(self, request: dg.ScaffoldRequest) -> None:
        name = re.sub(r"\W", "_", request.target_path.name)
        env = name.upper()
        shutil.copyfile(REFERENCE_SPEC, request.target_path / "pgmerge.yaml")
        dg.scaffold_component(request, {
            "spec": "pgmerge.yaml", "key_prefix": name,
            "target": {"dsn": {"env": f"{env}_TARGET_DSN"}, "workdir": f"{DEFAULT_WORKDIR}/{name}",
                       "lock_timeout": DEFAULT_LOCK_TIMEOUT},
            "inputs": {"dump1": {"env": f"{env}_DUMP1"}, "dump2": {"env": f"{env}_DUMP2"},
                       "source_dsn": {"env": f"{env}_SOURCE_DSN"}, "scratch_dsn": {"env": f"{env}_SCRATCH_DSN"}}})


@dg.scaffold_with(PgMergeScaffolder)
@dataclass
class PgMergeComponent(dg.Component, dg.Resolvable):
    """One merge: the asset graph of `spec` (a path relative to the defs.yaml's folder), jobs `merge` and `undo`,
    sensor `new_dump2` watching `watch_dir` (default <workdir>/incoming), and the resources `target` and `inputs`;
    with `key_prefix` P: asset keys P/…, and P_merge, P_undo, P_new_dump2, P_target, P_inputs."""

    spec: str = str(REFERENCE_SPEC)
    key_prefix: str | None = None
    target: Target = field(default_factory=Target)
    inputs: Inputs = field(default_factory=Inputs)
    watch_dir: str | None = None

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        return self.definitions(context.path)

    def definitions(self, folder: Path, resources: dict | None = None) -> dg.Definitions:
        """`resources` (target, inputs), given by the CLI and tests, replace the configured ones."""
        p = Prefix(self.key_prefix)
        assets, jobs = build_graph(build_plan(load_spec(folder / self.spec)), p)
        resources = resources or {"target": self.target.resource(), "inputs": self.inputs.resource()}
        sensor = dump_sensor(p.name("new_dump2"), p.name("merge"),
                             Path(self.watch_dir or Path(self.target.workdir) / "incoming"),
                             lambda dump2: self.inputs.run_config(p.name("inputs"), dump2=dump2))
        # steps in threads of the run's process (see executor.py): a process per step would only add start-up
        # time, and the merge lock is held by the run's own process
        return dg.Definitions(assets=assets, jobs=jobs, resources={p.name(k): r for k, r in resources.items()},
                              sensors=[sensor], executor=threaded_executor)
