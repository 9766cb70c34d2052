"""Foreign-key order: parents before the children that reference them. The tables of a foreign-key cycle
(declared or added in the spec, nullable or not) form one group: they are published in one statement, and
PostgreSQL checks non-deferrable foreign keys at the end of each statement."""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pgmerge_assets.catalog.spec import MergeSpec, TableSpec


def merge_groups(spec: MergeSpec) -> list[list[TableSpec]]:
    """The merged tables as strongly connected groups of the foreign-key graph, parents' groups first;
    ties by name, for stable plans (groups by Tarjan's algorithm, then sorted topologically)."""
    names = sorted(t.name for t in spec.merged_tables)
    edges = {name: sorted(set(spec.tables[name].parents) - {name}) for name in names}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(name: str) -> None:
        index[name] = low[name] = len(index)
        stack.append(name)
        for parent in edges[name]:
            if parent not in index:
                visit(parent)
                low[name] = min(low[name], low[parent])
            elif parent in stack:
                low[name] = min(low[name], index[parent])
        if low[name] == index[name]:
            group = []
            while group[-1:] != [name]:
                group.append(stack.pop())
            groups.append(sorted(group))

    for name in names:
        if name not in index:
            visit(name)
    # the groups in dependency order, ready groups by name (as a plain topological sort of the tables would)
    group_of = {name: group[0] for group in groups for name in group}
    sorter = TopologicalSorter({group[0]: {group_of[p] for n in group for p in edges[n]} - {group[0]}
                                for group in groups})
    sorter.prepare()
    members = {group[0]: group for group in groups}
    ordered: list[list[str]] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        ordered += [members[g] for g in ready]
        sorter.done(*ready)
    return [[spec.tables[name] for name in group] for group in ordered]


def merge_order(spec: MergeSpec) -> list[TableSpec]:
    """Merged tables, every foreign key's table first except within a cycle."""
    return [t for group in merge_groups(spec) for t in group]


def cycle_partners(spec: MergeSpec) -> dict[str, set[str]]:
    """For each table, the other tables of its foreign-key cycle (empty when it is on none)."""
    return {t.name: {u.name for u in group} - {t.name} for group in merge_groups(spec) for t in group}


def check_key_cycles(spec: MergeSpec) -> None:
    """The one cycle that cannot merge: natural keys that hold each other's foreign keys, so each table's rows
    can only be matched once the other's are (its id map is built from the other's)."""
    from pgmerge_assets.catalog.spec import SpecError

    graph = {t.name: {f.table for f in t.mapped_columns if f.column in t.natural_key and f.table != t.name}
             for t in spec.merged_tables}
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as exc:
        cycle = exc.args[1][::-1]  # graphlib lists it child-first
        edges = []
        for child, parent in zip(cycle, cycle[1:]):
            t = spec.tables[child]
            columns = [f.column for f in t.mapped_columns if f.table == parent and f.column in t.natural_key]
            edges.append(f"{child}.({', '.join(columns)}) -> {parent}")
        raise SpecError(f"natural keys form a cycle: {', '.join(edges)}; each table's rows can only be matched "
                        f"once the other's are, so none can: take a foreign key out of one natural key") from None
