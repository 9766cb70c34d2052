"""Asset factories: one per kind of asset, so the whole graph is generated from the spec's plan."""


import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import dagster as dg
from dagster import AssetExecutionContext

from pgmerge_assets.assets import report as integrity
from pgmerge_assets.assets.resources import MergeInputs, TargetDatabase
from pgmerge_assets.assets.snapshot import run_tasks
from pgmerge_assets.assets.runner import (
    cancel_on_interrupt,
    current_audit,
    merged_counts,
    offending,
    prepare_merge_state,
    record_audit,
    run_step,
    statement_counts,
    statements_markdown,
    table_columns,
    table_counts,
)
from pgmerge_assets.catalog.introspect import read_catalog, spec_mismatches
from pgmerge_assets.catalog.spec import SpecError, load_spec
from pgmerge_assets.pg import merge_lock
from pgmerge_assets.pg.dump_format import detect_format
from pgmerge_assets.pg.embedded import embedded_server_uri
from pgmerge_assets.pg.ownership import check_ours
from pgmerge_assets.pg.publish import publish, undo
from pgmerge_assets.pg.restore import existing_tables, restore_dump
from pgmerge_assets.pg.staging_early import early_blocker, fit_staging, load_early
from pgmerge_assets.pg.staging_load import (
    Scratch,
    StagedTable,
    create_staging_schema,
    drop_meanwhile_scratch,
    dump_kind,
    load_staging,
    restore_scratch,
)
from pgmerge_assets.plan.common import STAGING_DATA, Check, Names, Plan, Step
from pgmerge_assets.plan.planner import build_plan
from pgmerge_assets.plan.staging import StagingPlan
from pgmerge_assets.templates import load

KINDS = {"postgres"}
EARLY_ROWS = "staging_rows"  # dump2_restored's metadata: rows per staging table it loaded while dump #1 restored
KEPT = "early_rows_kept"  # staging_schema's metadata: whether staging holds those rows (else staging_data loads)
GROUPS = {"id_map": "id_maps", "merged": "merged", "cycle_fk": "merged", "repaired_arrays": "repaired_arrays",
          "sequences": "finalize"}


@dataclass(frozen=True)
class Prefix:
    """One merge graph's names in a code location: asset keys under `prefix`, and jobs, ops, the sensor and the
    resource keys starting `prefix_`, so two graphs (two pairs of databases) never clash. None: plain names."""

    prefix: str | None = None

    def key(self, *path: str) -> dg.AssetKey:
        return dg.AssetKey([self.prefix, *path] if self.prefix else list(path))

    def name(self, name: str) -> str:
        return f"{self.prefix}_{name}" if self.prefix else name

    def target(self, context) -> TargetDatabase:
        return getattr(context.resources, self.name("target"))

    def inputs(self, context) -> MergeInputs:
        return getattr(context.resources, self.name("inputs"))


@lru_cache(maxsize=8)
def _plan_of(path: str, modified: float) -> Plan:
    return build_plan(load_spec(path))


def _shape(plan: Plan) -> set[str]:
    """What the asset graph is made of: each step with its deps, and each check."""
    return ({f"{'/'.join(s.key)} (after {', '.join('/'.join(d) for d in s.deps)})" for s in plan.steps}
            | {f"check {'/'.join(c.step)}:{c.name}" for c in plan.checks})


def run_plan(context, graph: Plan, p: Prefix) -> Plan:
    """The plan this run follows: the graph's own, or that of the spec the run was launched with (Launchpad:
    resources.inputs.config.spec), which may change how tables merge but not which assets and checks exist."""
    spec = p.inputs(context).spec
    if not spec:
        return graph
    path = Path(spec).resolve()
    if not path.is_file():
        raise SpecError(f"the spec given for this run, {path}, does not exist; nothing was changed")
    plan = _plan_of(str(path), path.stat().st_mtime)
    ours, theirs = _shape(graph), _shape(plan)
    if ours != theirs:
        differ = sorted(theirs - ours)[:5] + [f"not {x}" for x in sorted(ours - theirs)[:5]]
        raise SpecError(f"the spec given for this run, {path}, makes another asset graph than the one loaded "
                        f"({len(theirs ^ ours)} differences: {'; '.join(differ)}); start the UI with --spec {path} "
                        f"(or PGMERGE_SPEC) to merge by it. Nothing was changed")
    return plan


