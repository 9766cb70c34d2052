"""The COPY blocks of a dump's SQL stream (`pg_restore --data-only -f -`), each handed over as raw bytes.

Exists so that dump #2's rows can go straight from the archive into staging: of the stream, only the rows
are used, as the data of a `COPY staging.<clone> FROM STDIN` that pgmerge composed; every other line
(SET, set_config, setval…) is read past and never executed. Rows are never split out one by one: a block
is passed on in the pieces it was read in, cut only at the line that ends it (`\\.`; COPY's text format
escapes every backslash of the data, so no row can start that way).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

from pgmerge_assets.pg.plain_stream import BLOCK, COPY_HEADER, split_idents, split_qualified

_ENCODING = re.compile(rb"^SET client_encoding = '([^']*)';", re.MULTILINE)


class CopyBlocks:
    """Iterate over the COPY blocks of `raw`: (schema, table, columns, rows), `rows` a reader of the block's
    raw COPY text that ends where the block does (read it before the next block; what is left unread is
    skipped). `encodings`: every client_encoding the stream set, in order."""

    def __init__(self, raw: BinaryIO, block: int = BLOCK):
        self.raw, self.block = raw, block
        self.buf = b""
        self.eof = False
        self.encodings: list[str] = []

    def _fill(self) -> None:
        chunk = self.raw.read(self.block)
        self.eof = not chunk
        self.buf += chunk

    def __iter__(self) -> Iterator[tuple[str, str, list[str], "Rows"]]:
        while True:
            m = COPY_HEADER.search(self.buf)
            whole = self.buf.rfind(b"\n") + 1 if m is None else m.start()  # the whole lines before any header
            self.encodings += [e.decode() for e in _ENCODING.findall(self.buf, 0, whole)]
            if m is None:
                if self.eof:
                    return
                self.buf = self.buf[whole:]  # only a started line can still become a header
                self._fill()
                continue
            schema, table = split_qualified(m.group("copy_t").decode("utf-8", "replace"))
            cols = m.group("copy_c")
            columns = split_idents(cols.decode("utf-8", "replace")) if cols is not None else []
            self.buf = self.buf[m.end():]
            rows = Rows(self)
            yield schema, table, columns, rows
            while rows.read():
                pass


class Rows:
    """One COPY block's data, read in pieces of whole lines up to the `\\.` line that ends it."""

    def __init__(self, blocks: CopyBlocks):
        self.blocks = blocks
        self.done = False

    def read(self, _size: int = -1) -> bytes:
        b = self.blocks
        while not self.done:
            buf = b.buf
            end = 0 if buf.startswith(b"\\.") else buf.find(b"\n\\.") + 1 or -1
            if end >= 0:
                eol = buf.find(b"\n", end)
                if eol >= 0 or b.eof:  # the end line is whole: the data is everything before it
                    self.done = True
                    b.buf = buf[eol + 1:] if eol >= 0 else b""
                    return buf[:end]
            elif b.eof:
                raise EOFError("the dump's stream ended inside a COPY block")
            whole = buf.rfind(b"\n", 0, end if end > 0 else len(buf)) + 1  # whole lines, before any end line
            if whole and end < 0:
                b.buf = buf[whole:]
                return buf[:whole]
            b._fill()
        return b""


__all__ = ["CopyBlocks", "Rows"]
