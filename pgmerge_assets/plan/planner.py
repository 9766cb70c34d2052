"""Spec → the whole merge as ordered stages, each a module with one public function (write-audit-publish):

1. maps     — id_map/<t>: staging id → target id per table (natural key, or content for history).
2. pending  — merged/<t>, repaired_arrays/<t>__<c>, sequences: the exact rows publish will insert, in
              pgmerge's own tables; the target is not written.
3. audit    — the checks, on target ∪ pending (the merged views); the lossless proof lives in proof.py;
              lint.py adds warnings for a spec that merges wrongly though every check passes.
4. publish  — one transaction: locks, re-verification, inserts in constraint order, sequences (publish.py).
5. undo     — takes one publish out again (undo.py).

Pure Python: no Dagster, no database.
"""

from __future__ import annotations

from pgmerge_assets.catalog.spec import MergeSpec
from pgmerge_assets.plan.audit import plan_audit
from pgmerge_assets.plan.common import Plan
from pgmerge_assets.plan.lint import plan_lint
from pgmerge_assets.plan.maps import plan_maps
from pgmerge_assets.plan.pending import plan_pending

STAGES = (plan_maps, plan_pending)


def build_plan(spec: MergeSpec) -> Plan:
    """The steps to write, in dependency order, then the checks on their assets."""
    plan = Plan(spec)
    for stage in STAGES:
        plan.steps += stage(spec)
    plan.checks = plan_audit(spec) + plan_lint(spec)
    return plan
