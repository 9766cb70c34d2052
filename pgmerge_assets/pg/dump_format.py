"""What kind of dump a path holds, and the vocabulary every dump reader shares.

Exists so that telling a plain SQL dump from a custom/directory/tar archive (or from a gzip file,
a pg_dumpall cluster dump, ...) is one small step from the first bytes of the file, apart from
reading an archive's table of contents (`archive_toc`) and streaming plain SQL (`plain_stream`).
It also holds what those two readers have in common: `DumpError`, `DumpInfo` and the TOC entry
types that make a dump data-only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

FORMATS = ("plain", "custom", "directory", "tar")

# TOC entry types that a data-only dump holds.
DATA_ENTRY_TYPES = {
    "TABLE DATA",
    "SEQUENCE SET",
    "BLOB",
    "BLOBS",
    "BLOB DATA",
    "LARGE OBJECT",
    "LARGE OBJECTS",
    "BLOB METADATA",
    "STATISTICS DATA",
}


class DumpError(ValueError):
    """A dump that cannot be loaded as asked; the message names the table, column and count."""


@dataclass(frozen=True)
class DumpInfo:
    format: str  # 'plain' | 'custom' | 'directory' | 'tar'
    data_only: bool
    tables: list[str]  # 'schema.table' of every table the dump carries data for (possibly 0 rows)
    inserts: bool  # plain dump written with --inserts/--column-inserts (archives: always False)
    archive_version: str | None = None  # e.g. '1.16' (archives only)
    pg_dump_version: str | None = None  # e.g. '18.4'
    source_server_version: str | None = None  # 'Dumped from database version', e.g. '15.20'
    row_counts: dict[str, int] = field(default_factory=dict)  # plain only: COPY rows / INSERTs per table


def detect_format(path: Path) -> str:
    """'plain' | 'custom' | 'directory' | 'tar', from the file's first bytes; DumpError otherwise."""
    path = Path(path)
    if path.is_dir():
        toc = path / "toc.dat"
        if toc.is_file() and read_head(toc, 5) == b"PGDMP":
            return "directory"
        raise DumpError(f"{path} is a directory but not a pg_dump -Fd archive (no valid toc.dat)")
    if not path.is_file():
        raise DumpError(f"dump file {path} does not exist")
    head = read_head(path, 4096)
    if not head:
        raise DumpError(f"dump file {path} is empty")
    if head.startswith(b"PGDMP"):
        return "custom"
    if len(head) >= 262 and head[257:262] == b"ustar":
        if head[512:517] == b"PGDMP" or head[:7] == b"toc.dat":
            return "tar"
        raise DumpError(f"{path} is a tar file but not a pg_dump -Ft archive (no toc.dat first)")
    if head.startswith(b"\x1f\x8b"):
        raise DumpError(f"{path} is gzip-compressed: decompress it first (gunzip), or use -Fc")
    if head.startswith((b"\x28\xb5\x2f\xfd", b"BZh", b"\x04\x22\x4d\x18")):
        raise DumpError(f"{path} is compressed (zstd/bzip2/lz4): decompress it first")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = head.decode("latin-1")
        if any(ch in text for ch in "\x00\x01\x02\x03\x04\x05\x06\x07\x08"):
            raise DumpError(f"{path} is neither a PostgreSQL archive nor a plain SQL dump") from None
    if "PostgreSQL database cluster dump" in text:
        raise DumpError(f"{path} is a pg_dumpall cluster dump: dump one database with pg_dump instead")
    if "\x00" in text:
        raise DumpError(f"{path} is neither a PostgreSQL archive nor a plain SQL dump")
    if "PostgreSQL database dump" in text or re.search(
        r"^\s*(SET|SELECT|CREATE|COPY|INSERT|ALTER|BEGIN|--|\\restrict)\b", text, re.MULTILINE
    ):
        return "plain"
    raise DumpError(f"{path} is neither a PostgreSQL archive nor a plain SQL dump")


def read_head(path: Path, n: int) -> bytes:
    """The first `n` bytes of a file."""
    with open(path, "rb") as fh:
        return fh.read(n)


def version_only(text: str | None) -> str | None:
    """The leading version number of a header value ('15.20 (Debian ...)' -> '15.20')."""
    if not text:
        return None
    m = re.match(r"\s*(\d+(?:\.\d+)*)", text)
    return m.group(1) if m else text


__all__ = [
    "DATA_ENTRY_TYPES",
    "FORMATS",
    "DumpError",
    "DumpInfo",
    "detect_format",
    "read_head",
    "version_only",
]
