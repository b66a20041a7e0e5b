"""ACCESS-Request and ACCESS-Response PDUs (0xD9, 0xDA): layouts, gurux-dlms as the byte
oracle, round trips and bounded decoding of any input."""

from __future__ import annotations

import datetime
from typing import Any
from xml.etree import ElementTree

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncdlms.apdu import decode_apdu
from asyncdlms.apdu.access import (
    AccessRequest,
    AccessRequestAction,
    AccessRequestGet,
    AccessRequestGetWithSelection,
    AccessRequestSet,
    AccessRequestSetWithSelection,
    AccessResponse,
    AccessResponseAction,
    AccessResponseGet,
    AccessResponseSet,
    decode_access_apdu,
)
from asyncdlms.apdu.descriptors import (
    CosemAttributeDescriptor,
    CosemMethodDescriptor,
    Data,
    SelectiveAccessDescriptor,
)
from asyncdlms.apdu.enums import ActionResult, DataAccessResult, LongInvokeIdAndPriority
from asyncdlms.errors import DecodeError, EncodeError
from asyncdlms.types import DateTime, Integer, LongUnsigned
from tests.apdu.test_descriptors import (
    attribute_descriptors,
    data_values,
    every_prefix_fails,
    method_descriptors,
    only_decode_error,
    selections,
)

REGISTER = CosemAttributeDescriptor(3, "1.0.1.8.0.255", 2)
CLOCK = CosemAttributeDescriptor(8, "0.0.1.0.0.255", 2)
SERIAL = CosemAttributeDescriptor(1, "0.0.96.1.0.255", 2)
DISCONNECT = CosemMethodDescriptor(70, "0.0.96.3.10.255", 1)
GURUX_TIME = datetime.datetime(2026, 3, 10, 12, 7, 30)

long_ids = st.integers(0, 0xFFFFFFFF).map(LongInvokeIdAndPriority.from_int)
date_times = st.sampled_from([b"", bytes.fromhex("07ea030aff0c071e00800000")])
request_specifications = st.one_of(
    st.builds(AccessRequestGet, attribute_descriptors),
    st.builds(AccessRequestSet, attribute_descriptors),
    st.builds(AccessRequestAction, method_descriptors),
    st.builds(AccessRequestGetWithSelection, attribute_descriptors, selections),
    st.builds(AccessRequestSetWithSelection, attribute_descriptors, selections),
)
response_specifications = st.one_of(
    st.builds(AccessResponseGet, st.sampled_from(DataAccessResult)),
    st.builds(AccessResponseSet, st.sampled_from(DataAccessResult)),
    st.builds(AccessResponseAction, st.sampled_from(ActionResult)),
)
requests = st.builds(
    AccessRequest,
    st.lists(request_specifications, max_size=4).map(tuple),
    st.lists(data_values, max_size=4).map(tuple),
    long_ids,
    date_times,
)
responses = st.builds(
    AccessResponse,
    st.lists(data_values, max_size=4).map(tuple),
    st.lists(response_specifications, max_size=4).map(tuple),
    long_ids,
    date_times,
    st.none() | st.lists(request_specifications, max_size=3).map(tuple),
)


@given(requests)
def test_requests_round_trip(request: AccessRequest) -> None:
    encoded = request.encode()
    assert AccessRequest.decode(encoded) == request
    assert decode_apdu(encoded) == request
    assert decode_access_apdu(encoded) == request
    every_prefix_fails(AccessRequest.decode, encoded)


@given(responses)
def test_responses_round_trip(response: AccessResponse) -> None:
    encoded = response.encode()
    assert AccessResponse.decode(encoded) == response
    assert decode_apdu(encoded) == response
    every_prefix_fails(AccessResponse.decode, encoded)


@given(st.binary(max_size=80))
def test_random_bytes_only_decode_error(noise: bytes) -> None:
    header = bytes.fromhex("c0000001")
    for prefix in (b"", b"\xd9", b"\xd9" + header, b"\xd9" + header + b"\x00"):
        only_decode_error(AccessRequest.decode, prefix + noise)
    for prefix in (b"", b"\xda", b"\xda" + header + b"\x00", b"\xda" + header + b"\x00\x00"):
        only_decode_error(AccessResponse.decode, prefix + noise)
    only_decode_error(decode_apdu, b"\xd9" + noise)
    only_decode_error(decode_apdu, b"\xda" + noise)


