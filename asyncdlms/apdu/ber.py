"""The small subset of BER (ITU-T X.690) that the DLMS ACSE PDUs use.

AARQ, AARE, RLRQ and RLRE are BER-encoded: nested tag/length/value elements with context
tags, OBJECT IDENTIFIERs for the application context and mechanism names, BIT STRINGs for
the protocol version and the ACSE requirements, integers, octet strings and GraphicStrings.

Decoding is bounded: every declared length is checked against the bytes that remain before
anything is sliced, lengths use at most 4 bytes, the indefinite form is refused, and
multi-byte tags are at most 4 bytes long. Bad input raises
:class:`asyncdlms.errors.DecodeError` with the offset and what was expected.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..errors import DecodeError, EncodeError

__all__ = [
    "TAG_BIT_STRING",
    "TAG_GRAPHIC_STRING",
    "TAG_INTEGER",
    "TAG_OBJECT_IDENTIFIER",
    "TAG_OCTET_STRING",
    "Element",
    "decode_bit_string",
    "decode_integer",
    "decode_length",
    "decode_object_identifier",
    "encode_bit_string",
    "encode_element",
    "encode_integer",
    "encode_length",
    "encode_object_identifier",
    "encode_tag",
    "iterate_elements",
    "read_element",
]

# Universal tags (class universal, primitive).
TAG_INTEGER = 0x02
TAG_BIT_STRING = 0x03
TAG_OCTET_STRING = 0x04
TAG_OBJECT_IDENTIFIER = 0x06
TAG_GRAPHIC_STRING = 0x19

_MAX_TAG_BYTES = 4
_MAX_LENGTH_BYTES = 4


@dataclass(frozen=True, slots=True)
class Element:
    """One decoded BER element: its tag (all tag bytes as one big-endian integer, e.g. 0xBE
    or 0x5F1F), where it starts, and the bounds of its contents in the input."""

    tag: int
    start: int
    value_start: int
    value_end: int

    @property
    def constructed(self) -> bool:
        """True when the constructed bit (0x20) of the first tag byte is set."""
        first = self.tag
        while first > 0xFF:
            first >>= 8
        return bool(first & 0x20)

    def value(self, data: bytes) -> bytes:
        """The contents octets of this element in ``data``."""
        return data[self.value_start : self.value_end]


def encode_tag(tag: int) -> bytes:
    """Encode a tag given as the big-endian integer of its bytes (0x80, 0xBE, 0x5F1F...)."""
    if tag < 0:
        raise EncodeError(f"a BER tag cannot be negative: {tag}")
    return tag.to_bytes(max(1, (tag.bit_length() + 7) // 8), "big")


def encode_length(length: int) -> bytes:
    """Encode a BER length in its shortest definite form (short form below 128)."""
    if length < 0:
        raise EncodeError(f"a BER length cannot be negative: {length}")
    if length < 0x80:
        return bytes((length,))
    size = (length.bit_length() + 7) // 8
    if size > _MAX_LENGTH_BYTES:
        raise EncodeError(f"a BER length of {length} does not fit in {_MAX_LENGTH_BYTES} bytes")
    return bytes((0x80 | size,)) + length.to_bytes(size, "big")


def encode_element(tag: int, value: bytes) -> bytes:
    """Encode one tag/length/value element."""
    return encode_tag(tag) + encode_length(len(value)) + value


def decode_length(data: bytes, offset: int, end: int | None = None) -> tuple[int, int]:
    """Decode a BER length at ``offset``; return ``(length, offset after the length)``.

    The length itself is not checked against the input here (see :func:`read_element`).
    """
    if end is None:
        end = len(data)
    if offset >= end:
        raise DecodeError("truncated: expected a BER length", offset)
    first = data[offset]
    if first < 0x80:
        return first, offset + 1
    size = first & 0x7F
    if size == 0:
        raise DecodeError("BER indefinite length form (0x80) is not used by DLMS", offset)
    if size > _MAX_LENGTH_BYTES:
        raise DecodeError(f"BER length with {size} length bytes (at most 4 expected)", offset)
    if offset + 1 + size > end:
        raise DecodeError(f"truncated: BER length announces {size} length bytes", offset)
    return int.from_bytes(data[offset + 1 : offset + 1 + size], "big"), offset + 1 + size


def _decode_tag(data: bytes, offset: int, end: int) -> tuple[int, int]:
    if offset >= end:
        raise DecodeError("truncated: expected a BER tag", offset)
    first = data[offset]
    pos = offset + 1
    tag = first
    if first & 0x1F == 0x1F:  # high tag number form: more bytes while bit 8 is set
        while True:
            if pos >= end:
                raise DecodeError("truncated: BER tag continues past the end", offset)
            byte = data[pos]
            tag = (tag << 8) | byte
            pos += 1
            if not byte & 0x80:
                break
            if pos - offset >= _MAX_TAG_BYTES:
                raise DecodeError(f"BER tag longer than {_MAX_TAG_BYTES} bytes", offset)
    return tag, pos


def read_element(data: bytes, offset: int = 0, end: int | None = None) -> Element:
    """Read the element starting at ``offset``; its contents must end at or before ``end``."""
    if end is None:
        end = len(data)
    tag, pos = _decode_tag(data, offset, end)
    length, pos = decode_length(data, pos, end)
    if length > end - pos:
        raise DecodeError(
            f"BER element 0x{tag:02x} declares {length} bytes of contents, only {end - pos} left",
            offset,
        )
    return Element(tag, offset, pos, pos + length)


def iterate_elements(data: bytes, start: int, end: int) -> Iterator[Element]:
    """Yield the consecutive elements between ``start`` and ``end`` (a constructed value)."""
    pos = start
    while pos < end:
        element = read_element(data, pos, end)
        yield element
        pos = element.value_end


def encode_integer(value: int) -> bytes:
    """Encode the contents of a BER INTEGER (two's complement, shortest form)."""
    size = max(1, (value + (value < 0)).bit_length() // 8 + 1)
    return value.to_bytes(size, "big", signed=True)


def decode_integer(data: bytes, element: Element, max_bytes: int = 8) -> int:
    """Decode the contents of an INTEGER element (at most ``max_bytes`` long)."""
    size = element.value_end - element.value_start
    if size == 0:
        raise DecodeError("empty BER INTEGER", element.value_start)
    if size > max_bytes:
        raise DecodeError(f"BER INTEGER of {size} bytes (at most {max_bytes})", element.start)
    return int.from_bytes(element.value(data), "big", signed=True)


def encode_object_identifier(arcs: tuple[int, ...]) -> bytes:
    """Encode the contents of an OBJECT IDENTIFIER (at least two arcs)."""
    if len(arcs) < 2 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] > 39) or min(arcs) < 0:
        raise EncodeError(f"not a valid object identifier: {arcs}")
    out = bytearray()
    for arc in (arcs[0] * 40 + arcs[1], *arcs[2:]):
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    return bytes(out)


