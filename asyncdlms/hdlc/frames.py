"""HDLC frame codec (IEC 62056-46, frame format type 3).

A frame on the wire::

    7E | format (2) | destination (1,2,4) | source (1,2,4) | control (1)
       | [HCS (2) | information (n)] | FCS (2) | 7E

- The format field is ``1010 S LLL LLLLLLLL``: type 3 (``0xA``), the segmentation bit ``S``
  and an 11-bit frame length that counts every byte between the two flags.
- HCS (header check sequence) follows the control field only when there is an information
  field; FCS covers everything between the flags. Both are CRC-16/X.25, least significant
  byte first (:mod:`asyncdlms.hdlc.crc`).
- DLMS HDLC uses no byte stuffing: frames are delimited by their length, and ``0x7E`` may
  appear anywhere inside a frame (quirk 2). Byte-stuffed input (RFC 1662 style) is not
  undone; such a frame fails the length/flag checks.

Control field (bit 0 first)::

    I-frame   N(R) N(R) N(R) P/F N(S) N(S) N(S) 0
    S-frame   N(R) N(R) N(R) P/F  x    x    0   1      RR: x x = 0 0, RNR: 0 1
    U-frame    M    M    M   P/F  M    M    1   1      SNRM 0x83, DISC 0x43, UA 0x63,
                                                       DM 0x0F, FRMR 0x87, UI 0x03
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import DecodeError, EncodeError
from .addresses import HdlcAddress, decode_address
from .crc import check_bytes, is_valid_with_check_bytes

__all__ = [
    "CONTROL_TABLE",
    "FLAG",
    "LLC_REQUEST",
    "LLC_RESPONSE",
    "MAX_FRAME_LENGTH",
    "MIN_FRAME_LENGTH",
    "Frame",
    "FrameType",
    "add_llc_header",
    "decode_control",
    "decode_frame",
    "decode_frame_content",
    "encode_control",
    "strip_llc_header",
]

#: The frame delimiter.
FLAG = 0x7E
#: Largest value of the 11-bit frame length (bytes between the flags).
MAX_FRAME_LENGTH = 0x7FF
#: Smallest frame: format (2) + 1-byte addresses (2) + control (1) + FCS (2).
MIN_FRAME_LENGTH = 7

#: LLC header of an information field sent by a client (IEC 62056-46 8.1): E6 E6 00.
LLC_REQUEST = b"\xe6\xe6\x00"
#: LLC header of an information field sent by a server: E6 E7 00.
LLC_RESPONSE = b"\xe6\xe7\x00"

_FORMAT_TYPE_3 = 0xA0
_SEGMENTATION_BIT = 0x08
_POLL_FINAL_BIT = 0x10


class FrameType(enum.Enum):
    """HDLC frame types used by DLMS. The value is the control byte with P/F, N(S), N(R) = 0."""

    I = 0x00  # noqa: E741 - the standard's name for an information frame
    RR = 0x01
    RNR = 0x05
    SNRM = 0x83
    DISC = 0x43
    UA = 0x63
    DM = 0x0F
    FRMR = 0x87
    UI = 0x03

    @property
    def is_information(self) -> bool:
        """I-frame: numbered, carries N(S) and N(R)."""
        return self is FrameType.I

    @property
    def is_supervisory(self) -> bool:
        """S-frame (RR, RNR): carries N(R) only."""
        return self is FrameType.RR or self is FrameType.RNR

    @property
    def is_unnumbered(self) -> bool:
        """U-frame (SNRM, DISC, UA, DM, FRMR, UI): no sequence numbers."""
        return not (self.is_information or self.is_supervisory)


_UNNUMBERED_BY_CONTROL: dict[int, FrameType] = {
    frame_type.value: frame_type
    for frame_type in FrameType
    if frame_type not in (FrameType.I, FrameType.RR, FrameType.RNR)
}


def _build_control_table() -> tuple[tuple[FrameType, bool, int | None, int | None] | None, ...]:
    table: list[tuple[FrameType, bool, int | None, int | None] | None] = []
    for control in range(256):
        poll_final = bool(control & _POLL_FINAL_BIT)
        if control & 0x01 == 0:
            table.append((FrameType.I, poll_final, (control >> 1) & 0x07, control >> 5))
        elif control & 0x03 == 0x01:
            kind = control & 0x0F
            if kind == FrameType.RR.value:
                table.append((FrameType.RR, poll_final, None, control >> 5))
            elif kind == FrameType.RNR.value:
                table.append((FrameType.RNR, poll_final, None, control >> 5))
            else:  # REJ and SREJ are not used by DLMS
                table.append(None)
        else:
            unnumbered = _UNNUMBERED_BY_CONTROL.get(control & ~_POLL_FINAL_BIT)
            table.append(None if unnumbered is None else (unnumbered, poll_final, None, None))
    return tuple(table)


#: control byte -> (frame type, P/F, N(S), N(R)), ``None`` for control bytes DLMS does not use.
CONTROL_TABLE = _build_control_table()


def encode_control(
    frame_type: FrameType,
    poll_final: bool,
    send_sequence: int | None = None,
    receive_sequence: int | None = None,
) -> int:
    """The control byte of a frame (sequence numbers are checked to be 0..7 where used)."""
    control = frame_type.value | (_POLL_FINAL_BIT if poll_final else 0)
    if frame_type is FrameType.I:
        if send_sequence is None or receive_sequence is None:
            raise EncodeError("an I-frame needs both N(S) and N(R)")
        if not (0 <= send_sequence <= 7 and 0 <= receive_sequence <= 7):
            raise EncodeError(f"N(S)={send_sequence}, N(R)={receive_sequence} are not 0..7")
        return control | (send_sequence << 1) | (receive_sequence << 5)
    if frame_type is FrameType.RR or frame_type is FrameType.RNR:
        if receive_sequence is None or not 0 <= receive_sequence <= 7:
            raise EncodeError(f"a {frame_type.name} frame needs N(R) in 0..7")
        if send_sequence is not None:
            raise EncodeError(f"a {frame_type.name} frame has no N(S)")
        return control | (receive_sequence << 5)
    if send_sequence is not None or receive_sequence is not None:
        raise EncodeError(f"a {frame_type.name} frame has no sequence numbers")
    return control


def decode_control(control: int) -> tuple[FrameType, bool, int | None, int | None]:
    """Decode a control byte into ``(frame type, P/F, N(S), N(R))``."""
    decoded = CONTROL_TABLE[control & 0xFF]
    if decoded is None:
        raise DecodeError(f"control field 0x{control:02X} is not an HDLC frame DLMS uses")
    return decoded


@dataclass(frozen=True, slots=True)
class Frame:
    """One HDLC frame (everything but the flags, HCS and FCS, which :meth:`encode` adds).

    ``send_sequence`` (N(S)) is set on I-frames only, ``receive_sequence`` (N(R)) on I, RR
    and RNR frames; both are ``None`` elsewhere. ``segmented`` is the segmentation bit of
    the format field: more segments of the same information follow.
    """

    frame_type: FrameType
    destination: HdlcAddress
    source: HdlcAddress
    poll_final: bool = True
    send_sequence: int | None = None
    receive_sequence: int | None = None
    segmented: bool = False
    information: bytes = b""

    def __post_init__(self) -> None:
        # Raises EncodeError on sequence numbers that do not fit the frame type.
        encode_control(self.frame_type, self.poll_final, self.send_sequence, self.receive_sequence)
        if self.frame_length > MAX_FRAME_LENGTH:
            raise EncodeError(
                f"frame of {self.frame_length} bytes exceeds the 11-bit length "
                f"({MAX_FRAME_LENGTH}); segment the information field"
            )

    @property
    def control(self) -> int:
        """The control byte."""
        return encode_control(
            self.frame_type, self.poll_final, self.send_sequence, self.receive_sequence
        )

    @property
    def frame_length(self) -> int:
        """The value of the 11-bit length field: every byte between the two flags."""
        header = 2 + self.destination.length + self.source.length + 1
        if self.information:
            return header + 2 + len(self.information) + 2
        return header + 2

    def encode(self) -> bytes:
        """The complete frame, opening and closing flag included."""
        length = self.frame_length
        header = bytearray(
            (
                _FORMAT_TYPE_3 | (_SEGMENTATION_BIT if self.segmented else 0) | (length >> 8),
                length & 0xFF,
            )
        )
        header += self.destination.encode()
        header += self.source.encode()
        header.append(self.control)
        if self.information:
            header += check_bytes(header)
            header += self.information
        header += check_bytes(header)
        return b"\x7e" + bytes(header) + b"\x7e"


# Setting slots through their member descriptors skips the frozen-dataclass
# __setattr__ guard and is the fastest way to build a frame in the decode hot path.
_new = object.__new__


def _slot_setter(name: str) -> Callable[[Frame, object], None]:
    setter: Callable[[Frame, object], None] = vars(Frame)[name].__set__
    return setter


_set_frame_type = _slot_setter("frame_type")
_set_destination = _slot_setter("destination")
_set_source = _slot_setter("source")
_set_poll_final = _slot_setter("poll_final")
_set_send_sequence = _slot_setter("send_sequence")
_set_receive_sequence = _slot_setter("receive_sequence")
_set_segmented = _slot_setter("segmented")
_set_information = _slot_setter("information")


def _make_frame(
    frame_type: FrameType,
    destination: HdlcAddress,
    source: HdlcAddress,
    poll_final: bool,
    send_sequence: int | None,
    receive_sequence: int | None,
    segmented: bool,
    information: bytes,
) -> Frame:
    """Build a Frame whose fields come from a decoded control byte (already consistent)."""
    frame: Frame = _new(Frame)
    _set_frame_type(frame, frame_type)
    _set_destination(frame, destination)
    _set_source(frame, source)
    _set_poll_final(frame, poll_final)
    _set_send_sequence(frame, send_sequence)
    _set_receive_sequence(frame, receive_sequence)
    _set_segmented(frame, segmented)
    _set_information(frame, information)
    return frame


def decode_frame_content(data: bytes | bytearray, start: int, length: int) -> Frame:
    """Decode the ``length`` bytes at ``data[start:]`` that lie between two flags.

    Checks the format type, the length field, the addresses, the control byte, the HCS
    (when there is an information field) and the FCS. Offsets in errors are positions in
    ``data``.
    """
    end = start + length
    if length < MIN_FRAME_LENGTH or end > len(data):
        raise DecodeError(
            f"expected at least {MIN_FRAME_LENGTH} bytes between the flags, got "
            f"{min(length, len(data) - start)}",
            start,
        )
    format_high = data[start]
    if format_high & 0xF0 != _FORMAT_TYPE_3:
        raise DecodeError(f"expected frame format type 3 (0xA_), got 0x{format_high:02X}", start)
    declared = ((format_high & 0x07) << 8) | data[start + 1]
    if declared != length:
        raise DecodeError(
            f"frame length field says {declared} bytes, the frame has {length}", start
        )
    if not is_valid_with_check_bytes(data[start:end]):
        raise DecodeError("bad FCS (frame check sequence)", end - 2)
    destination, position = decode_address(data, start + 2)
    source, position = decode_address(data, position)
    if position >= end - 2:
        raise DecodeError("frame ends before its control field", position)
    decoded = CONTROL_TABLE[data[position]]
    if decoded is None:
        raise DecodeError(
            f"control field 0x{data[position]:02X} is not an HDLC frame DLMS uses", position
        )
    position += 1
    remaining = end - 2 - position
    if remaining == 0:
        information = b""
    else:
        if remaining < 2:
            raise DecodeError(
                "expected no information field or an HCS (2 bytes) after the control field",
                position,
            )
        if not is_valid_with_check_bytes(data[start : position + 2]):
            raise DecodeError("bad HCS (header check sequence)", position)
        information = bytes(data[position + 2 : end - 2])
    frame_type, poll_final, send_sequence, receive_sequence = decoded
    return _make_frame(
        frame_type,
        destination,
        source,
        poll_final,
        send_sequence,
        receive_sequence,
        bool(format_high & _SEGMENTATION_BIT),
        information,
    )


def decode_frame(data: bytes | bytearray) -> Frame:
    """Decode one complete frame, both flags included.

    Raises :class:`~asyncdlms.errors.DecodeError` (with the offset and what was expected)
    on a missing flag, a bad format or length, a bad address or control field, a bad HCS
    or FCS. To find frames in a byte stream use :class:`asyncdlms.hdlc.splitter.FrameSplitter`.
    """
    size = len(data)
    if size < MIN_FRAME_LENGTH + 2:
        raise DecodeError(
            f"expected at least {MIN_FRAME_LENGTH + 2} bytes for an HDLC frame, got {size}",
            0,
        )
    if data[0] != FLAG:
        raise DecodeError(f"expected the opening flag 0x7E, got 0x{data[0]:02X}", 0)
    if data[-1] != FLAG:
        raise DecodeError(f"expected the closing flag 0x7E, got 0x{data[-1]:02X}", size - 1)
    return decode_frame_content(data, 1, size - 2)


def add_llc_header(apdu: bytes, *, response: bool) -> bytes:
    """Prefix an APDU with the LLC header (E6 E7 00 for a server, E6 E6 00 for a client)."""
    return (LLC_RESPONSE if response else LLC_REQUEST) + apdu


def strip_llc_header(information: bytes, *, response: bool | None = None) -> bytes:
    """Remove the LLC header from the first information field of an APDU.

    ``response`` selects which header is required (``True``: E6 E7 00 from a server,
    ``False``: E6 E6 00 from a client, ``None``: either).
    """
    head = information[:3]
    if response is None:
        if head in (LLC_REQUEST, LLC_RESPONSE):
            return information[3:]
        expected = "E6 E6 00 or E6 E7 00"
    else:
        wanted = LLC_RESPONSE if response else LLC_REQUEST
        if head == wanted:
            return information[3:]
        expected = wanted.hex(" ").upper()
    raise DecodeError(f"expected LLC header {expected}, got {head.hex(' ').upper()}", 0)
