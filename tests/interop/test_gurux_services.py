"""GET/SET/ACTION PDUs against gurux-dlms (GPL, used only as a test oracle, never copied).

Gurux's client (wrapper interface: its 8-byte header is stripped) generates read, readList,
readRowsByEntry, readRowsByRange, write, writeList and method requests; our PDUs with the
same content must encode to the same bytes (invoke-id-and-priority byte included: gurux
sends 0xC1 by default, invoke-id 1, confirmed, high priority) and decode to the same
content. Gurux's client must parse the responses we encode (normal, with-datablock blocks
with its get-request-next in between, with-list, SET and ACTION responses) to the same values.

Recorded gurux behaviours: ``writeList`` needs ``getDataType`` on GXWriteItem, which
gurux-dlms 1.0.203 lacks (patched in here); ``readRowsByEntry`` with columns sends
``(column index, column count)`` as from/to_selected_value; ``receiverReady`` needs a prior
request to know the command.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from asyncdlms.apdu.action import (
    ActionRequestNormal,
    ActionResponseNormal,
    ActionResponseWithOptionalData,
    decode_action_request,
)
from asyncdlms.apdu.descriptors import (
    CosemAttributeDescriptor,
    CosemAttributeDescriptorWithSelection,
    CosemMethodDescriptor,
    Data,
    entry_descriptor,
    range_descriptor,
)
from asyncdlms.apdu.enums import ActionResult, DataAccessResult, InvokeIdAndPriority
from asyncdlms.apdu.get import (
    GetRequestNext,
    GetRequestNormal,
    GetRequestWithList,
    GetResponseNormal,
    GetResponseWithDatablock,
    GetResponseWithList,
    decode_get_request,
)
from asyncdlms.apdu.set import (
    SetRequestNormal,
    SetRequestWithList,
    SetResponseNormal,
    SetResponseWithList,
    decode_set_request,
)
from asyncdlms.obis import Obis
from asyncdlms.types import (
    Array,
    DoubleLong,
    DoubleLongUnsigned,
    Enum,
    Integer,
    Long,
    LongUnsigned,
    OctetString,
    Structure,
    Unsigned,
    VisibleString,
)

gurux_dlms = pytest.importorskip("gurux_dlms")

from gurux_dlms import GXDLMSClient, GXReplyData, GXWriteItem  # noqa: E402
from gurux_dlms.enums import (  # noqa: E402
    Authentication,
    Conformance,
    InterfaceType,
    Priority,
    ServiceClass,
)
from gurux_dlms.enums import DataType as GuruxType  # noqa: E402
from gurux_dlms.objects import (  # noqa: E402
    GXDLMSCaptureObject,
    GXDLMSClock,
    GXDLMSData,
    GXDLMSProfileGeneric,
    GXDLMSRegister,
)

REGISTER = "1.0.1.8.0.255"
CLOCK = "0.0.1.0.0.255"
DATA = "0.0.96.1.0.255"
PROFILE = "1.0.99.1.0.255"


def client() -> Any:
    gurux = GXDLMSClient(True, 16, 1, Authentication.NONE, None, InterfaceType.WRAPPER)
    gurux.negotiatedConformance = gurux.proposedConformance | Conformance.MULTIPLE_REFERENCES
    return gurux


def apdus(messages: Any) -> list[bytes]:
    """The APDUs of gurux's wrapper messages (8-byte header checked and stripped)."""
    result = []
    for message in messages:
        if isinstance(message, list):
            result.extend(apdus(message))
            continue
        raw = bytes(message)
        assert raw[:2] == b"\x00\x01" and int.from_bytes(raw[6:8], "big") == len(raw) - 8
        result.append(raw[8:])
    return result


def one(messages: Any) -> bytes:
    (apdu,) = apdus(messages)
    return apdu


def wrap(apdu: bytes) -> bytes:
    """A wrapper message from server wPort 1 to client wPort 16."""
    return b"\x00\x01\x00\x01\x00\x10" + len(apdu).to_bytes(2, "big") + apdu


def parse(gurux: Any, apdu: bytes, reply: Any = None) -> Any:
    reply = reply if reply is not None else GXReplyData()
    assert gurux.getData(wrap(apdu), reply)
    return reply