def counts_markdown(counts: dict[str, int]) -> str:
    return "| table | rows |\n|---|---:|\n" + "\n".join(f"| {t} | {n} |" for t, n in counts.items())


def staged(specs) -> list[StagedTable]:
    """Each spec table's table in the target, cloned in staging under the spec's name."""
    return [StagedTable(t.schema, t.relname, t.name) for t in specs]


def load_parts(spec) -> tuple[list[StagedTable], list[StagedTable], StagingPlan]:
    """The tables to load, the tables the spec skips, and the SQL around the load."""
    return (staged(spec.merged_tables), staged(t for t in spec.tables.values() if t.strategy == "skip"),
            StagingPlan(spec))


def scratch_admin(target: TargetDatabase, inputs: MergeInputs) -> str:
    """The server dump #2's scratch database goes to: PGMERGE_SCRATCH_DSN's, else the embedded one."""
    return inputs.scratch_dsn or embedded_server_uri(Path(target.workdir))


def this_run_metadata(context: AssetExecutionContext, key: dg.AssetKey) -> dict:
    """What the asset `key` said when this run materialized it (empty when it ran in another run)."""
    event = context.instance.get_latest_materialization_event(key)
    if event is None or event.run_id != context.run_id:
        return {}
    return dict(event.asset_materialization.metadata)


def restored_in_this_run(metadata: dict, admin: str, dump2: str) -> Scratch | None:
    """The scratch database dump2_restored left for this run (`metadata`: what it said in this run), of dump #2
    at `dump2` (none when it did not restore, or ran in another run: its database is gone by now)."""
    if "scratch_database" not in metadata:
        return None
    return Scratch(admin, metadata["scratch_database"].value, metadata["source_format"].value, False,  # full dumps only
                   metadata["inserts"].value, metadata["seconds"].value, dump2)


