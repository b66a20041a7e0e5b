"""A-XDR encoding and decoding of DLMS ``Data`` values (IEC 62056-6-2, IEC 61334-6).

>>> from asyncdlms import axdr
>>> from asyncdlms.types import Unsigned
>>> axdr.encode([Unsigned(1), Unsigned(2)]).hex()
'0102110111 02'.replace(' ', '')  # doctest: +SKIP
>>> axdr.decode(bytes.fromhex("0600001391"))
DoubleLongUnsigned(5009)

:func:`decode` returns values that keep their DLMS type (see :mod:`asyncdlms.types.values`),
so ``encode(decode(b)) == b`` for every canonical encoding ``b`` (lengths in their shortest
form, booleans as 0x00/0x01). Non-canonical input (a length in a longer form than needed, a
boolean byte other than 0/1) still decodes.

Bad input raises :class:`asyncdlms.errors.DecodeError` with the offset and what was expected,
and nothing else: truncated input fails at once, declared lengths and element counts are
checked against the bytes that remain before anything is allocated, a compact-array may not
decode into more than :data:`MAX_VALUES_PER_BYTE` values per byte it occupies, and nesting is
bounded (``max_depth``), so the values decoded from ``n`` bytes number at most
``(MAX_VALUES_PER_BYTE + 1) * n``: no input can make the decoder allocate or work more than in
proportion to its size, recurse without limit or loop forever.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import struct
from collections import deque
from collections.abc import Callable, Iterable
from itertools import repeat
from typing import Any

from .errors import DecodeError, EncodeError
from .types.clock import DATE_TIME_OCTETS, Date, DateTime, Time
from .types.tags import DataType
from .types.values import (
    DONT_CARE,
    INTEGER_TYPES,
    Array,
    BitString,
    CompactArray,
    DlmsValue,
    DontCare,
    DoubleLong,
    Float32,
    Float64,
    Long64,
    Long64Unsigned,
    OctetString,
    Structure,
    TypeDescription,
    TypedInteger,
    Utf8String,
    VisibleString,
)

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "MAX_VALUES_PER_BYTE",
    "decode",
    "decode_from",
    "decode_length",
    "encode",
    "encode_length",
]

DEFAULT_MAX_DEPTH = 32
"""How deeply arrays and structures may nest. Real COSEM data nests 5 levels at most."""

MAX_VALUES_PER_BYTE = 8
"""How many values a compact-array may decode into per byte it occupies (tag to last byte).

