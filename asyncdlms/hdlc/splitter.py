"""Find HDLC frames in a byte stream, in any slicing, and survive line noise.

DLMS HDLC frames are delimited by their 11-bit length, not by flag search: ``0x7E`` may
occur inside a frame (in the payload, the HCS or the FCS), and two frames may share one
flag. :class:`FrameSplitter` therefore

1. looks for a ``0x7E`` (``bytearray.find``, in C),
2. reads the format field after it, and if it is a type-3 format with a plausible length,
3. waits until the whole frame is buffered, then checks the closing flag, FCS, addresses,
   control field and HCS (one ``binascii.crc_hqx`` call each, over a bit-reversed shadow
   copy of the buffer that is translated once per :meth:`FrameSplitter.feed`).

A candidate that fails any check was not a frame start: the splitter moves one byte on
and searches for the next ``0x7E``, so a real frame hidden behind garbage (even garbage
containing ``0x7E``) is still found. Frames that had a valid format and closing flag but a
bad check sequence, address or control field are counted in
:attr:`FrameSplitter.dropped_frames`; bytes that ended up in no frame are counted in
:attr:`FrameSplitter.discarded_bytes`. :meth:`FrameSplitter.feed` never raises.

While a candidate waits for more bytes, its header (addresses, control field and HCS) is
checked as soon as it has arrived, so a false start in line noise does not hold back the
frames behind it for long; and a declared length above ``max_frame_length`` is rejected
at once, without buffering.
"""

from __future__ import annotations

from binascii import crc_hqx

from .addresses import HdlcAddress
from .crc import BIT_REVERSED, GOOD_RESIDUE_RAW
from .frames import CONTROL_TABLE, FLAG, MAX_FRAME_LENGTH, MIN_FRAME_LENGTH, Frame, _make_frame

__all__ = ["FrameSplitter"]

# 1-byte addresses are the common case: decode them through an immutable table.
_ONE_BYTE_ADDRESS: tuple[HdlcAddress | None, ...] = tuple(
    HdlcAddress(value >> 1, None, 1) if value & 1 else None for value in range(256)
)

_NEED_MORE = 0
_INVALID = -1
_OK = 1


