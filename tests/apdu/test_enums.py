"""Service enums, invoke-id-and-priority (short and long) and the error helpers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncdlms.apdu.enums import (
    ActionRequestType,
    ActionResponseType,
    ActionResult,
    DataAccessResult,
    GetRequestType,
    GetResponseType,
    InvokeIdAndPriority,
    LongInvokeIdAndPriority,
    SetRequestType,
    SetResponseType,
    action_error,
    data_access_error,
)
from asyncdlms.errors import ActionError, DataAccessError, DecodeError, EncodeError


def test_codes_are_the_standard_ones() -> None:
    assert DataAccessResult.OBJECT_UNDEFINED.value == 4
    assert DataAccessResult.OBJECT_CLASS_INCONSISTENT.value == 9
    assert DataAccessResult.SCOPE_OF_ACCESS_VIOLATED.value == 13
    assert DataAccessResult.DATA_BLOCK_NUMBER_INVALID.value == 19
    assert DataAccessResult.OTHER_REASON.value == 250
    assert len(DataAccessResult) == 16
    assert ActionResult.LONG_ACTION_ABORTED.value == 15
    assert ActionResult.NO_LONG_ACTION_IN_PROGRESS.value == 16
    assert len(ActionResult) == 13
    assert [m.value for m in GetRequestType] == [1, 2, 3]
    assert [m.value for m in GetResponseType] == [1, 2, 3]
    assert SetRequestType.WITH_LIST_AND_FIRST_DATABLOCK.value == 5
    assert SetResponseType.LAST_DATABLOCK_WITH_LIST.value == 4
    assert ActionRequestType.WITH_PBLOCK.value == 6
    assert ActionResponseType.NEXT_PBLOCK.value == 4


def test_standard_names_and_errors() -> None:
    assert DataAccessResult.READ_WRITE_DENIED.standard_name == "read-write-denied"
    error = data_access_error(DataAccessResult.OBJECT_UNDEFINED)
    assert isinstance(error, DataAccessError)
    assert error.result is DataAccessResult.OBJECT_UNDEFINED
    assert "object-undefined (4)" in str(error)
    action = action_error(ActionResult.TEMPORARY_FAILURE)
    assert isinstance(action, ActionError)
    assert action.result is ActionResult.TEMPORARY_FAILURE
    assert "temporary-failure" in str(action)


def test_unknown_code_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="unknown GetRequestType 7") as info:
        GetRequestType.decode_value(7, 7)
    assert info.value.offset == 7
    # result codes are open: a manufacturer-specific code is kept (see below)
    assert DataAccessResult.decode_value(5, 7).name == "UNKNOWN_5"


def test_invoke_id_and_priority_byte() -> None:
    gurux_default = InvokeIdAndPriority.from_byte(0xC1)
    assert gurux_default == InvokeIdAndPriority()  # invoke-id 1, confirmed, high priority
    assert (gurux_default.invoke_id, gurux_default.confirmed, gurux_default.high_priority) == (
        1,
        True,
        True,
    )
    assert InvokeIdAndPriority(0, False, False).to_byte() == 0
    assert InvokeIdAndPriority(15, True, False).encode() == b"\x4f"
    assert InvokeIdAndPriority.decode(b"\x81") == InvokeIdAndPriority(1, False, True)
    with pytest.raises(EncodeError):
        InvokeIdAndPriority(16)
    with pytest.raises(DecodeError):
        InvokeIdAndPriority.decode(b"")


@given(st.integers(0, 255))
def test_every_byte_round_trips(value: int) -> None:
    assert InvokeIdAndPriority.from_byte(value).to_byte() == value


def test_long_invoke_id_and_priority_follows_the_green_book_bit_order() -> None:
    # amshan vectors: 0x40000000 is invoke-id 0, confirmed (amshan reads it reversed)
    value = LongInvokeIdAndPriority.decode(bytes.fromhex("40000000"))
    assert value == LongInvokeIdAndPriority(invoke_id=0, confirmed=True)
    full = LongInvokeIdAndPriority(0x0001DB, True, True, True, True, 0)
    assert full.encode() == bytes.fromhex("F00001DB")
    with pytest.raises(EncodeError):
        LongInvokeIdAndPriority(1 << 24)
    with pytest.raises(DecodeError):
        LongInvokeIdAndPriority.decode(b"\x00\x00\x01")


@given(st.integers(0, 0xFFFFFFFF))
def test_every_long_value_round_trips(value: int) -> None:
    assert LongInvokeIdAndPriority.from_int(value).to_int() == value
    assert LongInvokeIdAndPriority.decode(value.to_bytes(4, "big")).encode() == value.to_bytes(
        4, "big"
    )


def test_manufacturer_specific_result_codes_decode_as_errors() -> None:
    from asyncdlms.apdu.enums import ActionResult, DataAccessResult
    from asyncdlms.apdu.get import GetResponseNormal
    from asyncdlms.errors import DataAccessError

    unknown = DataAccessResult(200)
    assert unknown == 200 and unknown.standard_name == "unknown-200"
    assert DataAccessResult(200) is unknown
    assert ActionResult(77).name == "UNKNOWN_77"
    response = GetResponseNormal.decode(bytes.fromhex("c401c101c8"))
    assert response.result == 200
    with pytest.raises(DataAccessError, match="unknown-200"):
        response.value  # noqa: B018
    assert response.encode() == bytes.fromhex("c401c101c8")
    with pytest.raises(ValueError):
        DataAccessResult(256)
