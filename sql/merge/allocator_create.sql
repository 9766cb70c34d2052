-- pgmerge's own counter for new ids of one target sequence: ids are handed out here, not by the target's
-- sequence, so a merge that is never published leaves the target's sequence as it was.
DROP SEQUENCE IF EXISTS {allocator};
CREATE SEQUENCE {allocator} AS bigint MINVALUE 0 START 1
