"""HDLC parameter negotiation: the information field of SNRM and UA (IEC 62056-46 6.4.4.4.3.2).

The field is the ISO/IEC 13239 parameter-negotiation group::

    81 (format identifier) 80 (group identifier) <group length>
        05 <n> <maximum information field length, transmit>
        06 <n> <maximum information field length, receive>
        07 <n> <window size, transmit>
        08 <n> <window size, receive>

Each parameter value is an unsigned big-endian integer of ``n`` bytes; meters use 1, 2 or 4
(quirk 11). Missing parameters keep their defaults (128, 128, 1, 1), so a UA without an
information field means all defaults. "Transmit" and "receive" are seen from the station
that sends the frame: the client's transmit length in its SNRM limits what the server
receives.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ..errors import DecodeError, EncodeError

__all__ = [
    "DEFAULT_MAX_INFO_LENGTH",
    "DEFAULT_WINDOW_SIZE",
    "FORMAT_IDENTIFIER",
    "GROUP_IDENTIFIER",
    "HdlcParameterId",
    "HdlcParameters",
]

FORMAT_IDENTIFIER = 0x81
GROUP_IDENTIFIER = 0x80
DEFAULT_MAX_INFO_LENGTH = 128
DEFAULT_WINDOW_SIZE = 1


class HdlcParameterId(enum.IntEnum):
    """Parameter identifiers of the HDLC negotiation group."""

    MAX_INFO_LENGTH_TRANSMIT = 0x05
    MAX_INFO_LENGTH_RECEIVE = 0x06
    WINDOW_SIZE_TRANSMIT = 0x07
    WINDOW_SIZE_RECEIVE = 0x08


def _minimal_value(value: int) -> bytes:
    """1 byte below 256, else 2 bytes, else 4 (as meters and Gurux encode lengths)."""
    if value < 0x100:
        size = 1
    elif value < 0x10000:
        size = 2
    else:
        size = 4
    return bytes((size,)) + value.to_bytes(size, "big")


@dataclass(frozen=True, slots=True)
class HdlcParameters:
    """The four negotiable HDLC parameters, as seen from the sender of the SNRM or UA."""

    max_info_length_tx: int = DEFAULT_MAX_INFO_LENGTH
    max_info_length_rx: int = DEFAULT_MAX_INFO_LENGTH
    window_size_tx: int = DEFAULT_WINDOW_SIZE
    window_size_rx: int = DEFAULT_WINDOW_SIZE

    def __post_init__(self) -> None:
        for name in ("max_info_length_tx", "max_info_length_rx"):
            value = getattr(self, name)
            if not 1 <= value <= 0xFFFFFFFF:
                raise ValueError(f"{name} must be 1..4294967295, not {value}")
        for name in ("window_size_tx", "window_size_rx"):
            value = getattr(self, name)
            if not 1 <= value <= 7:
                raise ValueError(f"{name} must be 1..7 (modulo-8 sequence numbers), not {value}")

    @property
    def is_default(self) -> bool:
        """All four values are the defaults (128, 128, 1, 1)."""
        return self == _DEFAULTS

    def encode(self, *, omit_defaults: bool = False) -> bytes:
        """The SNRM/UA information field.

        Lengths take 1 byte when below 256, else 2 (4 above 65535); window sizes take
        4 bytes, as meters send them. With ``omit_defaults`` parameters at their default
        value are left out, and the result is empty when all are defaults (an SNRM
        without information field, as Gurux sends it).
        """
        body = bytearray()
        items = (
            (HdlcParameterId.MAX_INFO_LENGTH_TRANSMIT, self.max_info_length_tx, False),
            (HdlcParameterId.MAX_INFO_LENGTH_RECEIVE, self.max_info_length_rx, False),
            (HdlcParameterId.WINDOW_SIZE_TRANSMIT, self.window_size_tx, True),
            (HdlcParameterId.WINDOW_SIZE_RECEIVE, self.window_size_rx, True),
        )
        for parameter_id, value, is_window in items:
            default = DEFAULT_WINDOW_SIZE if is_window else DEFAULT_MAX_INFO_LENGTH
            if omit_defaults and value == default:
                continue
            body.append(parameter_id)
            body += b"\x04" + value.to_bytes(4, "big") if is_window else _minimal_value(value)
        if omit_defaults and not body:
            return b""
        if len(body) > 0xFF:  # pragma: no cover - at most 4 * 6 bytes
            raise EncodeError("HDLC parameter group longer than 255 bytes")
        return bytes((FORMAT_IDENTIFIER, GROUP_IDENTIFIER, len(body))) + bytes(body)

    @classmethod
    def decode(cls, information: bytes | bytearray) -> HdlcParameters:
        """Decode an SNRM/UA information field; an empty field means all defaults.

        Values of 1, 2 or 4 bytes are accepted (any length from 1 to 4 in fact), unknown
        parameter ids are skipped, and anything malformed raises
        :class:`~asyncdlms.errors.DecodeError`.
        """
        if not information:
            return _DEFAULTS
        if len(information) < 3:
            raise DecodeError(
                f"expected 81 80 <length> at the start of the HDLC parameters, got "
                f"{bytes(information).hex(' ').upper()}",
                0,
            )
        if information[0] != FORMAT_IDENTIFIER:
            raise DecodeError(f"expected format identifier 0x81, got 0x{information[0]:02X}", 0)
        if information[1] != GROUP_IDENTIFIER:
            raise DecodeError(f"expected group identifier 0x80, got 0x{information[1]:02X}", 1)
        group_length = information[2]
        end = 3 + group_length
        if end != len(information):
            raise DecodeError(
                f"HDLC parameter group length says {group_length} bytes, "
                f"{len(information) - 3} follow",
                2,
            )
        values: dict[int, int] = {}
        position = 3
        while position < end:
            if position + 2 > end:
                raise DecodeError("HDLC parameter cut after its identifier", position)
            parameter_id = information[position]
            size = information[position + 1]
            if position + 2 + size > end:
                raise DecodeError(
                    f"HDLC parameter 0x{parameter_id:02X} declares {size} value bytes, "
                    f"{end - position - 2} remain",
                    position + 1,
                )
            if parameter_id in _KNOWN_IDS:
                if not 1 <= size <= 4:
                    raise DecodeError(
                        f"expected a value of 1, 2 or 4 bytes for HDLC parameter "
                        f"0x{parameter_id:02X}, got {size}",
                        position + 1,
                    )
                values[parameter_id] = int.from_bytes(
                    information[position + 2 : position + 2 + size], "big"
                )
            position += 2 + size
        try:
            return cls(
                values.get(HdlcParameterId.MAX_INFO_LENGTH_TRANSMIT, DEFAULT_MAX_INFO_LENGTH),
                values.get(HdlcParameterId.MAX_INFO_LENGTH_RECEIVE, DEFAULT_MAX_INFO_LENGTH),
                values.get(HdlcParameterId.WINDOW_SIZE_TRANSMIT, DEFAULT_WINDOW_SIZE),
                values.get(HdlcParameterId.WINDOW_SIZE_RECEIVE, DEFAULT_WINDOW_SIZE),
            )
        except ValueError as error:
            raise DecodeError(f"HDLC parameter out of range: {error}", None) from error


_DEFAULTS = HdlcParameters()
_KNOWN_IDS = frozenset(int(parameter_id) for parameter_id in HdlcParameterId)
