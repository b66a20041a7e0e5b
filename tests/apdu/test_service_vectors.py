"""Every shared vector of the service layer: decoded, the facts of its ``expected`` field
checked, and re-encoded byte for byte (vectors from ../shared/vectors/dlms-vectors.json; the
tests skip when ../shared is absent)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from asyncdlms.apdu.action import ActionRequestNormal, ActionResponseNormal
from asyncdlms.apdu.descriptors import Data
from asyncdlms.apdu.enums import ActionResult, DataAccessResult, LongInvokeIdAndPriority
from asyncdlms.apdu.get import (
    GetRequestNext,
    GetRequestNormal,
    GetRequestWithList,
    GetResponseNormal,
    GetResponseWithDatablock,
    GetResponseWithList,
    decode_get_request,
    decode_get_response,
)
from asyncdlms.apdu.notification import DataNotification
from asyncdlms.apdu.set import SetRequestNormal, SetResponseNormal
from asyncdlms.obis import Obis
from asyncdlms.types import DoubleLongUnsigned, OctetString, Structure
from tests.conftest import vector


def _bytes(vector_id: str) -> bytes:
    return bytes.fromhex(vector(vector_id)["hex"])


def _check_iip(pdu: Any, invoke_id: int) -> None:
    iip = pdu.invoke_id_and_priority
    assert (iip.invoke_id, iip.confirmed, iip.high_priority) == (invoke_id, True, True)


# ---------------------------------------------------------------------------------------------
# GET


def test_get_request_normal() -> None:
    data = _bytes("dlmscosem-apdu-get-request-normal")
    pdu = decode_get_request(data)
    assert isinstance(pdu, GetRequestNormal)
    _check_iip(pdu, 1)
    descriptor = pdu.cosem_attribute_descriptor
    assert (descriptor.class_id, descriptor.instance_id, descriptor.attribute_id) == (
        1,
        Obis("0.0.43.1.0.255"),
        2,
    )
    assert pdu.access_selection is None
    assert pdu.encode() == data


def test_get_request_next() -> None:
    data = _bytes("dlmscosem-apdu-get-request-next")
    pdu = decode_get_request(data)
    assert isinstance(pdu, GetRequestNext)
    _check_iip(pdu, 1)
    assert pdu.block_number == 1
    assert pdu.encode() == data


def test_get_request_with_list() -> None:
    data = _bytes("dlmscosem-apdu-get-request-with-list")
    pdu = decode_get_request(data)
    assert isinstance(pdu, GetRequestWithList)
    _check_iip(pdu, 1)
    items = [
        (i.cosem_attribute_descriptor.class_id, str(i.cosem_attribute_descriptor.instance_id))
        for i in pdu.attribute_descriptor_list
    ]
    assert items == [(1, "0.0.42.0.0.255"), (8, "0.0.1.0.0.255")]
    assert all(
        i.cosem_attribute_descriptor.attribute_id == 2 for i in pdu.attribute_descriptor_list
    )
    assert pdu.encode() == data


def test_get_request_range_descriptor() -> None:
    data = _bytes("dlmscosem-apdu-get-request-range-descriptor")
    pdu = GetRequestNormal.decode(data)
    descriptor = pdu.cosem_attribute_descriptor
    assert (descriptor.class_id, str(descriptor.instance_id), descriptor.attribute_id) == (
        7,
        "1.0.99.1.0.255",
        2,
    )
    assert pdu.access_selection is not None
    assert pdu.access_selection.access_selector == 1
    restricting, start, end, columns = pdu.access_selection.access_parameters.value
    assert restricting == (8, OctetString(Obis("0.0.1.0.0.255").to_bytes()), 2, 0)
    assert start == bytes.fromhex("07E10A010700000000FFC480")
    assert end == bytes.fromhex("07E10A010701000000FFC480")
    assert columns == ()
    clock = start.to_date_time()
    assert (clock.year, clock.month, clock.day_of_month, clock.hour) == (2017, 10, 1, 0)
    # our builder gives the same bytes
    from asyncdlms.apdu.descriptors import range_descriptor

    assert range_descriptor((8, "0.0.1.0.0.255", 2, 0), start, end) == pdu.access_selection
    assert (
        GetRequestNormal(
            descriptor, range_descriptor((8, "0.0.1.0.0.255", 2, 0), start, end)
        ).encode()
        == data
    )
    assert pdu.encode() == data


def test_get_response_normal() -> None:
    data = _bytes("dlmscosem-apdu-get-response-normal")
    pdu = decode_get_response(data)
    assert isinstance(pdu, GetResponseNormal)
    _check_iip(pdu, 1)
    assert pdu.value == 5009 and type(pdu.value) is DoubleLongUnsigned
    assert pdu.encode() == data


def test_get_response_normal_error() -> None:
    data = _bytes("dlmscosem-apdu-get-response-normal-error")
    pdu = GetResponseNormal.decode(data)
    assert pdu.result is DataAccessResult.HARDWARE_FAULT
    assert pdu.encode() == data


def test_get_response_datablocks_reassemble() -> None:
    first = _bytes("dlmscosem-apdu-get-response-with-datablock-first")
    last = _bytes("dlmscosem-apdu-get-response-with-datablock-last")
    one = decode_get_response(first)
    nineteen = decode_get_response(last)
    assert isinstance(one, GetResponseWithDatablock)
    assert isinstance(nineteen, GetResponseWithDatablock)
    assert (one.last_block, one.block_number, len(one.raw_data)) == (False, 1, 1182)
    assert one.raw_data.startswith(
        bytes.fromhex("018205a00204090c07e30c130402000000ffc40011060600")
    )
    assert (nineteen.last_block, nineteen.block_number, len(nineteen.raw_data)) == (True, 19, 380)
    assert one.encode() == first and nineteen.encode() == last


def test_get_response_datablock_error() -> None:
    data = _bytes("dlmscosem-apdu-get-response-datablock-error")
    pdu = GetResponseWithDatablock.decode(data)
    assert (pdu.last_block, pdu.block_number, pdu.result) == (
        True,
        19,
        DataAccessResult.HARDWARE_FAULT,
    )
    assert pdu.encode() == data


def test_get_response_with_list() -> None:
    data = _bytes("dlmscosem-apdu-get-response-with-list")
    pdu = decode_get_response(data)
    assert isinstance(pdu, GetResponseWithList)
    assert pdu.values == [b"ISK1030777764366", bytes.fromhex("07E50603040E091700FFC400")]
    clock = pdu.values[1].to_date_time()
    assert (clock.year, clock.month, clock.day_of_month, clock.hour, clock.minute) == (
        2021,
        6,
        3,
        14,
        9,
    )
    assert clock.deviation == -60
    assert pdu.encode() == data


def test_get_response_with_list_structures() -> None:
    data = _bytes("dlmscosem-apdu-get-response-with-list-structures")
    pdu = GetResponseWithList.decode(data)
    expected = vector("dlmscosem-apdu-get-response-with-list-structures")["expected"]["result"]
    values = pdu.values

    def plain(value: Any) -> Any:
        return [plain(v) for v in value] if isinstance(value, tuple) else int(value)

    assert [plain(v) for v in values] == expected
    assert isinstance(values[7], Structure)
    assert pdu.encode() == data


# ---------------------------------------------------------------------------------------------
# SET and ACTION


def test_set_request_normal_clock() -> None:
    data = _bytes("dlmscosem-apdu-set-request-normal-clock")
    pdu = SetRequestNormal.decode(data)
    _check_iip(pdu, 1)
    descriptor = pdu.cosem_attribute_descriptor
    assert (descriptor.class_id, str(descriptor.instance_id), descriptor.attribute_id) == (
        8,
        "0.0.1.0.0.255",
        2,
    )
    assert pdu.value.raw == bytes.fromhex("090C07E50118FF0E303950FFC400")
    clock = pdu.value.value.to_date_time()
    assert (clock.year, clock.month, clock.day_of_month, clock.hour, clock.minute) == (
        2021,
        1,
        24,
        14,
        48,
    )
    assert (clock.second, clock.hundredths, clock.deviation) == (57, 80, -60)
    assert pdu.encode() == data


def test_set_response_normal() -> None:
    data = _bytes("dlmscosem-apdu-set-response-normal")
    pdu = SetResponseNormal.decode(data)
    _check_iip(pdu, 1)
    assert pdu.result is DataAccessResult.SUCCESS
    assert pdu.encode() == data


def test_action_request_hls_reply() -> None:
    data = _bytes("dlmscosem-apdu-action-request-hls-reply")
    pdu = ActionRequestNormal.decode(data)
    _check_iip(pdu, 0)
    method = pdu.cosem_method_descriptor
    assert (method.class_id, str(method.instance_id), method.method_id) == (15, "0.0.40.0.0.255", 1)
    assert pdu.method_invocation_parameters == Data.from_raw(
        bytes.fromhex("09111000001A90E6D2221FA2FD85EED61ACC22")
    )
    assert pdu.encode() == data


def test_action_response_success() -> None:
    data = _bytes("dlmscosem-apdu-action-response-success")
    pdu = ActionResponseNormal.decode(data)
    _check_iip(pdu, 0)
    assert pdu.result is ActionResult.SUCCESS
    assert pdu.single_response.return_parameters is None and pdu.value is None
    assert pdu.encode() == data


def test_action_response_hls_pass4() -> None:
    data = _bytes("dlmscosem-apdu-action-response-hls-pass4")
    pdu = ActionResponseNormal.decode(data)
    assert pdu.result is ActionResult.SUCCESS
    assert pdu.value == bytes.fromhex("1000001AFDE8857B728A3499106AA665D1")
    assert pdu.encode() == data


def test_action_response_data_access_error() -> None:
    data = _bytes("dlmscosem-apdu-action-response-data-access-error")
    pdu = ActionResponseNormal.decode(data)
    assert pdu.result is ActionResult.SUCCESS
    assert pdu.single_response.return_parameters is DataAccessResult.OTHER_REASON
    assert pdu.encode() == data


# ---------------------------------------------------------------------------------------------
# Data-notification pushes


def _push(vector_id: str) -> tuple[bytes, DataNotification]:
    data = _bytes(vector_id)
    if data.startswith(b"\xe6\xe7\x00"):  # LLC header of the HAN pushes
        data = data[3:]
    pdu = DataNotification.decode(data)
    assert pdu.encode() == data
    return data, pdu


def _pairs(body: Any) -> dict[str, Any]:
    """OBIS -> value of a flat structure of (octet-string(6), value) pairs."""
    return {
        str(Obis.from_bytes(body[i])): body[i + 1]
        for i in range(0, len(body) - 1)
        if isinstance(body[i], OctetString) and len(body[i]) == 6 and i % 2 == 0
    }


def test_data_notification_plain() -> None:
    _, pdu = _push("dlmscosem-apdu-data-notification-plain")
    assert pdu.long_invoke_id_and_priority.invoke_id == 0x1DB
    assert pdu.date_time is None
    expected = vector("dlmscosem-apdu-data-notification-plain")["expected"]
    assert pdu.notification_body.raw.hex() == expected["body"]
    assert isinstance(pdu.notification_body.value, OctetString)
    assert len(pdu.notification_body.value) == 34


def test_aidon_list3() -> None:
    _, pdu = _push("amshan-apdu-llc-aidon-list3")
    # 0x40000000: invoke-id 0, confirmed (Green Book bit order; amshan reads it reversed)
    assert pdu.long_invoke_id_and_priority == LongInvokeIdAndPriority(0, confirmed=True)
    assert pdu.date_time is None
    items = pdu.notification_body.value
    assert len(items) == 17
    by_obis = {str(Obis.from_bytes(item[0])): item[1:] for item in items}
    assert by_obis["1.1.0.2.129.255"] == ("AIDON_V0001",)
    assert by_obis["0.0.96.1.0.255"] == ("7359992892587665",)
    assert by_obis["0.0.96.1.7.255"] == ("6525",)
    value, (scaler, _unit) = by_obis["1.0.1.8.0.255"]
    assert value * 10**scaler == 22721380
    clock = by_obis["0.0.1.0.0.255"][0].to_date_time()
    assert (clock.year, clock.month, clock.day_of_month, clock.hour, clock.deviation) == (
        2020,
        1,
        21,
        16,
        0,
    )


def test_kaifa_list3_typed_date_time() -> None:
    _, pdu = _push("amshan-apdu-llc-kaifa-list3")
    assert pdu.date_time_typed
    clock = pdu.to_date_time()
    assert clock is not None
    assert (clock.year, clock.month, clock.day_of_month, clock.hour, clock.second) == (
        2020,
        1,
        25,
        14,
        10,
    )
    values = pdu.notification_body.value
    expected = vector("amshan-apdu-llc-kaifa-list3")["expected"]["values"]
    assert len(values) == 18
    assert [bytes(v).decode() for v in values[:3]] == expected[:3]
    assert [int(v) for v in values[3:13]] == expected[3:13]
    assert [int(v) for v in values[14:]] == expected[14:]
    assert values[13] == pdu.date_time


def test_kaifa_swedish_list() -> None:
    _, pdu = _push("amshan-apdu-llc-kaifa-se-list")
    body = pdu.notification_body.value
    assert len(body) == 36
    pairs = _pairs(body)
    assert pairs["1.0.0.2.129.255"] == b"KFM_001"
    assert pairs["0.0.96.1.0.255"] == b"7340734073407340"
    assert pairs["0.0.96.1.7.255"] == b"MA304H4"
    assert (pairs["1.0.1.7.0.255"], pairs["1.0.4.7.0.255"], pairs["1.0.31.7.0.255"]) == (
        2816,
        66,
        6781,
    )


def test_kamstrup_list2() -> None:
    _, pdu = _push("amshan-apdu-llc-kamstrup-1phase-list2")
    assert pdu.long_invoke_id_and_priority.invoke_id == 0
    assert not pdu.date_time_typed
    clock = pdu.to_date_time()
    assert clock is not None
    assert (clock.year, clock.month, clock.day_of_month, clock.second) == (2021, 11, 24, 25)
    body = pdu.notification_body.value
    assert len(body) == 35
    assert body[0] == "Kamstrup_V0001"
    pairs = _pairs(body[1:])
    assert pairs["1.1.0.0.5.255"] == "5705705705705702"
    assert pairs["1.1.96.1.1.255"] == "6861111BN242101040"
    assert pairs["1.1.1.7.0.255"] == 10050
    assert pairs["1.1.4.7.0.255"] == 279
    assert pairs["1.1.31.7.0.255"] == 4512
    assert pairs["1.1.32.7.0.255"] == 223
    assert pairs["0.1.1.0.0.255"].to_date_time() == clock
    assert pairs["1.1.1.8.0.255"] == 7745250
    assert None in body  # missing phases sent as null-data


def test_smr5_alarm_push() -> None:
    _, pdu = _push("osgp-apdu-smr5-alarm-data-notification")
    assert pdu.long_invoke_id_and_priority.invoke_id == 1
    assert pdu.date_time is None
    equipment, logical_name, alarm = pdu.notification_body.value
    assert equipment == b"EXXXX123456789012"
    assert Obis.from_bytes(logical_name) == Obis("0.1.25.9.0.255")
    assert alarm == 2 and type(alarm) is DoubleLongUnsigned


def test_every_service_vector_is_covered() -> None:
    """No vector of the service layer is left out of this file."""
    from tests.conftest import load_vectors

    service = {
        v["id"]
        for v in load_vectors("apdu")
        if any(k in v["id"] for k in ("-get-", "-set-", "-action-", "notification", "llc"))
    }
    source = Path(__file__).read_text(encoding="utf-8")
    assert {vid for vid in service if f'"{vid}"' not in source} == set()
