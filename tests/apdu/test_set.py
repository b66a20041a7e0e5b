"""SET-Request and SET-Response PDUs."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncdlms.apdu.descriptors import CosemAttributeDescriptor, Data, DataBlockSA
from asyncdlms.apdu.enums import DataAccessResult
from asyncdlms.apdu.set import (
    SetRequestNormal,
    SetRequestWithDatablock,
    SetRequestWithFirstDatablock,
    SetRequestWithList,
    SetRequestWithListAndFirstDatablock,
    SetResponseDatablock,
    SetResponseLastDatablock,
    SetResponseLastDatablockWithList,
    SetResponseNormal,
    SetResponseWithList,
    decode_set_request,
    decode_set_response,
)
from asyncdlms.errors import DecodeError
from asyncdlms.obis import Obis
from asyncdlms.types import LongUnsigned
from tests.apdu.test_descriptors import (
    attribute_descriptors,
    data_values,
    datablocks,
    every_prefix_fails,
    invoke_ids,
    only_decode_error,
    optional_selections,
    u32,
    with_selections,
)

access_results = st.sampled_from(DataAccessResult)
requests = st.one_of(
    st.builds(
        SetRequestNormal, attribute_descriptors, data_values, optional_selections, invoke_ids
    ),
    st.builds(
        SetRequestWithFirstDatablock,
        attribute_descriptors,
        datablocks,
        optional_selections,
        invoke_ids,
    ),
    st.builds(SetRequestWithDatablock, datablocks, invoke_ids),
    st.builds(
        SetRequestWithList,
        st.lists(with_selections, max_size=4).map(tuple),
        st.lists(data_values, max_size=4).map(tuple),
        invoke_ids,
    ),
    st.builds(
        SetRequestWithListAndFirstDatablock,
        st.lists(with_selections, max_size=4).map(tuple),
        datablocks,
        invoke_ids,
    ),
)
responses = st.one_of(
    st.builds(SetResponseNormal, access_results, invoke_ids),
    st.builds(SetResponseDatablock, u32, invoke_ids),
    st.builds(SetResponseLastDatablock, access_results, u32, invoke_ids),
    st.builds(
        SetResponseLastDatablockWithList,
        st.lists(access_results, max_size=5).map(tuple),
        u32,
        invoke_ids,
    ),
    st.builds(SetResponseWithList, st.lists(access_results, max_size=5).map(tuple), invoke_ids),
)


@given(requests)
def test_requests_round_trip(request: Any) -> None:
    encoded = request.encode()
    assert decode_set_request(encoded) == request
    assert type(request).decode(encoded) == request
    every_prefix_fails(decode_set_request, encoded)


@given(responses)
def test_responses_round_trip(response: Any) -> None:
    encoded = response.encode()
    assert decode_set_response(encoded) == response
    assert type(response).decode(encoded) == response
    every_prefix_fails(decode_set_response, encoded)


@given(st.binary(max_size=60))
def test_random_bytes_only_decode_error(noise: bytes) -> None:
    for prefix in (b"", b"\xc1", *(bytes((0xC1, n)) for n in range(1, 6))):
        only_decode_error(decode_set_request, prefix + noise)
    for prefix in (b"", b"\xc5", *(bytes((0xC5, n)) for n in range(1, 6))):
        only_decode_error(decode_set_response, prefix + noise)


def test_layouts() -> None:
    descriptor = CosemAttributeDescriptor(1, Obis("0.0.96.1.0.255"), 2)
    assert SetRequestNormal(descriptor, Data.of(LongUnsigned(7))).encode() == bytes.fromhex(
        "c101c100010000600100ff0200120007"
    )
    first = SetRequestWithFirstDatablock(descriptor, DataBlockSA(False, 1, b"\x09\x03ab"))
    assert first.encode() == bytes.fromhex("c102c100010000600100ff020000000000010409036162")
    assert SetResponseDatablock(1).encode() == bytes.fromhex("c502c100000001")
    assert SetResponseLastDatablock(DataAccessResult.SUCCESS, 2).encode() == bytes.fromhex(
        "c503c10000000002"
    )
    assert SetResponseWithList(
        (DataAccessResult.SUCCESS, DataAccessResult.READ_WRITE_DENIED)
    ).encode() == bytes.fromhex("c505c1020003")


@pytest.mark.parametrize(
    ("hex_text", "message"),
    [
        ("c106c1", "unknown SetRequestType 6"),
        ("c101c100010000600100ff0200", "truncated: expected a data type tag"),
        ("c101c1000100", "instance-id"),
        ("c503c100000000", "block-number"),
        ("c505c10300", "elements announced"),
        ("c501c10000", "trailing"),
    ],
)
def test_malformed_input_names_the_problem(hex_text: str, message: str) -> None:
    data = bytes.fromhex(hex_text)
    decode = decode_set_response if data[0] == 0xC5 else decode_set_request
    with pytest.raises(DecodeError, match=message):
        decode(data)
