"""SQL around the staging load: row counts, and the fresh work state each newly loaded dump #2 starts with."""

from __future__ import annotations

from psycopg import sql

from pgmerge_assets.catalog.spec import MergeSpec
from pgmerge_assets.plan.common import Names, ident_list
from pgmerge_assets.templates import compose

ROW_HASHES = ("hash_record_extended(t, 0)", "hashtextextended(t::text, 0)")  # by column types; by the row's text


class StagingPlan:
    def __init__(self, spec: MergeSpec):
        self.spec = spec
        self.names = Names(spec)
        self.tables = [t.name for t in spec.merged_tables]

    def target_count_query(self) -> sql.Composed:
        """One row: the row count of every merged spec table in the target database, in spec order."""
        return sql.SQL("SELECT {}").format(sql.SQL(", ").join(
            sql.SQL("(SELECT count(*) FROM {})").format(self.names.public(t)) for t in self.tables))

    def merged_count_query(self) -> sql.Composed:
        """One row: every merged table's row count once published (its merged view), in spec order."""
        return sql.SQL("SELECT {}").format(sql.SQL(", ").join(
            sql.SQL("(SELECT count(*) FROM {})").format(self.names.merged(t)) for t in self.tables))

    def merge_log(self) -> sql.Composed:
        return compose("report/merge_log.sql", merge_log=self.names.merge_log)

    def work_version(self) -> sql.Composed:
        return sql.SQL("SELECT value::bigint FROM {} WHERE key = 'work_version'").format(self.names.state)

    def prepare(self) -> sql.Composed:
        """pgmerge's tables in its (already marked) schema: merge log, state, ledger, audits."""
        n = self.names
        return compose("merge/prepare.sql", merge_log=n.merge_log, state=n.state, ledger=n.ledger, audit=n.audit)

    def start_over(self) -> list[sql.Composed]:
        """A new dump #2 in staging: drop the last run's maps, empty pending tables and merged views, new id
        counters. The ledger and the tables kept for undo stay."""
        n, spec = self.names, self.spec
        statements = [compose("merge/reset.sql", merge_log=n.merge_log, state=n.state)]
        statements += [sql.SQL("DROP TABLE IF EXISTS {}").format(n.map(t.name)) for t in spec.merged_tables]
        statements += [compose("merge/pending_create.sql", merged_view=n.merged(t.name), pending=n.pending(t.name),
                               public_table=n.public(t.name), columns=ident_list(t.columns))
                       for t in spec.merged_tables]
        allocators = {n.allocator_table(t).as_string(): n.allocator_table(t)
                      for t in spec.merged_tables if t.has_map and t.fresh_ids}
        statements += [compose("merge/allocator_create.sql", allocator=a) for a in allocators.values()]
        return statements

    def bump_version(self) -> sql.Composed:
        return compose("merge/bump_version.sql", state=self.names.state)

    def fingerprint_parts(self) -> list[tuple[sql.Composed, sql.Composed]]:
        """Each staging table's order-independent checksum, the fingerprint being the md5 of them joined by
        commas: by its columns' hash functions, and by its rows' text, for tables with a column type that has
        none (or PostgreSQL < 14)."""
        return [tuple(compose("merge/staging_fingerprint.sql", staging_table=self.names.staging(t),
                              row_hash=sql.SQL(row_hash)) for row_hash in ROW_HASHES) for t in self.tables]

