"""xDLMS InitiateRequest / InitiateResponse and the conformance block."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncdlms.apdu.initiate import (
    LN_VAA_NAME,
    SN_VAA_NAME,
    Conformance,
    InitiateRequest,
    InitiateResponse,
    decode_conformance,
    encode_conformance,
)
from asyncdlms.errors import DecodeError, EncodeError
from tests.conftest import vector

C = Conformance


def test_conformance_bit_positions() -> None:
    # bit n of the standard's BIT STRING is 1 << (23 - n) in the integer value
    positions = {
        C.GENERAL_PROTECTION: 1,
        C.GENERAL_BLOCK_TRANSFER: 2,
        C.READ: 3,
        C.WRITE: 4,
        C.UNCONFIRMED_WRITE: 5,
        C.DELTA_VALUE_ENCODING: 6,
        C.ATTRIBUTE0_SUPPORTED_WITH_SET: 8,
        C.PRIORITY_MGMT_SUPPORTED: 9,
        C.ATTRIBUTE0_SUPPORTED_WITH_GET: 10,
        C.BLOCK_TRANSFER_WITH_GET_OR_READ: 11,
        C.BLOCK_TRANSFER_WITH_SET_OR_WRITE: 12,
        C.BLOCK_TRANSFER_WITH_ACTION: 13,
        C.MULTIPLE_REFERENCES: 14,
        C.INFORMATION_REPORT: 15,
        C.DATA_NOTIFICATION: 16,
        C.ACCESS: 17,
        C.PARAMETERIZED_ACCESS: 18,
        C.GET: 19,
        C.SET: 20,
        C.SELECTIVE_ACCESS: 21,
        C.EVENT_NOTIFICATION: 22,
        C.ACTION: 23,
    }
    assert len(positions) == len(Conformance)
    for flag, bit in positions.items():
        assert flag == 1 << (23 - bit)


def test_conformance_encoding() -> None:
    assert encode_conformance(C.GET | C.SET | C.ACTION).hex() == "5f1f0400000019"
    assert decode_conformance(bytes.fromhex("005f1f0400001e1d"), 1) == (C(0x001E1D), 8)
    with pytest.raises(EncodeError):
        encode_conformance(1 << 24)
    for bad in ("5f1f0300001e1d", "5f1e0400001e1d", "5f1f04000000", "5f1f0408001e1d"):
        with pytest.raises(DecodeError):
            decode_conformance(bytes.fromhex(bad), 0)


def test_vector_initiate_request() -> None:
    v = vector("dlmscosem-apdu-initiate-request")
    request = InitiateRequest.decode(bytes.fromhex(v["hex"]))
    assert request.proposed_dlms_version_number == v["expected"]["proposed_dlms_version"] == 6
    assert request.client_max_receive_pdu_size == v["expected"]["client_max_receive_pdu_size"]
    assert request.response_allowed is v["expected"]["response_allowed"]
    assert request.dedicated_key is None
    assert request.proposed_quality_of_service is None  # the vector's "0" is the absent flag
    assert request.proposed_conformance == int(v["expected"]["proposed_conformance"], 16)
    assert request.encode().hex() == v["hex"]


def test_vector_initiate_request_dedicated_key() -> None:
    v = vector("dlmscosem-apdu-initiate-request-dedicated-key")
    request = InitiateRequest.decode(bytes.fromhex(v["hex"]))
    assert request.dedicated_key == bytes.fromhex(v["expected"]["dedicated_key"])
    assert request.client_max_receive_pdu_size == 1200
    assert request.proposed_conformance == 0x007E1F
    assert request.encode().hex() == v["hex"]


def test_vector_initiate_response() -> None:
    v = vector("dlmscosem-apdu-initiate-response")
    response = InitiateResponse.decode(bytes.fromhex(v["hex"]))
    assert response.negotiated_dlms_version_number == 6
    assert response.negotiated_quality_of_service is None
    assert response.server_max_receive_pdu_size == 500
    assert response.negotiated_conformance == 0x00501F
    assert response.negotiated_conformance == (
        C.PRIORITY_MGMT_SUPPORTED
        | C.BLOCK_TRANSFER_WITH_GET_OR_READ
        | C.GET
        | C.SET
        | C.SELECTIVE_ACCESS
        | C.EVENT_NOTIFICATION
        | C.ACTION
    )
    assert response.vaa_name == LN_VAA_NAME and response.referencing == "LN"
    assert response.encode().hex() == v["hex"]


def test_initiate_response_with_quality_of_service_from_rlre_vector() -> None:
    # user-information of dlmscosem-apdu-rlre-initiate-response: QoS present (01 00)
    data = bytes.fromhex("080100065f1f0400001e1d04c80007")
    response = InitiateResponse.decode(data)
    assert response.negotiated_quality_of_service == 0
    assert response.server_max_receive_pdu_size == 1224
    assert response.encode() == data


def test_short_name_vaa_and_response_allowed_false() -> None:
    response = InitiateResponse(C.READ | C.WRITE, 0, vaa_name=SN_VAA_NAME)
    assert response.encode().hex() == "0800065f1f04001800000000fa00"
    assert InitiateResponse.decode(response.encode()).referencing == "SN"
    request = InitiateRequest(C.GET, 512, response_allowed=False, proposed_quality_of_service=-1)
    # 01 tag, 00 no dedicated key, 01 00 response-allowed FALSE, 01 FF QoS -1, 06, ..., 0200
    assert request.encode().hex() == "0100010001ff065f1f04000000100200"
    assert InitiateRequest.decode(request.encode()) == request


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "08",
        "0100",
        "01000000065f1f0400007e1f04",  # max PDU cut
        "01000000065f1f0400007e1f04b000",  # trailing byte
        "01020000065f1f0400007e1f04b0",  # bad presence flag
        "0101ff",  # dedicated key too long
        "0800065f1f040000501f01f400",  # vaa-name cut
    ],
)
def test_bad_input(bad: str) -> None:
    data = bytes.fromhex(bad)
    with pytest.raises(DecodeError):
        InitiateRequest.decode(data)
    with pytest.raises(DecodeError):
        InitiateResponse.decode(data)


def test_encode_range_checks() -> None:
    with pytest.raises(EncodeError):
        InitiateRequest(C.GET, 0x10000).encode()
    with pytest.raises(EncodeError):
        InitiateResponse(C.GET, 100, negotiated_quality_of_service=200).encode()


requests = st.builds(
    InitiateRequest,
    proposed_conformance=st.integers(0, 0xFFFFFF).map(Conformance),
    client_max_receive_pdu_size=st.integers(0, 0xFFFF),
    proposed_dlms_version_number=st.integers(0, 255),
    dedicated_key=st.none() | st.binary(max_size=32),
    response_allowed=st.booleans(),
    proposed_quality_of_service=st.none() | st.integers(-128, 127),
)
responses = st.builds(
    InitiateResponse,
    negotiated_conformance=st.integers(0, 0xFFFFFF).map(Conformance),
    server_max_receive_pdu_size=st.integers(0, 0xFFFF),
    negotiated_dlms_version_number=st.integers(0, 255),
    vaa_name=st.integers(0, 0xFFFF),
    negotiated_quality_of_service=st.none() | st.integers(-128, 127),
)


@given(requests)
def test_request_round_trip(request: InitiateRequest) -> None:
    assert InitiateRequest.decode(request.encode()) == request


@given(responses)
def test_response_round_trip(response: InitiateResponse) -> None:
    assert InitiateResponse.decode(response.encode()) == response


@given(st.binary(max_size=40))
def test_random_bytes_give_only_decode_errors(data: bytes) -> None:
    for cls in (InitiateRequest, InitiateResponse):
        with contextlib.suppress(DecodeError):
            cls.decode(data)
