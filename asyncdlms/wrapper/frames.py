"""IEC 62056-47 wrapper protocol data units (the DLMS "TCP/UDP wrapper").

Every APDU sent over TCP or UDP is prefixed with an 8-byte header, all fields unsigned
16-bit big-endian::

    version (0x0001) | source wPort | destination wPort | length of the APDU

Over UDP one datagram carries exactly one wrapper frame (:func:`decode_datagram`). Over TCP
frames follow each other in a byte stream that the network slices as it likes, the header
included (quirk 17); :class:`WrapperSplitter` reassembles them. A stream cannot be
resynchronised after a bad header (there is no flag to search for), so the splitter raises
:class:`~asyncdlms.errors.WrapperError` and the connection must be closed.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import EncodeError, WrapperError

__all__ = [
    "HEADER_LENGTH",
    "MAX_APDU_LENGTH",
    "WRAPPER_VERSION",
    "WrapperFrame",
    "WrapperHeader",
    "WrapperSplitter",
    "WrapperStreamError",
    "decode_datagram",
    "encode_frame",
]

#: The only version IEC 62056-47 defines.
WRAPPER_VERSION = 0x0001
#: Size of the wrapper header.
HEADER_LENGTH = 8
#: The length field is 16 bits.
MAX_APDU_LENGTH = 0xFFFF

_HEADER = struct.Struct(">HHHH")
_unpack_header = _HEADER.unpack_from
_pack_header = _HEADER.pack


def _check_wport(name: str, value: int) -> None:
    if not 0 <= value <= 0xFFFF:
        raise EncodeError(f"{name} {value} does not fit in 16 bits")


@dataclass(frozen=True, slots=True)
class WrapperHeader:
    """The 8-byte wrapper header."""

    source_wport: int
    destination_wport: int
    length: int
    version: int = WRAPPER_VERSION

    def encode(self) -> bytes:
        """The 8 header bytes."""
        _check_wport("source wPort", self.source_wport)
        _check_wport("destination wPort", self.destination_wport)
        if not 0 <= self.length <= MAX_APDU_LENGTH:
            raise EncodeError(f"APDU length {self.length} does not fit in 16 bits")
        if not 0 <= self.version <= 0xFFFF:
            raise EncodeError(f"wrapper version {self.version} does not fit in 16 bits")
        return _pack_header(self.version, self.source_wport, self.destination_wport, self.length)

    @classmethod
    def decode(
        cls, data: bytes | bytearray | memoryview, offset: int = 0, *, check_version: bool = True
    ) -> WrapperHeader:
        """Decode the header at ``data[offset:]``.

        Raises :class:`~asyncdlms.errors.WrapperError` (a link error, not a
        :class:`~asyncdlms.errors.DecodeError`) when fewer than 8 bytes are there or the
        version is not 1 (unless ``check_version`` is false).
        """
        if len(data) - offset < HEADER_LENGTH:
            raise WrapperError(
                f"expected an 8-byte wrapper header at offset {offset}, "
                f"got {max(len(data) - offset, 0)} bytes"
            )
        version, source, destination, length = _unpack_header(data, offset)
        if check_version and version != WRAPPER_VERSION:
            raise WrapperError(
                f"expected wrapper version 0x0001 at offset {offset}, got 0x{version:04X} "
                "(is this an HDLC stream? then use hdlc+tcp://)"
            )
        return cls(source, destination, length, version)


@dataclass(frozen=True, slots=True)
class WrapperFrame:
    """One wrapper frame: the wPorts and the APDU (the length comes from ``apdu``)."""

    source_wport: int
    destination_wport: int
    apdu: bytes

    @property
    def header(self) -> WrapperHeader:
        """The header this frame is sent with."""
        return WrapperHeader(self.source_wport, self.destination_wport, len(self.apdu))

    def encode(self) -> bytes:
        """Header and APDU."""
        if len(self.apdu) > MAX_APDU_LENGTH:
            raise EncodeError(
                f"APDU of {len(self.apdu)} bytes does not fit a wrapper frame "
                f"(at most {MAX_APDU_LENGTH})"
            )
        _check_wport("source wPort", self.source_wport)
        _check_wport("destination wPort", self.destination_wport)
        return (
            _pack_header(WRAPPER_VERSION, self.source_wport, self.destination_wport, len(self.apdu))
            + self.apdu
        )


def encode_frame(source_wport: int, destination_wport: int, apdu: bytes) -> bytes:
    """Header and APDU of one frame, the header packed in one call (what
    ``WrapperFrame(source_wport, destination_wport, apdu).encode()`` gives, with its
    :class:`~asyncdlms.errors.EncodeError` for wPorts or an APDU that do not fit)."""
    length = len(apdu)
    if (
        length <= MAX_APDU_LENGTH
        and 0 <= source_wport <= 0xFFFF
        and 0 <= destination_wport <= 0xFFFF
    ):
        return _pack_header(WRAPPER_VERSION, source_wport, destination_wport, length) + apdu
    return WrapperFrame(source_wport, destination_wport, apdu).encode()  # raises the error


def decode_datagram(
    data: bytes | bytearray | memoryview, max_apdu_length: int = MAX_APDU_LENGTH
) -> WrapperFrame:
    """Decode one UDP datagram: exactly one wrapper frame.

    Raises :class:`~asyncdlms.errors.WrapperError` on a short datagram, a wrong version,
    a length above ``max_apdu_length`` or a length that does not match the datagram.
    """
    header = WrapperHeader.decode(data)
    if header.length > max_apdu_length:
        raise WrapperError(
            f"wrapper length {header.length} exceeds the maximum APDU length {max_apdu_length}"
        )
    actual = len(data) - HEADER_LENGTH
    if header.length != actual:
        raise WrapperError(
            f"wrapper length field says {header.length} bytes, the datagram carries {actual}"
        )
    return WrapperFrame(header.source_wport, header.destination_wport, bytes(data[HEADER_LENGTH:]))


class WrapperStreamError(WrapperError):
    """A bad wrapper header in a TCP stream; ``frames`` were completed before it."""

    def __init__(self, message: str, frames: list[WrapperFrame]) -> None:
        super().__init__(message)
        self.frames = frames


_new = object.__new__


def _slot_setter(name: str) -> Callable[[WrapperFrame, object], None]:
    setter: Callable[[WrapperFrame, object], None] = vars(WrapperFrame)[name].__set__
    return setter


# Setting slots through their member descriptors is the fastest way to build a frozen
# dataclass in the splitter's hot loop.
_set_source_wport = _slot_setter("source_wport")
_set_destination_wport = _slot_setter("destination_wport")
_set_apdu = _slot_setter("apdu")


def _make_frame(source: int, destination: int, apdu: bytes) -> WrapperFrame:
    frame: WrapperFrame = _new(WrapperFrame)
    _set_source_wport(frame, source)
    _set_destination_wport(frame, destination)
    _set_apdu(frame, apdu)
    return frame


class WrapperSplitter:
    """Reassemble wrapper frames from a TCP byte stream sliced in any way.

    :meth:`feed` returns the frames completed by the new bytes. A wrong version or a
    length above ``max_apdu_length`` raises :class:`WrapperStreamError` (a
    :class:`~asyncdlms.errors.WrapperError`) whose ``frames`` are the frames completed
    before the bad header in the same call. The stream cannot be trusted after that: the
    splitter stays failed (every later :meth:`feed` raises again) until :meth:`reset`.
    """

    __slots__ = ("_buffer", "_error", "frames", "max_apdu_length")

    def __init__(self, max_apdu_length: int = MAX_APDU_LENGTH) -> None:
        if not 0 <= max_apdu_length <= MAX_APDU_LENGTH:
            raise ValueError(f"max_apdu_length must be 0..{MAX_APDU_LENGTH}")
        self.max_apdu_length = max_apdu_length
        self._buffer = bytearray()
        self._error: WrapperError | None = None
        self.frames = 0

    @property
    def buffered(self) -> int:
        """Bytes held back, waiting for the rest of a frame."""
        return len(self._buffer)

    def reset(self) -> None:
        """Forget buffered bytes and a previous error."""
        self._buffer.clear()
        self._error = None

    def take_single(self, data: bytes) -> tuple[int, int, bytes] | None:
        """``data`` as one whole frame, when nothing is held back and it is exactly one
        valid frame (the common read): its (source wPort, destination wPort, APDU),
        counted. Otherwise ``None`` and nothing is taken: give ``data`` to :meth:`feed`."""
        if self._buffer or self._error is not None or len(data) < HEADER_LENGTH:
            return None
        version, source, destination, length = _unpack_header(data)
        if (
            version != WRAPPER_VERSION
            or length > self.max_apdu_length
            or len(data) != HEADER_LENGTH + length
        ):
            return None
        self.frames += 1
        return source, destination, data[HEADER_LENGTH:]

    def feed(self, data: bytes | bytearray | memoryview) -> list[WrapperFrame]:
        """Add bytes from the stream; return the frames they complete, in order."""
        if self._error is not None:
            raise self._error
        if type(data) is bytes:  # the common case: exactly one whole frame, nothing held back
            single = self.take_single(data)
            if single is not None:
                return [_make_frame(*single)]
        buffer = self._buffer
        buffer += data
        size = len(buffer)
        frames: list[WrapperFrame] = []
        append = frames.append
        position = 0
        maximum = self.max_apdu_length
        make_frame = _make_frame
        unpack_header = _unpack_header
        try:
            with memoryview(buffer) as view:
                while size - position >= HEADER_LENGTH:
                    version, source, destination, length = unpack_header(buffer, position)
                    if version != WRAPPER_VERSION:
                        raise WrapperError(
                            f"expected wrapper version 0x0001, got 0x{version:04X} "
                            f"{self.frames + len(frames)} frames into the stream"
                        )
                    if length > maximum:
                        raise WrapperError(
                            f"wrapper length {length} exceeds the maximum APDU length {maximum}"
                        )
                    end = position + HEADER_LENGTH + length
                    if end > size:
                        break
                    append(make_frame(source, destination, bytes(view[position + 8 : end])))
                    position = end
        except WrapperError as error:
            stream_error = WrapperStreamError(str(error), frames)
            self._error = WrapperStreamError(str(error), [])
            buffer.clear()
            self.frames += len(frames)
            raise stream_error from None
        if position:
            del buffer[:position]
        self.frames += len(frames)
        return frames
