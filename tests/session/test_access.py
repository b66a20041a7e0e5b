"""The ACCESS service in both roles.

- ServerSession (sans-IO, raw APDUs): each operation goes to the object access in order,
  continue-on-error and break-on-error, self-descriptive requests echoed, refusals (service
  not granted, malformed APDUs, lists that do not match, an answer too long for the client).
- ClientSession (sans-IO, a scripted server): the conformance check before anything is sent,
  the long invoke-id, answers that cannot belong to the request refused with typed errors.
- Client.access against the simulator over loopback TCP: wrapper and HDLC, plain and
  ciphered (global and dedicated key), GET/SET/ACTION mixed in one request whose later
  operations see what the earlier ones did, with both processing options; general block
  transfer for a long answer.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

import asyncdlms
from asyncdlms import AccessAction, AccessGet, AccessResult, AccessSet
from asyncdlms.apdu.access import (
    AccessRequest,
    AccessRequestAction,
    AccessRequestGet,
    AccessRequestSet,
    AccessResponse,
    AccessResponseAction,
    AccessResponseGet,
    AccessResponseSet,
)
from asyncdlms.apdu.acse import MechanismName
from asyncdlms.apdu.descriptors import (
    CosemAttributeDescriptor,
    CosemMethodDescriptor,
    Data,
)
from asyncdlms.apdu.enums import ActionResult, DataAccessResult, LongInvokeIdAndPriority
from asyncdlms.apdu.get import GetRequestNormal, GetResponseNormal
from asyncdlms.apdu.initiate import Conformance
from asyncdlms.apdu.service_error import (
    ExceptionResponse,
    ExceptionServiceError,
    ExceptionStateError,
)
from asyncdlms.apdu.tags import ApduTag
from asyncdlms.errors import (
    ActionError,
    DataAccessError,
    DecodeError,
    NotProcessedError,
    ServiceError,
    ServiceNotNegotiatedError,
)
from asyncdlms.security.ciphering import SecurityPolicy
from asyncdlms.security.hls import Secret
from asyncdlms.server import Simulator
from asyncdlms.server.simulator import DEFAULT_HLS_SECRET, DISCONNECT_CONTROL
from asyncdlms.session.server import AssociationPolicy, AssociationState, ServerSecurity
from asyncdlms.session.settings import ClientSecurity, ClientSettings
from asyncdlms.types import Enum, Integer, OctetString
from tests.session import test_client as client_side
from tests.session import test_server as server_side

# ---------------------------------------------------------------------------------------------
# ServerSession

GRANTED = server_side.FULL_CONFORMANCE | Conformance.ACCESS
DATA = CosemAttributeDescriptor(1, server_side.DATA, 2)
REGISTER = CosemAttributeDescriptor(3, server_side.REGISTER, 2)
MISSING = CosemAttributeDescriptor(1, "0.0.99.99.99.255", 2)
RESET = CosemMethodDescriptor(3, server_side.REGISTER, 1)
NULL = Data.of(None)


def access_server(client: int = 1, link: str = "wrapper", **aarq: Any) -> server_side.Harness:
    """A ServerSession whose policy for ``client`` offers ACCESS, associated."""
    policies = server_side.policies()
    policies[1] = AssociationPolicy(conformance=policies[16].conformance | Conformance.ACCESS)
    harness = server_side.Harness(
        client, link=link, settings=server_side.server_settings(policies=policies)
    )
    assert harness.associate(server_side.aarq(conformance=GRANTED, **aarq)).accepted
    return harness


def iip(invoke_id: int = 9, **options: bool) -> LongInvokeIdAndPriority:
    return LongInvokeIdAndPriority(invoke_id, confirmed=True, high_priority=True, **options)


def mixed_request(**options: bool) -> AccessRequest:
    """GET a register, GET an undefined object, SET a data object, ACTION, GET it back."""
    return AccessRequest(
        (
            AccessRequestGet(REGISTER),
            AccessRequestGet(MISSING),
            AccessRequestSet(DATA),
            AccessRequestAction(RESET),
            AccessRequestGet(DATA),
        ),
        (NULL, NULL, Data.of(OctetString(b"new")), Data.of(Integer(7)), NULL),
        iip(**options),
    )


@pytest.mark.parametrize("link", ["wrapper", "hdlc"])
def test_server_continues_on_error(link: str) -> None:
    harness = access_server(link=link)
    response = AccessResponse.decode(harness.one(mixed_request().encode()))
    assert response.long_invoke_id_and_priority == iip()
    assert response.access_request_specification is None
    assert response.access_response_specification == (
        AccessResponseGet(DataAccessResult.SUCCESS),
        AccessResponseGet(DataAccessResult.OBJECT_UNDEFINED),
        AccessResponseSet(DataAccessResult.SUCCESS),
        AccessResponseAction(ActionResult.SUCCESS),
        AccessResponseGet(DataAccessResult.SUCCESS),
    )
    values = [data.value for data in response.access_response_list_of_data]
    # the last GET sees the SET before it, in the same request
    assert values == [12345, None, None, None, b"new"]
    assert harness.state["actions"] == [("reset", 7)]


def test_server_breaks_on_error() -> None:
    harness = access_server()
    response = AccessResponse.decode(harness.one(mixed_request(break_on_error=True).encode()))
    # the failing operation is the last one answered; the SET and ACTION were not carried out
    assert response.access_response_specification == (
        AccessResponseGet(DataAccessResult.SUCCESS),
        AccessResponseGet(DataAccessResult.OBJECT_UNDEFINED),
    )
    assert len(response.access_response_list_of_data) == 2
    assert harness.state["actions"] == []
    check = AccessRequest((AccessRequestGet(DATA),), (NULL,), iip())
    again = AccessResponse.decode(harness.one(check.encode()))
    assert again.access_response_list_of_data[0].value == b"value"


def test_server_echoes_a_self_descriptive_request() -> None:
    harness = access_server()
    request = AccessRequest((AccessRequestGet(REGISTER),), (NULL,), iip(self_descriptive=True))
    response = AccessResponse.decode(harness.one(request.encode()))
    assert response.access_request_specification == request.access_request_specification
    assert response.long_invoke_id_and_priority.self_descriptive


def test_server_without_access_granted_refuses_it() -> None:
    harness = server_side.associated()  # the default policy does not offer ACCESS
    request = AccessRequest((AccessRequestGet(REGISTER),), (NULL,), iip())
    answer = ExceptionResponse.decode(harness.one(request.encode()))
    assert answer.state_error == ExceptionStateError.SERVICE_NOT_ALLOWED
    assert answer.service_error == ExceptionServiceError.SERVICE_NOT_SUPPORTED
    assert harness.server.state is AssociationState.ASSOCIATED


@pytest.mark.parametrize(
    ("apdu", "service_error"),
    [
        ("d9", ExceptionServiceError.OPERATION_NOT_POSSIBLE),  # truncated header
        ("d9c0000001000106", ExceptionServiceError.OPERATION_NOT_POSSIBLE),  # unknown choice
        ("d9c00000010000000000", ExceptionServiceError.OPERATION_NOT_POSSIBLE),  # trailing
        ("d9c0000001000500", ExceptionServiceError.OPERATION_NOT_POSSIBLE),  # count too big
        # two operations, one Data: the request means nothing
        (
            "d9c000000100020100030100010800ff020100030100010800ff020100",
            ExceptionServiceError.OPERATION_NOT_POSSIBLE,
        ),
    ],
)
def test_server_refuses_malformed_access_requests(
    apdu: str, service_error: ExceptionServiceError
) -> None:
    harness = access_server()
    answer = ExceptionResponse.decode(harness.one(bytes.fromhex(apdu)))
    assert answer.state_error == ExceptionStateError.SERVICE_NOT_ALLOWED
    assert answer.service_error == service_error
    assert harness.server.state is AssociationState.ASSOCIATED
    # the association still serves ACCESS
    request = AccessRequest((AccessRequestGet(REGISTER),), (NULL,), iip())
    assert AccessResponse.decode(harness.one(request.encode())).access_response_specification


def test_server_answer_too_long_for_the_client_is_pdu_too_long() -> None:
    harness = access_server(max_pdu=64)
    profile = CosemAttributeDescriptor(7, server_side.PROFILE, 2)  # 24 rows
    request = AccessRequest((AccessRequestGet(profile),), (NULL,), iip())
    answer = ExceptionResponse.decode(harness.one(request.encode()))
    assert answer.service_error == ExceptionServiceError.PDU_TOO_LONG


# ---------------------------------------------------------------------------------------------
# ClientSession

CLIENT_GRANTED = client_side.SERVER_CONFORMANCE | Conformance.ACCESS
ITEMS = (AccessGet(3, "1.0.1.8.0.255", 2), AccessSet(1, "0.0.96.1.0.255", 2, 5))


def scripted(answer: bytes | None, conformance: Conformance = CLIENT_GRANTED) -> Any:
    pair = client_side.associated(conformance=conformance)
    if answer is not None:
        pair.server.override = lambda apdu: [answer] if apdu[0] == ApduTag.ACCESS_REQUEST else None
    return pair


def test_client_checks_the_conformance_before_sending() -> None:
    pair = scripted(None, conformance=client_side.SERVER_CONFORMANCE)
    error = pair.result(pair.session.access(ITEMS, now=0.0))
    assert isinstance(error, ServiceNotNegotiatedError)
    assert "conformance bit 17 'access'" in str(error)
    assert error.conformance == Conformance.ACCESS
    assert pair.server.requests == []


def test_client_request_carries_the_invoke_id_and_processing_option() -> None:
    reply = AccessResponse(
        (Data.of(1), NULL),
        (AccessResponseGet(DataAccessResult.SUCCESS), AccessResponseSet(DataAccessResult.SUCCESS)),
    ).encode()
    pair = scripted(reply)
    results = pair.result(pair.session.access(ITEMS, break_on_error=True, now=0.0))
    assert [r.ok for r in results] == [True, True]
    request = AccessRequest.decode(pair.server.requests[-1])
    assert request.long_invoke_id_and_priority.break_on_error
    assert request.long_invoke_id_and_priority.confirmed
    assert request.access_request_list_of_data == (NULL, Data.of(5))


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (  # three answers for two operations
            AccessResponse((NULL, NULL, NULL), (AccessResponseGet(DataAccessResult.SUCCESS),) * 3),
            "answers 3 operations, 2 were asked",
        ),
        (  # a GET answered as an ACTION
            AccessResponse((NULL,), (AccessResponseAction(ActionResult.SUCCESS),)),
            "operation 1 .* answered as access-response-action",
        ),
        (  # two data, one result
            AccessResponse((NULL, NULL), (AccessResponseGet(DataAccessResult.SUCCESS),)),
            "2 data and 1 results",
        ),
    ],
)
def test_client_refuses_an_answer_that_does_not_fit(response: AccessResponse, message: str) -> None:
    pair = scripted(response.encode())
    error = pair.result(pair.session.access(ITEMS, now=0.0))
    assert isinstance(error, DecodeError)
    assert re.search(message, str(error))


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (b"\xda\xc0\x00", DecodeError),  # truncated
        (bytes.fromhex("dac0000001000105"), DecodeError),
        (
            ExceptionResponse(
                ExceptionStateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.SERVICE_NOT_SUPPORTED
            ).encode(),
            ServiceError,
        ),
    ],
)
def test_client_malformed_or_refused_answers_are_typed_errors(
    answer: bytes, error: type[Exception]
) -> None:
    pair = scripted(answer)
    assert isinstance(pair.result(pair.session.access(ITEMS, now=0.0)), error)
    # the association goes on
    assert pair.result(pair.session.get(client_side.REGISTER, now=0.0)) == 123456


def test_client_swallows_a_late_access_answer_by_its_long_invoke_id() -> None:
    """A cancelled ACCESS whose answer comes after late_response_timeout, while the next
    request is in flight, is recognised by its long invoke-id and never taken as that
    request's answer."""
    pair = scripted(None)
    held: list[bytes] = []
    pair.server.override = lambda apdu: held.append(apdu) or []
    access_id = pair.session.access(ITEMS, now=0.0)
    pair.pump()
    (request,) = (AccessRequest.decode(apdu) for apdu in held)
    assert pair.session.cancel(access_id, now=0.0)
    pair.now = 10.0
    pair.session.handle_timer(10.0)  # late_response_timeout (5 s) is over: the next goes
    get_id = pair.session.get(client_side.REGISTER, now=10.0)
    assert pair.pump() == []
    get_request = GetRequestNormal.decode(held[-1])
    late = AccessResponse(
        (Data.of(1), NULL),
        (AccessResponseGet(DataAccessResult.SUCCESS), AccessResponseSet(DataAccessResult.SUCCESS)),
        request.long_invoke_id_and_priority,
    )
    pair.push(late.encode())
    assert pair.pump() == []
    assert pair.session.late_responses == 1
    answer = GetResponseNormal(Data.of(123), get_request.invoke_id_and_priority)
    pair.push(answer.encode())
    assert pair.result(get_id) == 123


