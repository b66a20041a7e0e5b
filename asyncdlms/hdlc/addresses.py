"""HDLC addresses (IEC 62056-46 clause 6.4.2.2).

An HDLC address field is 1, 2 or 4 bytes long. The least significant bit of every byte is
the extension bit: 0 means "another address byte follows", 1 marks the last byte. The other
seven bits of each byte carry the address, most significant part first.

- A client address is always one byte: the client's logical address (7 bits).
- A server address has an upper part, the logical device address, and an optional lower
  part, the physical device address: 1 byte (upper only, 7 bits), 2 bytes (7 + 7 bits) or
  4 bytes (14 + 14 bits).

Meters do not always answer with the address length they were addressed with (quirk 1),
so compare stations with :meth:`HdlcAddress.same_station`, not with ``==``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import DecodeError

__all__ = [
    "ALL_STATION",
    "DEFAULT_SERIAL_NUMBER_FORMULA",
    "HdlcAddress",
    "decode_address",
    "physical_address_from_serial_number",
    "server_address_from_serial_number",
]

#: Broadcast ("all-station") value of a 7-bit address part.
ALL_STATION = 0x7F

#: The formula meters (and Gurux) use by default to derive a physical address from a serial.
DEFAULT_SERIAL_NUMBER_FORMULA = "SN % 10000 + 1000"

_VALID_LENGTHS = (1, 2, 4)


@dataclass(frozen=True, slots=True)
class HdlcAddress:
    """One HDLC address: a logical part, an optional physical part and its encoded length.

    ``length`` is the number of bytes on the wire (1, 2 or 4). With ``length == 1`` there is
    no physical part (``physical is None``); with 2 bytes each part has 7 bits, with 4 bytes
    14 bits. Use :meth:`client` and :meth:`server` to build addresses without choosing the
    length by hand.
    """

    logical: int
    physical: int | None = None
    length: int = 1

    def __post_init__(self) -> None:
        if self.length not in _VALID_LENGTHS:
            raise ValueError(f"HDLC address length must be 1, 2 or 4 bytes, not {self.length}")
        bits = 7 if self.length <= 2 else 14
        limit = 1 << bits
        if not 0 <= self.logical < limit:
            raise ValueError(
                f"logical address {self.logical} does not fit in {bits} bits "
                f"(address length {self.length})"
            )
        if self.length == 1:
            if self.physical is not None:
                raise ValueError("a 1-byte HDLC address has no physical part; use length 2 or 4")
        elif self.physical is None:
            raise ValueError(f"a {self.length}-byte HDLC address needs a physical part")
        elif not 0 <= self.physical < limit:
            raise ValueError(
                f"physical address {self.physical} does not fit in {bits} bits "
                f"(address length {self.length})"
            )

    @classmethod
    def client(cls, logical: int) -> HdlcAddress:
        """The 1-byte address of a client (e.g. 16 for the public client)."""
        return cls(logical, None, 1)

    @classmethod
    def server(
        cls, logical: int, physical: int | None = None, length: int | None = None
    ) -> HdlcAddress:
        """A server address; ``length`` defaults to the shortest one that holds both parts."""
        if length is None:
            if physical is None:
                length = 1
            elif logical < 0x80 and physical < 0x80:
                length = 2
            else:
                length = 4
        return cls(logical, physical, length)

    def encode(self) -> bytes:
        """The address field bytes, extension bit set on the last byte only."""
        logical = self.logical
        if self.length == 1:
            return bytes(((logical << 1) | 1,))
        physical = self.physical
        assert physical is not None  # guaranteed by __post_init__
        if self.length == 2:
            return bytes(((logical << 1) & 0xFE, (physical << 1) | 1))
        return bytes(
            (
                (logical >> 6) & 0xFE,
                (logical << 1) & 0xFE,
                (physical >> 6) & 0xFE,
                ((physical << 1) & 0xFE) | 1,
            )
        )

    @classmethod
    def decode(cls, data: bytes) -> HdlcAddress:
        """Decode one complete address field (exactly 1, 2 or 4 bytes)."""
        address, end = decode_address(data, 0)
        if end != len(data):
            raise DecodeError(
                f"{len(data) - end} bytes after the end of the HDLC address "
                "(extension bit set too early)",
                end,
            )
        return address

    def same_station(self, other: HdlcAddress) -> bool:
        """Whether ``other`` names the same station, whatever address length either uses.

        The logical parts must be equal. The physical parts must be equal when both are
        present; an address without a physical part (1 byte) matches any physical part,
        because meters answer a 2- or 4-byte address with a 1-byte one (quirk 1).
        """
        if self.logical != other.logical:
            return False
        return self.physical is None or other.physical is None or self.physical == other.physical

    def normalised(self) -> tuple[int, int | None]:
        """``(logical, physical)``: a length-independent key for dictionaries and compares."""
        return (self.logical, self.physical)

    def to_int(self) -> int:
        """The address as one integer as Gurux and meter documentation write it.

        1 byte: the logical address; 2 bytes: ``logical << 7 | physical``; 4 bytes:
        ``logical << 14 | physical``.
        """
        if self.physical is None:
            return self.logical
        shift = 7 if self.length == 2 else 14
        return (self.logical << shift) | self.physical

    @classmethod
    def from_int(cls, value: int, length: int) -> HdlcAddress:
        """Inverse of :meth:`to_int` for the given encoded length."""
        if length == 1:
            return cls(value, None, 1)
        shift = 7 if length == 2 else 14
        return cls(value >> shift, value & ((1 << shift) - 1), length)

    def __str__(self) -> str:
        if self.physical is None:
            return f"{self.logical}"
        return f"{self.logical}/{self.physical}"


def decode_address(data: bytes | bytearray, offset: int) -> tuple[HdlcAddress, int]:
    """Decode the address field starting at ``data[offset]``.

    Returns the address and the offset of the first byte after it. Raises
    :class:`~asyncdlms.errors.DecodeError` if the field is 3 bytes, longer than 4 bytes or
    runs past the end of ``data``.
    """
    if offset < len(data):
        first = data[offset]
        if first & 1:  # one byte: a client, or a server without a physical part
            return _ONE_BYTE[first >> 1], offset + 1
    end = offset
    limit = min(len(data), offset + 4)
    while end < limit:
        if data[end] & 1:
            break
        end += 1
    else:
        if limit - offset >= 4:
            raise DecodeError("HDLC address longer than 4 bytes (no extension bit set)", offset)
        raise DecodeError("HDLC address runs past the end of the data", offset)
    key = bytes(data[offset : end + 1])
    cached = _decoded.get(key)
    if cached is not None:
        return cached, end + 1
    address = _decode_address(data, offset, end)
    if len(_decoded) >= _DECODED_LIMIT:
        _decoded.clear()
    _decoded[key] = address
    return address, end + 1


_decoded: dict[bytes, HdlcAddress] = {}
"""Decoded address fields by their bytes: a link sees the same two addresses in every
frame, and :class:`HdlcAddress` is frozen, so one object serves them all."""

_ONE_BYTE = tuple(HdlcAddress(logical, None, 1) for logical in range(128))
"""Every 1-byte address, decoded once."""

_DECODED_LIMIT = 4096
"""Entries kept at most (a server for many meters sees one address per meter)."""


def _decode_address(data: bytes | bytearray, offset: int, end: int) -> HdlcAddress:
    length = end - offset + 1
    if length == 1:
        return HdlcAddress(data[offset] >> 1, None, 1)
    if length == 2:
        return HdlcAddress(data[offset] >> 1, data[offset + 1] >> 1, 2)
    if length == 4:
        logical = ((data[offset] >> 1) << 7) | (data[offset + 1] >> 1)
        physical = ((data[offset + 2] >> 1) << 7) | (data[offset + 3] >> 1)
        return HdlcAddress(logical, physical, 4)
    raise DecodeError("HDLC address of 3 bytes (only 1, 2 or 4 are allowed)", offset)


def _evaluate_formula(serial_number: int, formula: str) -> int:
    """Evaluate ``formula`` (``SN``, integers, ``+ - * / %``) strictly from left to right.

    This is how meter vendors and Gurux read these formulas: no operator precedence and
    no parentheses; ``/`` is integer division.
    """
    text = formula.replace(" ", "").lower()
    if not text or "(" in text or ")" in text:
        raise ValueError(f"invalid serial number formula {formula!r}")
    tokens: list[str] = []
    current = ""
    for character in text:
        if character in "+-*/%":
            tokens.extend((current, character))
            current = ""
        else:
            current += character
    tokens.append(current)

    def operand(token: str) -> int:
        if token == "sn":
            return serial_number
        if not token.isdigit():
            raise ValueError(f"invalid operand {token!r} in serial number formula {formula!r}")
        return int(token)

    value = operand(tokens[0])
    for index in range(1, len(tokens), 2):
        operator, right = tokens[index], operand(tokens[index + 1])
        if operator == "+":
            value += right
        elif operator == "-":
            value -= right
        elif operator == "*":
            value *= right
        elif operator == "/":
            value //= right
        else:
            value %= right
    return value


def physical_address_from_serial_number(
    serial_number: int, formula: str = DEFAULT_SERIAL_NUMBER_FORMULA
) -> int:
    """The physical (lower) HDLC address a meter derives from its serial number.

    ``formula`` uses ``SN`` for the serial number and is evaluated from left to right
    without operator precedence, as meters and Gurux do; the default is
    ``"SN % 10000 + 1000"`` (serial 12345678 gives 6678).
    """
    value = _evaluate_formula(serial_number, formula)
    if not 0 <= value < 0x4000:
        raise ValueError(
            f"serial number formula {formula!r} gives {value}, outside a 14-bit physical address"
        )
    return value


def server_address_from_serial_number(
    serial_number: int,
    logical: int = 1,
    formula: str = DEFAULT_SERIAL_NUMBER_FORMULA,
) -> HdlcAddress:
    """A 4-byte server address whose physical part is derived from ``serial_number``."""
    return HdlcAddress(logical, physical_address_from_serial_number(serial_number, formula), 4)
