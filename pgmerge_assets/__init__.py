"""pgmerge_assets: merge two diverged PostgreSQL dumps of one schema, as a Dagster asset graph."""

import warnings

# platformdirs warns on every import of the embedded server package where XDG_RUNTIME_DIR is unset
# (containers, CI); it then falls back to /tmp, which is what we want anyway.
warnings.filterwarnings("ignore", message=r".*XDG_RUNTIME_DIR.*")