def load_assets(graph: Plan, p: Prefix) -> list[dg.AssetsDefinition]:
    """public_restored → staging_schema ← dump2_restored, then staging_data: the two dumps, side by side in one
    database; dump #2 is restored (into a scratch database, its rows into staging where it can) while dump #1 is."""
    both = {p.name("target"), p.name("inputs")}

    @dg.asset(name="dump2_restored", key_prefix=p.prefix, group_name="load", kinds=KINDS, required_resource_keys=both,
              description="Dump #2 restored into a scratch database (never the target), at the same time as dump #1 "
                          "into the target: an archive's tables (its rows stream from the archive), a plain dump's "
                          "tables and rows. Where dump #2's tables have built-in column types, its rows are loaded "
                          "into staging tables typed as dump #2 types them meanwhile (staging_schema compares those "
                          "with the target's). staging_data drops the scratch database. A data-only dump (it needs "
                          "the target's table definitions) or a live source is read by staging_data.")
    def dump2_restored(context: AssetExecutionContext):
        target, inputs = p.target(context), p.inputs(context)
        spec = run_plan(context, graph, p).spec
        check_dump2(inputs)
        merge_lock.hold(target.resolved_dsn(), spec.map_schema)  # a second merge waits, restoring nothing
        if not inputs.dump2:
            return dg.MaterializeResult(metadata={"skipped": "dump #2 is a live database: staging_data reads it"})
        fmt, data_only = dump_kind(Path(inputs.dump2), inputs.pg_bin)
        if data_only:
            return dg.MaterializeResult(metadata={
                "skipped": "data-only dump: staging_data restores it with the target's table definitions",
                "source_format": fmt})
        scratch = restore_scratch(Path(inputs.dump2), scratch_admin(target, inputs), public=spec.target_schema,
                                  staging=spec.staging_schema, pg_bin=inputs.pg_bin)
        tables, skipped, _ = load_parts(spec)
        dsn = target.resolved_dsn()
        restores_dump1 = len(existing_tables(dsn, [t.key for t in tables])) < len(tables)
        loaded = (early_blocker(Path(inputs.dump1) if inputs.dump1 else None, restores_dump1, spec.staging_schema,
                                inputs.pg_bin)
                  or load_early(dsn, tables, scratch, public=spec.target_schema, staging=spec.staging_schema,
                                skipped=skipped, pg_bin=inputs.pg_bin))
        early = ({EARLY_ROWS: dg.MetadataValue.json(loaded), "dagster/row_count": sum(loaded.values()),
                  "staging": "dump #2's rows loaded while dump #1 is restored, into tables typed as dump #2 types "
                             "them; staging_schema compares those with the target's"}
                 if isinstance(loaded, dict) else {"staging": f"left to staging_schema and staging_data: {loaded}"})
        return dg.MaterializeResult(metadata={"scratch_database": scratch.name, "source_format": scratch.format,
                                              "inserts": scratch.inserts, "seconds": scratch.seconds,
                                              "rows": "in the archive" if scratch.rows_in_archive else "in scratch",
                                              **early})

    @dg.asset(name="public_restored", key_prefix=p.prefix, group_name="load", kinds=KINDS, required_resource_keys=both,
              description="Dump #1 restored into the target schema (skipped when it already holds the spec's tables).")
    def public_restored(context: AssetExecutionContext):
        target, inputs = p.target(context), p.inputs(context)
        spec = run_plan(context, graph, p).spec
        tables, _, staging = load_parts(spec)
        dsn = target.resolved_dsn()
        merge_lock.hold(dsn, spec.map_schema)  # a second merge must not restore dump #1 alongside this one
        with target.connect() as conn:
            preflight(conn, spec, inputs)
        present = existing_tables(dsn, [t.key for t in tables])
        if len(present) == len(tables):
            return dg.MaterializeResult(metadata={"skipped": "target already holds every table of the spec",
                                                  "target": target.describe()})
        if present:
            missing = [str(t) for t in tables if t.key not in present]
            raise RuntimeError(f"the target lacks {len(missing)} of the spec's {len(tables)} tables "
                               f"({', '.join(missing)}); restore dump #1 into an empty database or fix the spec")
        if not inputs.dump1:
            missing = ", ".join(map(str, tables))
            raise RuntimeError(f"no dump #1 given (the target lacks {missing}): set PGMERGE_DUMP1")
        result = restore_dump(dsn, Path(inputs.dump1), pg_bin=inputs.pg_bin)
        with target.connect() as conn:
            counts = table_counts(conn, staging)
        return dg.MaterializeResult(metadata={
            "source_format": result.format, "seconds": round(result.seconds, 3), "target": target.describe(),
            "dagster/row_count": sum(counts.values()), "row_counts": dg.MetadataValue.md(counts_markdown(counts))})

    @dg.asset(name="staging_schema", key_prefix=p.prefix, deps=[public_restored, dump2_restored], group_name="load",
              kinds=KINDS, required_resource_keys=both,
              description="A staging table for every spec table, no foreign keys: dump #2's tables loaded by "
                          "dump2_restored, kept where their columns are the target's and its keys and CHECK "
                          "constraints accept their rows; else an empty clone of the target's table (columns, "
                          "defaults, unique indexes) for staging_data to fill. Inputs, spec and schema ownership are "
                          "checked first.")
    def staging_schema(context: AssetExecutionContext):
        target, inputs = p.target(context), p.inputs(context)
        spec = run_plan(context, graph, p).spec
        tables, _, _ = load_parts(spec)
        merge_lock.hold(target.resolved_dsn(), spec.map_schema)
        with target.connect() as conn, cancel_on_interrupt(conn):
            problems = spec_mismatches(spec, read_catalog(conn, sorted({t.schema for t in spec.merged_tables})))
            if problems:
                raise SpecError(f"the spec does not fit the target database ({len(problems)} problems): "
                                + "; ".join(problems))
            preflight(conn, spec, inputs)
            early = EARLY_ROWS in this_run_metadata(context, p.key("dump2_restored"))
            unfit = (fit_staging(conn, tables, public=spec.target_schema, staging=spec.staging_schema)
                     if early else None)
            if unfit or not early:
                create_staging_schema(conn, tables, public=spec.target_schema, staging=spec.staging_schema)
                conn.commit()
        kept = early and not unfit
        made = ("dump #2's tables, loaded while dump #1 was restored: their columns are the target's, the target's "
                "keys and CHECK constraints added (and met by every row)" if kept else
                "cloned from the target's tables" + (f" (dump #2's early load not kept: {unfit})" if unfit else ""))
        return dg.MaterializeResult(metadata={"tables": len(tables), "schema": spec.staging_schema, "made": made,
                                              KEPT: kept})

    @dg.asset(name=STAGING_DATA[0], key_prefix=p.prefix, deps=[staging_schema, dump2_restored], group_name="load",
              kinds=KINDS,
              required_resource_keys=both,
              description="Dump #2's rows in the staging schema, streamed from its archive or copied from its scratch "
                          "database (dump2_restored's): only its rows reach the target, as the data of pgmerge's COPY; "
                          "none of its statements do.")
    def staging_data(context: AssetExecutionContext):
        target, inputs = p.target(context), p.inputs(context)
        spec = run_plan(context, graph, p).spec
        tables, skipped, staging = load_parts(spec)
        check_dump2(inputs)
        merge_lock.hold(target.resolved_dsn(), spec.map_schema)
        admin = scratch_admin(target, inputs)
        restored = this_run_metadata(context, p.key("dump2_restored"))
        scratch = restored_in_this_run(restored, admin, inputs.dump2) if inputs.dump2 else None
        kept = this_run_metadata(context, p.key("staging_schema")).get(KEPT)
        if scratch is not None and kept is not None and kept.value:
            counts = restored[EARLY_ROWS].value
            drop_meanwhile_scratch(scratch)
            with target.connect() as conn, cancel_on_interrupt(conn):
                prepare_merge_state(conn, staging)
            return dg.MaterializeResult(metadata={
                "source_format": scratch.format, "data_only": "False", "loaded": "by dump2_restored",
                "dagster/row_count": sum(counts.values()), "row_counts": dg.MetadataValue.md(counts_markdown(counts))})
        result = load_staging(target.resolved_dsn(), tables, scratch=scratch,
                              dump_path=Path(inputs.dump2) if inputs.dump2 and not scratch else None,
                              source_dsn=inputs.source_dsn, scratch_admin_dsn=admin, public=spec.target_schema,
                              staging=spec.staging_schema, pg_bin=inputs.pg_bin, skipped=skipped, drop_meanwhile=True)
        with target.connect() as conn, cancel_on_interrupt(conn):
            prepare_merge_state(conn, staging)
        return dg.MaterializeResult(metadata={
            "source_format": result.source_format, "data_only": str(result.data_only),
            "dagster/row_count": sum(result.row_counts.values()),
            "row_counts": dg.MetadataValue.md(counts_markdown(result.row_counts)),
            "seconds": dg.MetadataValue.json({k: round(v, 3) for k, v in result.seconds.items()})})

    return [dump2_restored, public_restored, staging_schema, staging_data]


