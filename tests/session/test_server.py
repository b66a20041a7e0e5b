"""ServerSession driven with raw APDU bytes through a client-role link in memory.

Every AARQ rejection path, LLS and HLS (MD5, SHA-1, SHA-256, manufacturer) pass 3/4 with a
deterministic random source, every GET/SET/ACTION/SN service and block path, access rights
per client SAP, malformed input answered with exception-response, counters.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asyncdlms.apdu.acse import (
    Aare,
    Aarq,
    AcseServiceUserDiagnostic,
    ApplicationContextName,
    AssociationResult,
    MechanismName,
    Rlre,
    Rlrq,
)
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
    ActionResponseWithPblock,
    decode_action_response,
)
from asyncdlms.apdu.descriptors import (
    CosemAttributeDescriptor,
    CosemAttributeDescriptorWithSelection,
    CosemMethodDescriptor,
    Data,
    DataBlockSA,
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
    decode_get_response,
)
from asyncdlms.apdu.initiate import Conformance, InitiateRequest, InitiateResponse
from asyncdlms.apdu.notification import DataNotification
from asyncdlms.apdu.service_error import (
    ConfirmedServiceError,
    ExceptionResponse,
    ExceptionServiceError,
    ExceptionStateError,
    ServiceErrorInitiate,
    ServiceErrorVdeState,
)
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
    decode_set_response,
)
from asyncdlms.apdu.short_name import (
    BlockNumberAccess,
    DataBlockResult,
    ParameterizedAccess,
    ReadRequest,
    ReadResponse,
    UnconfirmedWriteRequest,
    VariableName,
    WriteRequest,
    WriteResponse,
)
from asyncdlms.hdlc import HdlcAddress, HdlcConnection, HdlcParameters, HdlcSettings, Role
from asyncdlms.link import ApduReceived, Link
from asyncdlms.obis import Obis
from asyncdlms.security.hls import Secret, client_pass3, verify_server_pass4
from asyncdlms.session.events import AssociationEstablished, AssociationReleased
from asyncdlms.session.object_access import (
    AssociationContext,
    Attribute,
    AttributeAccess,
    Method,
    ObjectTable,
    select_profile_rows,
)
from asyncdlms.session.server import (
    TRANSITIONS,
    AssociationInput,
    AssociationPolicy,
    AssociationState,
    ServerSession,
    ServerSettings,
)
from asyncdlms.types.values import (
    Array,
    DoubleLongUnsigned,
    Enum,
    Integer,
    LongUnsigned,
    OctetString,
    Structure,
    Unsigned,
)
from asyncdlms.wrapper import WrapperConnection
from tests.conftest import vector

LLS_PASSWORD = b"12345678"
HLS_KEY = b"Gurux1234567890!"
CLIENT_CHALLENGE = bytes(range(0x41, 0x51))
CLIENT_TITLE = b"ABC12345"
SERVER_TITLE = b"SRV00001"
FULL_CONFORMANCE = Conformance(0x7E1F) | Conformance.GENERAL_BLOCK_TRANSFER

REGISTER = Obis("1.0.1.8.0.255")
CLOCK = Obis("0.0.1.0.0.255")
DATA = Obis("0.0.96.1.0.255")
PROFILE = Obis("1.0.99.1.0.255")
DISCONNECT = Obis("0.0.96.3.10.255")


def with_selection(
    *items: CosemAttributeDescriptor,
) -> tuple[CosemAttributeDescriptorWithSelection, ...]:
    """Descriptors for the with-list requests."""
    return tuple(CosemAttributeDescriptorWithSelection(item) for item in items)


def counting_random() -> Callable[[int], bytes]:
    """A deterministic random source: 0x01, 0x02, ... ."""
    counter = itertools.count(1)
    return lambda n: bytes(next(counter) & 0xFF for _ in range(n))


def policies() -> dict[int, AssociationPolicy]:
    return {
        16: AssociationPolicy(),
        17: AssociationPolicy(MechanismName.LOW, Secret(LLS_PASSWORD)),
        18: AssociationPolicy(MechanismName.HIGH_MD5, Secret(HLS_KEY)),
        19: AssociationPolicy(MechanismName.HIGH_SHA1, Secret(HLS_KEY)),
        20: AssociationPolicy(MechanismName.HIGH_SHA256, Secret(HLS_KEY)),
        21: AssociationPolicy(MechanismName.HIGH, Secret(HLS_KEY)),
        32: AssociationPolicy(
            application_context_name=ApplicationContextName.SHORT_NAME,
            conformance=Conformance(0x1C1320),
        ),
    }


def manufacturer(secret: bytes, data: Any) -> bytes:
    return bytes(a ^ b for a, b in zip(data.challenge, itertools.cycle(secret), strict=False))


def server_settings(**changes: Any) -> ServerSettings:
    options: dict[str, Any] = {
        "policies": policies(),
        "random": counting_random(),
        "system_title": SERVER_TITLE,
        "manufacturer_function": manufacturer,
    }
    options.update(changes)
    return ServerSettings(**options)


def make_table() -> tuple[ObjectTable, dict[str, Any]]:
    """Register, clock, data, a profile generic buffer, disconnect control."""
    state: dict[str, Any] = {"disconnected": 0, "actions": []}
    table = ObjectTable()
    table.add(
        3,
        REGISTER,
        {
            2: DoubleLongUnsigned(12345),
            3: Structure((Integer(-1), Enum(30))),
        },
        {1: Method(lambda ctx, p: state["actions"].append(("reset", p)), access={1: True})},
        base_name=0x3000,
    )
    table.add(
        8,
        CLOCK,
        {
            2: Attribute(
                OctetString(bytes(12)), {16: AttributeAccess.READ, 1: AttributeAccess.READ_WRITE}
            )
        },
        base_name=0x2000,
    )
    table.add(
        1,
        DATA,
        {2: Attribute(OctetString(b"value"), AttributeAccess.READ_WRITE)},
        base_name=0x4000,
    )
    rows = [
        Structure(
            (
                OctetString(bytes([7, 0xE9, 1, 1, 0xFF, h, 0, 0, 0, 0x80, 0, 0])),
                DoubleLongUnsigned(h * 10),
            )
        )
        for h in range(24)
    ]
    columns = [(8, CLOCK, 2), (3, REGISTER, 2)]

    def buffer(context: AssociationContext, selection: Any) -> Any:
        selected = select_profile_rows(rows, columns, selection)
        if isinstance(selected, DataAccessResult):
            return selected
        return Array(Structure(tuple(r)) for r in selected)

    table.add(7, PROFILE, {2: Attribute(getter=buffer)}, base_name=0x5000)

    def echo(context: AssociationContext, parameters: Any) -> Any:
        state["actions"].append(("echo", parameters))
        return parameters

    def disconnect(context: AssociationContext, parameters: Any) -> Any:
        state["disconnected"] += 1
        return None

    def broken(context: AssociationContext, parameters: Any) -> Any:
        raise RuntimeError("boom")

    table.add(
        70,
        DISCONNECT,
        {2: Enum(1)},
        {1: disconnect, 2: echo, 3: broken},
        base_name=0x6000,
    )
    return table, state


class Harness:
    """A client-role link talking to a ServerSession in memory."""

    def __init__(
        self,
        client_address: int = 16,
        *,
        link: str = "wrapper",
        settings: ServerSettings | None = None,
        table: ObjectTable | None = None,
        hdlc_parameters: HdlcParameters | None = None,
    ) -> None:
        self.now = 0.0
        self.table, self.state = make_table() if table is None else (table, {})
        server_link: Link
        if link == "wrapper":
            self.client: Link = WrapperConnection(client_address, 1)
            server_link = WrapperConnection(1, None, role="server")
        else:
            parameters = hdlc_parameters or HdlcParameters()
            self.client = HdlcConnection(
                HdlcSettings(
                    HdlcAddress.client(client_address),
                    HdlcAddress.server(1),
                    Role.CLIENT,
                    parameters,
                )
            )
            server_link = HdlcConnection(
                HdlcSettings(None, HdlcAddress.server(1), Role.SERVER, parameters)
            )
        self.server = ServerSession(server_link, settings or server_settings(), self.table)
        self.client.connect(self.now)
        self.pump()
        self.received: list[bytes] = []

    def pump(self) -> list[bytes]:
        answers: list[bytes] = []
        for _ in range(10_000):
            moved = False
            out = self.client.data_to_send()
            if out:
                moved = True
                self.server.receive_data(out, self.now)
            back = self.server.data_to_send()
            if back:
                moved = True
                self.client.receive_data(back, self.now)
            for event in self.client.events():
                if isinstance(event, ApduReceived):
                    answers.append(event.apdu)
            if not moved:
                return answers
        raise AssertionError("the link did not settle")

    def request(self, apdu: bytes) -> list[bytes]:
        self.client.send_apdu(apdu, self.now)
        return self.pump()

    def one(self, apdu: bytes) -> bytes:
        answers = self.request(apdu)
        assert len(answers) == 1, answers
        return answers[0]

    def associate(self, aarq: Aarq) -> Aare:
        return Aare.decode(self.one(aarq.encode()))


def initiate(
    conformance: Conformance = FULL_CONFORMANCE, max_pdu: int = 0xFFFF, version: int = 6
) -> bytes:
    return InitiateRequest(conformance, max_pdu, version).encode()


def aarq(
    mechanism: MechanismName | None = None,
    value: bytes | None = None,
    *,
    context: ApplicationContextName = ApplicationContextName.LOGICAL_NAME,
    user_information: bytes | None = None,
    calling_ap_title: bytes | None = None,
    max_pdu: int = 0xFFFF,
    conformance: Conformance = FULL_CONFORMANCE,
) -> Aarq:
    return Aarq(
        application_context_name=context,
        user_information=user_information
        if user_information is not None
        else initiate(conformance, max_pdu),
        sender_acse_requirements=mechanism is not None,
        mechanism_name=mechanism,
        calling_authentication_value=value,
        calling_ap_title=calling_ap_title,
    )


def associated(client: int = 16, link: str = "wrapper", **options: Any) -> Harness:
    harness = Harness(client, link=link, **options)
    aare = harness.associate(aarq())
    assert aare.accepted
    return harness


def associated_with_pdu(max_pdu: int, client: int = 16, **options: Any) -> Harness:
    harness = Harness(client, **options)
    aare = harness.associate(aarq(max_pdu=max_pdu))
    assert aare.accepted, aare
    return harness


# ---------------------------------------------------------------------------------------------
# The state table


def test_every_state_answers_every_input_it_can_receive() -> None:
    impossible = {
        (AssociationState.IDLE, AssociationInput.PASS3_VALID),
        (AssociationState.IDLE, AssociationInput.PASS3_INVALID),
        (AssociationState.ASSOCIATED, AssociationInput.PASS3_VALID),
        (AssociationState.ASSOCIATED, AssociationInput.PASS3_INVALID),
    }
    for state in AssociationState:
        for item in AssociationInput:
            assert ((state, item) in TRANSITIONS) != ((state, item) in impossible), (state, item)


# ---------------------------------------------------------------------------------------------
# Association: acceptance and every rejection


@pytest.mark.parametrize("link", ["wrapper", "hdlc"])
def test_no_auth_association_from_vector_aarq(link: str) -> None:
    # dlmscosem-apdu-aarq-no-auth: proposes conformance 007E1F, max PDU 0x04B0
    harness = Harness(16, link=link)
    answer = harness.one(bytes.fromhex(vector("dlmscosem-apdu-aarq-no-auth")["hex"]))
    aare = Aare.decode(answer)
    assert aare.accepted
    assert aare.result_source_diagnostic == AcseServiceUserDiagnostic.NULL
    assert aare.mechanism_name is None
    assert aare.user_information is not None
    response = InitiateResponse.decode(aare.user_information)
    assert response.negotiated_conformance == Conformance(0x7E1F) & policies()[16].conformance
    assert response.server_max_receive_pdu_size == 1024
    assert response.vaa_name == 0x0007
    events = harness.server.events()
    assert len(events) == 1 and isinstance(events[0], AssociationEstablished)
    assert events[0].client_address == 16
    # the smaller of the client's 0x04B0 and the server's 1024
    assert events[0].max_pdu_size_tx == 1024
    assert harness.server.client_max_receive_pdu_size == 0x04B0
    assert harness.server.state is AssociationState.ASSOCIATED


def test_lls_association_from_vector_aarq() -> None:
    # dlmscosem-apdu-aarq-lls: password 12345678
    harness = Harness(17)
    aare = Aare.decode(harness.one(bytes.fromhex(vector("dlmscosem-apdu-aarq-lls")["hex"])))
    assert aare.accepted
    assert aare.mechanism_name == MechanismName.LOW
    assert aare.responder_acse_requirements


def test_lls_wrong_password_is_authentication_failure() -> None:
    harness = Harness(17)
    aare = harness.associate(aarq(MechanismName.LOW, b"87654321"))
    assert aare.result == AssociationResult.REJECTED_PERMANENT
    assert aare.result_source_diagnostic == AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE
    assert harness.server.rejected_associations == 1
    assert harness.server.state is AssociationState.IDLE
    assert harness.server.events() == []


def test_lls_without_password_is_authentication_failure() -> None:
    harness = Harness(17)
    aare = harness.associate(aarq(MechanismName.LOW, None))
    assert aare.result_source_diagnostic == AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE


def test_mechanism_required() -> None:
    harness = Harness(17)
    aare = harness.associate(aarq())
    assert aare.result_source_diagnostic == (
        AcseServiceUserDiagnostic.AUTHENTICATION_MECHANISM_NAME_REQUIRED
    )


def test_mechanism_not_recognised_from_vector_hls_mechanism2() -> None:
    # dlmscosem-apdu-aarq-hls-mechanism2 asks HLS 2 where client 17 wants LLS
    harness = Harness(17)
    raw = bytes.fromhex(vector("dlmscosem-apdu-aarq-hls-mechanism2")["hex"])
    aare = Aare.decode(harness.one(raw))
    assert aare.result == AssociationResult.REJECTED_PERMANENT
    assert aare.result_source_diagnostic == (
        AcseServiceUserDiagnostic.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED
    )


def test_mechanism_offered_to_no_auth_client_is_not_recognised() -> None:
    # dlmscosem-apdu-aarq-lls sent by the public client 16
    harness = Harness(16)
    aare = Aare.decode(harness.one(bytes.fromhex(vector("dlmscosem-apdu-aarq-lls")["hex"])))
    assert aare.result_source_diagnostic == (
        AcseServiceUserDiagnostic.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED
    )


def test_hls_gmac_vector_is_refused_without_ciphering() -> None:
    # dlmscosem-apdu-aarq-hls-gmac: no client offers GMAC here
    harness = Harness(18)
    aare = Aare.decode(harness.one(bytes.fromhex(vector("dlmscosem-apdu-aarq-hls-gmac")["hex"])))
    assert aare.result_source_diagnostic == (
        AcseServiceUserDiagnostic.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED
    )


@pytest.mark.parametrize(
    "context",
    [
        ApplicationContextName.SHORT_NAME,
        ApplicationContextName.LOGICAL_NAME_WITH_CIPHERING,
        ApplicationContextName.SHORT_NAME_WITH_CIPHERING,
    ],
)
def test_application_context_not_supported(context: ApplicationContextName) -> None:
    harness = Harness(16)
    aare = harness.associate(aarq(context=context))
    assert aare.result == AssociationResult.REJECTED_PERMANENT
    assert aare.result_source_diagnostic == (
        AcseServiceUserDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED
    )
    assert aare.application_context_name == context


def test_ciphered_lls_vector_is_refused_application_context() -> None:
    # dlmscosem-apdu-aarq-ciphered-lls-glo-initiate: LN with ciphering
    harness = Harness(17)
    raw = bytes.fromhex(vector("dlmscosem-apdu-aarq-ciphered-lls-glo-initiate")["hex"])
    aare = Aare.decode(harness.one(raw))
    assert aare.result_source_diagnostic == (
        AcseServiceUserDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED
    )


def test_dlms_version_too_low_gives_the_vector_aare_byte_for_byte() -> None:
    # dlmscosem-apdu-aare-rejected-dlms-version-too-low
    harness = Harness(16)
    answer = harness.one(aarq(user_information=initiate(version=5)).encode())
    assert answer.hex() == vector("dlmscosem-apdu-aare-rejected-dlms-version-too-low")["hex"]
    aare = Aare.decode(answer)
    assert aare.user_information is not None
    error = ConfirmedServiceError.decode(aare.user_information)
    assert error.error == ServiceErrorInitiate.DLMS_VERSION_TOO_LOW


def test_incompatible_conformance_and_short_pdu() -> None:
    harness = Harness(16)
    aare = harness.associate(aarq(conformance=Conformance.READ))
    assert aare.user_information is not None
    assert ConfirmedServiceError.decode(aare.user_information).error == (
        ServiceErrorInitiate.INCOMPATIBLE_CONFORMANCE
    )
    aare = harness.associate(aarq(max_pdu=5))
    assert aare.user_information is not None
    assert ConfirmedServiceError.decode(aare.user_information).error == (
        ServiceErrorInitiate.PDU_SIZE_TOO_SHORT
    )
    assert harness.server.rejected_associations == 2


def test_missing_or_garbage_user_information_and_garbage_aarq() -> None:
    harness = Harness(16)
    aare = harness.associate(Aarq(user_information=None))
    assert aare.result_source_diagnostic == AcseServiceUserDiagnostic.NO_REASON_GIVEN
    aare = harness.associate(aarq(user_information=b"\x01\x02"))
    assert aare.result_source_diagnostic == AcseServiceUserDiagnostic.NO_REASON_GIVEN
    aare = Aare.decode(harness.one(b"\x60\x05\xa1\x03\x06\x01"))
    assert aare.result == AssociationResult.REJECTED_PERMANENT
    assert harness.server.state is AssociationState.IDLE


def test_unknown_client_sap_is_authentication_failure() -> None:
    harness = Harness(99)
    aare = harness.associate(aarq())
    assert aare.result_source_diagnostic == AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE


def test_aarq_while_associated_is_rejected_transient_and_keeps_the_association() -> None:
    harness = associated()
    harness.server.events()
    first = harness.associate(aarq())  # the same AARQ again (a lost AARE): the same AARE
    assert first.result == AssociationResult.ACCEPTED
    assert harness.server.duplicate_aarqs == 1 and harness.server.events() == []
    aare = harness.associate(aarq(max_pdu=512))  # another AARQ: refused, the association stays
    assert aare.result == AssociationResult.REJECTED_TRANSIENT
    assert harness.server.state is AssociationState.ASSOCIATED
    answer = GetResponseNormal.decode(
        harness.one(GetRequestNormal(CosemAttributeDescriptor(3, REGISTER, 2)).encode())
    )
    assert answer.value == 12345


@pytest.mark.parametrize("link", ["wrapper", "hdlc"])
def test_release(link: str) -> None:
    harness = associated(link=link)
    assert isinstance(harness.server.events()[0], AssociationEstablished)
    rlre = Rlre.decode(harness.one(Rlrq().encode()))
    assert rlre.reason == 0
    assert harness.server.events() == [AssociationReleased(None)]
    assert harness.server.state is AssociationState.IDLE
    # after release a request is refused
    answer = harness.one(GetRequestNormal(CosemAttributeDescriptor(3, REGISTER, 2)).encode())
    assert ExceptionResponse.decode(answer) == ExceptionResponse(
        ExceptionStateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.OPERATION_NOT_POSSIBLE
    )


def test_rlrq_vector_without_association_still_gets_rlre() -> None:
    harness = Harness(16)
    answer = harness.one(bytes.fromhex(vector("dlmscosem-apdu-rlrq-normal")["hex"]))
    assert answer.hex() == vector("dlmscosem-apdu-rlre-normal")["hex"]
    assert harness.server.events() == []


def test_hdlc_disconnect_releases_the_association() -> None:
    harness = associated(link="hdlc")
    harness.server.events()
    harness.client.disconnect(harness.now)
    harness.pump()
    events = harness.server.events()
    assert len(events) == 1 and isinstance(events[0], AssociationReleased)
    assert harness.server.state is AssociationState.IDLE


# ---------------------------------------------------------------------------------------------
# HLS


HLS_CASES = [
    (18, MechanismName.HIGH_MD5),
    (19, MechanismName.HIGH_SHA1),
    (20, MechanismName.HIGH_SHA256),
    (21, MechanismName.HIGH),
]


def start_hls(client: int, mechanism: MechanismName, link: str = "wrapper") -> tuple[Harness, Aare]:
    harness = Harness(client, link=link)
    aare = harness.associate(aarq(mechanism, CLIENT_CHALLENGE, calling_ap_title=CLIENT_TITLE))
    assert aare.accepted and aare.hls_pending
    assert aare.authentication_required
    assert aare.mechanism_name == mechanism
    assert aare.responding_ap_title == SERVER_TITLE
    # the deterministic random source: StoC is 01 02 ... 10
    assert aare.responding_authentication_value == bytes(range(1, 17))
    assert harness.server.state is AssociationState.AWAITING_PASS3
    assert harness.server.events() == []
    return harness, aare


def pass3(mechanism: MechanismName, stoc: bytes, secret: bytes = HLS_KEY) -> bytes:
    return client_pass3(
        mechanism,
        secret,
        server_challenge=stoc,
        client_challenge=CLIENT_CHALLENGE,
        client_system_title=CLIENT_TITLE,
        server_system_title=SERVER_TITLE,
        manufacturer_function=manufacturer,
    )


def hls_action(value: bytes) -> bytes:
    return ActionRequestNormal(
        CosemMethodDescriptor(15, Obis("0.0.40.0.0.255"), 1), Data.of(OctetString(value))
    ).encode()


@pytest.mark.parametrize(("client", "mechanism"), HLS_CASES)
@pytest.mark.parametrize("link", ["wrapper", "hdlc"])
def test_hls_pass3_and_pass4(client: int, mechanism: MechanismName, link: str) -> None:
    harness, aare = start_hls(client, mechanism, link)
    assert aare.responding_authentication_value is not None
    stoc = aare.responding_authentication_value
    # before pass 3 a GET is denied
    denied = GetResponseNormal.decode(
        harness.one(GetRequestNormal(CosemAttributeDescriptor(3, REGISTER, 2)).encode())
    )
    assert denied.result == DataAccessResult.READ_WRITE_DENIED
    response = ActionResponseNormal.decode(harness.one(hls_action(pass3(mechanism, stoc))))
    assert response.result == ActionResult.SUCCESS
    verify_server_pass4(
        mechanism,
        HLS_KEY,
        bytes(response.value),
        client_challenge=CLIENT_CHALLENGE,
        server_challenge=stoc,
        client_system_title=CLIENT_TITLE,
        server_system_title=SERVER_TITLE,
        manufacturer_function=manufacturer,
    )
    events = harness.server.events()
    assert len(events) == 1 and isinstance(events[0], AssociationEstablished)
    assert events[0].mechanism == mechanism
    assert harness.server.state is AssociationState.ASSOCIATED
    value = GetResponseNormal.decode(
        harness.one(GetRequestNormal(CosemAttributeDescriptor(3, REGISTER, 2)).encode())
    )
    assert value.value == 12345


@pytest.mark.parametrize(("client", "mechanism"), HLS_CASES)
def test_hls_wrong_pass3_is_denied_and_not_associated(
    client: int, mechanism: MechanismName
) -> None:
    harness, aare = start_hls(client, mechanism)
    assert aare.responding_authentication_value is not None
    wrong = pass3(mechanism, aare.responding_authentication_value, b"wrong secret!!!!")
    response = ActionResponseNormal.decode(harness.one(hls_action(wrong)))
    assert response.result == ActionResult.READ_WRITE_DENIED
    assert response.single_response.return_parameters is None
    assert harness.server.state is AssociationState.IDLE
    events = harness.server.events()
    assert len(events) == 1 and isinstance(events[0], AssociationReleased)
    assert events[0].error is not None
    assert harness.server.rejected_associations == 1
    answer = harness.one(GetRequestNormal(CosemAttributeDescriptor(3, REGISTER, 2)).encode())
    assert ExceptionResponse.decode(answer).state_error == ExceptionStateError.SERVICE_NOT_ALLOWED


def test_hls_wrong_pass3_vector_value_is_denied() -> None:
    # dlmscosem-apdu-action-request-hls-reply carries a pass 3 for another challenge
    harness, _ = start_hls(18, MechanismName.HIGH_MD5)
    raw = bytes.fromhex(vector("dlmscosem-apdu-action-request-hls-reply")["hex"])
    response = ActionResponseNormal.decode(harness.one(raw))
    assert response.result == ActionResult.READ_WRITE_DENIED


def test_hls_challenge_too_short_and_sha256_without_title() -> None:
    harness = Harness(18)
    aare = harness.associate(aarq(MechanismName.HIGH_MD5, b"short"))
    assert aare.result_source_diagnostic == AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE
    harness = Harness(20)
    aare = harness.associate(aarq(MechanismName.HIGH_SHA256, CLIENT_CHALLENGE))
    assert aare.result_source_diagnostic == (
        AcseServiceUserDiagnostic.CALLING_AP_TITLE_NOT_RECOGNIZED
    )


def test_hls_pending_denies_every_service() -> None:
    harness, _ = start_hls(18, MechanismName.HIGH_MD5)
    descriptor = CosemAttributeDescriptor(3, REGISTER, 2)
    listed = GetResponseWithList.decode(
        harness.one(GetRequestWithList(with_selection(descriptor, descriptor)).encode())
    )
    assert listed.result == (DataAccessResult.READ_WRITE_DENIED,) * 2
    written = SetResponseNormal.decode(
        harness.one(SetRequestNormal(descriptor, Data.of(DoubleLongUnsigned(1))).encode())
    )
    assert written.result == DataAccessResult.READ_WRITE_DENIED
    acted = ActionResponseNormal.decode(
        harness.one(ActionRequestNormal(CosemMethodDescriptor(70, DISCONNECT, 1)).encode())
    )
    assert acted.result == ActionResult.READ_WRITE_DENIED
    assert harness.state["disconnected"] == 0


def test_sn_hls_pass3_through_read_parameterized_access() -> None:
    sn_policies = {
        40: AssociationPolicy(
            MechanismName.HIGH_MD5,
            Secret(HLS_KEY),
            application_context_name=ApplicationContextName.SHORT_NAME,
            conformance=Conformance(0x1C1320),
        )
    }
    harness = Harness(40, settings=server_settings(policies=sn_policies))
    aare = harness.associate(
        aarq(MechanismName.HIGH_MD5, CLIENT_CHALLENGE, context=ApplicationContextName.SHORT_NAME)
    )
    assert aare.hls_pending and aare.responding_authentication_value is not None
    assert aare.user_information is not None
    assert InitiateResponse.decode(aare.user_information).vaa_name == 0xFA00
    value = pass3(MechanismName.HIGH_MD5, aare.responding_authentication_value)
    request = ReadRequest((ParameterizedAccess(0xFA58, 0, Data.of(OctetString(value))),))
    response = ReadResponse.decode(harness.one(request.encode()))
    result = response.results[0]
    assert isinstance(result, Data)
    verify_server_pass4(
        MechanismName.HIGH_MD5,
        HLS_KEY,
        bytes(result.value),
        client_challenge=CLIENT_CHALLENGE,
        server_challenge=aare.responding_authentication_value,
    )
    assert harness.server.state is AssociationState.ASSOCIATED


# ---------------------------------------------------------------------------------------------
# GET


def test_get_normal_values_and_errors() -> None:
    harness = associated()

    def get(class_id: int, obis: str | Obis, attribute: int) -> Any:
        request = GetRequestNormal(CosemAttributeDescriptor(class_id, Obis(obis), attribute))
        return GetResponseNormal.decode(harness.one(request.encode())).result

    assert get(3, REGISTER, 2) == Data.of(DoubleLongUnsigned(12345))
    assert get(3, REGISTER, 1) == Data.of(OctetString(REGISTER.to_bytes()))
    assert get(3, REGISTER, 3) == Data.of(Structure((Integer(-1), Enum(30))))
    assert get(3, "1.0.2.8.0.255", 2) == DataAccessResult.OBJECT_UNDEFINED
    assert get(3, REGISTER, 9) == DataAccessResult.OBJECT_UNDEFINED
    assert get(4, REGISTER, 2) == DataAccessResult.OBJECT_CLASS_INCONSISTENT
    assert harness.server.requests_served == 6


def test_get_invoke_id_is_echoed() -> None:
    harness = associated()
    iip = InvokeIdAndPriority(9, True, False)
    request = GetRequestNormal(CosemAttributeDescriptor(3, REGISTER, 2), None, iip)
    assert GetResponseNormal.decode(harness.one(request.encode())).invoke_id_and_priority == iip


def test_get_with_list() -> None:
    harness = associated()
    request = GetRequestWithList(
        with_selection(
            CosemAttributeDescriptor(3, REGISTER, 2),
            CosemAttributeDescriptor(1, DATA, 2),
            CosemAttributeDescriptor(1, Obis("0.0.0.0.0.0"), 2),
        )
    )
    response = GetResponseWithList.decode(harness.one(request.encode()))
    assert response.result == (
        Data.of(DoubleLongUnsigned(12345)),
        Data.of(OctetString(b"value")),
        DataAccessResult.OBJECT_UNDEFINED,
    )


def test_get_profile_with_selective_access() -> None:
    harness = associated()
    descriptor = CosemAttributeDescriptor(7, PROFILE, 2)
    whole = GetResponseNormal.decode(harness.one(GetRequestNormal(descriptor).encode()))
    # 24 rows of ~20 bytes fit into 65535
    assert len(whole.value) == 24
    entries = GetResponseNormal.decode(
        harness.one(GetRequestNormal(descriptor, entry_descriptor(3, 5)).encode())
    )
    assert [int(row[1]) for row in entries.value] == [20, 30, 40]
    columns = GetResponseNormal.decode(
        harness.one(GetRequestNormal(descriptor, entry_descriptor(1, 2, 2, 2)).encode())
    )
    assert [[int(v) for v in row] for row in columns.value] == [[0], [10]]
    low = OctetString(bytes([7, 0xE9, 1, 1, 0xFF, 5, 0, 0, 0, 0x80, 0, 0]))
    high = OctetString(bytes([7, 0xE9, 1, 1, 0xFF, 7, 30, 0, 0, 0x80, 0, 0]))
    ranged = GetResponseNormal.decode(
        harness.one(
            GetRequestNormal(descriptor, range_descriptor((8, CLOCK, 2, 0), low, high)).encode()
        )
    )
    assert [int(row[1]) for row in ranged.value] == [50, 60, 70]
    unknown = GetResponseNormal.decode(
        harness.one(
            GetRequestNormal(
                descriptor, range_descriptor((3, "9.9.9.9.9.9", 2, 0), low, high)
            ).encode()
        )
    )
    assert unknown.result == DataAccessResult.SCOPE_OF_ACCESS_VIOLATED


def test_selective_access_on_a_plain_attribute_is_scope_violation() -> None:
    harness = associated()
    request = GetRequestNormal(CosemAttributeDescriptor(3, REGISTER, 2), entry_descriptor(1, 1))
    response = GetResponseNormal.decode(harness.one(request.encode()))
    assert response.result == DataAccessResult.SCOPE_OF_ACCESS_VIOLATED


def collect_get(harness: Harness, first: bytes) -> tuple[bytes, int]:
    """Follow a GET answered with datablocks; return the raw data and the block count."""
    response = decode_get_response(first)
    raw = bytearray()
    for blocks in range(1, 100_000):
        assert isinstance(response, GetResponseWithDatablock)
        assert response.block_number == blocks
        raw += response.raw_data
        if response.last_block:
            return bytes(raw), blocks
        answer = harness.one(GetRequestNext(response.block_number).encode())
        assert len(answer) <= (harness.server.max_pdu_size_tx or len(answer))
        response = decode_get_response(answer)
    raise AssertionError("no last block")


@pytest.mark.parametrize("link", ["wrapper", "hdlc"])
def test_get_with_datablocks(link: str) -> None:
    harness = Harness(16, link=link)
    assert harness.associate(aarq(max_pdu=64)).accepted
    first = harness.one(GetRequestNormal(CosemAttributeDescriptor(7, PROFILE, 2)).encode())
    assert len(first) <= 64
    raw, blocks = collect_get(harness, first)
    assert blocks > 5
    assert len(Data.from_raw(raw).value) == 24
    assert harness.server.blocks_sent == blocks


def test_answers_fit_the_smaller_of_both_pdu_sizes() -> None:
    harness = Harness(16, settings=server_settings(server_max_receive_pdu_size=48))
    assert harness.associate(aarq(max_pdu=0xFFFF)).accepted
    assert harness.server.max_pdu_size_tx == 48
    first = harness.one(GetRequestNormal(CosemAttributeDescriptor(7, PROFILE, 2)).encode())
    assert len(first) <= 48
    raw, blocks = collect_get(harness, first)
    assert blocks > 5 and len(Data.from_raw(raw).value) == 24
    # 0 on both sides: no limit
    unlimited = Harness(16, settings=server_settings(server_max_receive_pdu_size=0))
    assert unlimited.associate(aarq(max_pdu=0)).accepted
    assert unlimited.server.max_pdu_size_tx == 0
    answer = unlimited.one(GetRequestNormal(CosemAttributeDescriptor(7, PROFILE, 2)).encode())
    assert len(GetResponseNormal.decode(answer).value) == 24


def test_get_with_list_with_datablocks() -> None:
    harness = associated_with_pdu(40)
    descriptor = CosemAttributeDescriptor(7, PROFILE, 2)
    first = harness.one(
        GetRequestWithList(
            with_selection(descriptor, CosemAttributeDescriptor(3, REGISTER, 2))
        ).encode()
    )
    raw, _ = collect_get(harness, first)
    from asyncdlms.apdu.descriptors import Reader
    from asyncdlms.apdu.get import read_get_data_result

    reader = Reader(raw)
    count = reader.count("results")
    results = [read_get_data_result(reader) for _ in range(count)]
    reader.finish("results")
    assert results[1] == Data.of(DoubleLongUnsigned(12345))
    assert isinstance(results[0], Data) and len(results[0].value) == 24


def test_get_next_errors() -> None:
    harness = associated_with_pdu(40)
    no_transfer = GetResponseWithDatablock.decode(harness.one(GetRequestNext(1).encode()))
    assert no_transfer.result == DataAccessResult.NO_LONG_GET_IN_PROGRESS
    first = GetResponseWithDatablock.decode(
        harness.one(GetRequestNormal(CosemAttributeDescriptor(7, PROFILE, 2)).encode())
    )
    assert not first.last_block
    wrong = GetResponseWithDatablock.decode(harness.one(GetRequestNext(5).encode()))
    assert wrong.last_block and wrong.result == DataAccessResult.DATA_BLOCK_NUMBER_INVALID
    # the transfer was aborted
    again = GetResponseWithDatablock.decode(harness.one(GetRequestNext(1).encode()))
    assert again.result == DataAccessResult.NO_LONG_GET_IN_PROGRESS


def test_long_answer_without_block_transfer_is_an_error() -> None:
    harness = Harness(16)
    conformance = Conformance.GET | Conformance.SELECTIVE_ACCESS
    assert harness.associate(aarq(max_pdu=64, conformance=conformance)).accepted
    answer = GetResponseNormal.decode(
        harness.one(GetRequestNormal(CosemAttributeDescriptor(7, PROFILE, 2)).encode())
    )
    assert answer.result == DataAccessResult.OTHER_REASON


@settings(max_examples=40, deadline=None)
@given(max_pdu=st.integers(12, 300), size=st.integers(0, 3000))
def test_get_blocks_for_any_pdu_and_value_size(max_pdu: int, size: int) -> None:
    table = ObjectTable()
    value = OctetString(bytes(i & 0xFF for i in range(size)))
    table.add(1, DATA, {2: value})
    harness = Harness(16, table=table)
    assert harness.associate(aarq(max_pdu=max_pdu)).accepted
    first = harness.one(GetRequestNormal(CosemAttributeDescriptor(1, DATA, 2)).encode())
    assert len(first) <= max_pdu
    response = decode_get_response(first)
    if isinstance(response, GetResponseNormal):
        assert response.value == value
    else:
        raw, _ = collect_get(harness, first)
        assert Data.from_raw(raw).value == value


# ---------------------------------------------------------------------------------------------
# SET


def test_set_normal_and_access_rights_per_client() -> None:
    descriptor = CosemAttributeDescriptor(1, DATA, 2)
    harness = associated()
    response = SetResponseNormal.decode(
        harness.one(SetRequestNormal(descriptor, Data.of(OctetString(b"new"))).encode())
    )
    assert response.result == DataAccessResult.SUCCESS
    assert GetResponseNormal.decode(harness.one(GetRequestNormal(descriptor).encode())).value == (
        b"new"
    )
    clock = CosemAttributeDescriptor(8, CLOCK, 2)
    denied = SetResponseNormal.decode(
        harness.one(SetRequestNormal(clock, Data.of(OctetString(bytes(12)))).encode())
    )
    assert denied.result == DataAccessResult.READ_WRITE_DENIED
    register = CosemAttributeDescriptor(3, REGISTER, 2)
    read_only = SetResponseNormal.decode(
        harness.one(SetRequestNormal(register, Data.of(DoubleLongUnsigned(1))).encode())
    )
    assert read_only.result == DataAccessResult.READ_WRITE_DENIED


def test_access_rights_differ_per_client_sap() -> None:
    clock = CosemAttributeDescriptor(8, CLOCK, 2)
    management = {1: AssociationPolicy(), 17: AssociationPolicy()}
    writer = Harness(1, settings=server_settings(policies=management))
    assert writer.associate(aarq()).accepted
    ok = SetResponseNormal.decode(
        writer.one(SetRequestNormal(clock, Data.of(OctetString(bytes(range(12))))).encode())
    )
    assert ok.result == DataAccessResult.SUCCESS
    # client 17 is not listed in the clock's rights: no access at all
    other = Harness(17, settings=server_settings(policies=management), table=writer.table)
    assert other.associate(aarq()).accepted
    read = GetResponseNormal.decode(other.one(GetRequestNormal(clock).encode()))
    assert read.result == DataAccessResult.READ_WRITE_DENIED
    # the management client may reset the register, the public client may not
    reset = ActionRequestNormal(CosemMethodDescriptor(3, REGISTER, 1), Data.of(Integer(0)))
    assert ActionResponseNormal.decode(writer.one(reset.encode())).result == ActionResult.SUCCESS
    public = associated(table=writer.table)
    assert ActionResponseNormal.decode(public.one(reset.encode())).result == (
        ActionResult.READ_WRITE_DENIED
    )


def test_set_with_list() -> None:
    harness = associated()
    request = SetRequestWithList(
        with_selection(
            CosemAttributeDescriptor(1, DATA, 2), CosemAttributeDescriptor(3, REGISTER, 2)
        ),
        (Data.of(OctetString(b"x")), Data.of(DoubleLongUnsigned(1))),
    )
    response = SetResponseWithList.decode(harness.one(request.encode()))
    assert response.result == (DataAccessResult.SUCCESS, DataAccessResult.READ_WRITE_DENIED)


def set_blocks(harness: Harness, value: bytes, size: int) -> Any:
    descriptor = CosemAttributeDescriptor(1, DATA, 2)
    chunks = [value[i : i + size] for i in range(0, len(value), size)]
    answer: Any = None
    for number, chunk in enumerate(chunks, start=1):
        block = DataBlockSA(number == len(chunks), number, chunk)
        if number == 1:
            request: Any = SetRequestWithFirstDatablock(descriptor, block)
        else:
            request = SetRequestWithDatablock(block)
        answer = decode_set_response(harness.one(request.encode()))
        if number < len(chunks):
            assert answer == SetResponseDatablock(number)
    return answer


def test_set_with_datablocks() -> None:
    harness = associated()
    value = Data.of(OctetString(bytes(range(256)) * 3)).raw
    answer = set_blocks(harness, value, 100)
    assert answer == SetResponseLastDatablock(DataAccessResult.SUCCESS, 8)
    assert harness.table.get(
        harness.server.context, CosemAttributeDescriptor(1, DATA, 2), None
    ) == OctetString(bytes(range(256)) * 3)
    assert harness.server.blocks_received == 8


def test_set_with_datablocks_errors() -> None:
    harness = associated()
    stray = decode_set_response(
        harness.one(SetRequestWithDatablock(DataBlockSA(True, 2, b"\x00")).encode())
    )
    assert stray == SetResponseLastDatablock(DataAccessResult.NO_LONG_SET_IN_PROGRESS, 2)
    descriptor = CosemAttributeDescriptor(1, DATA, 2)
    harness.one(
        SetRequestWithFirstDatablock(descriptor, DataBlockSA(False, 1, b"\x09\x05")).encode()
    )
    skipped = decode_set_response(
        harness.one(SetRequestWithDatablock(DataBlockSA(True, 3, b"abcde")).encode())
    )
    assert skipped == SetResponseLastDatablock(DataAccessResult.DATA_BLOCK_NUMBER_INVALID, 3)
    garbage = decode_set_response(
        harness.one(
            SetRequestWithFirstDatablock(descriptor, DataBlockSA(True, 1, b"\x09\x05ab")).encode()
        )
    )
    assert garbage == SetResponseLastDatablock(DataAccessResult.TYPE_UNMATCHED, 1)
    small = Harness(16, settings=server_settings(max_request_length=10))
    assert small.associate(aarq()).accepted
    first = SetRequestWithFirstDatablock(descriptor, DataBlockSA(False, 1, bytes(8)))
    assert decode_set_response(small.one(first.encode())) == SetResponseDatablock(1)
    second = SetRequestWithDatablock(DataBlockSA(False, 2, bytes(8)))
    too_long = decode_set_response(small.one(second.encode()))
    assert too_long == SetResponseLastDatablock(DataAccessResult.LONG_SET_ABORTED, 2)


def test_set_with_list_and_first_datablock() -> None:
    harness = associated()
    items = (CosemAttributeDescriptor(1, DATA, 2), CosemAttributeDescriptor(3, REGISTER, 2))
    raw = b"\x02" + Data.of(OctetString(b"listed")).raw + Data.of(DoubleLongUnsigned(5)).raw
    first = SetRequestWithListAndFirstDatablock(
        with_selection(*items), DataBlockSA(False, 1, raw[:5])
    )
    assert decode_set_response(harness.one(first.encode())) == SetResponseDatablock(1)
    last = SetRequestWithDatablock(DataBlockSA(True, 2, raw[5:]))
    assert decode_set_response(harness.one(last.encode())) == SetResponseLastDatablockWithList(
        (DataAccessResult.SUCCESS, DataAccessResult.READ_WRITE_DENIED), 2
    )


# ---------------------------------------------------------------------------------------------
# ACTION


def test_action_normal_list_and_errors() -> None:
    harness = associated()
    method = CosemMethodDescriptor(70, DISCONNECT, 1)
    assert (
        ActionResponseNormal.decode(
            harness.one(ActionRequestNormal(method, Data.of(Integer(0))).encode())
        ).result
        == ActionResult.SUCCESS
    )
    assert harness.state["disconnected"] == 1
    echo = ActionResponseNormal.decode(
        harness.one(
            ActionRequestNormal(
                CosemMethodDescriptor(70, DISCONNECT, 2), Data.of(Unsigned(7))
            ).encode()
        )
    )
    assert echo.value == 7
    broken = ActionResponseNormal.decode(
        harness.one(ActionRequestNormal(CosemMethodDescriptor(70, DISCONNECT, 3)).encode())
    )
    assert broken.result == ActionResult.OTHER_REASON
    missing = ActionResponseNormal.decode(
        harness.one(ActionRequestNormal(CosemMethodDescriptor(70, DISCONNECT, 9)).encode())
    )
    assert missing.result == ActionResult.OBJECT_UNDEFINED
    listed = ActionResponseWithList.decode(
        harness.one(
            ActionRequestWithList(
                (method, CosemMethodDescriptor(70, DISCONNECT, 2)),
                (Data.of(Integer(0)), Data.of(LongUnsigned(3))),
            ).encode()
        )
    )
    assert [r.result for r in listed.list_of_responses] == [ActionResult.SUCCESS] * 2
    assert listed.list_of_responses[1].value == 3


def test_action_with_pblocks_both_ways() -> None:
    harness = associated_with_pdu(48)
    parameters = Data.of(OctetString(bytes(range(200)))).raw
    method = CosemMethodDescriptor(70, DISCONNECT, 2)
    chunks = [parameters[i : i + 30] for i in range(0, len(parameters), 30)]
    answer: Any = None
    for number, chunk in enumerate(chunks, start=1):
        block = DataBlockSA(number == len(chunks), number, chunk)
        request: Any = (
            ActionRequestWithFirstPblock(method, block)
            if number == 1
            else ActionRequestWithPblock(block)
        )
        answer = decode_action_response(harness.one(request.encode()))
        if number < len(chunks):
            assert answer == ActionResponseNextPblock(number)
    # the echoed 200 bytes do not fit in 48: the answer comes in pblocks
    raw = bytearray()
    for _ in range(100):
        assert isinstance(answer, ActionResponseWithPblock)
        raw += answer.pblock.raw_data
        if answer.pblock.last_block:
            break
        answer = decode_action_response(
            harness.one(ActionRequestNextPblock(answer.pblock.block_number).encode())
        )
    assert Data.from_raw(bytes(raw)).value == bytes(range(200))


def test_action_with_list_and_first_pblock_and_errors() -> None:
    harness = associated()
    methods = (CosemMethodDescriptor(70, DISCONNECT, 2), CosemMethodDescriptor(70, DISCONNECT, 1))
    raw = b"\x02" + Data.of(Unsigned(9)).raw + Data.of(Integer(0)).raw
    first = ActionRequestWithListAndFirstPblock(methods, DataBlockSA(True, 1, raw))
    listed = decode_action_response(harness.one(first.encode()))
    assert isinstance(listed, ActionResponseWithList)
    assert listed.list_of_responses[0].value == 9
    stray = decode_action_response(
        harness.one(ActionRequestWithPblock(DataBlockSA(True, 4, b"")).encode())
    )
    assert isinstance(stray, ActionResponseNormal)
    assert stray.result == ActionResult.NO_LONG_ACTION_IN_PROGRESS
    next_block = decode_action_response(harness.one(ActionRequestNextPblock(1).encode()))
    assert isinstance(next_block, ActionResponseNormal)
    assert next_block.result == ActionResult.NO_LONG_ACTION_IN_PROGRESS


# ---------------------------------------------------------------------------------------------
# Short names


def sn_associated(max_pdu: int = 0xFFFF) -> Harness:
    harness = Harness(32)
    aare = harness.associate(
        aarq(
            context=ApplicationContextName.SHORT_NAME,
            max_pdu=max_pdu,
            conformance=Conformance(0x1C1320),
        )
    )
    assert aare.accepted, aare
    return harness


def test_sn_read_write_and_methods() -> None:
    harness = sn_associated()
    response = ReadResponse.decode(
        harness.one(
            ReadRequest((VariableName(0x3008), VariableName(0x3000), VariableName(0x9990))).encode()
        )
    )
    assert response.results == (
        Data.of(DoubleLongUnsigned(12345)),
        Data.of(OctetString(REGISTER.to_bytes())),
        DataAccessResult.OBJECT_UNDEFINED,
    )
    written = WriteResponse.decode(
        harness.one(
            WriteRequest(
                (VariableName(0x4008), VariableName(0x3008)),
                (Data.of(OctetString(b"sn")), Data.of(DoubleLongUnsigned(0))),
            ).encode()
        )
    )
    assert written.results == (DataAccessResult.SUCCESS, DataAccessResult.READ_WRITE_DENIED)
    # disconnect control method 1 at 0x6000 + 0x20: invoked by writing
    invoked = WriteResponse.decode(
        harness.one(WriteRequest((VariableName(0x6020),), (Data.of(Integer(0)),)).encode())
    )
    assert invoked.results == (DataAccessResult.SUCCESS,)
    assert harness.state["disconnected"] == 1
    # method 2 (echo) through parameterized access returns data
    echoed = ReadResponse.decode(
        harness.one(ReadRequest((ParameterizedAccess(0x6028, 0, Data.of(Unsigned(4))),)).encode())
    )
    assert echoed.results == (Data.of(Unsigned(4)),)
    # selective access on the profile through parameterized access
    rows = ReadResponse.decode(
        harness.one(
            ReadRequest(
                (ParameterizedAccess(0x5008, 2, entry_descriptor(1, 2).access_parameters),)
            ).encode()
        )
    )
    first = rows.results[0]
    assert isinstance(first, Data) and len(first.value) == 2
    # unconfirmed write: no answer, but done
    assert (
        harness.request(
            UnconfirmedWriteRequest((VariableName(0x4008),), (Data.of(OctetString(b"u")),)).encode()
        )
        == []
    )
    again = ReadResponse.decode(harness.one(ReadRequest((VariableName(0x4008),)).encode()))
    assert again.results == (Data.of(OctetString(b"u")),)


def test_sn_read_with_blocks() -> None:
    harness = sn_associated(max_pdu=50)
    response = ReadResponse.decode(harness.one(ReadRequest((VariableName(0x5008),)).encode()))
    raw = bytearray()
    for _ in range(1000):
        result = response.results[0]
        assert isinstance(result, DataBlockResult)
        raw += result.raw_data
        if result.last_block:
            break
        response = ReadResponse.decode(
            harness.one(ReadRequest((BlockNumberAccess(result.block_number),)).encode())
        )
    whole = ReadResponse.decode(bytes([0x0C]) + bytes(raw))
    value = whole.results[0]
    assert isinstance(value, Data) and len(value.value) == 24
    stray = ReadResponse.decode(harness.one(ReadRequest((BlockNumberAccess(3),)).encode()))
    assert stray.results == (DataAccessResult.NO_LONG_GET_IN_PROGRESS,)


def test_ln_services_on_sn_association_and_sn_on_ln_are_refused() -> None:
    sn = sn_associated()
    answer = sn.one(GetRequestNormal(CosemAttributeDescriptor(3, REGISTER, 2)).encode())
    assert (
        ExceptionResponse.decode(answer).service_error
        == ExceptionServiceError.SERVICE_NOT_SUPPORTED
    )
    ln = associated()
    answer = ln.one(ReadRequest((VariableName(0x3008),)).encode())
    assert (
        ExceptionResponse.decode(answer).service_error
        == ExceptionServiceError.SERVICE_NOT_SUPPORTED
    )


def test_sn_read_outside_association_is_confirmed_service_error() -> None:
    harness = Harness(32)
    answer = harness.one(ReadRequest((VariableName(0x3008),)).encode())
    error = ConfirmedServiceError.decode(answer)
    assert error.error == ServiceErrorVdeState.NO_DLMS_CONTEXT


# ---------------------------------------------------------------------------------------------
# Malformed input, limits, conformance, push, counters


@pytest.mark.parametrize(
    ("apdu", "state_error"),
    [
        (b"\xff\x01\x02", ExceptionStateError.SERVICE_UNKNOWN),
        (b"\xc0\x01", ExceptionStateError.SERVICE_NOT_ALLOWED),
        (b"\xc0\x09\xc1", ExceptionStateError.SERVICE_NOT_ALLOWED),
        (b"\xc1\x01\xc1\x00", ExceptionStateError.SERVICE_NOT_ALLOWED),
        (b"\xc3\x01\xc1\x00\x46\x00", ExceptionStateError.SERVICE_NOT_ALLOWED),
        (b"\x05\x05", ExceptionStateError.SERVICE_NOT_ALLOWED),
        (b"\xc8\x10\x00", ExceptionStateError.SERVICE_UNKNOWN),
    ],
)
def test_malformed_apdus_get_exception_response(
    apdu: bytes, state_error: ExceptionStateError
) -> None:
    harness = associated()
    answer = ExceptionResponse.decode(harness.one(apdu))
    assert answer.state_error == state_error
    assert harness.server.malformed_apdus == 1
    assert harness.server.exception_responses == 1
    assert harness.server.state is AssociationState.ASSOCIATED


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=80))
def test_random_bytes_never_crash(apdu: bytes) -> None:
    harness = associated()
    answers = harness.request(apdu)
    assert len(answers) <= 1


def test_request_longer_than_server_pdu_is_pdu_too_long() -> None:
    harness = Harness(16, settings=server_settings(server_max_receive_pdu_size=64))
    assert harness.associate(aarq()).accepted
    big = SetRequestNormal(CosemAttributeDescriptor(1, DATA, 2), Data.of(OctetString(bytes(100))))
    answer = ExceptionResponse.decode(harness.one(big.encode()))
    assert answer.service_error == ExceptionServiceError.PDU_TOO_LONG


def test_service_outside_negotiated_conformance() -> None:
    harness = Harness(16)
    assert harness.associate(aarq(conformance=Conformance.GET)).accepted
    answer = harness.one(
        SetRequestNormal(CosemAttributeDescriptor(1, DATA, 2), Data.of(OctetString(b""))).encode()
    )
    assert ExceptionResponse.decode(answer).service_error == (
        ExceptionServiceError.SERVICE_NOT_SUPPORTED
    )
    listed = harness.one(
        GetRequestWithList(
            with_selection(
                CosemAttributeDescriptor(1, DATA, 2), CosemAttributeDescriptor(1, DATA, 2)
            )
        ).encode()
    )
    assert ExceptionResponse.decode(listed).service_error == (
        ExceptionServiceError.SERVICE_NOT_SUPPORTED
    )


@pytest.mark.parametrize("link", ["wrapper", "hdlc"])
def test_push_data_notification(link: str) -> None:
    harness = associated(link=link)
    notification = DataNotification(Data.of(Structure((DoubleLongUnsigned(5),))))
    harness.server.push(notification, harness.now)
    answers = harness.pump()
    if link == "hdlc":
        # an HDLC secondary station sends only when polled: the next poll carries it
        harness.client.send_apdu(
            GetRequestNormal(CosemAttributeDescriptor(3, REGISTER, 2)).encode(), harness.now
        )
        answers += harness.pump()
    assert DataNotification.decode(answers[0]) == notification


def test_link_deadline_and_timer_are_passed_through() -> None:
    settings_ = HdlcSettings(None, HdlcAddress.server(1), Role.SERVER, inactivity_timeout=120)
    server = ServerSession(HdlcConnection(settings_), server_settings(), ObjectTable())
    assert server.next_deadline() is None
    harness = Harness(16, link="hdlc")
    harness.server = server
    client = HdlcConnection(
        HdlcSettings(HdlcAddress.client(16), HdlcAddress.server(1), Role.CLIENT)
    )
    client.connect(0.0)
    server.receive_data(client.data_to_send(), 0.0)
    client.receive_data(server.data_to_send(), 0.0)
    client.send_apdu(aarq().encode(), 1.0)
    server.receive_data(client.data_to_send(), 1.0)
    assert isinstance(server.events()[0], AssociationEstablished)
    deadline = server.next_deadline()
    assert deadline is not None and deadline > 1.0
    server.handle_timer(deadline + 1)
    events = server.events()
    assert len(events) == 1 and isinstance(events[0], AssociationReleased)
    assert events[0].error is not None


def test_unsolicited_apdus_are_dropped_and_counted() -> None:
    table, _ = make_table()
    server = ServerSession(WrapperConnection(1, 16, role="server"), server_settings(), table)
    from asyncdlms.wrapper.frames import WrapperFrame

    server.receive_data(WrapperFrame(17, 1, aarq().encode()).encode(), 0.0)
    assert server.unsolicited_dropped == 1
    assert server.data_to_send() == b""


@pytest.mark.parametrize("link", ["wrapper", "hdlc"])
def test_associate_again_after_release(link: str) -> None:
    harness = associated(link=link)
    Rlre.decode(harness.one(Rlrq().encode()))
    assert harness.associate(aarq()).accepted
    events = harness.server.events()
    assert [type(e) for e in events] == [
        AssociationEstablished,
        AssociationReleased,
        AssociationEstablished,
    ]
    answer = GetResponseNormal.decode(
        harness.one(GetRequestNormal(CosemAttributeDescriptor(3, REGISTER, 2)).encode())
    )
    assert answer.value == 12345


def test_unconfirmed_write_over_hdlc_leaves_the_link_usable() -> None:
    harness = Harness(32, link="hdlc")
    aare = harness.associate(
        aarq(context=ApplicationContextName.SHORT_NAME, conformance=Conformance(0x1C1320))
    )
    assert aare.accepted
    request = UnconfirmedWriteRequest((VariableName(0x4008),), (Data.of(OctetString(b"u")),))
    assert harness.request(request.encode()) == []
    again = ReadResponse.decode(harness.one(ReadRequest((VariableName(0x4008),)).encode()))
    assert again.results == (Data.of(OctetString(b"u")),)


def test_wrapper_over_udp_one_datagram_per_answer() -> None:
    table, _ = make_table()
    client = WrapperConnection(16, 1, "udp")
    server = ServerSession(
        WrapperConnection(1, None, "udp", role="server"), server_settings(), table
    )
    client.connect(0.0)
    client.send_apdu(aarq(max_pdu=64).encode(), 0.0)
    (datagram,) = client.datagrams_to_send()
    server.receive_data(datagram, 0.0)
    (answer,) = server.datagrams_to_send()
    client.receive_data(answer, 0.0)
    events = [e for e in client.events() if isinstance(e, ApduReceived)]
    assert Aare.decode(events[0].apdu).accepted
    client.send_apdu(GetRequestNormal(CosemAttributeDescriptor(7, PROFILE, 2)).encode(), 0.0)
    server.receive_data(client.datagrams_to_send()[0], 0.0)
    (block,) = server.datagrams_to_send()
    client.receive_data(block, 0.0)
    (received,) = [e for e in client.events() if isinstance(e, ApduReceived)]
    first = GetResponseWithDatablock.decode(received.apdu)
    assert first.block_number == 1 and not first.last_block


@settings(max_examples=30, deadline=None)
@given(link=st.sampled_from(["wrapper", "hdlc"]), cuts=st.lists(st.integers(1, 7), max_size=40))
def test_any_slicing_of_the_input_gives_the_same_answers(link: str, cuts: list[int]) -> None:
    def drive(sliced: bool) -> list[bytes]:
        harness = Harness(16, link=link)
        answers: list[bytes] = []
        for apdu in (
            aarq(max_pdu=64).encode(),
            GetRequestNormal(CosemAttributeDescriptor(7, PROFILE, 2)).encode(),
            GetRequestNext(1).encode(),
        ):
            harness.client.send_apdu(apdu, 0.0)
            for _ in range(100):
                data = harness.client.data_to_send()
                if not data:
                    break
                pieces = [data]
                if sliced:
                    pieces, rest, sizes = [], data, itertools.cycle(cuts or [1])
                    while rest:
                        size = next(sizes)
                        pieces.append(rest[:size])
                        rest = rest[size:]
                for piece in pieces:
                    harness.server.receive_data(piece, 0.0)
                harness.client.receive_data(harness.server.data_to_send(), 0.0)
                for event in harness.client.events():
                    if isinstance(event, ApduReceived):
                        answers.append(event.apdu)
        return answers

    whole = drive(False)
    assert len(whole) == 3
    assert drive(True) == whole
