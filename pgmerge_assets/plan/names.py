"""Names derived from table names: asset key parts and pgmerge's own tables, always valid identifiers."""

from __future__ import annotations

import hashlib
import re

MAX_IDENTIFIER = 63


def asset_name(*parts: str) -> str:
    """A Dagster-safe name for a table (or table+column); a short hash keeps distinct names distinct."""
    raw = "__".join(parts)
    safe = re.sub(r"[^A-Za-z0-9_]", "_", raw)
    if safe != raw or not safe or safe[0].isdigit():
        safe = f"{safe}_{hashlib.sha1(raw.encode()).hexdigest()[:6]}"
    return safe


def object_name(prefix: str, table: str, suffix: str = "") -> str:
    """A PostgreSQL object name like map_<table>, shortened with a hash past the 63-byte limit."""
    name = f"{prefix}{table}{suffix}"
    if len(name.encode()) <= MAX_IDENTIFIER:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    head = name.encode()[: MAX_IDENTIFIER - 9].decode(errors="ignore")
    return f"{head}_{digest}"