Every tagged value takes at least one byte of input; a compact-array's untagged elements
are limited to this many values per byte, so one :func:`decode` call of ``n`` bytes yields at
most ``(MAX_VALUES_PER_BYTE + 1) * n`` values, whatever the input. Honest element types
(structures of scalars, arrays of scalars) stay under 3 values per byte."""

_TAG_NAMES = {t.value: t.name.lower().replace("_", "-") for t in DataType}

# Fixed-width integer types: tag -> (unpack_from, width, class). Decoding creates the typed
# int with int.__new__ (no range check needed: the struct format bounds the value).
_FIXED: list[tuple[Callable[[bytes, int], tuple[Any, ...]], int, type[TypedInteger]] | None] = [
    None
] * 256
for _tag, _cls in INTEGER_TYPES.items():
    _struct = struct.Struct(_cls.struct_format)
    _FIXED[_tag] = (_struct.unpack_from, _struct.size, _cls)
_PACKERS: dict[type, Callable[..., bytes]] = {
    cls: struct.Struct(cls.struct_format).pack for cls in INTEGER_TYPES.values()
}
_new_int = int.__new__
_new_bytes = bytes.__new__
_new_tuple = tuple.__new__
_new_str = str.__new__
_FLOAT32 = struct.Struct(">f")
_FLOAT64 = struct.Struct(">d")


# ---------------------------------------------------------------------------------------------
# Lengths


def encode_length(length: int) -> bytes:
    """Encode a length or element count in the A-XDR/BER form (1, 2, 3 or 5 bytes)."""
    if length < 0x80:
        if length < 0:
            raise EncodeError(f"a length cannot be negative: {length}")
        return bytes((length,))
    if length < 0x100:
        return bytes((0x81, length))
    if length < 0x10000:
        return b"\x82" + length.to_bytes(2, "big")
    if length < 0x1_0000_0000:
        return b"\x84" + length.to_bytes(4, "big")
    raise EncodeError(f"a length of {length} does not fit in 4 bytes")


def decode_length(data: bytes, offset: int = 0) -> tuple[int, int]:
    """Decode a length at ``offset``; return ``(length, offset after it)``."""
    return _read_length(data, offset, len(data), "a length")


def _read_length(buf: bytes, pos: int, end: int, what: str) -> tuple[int, int]:
    if pos >= end:
        raise DecodeError(f"truncated: expected {what}", pos)
    first = buf[pos]
    if first < 0x80:
        return first, pos + 1
    size = first & 0x7F
    if size == 0 or size > 4:
        raise DecodeError(
            f"{what} in a form DLMS does not use (0x{first:02x}: {size} length bytes)", pos
        )
    if pos + 1 + size > end:
        raise DecodeError(f"truncated: {what} announces {size} length bytes", pos)
    return int.from_bytes(buf[pos + 1 : pos + 1 + size], "big"), pos + 1 + size


def _truncated(tag: int, pos: int, needed: int, end: int) -> DecodeError:
    return DecodeError(
        f"truncated {_TAG_NAMES.get(tag, hex(tag))}: needs {needed} bytes, "
        f"{max(end - pos, 0)} left",
        pos,
    )


# ---------------------------------------------------------------------------------------------
# Decoding


def decode(data: bytes | bytearray | memoryview, *, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """Decode exactly one A-XDR ``Data`` value; raise :class:`DecodeError` on trailing bytes.

    The result is typed as ``Any`` for convenience; it is always a :data:`DlmsValue`.
    """
    buf = bytes(data)
    value, end = _decode(buf, 0, len(buf), max_depth)
    if end != len(buf):
        raise DecodeError(f"{len(buf) - end} trailing bytes after the value", end)
    return value


def decode_from(
    data: bytes | bytearray | memoryview, offset: int = 0, *, max_depth: int = DEFAULT_MAX_DEPTH
) -> tuple[Any, int]:
    """Decode one value starting at ``offset``; return ``(value, offset after it)``.

    For streaming use: bytes after the value are left for the caller.
    """
    buf = data if isinstance(data, bytes) else bytes(data)
    if not 0 <= offset <= len(buf):
        raise DecodeError(f"offset {offset} is outside the {len(buf)} bytes given", offset)
    return _decode(buf, offset, len(buf), max_depth)


def _decode(buf: bytes, pos: int, end: int, depth: int) -> tuple[DlmsValue, int]:
    if pos >= end:
        raise DecodeError("truncated: expected a data type tag", pos)
    tag = buf[pos]
    fixed = _FIXED[tag]
    if fixed is not None:
        unpack, width, cls = fixed
        if pos + 1 + width > end:
            raise _truncated(tag, pos, 1 + width, end)
        return _new_int(cls, unpack(buf, pos + 1)[0]), pos + 1 + width
    if tag == 9:  # octet-string
        length, start = _read_length(buf, pos + 1, end, "an octet-string length")
        if start + length > end:
            raise _truncated(tag, pos, start + length - pos, end)
        return _new_bytes(OctetString, buf[start : start + length]), start + length
    if tag == 1 or tag == 2:
        return _decode_container(buf, pos, end, depth, tag)
    handler = _HANDLERS.get(tag)
    if handler is None:
        raise DecodeError(f"unknown data type tag 0x{tag:02x}", pos)
    return handler(buf, pos, end, depth)


def _decode_container(
    buf: bytes, pos: int, end: int, depth: int, tag: int
) -> tuple[Array | Structure, int]:
    """Decode an array (tag 1) or a structure (tag 2) whose tag is at ``pos``."""
    if depth <= 0:
        raise DecodeError("arrays and structures nest deeper than max_depth allows", pos)
    count, pos = _read_length(buf, pos + 1, end, "an element count")
    if count > end - pos:  # every element takes at least its tag byte
        raise DecodeError(
            f"{_TAG_NAMES[tag]} declares {count} elements but only {end - pos} bytes remain", pos
        )
    if tag == 1 and count >= _TEMPLATE_MIN_ROWS:
        items, pos = _decode_rows(buf, pos, end, count, depth - 1)
        return Array(items), pos
    items, pos = _decode_sequence(buf, pos, end, count, depth - 1)
    return (Array(items) if tag == 1 else Structure(items)), pos


def _decode_sequence(
    buf: bytes, pos: int, end: int, count: int, depth: int
) -> tuple[list[Any], int]:
    """Decode ``count`` tagged values; return them and the offset after the last one.

    The common fixed-width types and short octet strings are decoded inline: this loop is
    what a profile buffer of thousands of rows spends its time in.
    """
    items: list[Any] = []
    append = items.append
    fixed_table = _FIXED
    for _ in range(count):
        if pos >= end:
            raise DecodeError("truncated: expected a data type tag", pos)
        tag = buf[pos]
        fixed = fixed_table[tag]
        if fixed is not None:
            unpack, width, cls = fixed
            nxt = pos + 1 + width
            if nxt > end:
                raise _truncated(tag, pos, 1 + width, end)
            append(_new_int(cls, unpack(buf, pos + 1)[0]))
            pos = nxt
        elif tag == 9 and pos + 1 < end and buf[pos + 1] < 0x80:
            nxt = pos + 2 + buf[pos + 1]
            if nxt > end:
                raise _truncated(tag, pos, nxt - pos, end)
            append(_new_bytes(OctetString, buf[pos + 2 : nxt]))
            pos = nxt
        elif tag == 2 or tag == 1:
            container, pos = _decode_container(buf, pos, end, depth, tag)
            append(container)
        else:
            value, pos = _decode(buf, pos, end, depth)
            append(value)
    return items, pos


# Arrays of flat structures (profile buffers, object lists' rows, HAN lists) repeat one byte
# layout row after row: the same tags, the same octet-string lengths. _decode_rows learns the
# layout from one row, then checks a run of following rows at once (the bytes at one offset
# of every row are one strided slice: a tag or a length that differs stops the run there)
# and unpacks the run with struct.iter_unpack, making the typed values column by column with
# map() — no Python code runs per row. A row that differs goes to the general decoder and
# the layout is learnt again from the next one.
_TEMPLATE_MIN_ROWS = 4
_TEMPLATE_LEARNINGS = 8
"""Times a buffer's row layout is learnt at most (a layout change, a null timestamp row)."""
_FIRST_RUN = 16
_LONGEST_RUN = 4096
"""Rows checked at once: a run starts at _FIRST_RUN rows and doubles while every row matches
(so checking never looks at more than about twice the bytes it decodes), up to this many."""