def preflight(conn, spec, inputs: MergeInputs) -> None:
    """Before anything is written: dump #2 is there and readable, and pgmerge's schema names are free or
    pgmerge's own."""
    check_ours(conn, spec.staging_schema, "staging_schema")
    check_ours(conn, spec.map_schema, "map_schema")
    check_dump2(inputs)


def check_dump2(inputs: MergeInputs) -> None:
    if inputs.dump2:
        path = Path(inputs.dump2)
        if not path.exists():
            raise FileNotFoundError(f"dump #2 {path} does not exist; nothing was changed")
        detect_format(path)
    elif not inputs.source_dsn:
        raise RuntimeError("no dump #2 given: set PGMERGE_DUMP2 (a pg_dump file) or PGMERGE_SOURCE_DSN")


def evaluate(conn, checks: list[Check], key: dg.AssetKey, connect) -> list[dg.AssetCheckResult]:
    """Data-quality gates, several at a time in one snapshot: each fails with the offending count and a sample
    of up to 20 rows."""
    conn.rollback()  # ends the metadata reads after the step's committed transaction, if any
    with cancel_on_interrupt(conn), conn.transaction():
        conn.execute(load("report/read_only_snapshot.sql"))
        results = run_tasks(conn, [lambda c, check=check: offending(c, check.query) for check in checks], connect)
    return [check_result(check, key, *result) for check, result in zip(checks, results)]


