"""The SQL text of a dump on its way to psql: filtered for version skew and inspected as it passes.

Exists because every restore and staging load ends in the same stream of SQL bytes (a plain file
read in 1 MiB blocks, or the output of `pg_restore -f -` for custom/directory/tar archives, or of
`pg_dump`), and that stream is the one place where version skew is handled and where a dump is
inspected without ever parsing rows. `DumpStream` does both:

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
* `\\restrict` only guards against meta-commands smuggled into a dump when psql knows it; with an
  older psql (only when PGMERGE_PG_BIN points at one) it is dropped and that guard is gone.
* In scratch streams (`scratch=True`) lines that only carry owners, privileges or per-column
  planner options (`ALTER ... OWNER TO`, GRANT/REVOKE, `ALTER TABLE ONLY t ALTER COLUMN c SET (...)`)
  are dropped: they cannot change rows and fail across servers with other roles or options. And
  before the first table's data (its `-- Data for Name: …` line) the tables are made UNLOGGED
  (`sql/staging/scratch_unlogged.sql`): scratch needs no WAL.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from pgmerge_assets.pg.dump_format import DATA_ENTRY_TYPES, DumpError, DumpInfo, version_only
from pgmerge_assets.pg.embedded import redact
from pgmerge_assets.pg.tools import PgTool, scrub, tool_conninfo, tool_version
from pgmerge_assets.templates import load

BLOCK = 1 << 20  # bytes per read of a dump
SCRATCH_UNLOGGED = ("\n" + load("staging/scratch_unlogged.sql").strip() + "\n\n").encode()
HEADER_MAX_LINES = 2000

# Parameters pg_dump sets in its header, with the first server major version that knows them.
SET_MIN_SERVER = {
    "transaction_timeout": 17,  # pg_dump >= 17 writes it; servers < 17 reject it
    "default_table_access_method": 12,
}

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
# a COPY header line of pg_dump's, with its line end: table (`copy_t`) and column list (`copy_c`, if any)
COPY_HEADER = re.compile(
    rb"^COPY (?P<copy_t>" + _QNAME + rb") ?(?:" + _COLS.replace(b"{g}", b"copy_c") + rb")? ?FROM stdin;\r?\n",
    re.MULTILINE)


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
        self._unlogged = False  # scratch: the tables were made UNLOGGED before the first data

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
                self.source_server_version = version_only(m.group(1))
            m = re.match(r"-- Dumped by pg_dump version (\S+)", text)
            if m:
                self.pg_dump_version = version_only(m.group(1))
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
                    if etype == "TABLE DATA" and self.scratch and not self._unlogged:
                        emit(data[last : m.start()])
                        emit(SCRATCH_UNLOGGED)
                        last = m.start()
                        self._unlogged = True
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


# --------------------------------------------------------------------------------------------
# dumps and databases as SQL streams (a plain file, pg_restore -f -, pg_dump)


class Producer:
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
    producer = Producer(args, what=f"pg_restore {tool_version(str(pg_restore.path))} ({pg_restore.path}) of {path}")
    try:
        yield from stream.filter(producer.stdout)
        producer.check()
    finally:
        producer.close()


def pg_dump_stream(pg_dump: PgTool, dsn: str, args: list[str], stream: DumpStream) -> Iterator[bytes]:
    """The filtered output of `pg_dump <args>` of the database of `dsn`."""
    conninfo, env = tool_conninfo(dsn)
    producer = Producer(
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


__all__ = [
    "BLOCK",
    "COPY_HEADER",
    "HEADER_MAX_LINES",
    "SET_MIN_SERVER",
    "DumpStream",
    "OnData",
    "TableData",
    "pg_dump_stream",
    "plain_is_data_only",
    "split_idents",
    "split_qualified",
    "sql_stream",
]
