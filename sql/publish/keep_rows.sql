-- What this publish inserted, kept under the merge's number so undo can take exactly those rows out
-- again (the copy made while it inserted); the pending table is empty afterwards (target ∪ pending = target).
ALTER TABLE {kept_copy} RENAME TO {kept_name};
TRUNCATE {pending}
