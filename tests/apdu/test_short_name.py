"""Short-name referencing PDUs and base-name arithmetic."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncdlms.apdu.descriptors import Data
from asyncdlms.apdu.enums import DataAccessResult
from asyncdlms.apdu.short_name import (
    FIRST_METHOD_OFFSET,
    BlockNumberAccess,
    DataBlockResult,
    ParameterizedAccess,
    ReadDataBlockAccess,
    ReadRequest,
    ReadResponse,
    UnconfirmedWriteRequest,
    VariableName,
    WriteDataBlockAccess,
    WriteRequest,
    WriteResponse,
    attribute_short_name,
    method_short_name,
)
from asyncdlms.errors import DecodeError, EncodeError
from asyncdlms.types import Integer, LongUnsigned
from tests.apdu.test_descriptors import data_values, only_decode_error

u16 = st.integers(0, 0xFFFF)
specifications = st.one_of(
    st.builds(VariableName, u16),
    st.builds(ParameterizedAccess, u16, st.integers(0, 255), data_values),
    st.builds(BlockNumberAccess, u16),
    st.builds(ReadDataBlockAccess, st.booleans(), u16, st.binary(max_size=200)),
    st.builds(WriteDataBlockAccess, st.booleans(), u16),
)
read_results = st.one_of(
    data_values,
    st.sampled_from(DataAccessResult),
    st.builds(DataBlockResult, st.booleans(), u16, st.binary(max_size=200)),
    st.builds(BlockNumberAccess, u16),
)
write_results = st.sampled_from(DataAccessResult) | st.builds(BlockNumberAccess, u16)
pdus = st.one_of(
    st.builds(ReadRequest, st.lists(specifications, max_size=5).map(tuple)),
    st.builds(ReadResponse, st.lists(read_results, max_size=5).map(tuple)),
    st.builds(
        WriteRequest,
        st.lists(specifications, max_size=4).map(tuple),
        st.lists(data_values, max_size=4).map(tuple),
    ),
    st.builds(
        UnconfirmedWriteRequest,
        st.lists(specifications, max_size=4).map(tuple),
        st.lists(data_values, max_size=4).map(tuple),
    ),
    st.builds(WriteResponse, st.lists(write_results, max_size=5).map(tuple)),
)


@given(pdus)
def test_round_trip(pdu: Any) -> None:
    encoded = pdu.encode()
    assert type(pdu).decode(encoded) == pdu
    for end in range(len(encoded)):
        with pytest.raises(DecodeError):
            type(pdu).decode(encoded[:end])


@given(st.binary(max_size=60))
def test_random_bytes_only_decode_error(noise: bytes) -> None:
    for cls, tag in (
        (ReadRequest, b"\x05"),
        (ReadResponse, b"\x0c"),
        (WriteRequest, b"\x06"),
        (UnconfirmedWriteRequest, b"\x16"),
        (WriteResponse, b"\x0d"),
    ):
        only_decode_error(cls.decode, noise)
        only_decode_error(cls.decode, tag + noise)
        only_decode_error(cls.decode, tag + b"\x01" + noise)


def test_layouts() -> None:
    read = ReadRequest((VariableName(0x2008), ParameterizedAccess(0x3108, 2, Data.of(Integer(1)))))
    assert read.encode().hex() == "0502022008043108020f01"
    response = ReadResponse(
        (Data.of(LongUnsigned(5)), DataAccessResult.OBJECT_UNDEFINED, BlockNumberAccess(1))
    )
    assert response.encode().hex() == "0c03001200050104030001"
    write = WriteRequest((VariableName(0x0008),), (Data.of(LongUnsigned(5)),))
    assert write.encode().hex() == "060102000801120005"
    assert (
        UnconfirmedWriteRequest(write.variable_access_specification, write.list_of_data).encode()[0]
        == 0x16
    )
    assert WriteResponse((DataAccessResult.SUCCESS, DataAccessResult.TYPE_UNMATCHED)).encode() == (
        bytes.fromhex("0d0200010c")
    )
    assert WriteRequest.decode(write.encode()) != UnconfirmedWriteRequest(
        write.variable_access_specification, write.list_of_data
    )


def test_base_name_arithmetic() -> None:
    # Register at 0x2000: value (attribute 2) at 0x2008, scaler_unit at 0x2010, reset at 0x2028
    assert attribute_short_name(0x2000, 1) == 0x2000
    assert attribute_short_name(0x2000, 2) == 0x2008
    assert attribute_short_name(0x2000, 3) == 0x2010
    assert method_short_name(0x2000, 3, 1) == 0x2028
    # Clock: adjust_to_quarter at +0x60, shift_time (method 6) at +0x88
    assert method_short_name(0x2B00, 8, 1) == 0x2B60
    assert method_short_name(0x2B00, 8, 6) == 0x2B88
    # Profile generic capture (method 2) at +0x60; Association SN at 0xFA00
    assert method_short_name(0x3100, 7, 2) == 0x3160
    assert method_short_name(0xFA00, 12, 1) == 0xFA20
    assert FIRST_METHOD_OFFSET[70] == (0x20, 2)
    with pytest.raises(EncodeError, match="class id 1"):
        method_short_name(0x100, 1, 1)
    with pytest.raises(EncodeError, match=r"methods 1\.\.1"):
        method_short_name(0x100, 3, 2)
    with pytest.raises(EncodeError, match="16 bits"):
        attribute_short_name(0xFFF8, 3)
    with pytest.raises(EncodeError):
        attribute_short_name(0x100, 0)


@pytest.mark.parametrize(
    ("cls", "hex_text", "message"),
    [
        (ReadRequest, "0501030000", "CHOICE tag must be 2, 4, 5, 6 or 7"),
        (ReadResponse, "0c010400", "CHOICE tag must be 0..3"),
        (WriteResponse, "0d0103", "CHOICE tag must be 0..2"),
        (WriteRequest, "050100", "expected APDU tag 0x06"),
        (ReadRequest, "0502020001", "elements announced"),
    ],
)
def test_malformed_input_names_the_problem(cls: Any, hex_text: str, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        cls.decode(bytes.fromhex(hex_text))