class FrameSplitter:
    """Split a byte stream into verified HDLC frames.

    ``max_frame_length`` bounds a whole frame including both flags (at most 2049, the
    11-bit length plus two flags); a frame declaring more is treated as garbage. Feed it
    the negotiated maximum information length plus the header overhead to reject
    oversized frames early.

    Counters (never reset by :meth:`feed`):

    - ``frames`` — frames returned,
    - ``dropped_frames`` — frame-shaped candidates rejected for a bad HCS, FCS, address
      or control field,
    - ``discarded_bytes`` — bytes that belonged to no returned frame (idle flags excluded).
    """

    __slots__ = (
        "_address_cache",
        "_buffer",
        "_free_flag",
        "_reversed",
        "discarded_bytes",
        "dropped_frames",
        "frames",
        "max_frame_length",
    )

    def __init__(self, max_frame_length: int = MAX_FRAME_LENGTH + 2) -> None:
        if not MIN_FRAME_LENGTH + 2 <= max_frame_length <= MAX_FRAME_LENGTH + 2:
            raise ValueError(
                f"max_frame_length must be {MIN_FRAME_LENGTH + 2}..{MAX_FRAME_LENGTH + 2} "
                f"(flags included), not {max_frame_length}"
            )
        self.max_frame_length = max_frame_length
        self._buffer = bytearray()
        self._reversed = bytearray()
        # Index in the buffer of a closing flag that may open the next frame (-1: none).
        self._free_flag = -1
        self._address_cache: dict[int, HdlcAddress] = {}
        self.frames = 0
        self.dropped_frames = 0
        self.discarded_bytes = 0

    @property
    def buffered(self) -> int:
        """Number of bytes held back, waiting for the rest of a frame."""
        return len(self._buffer)

    def reset(self) -> None:
        """Forget buffered bytes (after a disconnect, for instance); counters are kept."""
        self._buffer.clear()
        self._reversed.clear()
        self._free_flag = -1

    def feed(self, data: bytes | bytearray | memoryview) -> list[Frame]:
        """Add received bytes; return the frames completed by them, in stream order."""
        frames: list[Frame] = []
        if not data:
            return frames
        buffer = self._buffer
        reversed_buffer = self._reversed
        buffer += data
        reversed_buffer += (
            data.translate(BIT_REVERSED)
            if isinstance(data, bytes | bytearray)
            else bytes(data).translate(BIT_REVERSED)
        )
        size = len(buffer)
        maximum = self.max_frame_length
        free_flag = self._free_flag
        find = buffer.find
        append = frames.append
        good = GOOD_RESIDUE_RAW
        one_byte = _ONE_BYTE_ADDRESS
        control_table = CONTROL_TABLE
        address = self._address
        make_frame = _make_frame
        discarded = 0
        dropped = 0
        position = 0
        with memoryview(buffer) as view, memoryview(reversed_buffer) as reversed_view:
            while True:
                start = find(FLAG, position)
                if start < 0:
                    discarded += size - position
                    position = size
                    break
                discarded += start - position
                position = start
                if start + 3 > size:
                    break  # wait for the format field
                format_high = buffer[start + 1]
                if format_high & 0xF0 != 0xA0:
                    # Not a frame start: an idle flag (7E 7E) or noise.
                    if format_high != FLAG and start != free_flag:
                        discarded += 1
                    position = start + 1
                    continue
                length = ((format_high & 0x07) << 8) | buffer[start + 2]
                end = start + length + 2  # one past the closing flag
                if length < MIN_FRAME_LENGTH or length + 2 > maximum:
                    if start != free_flag:
                        discarded += 1
                    position = start + 1
                    continue
                if end > size:
                    if self._check_partial_header(buffer, reversed_view, start, length, size):
                        break  # plausible so far: wait for the rest
                    if start != free_flag:
                        discarded += 1
                    position = start + 1
                    continue
                if buffer[end - 1] != FLAG:
                    if start != free_flag:
                        discarded += 1
                    position = start + 1
                    continue
                # Verified from here on, or counted as a dropped frame. (Decoding is
                # inlined: this runs once per frame.)
                frame: Frame | None = None
                if crc_hqx(reversed_view[start + 1 : end - 1], 0xFFFF) == good:
                    fcs_start = end - 3
                    index = start + 3
                    first = buffer[index]
                    destination: HdlcAddress | None
                    source: HdlcAddress | None
                    if first & 1:
                        destination = one_byte[first]
                        index += 1
                    else:
                        destination, index = address(buffer, index, fcs_start)
                    if destination is not None and index + 2 <= fcs_start:
                        first = buffer[index]
                        if first & 1:
                            source = one_byte[first]
                            index += 1
                        else:
                            source, index = address(buffer, index, fcs_start)
                        if source is not None and index < fcs_start:
                            decoded = control_table[buffer[index]]
                            index += 1
                            if decoded is not None:
                                information: bytes | None = None
                                if index == fcs_start:
                                    information = b""
                                elif (
                                    index + 2 <= fcs_start
                                    and crc_hqx(reversed_view[start + 1 : index + 2], 0xFFFF)
                                    == good
                                ):
                                    information = bytes(view[index + 2 : fcs_start])
                                if information is not None:
                                    frame = make_frame(
                                        decoded[0],
                                        destination,
                                        source,
                                        decoded[1],
                                        decoded[2],
                                        decoded[3],
                                        bool(format_high & 0x08),
                                        information,
                                    )
                if frame is None:
                    dropped += 1
                    if start != free_flag:
                        discarded += 1
                    position = start + 1
                    continue
                append(frame)
                position = end - 1  # the closing flag may open the next frame
                free_flag = position
        if position:
            del buffer[:position]
            del reversed_buffer[:position]
            free_flag -= position
        self._free_flag = free_flag if free_flag >= 0 else -1
        self.discarded_bytes += discarded
        self.dropped_frames += dropped
        self.frames += len(frames)
        return frames

    def _address(
        self, buffer: bytearray, position: int, limit: int
    ) -> tuple[HdlcAddress | None, int]:
        """Decode an address at ``position`` (not past ``limit``); ``None`` when invalid."""
        first = buffer[position]
        if first & 1:
            return _ONE_BYTE_ADDRESS[first], position + 1
        if position + 2 <= limit and buffer[position + 1] & 1:
            key = 0x10000 | (first << 8) | buffer[position + 1]
            end = position + 2
        elif (
            position + 4 <= limit
            and not buffer[position + 1] & 1
            and not buffer[position + 2] & 1
            and buffer[position + 3] & 1
        ):
            key = 0x100000000 | int.from_bytes(buffer[position : position + 4], "big")
            end = position + 4
        else:
            return None, position
        cache = self._address_cache
        address = cache.get(key)
        if address is None:
            if end - position == 2:
                address = HdlcAddress(first >> 1, buffer[position + 1] >> 1, 2)
            else:
                address = HdlcAddress(
                    ((first >> 1) << 7) | (buffer[position + 1] >> 1),
                    ((buffer[position + 2] >> 1) << 7) | (buffer[position + 3] >> 1),
                    4,
                )
            if len(cache) < 1024:
                cache[key] = address
        return address, end

    def _check_partial_header(
        self,
        buffer: bytearray,
        reversed_view: memoryview,
        start: int,
        length: int,
        size: int,
    ) -> bool:
        """Whether an incomplete candidate is still plausible, from the bytes there are."""
        frame_end = start + 1 + length  # index of the closing flag
        position = start + 3
        for _ in range(2):  # destination, then source address
            extension_found = False
            for index in range(position, min(position + 4, size)):
                if buffer[index] & 1:
                    address_length = index - position + 1
                    if address_length == 3:
                        return False
                    position = index + 1
                    extension_found = True
                    break
            if not extension_found:
                return size - position < 4  # invalid once 4 bytes lack the extension bit
        if position >= size:
            return True
        if position + 3 > frame_end:
            return False  # no room for control and FCS
        if CONTROL_TABLE[buffer[position]] is None:
            return False
        header_end = position + 1
        if header_end + 2 == frame_end:
            return True  # no information field
        if header_end + 4 > frame_end:
            return False  # room for an HCS but not for HCS + FCS
        if header_end + 2 > size:
            return True
        return crc_hqx(reversed_view[start + 1 : header_end + 2], 0xFFFF) == GOOD_RESIDUE_RAW