def profile() -> Any:
    pg = GXDLMSProfileGeneric(PROFILE)
    pg.captureObjects.append((GXDLMSClock(CLOCK), GXDLMSCaptureObject(2, 0)))
    pg.captureObjects.append((GXDLMSRegister(REGISTER), GXDLMSCaptureObject(2, 0)))
    return pg


# ---------------------------------------------------------------------------------------------
# Requests: gurux's bytes == ours


@pytest.mark.parametrize(
    ("make", "class_id", "obis", "attribute"),
    [
        (lambda: GXDLMSRegister(REGISTER), 3, REGISTER, 2),
        (lambda: GXDLMSRegister(REGISTER), 3, REGISTER, 3),
        (lambda: GXDLMSClock(CLOCK), 8, CLOCK, 2),
        (lambda: GXDLMSClock(CLOCK), 8, CLOCK, 3),
        (lambda: GXDLMSData(DATA), 1, DATA, 2),
        (lambda: GXDLMSProfileGeneric(PROFILE), 7, PROFILE, 3),
    ],
)
def test_read(make: Any, class_id: int, obis: str, attribute: int) -> None:
    gurux = one(client().read(make(), attribute))
    ours = GetRequestNormal(CosemAttributeDescriptor(class_id, Obis(obis), attribute))
    assert gurux[:3] == bytes.fromhex("c001c1")  # gurux's default invoke-id-and-priority
    assert ours.encode() == gurux
    assert decode_get_request(gurux) == ours


@pytest.mark.parametrize("invoke_id", [0, 1, 7, 15])
@pytest.mark.parametrize("high", [True, False])
@pytest.mark.parametrize("confirmed", [True, False])
def test_invoke_id_and_priority(invoke_id: int, high: bool, confirmed: bool) -> None:
    gurux_client = client()
    gurux_client.settings.invokeId = invoke_id
    gurux_client.settings.priority = Priority.HIGH if high else Priority.NORMAL
    gurux_client.settings.serviceClass = (
        ServiceClass.CONFIRMED if confirmed else ServiceClass.UN_CONFIRMED
    )
    gurux = one(gurux_client.read(GXDLMSRegister(REGISTER), 2))
    iip = InvokeIdAndPriority(invoke_id, confirmed, high)
    ours = GetRequestNormal(CosemAttributeDescriptor(3, Obis(REGISTER), 2), None, iip)
    assert ours.encode() == gurux


def test_read_list() -> None:
    items = [(GXDLMSRegister(REGISTER), 2), (GXDLMSData(DATA), 2), (GXDLMSClock(CLOCK), 2)]
    gurux = one(client().readList(items))
    ours = GetRequestWithList(
        (
            CosemAttributeDescriptorWithSelection(CosemAttributeDescriptor(3, Obis(REGISTER), 2)),
            CosemAttributeDescriptorWithSelection(CosemAttributeDescriptor(1, Obis(DATA), 2)),
            CosemAttributeDescriptorWithSelection(CosemAttributeDescriptor(8, Obis(CLOCK), 2)),
        )
    )
    assert ours.encode() == gurux
    assert decode_get_request(gurux) == ours


@pytest.mark.parametrize(("start", "count"), [(1, 10), (5, 1), (100, 0)])
def test_read_rows_by_entry(start: int, count: int) -> None:
    gurux = one(client().readRowsByEntry(profile(), start, count))
    to_entry = start + count - 1 if count else 0
    ours = GetRequestNormal(
        CosemAttributeDescriptor(7, Obis(PROFILE), 2), entry_descriptor(start, to_entry)
    )
    assert ours.encode() == gurux
    assert decode_get_request(gurux) == ours


def test_read_rows_by_entry_with_columns() -> None:
    pg = profile()
    register_column = pg.captureObjects[1]
    gurux = one(client().readRowsByEntry(pg, 1, 10, [register_column]))
    # gurux sends (column index 2, column count 1) as from/to_selected_value
    ours = GetRequestNormal(
        CosemAttributeDescriptor(7, Obis(PROFILE), 2), entry_descriptor(1, 10, 2, 1)
    )
    assert ours.encode() == gurux


