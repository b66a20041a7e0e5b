"""IEC 62056-47 wrapper: header codec, UDP datagrams, TCP stream splitting."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncdlms.errors import EncodeError, WrapperError
from asyncdlms.wrapper import (
    WrapperFrame,
    WrapperHeader,
    WrapperSplitter,
    WrapperStreamError,
    decode_datagram,
    encode_frame,
)
from tests.conftest import load_vectors, vector

WRAPPER_VECTORS = [
    "dlmscosem-wrapper-udp-general-glo-ciphering-0",
    "dlmscosem-wrapper-udp-general-glo-ciphering-12",
]


def test_every_wrapper_vector_is_covered() -> None:
    assert {item["id"] for item in load_vectors("wrapper")} == set(WRAPPER_VECTORS)


@pytest.mark.parametrize("vector_id", WRAPPER_VECTORS)
def test_vector_udp_datagram(vector_id: str) -> None:
    item = vector(vector_id)
    raw = bytes.fromhex(item["hex"])
    header = item["verification"]["wrapper_header"]
    frame = decode_datagram(raw)
    assert frame.source_wport == header["source_wport"]
    assert frame.destination_wport == header["destination_wport"]
    assert len(frame.apdu) == header["length"]
    assert frame.header == WrapperHeader(
        header["source_wport"], header["destination_wport"], header["length"], header["version"]
    )
    assert WrapperHeader.decode(raw) == frame.header
    assert frame.apdu[0] == 0xDB  # general-glo-ciphering, as the vector states
    assert frame.apdu[2:10] == bytes.fromhex(item["expected"]["system_title"])
    assert frame.encode() == raw


def test_vector_0_expected_header() -> None:
    # dlmscosem-wrapper-udp-general-glo-ciphering-0 states version/wPorts/length itself.
    item = vector("dlmscosem-wrapper-udp-general-glo-ciphering-0")
    expected = item["expected"]["wrapper"]
    header = WrapperHeader.decode(bytes.fromhex(item["hex"]))
    assert (header.version, header.source_wport, header.destination_wport, header.length) == (
        expected["version"],
        expected["source_wport"],
        expected["destination_wport"],
        expected["length"],
    )


def test_header_encoding() -> None:
    assert WrapperFrame(16, 1, b"\xc0\x01").encode() == bytes.fromhex("0001001000010002c001")
    assert WrapperHeader(0x1234, 0xFFFF, 0).encode() == bytes.fromhex("00011234ffff0000")
    with pytest.raises(EncodeError):
        WrapperFrame(0x10000, 1, b"").encode()
    with pytest.raises(EncodeError):
        WrapperFrame(1, 1, bytes(0x10000)).encode()
    with pytest.raises(EncodeError):
        WrapperHeader(1, 1, 0x10000).encode()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (bytes.fromhex("00010010000100"), "8-byte wrapper header"),
        (bytes.fromhex("0002001000010001c0"), "version"),
        (bytes.fromhex("0001001000010002c0"), "carries 1"),
        (bytes.fromhex("0001001000010000c0"), "carries 1"),
    ],
)
def test_bad_datagrams(data: bytes, reason: str) -> None:
    with pytest.raises(WrapperError, match=reason):
        decode_datagram(data)


def test_datagram_length_bound() -> None:
    raw = WrapperFrame(1, 16, bytes(100)).encode()
    assert decode_datagram(raw, max_apdu_length=100).apdu == bytes(100)
    with pytest.raises(WrapperError, match="maximum APDU length 99"):
        decode_datagram(raw, max_apdu_length=99)


def test_version_check_can_be_skipped() -> None:
    header = WrapperHeader.decode(bytes.fromhex("0002001000010000"), check_version=False)
    assert header.version == 2


frames_strategy = st.builds(
    WrapperFrame, st.integers(0, 0xFFFF), st.integers(0, 0xFFFF), st.binary(max_size=300)
)


@given(frames_strategy)
def test_round_trip(frame: WrapperFrame) -> None:
    assert decode_datagram(frame.encode()) == frame


@given(st.integers(-2, 0x10001), st.integers(-2, 0x10001), st.binary(max_size=300))
def test_encode_frame_is_the_frame_encoding(source: int, destination: int, apdu: bytes) -> None:
    try:
        expected: bytes | type[EncodeError] = WrapperFrame(source, destination, apdu).encode()
    except EncodeError:
        expected = EncodeError
    if expected is EncodeError:
        with pytest.raises(EncodeError):
            encode_frame(source, destination, apdu)
    else:
        assert encode_frame(source, destination, apdu) == expected


def test_encode_frame_refuses_an_apdu_too_long() -> None:
    with pytest.raises(EncodeError, match="does not fit a wrapper frame"):
        encode_frame(16, 1, bytes(0x10000))


@given(st.lists(frames_strategy, min_size=1, max_size=4), st.binary(max_size=12))
def test_whole_frames_one_per_read_then_a_partial_one(
    frames: list[WrapperFrame], tail: bytes
) -> None:
    """One whole frame per read (the splitter's short way), then bytes that are not a
    whole frame (its general way): the same frames either way."""
    splitter = WrapperSplitter()
    found = [frame for whole in frames for frame in splitter.feed(whole.encode())]
    assert found == frames and splitter.frames == len(frames)
    assert splitter.buffered == 0
    partial = WrapperFrame(1, 16, tail).encode()[:-1]
    assert splitter.feed(partial) == []
    assert splitter.buffered == len(partial)


def test_a_whole_frame_with_another_version_fails_the_stream() -> None:
    raw = b"\x00\x02" + WrapperFrame(1, 16, b"\x01").encode()[2:]
    splitter = WrapperSplitter()
    with pytest.raises(WrapperStreamError, match="version"):
        splitter.feed(raw)
    with pytest.raises(WrapperError):
        splitter.feed(WrapperFrame(1, 16, b"\x01").encode())  # stays failed


def test_a_whole_frame_over_the_length_bound_fails_the_stream() -> None:
    splitter = WrapperSplitter(max_apdu_length=4)
    with pytest.raises(WrapperStreamError, match="maximum APDU length 4"):
        splitter.feed(WrapperFrame(1, 16, bytes(5)).encode())


@given(st.lists(frames_strategy, max_size=8), st.lists(st.integers(1, 40), min_size=1))
def test_any_chunking_of_a_stream(frames: list[WrapperFrame], sizes: list[int]) -> None:
    stream = b"".join(frame.encode() for frame in frames)
    splitter = WrapperSplitter()
    found: list[WrapperFrame] = []
    position = 0
    for size in itertools.cycle(sizes):
        if position >= len(stream):
            break
        found += splitter.feed(stream[position : position + size])
        position += size
    assert found == frames
    assert splitter.buffered == 0
    assert splitter.frames == len(frames)


def test_header_split_across_reads() -> None:
    raw = WrapperFrame(1, 16, b"\xc4\x01\xc1\x00\x06\x00\x00\x00\x2a").encode()
    splitter = WrapperSplitter()
    assert splitter.feed(raw[:3]) == []
    assert splitter.feed(raw[3:7]) == []
    assert splitter.buffered == 7
    assert splitter.feed(raw[7:9]) == []
    assert splitter.feed(raw[9:] + raw[:1]) == [WrapperFrame(1, 16, raw[8:])]
    assert splitter.buffered == 1


def test_wrong_version_in_a_stream_fails_the_stream() -> None:
    good = WrapperFrame(1, 16, b"\x01\x02").encode()
    splitter = WrapperSplitter()
    with pytest.raises(WrapperStreamError, match="version") as info:
        splitter.feed(good + b"\x7e\xa0\x07\x21\x03\x73\x01\x40\x7e")  # HDLC on a wrapper port
    assert info.value.frames == [WrapperFrame(1, 16, b"\x01\x02")]
    assert isinstance(info.value, WrapperError)
    with pytest.raises(WrapperError):
        splitter.feed(good)  # stays failed
    splitter.reset()
    assert splitter.feed(good) == [WrapperFrame(1, 16, b"\x01\x02")]


def test_length_bound_in_a_stream() -> None:
    splitter = WrapperSplitter(max_apdu_length=10)
    with pytest.raises(WrapperError, match="maximum APDU length 10"):
        splitter.feed(WrapperFrame(1, 16, bytes(11)).encode()[:8])  # header alone suffices
    with pytest.raises(ValueError):
        WrapperSplitter(max_apdu_length=70000)


@given(st.binary(max_size=200))
def test_random_bytes_raise_only_wrapper_error(data: bytes) -> None:
    splitter = WrapperSplitter()
    try:
        found = splitter.feed(data)
    except WrapperError as error:
        assert "wrapper" in str(error)
    else:
        assert b"".join(frame.encode() for frame in found) == data[: len(data) - splitter.buffered]
