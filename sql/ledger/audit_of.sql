-- The audit of one version of pgmerge's work (none: it was changed after its last audit).
SELECT passed, lost, failed_checks FROM {audit} WHERE work_version = %(version)s