def check_result(check: Check, key: dg.AssetKey, count: int, sample) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(asset_key=key, check_name=check.name, passed=count == 0,
                               severity=dg.AssetCheckSeverity.ERROR if check.blocking else dg.AssetCheckSeverity.WARN,
                               metadata={"offending_rows": count, "sample": dg.MetadataValue.json(sample)})


def check_specs(checks: list[Check], key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(c.name, asset=key, blocking=c.blocking, description=c.description)
            for c in checks]


def selected(context: AssetExecutionContext, key: dg.AssetKey, checks: list[Check]) -> tuple[bool, list[Check]]:
    """Whether this run materializes the asset, and which of its checks it runs (the UI may run checks alone)."""
    keys = context.selected_asset_check_keys
    return key in context.selected_asset_keys, [c for c in checks if dg.AssetCheckKey(key, c.name) in keys]


def table_metadata(conn, plan: Plan, step: Step) -> dict:
    """What the UI shows about the table a step writes: its name, and for pending rows the target table's
    columns, each saying how its value is made (through which map)."""
    if not step.table:
        return {}
    n, t = Names(plan.spec), plan.spec.tables[step.table]
    if step.kind == "id_map":
        return {"dagster/table_name": n.map(t.name).as_string(conn)}
    metadata = {"dagster/table_name": n.public(t.name).as_string(conn),
                "pending_rows_in": n.pending(t.name).as_string(conn)}
    if step.kind == "merged":
        made = {f.column: f"id of {f.table}, through {n.map(f.table).as_string(conn)}" for f in t.mapped_columns}
        made.update({a.column: f"ids of {a.table}, rewritten by repaired_arrays through "
                               f"{n.map(a.table).as_string(conn)}" for a in t.arrays})
        if t.id and t.has_map:
            made[t.id] = ("kept from dump #2" if t.keep_ids else "a fresh id") + f", as {n.map(t.name).as_string(conn)} says"
        metadata["dagster/column_schema"] = dg.TableSchema(columns=[
            dg.TableColumn(name, type_, description=made.get(name, "as in dump #2"),
                           constraints=dg.TableColumnConstraints(nullable=nullable))
            for name, type_, nullable in table_columns(conn, n.public(t.name))])
    return metadata


def step_asset(graph: Plan, step: Step, p: Prefix) -> dg.AssetsDefinition:
    """id_map/*, merged/*, repaired_arrays/* and sequences: run the step's SQL, attach what it did, then run the
    step's checks in the same step and connection (a step per check would cost more than most checks)."""
    key = p.key(*step.key)
    checks = [c for c in graph.checks if c.step == step.key]
    table = graph.spec.tables[step.table] if step.table else None

    @dg.multi_asset(name=key.to_python_identifier(), can_subset=True, check_specs=check_specs(checks, key),
                    required_resource_keys={p.name("target"), p.name("inputs")},
                    specs=[dg.AssetSpec(key, deps=[p.key(*d) for d in step.deps], group_name=GROUPS[step.kind],
                                        kinds=KINDS, description=step.description, skippable=True,
                                        owners=list(table.owners) if table else None,
                                        tags=dict(table.tags) if table else None)])
    def _asset(context: AssetExecutionContext):
        target, plan = p.target(context), run_plan(context, graph, p)
        planned = plan.step(step.key)
        merge_lock.hold(target.resolved_dsn(), plan.spec.map_schema)
        materialize, checking = selected(context, key, [c for c in plan.checks if c.step == step.key])
        with target.connect() as conn:
            if materialize:
                result = run_step(conn, planned, StagingPlan(plan.spec), context.log)
                metadata = {"seconds": round(result.seconds, 3),
                            "sql": dg.MetadataValue.md(statements_markdown(conn, planned.statements)),
                            "rows_written": dg.MetadataValue.json(statement_counts(conn, planned.statements,
                                                                                   result.rowcounts)),
                            **table_metadata(conn, plan, planned)}
                for name, value in result.stats.items():
                    if value is not None:
                        metadata["dagster/row_count" if name == "row_count" else name] = value
                yield dg.MaterializeResult(asset_key=key, metadata=metadata)
            yield from evaluate(conn, checking, key, target.connect)

    return _asset


