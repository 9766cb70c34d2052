"""SQL around the staging load: row counts, and the merge state that must reset when dump #2 changes."""

from __future__ import annotations

from psycopg import sql

from pgmerge_assets.catalog.spec import MergeSpec
from pgmerge_assets.plan.planner import Names
from pgmerge_assets.templates import compose


class StagingPlan:
    def __init__(self, spec: MergeSpec):
        self.spec = spec
        self.names = Names(spec)
        self.tables = [t.name for t in spec.merged_tables]

    def target_count_query(self) -> sql.Composed:
        """One row: the row count of every merged spec table in the target database, in spec order."""
        return sql.SQL("SELECT {}").format(sql.SQL(", ").join(
            sql.SQL("(SELECT count(*) FROM {})").format(self.names.public(t)) for t in self.tables))

    def prepare(self) -> sql.Composed:
        n = self.names
        return compose("merge/prepare.sql", map_schema=n.map_schema, merge_log=n.merge_log, state=n.state)

    def reset(self) -> sql.Composed:
        return compose("merge/reset.sql", map_schema=self.names.map_schema)

    def fingerprint(self) -> sql.Composed:
        """md5 over every staging table's order-independent checksum."""
        parts = [sql.SQL("({})").format(compose("merge/staging_fingerprint.sql", staging_table=self.names.staging(t)))
                 for t in self.tables]
        return sql.SQL("SELECT md5(concat_ws(',', {}))").format(sql.SQL(", ").join(parts))

    def record_fingerprint(self, fingerprint: str) -> sql.Composed:
        return compose("merge/fingerprint_state.sql", state=self.names.state, fingerprint=sql.Literal(fingerprint))