def test_results_are_typed() -> None:
    get, set_ = ITEMS
    action = AccessAction(70, "0.0.96.3.10.255", 1, Integer(0))
    assert AccessResult(get, DataAccessResult.SUCCESS, 3).unwrap() == 3
    with pytest.raises(DataAccessError, match="read-write-denied"):
        AccessResult(set_, DataAccessResult.READ_WRITE_DENIED).unwrap()
    with pytest.raises(ActionError, match="temporary-failure"):
        AccessResult(action, ActionResult.TEMPORARY_FAILURE).unwrap()
    skipped = AccessResult(action, None)
    assert not skipped.processed and not skipped.ok
    with pytest.raises(NotProcessedError, match=r"ACTION 70/0\.0\.96\.3\.10\.255/1 was not"):
        skipped.unwrap()


# ---------------------------------------------------------------------------------------------
# Client.access against the simulator over loopback TCP

BLOCK_CIPHER_KEY = bytes(range(16))
AUTHENTICATION_KEY = bytes(range(16, 32))
CIPHERED = {
    1: AssociationPolicy(
        MechanismName.HIGH_GMAC,
        security=ServerSecurity(
            Secret(BLOCK_CIPHER_KEY),
            Secret(AUTHENTICATION_KEY),
            SecurityPolicy.AUTHENTICATED_ENCRYPTION,
        ),
    ),
    16: AssociationPolicy(),
}