@pytest.mark.parametrize("columns", [False, True])
def test_read_rows_by_range(columns: bool) -> None:
    pg = profile()
    start = datetime.datetime(2017, 10, 1, 0, 0)
    end = datetime.datetime(2017, 10, 1, 1, 0)
    selected = [pg.captureObjects[1]] if columns else None
    gurux = one(client().readRowsByRange(pg, start, end, selected))
    decoded = decode_get_request(gurux)
    assert isinstance(decoded, GetRequestNormal) and decoded.access_selection is not None
    # the bounds as gurux encoded them (its own date-time conventions), the rest built by us
    _, start_bytes, end_bytes, _ = decoded.access_selection.access_parameters.value
    assert isinstance(start_bytes, OctetString) and len(start_bytes) == 12
    assert start_bytes.to_date_time().year == 2017
    ours = GetRequestNormal(
        CosemAttributeDescriptor(7, Obis(PROFILE), 2),
        range_descriptor(
            (8, CLOCK, 2, 0),
            start_bytes,
            end_bytes,
            [(3, REGISTER, 2, 0)] if columns else [],
        ),
    )
    assert ours.encode() == gurux
    assert decoded == ours


@pytest.mark.parametrize(
    ("gurux_type", "python_value", "ours"),
    [
        (GuruxType.UINT16, 5, LongUnsigned(5)),
        (GuruxType.UINT32, 123456, DoubleLongUnsigned(123456)),
        (GuruxType.INT8, -3, Integer(-3)),
        (GuruxType.OCTET_STRING, b"\x01\x02\x03", OctetString(b"\x01\x02\x03")),
        (GuruxType.STRING, "meter 7", VisibleString("meter 7")),
    ],
)
def test_write(gurux_type: Any, python_value: Any, ours: Any) -> None:
    data = GXDLMSData(DATA)
    data.value = python_value
    data.setDataType(2, gurux_type)
    gurux = one(client().write(data, 2))
    request = SetRequestNormal(CosemAttributeDescriptor(1, Obis(DATA), 2), Data.of(ours))
    assert request.encode() == gurux
    assert decode_set_request(gurux) == request


def test_write_list() -> None:
    data = GXDLMSData(DATA)
    data.value = 5
    register = GXDLMSRegister(REGISTER)
    register.value = 7
    first = GXWriteItem()
    first.target, first.index = data, 2
    first.getDataType = lambda: GuruxType.UINT16  # missing in gurux-dlms 1.0.203
    second = GXWriteItem()
    second.target, second.index = register, 2
    second.getDataType = lambda: GuruxType.UINT32
    gurux = one(client().writeList([first, second]))
    ours = SetRequestWithList(
        (
            CosemAttributeDescriptorWithSelection(CosemAttributeDescriptor(1, Obis(DATA), 2)),
            CosemAttributeDescriptorWithSelection(CosemAttributeDescriptor(3, Obis(REGISTER), 2)),
        ),
        (Data.of(LongUnsigned(5)), Data.of(DoubleLongUnsigned(7))),
    )
    assert ours.encode() == gurux
    assert decode_set_request(gurux) == ours


@pytest.mark.parametrize(
    ("make", "class_id", "obis", "method", "gurux_type", "value", "ours"),
    [
        (lambda: GXDLMSRegister(REGISTER), 3, REGISTER, 1, GuruxType.INT8, 0, Integer(0)),
        (lambda: GXDLMSClock(CLOCK), 8, CLOCK, 1, GuruxType.INT8, 0, Integer(0)),
        (lambda: GXDLMSClock(CLOCK), 8, CLOCK, 6, GuruxType.INT16, 5, Long(5)),
        (lambda: GXDLMSProfileGeneric(PROFILE), 7, PROFILE, 2, GuruxType.INT8, 0, Integer(0)),
        (lambda: GXDLMSData(DATA), 1, DATA, 1, GuruxType.ENUM, 3, Enum(3)),
    ],
)
def test_method(
    make: Any, class_id: int, obis: str, method: int, gurux_type: Any, value: Any, ours: Any
) -> None:
    gurux = one(client().method(make(), method, value, gurux_type))
    request = ActionRequestNormal(
        CosemMethodDescriptor(class_id, Obis(obis), method), Data.of(ours)
    )
    assert request.encode() == gurux
    assert decode_action_request(gurux) == request