class _RowTemplate:
    __slots__ = ("checks", "classes", "size", "unpack_rows")

    def __init__(self, buf: bytes, pos: int, end: int) -> None:
        if pos + 1 >= end or buf[pos] != 2 or buf[pos + 1] >= 0x80:
            raise _NoTemplate
        cursor = pos + 2
        fmt = ">2x"
        positions = [0, 1]
        classes: list[type] = []
        for _ in range(buf[pos + 1]):
            if cursor >= end:
                raise _NoTemplate
            tag = buf[cursor]
            fixed = _FIXED[tag]
            if fixed is not None:
                positions.append(cursor - pos)
                fmt += "x" + fixed[2].struct_format[1:]
                classes.append(fixed[2])
                cursor += 1 + fixed[1]
            elif tag == 9 and cursor + 1 < end and buf[cursor + 1] < 0x80:
                positions += (cursor - pos, cursor + 1 - pos)
                fmt += f"2x{buf[cursor + 1]}s"
                classes.append(OctetString)
                cursor += 2 + buf[cursor + 1]
            elif tag == 25:  # date-time: 12 bytes, a DateTime (profile capture times)
                positions.append(cursor - pos)
                fmt += "x12s"
                classes.append(DateTime)
                cursor += 13
            else:
                raise _NoTemplate
        if cursor > end:
            raise _NoTemplate
        self.size = cursor - pos
        # (offset in the row, the byte there as a one-byte bytes): the tags, lengths, header
        self.checks = tuple((offset, buf[pos + offset : pos + offset + 1]) for offset in positions)
        self.classes = tuple(classes)
        self.unpack_rows = struct.Struct(fmt).iter_unpack

    def matching_rows(self, buf: bytes, pos: int, end: int, most: int) -> int:
        """How many rows from ``pos`` on (at most ``most``) have this layout."""
        size = self.size
        rows = min(most, (end - pos) // size)
        for offset, byte in self.checks:
            if rows == 0:
                break
            column = buf[pos + offset : pos + offset + rows * size : size]
            rest = column.lstrip(byte)  # empty when every row has the byte at this offset
            if rest:
                rows -= len(rest)
        return rows

    def build_rows(self, buf: bytes, pos: int, rows: int) -> list[Any]:
        """The Structures of ``rows`` rows from ``pos`` on, checked by matching_rows."""
        unpacked = self.unpack_rows(memoryview(buf)[pos : pos + rows * self.size])
        if not self.classes:
            return [_new_tuple(Structure, ()) for _ in unpacked]
        columns: list[Any] = []
        for cls, raw in zip(self.classes, zip(*unpacked, strict=True), strict=True):
            if cls is DateTime:
                values = list(map(_new_object, repeat(DateTime, rows)))
                _consume(map(_SET_DATE_TIME_OCTETS, values, raw))
                columns.append(values)
            elif cls is OctetString:
                columns.append(map(_new_bytes, repeat(OctetString, rows), raw))
            else:
                columns.append(map(_new_int, repeat(cls, rows), raw))
        return list(map(_new_tuple, repeat(Structure, rows), zip(*columns, strict=True)))


_new_object = object.__new__
_SET_DATE_TIME_OCTETS = DATE_TIME_OCTETS.__set__
_consume: Callable[[Iterable[object]], None] = deque[object](maxlen=0).extend
"""Run an iterator to its end (the map of a setter) at C speed."""


class _NoTemplate(Exception):
    pass


def _decode_rows(buf: bytes, pos: int, end: int, count: int, depth: int) -> tuple[list[Any], int]:
    """Decode ``count`` array elements, fast when they are flat structures of one layout."""
    if depth <= 0 or pos >= end or buf[pos] != 2 or pos + 1 >= end or buf[pos + 1] >= 0x80:
        return _decode_sequence(buf, pos, end, count, depth)
    rows: list[Any] = []
    template: _RowTemplate | None = None
    learnings = 0  # a layout that cannot be templated is not tried again row after row
    run = _FIRST_RUN
    while len(rows) < count:
        if template is None and learnings < _TEMPLATE_LEARNINGS:
            learnings += 1
            run = _FIRST_RUN
            with contextlib.suppress(_NoTemplate):
                template = _RowTemplate(buf, pos, end)
        if template is not None:
            most = min(run, count - len(rows))
            matched = template.matching_rows(buf, pos, end, most)
            if matched:
                rows += template.build_rows(buf, pos, matched)
                pos += matched * template.size
                if matched == most:
                    run = min(run * 2, _LONGEST_RUN)
                    continue
            template = None  # the next row differs
            if len(rows) == count:
                break
        one, pos = _decode_sequence(buf, pos, end, 1, depth)
        rows.append(one[0])
    return rows, pos


def _decode_null(buf: bytes, pos: int, end: int, depth: int) -> tuple[DlmsValue, int]:
    return None, pos + 1


def _decode_dont_care(buf: bytes, pos: int, end: int, depth: int) -> tuple[DlmsValue, int]:
    return DONT_CARE, pos + 1


def _decode_boolean(buf: bytes, pos: int, end: int, depth: int) -> tuple[DlmsValue, int]:
    if pos + 2 > end:
        raise _truncated(3, pos, 2, end)
    return buf[pos + 1] != 0, pos + 2


def _decode_bit_string(buf: bytes, pos: int, end: int, depth: int) -> tuple[DlmsValue, int]:
    bits, start = _read_length(buf, pos + 1, end, "a bit-string length")
    size = (bits + 7) >> 3
    if start + size > end:
        raise _truncated(4, pos, start + size - pos, end)
    return BitString(buf[start : start + size], bits), start + size


def _string_bytes(buf: bytes, pos: int, end: int, tag: int) -> tuple[bytes, int]:
    length, start = _read_length(buf, pos + 1, end, f"a {_TAG_NAMES[tag]} length")
    if start + length > end:
        raise _truncated(tag, pos, start + length - pos, end)
    return buf[start : start + length], start + length


def _decode_visible_string(buf: bytes, pos: int, end: int, depth: int) -> tuple[DlmsValue, int]:
    raw, pos = _string_bytes(buf, pos, end, 10)
    return _new_str(VisibleString, raw.decode("latin-1")), pos


def _decode_utf8_string(buf: bytes, pos: int, end: int, depth: int) -> tuple[DlmsValue, int]:
    raw, pos = _string_bytes(buf, pos, end, 12)
    return _new_str(Utf8String, raw.decode("utf-8", "surrogateescape")), pos


def _decode_float32(buf: bytes, pos: int, end: int, depth: int) -> tuple[DlmsValue, int]:
    if pos + 5 > end:
        raise _truncated(23, pos, 5, end)
    value = _FLOAT32.unpack_from(buf, pos + 1)[0]
    raw = buf[pos + 1 : pos + 5] if value != value else None  # NaN: keep the exact bits
    return Float32(value, raw), pos + 5


def _decode_float64(buf: bytes, pos: int, end: int, depth: int) -> tuple[DlmsValue, int]:
    if pos + 9 > end:
        raise _truncated(24, pos, 9, end)
    return Float64(_FLOAT64.unpack_from(buf, pos + 1)[0]), pos + 9


def _clock_decoder(
    tag: int, cls: type[DateTime] | type[Date] | type[Time], width: int
) -> Callable[[bytes, int, int, int], tuple[DlmsValue, int]]:
    def decode_clock(buf: bytes, pos: int, end: int, depth: int) -> tuple[DlmsValue, int]:
        if pos + 1 + width > end:
            raise _truncated(tag, pos, 1 + width, end)
        return cls.from_bytes(buf[pos + 1 : pos + 1 + width]), pos + 1 + width

    return decode_clock


def _decode_compact_array(buf: bytes, pos: int, end: int, depth: int) -> tuple[DlmsValue, int]:
    if depth <= 0:
        raise DecodeError("compact-array nests deeper than max_depth allows", pos)
    description, start = _read_type_description(buf, pos + 1, end, depth - 1)
    width = _minimum_width(description)
    if width == 0:
        raise DecodeError(
            "compact-array element type has no content (null-data or empty), so its "
            "elements cannot be delimited",
            pos + 1,
        )
    length, start = _read_length(buf, start, end, "a compact-array contents length")
    stop = start + length
    if stop > end:
        raise _truncated(19, pos, stop - pos, end)
    # Tagged values take at least one byte each; a compact-array's elements are untagged and
    # a type description can make one content byte stand for many values (an array of 65535
    # empty structures beside a boolean). Refuse, before decoding, any compact-array that
    # could yield more values than MAX_VALUES_PER_BYTE per byte it occupies.
    # any content byte left starts an element, which is decoded whole before a truncation
    # shows, so the elements count rounded up
    per_element = _value_count(description)
    most = -(-length // width) * per_element
    if most > MAX_VALUES_PER_BYTE * (stop - pos):
        raise DecodeError(
            f"compact-array could decode {most} values from {stop - pos} bytes: its element "
            f"type makes {per_element} values of at least {width} content bytes, more than "
            f"the {MAX_VALUES_PER_BYTE} values per input byte a decoder accepts "
            "(an amplification, refused before decoding)",
            pos + 1,
        )
    elements: list[DlmsValue] = []
    cursor = start
    while cursor < stop:
        value, cursor = _decode_untagged(buf, cursor, stop, description)
        elements.append(value)
    return CompactArray(description, tuple(elements)), stop


def _read_type_description(
    buf: bytes, pos: int, end: int, depth: int
) -> tuple[TypeDescription, int]:
    if pos >= end:
        raise DecodeError("truncated: expected a compact-array type description", pos)
    tag = buf[pos]
    if tag == 1:
        if depth <= 0:
            raise DecodeError("type description nests deeper than max_depth allows", pos)
        if pos + 3 > end:
            raise DecodeError("truncated: expected an array type description", pos)
        count = int.from_bytes(buf[pos + 1 : pos + 3], "big")
        element, pos = _read_type_description(buf, pos + 3, end, depth - 1)
        return TypeDescription(DataType.ARRAY, (element,), count), pos
    if tag == 2:
        if depth <= 0:
            raise DecodeError("type description nests deeper than max_depth allows", pos)
        count, pos = _read_length(buf, pos + 1, end, "a structure description count")
        if count > end - pos:
            raise DecodeError(
                f"structure description declares {count} members but only {end - pos} bytes remain",
                pos,
            )
        members = []
        for _ in range(count):
            member, pos = _read_type_description(buf, pos, end, depth - 1)
            members.append(member)
        return TypeDescription(DataType.STRUCTURE, tuple(members)), pos
    if tag in (0, 19, 255) or tag not in _TAG_NAMES:
        raise DecodeError(f"data type 0x{tag:02x} cannot describe compact-array elements", pos)
    return TypeDescription(DataType(tag)), pos + 1


_SIMPLE_WIDTHS = {3: 1, 23: 4, 24: 8, 25: 12, 26: 5, 27: 4}


def _minimum_width(description: TypeDescription) -> int:
    tag = description.data_type
    if tag == DataType.ARRAY:
        return description.number_of_elements * _minimum_width(description.elements[0])
    if tag == DataType.STRUCTURE:
        return sum(_minimum_width(member) for member in description.elements)
    fixed = _FIXED[tag]
    if fixed is not None:
        return fixed[1]
    if tag in (DataType.OCTET_STRING, DataType.VISIBLE_STRING, DataType.UTF8_STRING):
        return 1
    if tag == DataType.BIT_STRING:
        return 1
    return _SIMPLE_WIDTHS.get(tag, 0)


def _value_count(description: TypeDescription) -> int:
    """How many values one element of this type decodes into, itself included."""
    tag = description.data_type
    if tag == DataType.ARRAY:
        return 1 + description.number_of_elements * _value_count(description.elements[0])
    if tag == DataType.STRUCTURE:
        return 1 + sum(_value_count(member) for member in description.elements)
    return 1


def _decode_untagged(
    buf: bytes, pos: int, end: int, description: TypeDescription
) -> tuple[DlmsValue, int]:
    """Decode one value of a compact-array's contents: no tag, type from the description."""
    tag = description.data_type
    if tag == DataType.STRUCTURE:
        members = []
        for member in description.elements:
            value, pos = _decode_untagged(buf, pos, end, member)
            members.append(value)
        return _new_tuple(Structure, members), pos
    if tag == DataType.ARRAY:
        element = description.elements[0]
        items = []
        for _ in range(description.number_of_elements):
            value, pos = _decode_untagged(buf, pos, end, element)
            items.append(value)
        return _new_tuple(Array, items), pos
    # Reuse the tagged decoders on a virtual tag: they only read from pos + 1 on.
    fixed = _FIXED[tag]
    if fixed is not None:
        unpack, width, cls = fixed
        if pos + width > end:
            raise _truncated(tag, pos, width, end)
        return _new_int(cls, unpack(buf, pos)[0]), pos + width
    if tag == DataType.OCTET_STRING:
        raw, pos = _string_bytes(buf, pos - 1, end, 9)
        return _new_bytes(OctetString, raw), pos
    handler = _HANDLERS[tag]
    return handler(buf, pos - 1, end, 0)


_HANDLERS: dict[int, Callable[[bytes, int, int, int], tuple[DlmsValue, int]]] = {
    0: _decode_null,
    3: _decode_boolean,
    4: _decode_bit_string,
    10: _decode_visible_string,
    12: _decode_utf8_string,
    19: _decode_compact_array,
    23: _decode_float32,
    24: _decode_float64,
    25: _clock_decoder(25, DateTime, 12),
    26: _clock_decoder(26, Date, 5),
    27: _clock_decoder(27, Time, 4),
    255: _decode_dont_care,
}


# ---------------------------------------------------------------------------------------------
# Encoding


def encode(value: object, *, max_depth: int = DEFAULT_MAX_DEPTH) -> bytes:
    """Encode one value as A-XDR ``Data`` (tag, then contents).

    Typed values (see :mod:`asyncdlms.types.values`) encode as their own type. Plain values:
    ``None`` null-data, ``bool`` boolean, ``int`` double-long (long64 or long64-unsigned when
    it does not fit), ``float`` float64, ``str`` visible-string (utf8-string when not ASCII),
    ``bytes``/``bytearray`` octet-string, ``list`` array, ``tuple`` structure, an
    :class:`~asyncdlms.Obis` octet-string(6), ``datetime.datetime``/``date``/``time``
    octet-string(12/5/4) in the COSEM clock format (the form Clock and profile attributes use).
    Anything else raises :class:`EncodeError`.
    """
    out = bytearray()
    _encode_into(out, value, max_depth)
    return bytes(out)


def _encode_into(out: bytearray, value: object, depth: int) -> None:
    kind = type(value)
    packer = _PACKERS.get(kind)
    if packer is not None:
        out.append(kind.data_type)  # type: ignore[attr-defined]
        out += packer(value)
        return
    encoder = _ENCODERS.get(kind)
    if encoder is None:
        encoder = _encoder_for_subclass(value)
    encoder(out, value, depth)


def _encoder_for_subclass(value: object) -> Callable[[bytearray, Any, int], None]:
    if isinstance(value, TypedInteger):
        return _encode_typed_integer
    for base, encoder in _ENCODERS.items():
        if isinstance(value, base):
            return encoder
    raise EncodeError(f"cannot encode a {type(value).__name__} as DLMS data: {value!r:.80}")


def _encode_typed_integer(out: bytearray, value: TypedInteger, depth: int) -> None:
    out.append(value.data_type)
    out += struct.pack(value.struct_format, value)


def _encode_none(out: bytearray, value: None, depth: int) -> None:
    out.append(0)


def _encode_bool(out: bytearray, value: bool, depth: int) -> None:
    out += b"\x03\x01" if value else b"\x03\x00"


def _encode_int(out: bytearray, value: int, depth: int) -> None:
    for cls in (DoubleLong, Long64, Long64Unsigned):
        if cls.minimum <= value <= cls.maximum:
            out.append(cls.data_type)
            out += struct.pack(cls.struct_format, value)
            return
    raise EncodeError(f"{value} does not fit in any DLMS integer type")


def _encode_float(out: bytearray, value: float, depth: int) -> None:
    out.append(24)
    out += _FLOAT64.pack(value)


def _encode_float32(out: bytearray, value: Float32, depth: int) -> None:
    out.append(23)
    out += value.raw if value.raw is not None else _FLOAT32.pack(value)


def _encode_bytes(out: bytearray, value: bytes, depth: int) -> None:
    out.append(9)
    out += encode_length(len(value))
    out += value


def _encode_str(out: bytearray, value: str, depth: int) -> None:
    if value.isascii():
        _encode_visible_string(out, value, depth)
    else:
        _encode_utf8_string(out, value, depth)


def _encode_visible_string(out: bytearray, value: str, depth: int) -> None:
    try:
        raw = value.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise EncodeError(
            f"visible-string holds single-byte characters only; {value!r:.40} has "
            f"{value[exc.start]!r} (use Utf8String)"
        ) from None
    out.append(10)
    out += encode_length(len(raw))
    out += raw


def _encode_utf8_string(out: bytearray, value: str, depth: int) -> None:
    raw = value.encode("utf-8", "surrogateescape")
    out.append(12)
    out += encode_length(len(raw))
    out += raw


def _encode_bit_string(out: bytearray, value: BitString, depth: int) -> None:
    out.append(4)
    out += encode_length(value.length)
    out += value.data


def _sequence_encoder(tag: int) -> Callable[[bytearray, Any, int], None]:
    def encode_sequence(out: bytearray, value: list[object] | tuple[object, ...], depth: int):  # type: ignore[no-untyped-def]
        if depth <= 0:
            raise EncodeError("arrays and structures nest deeper than max_depth allows")
        out.append(tag)
        out += encode_length(len(value))
        for item in value:
            _encode_into(out, item, depth - 1)

    return encode_sequence


def _clock_encoder(tag: int) -> Callable[[bytearray, Any, int], None]:
    def encode_clock(out: bytearray, value: DateTime | Date | Time, depth: int) -> None:
        out.append(tag)
        out += value.to_bytes()

    return encode_clock


def _encode_python_datetime(out: bytearray, value: _dt.datetime, depth: int) -> None:
    _encode_bytes(out, DateTime.from_datetime(value).to_bytes(), depth)


def _encode_python_date(out: bytearray, value: _dt.date, depth: int) -> None:
    _encode_bytes(out, Date.from_date(value).to_bytes(), depth)


def _encode_python_time(out: bytearray, value: _dt.time, depth: int) -> None:
    _encode_bytes(out, Time.from_time(value).to_bytes(), depth)


def _encode_dont_care(out: bytearray, value: DontCare, depth: int) -> None:
    out.append(255)


def _encode_type_description(out: bytearray, description: TypeDescription) -> None:
    out.append(description.data_type)
    if description.data_type == DataType.ARRAY:
        out += description.number_of_elements.to_bytes(2, "big")
        _encode_type_description(out, description.elements[0])
    elif description.data_type == DataType.STRUCTURE:
        out += encode_length(len(description.elements))
        for member in description.elements:
            _encode_type_description(out, member)


def _encode_untagged(out: bytearray, value: object, description: TypeDescription) -> None:
    tag = description.data_type
    if tag == DataType.STRUCTURE or tag == DataType.ARRAY:
        if not isinstance(value, list | tuple):
            raise EncodeError(f"compact-array element {value!r:.40} is not a {tag.name.lower()}")
        members = (
            description.elements
            if tag == DataType.STRUCTURE
            else description.elements * description.number_of_elements
        )
        if len(value) != len(members):
            raise EncodeError(
                f"compact-array element has {len(value)} members, its type description "
                f"{len(members)} members"
            )
        for item, member in zip(value, members, strict=True):
            _encode_untagged(out, item, member)
        return
    tagged = bytearray()
    integer_cls = INTEGER_TYPES.get(tag)
    if integer_cls is not None and isinstance(value, int) and not isinstance(value, bool):
        value = integer_cls(value)
    elif tag == DataType.OCTET_STRING and isinstance(value, bytes | bytearray):
        value = OctetString(value)
    elif tag == DataType.VISIBLE_STRING and isinstance(value, str):
        value = VisibleString(value)
    elif tag == DataType.UTF8_STRING and isinstance(value, str):
        value = Utf8String(value)
    elif tag == DataType.FLOAT32 and isinstance(value, float) and not isinstance(value, Float32):
        value = Float32(value)
    elif tag == DataType.FLOAT64 and isinstance(value, float):
        value = Float64(value)
    _encode_into(tagged, value, 1)
    if tagged[0] != tag:
        raise EncodeError(
            f"compact-array element {value!r:.40} is a {_TAG_NAMES[tagged[0]]}, its type "
            f"description says {_TAG_NAMES[tag]}"
        )
    out += memoryview(tagged)[1:]


def _encode_compact_array(out: bytearray, value: CompactArray, depth: int) -> None:
    if _minimum_width(value.type_description) == 0:
        raise EncodeError("compact-array element type has no content (null-data or empty)")
    values = len(value.elements) * _value_count(value.type_description)
    contents = bytearray()
    for element in value.elements:
        _encode_untagged(contents, element, value.type_description)
    description = bytearray()
    _encode_type_description(description, value.type_description)
    size = 1 + len(description) + len(encode_length(len(contents))) + len(contents)
    if values > MAX_VALUES_PER_BYTE * size:
        raise EncodeError(
            f"compact-array of {values} values in {size} bytes: more than the "
            f"{MAX_VALUES_PER_BYTE} values per byte a decoder accepts (asyncdlms refuses it "
            "as an amplification); send these elements as an array of structures"
        )
    out.append(19)
    out += description
    out += encode_length(len(contents))
    out += contents


def _encode_obis(out: bytearray, value: Any, depth: int) -> None:
    _encode_bytes(out, bytes(value), depth)


_ENCODERS: dict[type, Callable[[bytearray, Any, int], None]] = {
    type(None): _encode_none,
    bool: _encode_bool,
    OctetString: _encode_bytes,
    Array: _sequence_encoder(1),
    Structure: _sequence_encoder(2),
    VisibleString: _encode_visible_string,
    Utf8String: _encode_utf8_string,
    Float32: _encode_float32,
    Float64: _encode_float,
    BitString: _encode_bit_string,
    DateTime: _clock_encoder(25),
    Date: _clock_encoder(26),
    Time: _clock_encoder(27),
    CompactArray: _encode_compact_array,
    DontCare: _encode_dont_care,
    # plain Python values; the order matters for subclasses (datetime before date, bool first)
    int: _encode_int,
    float: _encode_float,
    str: _encode_str,
    bytes: _encode_bytes,
    bytearray: _encode_bytes,
    memoryview: _encode_bytes,
    list: _sequence_encoder(1),
    tuple: _sequence_encoder(2),
    _dt.datetime: _encode_python_datetime,
    _dt.date: _encode_python_date,
    _dt.time: _encode_python_time,
}


def _register_obis() -> None:
    from .obis import Obis

    _ENCODERS[Obis] = _encode_obis


_register_obis()


# ---------------------------------------------------------------------------------------------
# Human-readable form


def describe(value: object, indent: str = "") -> str:
    """A readable, indented multi-line rendering of a decoded value with its DLMS types.

    Octet strings of 6 bytes are also shown as OBIS codes and of 12 bytes as date-times,
    since that is what they almost always are in COSEM data.
    """
    lines: list[str] = []
    _describe(value, indent, lines)
    return "\n".join(lines)


def _type_name(value: object) -> str:
    data_type = getattr(value, "data_type", None)
    if isinstance(data_type, DataType):
        return data_type.name.lower().replace("_", "-")
    if value is None:
        return "null-data"
    if isinstance(value, bool):
        return "boolean"
    return type(value).__name__


def _describe(value: object, indent: str, lines: list[str]) -> None:
    name = _type_name(value)
    if isinstance(value, Array | Structure | list | tuple):
        lines.append(f"{indent}{name}[{len(value)}]")
        for item in value:
            _describe(item, indent + "  ", lines)
    elif isinstance(value, CompactArray):
        lines.append(f"{indent}{name}[{len(value.elements)}] of {value.type_description}")
        for item in value.elements:
            _describe(item, indent + "  ", lines)
    elif isinstance(value, bytes):
        text = f"{indent}{name}({len(value)}) {value.hex()}"
        if len(value) == 6:
            text += f"  = OBIS {value[0]}.{value[1]}.{value[2]}.{value[3]}.{value[4]}.{value[5]}"
        elif len(value) == 12:
            text += f"  = date-time {DateTime.from_bytes(value)}"
        elif value and all(32 <= b < 127 for b in value):
            text += f"  = {value.decode('ascii')!r}"
        lines.append(text)
    elif value is None:
        lines.append(f"{indent}null-data")
    elif isinstance(value, str):
        lines.append(f"{indent}{name} {str.__repr__(value)}")
    elif isinstance(value, float):
        lines.append(f"{indent}{name} {float(value)!r}")
    elif isinstance(value, int):
        lines.append(f"{indent}{name} {int(value)}")
    else:
        lines.append(f"{indent}{name} {value}")