def test_request_layout() -> None:
    selection = SelectiveAccessDescriptor(2, Data.of([Integer(1), Integer(2)]))
    request = AccessRequest(
        (
            AccessRequestGet(REGISTER),
            AccessRequestSet(SERIAL),
            AccessRequestAction(DISCONNECT),
            AccessRequestGetWithSelection(CLOCK, selection),
        ),
        (Data.of(None), Data.of(LongUnsigned(5)), Data.of(None), Data.of(None)),
        LongInvokeIdAndPriority(5, confirmed=True, high_priority=True, break_on_error=True),
    )
    assert request.encode() == bytes.fromhex(
        "d9 e0000005 00 04"
        "01 0003 0100010800ff 02"
        "02 0001 0000600100ff 02"
        "03 0046 000060030aff 01"
        "04 0008 0000010000ff 02 02 0102 0f01 0f02"  # selector 2, array of two integers
        "04 00 120005 00 00"
    )
    decoded = AccessRequest.decode(request.encode())
    assert decoded.long_invoke_id_and_priority.break_on_error
    assert decoded.to_date_time() is None


def test_response_layout() -> None:
    response = AccessResponse(
        (Data.of(LongUnsigned(7)), Data.of(None), Data.of(None)),
        (
            AccessResponseGet(DataAccessResult.SUCCESS),
            AccessResponseSet(DataAccessResult.READ_WRITE_DENIED),
            AccessResponseAction(ActionResult.OBJECT_UNDEFINED),
        ),
        LongInvokeIdAndPriority(5, confirmed=True, high_priority=True),
    )
    assert response.encode() == bytes.fromhex(
        "da c0000005 00 00 03 120007 00 00 03 0100 0203 0304"
    )
    echoed = AccessResponse((), (), access_request_specification=(AccessRequestGet(REGISTER),))
    assert echoed.encode() == bytes.fromhex("da 00000000 00 01 01 01 0003 0100010800ff 02 00 00")


def test_date_time_is_empty_or_twelve_bytes() -> None:
    stamp = DateTime.from_datetime(datetime.datetime(2026, 3, 10, 12, 7, 30, tzinfo=datetime.UTC))
    request = AccessRequest((), (), date_time=stamp.to_bytes())
    assert request.encode()[5] == 12
    assert AccessRequest.decode(request.encode()).to_date_time() == stamp
    with pytest.raises(EncodeError, match="empty or 12 bytes"):
        AccessRequest((), (), date_time=b"\x01\x02").encode()
    # a meter's 5-byte date in the response is kept as it came, not converted
    response = AccessResponse.decode(bytes.fromhex("da c0000001 05 07ea030aff 00 00 00"))
    assert response.date_time == bytes.fromhex("07ea030aff")
    assert response.to_date_time() is None