# ---------------------------------------------------------------------------------------------
# Responses: gurux parses ours to the same values


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (DoubleLongUnsigned(5009), 5009),
        (DoubleLong(-42), -42),
        (LongUnsigned(65535), 65535),
        (OctetString(b"ISK1030777764366"), bytearray(b"ISK1030777764366")),
        (VisibleString("KFM_001"), "KFM_001"),
        (Structure((Integer(-1), Enum(30))), [-1, 30]),
        (Array((Unsigned(1), Unsigned(2))), [1, 2]),
        (None, None),
    ],
)
def test_gurux_parses_get_response_normal(value: Any, expected: Any) -> None:
    reply = parse(client(), GetResponseNormal(Data.of(value)).encode())
    assert reply.error == 0
    assert reply.value == expected


@pytest.mark.parametrize("result", list(DataAccessResult)[1:])
def test_gurux_reads_data_access_results(result: DataAccessResult) -> None:
    assert parse(client(), GetResponseNormal(result).encode()).error == result
    assert parse(client(), SetResponseNormal(result).encode()).error == result


@pytest.mark.parametrize("block_size", [1, 7, 100, 1000])
def test_gurux_reassembles_our_datablocks(block_size: int) -> None:
    gurux = client()
    gurux.read(profile(), 2)  # gurux needs its own request to know what comes next
    rows = Array(
        Structure((OctetString(bytes(range(12))), DoubleLongUnsigned(row))) for row in range(60)
    )
    raw = Data.of(rows).raw
    blocks = [raw[i : i + block_size] for i in range(0, len(raw), block_size)]
    reply = GXReplyData()
    for number, block in enumerate(blocks, 1):
        last = number == len(blocks)
        parse(gurux, GetResponseWithDatablock(last, number, block).encode(), reply)
        if not last:
            # gurux's get-request-next equals ours
            assert one([gurux.receiverReady(reply)]) == GetRequestNext(number).encode()
    assert reply.error == 0
    assert [(bytes(r[0]), r[1]) for r in reply.value] == [(bytes(range(12)), n) for n in range(60)]


def test_gurux_parses_get_response_with_list() -> None:
    response = GetResponseWithList(
        (Data.of(LongUnsigned(5)), Data.of(OctetString(b"abc")), Data.of(Integer(-2)))
    )
    reply = parse(client(), response.encode())
    assert reply.value == [5, bytearray(b"abc"), -2]
    failed = parse(
        client(),
        GetResponseWithList(
            (Data.of(LongUnsigned(5)), DataAccessResult.READ_WRITE_DENIED)
        ).encode(),
    )
    assert failed.value == [5, None]
    assert failed.error == DataAccessResult.READ_WRITE_DENIED


def test_gurux_parses_set_responses() -> None:
    assert parse(client(), SetResponseNormal(DataAccessResult.SUCCESS).encode()).error == 0
    listed = SetResponseWithList((DataAccessResult.SUCCESS, DataAccessResult.TYPE_UNMATCHED))
    assert parse(client(), listed.encode()).error == DataAccessResult.TYPE_UNMATCHED


def test_gurux_parses_action_responses() -> None:
    returned = ActionResponseNormal(
        ActionResponseWithOptionalData(ActionResult.SUCCESS, Data.of(OctetString(b"pass4")))
    )
    reply = parse(client(), returned.encode())
    assert (reply.error, reply.value) == (0, bytearray(b"pass4"))
    plain = parse(
        client(),
        ActionResponseNormal(ActionResponseWithOptionalData(ActionResult.SUCCESS)).encode(),
    )
    assert (plain.error, plain.value) == (0, None)
    denied = ActionResponseNormal(ActionResponseWithOptionalData(ActionResult.READ_WRITE_DENIED))
    assert parse(client(), denied.encode()).error == ActionResult.READ_WRITE_DENIED
    other = ActionResponseNormal(
        ActionResponseWithOptionalData(ActionResult.SUCCESS, DataAccessResult.OTHER_REASON)
    )
    assert parse(client(), other.encode()).error == DataAccessResult.OTHER_REASON
