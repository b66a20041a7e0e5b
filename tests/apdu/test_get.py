"""GET-Request and GET-Response PDUs."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncdlms.apdu.descriptors import CosemAttributeDescriptor, Data, entry_descriptor
from asyncdlms.apdu.enums import DataAccessResult, InvokeIdAndPriority
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
from asyncdlms.errors import DataAccessError, DecodeError
from asyncdlms.obis import Obis
from asyncdlms.types import DoubleLongUnsigned, Structure
from tests.apdu.test_descriptors import (
    attribute_descriptors,
    data_values,
    every_prefix_fails,
    invoke_ids,
    only_decode_error,
    optional_selections,
    u32,
    with_selections,
)

results = data_values | st.sampled_from(DataAccessResult)
requests = st.one_of(
    st.builds(GetRequestNormal, attribute_descriptors, optional_selections, invoke_ids),
    st.builds(GetRequestNext, u32, invoke_ids),
    st.builds(GetRequestWithList, st.lists(with_selections, max_size=5).map(tuple), invoke_ids),
)
responses = st.one_of(
    st.builds(GetResponseNormal, results, invoke_ids),
    st.builds(
        GetResponseWithDatablock,
        st.booleans(),
        u32,
        st.binary(max_size=300) | st.sampled_from(DataAccessResult),
        invoke_ids,
    ),
    st.builds(GetResponseWithList, st.lists(results, max_size=5).map(tuple), invoke_ids),
)


@given(requests)
def test_requests_round_trip(request: Any) -> None:
    encoded = request.encode()
    assert decode_get_request(encoded) == request
    assert type(request).decode(encoded) == request
    every_prefix_fails(decode_get_request, encoded)


@given(responses)
def test_responses_round_trip(response: Any) -> None:
    encoded = response.encode()
    assert decode_get_response(encoded) == response
    assert type(response).decode(encoded) == response
    every_prefix_fails(decode_get_response, encoded)


@given(st.binary(max_size=60))
def test_random_bytes_only_decode_error(noise: bytes) -> None:
    for prefix in (b"", b"\xc0", b"\xc0\x01", b"\xc0\x03", b"\xc4\x01", b"\xc4\x02", b"\xc4\x03"):
        only_decode_error(decode_get_request, prefix + noise)
        only_decode_error(decode_get_response, prefix + noise)
        only_decode_error(GetResponseNormal.decode, prefix + noise)


def test_layout_with_selective_access() -> None:
    request = GetRequestNormal(
        CosemAttributeDescriptor(7, Obis("1.0.99.1.0.255"), 2), entry_descriptor(1, 2)
    )
    encoded = request.encode()
    assert encoded[:3] == bytes.fromhex("c001c1")
    assert encoded[12] == 1 and encoded[13] == 2  # present, selector 2


def test_response_value_and_errors() -> None:
    ok = GetResponseNormal(Data.of(DoubleLongUnsigned(5009)))
    assert ok.value == 5009
    assert ok.encode() == bytes.fromhex("c401c1000600001391")
    assert GetResponseNormal(DoubleLongUnsigned(5009)) == ok  # type: ignore[arg-type]  # wrapped
    failed = GetResponseNormal(DataAccessResult.READ_WRITE_DENIED)
    with pytest.raises(DataAccessError, match="read-write-denied") as info:
        _ = failed.value
    assert info.value.result is DataAccessResult.READ_WRITE_DENIED
    block = GetResponseWithDatablock(True, 3, DataAccessResult.LONG_GET_ABORTED)
    with pytest.raises(DataAccessError, match="long-get-aborted"):
        _ = block.raw_data
    listed = GetResponseWithList((Data.of(1), DataAccessResult.OBJECT_UNDEFINED))
    with pytest.raises(DataAccessError, match="object-undefined"):
        _ = listed.values


def test_value_is_decoded_once_and_reused() -> None:
    big = Structure(tuple(range(200)))
    encoded = GetResponseNormal(Data.of(big), InvokeIdAndPriority(3)).encode()
    decoded = GetResponseNormal.decode(encoded)
    first = decoded.value
    assert decoded.value is first  # no second decode
    assert decoded.encode() == encoded


@pytest.mark.parametrize(
    ("hex_text", "message"),
    [
        ("c0", "GetRequestType"),
        ("c004c1", "unknown GetRequestType 4"),
        ("c101c1", "expected APDU tag 0xc0"),
        ("c001c1000100002b0100ff02", "presence flag"),
        ("c001c1000100002b0100ff0202", "presence flag"),
        ("c001c1000100002b0100ff020000", "trailing"),
        ("c401c102", "Get-Data-Result CHOICE tag"),
        ("c402c1000000000102", "DataBlock-G result"),
        ("c402c10000000001000a0102", "truncated raw-data"),
        ("c403c105", "elements announced"),
    ],
)
def test_malformed_input_names_the_problem(hex_text: str, message: str) -> None:
    data = bytes.fromhex(hex_text)
    with pytest.raises(DecodeError, match=message):
        if data[:1] == b"\xc4":
            decode_get_response(data)
        else:
            decode_get_request(data)


def test_specific_decoder_rejects_other_variant() -> None:
    with pytest.raises(DecodeError, match="get-request-normal"):
        GetRequestNormal.decode(GetRequestNext(1).encode())


def test_with_list_chunks_of_ten_by_default() -> None:
    from asyncdlms.apdu.get import chunk_attribute_list
    from asyncdlms.errors import EncodeError

    items = [CosemAttributeDescriptor(3, Obis(1, 0, n, 8, 0, 255), 2) for n in range(23)]
    chunks = chunk_attribute_list(items)
    assert [len(c) for c in chunks] == [10, 10, 3]
    assert [c.cosem_attribute_descriptor for chunk in chunks for c in chunk] == items
    assert [len(c) for c in chunk_attribute_list(items, 5)] == [5, 5, 5, 5, 3]
    assert chunk_attribute_list([]) == []
    with pytest.raises(EncodeError):
        chunk_attribute_list(items, 0)
