"""HDLC frame check sequence: CRC-16/X.25 (IEC 62056-46, ISO/IEC 13239).

Both the header check sequence (HCS) and the frame check sequence (FCS) of a DLMS HDLC
frame are CRC-16/X.25: polynomial 0x1021 processed least significant bit first, initial
value 0xFFFF, final xor 0xFFFF. In the frame the two check bytes are sent least
significant byte first.

The fast path uses the C implementation in the standard library: :func:`binascii.crc_hqx`
computes the most-significant-bit-first CRC-CCITT. Running it over the bit-reversed bytes
and bit-reversing its 16-bit result gives the reflected CRC that X.25 defines. The byte
reversal is one ``bytes.translate`` call, so no Python code runs per byte.
"""

from __future__ import annotations

from binascii import crc_hqx

__all__ = [
    "BIT_REVERSED",
    "GOOD_RESIDUE_RAW",
    "check_bytes",
    "crc16_x25",
    "is_valid_with_check_bytes",
]

#: ``BIT_REVERSED[b]`` is the byte ``b`` with its bit order reversed (a translate table).
BIT_REVERSED: bytes = bytes(int(f"{value:08b}"[::-1], 2) for value in range(256))


def _reverse16(value: int) -> int:
    return (BIT_REVERSED[value & 0xFF] << 8) | BIT_REVERSED[value >> 8]


def crc16_x25(data: bytes | bytearray | memoryview) -> int:
    """Return the CRC-16/X.25 (HDLC HCS/FCS value) of ``data``.

    The value is the one that goes into the frame, least significant byte first.
    ``crc16_x25(b"123456789") == 0x906E``.
    """
    raw = crc_hqx(bytes(data).translate(BIT_REVERSED), 0xFFFF)
    return _reverse16(raw) ^ 0xFFFF


def check_bytes(data: bytes | bytearray | memoryview) -> bytes:
    """Return the two check bytes (HCS or FCS) that follow ``data`` in a frame."""
    return crc16_x25(data).to_bytes(2, "little")


#: ``crc_hqx`` over the bit-reversed bytes of any data followed by its own correct check
#: bytes gives this constant (the CRC "good residue" 0xF0B8 in the reversed domain).
#: Checking a frame is then one C call and one comparison.
GOOD_RESIDUE_RAW: int = crc_hqx((b"\x00" + check_bytes(b"\x00")).translate(BIT_REVERSED), 0xFFFF)


def is_valid_with_check_bytes(data: bytes | bytearray) -> bool:
    """Whether ``data`` ends with the correct two check bytes of what precedes them."""
    return len(data) >= 2 and crc_hqx(data.translate(BIT_REVERSED), 0xFFFF) == GOOD_RESIDUE_RAW
