"""M-Bus (EN 13757-2) long frames carrying DLMS/COSEM, as Austrian customer interfaces send.

A long frame is ``68 L L 68 | C A CI data... | CS 16``: ``L`` counts the bytes from C to the
end of the data, ``CS`` is their sum modulo 256. When an APDU is carried with the DLMS/COSEM
transport layer of wired M-Bus (the frames of the NÖ Netz / EVN / Wiener Netze customer
interfaces, IEC 62056-7-6 style), the CI field is a segmentation byte: bits 0-3 the segment's
sequence number (0, 1, 2, ... modulo 16), bit 4 set on the final segment (``CI = 0x00``
first segment of several, ``0x11`` second and last, ``0x10`` a single segment); the data
of every segment starts with the source and destination TSAPs (one byte each) followed by
its part of the APDU.

:class:`MBusSplitter` finds verified long frames in a byte stream sliced in any way and
skips anything else (single characters ``E5``, short frames, noise); frames with a bad
checksum or stop byte are counted in ``dropped_frames``. :class:`MBusFrame` encodes frames
too (tests, simulators).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import EncodeError

__all__ = [
    "MBUS_FINAL_SEGMENT",
    "MBUS_MAX_DATA_LENGTH",
    "MBusFrame",
    "MBusSplitter",
    "mbus_segments",
]

_START = 0x68
_STOP = 0x16
MBUS_FINAL_SEGMENT = 0x10
"""The CI bit marking the final segment of a transport-layer APDU."""
MBUS_MAX_DATA_LENGTH = 252
"""``L`` is at most 255: C, A and CI leave 252 bytes of data per frame."""
_SEQUENCE_MASK = 0x0F


@dataclass(frozen=True, slots=True)
class MBusFrame:
    """One M-Bus long frame: control field ``C``, address ``A``, control information ``CI``
    and ``data`` (for a DLMS/COSEM transport segment: STSAP, DTSAP, then the APDU part)."""

    control: int
    address: int
    control_information: int
    data: bytes

    def __post_init__(self) -> None:
        for name in ("control", "address", "control_information"):
            if not 0 <= getattr(self, name) <= 0xFF:
                raise EncodeError(f"M-Bus {name.replace('_', ' ')} must be one byte")
        if len(self.data) > MBUS_MAX_DATA_LENGTH:
            raise EncodeError(
                f"M-Bus long frame data of {len(self.data)} bytes exceeds {MBUS_MAX_DATA_LENGTH}"
            )

    @property
    def final_segment(self) -> bool:
        """Transport layer: the last segment of the APDU."""
        return bool(self.control_information & MBUS_FINAL_SEGMENT)

    @property
    def sequence_number(self) -> int:
        """Transport layer: the segment's sequence number (0..15)."""
        return self.control_information & _SEQUENCE_MASK

    @property
    def is_transport_segment(self) -> bool:
        """Whether CI is a DLMS/COSEM transport-layer segmentation byte (0x00..0x1F)."""
        return self.control_information <= 0x1F

    def encode(self) -> bytes:
        """The whole frame, start to stop byte."""
        body = bytes((self.control, self.address, self.control_information)) + self.data
        length = len(body)
        return bytes((_START, length, length, _START)) + body + bytes((sum(body) & 0xFF, _STOP))


def mbus_segments(
    apdu: bytes,
    *,
    address: int = 0xFF,
    control: int = 0x53,
    source_tsap: int = 0x01,
    destination_tsap: int = 0x67,
    max_data: int = MBUS_MAX_DATA_LENGTH,
) -> list[MBusFrame]:
    """Cut ``apdu`` into transport-layer segments (for tests and simulators)."""
    room = max_data - 2
    if room < 1:
        raise EncodeError("an M-Bus segment needs room for the TSAPs and one byte")
    parts = [apdu[i : i + room] for i in range(0, len(apdu), room)] or [b""]
    frames = []
    for index, part in enumerate(parts):
        ci = (index & _SEQUENCE_MASK) | (MBUS_FINAL_SEGMENT if index == len(parts) - 1 else 0)
        frames.append(
            MBusFrame(control, address, ci, bytes((source_tsap, destination_tsap)) + part)
        )
    return frames


class MBusSplitter:
    """Split a byte stream into verified M-Bus long frames; :meth:`feed` never raises.

    Counters: ``frames`` returned, ``dropped_frames`` (frame-shaped, bad checksum or stop
    byte), ``discarded_bytes`` (bytes in no frame).
    """

    __slots__ = ("_buffer", "discarded_bytes", "dropped_frames", "frames")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.frames = 0
        self.dropped_frames = 0
        self.discarded_bytes = 0

    @property
    def buffered(self) -> int:
        """Bytes held back, waiting for the rest of a frame (at most one frame's worth)."""
        return len(self._buffer)

    def reset(self) -> None:
        """Forget buffered bytes."""
        self._buffer.clear()

    def feed(self, data: bytes | bytearray | memoryview) -> list[MBusFrame]:
        """Add received bytes; return the frames they complete, in stream order."""
        buffer = self._buffer
        buffer += data
        frames: list[MBusFrame] = []
        position = 0
        size = len(buffer)
        while True:
            start = buffer.find(_START, position)
            if start < 0:
                self.discarded_bytes += size - position
                position = size
                break
            self.discarded_bytes += start - position
            position = start
            if start + 4 > size:
                break
            length = buffer[start + 1]
            if buffer[start + 2] != length or buffer[start + 3] != _START or length < 3:
                self.discarded_bytes += 1
                position = start + 1
                continue
            end = start + length + 6
            if end > size:
                break
            body = bytes(buffer[start + 4 : start + 4 + length])
            if buffer[end - 1] != _STOP or sum(body) & 0xFF != buffer[end - 2]:
                self.dropped_frames += 1
                self.discarded_bytes += 1
                position = start + 1
                continue
            frames.append(MBusFrame(body[0], body[1], body[2], body[3:]))
            position = end
        if position:
            del buffer[:position]
        self.frames += len(frames)
        return frames
