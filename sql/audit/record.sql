-- The audit of one version of pgmerge's work: publish needs a passed audit of the version it publishes.
INSERT INTO {audit} (work_version, passed, lost, failed_checks, row_counts)
VALUES (%(version)s, %(passed)s, %(lost)s, %(failed)s::jsonb, %(row_counts)s::jsonb)
ON CONFLICT (work_version) DO UPDATE
SET passed = excluded.passed, lost = excluded.lost, failed_checks = excluded.failed_checks,
    row_counts = excluded.row_counts, audited_at = clock_timestamp()
