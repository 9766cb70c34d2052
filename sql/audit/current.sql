-- The audit of the current version of pgmerge's work, if there is one.
SELECT s.value::bigint AS work_version, a.passed, a.lost, a.failed_checks, a.row_counts
FROM {state} s LEFT JOIN {audit} a ON a.work_version = s.value::bigint
WHERE s.key = 'work_version'
