"""FrameSplitter: frames from any slicing of a byte stream, with noise in between."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asyncdlms.hdlc.addresses import HdlcAddress
from asyncdlms.hdlc.frames import Frame, FrameType, decode_frame
from asyncdlms.hdlc.splitter import FrameSplitter
from tests.conftest import vector
from tests.hdlc.test_frames import STANDARD_HDLC_VECTORS, frames

CLIENT = HdlcAddress.client(16)
SERVER = HdlcAddress.server(1, 17)


def feed_in_chunks(splitter: FrameSplitter, data: bytes, sizes: list[int]) -> list[Frame]:
    found: list[Frame] = []
    position = 0
    for size in itertools.cycle(sizes or [len(data) or 1]):
        if position >= len(data):
            break
        found += splitter.feed(data[position : position + size])
        position += size
    return found


def vector_frames() -> list[bytes]:
    return [bytes.fromhex(vector(vector_id)["hex"]) for vector_id in STANDARD_HDLC_VECTORS]


def test_vectors_in_one_chunk_and_byte_by_byte() -> None:
    # All standard hdlc vectors (see STANDARD_HDLC_VECTORS) back to back.
    raws = vector_frames()
    expected = [decode_frame(raw) for raw in raws]
    stream = b"".join(raws)
    splitter = FrameSplitter()
    assert splitter.feed(stream) == expected
    assert (splitter.frames, splitter.dropped_frames, splitter.discarded_bytes) == (9, 0, 0)
    splitter = FrameSplitter()
    one_by_one = [frame for byte in stream for frame in splitter.feed(bytes([byte]))]
    assert one_by_one == expected
    assert splitter.dropped_frames == 0 and splitter.discarded_bytes == 0


def test_frames_sharing_one_flag() -> None:
    raws = vector_frames()
    stream = b"".join(raw[:-1] for raw in raws) + b"\x7e"
    assert FrameSplitter().feed(stream) == [decode_frame(raw) for raw in raws]


def test_idle_flags_are_not_counted_as_garbage() -> None:
    raw = Frame(FrameType.RR, SERVER, CLIENT, True, None, 1).encode()
    splitter = FrameSplitter()
    assert splitter.feed(b"\x7e\x7e\x7e" + raw + b"\x7e\x7e" + raw) == [decode_frame(raw)] * 2
    assert splitter.discarded_bytes == 0


def test_kaifa_0x7e_in_information_fed_byte_by_byte() -> None:
    # amshan-hdlc-iframe-kaifa-0x7e-in-info
    raw = bytes.fromhex(vector("amshan-hdlc-iframe-kaifa-0x7e-in-info")["hex"])
    assert 0x7E in raw[1:-1]
    splitter = FrameSplitter()
    found = [frame for byte in raw for frame in splitter.feed(bytes([byte]))]
    assert found == [decode_frame(raw)]
    assert splitter.buffered == 1  # only the closing flag, kept for a following frame


def _frame_with_0x7e_in_check_bytes(which: str) -> bytes:
    for receive, send, filler in itertools.product(range(8), range(8), range(256)):
        frame = Frame(
            FrameType.I, SERVER, CLIENT, True, send, receive, information=bytes([filler, 0xC4])
        )
        raw = frame.encode()
        hcs = raw[7:9]
        fcs = raw[-3:-1]
        if (which == "fcs" and 0x7E in fcs) or (which == "hcs" and 0x7E in hcs):
            return raw
    raise AssertionError("no such frame")  # pragma: no cover


@pytest.mark.parametrize("which", ["fcs", "hcs"])
def test_0x7e_inside_hcs_or_fcs(which: str) -> None:
    raw = _frame_with_0x7e_in_check_bytes(which)
    other = Frame(FrameType.RR, SERVER, CLIENT, True, None, 2).encode()
    stream = raw + other + raw
    expected = [decode_frame(raw), decode_frame(other), decode_frame(raw)]
    for size in (1, 2, 3, 5, 7, len(stream)):
        splitter = FrameSplitter()
        assert feed_in_chunks(splitter, stream, [size]) == expected, size
        assert splitter.dropped_frames == 0


def test_two_frames_and_a_stray_rr_in_one_read() -> None:
    aare = bytes.fromhex(vector("dlmscosem-hdlc-iframe-aare")["hex"])
    rr = Frame(FrameType.RR, CLIENT, SERVER, True, None, 1).encode()
    found = FrameSplitter().feed(aare + rr + aare)
    assert [frame.frame_type for frame in found] == [FrameType.I, FrameType.RR, FrameType.I]


def test_junk_between_frames_is_discarded_and_counted() -> None:
    aarq = bytes.fromhex(vector("dlmscosem-hdlc-iframe-aarq")["hex"])
    junk = b"ATZ\r\nNO CARRIER\r\n"  # no 0x7E in it
    splitter = FrameSplitter()
    found = splitter.feed(junk + aarq + junk + aarq + junk)
    assert found == [decode_frame(aarq)] * 2
    assert splitter.discarded_bytes == 3 * len(junk)
    assert splitter.dropped_frames == 0
    assert splitter.buffered == 0


def test_junk_with_flags_and_fake_headers() -> None:
    aare = bytes.fromhex(vector("dlmscosem-hdlc-iframe-aare")["hex"])
    junk = [
        b"\x7e",
        b"\x7e\xa0",
        b"\x7e\xa0\x05\x7e",  # length below the minimum
        b"\x7e\xa0\x09\x03\x21\x93\x00\x00\x00\x00\x7e",  # bad FCS
        b"\x7e\xa7\xff\x02\x04\x07",  # 3-byte address: rejected before it is complete
        b"\x7e\xa0\x41\x03\x21\x10\x00\x00",  # bad HCS: rejected before it is complete
        b"\x00\x7e\xff\x7e",
    ]
    stream = b"".join(piece + aare for piece in junk)
    expected = [decode_frame(aare)] * len(junk)
    splitter = FrameSplitter()
    assert splitter.feed(stream) == expected
    assert splitter.dropped_frames == 1  # the one with a closing flag and a bad FCS
    assert splitter.buffered == 1
    splitter = FrameSplitter()
    assert feed_in_chunks(splitter, stream, [1]) == expected


def test_frame_with_bad_fcs_is_dropped_and_the_next_one_found() -> None:
    good = Frame(FrameType.I, SERVER, CLIENT, True, 1, 2, information=b"\xe6\xe6\x00\xc0").encode()
    bad = bytearray(good)
    bad[-2] ^= 0x01
    splitter = FrameSplitter()
    assert splitter.feed(bytes(bad) + good) == [decode_frame(good)]
    assert splitter.dropped_frames == 1
    assert splitter.discarded_bytes == len(bad) - 1  # its closing flag opens `good`


def test_frame_with_bad_hcs_is_dropped() -> None:
    good = Frame(FrameType.I, SERVER, CLIENT, True, 1, 2, information=b"\xe6\xe6\x00\xc0").encode()
    bad = bytearray(good)
    bad[7] ^= 0x01  # HCS
    # Recompute the FCS so that only the HCS is wrong.
    from asyncdlms.hdlc.crc import check_bytes

    bad[-3:-1] = check_bytes(bytes(bad[1:-3]))
    splitter = FrameSplitter()
    assert splitter.feed(bytes(bad) + good) == [decode_frame(good)]
    assert splitter.dropped_frames == 1


def test_byte_stuffed_vector_is_skipped() -> None:
    # amshan-hdlc-byte-stuffed: we do not undo byte stuffing (DLMS HDLC has none), so the
    # stuffed frame is skipped as garbage and the frame after it is still found.
    stuffed = bytes.fromhex(vector("amshan-hdlc-byte-stuffed")["hex"])
    good = Frame(FrameType.RR, SERVER, CLIENT, True, None, 0).encode()
    splitter = FrameSplitter()
    assert splitter.feed(stuffed + good) == [decode_frame(good)]
    assert splitter.discarded_bytes == len(stuffed) - 1


def test_long_declared_length_is_rejected_without_buffering() -> None:
    splitter = FrameSplitter(max_frame_length=100)
    big = Frame(FrameType.UI, SERVER, CLIENT, information=bytes(200)).encode()
    small = Frame(FrameType.UI, SERVER, CLIENT, information=bytes(50)).encode()
    assert splitter.feed(big[:20]) == []
    assert splitter.buffered == 0
    assert splitter.feed(big[20:] + small) == [decode_frame(small)]
    with pytest.raises(ValueError):
        FrameSplitter(max_frame_length=5000)


def test_segmented_frames_keep_the_segmentation_bit() -> None:
    # dlmscosem-hdlc-iframe-segmented-middle
    raw = bytes.fromhex(vector("dlmscosem-hdlc-iframe-segmented-middle")["hex"])
    (frame,) = FrameSplitter().feed(raw)
    assert frame.segmented is True
    assert frame == decode_frame(raw)


def test_four_byte_addresses_and_reset() -> None:
    server = HdlcAddress.server(1, 6678)
    raws = [
        Frame(FrameType.I, server, CLIENT, True, n, n, information=bytes([n])).encode()
        for n in range(8)
    ]
    splitter = FrameSplitter()
    assert splitter.feed(b"".join(raws)) == [decode_frame(raw) for raw in raws]
    assert splitter.feed(raws[0][:10]) == []
    assert splitter.buffered > 1
    splitter.reset()
    assert splitter.buffered == 0
    assert splitter.feed(raws[1]) == [decode_frame(raws[1])]


garbage = st.binary(max_size=40) | st.lists(
    st.sampled_from([0x7E, 0xA0, 0xA8, 0x03, 0x21, 0x13, 0x10, 0x00]), max_size=20
).map(bytes)


@settings(max_examples=200)
@given(
    st.lists(st.tuples(garbage, frames(max_information=150)), max_size=6),
    garbage,
    st.lists(st.integers(1, 64), min_size=1, max_size=8),
    st.booleans(),
)
def test_any_chunking_of_frames_and_garbage_gives_the_frames(
    pieces: list[tuple[bytes, Frame]], tail: bytes, sizes: list[int], share_flags: bool
) -> None:
    stream = bytearray()
    previous_was_frame = False
    for noise, frame in pieces:
        stream += noise
        raw = frame.encode()
        # Share the flag with the frame before when nothing lies between them.
        stream += raw[1:] if share_flags and previous_was_frame and not noise else raw
        previous_was_frame = True
    stream += tail
    expected = [frame for _, frame in pieces]
    in_one = FrameSplitter().feed(bytes(stream))
    assert in_one == expected
    assert feed_in_chunks(FrameSplitter(), bytes(stream), sizes) == expected


@given(st.binary(max_size=600), st.lists(st.integers(1, 50), min_size=1, max_size=5))
def test_random_bytes_never_raise(data: bytes, sizes: list[int]) -> None:
    splitter = FrameSplitter()
    found = feed_in_chunks(splitter, data, sizes)
    for frame in found:
        assert frame.encode() in data
    assert splitter.buffered <= splitter.max_frame_length + max(sizes)
    assert splitter.frames == len(found)
    assert splitter.discarded_bytes <= len(data)


def test_partial_candidates_are_judged_by_their_header() -> None:
    # A false start in line noise is rejected as soon as its header shows it is not a
    # frame, so it does not hold back what follows.
    for noise in (
        b"\x7e\xa7\xff\x02\x04\x07",  # 3-byte destination address
        b"\x7e\xa7\xff\x02\x04\x06\x08\x0a",  # no extension bit within 4 bytes
        b"\x7e\xa0\x41\x03\x21\x10\x00\x00",  # bad HCS
        b"\x7e\xa0\x41\x03\x21\x19",  # REJ control field, not used by DLMS
    ):
        splitter = FrameSplitter()
        assert splitter.feed(noise) == []
        assert splitter.buffered == 0, noise.hex()
        assert splitter.discarded_bytes == len(noise)
    # The header of a real frame keeps it waiting.
    raw = Frame(FrameType.UI, SERVER, CLIENT, information=bytes(100)).encode()
    for cut in (3, 5, 7, 10, 60):
        splitter = FrameSplitter()
        assert splitter.feed(raw[:cut]) == []
        assert splitter.buffered == cut
    splitter = FrameSplitter()
    assert splitter.feed(raw[:60]) == []
    assert splitter.buffered == 60
    assert splitter.feed(raw[60:]) == [decode_frame(raw)]


def test_frame_missing_a_check_byte_does_not_hide_the_next_one() -> None:
    # Quirk 18: a frame that lost one byte of its FCS; the next frame still decodes.
    aare = bytes.fromhex(vector("dlmscosem-hdlc-iframe-aare")["hex"])
    truncated = aare[:-3] + aare[-2:]
    rr = Frame(FrameType.RR, CLIENT, SERVER, True, None, 1).encode()
    for stream in (truncated + rr, truncated + aare):
        splitter = FrameSplitter()
        found = feed_in_chunks(splitter, stream, [7])
        assert found == [decode_frame(stream[len(truncated) :])]
        # Its last byte, a 0x7E right before the next frame's flag, counts as an idle flag.
        assert splitter.discarded_bytes == len(truncated) - 1


def test_feed_accepts_memoryview_and_bytearray() -> None:
    raw = bytes.fromhex(vector("dlmscosem-hdlc-iframe-aarq")["hex"])
    splitter = FrameSplitter()
    assert splitter.feed(memoryview(raw)[:10]) == []
    assert splitter.feed(bytearray(raw[10:])) == [decode_frame(raw)]
    assert splitter.feed(b"") == []