def connection(sim: Simulator, ciphering: str, sent: list[bytes]) -> Any:
    def trace(direction: str, chunk: bytes, when: float) -> None:
        if direction == "->":
            sent.append(chunk)

    if ciphering == "plain":  # HLS MD5, the simulator's manager association
        return sim.connect(
            0, client=18, auth="md5", password=DEFAULT_HLS_SECRET, timeout=10, trace=trace
        )
    return sim.connect(
        0,
        trace=trace,
        client=1,
        auth="gmac",
        security=ClientSecurity(
            b"CLI00001",
            BLOCK_CIPHER_KEY,
            AUTHENTICATION_KEY,
            "ae",
            use_dedicated_key=ciphering == "dedicated",
        ),
        timeout=10,
    )


def disconnect_operations(mode: int) -> list[Any]:
    """Set the control mode, read it back, disconnect, read an undefined object, read the
    output state: each operation depends on the ones before it."""
    return [
        AccessSet(70, DISCONNECT_CONTROL, 4, Enum(mode)),
        AccessGet(70, DISCONNECT_CONTROL, 4),
        AccessAction(70, DISCONNECT_CONTROL, 1, Integer(0)),
        AccessGet(1, "0.0.99.99.99.255", 2),
        AccessGet(70, DISCONNECT_CONTROL, 2),
    ]


