"""Foreign-key dependency order: parents before the children that reference them."""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pgmerge_assets.catalog.spec import MergeSpec, TableSpec


def merge_order(spec: MergeSpec) -> list[TableSpec]:
    """Merged tables sorted so that every foreign key's table comes first; ties by name, for stable plans."""
    from pgmerge_assets.catalog.spec import SpecError

    graph = {t.name: set(t.parents) for t in spec.merged_tables}
    sorter = TopologicalSorter(graph)
    try:
        sorter.prepare()
    except CycleError as exc:
        cycle = exc.args[1][::-1]  # graphlib lists it child-first
        edges = []
        for child, parent in zip(cycle, cycle[1:]):
            edges.append(f"{child}.{'/'.join(spec.tables[child].parents[parent])} -> {parent}")
        raise SpecError(f"foreign keys form a cycle: {', '.join(edges)}; list one nullable foreign-key column of "
                        f"it under its table's deferred_foreign_keys (it is then set after both tables are "
                        f"merged); a cycle of NOT NULL columns cannot be merged") from None
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        order += ready
        sorter.done(*ready)
    return [spec.tables[name] for name in order]
