"""Foreign-key dependency order: parents before the children that reference them."""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pgmerge_assets.catalog.spec import MergeSpec, TableSpec


def merge_order(spec: MergeSpec) -> list[TableSpec]:
    """Merged tables sorted so that every foreign key's table comes first; ties by name, for stable plans."""
    from pgmerge_assets.catalog.spec import SpecError

    graph = {t.name: {f.table for f in t.foreign_keys if f.table != t.name} for t in spec.merged_tables}
    sorter = TopologicalSorter(graph)
    try:
        sorter.prepare()
    except CycleError as exc:
        cycle = " -> ".join(exc.args[1])
        raise SpecError(f"foreign keys form a cycle: {cycle}; this version merges acyclic schemas only") from None
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        order += ready
        sorter.done(*ready)
    return [spec.tables[name] for name in order]
