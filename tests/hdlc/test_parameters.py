"""SNRM/UA HDLC parameter negotiation field."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncdlms.errors import DecodeError
from asyncdlms.hdlc.frames import decode_frame
from asyncdlms.hdlc.parameters import HdlcParameters
from tests.conftest import vector


def test_vector_ua_parameters_round_trip() -> None:
    # dlmscosem-hdlc-ua-params-2byte-server: 05 01 9A 06 01 9A 07 04 00000001 08 04 00000001
    frame = decode_frame(bytes.fromhex(vector("dlmscosem-hdlc-ua-params-2byte-server")["hex"]))
    parameters = HdlcParameters.decode(frame.information)
    assert parameters.max_info_length_tx == 0x9A
    assert parameters.max_info_length_rx == 0x9A
    assert parameters.window_size_tx == 1
    assert parameters.window_size_rx == 1
    assert parameters.encode() == frame.information


def test_empty_information_field_means_defaults() -> None:
    parameters = HdlcParameters.decode(b"")
    assert parameters == HdlcParameters(128, 128, 1, 1)
    assert parameters.is_default


def test_encode_all_and_omit_defaults() -> None:
    assert HdlcParameters().encode() == bytes.fromhex("818012050180060180070400000001080400000001")
    assert HdlcParameters().encode(omit_defaults=True) == b""
    assert HdlcParameters(1024, 128, 7, 1).encode(omit_defaults=True) == bytes.fromhex(
        "81800a05020400070400000007"
    )
    assert HdlcParameters(70000, 62).encode(omit_defaults=True) == bytes.fromhex(
        "81800905040001117006013e"
    )


@pytest.mark.parametrize(
    ("information", "expected"),
    [
        # 1-, 2- and 4-byte values (quirk 11)
        ("81800c05013e06013e070101080101", HdlcParameters(62, 62, 1, 1)),
        ("81800e0502040006020200070107080101", HdlcParameters(1024, 512, 7, 1)),
        (
            "8180180504000000800604000000f8070400000001080400000003",
            HdlcParameters(128, 248, 1, 3),
        ),
        # missing parameters keep their defaults
        ("8180030601f8", HdlcParameters(128, 248, 1, 1)),
        ("818000", HdlcParameters()),
        # unknown parameter ids are skipped
        ("8180090302aabb0601f80900", HdlcParameters(128, 248, 1, 1)),
    ],
)
def test_decode(information: str, expected: HdlcParameters) -> None:
    assert HdlcParameters.decode(bytes.fromhex(information)) == expected


@pytest.mark.parametrize(
    ("information", "reason", "offset"),
    [
        ("8180", "81 80 <length>", 0),
        ("828003050180", "format identifier", 0),
        ("818103050180", "group identifier", 1),
        ("818004050180", "group length", 2),
        ("81800105", "cut after its identifier", 3),
        ("8180030502ff", "declares 2 value bytes", 4),
        ("81800705050000000001", "1, 2 or 4 bytes", 4),
        ("8180020500", "1, 2 or 4 bytes", 4),
        ("818003050100", "out of range", None),
        ("818006070400000009", "out of range", None),
    ],
)
def test_malformed(information: str, reason: str, offset: int | None) -> None:
    with pytest.raises(DecodeError, match=reason) as info:
        HdlcParameters.decode(bytes.fromhex(information))
    assert info.value.offset == offset


def test_validation() -> None:
    with pytest.raises(ValueError):
        HdlcParameters(window_size_tx=8)
    with pytest.raises(ValueError):
        HdlcParameters(max_info_length_rx=0)


@given(
    st.builds(
        HdlcParameters,
        st.integers(1, 0xFFFFFFFF),
        st.integers(1, 0xFFFFFFFF),
        st.integers(1, 7),
        st.integers(1, 7),
    ),
    st.booleans(),
)
def test_round_trip(parameters: HdlcParameters, omit_defaults: bool) -> None:
    assert HdlcParameters.decode(parameters.encode(omit_defaults=omit_defaults)) == parameters


@given(st.binary(max_size=40))
def test_random_bytes_raise_only_decode_error(data: bytes) -> None:
    try:
        parameters = HdlcParameters.decode(data)
    except DecodeError as error:
        assert error.offset is None or 0 <= error.offset < len(data)
    else:
        assert HdlcParameters.decode(parameters.encode()) == parameters
