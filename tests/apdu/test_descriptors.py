"""Descriptors, selective access, Data fields, the bounded reader; shared strategies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncdlms import axdr
from asyncdlms.apdu.descriptors import (
    CosemAttributeDescriptor,
    CosemAttributeDescriptorWithSelection,
    CosemMethodDescriptor,
    Data,
    DataBlockSA,
    Reader,
    SelectiveAccessDescriptor,
    entry_descriptor,
    range_descriptor,
)
from asyncdlms.apdu.enums import InvokeIdAndPriority
from asyncdlms.errors import DecodeError, EncodeError
from asyncdlms.obis import Obis
from asyncdlms.types import DateTime, DoubleLongUnsigned, LongUnsigned, OctetString
from tests.test_axdr import values as axdr_values

# ---------------------------------------------------------------------------------------------
# Strategies used by the other tests of tests/apdu

obis_codes = st.lists(st.integers(0, 255), min_size=6, max_size=6).map(Obis)
invoke_ids = st.builds(
    InvokeIdAndPriority, st.integers(0, 15), st.booleans(), st.booleans(), st.integers(0, 3)
)
data_values = axdr_values.map(Data.of)
attribute_descriptors = st.builds(
    CosemAttributeDescriptor, st.integers(0, 0xFFFF), obis_codes, st.integers(-128, 127)
)
method_descriptors = st.builds(
    CosemMethodDescriptor, st.integers(0, 0xFFFF), obis_codes, st.integers(-128, 127)
)
selections = st.builds(SelectiveAccessDescriptor, st.integers(0, 255), data_values)
optional_selections = st.none() | selections
with_selections = st.builds(
    CosemAttributeDescriptorWithSelection, attribute_descriptors, optional_selections
)
u32 = st.integers(0, 0xFFFFFFFF)
datablocks = st.builds(DataBlockSA, st.booleans(), u32, st.binary(max_size=300))


def only_decode_error(decode: Callable[[bytes], Any], data: bytes) -> None:
    """``decode(data)`` either succeeds or raises DecodeError, nothing else."""
    try:
        decode(data)
    except DecodeError as error:
        assert error.offset is None or 0 <= error.offset <= len(data)


def every_prefix_fails(decode: Callable[[bytes], Any], encoded: bytes) -> None:
    """Every strict prefix of a valid encoding raises DecodeError (truncation)."""
    for end in range(len(encoded)):
        with pytest.raises(DecodeError):
            decode(encoded[:end])


# ---------------------------------------------------------------------------------------------


def test_attribute_descriptor_layout() -> None:
    descriptor = CosemAttributeDescriptor(8, Obis("0.0.1.0.0.255"), 2)
    assert descriptor.encode() == bytes.fromhex("00080000010000ff02")
    assert CosemAttributeDescriptor.decode(descriptor.encode()) == descriptor


def test_descriptor_accepts_obis_text_and_negative_manufacturer_ids() -> None:
    descriptor = CosemAttributeDescriptor(1, "1.0.1.8.0.255", -1)  # type: ignore[arg-type]
    assert descriptor.instance_id == Obis("1.0.1.8.0.255")
    assert descriptor.encode()[-1] == 0xFF
    assert CosemAttributeDescriptor.decode(descriptor.encode()).attribute_id == -1


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: CosemAttributeDescriptor(70000, Obis("0.0.1.0.0.255"), 2), "class-id"),
        (lambda: CosemAttributeDescriptor(1, Obis("0.0.1.0.0.255"), 128), "attribute-id"),
        (lambda: CosemMethodDescriptor(1, Obis("0.0.1.0.0.255"), -129), "method-id"),
        (lambda: SelectiveAccessDescriptor(256, Data.of(None)), "access-selector"),
        (lambda: DataBlockSA(True, -1, b""), "block-number"),
    ],
)
def test_out_of_range_fields_raise_encode_error(make: Callable[[], Any], message: str) -> None:
    with pytest.raises(EncodeError, match=message):
        make()


def test_range_descriptor_matches_blue_book_structure() -> None:
    start = DateTime.from_bytes(bytes.fromhex("07e10a010700000000ffc480"))
    end = DateTime.from_bytes(bytes.fromhex("07e10a010701000000ffc480"))
    selection = range_descriptor((8, "0.0.1.0.0.255", 2, 0), start, end)
    # selector 1, structure{capture object, from, to, empty array} (dlmscosem vector bytes)
    assert selection.encode().hex() == (
        "01020402041200080906"
        "0000010000ff"
        "0f02"
        "120000"
        "090c07e10a010700000000ffc480"
        "090c07e10a010701000000ffc480"
        "0100"
    )
    columns = range_descriptor((8, "0.0.1.0.0.255", 2, 0), 1, 2, [(3, "1.0.1.8.0.255", 2, 0)])
    value = columns.access_parameters.value
    assert value[3][0] == (LongUnsigned(3), OctetString(bytes([1, 0, 1, 8, 0, 255])), 2, 0)


def test_entry_descriptor_matches_blue_book_structure() -> None:
    selection = entry_descriptor(1, 10)
    assert selection.access_selector == 2
    assert selection.access_parameters.value == (
        DoubleLongUnsigned(1),
        DoubleLongUnsigned(10),
        LongUnsigned(1),
        LongUnsigned(0),
    )
    assert selection.encode().hex() == "0202040600000001060000000a120001120000"


def test_data_keeps_bytes_and_value_and_compares_by_bytes() -> None:
    data = Data.from_raw(bytes.fromhex("0600001391"))
    assert data.value == 5009 and type(data.value) is DoubleLongUnsigned
    assert data == Data.of(DoubleLongUnsigned(5009))
    assert data != Data.of(LongUnsigned(5009))
    assert hash(data) == hash(Data.of(DoubleLongUnsigned(5009)))
    assert Data.of(data) is data


@given(axdr_values)
def test_data_of_round_trips(value: Any) -> None:
    data = Data.of(value)
    assert Data.from_raw(data.raw) == data
    assert axdr.encode(Data.from_raw(data.raw).value) == data.raw


@given(attribute_descriptors)
def test_attribute_descriptor_round_trip(descriptor: CosemAttributeDescriptor) -> None:
    assert CosemAttributeDescriptor.decode(descriptor.encode()) == descriptor


@given(method_descriptors)
def test_method_descriptor_round_trip(descriptor: CosemMethodDescriptor) -> None:
    assert CosemMethodDescriptor.decode(descriptor.encode()) == descriptor


@given(selections)
def test_selective_access_round_trip(selection: SelectiveAccessDescriptor) -> None:
    encoded = selection.encode()
    assert SelectiveAccessDescriptor.decode(encoded) == selection
    every_prefix_fails(SelectiveAccessDescriptor.decode, encoded)


@given(st.binary(max_size=40))
def test_random_bytes_only_decode_error(data: bytes) -> None:
    only_decode_error(CosemAttributeDescriptor.decode, data)
    only_decode_error(CosemMethodDescriptor.decode, data)
    only_decode_error(SelectiveAccessDescriptor.decode, data)


def test_reader_errors_name_offset_and_expectation() -> None:
    reader = Reader(b"\x01\x02")
    assert reader.u8("x") == 1
    with pytest.raises(DecodeError, match="block-number") as info:
        reader.u32("block-number")
    assert info.value.offset == 1
    with pytest.raises(DecodeError, match="presence flag"):
        Reader(b"\x02").optional("access-selection")
    with pytest.raises(DecodeError, match="trailing"):
        Reader(b"\x00").finish("pdu")
    with pytest.raises(DecodeError, match="elements announced"):
        Reader(b"\x82\xff\xff").count("list", 1)
    with pytest.raises(DecodeError, match="truncated"):
        Reader(b"\x05abc").octet_string("raw-data")
