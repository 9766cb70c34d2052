-- pgmerge's state: work_version, staging_fingerprint, published_version, published_merge.
SELECT key, value FROM {state}
