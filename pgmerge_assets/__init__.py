"""pgmerge_assets: merge two diverged PostgreSQL dumps of one schema, as a Dagster asset graph."""

import warnings

# platformdirs warns on every import of the embedded server package where XDG_RUNTIME_DIR is unset
# (containers, CI); it then falls back to /tmp, which is what we want anyway.
warnings.filterwarnings("ignore", message=r".*XDG_RUNTIME_DIR.*")


def __getattr__(name: str):
    """`pgmerge_assets.PgMergeComponent` (the dg registry's name for it), imported on first use: the CLI's
    commands that never touch Dagster do not pay for importing it."""
    if name == "PgMergeComponent":
        from pgmerge_assets.component import PgMergeComponent

        return PgMergeComponent
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return [*globals(), "PgMergeComponent"]  # the dg registry lists what dir() shows
