"""Cutting a data-only SQL stream into its COPY blocks: every block's bytes exactly, whatever the pieces the
stream arrives in, and nothing else of the stream. Pure Python: no database."""

from __future__ import annotations

import io

import pytest

from pgmerge_assets.pg.copy_blocks import CopyBlocks

ROWS = b"".join(b"%d\tname %d\n" % (i, i) for i in range(500))
STREAM = (b"SET client_encoding = 'UTF8';\nSELECT pg_catalog.set_config('search_path', '', false);\n\n"
          b'COPY public.a (id, "B c") FROM stdin;\n1\tback\\\\slash\n2\t\\\\. not the end\n\\.\n\n'
          b"SELECT pg_catalog.setval('public.a_id_seq', 3, true);\n"
          b'COPY "S"."T""x" FROM stdin;\n\\.\n'
          b"COPY public.big (id, name) FROM stdin;\n" + ROWS + b"\\.\n\n-- done\n")


def blocks_of(stream: bytes, block: int) -> tuple[list, list[str]]:
    blocks = CopyBlocks(io.BytesIO(stream), block)
    out = []
    for schema, table, columns, rows in blocks:
        data = b""
        while piece := rows.read():
            data += piece
            assert piece.endswith(b"\n")  # whole lines only
        out.append((schema, table, columns, data))
    return out, blocks.encodings


@pytest.mark.parametrize("block", [1, 2, 3, 5, 64, 1000, 1 << 20])
def test_every_block_exactly_whatever_the_pieces(block):
    out, encodings = blocks_of(STREAM, block)
    assert out == [("public", "a", ["id", "B c"], b"1\tback\\\\slash\n2\t\\\\. not the end\n"),
                   ("S", 'T"x', [], b""),
                   ("public", "big", ["id", "name"], ROWS)]
    assert encodings == ["UTF8"]


def test_a_block_left_unread_is_skipped():
    blocks = CopyBlocks(io.BytesIO(STREAM), 7)
    assert [table for _, table, _, _ in blocks] == ["a", 'T"x', "big"]


def test_a_stream_that_stops_inside_a_block_is_an_error():
    with pytest.raises(EOFError):
        blocks_of(STREAM[:-200], 64)


def test_the_encodings_the_stream_sets_are_told():
    _, encodings = blocks_of(b"SET client_encoding = 'LATIN1';\n" + STREAM, 5)
    assert encodings == ["LATIN1", "UTF8"]
