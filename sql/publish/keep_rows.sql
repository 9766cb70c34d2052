-- The rows this publish inserted, kept under the merge's number so undo can take exactly them out again;
-- the pending table is empty afterwards (target ∪ pending = target).
CREATE TABLE {kept} AS TABLE {pending};
TRUNCATE {pending}
