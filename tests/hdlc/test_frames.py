"""HDLC frame codec: vectors, control field, round trips and error reporting."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncdlms.errors import DecodeError, EncodeError
from asyncdlms.hdlc.addresses import HdlcAddress
from asyncdlms.hdlc.crc import check_bytes
from asyncdlms.hdlc.frames import (
    LLC_REQUEST,
    LLC_RESPONSE,
    Frame,
    FrameType,
    add_llc_header,
    decode_control,
    decode_frame,
    encode_control,
    strip_llc_header,
)
from asyncdlms.hdlc.parameters import HdlcParameters
from tests.conftest import load_vectors, vector

CLIENT = HdlcAddress.client(16)
SERVER = HdlcAddress.server(1, 17)

# Vectors that are standard DLMS frames (everything but the byte-stuffed robustness one).
STANDARD_HDLC_VECTORS = [
    "dlmscosem-hdlc-snrm-no-params-2byte-server",
    "dlmscosem-hdlc-ua-params-2byte-server",
    "dlmscosem-hdlc-iframe-aarq",
    "dlmscosem-hdlc-iframe-aare",
    "dlmscosem-hdlc-iframe-segmented-middle",
    "dlmscosem-hdlc-ui-aidon-han-list",
    "amshan-hdlc-ui-kamstrup-se-list-3phase",
    "amshan-hdlc-ui-aidon-0x7d-in-info",
    "amshan-hdlc-iframe-kaifa-0x7e-in-info",
]


def _address_from_expected(expected: dict[str, Any]) -> HdlcAddress:
    physical = expected.get("physical_address")
    if physical is None:
        return HdlcAddress(expected["logical_address"])
    return HdlcAddress.server(expected["logical_address"], physical)


def test_every_hdlc_vector_is_classified() -> None:
    ids = {item["id"] for item in load_vectors("hdlc")}
    assert set(STANDARD_HDLC_VECTORS) | {"amshan-hdlc-byte-stuffed"} == ids


@pytest.mark.parametrize("vector_id", STANDARD_HDLC_VECTORS)
def test_vector_decodes_and_reencodes_byte_for_byte(vector_id: str) -> None:
    item = vector(vector_id)
    raw = bytes.fromhex(item["hex"])
    check = item["verification"]
    frame = decode_frame(raw)
    assert frame.frame_length == check["length_field"] == len(raw) - 2
    assert frame.segmented is check["segmentation_bit"]
    assert frame.control == int(check["control"], 16)
    assert frame.destination.encode() == bytes.fromhex(check["dest_address_bytes"])
    assert frame.source.encode() == bytes.fromhex(check["src_address_bytes"])
    assert frame.encode() == raw


def test_vector_snrm_without_parameters() -> None:
    # dlmscosem-hdlc-snrm-no-params-2byte-server
    item = vector("dlmscosem-hdlc-snrm-no-params-2byte-server")
    frame = decode_frame(bytes.fromhex(item["hex"]))
    assert frame.frame_type is FrameType[item["expected"]["frame_type"]]
    assert frame.destination == _address_from_expected(item["expected"]["destination"])
    assert frame.source == _address_from_expected(item["expected"]["source"])
    assert frame.poll_final is True
    assert frame.information == b""
    assert HdlcParameters.decode(frame.information) == HdlcParameters()
    built = Frame(FrameType.SNRM, SERVER, CLIENT)
    assert built.encode().hex() == item["hex"]


def test_vector_ua_with_parameters() -> None:
    # dlmscosem-hdlc-ua-params-2byte-server
    item = vector("dlmscosem-hdlc-ua-params-2byte-server")
    frame = decode_frame(bytes.fromhex(item["hex"]))
    assert frame.frame_type is FrameType.UA
    assert frame.source == _address_from_expected(item["expected"]["source"])
    assert frame.destination == _address_from_expected(item["expected"]["destination"])
    information = item["expected"]["information_field"].split()[0]
    assert frame.information == bytes.fromhex(information)
    parameters = HdlcParameters.decode(frame.information)
    assert parameters == HdlcParameters(0x9A, 0x9A, 1, 1)
    rebuilt = Frame(FrameType.UA, CLIENT, SERVER, information=parameters.encode())
    assert rebuilt.encode().hex() == item["hex"]


@pytest.mark.parametrize("vector_id", ["dlmscosem-hdlc-iframe-aarq", "dlmscosem-hdlc-iframe-aare"])
def test_vector_information_frames(vector_id: str) -> None:
    item = vector(vector_id)
    expected = item["expected"]
    frame = decode_frame(bytes.fromhex(item["hex"]))
    assert frame.frame_type is FrameType.I
    assert frame.send_sequence == expected["send_sequence_number"]
    assert frame.receive_sequence == expected["receive_sequence_number"]
    assert frame.poll_final is expected["final"]
    assert frame.segmented is expected["segmented"]
    assert frame.information == bytes.fromhex(expected["information"])
    assert frame.destination == _address_from_expected(expected["destination"])
    assert frame.source == _address_from_expected(expected["source"])
    response = frame.source.physical is not None  # sent by the server
    apdu = strip_llc_header(frame.information, response=response)
    assert add_llc_header(apdu, response=response) == frame.information
    rebuilt = Frame(
        FrameType.I,
        frame.destination,
        frame.source,
        True,
        expected["send_sequence_number"],
        expected["receive_sequence_number"],
        information=bytes.fromhex(expected["information"]),
    )
    assert rebuilt.encode().hex() == item["hex"]


def test_vector_segmented_middle_frame() -> None:
    # dlmscosem-hdlc-iframe-segmented-middle: addresses (16, None, 1) and (1, None, 1).
    item = vector("dlmscosem-hdlc-iframe-segmented-middle")
    frame = decode_frame(bytes.fromhex(item["hex"]))
    logical, physical, length = item["expected"]["destination_address_tuple"]
    assert frame.destination == HdlcAddress(logical, physical, length)
    logical, physical, length = item["expected"]["source_address_tuple"]
    assert frame.source == HdlcAddress(logical, physical, length)
    assert frame.segmented is True
    assert frame.frame_type is FrameType.I
    # A continuation segment carries no LLC header.
    with pytest.raises(DecodeError):
        strip_llc_header(frame.information)


@pytest.mark.parametrize(
    "vector_id",
    [
        "dlmscosem-hdlc-ui-aidon-han-list",
        "amshan-hdlc-ui-kamstrup-se-list-3phase",
        "amshan-hdlc-ui-aidon-0x7d-in-info",
    ],
)
def test_vector_ui_pushes(vector_id: str) -> None:
    item = vector(vector_id)
    raw = bytes.fromhex(item["hex"])
    frame = decode_frame(raw)
    assert frame.frame_type is FrameType.UI
    assert frame.information.startswith(LLC_RESPONSE)
    # data-notification tag 0x0F follows the LLC header.
    assert strip_llc_header(frame.information, response=True)[0] == 0x0F
    if item["expected"].get("payload") == "frame[8:-2]":
        # amshan indexes the frame without its flags; its payload includes the LLC header.
        assert frame.information == raw[1:-1][8:-2]
    if item["expected"].get("contains_byte_7D_unescaped"):
        assert 0x7D in frame.information


def test_vector_kaifa_0x7e_in_information() -> None:
    # amshan-hdlc-iframe-kaifa-0x7e-in-info: 0x7E inside the information field, no stuffing.
    item = vector("amshan-hdlc-iframe-kaifa-0x7e-in-info")
    raw = bytes.fromhex(item["hex"])
    frame = decode_frame(raw)
    assert item["expected"]["contains_byte_7E_unescaped"]
    assert 0x7E in frame.information
    assert frame.frame_type is FrameType.I
    assert frame.destination == HdlcAddress(0)
    assert frame.source == HdlcAddress(1, 0, 2)
    assert frame.encode() == raw


def test_vector_byte_stuffed_is_not_unstuffed() -> None:
    # amshan-hdlc-byte-stuffed: DLMS HDLC (IEC 62056-46) does not byte-stuff; we do not
    # undo RFC 1662 stuffing, so the stuffed bytes fail the length check...
    item = vector("amshan-hdlc-byte-stuffed")
    raw = bytes.fromhex(item["hex"])
    with pytest.raises(DecodeError, match="length field says 13"):
        decode_frame(raw)
    # ...while the unstuffed frame the vector's verification gives is a valid frame
    # with 0x7E and 0x7D in its information field.
    unstuffed = bytes.fromhex(item["verification"]["unstuffed"])
    frame = decode_frame(b"\x7e" + unstuffed + b"\x7e")
    assert frame.frame_type is FrameType.I
    assert frame.information == b"\x7e\x7d\x03"


def test_ua_without_information_field_quirk_11() -> None:
    raw = bytes.fromhex("7EA0072103730140 7E".replace(" ", ""))
    frame = decode_frame(raw)
    assert frame.frame_type is FrameType.UA
    assert frame.destination == HdlcAddress.client(16)
    assert frame.source == HdlcAddress.server(1)
    assert frame.information == b""
    assert HdlcParameters.decode(frame.information) == HdlcParameters(128, 128, 1, 1)
    assert Frame(FrameType.UA, CLIENT, HdlcAddress.server(1)).encode() == raw


# -- control field ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("control", "expected"),
    [
        (0x93, (FrameType.SNRM, True, None, None)),
        (0x83, (FrameType.SNRM, False, None, None)),
        (0x73, (FrameType.UA, True, None, None)),
        (0x53, (FrameType.DISC, True, None, None)),
        (0x1F, (FrameType.DM, True, None, None)),
        (0x97, (FrameType.FRMR, True, None, None)),
        (0x13, (FrameType.UI, True, None, None)),
        (0x03, (FrameType.UI, False, None, None)),
        (0x10, (FrameType.I, True, 0, 0)),
        (0x30, (FrameType.I, True, 0, 1)),
        (0x32, (FrameType.I, True, 1, 1)),
        (0xFE, (FrameType.I, True, 7, 7)),
        (0x96, (FrameType.I, True, 3, 4)),
        (0x11, (FrameType.RR, True, None, 0)),
        (0xF1, (FrameType.RR, True, None, 7)),
        (0x51, (FrameType.RR, True, None, 2)),
        (0x35, (FrameType.RNR, True, None, 1)),
    ],
)
def test_control_field(control: int, expected: tuple[Any, ...]) -> None:
    assert decode_control(control) == expected
    assert encode_control(*expected) == control


@pytest.mark.parametrize("control", [0x09, 0x0D, 0x19, 0x2F, 0xFF, 0x23])
def test_control_fields_dlms_does_not_use(control: int) -> None:
    with pytest.raises(DecodeError, match="control field"):
        decode_control(control)


def test_frame_validation() -> None:
    with pytest.raises(EncodeError, match="N\\(S\\) and N\\(R\\)"):
        Frame(FrameType.I, SERVER, CLIENT)
    with pytest.raises(EncodeError, match=r"0\.\.7"):
        Frame(FrameType.I, SERVER, CLIENT, True, 8, 0)
    with pytest.raises(EncodeError, match="needs N\\(R\\)"):
        Frame(FrameType.RR, SERVER, CLIENT)
    with pytest.raises(EncodeError, match="no sequence numbers"):
        Frame(FrameType.UA, SERVER, CLIENT, True, None, 1)
    with pytest.raises(EncodeError, match="11-bit"):
        Frame(FrameType.UI, SERVER, CLIENT, information=bytes(2040))
    assert Frame(FrameType.UI, SERVER, CLIENT, information=bytes(2037)).frame_length == 2047


def test_encode_short_frames_without_hcs() -> None:
    rr = Frame(FrameType.RR, SERVER, CLIENT, True, None, 3)
    raw = rr.encode()
    assert raw[0] == raw[-1] == 0x7E
    assert raw[1:3] == b"\xa0\x08"
    assert raw[6] == 0x71
    assert raw[7:9] == check_bytes(raw[1:7])
    disc = Frame(FrameType.DISC, SERVER, CLIENT).encode()
    assert disc[:7] == bytes.fromhex("7EA00802232153")
    assert disc[7:9] == check_bytes(disc[1:7]) and disc[9:] == b"\x7e"
    assert decode_frame(disc).frame_type is FrameType.DISC


# -- round trip and robustness ----------------------------------------------------------

addresses = st.one_of(
    st.builds(HdlcAddress, st.integers(0, 127)),
    st.builds(HdlcAddress, st.integers(0, 127), st.integers(0, 127), st.just(2)),
    st.builds(HdlcAddress, st.integers(0, 0x3FFF), st.integers(0, 0x3FFF), st.just(4)),
)
sequence = st.integers(0, 7)


@st.composite
def frames(draw: st.DrawFn, max_information: int = 300) -> Frame:
    frame_type = draw(st.sampled_from(list(FrameType)))
    send = draw(sequence) if frame_type is FrameType.I else None
    receive = draw(sequence) if frame_type in (FrameType.I, FrameType.RR, FrameType.RNR) else None
    information = (
        draw(st.binary(max_size=max_information))
        if frame_type in (FrameType.I, FrameType.UI, FrameType.SNRM, FrameType.UA, FrameType.FRMR)
        else b""
    )
    return Frame(
        frame_type,
        draw(addresses),
        draw(addresses),
        draw(st.booleans()),
        send,
        receive,
        draw(st.booleans()),
        information,
    )


@given(frames())
def test_round_trip(frame: Frame) -> None:
    raw = frame.encode()
    assert len(raw) == frame.frame_length + 2
    assert decode_frame(raw) == frame
    assert decode_frame(bytearray(raw)) == frame


@given(st.binary(max_size=80))
def test_decode_frame_on_random_bytes_raises_only_decode_error(data: bytes) -> None:
    try:
        frame = decode_frame(data)
    except DecodeError as error:
        assert error.offset is None or 0 <= error.offset <= len(data)
    else:
        assert frame.encode() == data


@given(st.binary(min_size=3, max_size=60), st.sampled_from([0x7E, 0xA0]))
def test_decode_frame_on_flag_framed_random_bytes(middle: bytes, first: int) -> None:
    data = b"\x7e" + bytes([first]) + middle + b"\x7e"
    try:
        frame = decode_frame(data)
    except DecodeError as error:
        assert error.offset is None or 0 <= error.offset < len(data)
        assert error.reason
    else:
        assert frame.encode() == data


@given(frames(max_information=40), st.data())
def test_any_corrupted_byte_is_rejected(frame: Frame, data: st.DataObject) -> None:
    raw = bytearray(frame.encode())
    index = data.draw(st.integers(1, len(raw) - 2))
    raw[index] ^= data.draw(st.integers(1, 255))
    with pytest.raises(DecodeError):
        decode_frame(bytes(raw))


def test_decode_errors_name_offset_and_expectation() -> None:
    good = Frame(FrameType.I, SERVER, CLIENT, True, 0, 0, information=b"\xe6\xe6\x00\xc0").encode()
    cases: list[tuple[bytes, str, int]] = [
        (good[:5], "at least 9 bytes", 0),
        (b"\x00" + good[1:], "opening flag", 0),
        (good[:-1] + b"\x00", "closing flag", len(good) - 1),
        (good[:1] + b"\x80" + good[2:], "format type 3", 1),
        (good[:2] + bytes([good[2] + 1]) + good[3:], "length field", 1),
        (good[:-3] + bytes([good[-3] ^ 1]) + good[-2:], "bad FCS", len(good) - 3),
    ]
    # bad HCS with a recomputed FCS
    body = bytearray(good[1:-3])
    body[6] ^= 0xFF
    cases.append((b"\x7e" + bytes(body) + check_bytes(body) + b"\x7e", "bad HCS", 7))
    # 3-byte address with a recomputed FCS
    body = bytearray(good[1:-3])
    body[2:5] = b"\x02\x04\x07"
    cases.append((b"\x7e" + bytes(body) + check_bytes(body) + b"\x7e", "3 bytes", 3))
    # REJ control byte
    body = bytearray(good[1:-3])
    body[5] = 0x19
    cases.append((b"\x7e" + bytes(body) + check_bytes(body) + b"\x7e", "control field", 6))
    for data, reason, offset in cases:
        with pytest.raises(DecodeError, match=reason) as info:
            decode_frame(data)
        assert info.value.offset == offset, reason


def test_llc_helpers() -> None:
    assert bytes.fromhex("E6E600") == LLC_REQUEST
    assert bytes.fromhex("E6E700") == LLC_RESPONSE
    assert add_llc_header(b"\xc0", response=False) == b"\xe6\xe6\x00\xc0"
    assert add_llc_header(b"\xc4", response=True) == b"\xe6\xe7\x00\xc4"
    assert strip_llc_header(b"\xe6\xe6\x00\xc0") == b"\xc0"
    assert strip_llc_header(b"\xe6\xe7\x00\xc4", response=True) == b"\xc4"
    with pytest.raises(DecodeError, match="E6 E7 00"):
        strip_llc_header(b"\xe6\xe6\x00\xc0", response=True)
    with pytest.raises(DecodeError):
        strip_llc_header(b"\xe6")