@pytest.mark.parametrize(
    ("hex_text", "decoder", "message"),
    [
        ("d9c000000100010400030100010800ff02011200", AccessRequest.decode, "truncated long"),
        ("d9c00000010001060003010001080" + "0ff0200", AccessRequest.decode, "AccessRequestType 6"),
        ("d9c0000001000500", AccessRequest.decode, "5 elements announced"),
        ("d9c000000100000000ff", AccessRequest.decode, "trailing"),
        ("dac0000001000200000000", AccessResponse.decode, "presence flag"),
        ("dac00000010000000104ff", AccessResponse.decode, "AccessResponseType 4"),
        ("dac000000100000500", AccessResponse.decode, "5 elements announced"),
        ("dac00000010000000101", AccessResponse.decode, "1 elements announced, only 1"),
        ("dac00000010000000101000000", AccessResponse.decode, "2 trailing bytes"),
        ("dac000000109", AccessResponse.decode, "truncated date-time"),
        ("c0010100", decode_access_apdu, "access-request"),
    ],
)
def test_malformed_input_names_the_problem(hex_text: str, decoder: Any, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        decoder(bytes.fromhex(hex_text))


# ---------------------------------------------------------------------------------------------
# gurux-dlms as the oracle (a test dependency only, GPL: nothing of it is in the package)

gurux_dlms = pytest.importorskip("gurux_dlms")
from gurux_dlms import (  # type: ignore[import-untyped]  # noqa: E402
    GXDLMSAccessItem,
    GXDLMSClient,
    GXDLMSTranslator,
    GXReplyData,
)
from gurux_dlms.enums import (  # type: ignore[import-untyped]  # noqa: E402
    AccessServiceCommandType,
    ErrorCode,
    InterfaceType,
    TranslatorOutputType,
)
from gurux_dlms.objects import GXDLMSClock, GXDLMSRegister  # type: ignore[import-untyped]  # noqa: E402


def _gurux_apdus(frames: list[Any]) -> list[bytes]:
    """The APDUs of gurux's wrapper frames (an 8-byte header each)."""
    return [bytes(frame)[8:] for frame in frames]


@pytest.mark.parametrize("when", [None, GURUX_TIME])
def test_gurux_builds_the_same_request(when: datetime.datetime | None) -> None:
    """gurux's GXDLMSClient.accessRequest (GET items: its Python client cannot build SET or
    ACTION items, it fails on its own ValueEventArgs) gives our bytes exactly."""
    client = GXDLMSClient(True, 16, 1, interfaceType=InterfaceType.WRAPPER)
    items = [
        GXDLMSAccessItem(AccessServiceCommandType.GET, GXDLMSRegister("1.0.1.8.0.255"), 2),
        GXDLMSAccessItem(AccessServiceCommandType.GET, GXDLMSClock("0.0.1.0.0.255"), 2),
    ]
    (apdu,) = _gurux_apdus(client.accessRequest(when, items))
    date_time = b""
    if when is not None:  # gurux: no deviation or clock status given, 0x0000 and 0x00
        date_time = bytes.fromhex("07ea030aff0c071e00000000")
    ours = AccessRequest(
        (AccessRequestGet(REGISTER), AccessRequestGet(CLOCK)),
        (Data.of(None), Data.of(None)),
        LongInvokeIdAndPriority(1, confirmed=True, high_priority=True),
        date_time,
    )
    assert ours.encode() == apdu
    assert AccessRequest.decode(apdu) == ours


def test_gurux_reads_our_set_and_action_request() -> None:
    """gurux's translator reads a GET/SET/ACTION request of ours field by field."""
    request = AccessRequest(
        (AccessRequestGet(REGISTER), AccessRequestSet(SERIAL), AccessRequestAction(DISCONNECT)),
        (Data.of(None), Data.of(LongUnsigned(5)), Data.of(0)),
        LongInvokeIdAndPriority(7, confirmed=True, high_priority=True),
    )
    xml = GXDLMSTranslator(TranslatorOutputType.SIMPLE_XML).pduToXml(request.encode())
    root = ElementTree.fromstring(xml)
    assert root.tag == "AccessRequest"
    assert _value(root, "LongInvokeIdAndPriority") == "C0000007"
    body = root.find("AccessRequestBody")
    assert body is not None
    operations = [
        (
            child.tag,
            _value(child, "AttributeDescriptor/ClassId"),
            _value(child, "AttributeDescriptor/InstanceId"),
            _value(child, "AttributeDescriptor/AttributeId"),
        )
        for child in body.iterfind("AccessRequestSpecification/_AccessRequestSpecification/*")
    ]
    assert operations == [
        ("AccessRequestGet", "0003", "0100010800FF", "02"),
        ("AccessRequestSet", "0001", "0000600100FF", "02"),
        ("AccessRequestAction", "0046", "000060030AFF", "01"),
    ]
    data = [(child.tag, child.get("Value")) for child in body.iterfind("AccessRequestListOfData/*")]
    assert data == [("None", None), ("UInt16", "0005"), ("Int32", "00000000")]


def _value(node: Any, path: str) -> str | None:
    found = node.find(path)
    assert found is not None, path
    value: str | None = found.get("Value")
    return value


def test_gurux_parses_our_response() -> None:
    """gurux's client takes our ACCESS-Response apart (GXDLMSClient.parseAccessResponse): the
    value read, and each item's result."""
    client = GXDLMSClient(True, 16, 1, interfaceType=InterfaceType.WRAPPER)
    register = GXDLMSRegister("1.0.1.8.0.255")
    clock = GXDLMSClock("0.0.1.0.0.255")
    items = [
        GXDLMSAccessItem(AccessServiceCommandType.GET, register, 2),
        GXDLMSAccessItem(AccessServiceCommandType.GET, clock, 3),
    ]
    response = AccessResponse(
        (Data.of(LongUnsigned(1234)), Data.of(None)),
        (
            AccessResponseGet(DataAccessResult.SUCCESS),
            AccessResponseGet(DataAccessResult.READ_WRITE_DENIED),
        ),
        LongInvokeIdAndPriority(1, confirmed=True, high_priority=True),
    ).encode()
    frame = bytes.fromhex("0001 0001 0010") + len(response).to_bytes(2, "big") + response
    reply = GXReplyData()
    assert client.getData(frame, reply, GXReplyData())
    client.parseAccessResponse(items, reply.data)
    assert items[0].value == 1234
    assert items[0].error == ErrorCode.OK
    assert register.value == 1234
    assert items[1].error == ErrorCode.READ_WRITE_DENIED
