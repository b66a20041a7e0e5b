"""Profile buffers decoded with row templates (issue 17): capture times with the date-time
tag (0x19) are covered by the template, and a layout that cannot be templated is not
learnt again on every row."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncdlms import axdr
from asyncdlms.errors import DecodeError
from asyncdlms.types import (
    Array,
    DoubleLongUnsigned,
    Long,
    OctetString,
    Structure,
    Unsigned,
)
from asyncdlms.types.clock import DateTime


def _buffer(rows: int, capture_time: bytes) -> bytes:
    out = bytearray(b"\x01" + axdr.encode_length(rows))
    for i in range(rows):
        clock = struct.pack(">HBBBBBBBhB", 2024, 1, 1 + i // 96, 0xFF, i // 4 % 24,
                            i % 4 * 15, 0, 0, -60, 0)  # fmt: skip
        out += b"\x02\x04" + capture_time + clock
        out += b"\x06" + struct.pack(">I", 100_000 + i * 13)
        out += b"\x06" + struct.pack(">I", 50_000 + i * 7)
        out += b"\x10" + struct.pack(">h", i % 300 - 150)
    return bytes(out)


class _Counting(axdr._RowTemplate):
    made = 0

    def __init__(self, buf: bytes, pos: int, end: int) -> None:
        type(self).made += 1
        super().__init__(buf, pos, end)


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> type[_Counting]:
    _Counting.made = 0
    monkeypatch.setattr(axdr, "_RowTemplate", _Counting)
    return _Counting


def test_date_time_capture_times_are_templated_and_decode_as_the_general_decoder(
    counting: type[_Counting],
) -> None:
    data = _buffer(200, b"\x19")
    rows = axdr.decode(data)
    assert counting.made == 1
    start = 1 + len(axdr.encode_length(200))
    general, end = axdr._decode_sequence(data, start, len(data), 200, axdr.DEFAULT_MAX_DEPTH)
    assert end == len(data)
    assert list(rows) == general
    assert isinstance(rows[0][0], DateTime) and rows[5][0].minute == 15
    assert axdr.encode(rows) == data


def test_a_layout_without_template_is_not_learnt_on_every_row(
    counting: type[_Counting],
) -> None:
    # a nested structure in each row: no template fits; 500 rows, a bounded number of tries
    rows = 500
    data = bytearray(b"\x01" + axdr.encode_length(rows))
    for i in range(rows):
        data += b"\x02\x02\x02\x01\x11" + bytes((i % 256,)) + b"\x12" + struct.pack(">H", i)
    decoded = axdr.decode(bytes(data))
    assert len(decoded) == rows and decoded[7][1] == 7
    assert counting.made <= axdr._TEMPLATE_LEARNINGS


@pytest.mark.parametrize("rows", [1, 5, 15, 16, 17, 48, 49, 200])
def test_date_time_rows_decode_the_same_whatever_the_runs(rows: int) -> None:
    """Rows are checked and unpacked in runs of 16, 32, 64... rows: counts below, at and
    past the run boundaries give the same values, date-time columns included."""
    from asyncdlms import axdr
    from asyncdlms.types import Array, DateTime, DoubleLongUnsigned, Structure

    stamp = DateTime.from_bytes(bytes.fromhex("07e80101010000000000003c00"[:24]))
    value = Array(
        tuple(Structure((stamp, DoubleLongUnsigned(1000 + i))) for i in range(rows))
    )
    encoded = axdr.encode(value)
    decoded = axdr.decode(encoded)
    assert decoded == value
    assert [row[1] for row in decoded] == [1000 + i for i in range(rows)]
    assert all(isinstance(row[0], DateTime) for row in decoded)


# Rows of a few layouts (tags, octet-string lengths, date-times, nested values no template
# covers) in random order and runs: the run-at-a-time template decoding gives exactly what
# the general decoder gives, row by row, and the bytes re-encode to the input.
_LAYOUTS = [
    lambda i: Structure((DoubleLongUnsigned(i), Long(-i))),
    lambda i: Structure((DoubleLongUnsigned(i), Long(-i), Unsigned(i % 256))),
    lambda i: Structure((OctetString(bytes([i % 256]) * 12), DoubleLongUnsigned(i))),
    lambda i: Structure((OctetString(b"x" * (i % 3)), DoubleLongUnsigned(i))),
    lambda i: Structure((DateTime.from_bytes(struct.pack(">H10B", 2024, *([i % 256] * 10))),)),
    lambda i: Structure((None, DoubleLongUnsigned(i))),  # null-data: no template
    lambda i: Structure((Structure((Unsigned(1),)), Long(i))),  # nested: no template
    lambda i: Structure(()),
    lambda i: DoubleLongUnsigned(i),  # not a structure at all
]


def _types(rows: Array) -> list[type]:
    return [type(item) for row in rows for item in (row if type(row) is Structure else [row])]


@given(
    st.lists(
        st.tuples(st.integers(0, len(_LAYOUTS) - 1), st.integers(1, 70)),
        min_size=1,
        max_size=8,
    )
)
def test_runs_of_mixed_layouts_decode_as_the_general_decoder(runs: list[tuple[int, int]]) -> None:
    value = Array(
        [
            _LAYOUTS[layout](number * 100 + i)
            for number, (layout, length) in enumerate(runs)
            for i in range(length)
        ]
    )
    data = axdr.encode(value)
    decoded = axdr.decode(data)
    start = 1 + len(axdr.encode_length(len(value)))
    general, end = axdr._decode_sequence(data, start, len(data), len(value), 30)
    assert end == len(data)
    assert list(decoded) == general == list(value)
    assert _types(decoded) == _types(value)
    assert axdr.encode(decoded) == data


def test_a_truncated_last_row_is_a_decode_error() -> None:
    data = _buffer(40, b"\x19")
    with pytest.raises(DecodeError, match="truncated"):
        axdr.decode(data[:-1])
    with pytest.raises(DecodeError, match="truncated"):
        axdr.decode(data[:-29])
