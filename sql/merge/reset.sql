-- A new dump #2 in staging: this run's work starts over (the ledger stays).
TRUNCATE {merge_log};
DELETE FROM {state} WHERE key <> 'work_version'