def decode_object_identifier(data: bytes, element: Element) -> tuple[int, ...]:
    """Decode the contents of an OBJECT IDENTIFIER element into its arcs."""
    if element.value_end == element.value_start:
        raise DecodeError("empty OBJECT IDENTIFIER", element.value_start)
    values: list[int] = []
    current = 0
    digits = 0
    for pos in range(element.value_start, element.value_end):
        byte = data[pos]
        if digits == 0 and byte == 0x80:
            raise DecodeError("OBJECT IDENTIFIER arc with a leading 0x80 byte", pos)
        current = (current << 7) | (byte & 0x7F)
        digits += 1
        if digits > 5:
            raise DecodeError("OBJECT IDENTIFIER arc longer than 5 bytes", pos)
        if not byte & 0x80:
            values.append(current)
            current = 0
            digits = 0
    if digits:
        raise DecodeError("OBJECT IDENTIFIER ends inside an arc", element.value_end)
    first = values[0]
    head = (0, first) if first < 40 else (1, first - 40) if first < 80 else (2, first - 80)
    return (*head, *values[1:])


def encode_bit_string(bits: tuple[bool, ...]) -> bytes:
    """Encode the contents of a BIT STRING: the unused-bit count, then the bits, first bit
    in the most significant position of the first byte."""
    size = (len(bits) + 7) // 8
    value = 0
    for index, bit in enumerate(bits):
        if bit:
            value |= 0x80 >> (index % 8) << (8 * (size - 1 - index // 8))
    return bytes((size * 8 - len(bits),)) + value.to_bytes(size, "big")


def decode_bit_string(data: bytes, element: Element) -> tuple[bool, ...]:
    """Decode the contents of a BIT STRING element into its bits (first bit first)."""
    if element.value_end == element.value_start:
        raise DecodeError("empty BIT STRING (no unused-bits byte)", element.value_start)
    unused = data[element.value_start]
    size = element.value_end - element.value_start - 1
    if unused > 7 or (size == 0 and unused):
        raise DecodeError(f"BIT STRING with {unused} unused bits", element.value_start)
    bits: list[bool] = []
    for pos in range(element.value_start + 1, element.value_end):
        byte = data[pos]
        bits.extend(bool(byte & (0x80 >> index)) for index in range(8))
    return tuple(bits[: len(bits) - unused])