@pytest.mark.parametrize("interface", ["wrapper", "hdlc"])
@pytest.mark.parametrize("ciphering", ["plain", "global", "dedicated"])
async def test_client_access_against_the_simulator(interface: str, ciphering: str) -> None:
    associations = None if ciphering == "plain" else CIPHERED
    sent: list[bytes] = []
    async with (
        Simulator(interface=interface, associations=associations) as sim,
        connection(sim, ciphering, sent) as meter,
    ):
        assert meter.negotiated.conformance & Conformance.ACCESS
        # continue-on-error: every operation carried out, the failure in the middle included
        results = await meter.access(disconnect_operations(1))
        assert [r.processed for r in results] == [True] * 5
        assert [r.ok for r in results] == [True, True, True, False, True]
        assert results[1].value == 1
        assert isinstance(results[3].error, DataAccessError)
        assert results[3].result == DataAccessResult.OBJECT_UNDEFINED
        assert results[4].value is False  # disconnected by the ACTION before it
        assert await meter.get(70, DISCONNECT_CONTROL, 2) is False
        await meter.action(70, DISCONNECT_CONTROL, 2, Integer(0))  # reconnect
        # break-on-error: mode 0 makes the disconnect fail; nothing after it is carried out
        results = await meter.access(disconnect_operations(0), break_on_error=True)
        assert [r.processed for r in results] == [True, True, True, False, False]
        assert results[2].result == ActionResult.TEMPORARY_FAILURE
        assert isinstance(results[4].error, NotProcessedError)
        with pytest.raises(ActionError, match="temporary-failure"):
            await meter.access(disconnect_operations(0), raise_on_error=True)
        assert await meter.get(70, DISCONNECT_CONTROL, 2) is True
        # the session's invoke-ids and ciphering go on as for any request
        assert await meter.get(70, DISCONNECT_CONTROL, 4) == 0
    if interface == "wrapper":  # the APDU tags that went out, after the 8-byte headers
        tags = {chunk[8] for chunk in sent if len(chunk) > 8}
        expected = {"plain": ApduTag.ACCESS_REQUEST, "global": ApduTag.GENERAL_GLO_CIPHERING}
        assert expected.get(ciphering, ApduTag.GENERAL_DED_CIPHERING) in tags
        assert ApduTag.ACCESS_REQUEST not in tags or ciphering == "plain"


