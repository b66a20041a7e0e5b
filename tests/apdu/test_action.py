"""ACTION-Request and ACTION-Response PDUs."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncdlms.apdu.action import (
    ActionRequestNextPblock,
    ActionRequestNormal,
    ActionRequestWithFirstPblock,
    ActionRequestWithList,
    ActionRequestWithListAndFirstPblock,
    ActionRequestWithPblock,
    ActionResponseNextPblock,
    ActionResponseNormal,
    ActionResponseWithList,
    ActionResponseWithOptionalData,
    ActionResponseWithPblock,
    decode_action_request,
    decode_action_response,
)
from asyncdlms.apdu.descriptors import CosemMethodDescriptor, Data
from asyncdlms.apdu.enums import ActionResult, DataAccessResult, InvokeIdAndPriority
from asyncdlms.errors import ActionError, DataAccessError, DecodeError
from asyncdlms.obis import Obis
from asyncdlms.types import Integer
from tests.apdu.test_descriptors import (
    data_values,
    datablocks,
    every_prefix_fails,
    invoke_ids,
    method_descriptors,
    only_decode_error,
    u32,
)

single_responses = st.builds(
    ActionResponseWithOptionalData,
    st.sampled_from(ActionResult),
    st.none() | data_values | st.sampled_from(DataAccessResult),
)
requests = st.one_of(
    st.builds(ActionRequestNormal, method_descriptors, st.none() | data_values, invoke_ids),
    st.builds(ActionRequestNextPblock, u32, invoke_ids),
    st.builds(
        ActionRequestWithList,
        st.lists(method_descriptors, max_size=4).map(tuple),
        st.lists(data_values, max_size=4).map(tuple),
        invoke_ids,
    ),
    st.builds(ActionRequestWithFirstPblock, method_descriptors, datablocks, invoke_ids),
    st.builds(
        ActionRequestWithListAndFirstPblock,
        st.lists(method_descriptors, max_size=4).map(tuple),
        datablocks,
        invoke_ids,
    ),
    st.builds(ActionRequestWithPblock, datablocks, invoke_ids),
)
responses = st.one_of(
    st.builds(ActionResponseNormal, single_responses, invoke_ids),
    st.builds(ActionResponseWithPblock, datablocks, invoke_ids),
    st.builds(
        ActionResponseWithList, st.lists(single_responses, max_size=4).map(tuple), invoke_ids
    ),
    st.builds(ActionResponseNextPblock, u32, invoke_ids),
)


@given(requests)
def test_requests_round_trip(request: Any) -> None:
    encoded = request.encode()
    assert decode_action_request(encoded) == request
    assert type(request).decode(encoded) == request
    every_prefix_fails(decode_action_request, encoded)


@given(responses)
def test_responses_round_trip(response: Any) -> None:
    encoded = response.encode()
    assert decode_action_response(encoded) == response
    assert type(response).decode(encoded) == response
    for end in range(len(encoded)):
        try:
            shorter = decode_action_response(encoded[:end])
        except DecodeError:
            continue
        # the one prefix that decodes ends at a result without its presence flag (what
        # gurux-dlms sends): the same APDU with no return parameters, encoded with the flag
        assert shorter.encode() == encoded[:end] + b"\x00", encoded[:end].hex()


@given(st.binary(max_size=60))
def test_random_bytes_only_decode_error(noise: bytes) -> None:
    for prefix in (b"", b"\xc3", *(bytes((0xC3, n)) for n in range(1, 7))):
        only_decode_error(decode_action_request, prefix + noise)
    for prefix in (b"", b"\xc7", *(bytes((0xC7, n)) for n in range(1, 5))):
        only_decode_error(decode_action_response, prefix + noise)


def test_layouts() -> None:
    method = CosemMethodDescriptor(70, Obis("0.0.96.3.10.255"), 1)
    request = ActionRequestNormal(method, Data.of(Integer(0)), InvokeIdAndPriority(2))
    assert request.encode() == bytes.fromhex("c301c20046000060030aff01010f00")
    assert ActionRequestNormal(method).encode() == bytes.fromhex("c301c10046000060030aff0100")
    assert ActionResponseNextPblock(5).encode() == bytes.fromhex("c704c100000005")


def test_response_values_and_errors() -> None:
    assert ActionResponseNormal(ActionResponseWithOptionalData(ActionResult.SUCCESS)).value is None
    returned = ActionResponseNormal(
        ActionResponseWithOptionalData(ActionResult.SUCCESS, Data.of(b"ab"))
    )
    assert returned.value == b"ab"
    assert returned.result is ActionResult.SUCCESS
    failed = ActionResponseNormal(ActionResponseWithOptionalData(ActionResult.READ_WRITE_DENIED))
    with pytest.raises(ActionError, match="read-write-denied"):
        _ = failed.value
    access = ActionResponseWithOptionalData(ActionResult.SUCCESS, DataAccessResult.OTHER_REASON)
    with pytest.raises(DataAccessError, match="other-reason"):
        _ = access.value


def test_a_response_ending_at_its_result_has_no_return_parameters() -> None:
    """gurux-dlms based servers leave out the presence flag of return-parameters when they
    answer an ACTION with an error (reportError): the result must still come through, as an
    ActionError, not as a truncated APDU."""
    refused = ActionResponseNormal.decode(bytes.fromhex("c701c101"))
    assert refused.result is ActionResult.HARDWARE_FAULT
    assert refused.single_response.return_parameters is None
    with pytest.raises(ActionError, match="hardware-fault"):
        _ = refused.value
    assert ActionResponseNormal.decode(bytes.fromhex("c701c100")).value is None
    # the flag is still checked when it is there, and a list's items before the end keep it
    with pytest.raises(DecodeError, match="presence flag"):
        ActionResponseNormal.decode(bytes.fromhex("c701c10002"))
    with pytest.raises(DecodeError):
        decode_action_response(bytes.fromhex("c703c1020000"))


@pytest.mark.parametrize(
    ("hex_text", "message"),
    [
        ("c307c1", "unknown ActionRequestType 7"),
        ("c301c10046000060030aff0102", "presence flag"),
        ("c301c10046000060030aff0101", "data type tag"),
        ("c701c1000102", "Get-Data-Result CHOICE tag"),
        ("c705c1", "unknown ActionResponseType 5"),
        ("c702c1010000000105", "truncated raw-data"),
    ],
)
def test_malformed_input_names_the_problem(hex_text: str, message: str) -> None:
    data = bytes.fromhex(hex_text)
    decode = decode_action_response if data[0] == 0xC7 else decode_action_request
    with pytest.raises(DecodeError, match=message):
        decode(data)