def report_asset(graph: Plan, p: Prefix) -> dg.AssetsDefinition:
    """integrity_report, with its blocking check `lossless` in the same step."""
    deps = [p.key(*s.key) for s in graph.last_steps()]
    key = p.key("integrity_report")
    lossless = dg.AssetCheckSpec(
        "lossless", asset=key, blocking=True,
        description="The audit of the current pending rows passed: every staging row is in target ∪ pending, "
                    "identical or as a conflict public won, and every blocking check passed; read from the "
                    "database, with today's row counts (beside its report, the rows the report just counted).")

    @dg.multi_asset(name=key.to_python_identifier(), can_subset=True, check_specs=[lossless],
                    required_resource_keys={p.name("target"), p.name("inputs")}, specs=[dg.AssetSpec(
        key, deps=deps, group_name="finalize", kinds=KINDS, skippable=True,
        description="The audit before publishing: per-table counts, every check's result and the lossless "
                    "proof on target ∪ pending (report.md / report.json); publish needs it passed.")])
    def integrity_report(context: AssetExecutionContext):
        target, plan = p.target(context), run_plan(context, graph, p)
        staging = StagingPlan(plan.spec)
        started = time.monotonic()
        merge_lock.hold(target.resolved_dsn(), plan.spec.map_schema)
        with target.connect() as conn, cancel_on_interrupt(conn):
            if key in context.selected_asset_keys:
                data = integrity.gather(conn, plan, judged_in_this_run(context, plan, p), connect=target.connect)
                counted = data.pop("counted")
                record_audit(conn, staging, data["work_version"], data)
                data["target"] = target.describe()
                md_path, json_path = integrity.write(data, Path(target.workdir))
                proof = data["lossless"]
                yield dg.MaterializeResult(asset_key=key, metadata={
                    "report": dg.MetadataValue.md(md_path.read_text()), "report_json": str(json_path.resolve()),
                    "staging_rows": proof["staging_rows"], "proven": proof["proven"], "lost": proof["lost"],
                    "conflicts_public_won": proof["conflicts_public_won"], "checks_passed": data["checks_passed"],
                    "seconds": round(time.monotonic() - started, 3)})
            if lossless.key in context.selected_asset_check_keys:
                yield lossless_result(conn, staging, key, counted if key in context.selected_asset_keys else None)

    return integrity_report


def judged_in_this_run(context: AssetExecutionContext, plan: Plan, p: Prefix) -> dict:
    """The checks this run judged already, by (step, check): when the run materialized every step, each
    check ran right after its step, and no later step writes what an earlier check reads (later steps write
    their own maps and pending rows, and only id arrays of earlier pending rows, which only
    array_elements_exist reads, after the repair). Otherwise none: the report judges every check itself."""
    wanted = {dg.DagsterEventType.ASSET_MATERIALIZATION, dg.DagsterEventType.ASSET_CHECK_EVALUATION}
    events = [r.dagster_event for r in context.instance.all_logs(context.run_id, of_type=wanted)]
    materialized = {e.event_specific_data.materialization.asset_key for e in events
                    if e.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION}
    if any(p.key(*s.key) not in materialized for s in plan.steps):
        return {}
    evaluations = {(e.event_specific_data.asset_key, e.event_specific_data.check_name): e.event_specific_data.metadata
                   for e in events if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION}
    judged = {}
    for c in plan.checks:
        metadata = evaluations.get((p.key(*c.step), c.name))
        if metadata and "offending_rows" in metadata:
            judged[(c.step, c.name)] = (metadata["offending_rows"].value, metadata["sample"].value)
    return judged


def lossless_result(conn, staging: StagingPlan, key: dg.AssetKey,
                    counted: dict[str, int] | None = None) -> dg.AssetCheckResult:
    """Judged from the database (the audit recorded for the current work, and today's row counts), never
    from report.json. `counted`: the rows the report just counted in its own snapshot, when it ran in this
    step (publish judges the target again in its own transaction)."""
    audit = current_audit(conn, staging)
    counts = (counted if counted is not None else merged_counts(conn, staging)) if audit else {}
    if not audit or audit["passed"] is None:
        return dg.AssetCheckResult(asset_key=key, check_name="lossless", passed=False,
                                   metadata={"problem": "no audit of the current work"})
    changed = sorted(t for t, n in counts.items() if audit["row_counts"].get(t) != n)
    return dg.AssetCheckResult(
        asset_key=key, check_name="lossless", passed=audit["passed"] and not changed,
        metadata={"lost": audit["lost"], "failed_checks": dg.MetadataValue.json(audit["failed_checks"]),
                  "tables_changed_since_audit": dg.MetadataValue.json(changed)})