async def test_client_access_refused_when_not_granted() -> None:
    async with Simulator(access=False) as sim, sim.connect(0, timeout=10) as meter:
        assert not meter.negotiated.conformance & Conformance.ACCESS
        with pytest.raises(ServiceNotNegotiatedError, match="did not grant the ACCESS service"):
            await meter.access([AccessGet(1, "0.0.42.0.0.255", 2)])
        assert await meter.get(1, "0.0.42.0.0.255", 2)  # the association is fine


async def test_long_access_answer_needs_general_block_transfer() -> None:
    small = ClientSettings(client_max_receive_pdu_size=128)
    gbt = ClientSettings(client_max_receive_pdu_size=128, use_general_block_transfer=True)
    objects = AccessGet(15, "0.0.40.0.0.255", 2)  # the object list, a few kilobytes
    async with Simulator(gbt_window_size=2, max_pdu_size=128) as sim:
        async with sim.connect(0, timeout=10, settings=small) as meter:
            with pytest.raises(ServiceError, match="pdu-too-long"):
                await meter.access([objects])
        async with sim.connect(0, timeout=10, settings=gbt) as meter:
            (result,) = await meter.access([objects])
            assert len(result.unwrap()) > 10
            assert result.value == await meter.get(15, "0.0.40.0.0.255", 2)


async def test_top_level_names() -> None:
    assert asyncdlms.AccessGet is AccessGet
    assert "AccessResult" in asyncdlms.__all__
