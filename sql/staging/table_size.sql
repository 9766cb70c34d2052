-- How big a source table is (its heap, not its indexes): what the staging copy balances its two streams by.
SELECT pg_relation_size(%(table)s::regclass)
