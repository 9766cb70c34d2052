"""More merges in this code location: `dg scaffold defs pgmerge_assets.PgMergeComponent NAME` puts a PgMergeComponent
here (NAME/defs.yaml), under its own key prefix; definitions.py loads them beside the unprefixed merge."""