def publish_asset(graph: Plan, p: Prefix) -> dg.AssetsDefinition:
    @dg.asset(name="published", key_prefix=p.prefix, deps=[p.key("integrity_report")], group_name="finalize",
              kinds=KINDS, required_resource_keys={p.name("target"), p.name("inputs")},
              description="Write-audit-publish: the audited pending rows inserted into the target in one "
                          "transaction (constraint order, sequences moved), recorded in the merge ledger. "
                          "Refuses unless the audit of exactly these pending rows passed.")
    def published(context: AssetExecutionContext):
        target, plan = p.target(context), run_plan(context, graph, p)
        dsn = target.resolved_dsn()
        merge_lock.hold(dsn, plan.spec.map_schema)
        try:
            with target.connect() as conn, cancel_on_interrupt(conn):
                result = publish(conn, plan.spec, target.lock_timeout, connect=target.connect)
        finally:
            merge_lock.release(dsn, plan.spec.map_schema)
        context.log.info(result.message)
        metadata = {"merge_id": result.merge_id if result.merge_id is not None else "none",
                    "message": result.message, "dagster/row_count": sum(result.rows.values())}
        if result.foreign_keys:
            metadata["foreign_keys"] = result.foreign_keys
        if result.rows:
            metadata["rows_inserted"] = dg.MetadataValue.md(counts_markdown(result.rows))
        if result.sequences:  # name → (last_value, is_called) before and after
            metadata["sequences_moved"] = dg.MetadataValue.json(
                {name: {"before": moved["before"], "after": moved["after"]} for name, moved in result.sequences.items()})
        return dg.MaterializeResult(metadata=metadata)

    return published


def undo_job(graph: Plan, p: Prefix) -> dg.JobDefinition:
    """`undo` in the UI: take the newest publish (or the one given) out of the target again."""

    class UndoConfig(dg.Config):
        merge_id: int | None = None  # default: the newest merge not yet undone

    @dg.op(name=p.name("undo_merge"), required_resource_keys={p.name("target"), p.name("inputs")}, description="Delete exactly the rows one publish inserted and restore the sequences "
                                          "it moved, in one transaction; refuses while newer rows reference them.")
    def undo_merge(context: dg.OpExecutionContext, config: UndoConfig):
        target, plan = p.target(context), run_plan(context, graph, p)
        dsn = target.resolved_dsn()
        merge_lock.hold(dsn, plan.spec.map_schema, "undo")
        try:
            with target.connect() as conn, cancel_on_interrupt(conn):
                done = undo(conn, plan.spec.map_schema, target.lock_timeout, config.merge_id)
        finally:
            merge_lock.release(dsn, plan.spec.map_schema)
        context.log.info(f"merge {done.merge_id} undone: {sum(done.rows.values())} rows deleted")
        context.add_output_metadata({"merge_id": done.merge_id, "rows_deleted": dg.MetadataValue.json(done.rows),
                                     "foreign_keys": done.foreign_keys})

    @dg.job(name=p.name("undo"), description="Undo the newest merge (or merge_id) in the target.")
    def undo_graph():
        undo_merge()

    return undo_graph


def build_graph(plan: Plan, p: Prefix) -> tuple[list[dg.AssetsDefinition], list[dg.JobDefinition]]:
    """Every check runs inside its asset's step, so the graph has no check steps of its own."""
    assets = [*load_assets(plan, p), *(step_asset(plan, s, p) for s in plan.steps), report_asset(plan, p),
              publish_asset(plan, p)]
    merge = dg.define_asset_job(p.name("merge"), selection=dg.AssetSelection.assets(*assets),  # this graph's only
                                description="The whole merge: load, maps, pending rows, audit, publish.")
    return assets, [merge, undo_job(plan, p)]
