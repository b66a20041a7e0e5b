"""ClientSession against a scripted server in memory, through HDLC and wrapper link pairs.

The server side is a server-role :class:`HdlcConnection` / :class:`WrapperConnection` and a
small scripted answerer built from the apdu PDU classes (not the real server role, which is
tested elsewhere): every service path, every block path, errors, cancel and late answers,
invoke-id mismatches, queued requests, notifications interleaved with answers (quirk 13),
link loss, release without an answer (quirk 16), and hypothesis over PDU and value sizes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asyncdlms.apdu import decode_apdu
from asyncdlms.apdu.acse import (
    Aare,
    Aarq,
    AcseServiceUserDiagnostic,
    AssociationResult,
    MechanismName,
    Rlre,
)
from asyncdlms.apdu.action import (
    ActionRequestNextPblock,
    ActionRequestNormal,
    ActionRequestWithFirstPblock,
    ActionRequestWithList,
    ActionRequestWithPblock,
    ActionResponseNextPblock,
    ActionResponseNormal,
    ActionResponseWithList,
    ActionResponseWithOptionalData,
    ActionResponseWithPblock,
)
from asyncdlms.apdu.block_transfer import GeneralBlockTransfer
from asyncdlms.apdu.descriptors import (
    CosemAttributeDescriptor,
    CosemAttributeDescriptorWithSelection,
    CosemMethodDescriptor,
    Data,
    DataBlockSA,
    entry_descriptor,
)
from asyncdlms.apdu.enums import ActionResult, DataAccessResult, InvokeIdAndPriority
from asyncdlms.apdu.get import (
    GetRequestNext,
    GetRequestNormal,
    GetRequestWithList,
    GetResponseNormal,
    GetResponseWithDatablock,
    GetResponseWithList,
)
from asyncdlms.apdu.initiate import Conformance, InitiateRequest, InitiateResponse
from asyncdlms.apdu.notification import DataNotification
from asyncdlms.apdu.service_error import (
    ConfirmedService,
    ConfirmedServiceError,
    ExceptionResponse,
    ExceptionServiceError,
    ExceptionStateError,
    ServiceErrorChoice,
    ServiceErrorService,
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
)
from asyncdlms.apdu.short_name import (
    BlockNumberAccess,
    DataBlockResult,
    ParameterizedAccess,
    ReadRequest,
    ReadResponse,
    VariableName,
    WriteRequest,
    WriteResponse,
)
from asyncdlms.apdu.tags import ApduTag
from asyncdlms.errors import (
    ActionError,
    AssociationError,
    AssociationRejectedError,
    AuthenticationError,
    AuthenticationRejectedError,
    BlockTransferError,
    DataAccessError,
    LinkError,
    ServiceError,
)
from asyncdlms.hdlc import HdlcConnection, HdlcParameters, HdlcSettings, Role
from asyncdlms.hdlc.addresses import HdlcAddress
from asyncdlms.link import ApduReceived, Link
from asyncdlms.obis import Obis
from asyncdlms.security.hls import Secret, server_pass4
from asyncdlms.session.client import (
    ASSOCIATION_TRANSITIONS,
    AssociationInput,
    AssociationState,
    ClientSession,
)
from asyncdlms.session.events import (
    AssociationEstablished,
    AssociationReleased,
    NotificationReceived,
    RequestCompleted,
    RequestFailed,
    SessionEvent,
)
from asyncdlms.session.settings import ClientSettings
from asyncdlms.types.values import DoubleLongUnsigned, OctetString, Structure, Unsigned
from asyncdlms.wrapper import WrapperConnection

LINKS = ["wrapper", "hdlc"]
SERVER_CONFORMANCE = Conformance(0x001E1D) | Conformance.SELECTIVE_ACCESS
REGISTER = CosemAttributeDescriptor(3, Obis("1.0.1.8.0.255"), 2)
CLOCK = CosemAttributeDescriptor(8, Obis("0.0.1.0.0.255"), 2)
NAME = CosemAttributeDescriptor(1, Obis("0.0.42.0.0.255"), 2)
MISSING = CosemAttributeDescriptor(1, Obis("0.0.96.1.9.255"), 2)
BIG = CosemAttributeDescriptor(1, Obis("0.0.96.1.1.255"), 2)
RESET = CosemMethodDescriptor(3, Obis("1.0.1.8.0.255"), 1)
ECHO = CosemMethodDescriptor(1, Obis("0.0.96.1.1.255"), 1)
FIXED_CHALLENGE = bytes(range(0x01, 0x11))
STOC = bytes(range(0x41, 0x51))


def _key(descriptor: CosemAttributeDescriptor) -> tuple[int, str, int]:
    return (descriptor.class_id, str(descriptor.instance_id), descriptor.attribute_id)


class ScriptedServer:
    """Answers xDLMS requests from a dict of values, cutting long answers into
    ``block_size`` blocks; each handler can be overridden per test with ``override``."""

    def __init__(self, block_size: int = 0, first_block_number: int = 1) -> None:
        self.values: dict[tuple[int, str, int], Any] = {
            _key(REGISTER): DoubleLongUnsigned(123456),
            _key(CLOCK): OctetString(bytes.fromhex("07e80101ff000000ff800000")),
            _key(NAME): OctetString(b"ASY0000000001"),
            _key(BIG): OctetString(bytes(range(256)) * 8),
        }
        self.block_size = block_size
        self.first_block_number = first_block_number
        self.override: Callable[[bytes], list[bytes] | None] | None = None
        self.requests: list[bytes] = []
        self._blocks: list[bytes] = []
        self._block_number = 0
        self._incoming = b""
        self._incoming_first: Any = None

    def __call__(self, apdu: bytes) -> list[bytes]:
        self.requests.append(apdu)
        if self.override is not None:
            answer = self.override(apdu)
            if answer is not None:
                return answer
        return self.answer(apdu)

    def _get_result(self, descriptor: CosemAttributeDescriptor) -> Data | DataAccessResult:
        value = self.values.get(_key(descriptor))
        if value is None:
            return DataAccessResult.OBJECT_UNDEFINED
        return Data.of(value)

    def _start_blocks(self, raw: bytes, iip: InvokeIdAndPriority) -> bytes:
        size = self.block_size
        self._blocks = [raw[i : i + size] for i in range(0, len(raw), size)]
        self._block_number = self.first_block_number
        return self._get_block(iip)

    def _get_block(self, iip: InvokeIdAndPriority) -> bytes:
        chunk = self._blocks.pop(0)
        number = self._block_number
        self._block_number += 1
        return GetResponseWithDatablock(not self._blocks, number, chunk, iip).encode()

    def answer(self, apdu: bytes) -> list[bytes]:
        pdu = decode_apdu(apdu)
        iip = getattr(pdu, "invoke_id_and_priority", InvokeIdAndPriority())
        if isinstance(pdu, GetRequestNormal):
            result = self._get_result(pdu.cosem_attribute_descriptor)
            if pdu.access_selection is not None and isinstance(result, Data):
                result = Data.of(Structure((Unsigned(pdu.access_selection.access_selector),)))
            if isinstance(result, Data) and self.block_size and len(result.raw) > self.block_size:
                return [self._start_blocks(result.raw, iip)]
            return [GetResponseNormal(result, iip).encode()]
        if isinstance(pdu, GetRequestNext):
            if not self._blocks:
                return [GetResponseNormal(DataAccessResult.NO_LONG_GET_IN_PROGRESS, iip).encode()]
            return [self._get_block(iip)]
        if isinstance(pdu, GetRequestWithList):
            results = tuple(
                self._get_result(item.cosem_attribute_descriptor)
                for item in pdu.attribute_descriptor_list
            )
            return [GetResponseWithList(results, iip).encode()]
        if isinstance(pdu, SetRequestNormal):
            self.values[_key(pdu.cosem_attribute_descriptor)] = pdu.value.value
            return [SetResponseNormal(DataAccessResult.SUCCESS, iip).encode()]
        if isinstance(pdu, (SetRequestWithFirstDatablock, SetRequestWithListAndFirstDatablock)):
            self._incoming_first = pdu
            self._incoming = pdu.datablock.raw_data
            return [self._set_block_answer(pdu.datablock, iip)]
        if isinstance(pdu, SetRequestWithDatablock):
            self._incoming += pdu.datablock.raw_data
            return [self._set_block_answer(pdu.datablock, iip)]
        if isinstance(pdu, SetRequestWithList):
            for item, value in zip(pdu.attribute_descriptor_list, pdu.value_list, strict=True):
                self.values[_key(item.cosem_attribute_descriptor)] = value.value
            ok = tuple(DataAccessResult.SUCCESS for _ in pdu.value_list)
            return [SetResponseWithList(ok, iip).encode()]
        if isinstance(pdu, ActionRequestNormal):
            return [
                self._action(pdu.cosem_method_descriptor, pdu.method_invocation_parameters, iip)
            ]
        if isinstance(pdu, (ActionRequestWithFirstPblock, ActionRequestWithPblock)):
            if isinstance(pdu, ActionRequestWithFirstPblock):
                self._incoming_first = pdu
                self._incoming = b""
            self._incoming += pdu.pblock.raw_data
            if not pdu.pblock.last_block:
                return [ActionResponseNextPblock(pdu.pblock.block_number, iip).encode()]
            first = self._incoming_first
            return [self._action(first.cosem_method_descriptor, Data.from_raw(self._incoming), iip)]
        if isinstance(pdu, ActionRequestNextPblock):
            return [self._next_pblock(iip)]
        if isinstance(pdu, ActionRequestWithList):
            responses = tuple(
                ActionResponseWithOptionalData(ActionResult.SUCCESS, p)
                if m == ECHO
                else ActionResponseWithOptionalData(ActionResult.OBJECT_UNAVAILABLE)
                for m, p in zip(
                    pdu.cosem_method_descriptor_list, pdu.method_invocation_parameters, strict=True
                )
            )
            return [ActionResponseWithList(responses, iip).encode()]
        if isinstance(pdu, ReadRequest):
            (spec,) = pdu.variable_access_specification
            if isinstance(spec, VariableName):
                if spec.variable_name == 0x0100:
                    return [ReadResponse((Data.of(DoubleLongUnsigned(42)),)).encode()]
                if spec.variable_name == 0x0200:
                    # the raw-data of SN blocks is the encoded list of Read-Results
                    raw = b"\x01\x00" + Data.of(OctetString(bytes(300))).raw
                    self._blocks = [raw[:100], raw[100:200], raw[200:]]
                    self._block_number = 1
                    return [self._read_block()]
                return [ReadResponse((DataAccessResult.OBJECT_UNDEFINED,)).encode()]
            if isinstance(spec, BlockNumberAccess):
                return [self._read_block()]
            if isinstance(spec, ParameterizedAccess):
                return [ReadResponse((spec.parameter,)).encode()]
        if isinstance(pdu, WriteRequest):
            (spec,) = pdu.variable_access_specification
            assert isinstance(spec, VariableName)
            result = (
                DataAccessResult.SUCCESS
                if spec.variable_name == 0x0100
                else DataAccessResult.READ_WRITE_DENIED
            )
            return [WriteResponse((result,)).encode()]
        return [
            ExceptionResponse(
                ExceptionStateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.SERVICE_NOT_SUPPORTED
            ).encode()
        ]

    def _read_block(self) -> bytes:
        chunk = self._blocks.pop(0)
        number = self._block_number
        self._block_number += 1
        return ReadResponse((DataBlockResult(not self._blocks, number, chunk),)).encode()

    def _set_block_answer(self, block: DataBlockSA, iip: InvokeIdAndPriority) -> bytes:
        if not block.last_block:
            return SetResponseDatablock(block.block_number, iip).encode()
        first = self._incoming_first
        if isinstance(first, SetRequestWithListAndFirstDatablock):
            from asyncdlms.apdu.descriptors import Reader

            reader = Reader(self._incoming)
            count = reader.count("values")
            values = [reader.value() for _ in range(count)]
            for item, value in zip(first.attribute_descriptor_list, values, strict=True):
                self.values[_key(item.cosem_attribute_descriptor)] = value.value
            ok = tuple(DataAccessResult.SUCCESS for _ in values)
            return SetResponseLastDatablockWithList(ok, block.block_number, iip).encode()
        self.values[_key(first.cosem_attribute_descriptor)] = Data.from_raw(self._incoming).value
        return SetResponseLastDatablock(DataAccessResult.SUCCESS, block.block_number, iip).encode()

    def _action(
        self, method: CosemMethodDescriptor, parameters: Data | None, iip: InvokeIdAndPriority
    ) -> bytes:
        if method == RESET:
            self.values[_key(REGISTER)] = DoubleLongUnsigned(0)
            return ActionResponseNormal(
                ActionResponseWithOptionalData(ActionResult.SUCCESS), iip
            ).encode()
        if method == ECHO:
            assert parameters is not None
            if self.block_size and len(parameters.raw) > self.block_size:
                raw = parameters.raw
                size = self.block_size
                self._blocks = [raw[i : i + size] for i in range(0, len(raw), size)]
                self._block_number = self.first_block_number
                return self._next_pblock(iip)
            return ActionResponseNormal(
                ActionResponseWithOptionalData(ActionResult.SUCCESS, parameters), iip
            ).encode()
        return ActionResponseNormal(
            ActionResponseWithOptionalData(ActionResult.OBJECT_UNAVAILABLE), iip
        ).encode()

    def _next_pblock(self, iip: InvokeIdAndPriority) -> bytes:
        chunk = self._blocks.pop(0)
        number = self._block_number
        self._block_number += 1
        return ActionResponseWithPblock(DataBlockSA(not self._blocks, number, chunk), iip).encode()


def accepted_aare(
    max_pdu: int = 0xFFFF,
    conformance: Conformance = SERVER_CONFORMANCE,
    **fields: Any,
) -> bytes:
    return Aare(
        AssociationResult.ACCEPTED,
        user_information=InitiateResponse(conformance, max_pdu).encode(),
        **fields,
    ).encode()


class Pair:
    """Our ClientSession and a scripted server over a link pair, shuttling bytes."""

    def __init__(
        self,
        kind: str = "wrapper",
        client_settings: ClientSettings | None = None,
        server: ScriptedServer | None = None,
        aare: bytes | None = None,
        max_pdu: int = 0xFFFF,
        conformance: Conformance = SERVER_CONFORMANCE,
        rlre: bytes | None = b"",
        hdlc_window: int = 1,
    ) -> None:
        client_link: Link
        if kind in ("wrapper", "udp"):
            transport: Any = "udp" if kind == "udp" else "tcp"
            client_link = WrapperConnection(16, 1, transport)
            self.server_link: Any = WrapperConnection(1, None, transport, role="server")
            self.server_link.connect(0.0)
        else:
            # several APDUs in one turn of the server (pushes around an answer, GBT windows)
            # need an HDLC window above 1: with window 1 the secondary station sends one
            # I-frame per poll
            window = HdlcParameters(window_size_tx=hdlc_window, window_size_rx=hdlc_window)
            client_link = HdlcConnection(
                HdlcSettings(HdlcAddress.client(16), HdlcAddress.server(1), parameters=window)
            )
            self.server_link = HdlcConnection(
                HdlcSettings(None, HdlcAddress.server(1), Role.SERVER, parameters=window)
            )
        self.kind = kind
        self.session = ClientSession(client_link, client_settings or ClientSettings())
        self.server = server or ScriptedServer()
        self.aare = aare if aare is not None else accepted_aare(max_pdu, conformance)
        self.rlre = Rlre().encode() if rlre == b"" else rlre
        self.aarqs: list[bytes] = []
        self.now = 0.0
        self.silent = False

    def answer(self, apdu: bytes) -> list[bytes]:
        if self.silent:
            return []
        if apdu[0] == ApduTag.AARQ:
            self.aarqs.append(apdu)
            return [self.aare]
        if apdu[0] == ApduTag.RLRQ:
            return [] if self.rlre is None else [self.rlre]
        return self.server(apdu)

    def pump(self) -> list[SessionEvent]:
        for _ in range(100_000):
            moved = False
            for datagram in self.session.datagrams_to_send():
                self.server_link.receive_data(datagram, self.now)
                moved = True
            for event in self.server_link.events():
                if isinstance(event, ApduReceived):
                    for answer in self.answer(event.apdu):
                        self.server_link.send_apdu(answer, self.now)
            for datagram in self.server_link.datagrams_to_send():
                self.session.receive_data(datagram, self.now)
                moved = True
            if not moved:
                return self.session.events()
        raise AssertionError("the conversation did not settle")

    def push(self, apdu: bytes) -> None:
        """The server sends ``apdu`` on its own (a push on the association's link)."""
        self.server_link.send_apdu(apdu, self.now)

    def associate(self) -> AssociationEstablished:
        self.session.associate(self.now)
        events = self.pump()
        assert len(events) == 1 and isinstance(events[0], AssociationEstablished), events
        return events[0]

    def results(self, *request_ids: int) -> list[Any]:
        events = self.pump()
        by_id: dict[int, Any] = {}
        for event in events:
            if isinstance(event, RequestCompleted):
                by_id[event.request_id] = event.result
            elif isinstance(event, RequestFailed):
                by_id[event.request_id] = event.error
        assert sorted(by_id) == sorted(request_ids), events
        return [by_id[i] for i in request_ids]

    def result(self, request_id: int) -> Any:
        (value,) = self.results(request_id)
        return value


def associated(kind: str = "wrapper", **options: Any) -> Pair:
    pair = Pair(kind, **options)
    pair.associate()
    return pair


# ---------------------------------------------------------------------------------------------
# Association


def test_the_table_is_complete_for_the_happy_paths() -> None:
    for state, event in [
        (AssociationState.IDLE, AssociationInput.ASSOCIATE),
        (AssociationState.LINK_PENDING, AssociationInput.LINK_UP),
        (AssociationState.AARQ_SENT, AssociationInput.AARE_ACCEPTED),
        (AssociationState.AARQ_SENT, AssociationInput.AARE_HLS),
        (AssociationState.HLS_PENDING, AssociationInput.PASS4_VERIFIED),
        (AssociationState.ASSOCIATED, AssociationInput.RELEASE),
        (AssociationState.RELEASE_PENDING, AssociationInput.RLRE),
        (AssociationState.DISCONNECTING, AssociationInput.LINK_DOWN),
    ]:
        assert (state, event) in ASSOCIATION_TRANSITIONS
    # every action named in the table exists
    for action, _ in ASSOCIATION_TRANSITIONS.values():
        assert callable(getattr(ClientSession, f"_do_{action}"))


@pytest.mark.parametrize("kind", LINKS)
def test_associate_get_release(kind: str) -> None:
    pair = Pair(kind)
    established = pair.associate()
    assert established.max_pdu_size_tx == 0xFFFF
    assert established.negotiated_conformance == SERVER_CONFORMANCE
    assert established.logical_name_referencing
    session = pair.session
    assert session.state is AssociationState.ASSOCIATED
    assert session.negotiated is not None and session.negotiated.dlms_version == 6
    aarq = Aarq.decode(pair.aarqs[0])
    assert aarq.mechanism_name is None and not aarq.sender_acse_requirements
    assert aarq.user_information is not None
    initiate = InitiateRequest.decode(aarq.user_information)
    assert initiate.proposed_conformance == Conformance(0x401E5D)
    assert initiate.client_max_receive_pdu_size == 0xFFFF
    assert pair.result(session.get(REGISTER)) == 123456
    session.release(pair.now)
    assert pair.pump() == [AssociationReleased(None)]
    assert session.state.value == "closed"


@pytest.mark.parametrize("kind", LINKS)
def test_lls_aarq_carries_the_password(kind: str) -> None:
    pair = Pair(kind, ClientSettings(mechanism=MechanismName.LOW, secret=Secret(b"12345678")))
    pair.associate()
    aarq = Aarq.decode(pair.aarqs[0])
    assert aarq.mechanism_name == MechanismName.LOW
    assert aarq.sender_acse_requirements
    assert aarq.calling_authentication_value == b"12345678"


def _hls_aare(mechanism: MechanismName, pass4: bytes | None, title: bytes | None = None) -> Any:
    """An AARE asking for pass 3/4 and a server override answering pass 3 with ``pass4``."""
    aare = accepted_aare(
        result_source_diagnostic=AcseServiceUserDiagnostic.AUTHENTICATION_REQUIRED,
        mechanism_name=mechanism,
        responding_authentication_value=STOC,
        responding_ap_title=title,
    )
    return aare


@pytest.mark.parametrize("kind", LINKS)
@pytest.mark.parametrize(
    "mechanism", [MechanismName.HIGH_MD5, MechanismName.HIGH_SHA1, MechanismName.HIGH_SHA256]
)
def test_hls_pass3_and_pass4(kind: str, mechanism: MechanismName) -> None:
    client_title = bytes.fromhex("4d4d4d0000000001")
    server_title = bytes.fromhex("4d4d4d0000bc614e")
    secret = b"0123456789ABCDEF"
    pair = Pair(
        kind,
        ClientSettings(
            mechanism=mechanism,
            secret=Secret(secret),
            random=lambda n: FIXED_CHALLENGE[:n],
            client_system_title=client_title,
        ),
        aare=_hls_aare(mechanism, None, server_title),
    )
    answer = server_pass4(
        mechanism,
        secret,
        client_challenge=FIXED_CHALLENGE,
        server_challenge=STOC,
        client_system_title=client_title,
        server_system_title=server_title,
    )
    seen: list[Any] = []

    def pass3(apdu: bytes) -> list[bytes]:
        request = decode_apdu(apdu)
        seen.append(request)
        return [
            ActionResponseNormal(
                ActionResponseWithOptionalData(ActionResult.SUCCESS, Data.of(OctetString(answer))),
                request.invoke_id_and_priority,
            ).encode()
        ]

    pair.server.override = pass3
    established = pair.associate()
    assert established.mechanism == mechanism
    aarq = Aarq.decode(pair.aarqs[0])
    assert aarq.calling_authentication_value == FIXED_CHALLENGE
    assert aarq.calling_ap_title == client_title
    (action,) = seen
    assert isinstance(action, ActionRequestNormal)
    assert action.cosem_method_descriptor == CosemMethodDescriptor(15, Obis("0.0.40.0.0.255"), 1)
    assert action.invoke_id_and_priority.to_byte() == 0xC1


@pytest.mark.parametrize("kind", LINKS)
def test_hls_pass4_that_does_not_verify(kind: str) -> None:
    pair = Pair(
        kind,
        ClientSettings(mechanism=MechanismName.HIGH_MD5, secret=Secret(b"secret")),
        aare=_hls_aare(MechanismName.HIGH_MD5, None),
    )
    pair.server.override = lambda apdu: [
        ActionResponseNormal(
            ActionResponseWithOptionalData(ActionResult.SUCCESS, Data.of(OctetString(bytes(16))))
        ).encode()
    ]
    pair.session.associate(pair.now)
    events = pair.pump()
    assert len(events) == 1 and isinstance(events[0], AssociationReleased)
    assert isinstance(events[0].error, AuthenticationError)
    assert "pass 4" in str(events[0].error)
    assert pair.session.state is AssociationState.CLOSED


def test_hls_pass3_refused() -> None:
    pair = Pair(
        "wrapper",
        ClientSettings(mechanism=MechanismName.HIGH_SHA1, secret=Secret(b"secret")),
        aare=_hls_aare(MechanismName.HIGH_SHA1, None),
    )
    pair.server.override = lambda apdu: [
        ActionResponseNormal(
            ActionResponseWithOptionalData(ActionResult.READ_WRITE_DENIED)
        ).encode()
    ]
    pair.session.associate(pair.now)
    (released,) = pair.pump()
    assert isinstance(released, AssociationReleased)
    assert isinstance(released.error, AuthenticationError)
    assert "read-write-denied" in str(released.error)


def test_hls_in_short_name_referencing_reads_the_association_sn_method() -> None:
    secret = b"secret"
    answer = server_pass4(
        MechanismName.HIGH_MD5, secret, client_challenge=FIXED_CHALLENGE, server_challenge=STOC
    )
    pair = Pair(
        "wrapper",
        ClientSettings(
            logical_name_referencing=False,
            mechanism=MechanismName.HIGH_MD5,
            secret=Secret(secret),
            random=lambda n: FIXED_CHALLENGE[:n],
        ),
        aare=_hls_aare(MechanismName.HIGH_MD5, None),
    )
    seen: list[Any] = []

    def pass3(apdu: bytes) -> list[bytes]:
        seen.append(decode_apdu(apdu))
        return [ReadResponse((Data.of(OctetString(answer)),)).encode()]

    pair.server.override = pass3
    pair.associate()
    (request,) = seen
    assert isinstance(request, ReadRequest)
    (spec,) = request.variable_access_specification
    assert isinstance(spec, ParameterizedAccess)
    assert spec.variable_name == 0xFA00 + 0x20 + 7 * 8  # Association SN method 8
    aarq = Aarq.decode(pair.aarqs[0])
    assert aarq.application_context_name.logical_name_referencing is False


@pytest.mark.parametrize("kind", LINKS)
@pytest.mark.parametrize(
    ("aare", "error"),
    [
        (
            Aare(
                AssociationResult.REJECTED_PERMANENT,
                AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE,
            ).encode(),
            AuthenticationRejectedError,
        ),
        (
            Aare(
                AssociationResult.REJECTED_PERMANENT,
                AcseServiceUserDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED,
            ).encode()
            + b"\x00\x01garbage",
            AssociationRejectedError,
        ),
        (
            ExceptionResponse(
                ExceptionStateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.OTHER_REASON
            ).encode(),
            AssociationRejectedError,
        ),
    ],
    ids=["auth-failure", "trailing-garbage", "exception-response"],
)
def test_rejections_are_typed(kind: str, aare: bytes, error: type[Exception]) -> None:
    pair = Pair(kind, aare=aare)
    pair.session.associate(pair.now)
    events = pair.pump()
    assert len(events) == 1 and isinstance(events[0], AssociationReleased)
    assert isinstance(events[0].error, error)
    assert pair.session.state is AssociationState.CLOSED
    # requests now fail at once
    request = pair.session.get(REGISTER)
    (failed,) = pair.session.events()
    assert isinstance(failed, RequestFailed) and failed.request_id == request
    assert isinstance(failed.error, AssociationError)


def test_confirmed_service_error_in_an_accepting_aare() -> None:
    aare = Aare(
        AssociationResult.ACCEPTED,
        user_information=ConfirmedServiceError(
            ConfirmedService.INITIATE_ERROR,
            ServiceErrorChoice.SERVICE,
            ServiceErrorService.SERVICE_UNSUPPORTED,
        ).encode(),
    ).encode()
    pair = Pair("wrapper", aare=aare)
    pair.session.associate(pair.now)
    (released,) = pair.pump()
    assert isinstance(released, AssociationReleased)
    assert isinstance(released.error, AssociationError)
    assert "initiate-error" in str(released.error)


def test_requests_made_before_the_association_wait_for_it() -> None:
    pair = Pair("hdlc")
    pair.session.associate(pair.now)
    first = pair.session.get(REGISTER)
    second = pair.session.get(NAME)
    events = pair.pump()
    assert isinstance(events[0], AssociationEstablished)
    assert events[1:] == [
        RequestCompleted(first, DoubleLongUnsigned(123456)),
        RequestCompleted(second, OctetString(b"ASY0000000001")),
    ]


@pytest.mark.parametrize("kind", LINKS)
def test_release_without_an_answer_disconnects_after_the_timeout(kind: str) -> None:
    pair = associated(kind, rlre=None)
    pair.session.release(pair.now)
    assert pair.pump() == []
    assert pair.session.state is AssociationState.RELEASE_PENDING
    deadline = pair.session.next_deadline()
    assert deadline is not None and deadline <= pair.now + 5.0
    pair.now = 5.0
    pair.session.handle_timer(pair.now)
    events = pair.pump()
    assert events == [AssociationReleased(None)]
    assert pair.session.state.value == "closed"


def test_release_answered_with_an_exception_disconnects_anyway() -> None:
    pair = associated(
        rlre=ExceptionResponse(
            ExceptionStateError.SERVICE_UNKNOWN, ExceptionServiceError.SERVICE_NOT_SUPPORTED
        ).encode()
    )
    pair.session.release(pair.now)
    assert pair.pump() == [AssociationReleased(None)]


def test_release_waits_for_the_request_in_flight_and_fails_the_queued() -> None:
    pair = associated()
    first = pair.session.get(REGISTER)
    second = pair.session.get(NAME)
    pair.session.release(pair.now)
    events = pair.pump()
    assert events[0] == RequestFailed(second, events[0].error)  # type: ignore[attr-defined]
    assert events[1] == RequestCompleted(first, 123456)
    assert events[2] == AssociationReleased(None)


@pytest.mark.parametrize("kind", LINKS)
def test_link_loss_fails_every_pending_request(kind: str) -> None:
    pair = associated(kind)
    pair.silent = True
    first = pair.session.get(REGISTER)
    second = pair.session.get(NAME)
    pair.pump()
    if kind == "wrapper":
        pair.session.link.receive_data(b"\x00\x09\x00\x01\x00\x10\x00\x01\x00", pair.now)
        pair.session.handle_timer(pair.now)
    else:
        for _ in range(20):
            deadline = pair.session.next_deadline()
            if deadline is None or pair.session.state is AssociationState.CLOSED:
                break
            pair.now = deadline
            pair.session.handle_timer(pair.now)
            pair.session.datagrams_to_send()
    events = pair.session.events()
    failed = [e for e in events if isinstance(e, RequestFailed)]
    assert [e.request_id for e in failed] == [first, second]
    assert all(isinstance(e.error, LinkError) for e in failed)
    released = [e for e in events if isinstance(e, AssociationReleased)]
    assert len(released) == 1 and isinstance(released[0].error, LinkError)
    assert pair.session.state is AssociationState.CLOSED


# ---------------------------------------------------------------------------------------------
# GET


@pytest.mark.parametrize("kind", LINKS)
def test_get_normal_and_errors(kind: str) -> None:
    pair = associated(kind)
    s = pair.session
    value, missing = pair.results(s.get(REGISTER), s.get(MISSING))
    assert value == 123456
    assert isinstance(missing, DataAccessError)
    assert missing.result == DataAccessResult.OBJECT_UNDEFINED
    assert "object-undefined" in str(missing)


@pytest.mark.parametrize("kind", LINKS)
@pytest.mark.parametrize("first_block_number", [0, 1, 7])
def test_get_with_datablocks(kind: str, first_block_number: int) -> None:
    server = ScriptedServer(block_size=100, first_block_number=first_block_number)
    pair = associated(kind, server=server)
    assert pair.result(pair.session.get(BIG)) == bytes(range(256)) * 8
    nexts = [decode_apdu(r) for r in server.requests if r[1] == 2]
    raw_length = len(Data.of(OctetString(bytes(2048))).raw)
    assert len(nexts) == -(-raw_length // 100) - 1
    assert [n.block_number for n in nexts] == list(
        range(first_block_number, first_block_number + len(nexts))
    )


@pytest.mark.parametrize("kind", LINKS)
def test_get_with_list_of_single_gets_blocks_errors_and_invoke_ids(kind: str) -> None:
    """Chunks of one: each item a get-request-normal (the session's short way), an answer
    in blocks and a refused object taken the general way, one invoke-id after another."""
    server = ScriptedServer(block_size=100)
    pair = associated(kind, server=server, client_settings=ClientSettings(with_list_chunk_size=1))
    values = pair.result(pair.session.get_with_list([REGISTER, BIG, MISSING, NAME]))
    assert values[0] == 123456 and values[1] == bytes(range(256)) * 8
    assert isinstance(values[2], DataAccessError)
    assert values[2].result == DataAccessResult.OBJECT_UNDEFINED
    assert values[3] == b"ASY0000000001"
    normals = [decode_apdu(r) for r in server.requests if r[:2] == bytes((0xC0, 1))]
    assert [n.cosem_attribute_descriptor for n in normals] == [REGISTER, BIG, MISSING, NAME]
    invoke_ids = [r[2] & 0x0F for r in server.requests if r[:2] == bytes((0xC0, 1))]
    assert invoke_ids == [(invoke_ids[0] + i) % 16 for i in range(4)]
    assert any(r[:2] == bytes((0xC0, 2)) for r in server.requests)  # get-request-next
    assert pair.session.with_list_fallbacks == 0


@pytest.mark.parametrize(
    "options",
    [
        {"client_settings": ClientSettings(with_list_chunk_size=1)},
        {"conformance": SERVER_CONFORMANCE & ~Conformance.MULTIPLE_REFERENCES},
    ],
    ids=["chunks-of-one", "no-multiple-references"],
)
def test_single_gets_of_a_list_take_every_form_of_item(options: dict[str, Any]) -> None:
    """The items of a list read by single GETs (no chunks cut then) may be descriptors,
    listed descriptors, or listed descriptors with selective access: each gets its own
    get-request-normal, in order, with its selection."""
    pair = associated(**options)
    items = [
        REGISTER,
        CosemAttributeDescriptorWithSelection(NAME),
        CosemAttributeDescriptorWithSelection(BIG, entry_descriptor(1, 2)),
        CosemAttributeDescriptorWithSelection(MISSING),
    ]
    values = pair.result(pair.session.get_with_list(items))
    assert values[0] == 123456 and values[1] == b"ASY0000000001"
    assert tuple(values[2]) == (2,)
    assert isinstance(values[3], DataAccessError)
    requests = [decode_apdu(r) for r in pair.server.requests]
    assert all(isinstance(r, GetRequestNormal) for r in requests)
    assert [r.cosem_attribute_descriptor for r in requests] == [REGISTER, NAME, BIG, MISSING]
    assert [r.access_selection for r in requests] == [None, None, entry_descriptor(1, 2), None]


@pytest.mark.parametrize("kind", LINKS)
def test_await_reply_is_called_only_on_links_that_act_on_it(kind: str) -> None:
    """While a request is in flight the session tells the link after each input that it
    awaits the answer (an HDLC link polls again after a silence); the wrapper declares
    ``awaits_reply = False`` (its await_reply does nothing) and is not told."""
    pair = associated(kind)
    link = pair.session.link
    calls: list[float] = []
    original = link.await_reply

    def counting(now: float) -> None:
        calls.append(now)
        original(now)

    link.await_reply = counting  # type: ignore[method-assign]
    assert pair.result(pair.session.get(REGISTER)) == 123456
    assert (len(calls) > 0) == (kind != "wrapper")


def test_get_block_number_gap_is_a_block_transfer_error() -> None:
    server = ScriptedServer(block_size=100)
    pair = associated(server=server)

    def skip(apdu: bytes) -> list[bytes] | None:
        if apdu[1] == 2:  # get-request-next: answer two blocks further
            server._block_number += 1
        return None

    server.override = skip
    error = pair.result(pair.session.get(BIG))
    assert isinstance(error, BlockTransferError)


def test_get_duplicate_block_is_dropped() -> None:
    """The meter repeats block 1 when asked for block 2 (quirk 15): the client drops the
    duplicate and asks again."""
    server = ScriptedServer(block_size=1000)
    pair = associated(server=server)
    first_blocks: list[bytes] = []

    def duplicate(apdu: bytes) -> list[bytes] | None:
        if apdu[1] == 1:
            first_blocks.extend(server.answer(apdu))
            return first_blocks
        if apdu[1] == 2 and len(first_blocks) == 1:
            first_blocks.append(b"")
            return [first_blocks[0]]
        return None

    server.override = duplicate
    assert pair.result(pair.session.get(BIG)) == bytes(range(256)) * 8
    nexts = [decode_apdu(r).block_number for r in server.requests if r[1] == 2]
    assert nexts == [1, 1, 2]


def test_get_response_bounded_by_max_response_length() -> None:
    server = ScriptedServer(block_size=100)
    pair = associated(server=server, client_settings=ClientSettings(max_response_length=500))
    error = pair.result(pair.session.get(BIG))
    assert isinstance(error, BlockTransferError)
    assert "500" in str(error)


def test_get_datablock_error_ends_the_transfer() -> None:
    server = ScriptedServer(block_size=100)
    pair = associated(server=server)
    server.override = lambda apdu: (
        [GetResponseWithDatablock(True, 2, DataAccessResult.LONG_GET_ABORTED).encode()]
        if apdu[1] == 2
        else None
    )
    error = pair.result(pair.session.get(BIG))
    assert isinstance(error, DataAccessError)
    assert error.result == DataAccessResult.LONG_GET_ABORTED


def test_get_with_selective_access_is_carried() -> None:
    pair = associated()
    value = pair.result(pair.session.get(BIG, entry_descriptor(1, 2)))
    assert tuple(value) == (2,)
    request = decode_apdu(pair.server.requests[-1])
    assert isinstance(request, GetRequestNormal)
    assert request.access_selection == entry_descriptor(1, 2)


@pytest.mark.parametrize("kind", LINKS)
def test_get_with_list_in_chunks(kind: str) -> None:
    pair = associated(kind, client_settings=ClientSettings(with_list_chunk_size=2))
    items = [REGISTER, NAME, MISSING, CLOCK, REGISTER]
    (values,) = pair.results(pair.session.get_with_list(items))
    assert values[0] == 123456 and values[1] == b"ASY0000000001"
    assert isinstance(values[2], DataAccessError)
    assert values[3] == bytes.fromhex("07e80101ff000000ff800000")
    assert values[4] == 123456
    kinds = [(r[0], r[1]) for r in pair.server.requests]
    assert kinds == [(0xC0, 3), (0xC0, 3), (0xC0, 1)]  # 2 + 2 + a single GET for the last


@pytest.mark.parametrize(
    "refusal",
    [
        ExceptionResponse(
            ExceptionStateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.SERVICE_NOT_SUPPORTED
        ).encode(),
        ConfirmedServiceError(
            ConfirmedService.READ,
            ServiceErrorChoice.SERVICE,
            ServiceErrorService.SERVICE_UNSUPPORTED,
        ).encode(),
        GetResponseNormal(DataAccessResult.SCOPE_OF_ACCESS_VIOLATED).encode(),
        GetResponseWithList(
            (DataAccessResult.SCOPE_OF_ACCESS_VIOLATED, DataAccessResult.SCOPE_OF_ACCESS_VIOLATED)
        ).encode(),
        bytes.fromhex("c403c1ff"),  # unparsable
    ],
    ids=["exception", "confirmed-service-error", "scope-normal", "scope-list", "garbage"],
)
def test_get_with_list_falls_back_to_single_gets(refusal: bytes) -> None:
    pair = associated()
    pair.server.override = lambda apdu: [refusal] if apdu[1] == 3 else None
    (values,) = pair.results(pair.session.get_with_list([REGISTER, NAME]))
    assert values == [123456, b"ASY0000000001"]
    assert pair.session.with_list_fallbacks == 1


def test_get_with_list_answered_in_datablocks() -> None:
    server = ScriptedServer()
    pair = associated(server=server)

    def in_blocks(apdu: bytes) -> list[bytes] | None:
        if apdu[1] == 3:
            whole = server.answer(apdu)[0]
            raw = whole[3:]  # count + results
            server.block_size = 5
            return [server._start_blocks(raw, InvokeIdAndPriority())]
        return None

    server.override = in_blocks
    (values,) = pair.results(pair.session.get_with_list([REGISTER, NAME, MISSING]))
    assert values[:2] == [123456, b"ASY0000000001"]
    assert isinstance(values[2], DataAccessError)


# ---------------------------------------------------------------------------------------------
# SET


@pytest.mark.parametrize("kind", LINKS)
def test_set_normal_and_read_back(kind: str) -> None:
    pair = associated(kind)
    s = pair.session
    done, value = pair.results(s.set(REGISTER, DoubleLongUnsigned(7)), s.get(REGISTER))
    assert done is None and value == 7


def test_set_error() -> None:
    pair = associated()
    pair.server.override = lambda apdu: (
        [SetResponseNormal(DataAccessResult.READ_WRITE_DENIED).encode()]
        if apdu[0] == 0xC1
        else None
    )
    error = pair.result(pair.session.set(REGISTER, DoubleLongUnsigned(7)))
    assert isinstance(error, DataAccessError)
    assert error.result == DataAccessResult.READ_WRITE_DENIED


@pytest.mark.parametrize("kind", LINKS)
def test_set_with_datablocks_when_larger_than_the_server_pdu(kind: str) -> None:
    pair = associated(kind, max_pdu=128)
    big = OctetString(bytes(range(256)) * 3)
    done, value = pair.results(pair.session.set(NAME, big), pair.session.get(NAME))
    assert done is None and value == big
    kinds = [(r[0], r[1]) for r in pair.server.requests]
    assert kinds[0] == (0xC1, 2) and set(kinds[1:-1]) == {(0xC1, 3)}
    assert all(len(r) <= 128 for r in pair.server.requests)


def test_set_unlimited_server_pdu_never_splits() -> None:
    pair = associated(max_pdu=0)
    big = OctetString(bytes(5000))
    assert pair.result(pair.session.set(NAME, big)) is None
    assert [(r[0], r[1]) for r in pair.server.requests] == [(0xC1, 1)]


def test_set_with_list_normal_and_in_blocks() -> None:
    pair = associated(max_pdu=100)
    small = [(REGISTER, DoubleLongUnsigned(1)), (CLOCK, OctetString(bytes(12)))]
    (results,) = pair.results(pair.session.set_with_list(small))
    assert results == [None, None]
    large = [(NAME, OctetString(bytes(150))), (REGISTER, DoubleLongUnsigned(9))]
    (results,) = pair.results(pair.session.set_with_list(large))
    assert results == [None, None]
    assert pair.server.values[_key(NAME)] == bytes(150)
    assert pair.server.values[_key(REGISTER)] == 9
    assert (pair.server.requests[1][0], pair.server.requests[1][1]) == (0xC1, 5)


def test_set_block_acknowledged_with_a_wrong_number() -> None:
    pair = associated(max_pdu=64)
    pair.server.override = lambda apdu: (
        [SetResponseDatablock(9).encode()] if apdu[0] == 0xC1 else None
    )
    error = pair.result(pair.session.set(NAME, OctetString(bytes(200))))
    assert isinstance(error, BlockTransferError)


# ---------------------------------------------------------------------------------------------
# ACTION


@pytest.mark.parametrize("kind", LINKS)
def test_action_normal_and_error(kind: str) -> None:
    pair = associated(kind)
    s = pair.session
    done, echoed, error = pair.results(
        s.action(RESET, Data.of(0)),
        s.action(ECHO, OctetString(b"hello")),
        s.action(CosemMethodDescriptor(70, Obis("0.0.96.3.10.255"), 1), 0),
    )
    assert done is None
    assert echoed == b"hello"
    assert isinstance(error, ActionError)
    assert error.result == ActionResult.OBJECT_UNAVAILABLE


@pytest.mark.parametrize("kind", LINKS)
def test_action_parameters_and_results_in_pblocks(kind: str) -> None:
    server = ScriptedServer(block_size=60)
    pair = associated(kind, server=server, max_pdu=100)
    payload = OctetString(bytes(range(200)))
    assert pair.result(pair.session.action(ECHO, payload)) == payload
    kinds = [(r[0], r[1]) for r in server.requests]
    assert kinds[0] == (0xC3, 4)  # with-first-pblock
    assert (0xC3, 6) in kinds  # with-pblock
    assert (0xC3, 2) in kinds  # next-pblock for the long result


def test_action_with_list() -> None:
    pair = associated()
    (results,) = pair.results(
        pair.session.action_with_list([(ECHO, OctetString(b"a")), (RESET, 0)])
    )
    assert results[0] == b"a"
    assert isinstance(results[1], ActionError)


# ---------------------------------------------------------------------------------------------
# Short names


def test_short_name_read_write_and_blocks() -> None:
    pair = associated(
        client_settings=ClientSettings(logical_name_referencing=False),
        conformance=Conformance(0x1C0320),
    )
    s = pair.session
    value, missing, long, written, denied, parameterized = pair.results(
        s.read(0x0100),
        s.read(0x0300),
        s.read(0x0200),
        s.write(0x0100, DoubleLongUnsigned(5)),
        s.write(0x0108, DoubleLongUnsigned(5)),
        s.read(0x0110, selector=1, parameter=Unsigned(3)),
    )
    assert value == 42
    assert isinstance(missing, DataAccessError)
    assert long == bytes(300)
    assert written is None
    assert isinstance(denied, DataAccessError)
    assert parameterized == 3
    block_reads = [decode_apdu(r) for r in pair.server.requests if r[0] == 0x05]
    assert any(
        isinstance(r.variable_access_specification[0], BlockNumberAccess) for r in block_reads
    )


def test_unconfirmed_write_completes_at_once() -> None:
    pair = associated(client_settings=ClientSettings(logical_name_referencing=False))
    pair.server.override = lambda apdu: []
    assert pair.result(pair.session.unconfirmed_write(0x0100, Unsigned(1))) is None
    assert pair.server.requests[-1][0] == ApduTag.UNCONFIRMED_WRITE_REQUEST


# ---------------------------------------------------------------------------------------------
# Pairing answers with requests


def test_requests_are_queued_and_served_in_order() -> None:
    pair = associated()
    s = pair.session
    ids = [s.get(REGISTER), s.get(NAME), s.get(CLOCK)]
    assert s.pending_requests == 3
    events = pair.pump()
    assert [e.request_id for e in events if isinstance(e, RequestCompleted)] == ids
    invoke_ids = [r[2] & 0x0F for r in pair.server.requests]
    assert invoke_ids == [1, 2, 3]


def test_invoke_ids_rotate_through_sixteen_values() -> None:
    pair = associated(client_settings=ClientSettings(invoke_id=14))
    ids = [pair.session.get(REGISTER) for _ in range(20)]
    assert len(pair.results(*ids)) == 20
    invoke_ids = [r[2] & 0x0F for r in pair.server.requests]
    assert invoke_ids[:4] == [14, 15, 0, 1]
    assert all(0 <= i <= 15 for i in invoke_ids)


def test_answer_with_another_invoke_id_is_dropped_and_counted_when_strict() -> None:
    pair = associated(client_settings=ClientSettings(strict_invoke_id=True))

    def wrong_first(apdu: bytes) -> list[bytes] | None:
        right = pair.server.answer(apdu)[0]
        wrong = right[:2] + bytes((right[2] ^ 0x05,)) + right[3:]
        return [wrong, right]

    pair.server.override = wrong_first
    assert pair.result(pair.session.get(REGISTER)) == 123456
    assert pair.session.invoke_id_mismatches == 1


def test_answer_with_another_invoke_id_is_taken_by_default() -> None:
    """Servers built on gurux-dlms answer errors with invoke-id 1 whatever was asked: with
    one request in flight, an answer that is no cancelled request's is this request's."""
    pair = associated(client_settings=ClientSettings(invoke_id=3))

    def invoke_id_one(apdu: bytes) -> list[bytes] | None:
        right = pair.server.answer(apdu)[0]
        return [right[:2] + bytes(((right[2] & 0xF0) | 1,)) + right[3:]]

    pair.server.override = invoke_id_one
    assert pair.result(pair.session.get(REGISTER)) == 123456
    assert pair.session.invoke_id_mismatches == 1
    assert pair.session.unexpected_apdus == 0


def test_a_repeat_of_the_previous_answer_is_not_the_next_requests_answer() -> None:
    """A duplicated datagram of the previous answer arrives while the next request is in
    flight: dropped, even though answers with another invoke-id are taken by default."""
    pair = associated("udp")
    answers: list[bytes] = []

    def repeat_previous(apdu: bytes) -> list[bytes] | None:
        right = pair.server.answer(apdu)[0]
        out = ([answers[-1]] if answers else []) + [right]
        answers.append(right)
        return out

    pair.server.override = repeat_previous
    assert pair.result(pair.session.get(REGISTER)) == 123456
    assert pair.result(pair.session.get(NAME)) == b"ASY0000000001"
    assert pair.session.duplicate_responses == 1
    assert pair.session.invoke_id_mismatches == 0


@pytest.mark.parametrize("kind", LINKS)
def test_identical_error_answers_with_invoke_id_one_over_a_stream(kind: str) -> None:
    """Servers built on gurux-dlms answer every failed request with the same bytes and
    invoke-id 1 (here C4 01 C1 01 04: object-undefined). Over a stream (TCP wrapper, HDLC),
    where APDUs are not repeated, the answer to the request after the one with invoke-id 1
    is its answer, not a duplicate of the previous one (it used to be dropped, and the
    request timed out)."""
    pair = associated(kind, client_settings=ClientSettings(invoke_id=0))
    pair.server.override = lambda apdu: [bytes.fromhex("c401c10104")]
    for _ in range(4):  # invoke-ids 0, 1, 2, 3: the answers to 1 and 2 are byte-identical
        error = pair.result(pair.session.get(REGISTER))
        assert isinstance(error, DataAccessError) and "object-undefined" in str(error)
    assert pair.session.duplicate_responses == 0
    assert pair.session.invoke_id_mismatches == 3


def test_cancel_a_queued_request() -> None:
    pair = associated()
    s = pair.session
    first, second, third = s.get(REGISTER), s.get(NAME), s.get(CLOCK)
    assert s.cancel(second)
    assert not s.cancel(999)
    events = pair.pump()
    assert [e.request_id for e in events if isinstance(e, RequestCompleted)] == [first, third]
    assert len(events) == 2


def test_cancelled_in_flight_answer_is_swallowed_not_given_to_the_next() -> None:
    pair = associated()
    s = pair.session
    held: list[bytes] = []

    def hold_first(apdu: bytes) -> list[bytes] | None:
        if held:
            return None
        held.append(apdu)
        return []

    pair.server.override = hold_first
    first = s.get(REGISTER)
    pair.pump()
    assert s.cancel(first)
    second = s.get(NAME)
    assert pair.pump() == []  # the next request waits for the late answer
    # the late answer to the first request arrives now
    pair.push(pair.server.answer(held[0])[0])
    events = pair.pump()
    assert events == [RequestCompleted(second, OctetString(b"ASY0000000001"))]
    assert s.late_responses == 1


def test_cancelled_in_flight_without_answer_frees_the_association_after_a_timeout() -> None:
    pair = associated(client_settings=ClientSettings(late_response_timeout=2.0))
    s = pair.session
    pair.server.override = lambda apdu: (
        [] if apdu[0] == 0xC0 and len(pair.server.requests) == 1 else None
    )
    first = s.get(REGISTER)
    pair.pump()
    s.cancel(first, now=1.0)
    second = s.get(NAME)
    assert pair.pump() == []
    assert s.next_deadline() == 3.0
    pair.now = 3.0
    s.handle_timer(pair.now)
    assert pair.pump() == [RequestCompleted(second, OctetString(b"ASY0000000001"))]


def test_answer_when_nothing_was_asked_is_counted() -> None:
    pair = associated()
    pair.push(GetResponseNormal(Data.of(1)).encode())
    assert pair.pump() == []
    assert pair.session.unexpected_apdus == 1


@pytest.mark.parametrize("kind", LINKS)
def test_notifications_interleaved_with_answers(kind: str) -> None:
    pair = associated(kind, hdlc_window=7)
    push = DataNotification(Data.of(DoubleLongUnsigned(99))).encode()

    def push_first(apdu: bytes) -> list[bytes] | None:
        return [push, *pair.server.answer(apdu), push]

    pair.server.override = push_first
    request = pair.session.get(REGISTER)
    events = pair.pump()
    assert [type(e) for e in events] == [
        NotificationReceived,
        RequestCompleted,
        NotificationReceived,
    ]
    assert events[1] == RequestCompleted(request, 123456)
    notification = events[0].notification  # type: ignore[attr-defined]
    assert isinstance(notification, DataNotification)
    assert notification.notification_body.value == 99


def test_unsolicited_link_apdu_is_a_notification() -> None:
    pair = associated()
    push = DataNotification(Data.of(DoubleLongUnsigned(5))).encode()
    pair.server_link.send_apdu_to(push, 0x67)
    events = pair.pump()
    assert len(events) == 1 and isinstance(events[0], NotificationReceived)
    assert events[0].destination == 0x67


def test_oversized_answer_is_dropped_and_fails_the_request() -> None:
    pair = associated(client_settings=ClientSettings(client_max_receive_pdu_size=100))
    pair.server.values[_key(NAME)] = OctetString(bytes(140))
    pair.server.values[_key(CLOCK)] = OctetString(bytes(180))
    ok, error = pair.results(pair.session.get(NAME), pair.session.get(CLOCK))
    assert ok == bytes(140)  # within max PDU + 50 (behaviour 7)
    assert isinstance(error, Exception)
    assert pair.session.dropped_apdus == 1


def test_service_errors_are_typed() -> None:
    pair = associated()
    pair.server.override = lambda apdu: [
        ExceptionResponse(
            ExceptionStateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.OPERATION_NOT_POSSIBLE
        ).encode()
    ]
    error = pair.result(pair.session.get(REGISTER))
    assert isinstance(error, ServiceError)
    assert "operation-not-possible" in str(error)


# ---------------------------------------------------------------------------------------------
# General block transfer


def gbt_settings(**options: Any) -> ClientSettings:
    return ClientSettings(use_general_block_transfer=True, **options)


class GbtServer(ScriptedServer):
    """Answers in general-block-transfer blocks of ``gbt_block`` bytes, ``window`` at a time,
    and reassembles the client's GBT requests."""

    def __init__(self, gbt_block: int, window: int = 1, **options: Any) -> None:
        super().__init__(**options)
        self.gbt_block = gbt_block
        self.window = window
        self._out: list[bytes] = []
        self._sent = 0
        self._in = b""
        self.lose: set[int] = set()
        self.duplicate: set[int] = set()
        self.gbt_requests: list[GeneralBlockTransfer] = []

    def __call__(self, apdu: bytes) -> list[bytes]:
        if apdu[0] != ApduTag.GENERAL_BLOCK_TRANSFER:
            return self._answer_in_blocks(super().__call__(apdu))
        block = GeneralBlockTransfer.decode(apdu)
        self.gbt_requests.append(block)
        if block.block_data or not self._out:
            self._in += block.block_data
            if not block.last_block:
                return (
                    []
                    if block.streaming
                    else [
                        GeneralBlockTransfer(
                            0, b"", True, False, self.window, block.block_number
                        ).encode()
                    ]
                )
            request, self._in = self._in, b""
            return self._answer_in_blocks(super().__call__(request))
        # an acknowledgement: continue after the block it names
        self._sent = block.block_number_ack
        return self._window()

    def _answer_in_blocks(self, answers: list[bytes]) -> list[bytes]:
        (answer,) = answers
        size = self.gbt_block
        self._out = [answer[i : i + size] for i in range(0, len(answer), size)]
        self._sent = 0
        return self._window()

    def _window(self) -> list[bytes]:
        out: list[bytes] = []
        end = min(len(self._out), self._sent + self.window)
        for index in range(self._sent, end):
            number = index + 1
            encoded = GeneralBlockTransfer(
                number,
                self._out[index],
                last_block=index == len(self._out) - 1,
                streaming=index < end - 1,
                window=self.window,
            ).encode()
            if number in self.lose:
                self.lose.discard(number)
                continue
            out.append(encoded)
            if number in self.duplicate:
                self.duplicate.discard(number)
                out.append(encoded)
        self._sent = end
        if self._sent >= len(self._out):
            self._out = []
        return out


@pytest.mark.parametrize("kind", LINKS)
@pytest.mark.parametrize("window", [1, 3])
def test_gbt_answers_are_reassembled_and_acknowledged(kind: str, window: int) -> None:
    server = GbtServer(gbt_block=200, window=window)
    pair = associated(
        kind,
        hdlc_window=7,
        server=server,
        client_settings=gbt_settings(gbt_window_size=window),
        conformance=SERVER_CONFORMANCE | Conformance.GENERAL_BLOCK_TRANSFER,
    )
    first = pair.session.get(BIG)
    second = pair.session.get(REGISTER)
    assert pair.results(first, second) == [bytes(range(256)) * 8, 123456]
    # once the server used GBT, the client's requests go in GBT too
    data_blocks = [b for b in server.gbt_requests if b.block_data]
    assert len(data_blocks) == 1
    assert decode_apdu(data_blocks[0].block_data) == GetRequestNormal(
        REGISTER, None, InvokeIdAndPriority(2)
    )


def test_gbt_not_negotiated_is_not_used() -> None:
    pair = associated(client_settings=gbt_settings())
    assert pair.result(pair.session.get(REGISTER)) == 123456
    assert pair.server.requests[-1][0] == 0xC0
    aarq = Aarq.decode(pair.aarqs[0])
    assert aarq.user_information is not None
    proposed = InitiateRequest.decode(aarq.user_information).proposed_conformance
    assert proposed & Conformance.GENERAL_BLOCK_TRANSFER


def test_gbt_is_not_proposed_unless_asked() -> None:
    pair = associated()
    aarq = Aarq.decode(pair.aarqs[0])
    assert aarq.user_information is not None
    proposed = InitiateRequest.decode(aarq.user_information).proposed_conformance
    assert not proposed & Conformance.GENERAL_BLOCK_TRANSFER


def test_gbt_lost_and_duplicate_blocks() -> None:
    server = GbtServer(gbt_block=100, window=4)
    server.lose = {3}
    server.duplicate = {6}
    pair = associated(
        server=server,
        client_settings=gbt_settings(gbt_window_size=4),
        conformance=SERVER_CONFORMANCE | Conformance.GENERAL_BLOCK_TRANSFER,
    )
    assert pair.result(pair.session.get(BIG)) == bytes(range(256)) * 8
    channel = pair.session._gbt
    assert channel.lost >= 1 and channel.duplicates == 1


def test_gbt_carrying_get_response_with_datablock() -> None:
    server = GbtServer(gbt_block=60, window=2, block_size=500)
    pair = associated(
        server=server,
        client_settings=gbt_settings(gbt_window_size=2),
        conformance=SERVER_CONFORMANCE | Conformance.GENERAL_BLOCK_TRANSFER,
    )
    assert pair.result(pair.session.get(BIG)) == bytes(range(256)) * 8
    # the get-request-next went out inside GBT blocks, never bare
    inner = [decode_apdu(b.block_data) for b in server.gbt_requests if b.block_data]
    assert inner and all(isinstance(r, GetRequestNext) for r in inner)


def test_gbt_long_request_is_sent_in_blocks() -> None:
    server = GbtServer(gbt_block=50, window=1)
    pair = associated(
        server=server,
        max_pdu=64,
        client_settings=gbt_settings(),
        conformance=SERVER_CONFORMANCE | Conformance.GENERAL_BLOCK_TRANSFER,
    )
    big = OctetString(bytes(range(200)))
    assert pair.result(pair.session.set(NAME, big)) is None
    assert server.values[_key(NAME)] == big
    assert len([b for b in server.gbt_requests if b.block_data]) >= 4
    assert all(len(b.encode()) <= 64 for b in server.gbt_requests)


# ---------------------------------------------------------------------------------------------
# Properties


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(LINKS),
    value_size=st.integers(0, 3000),
    block_size=st.integers(8, 700),
    max_pdu=st.sampled_from([0, 64, 128, 512, 0xFFFF]),
)
def test_any_value_size_round_trips(
    kind: str, value_size: int, block_size: int, max_pdu: int
) -> None:
    server = ScriptedServer(block_size=block_size)
    pair = associated(kind, server=server, max_pdu=max_pdu)
    value = OctetString(bytes(i % 251 for i in range(value_size)))
    done, read = pair.results(pair.session.set(NAME, value), pair.session.get(NAME))
    assert done is None
    assert read == value
    if max_pdu:
        assert all(len(r) <= max_pdu for r in server.requests)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    value_size=st.integers(0, 2500),
    gbt_block=st.integers(10, 400),
    window=st.integers(1, 8),
    max_pdu=st.sampled_from([0, 80, 300]),
)
def test_any_gbt_geometry_round_trips(
    value_size: int, gbt_block: int, window: int, max_pdu: int
) -> None:
    server = GbtServer(gbt_block=gbt_block, window=window)
    pair = associated(
        server=server,
        max_pdu=max_pdu,
        client_settings=gbt_settings(gbt_window_size=window),
        conformance=SERVER_CONFORMANCE | Conformance.GENERAL_BLOCK_TRANSFER,
    )
    value = OctetString(bytes(i % 253 for i in range(value_size)))
    done, read = pair.results(pair.session.set(NAME, value), pair.session.get(NAME))
    assert done is None and read == value


def test_settings_validate_and_hide_the_secret() -> None:
    settings_ = ClientSettings(mechanism=MechanismName.LOW, secret=Secret(b"hidden"))
    assert "hidden" not in repr(settings_)
    with pytest.raises(ValueError, match="secret"):
        ClientSettings(mechanism=MechanismName.HIGH_MD5)
    with pytest.raises(ValueError):
        ClientSettings(challenge_length=4)
    with pytest.raises(ValueError):
        ClientSettings(invoke_id=16)


def test_gbt_window_end_lost_is_asked_again_on_the_timer() -> None:
    server = GbtServer(gbt_block=100, window=2)
    server.lose = {2}
    pair = associated(
        server=server,
        client_settings=gbt_settings(gbt_window_size=2, gbt_timeout=1.0),
        conformance=SERVER_CONFORMANCE | Conformance.GENERAL_BLOCK_TRANSFER,
    )
    request = pair.session.get(BIG)
    assert pair.pump() == []  # block 2 ended the window and was lost: silence
    deadline = pair.session.next_deadline()
    assert deadline == pair.now + 1.0
    pair.now = deadline
    pair.session.handle_timer(pair.now)
    assert pair.pump() == [RequestCompleted(request, OctetString(bytes(range(256)) * 8))]
    assert pair.session.next_deadline() is None


def test_gbt_peer_silent_fails_the_request_after_the_retries() -> None:
    server = GbtServer(gbt_block=100, window=2)
    pair = associated(
        server=server,
        client_settings=gbt_settings(gbt_window_size=2, gbt_timeout=1.0, gbt_retries=2),
        conformance=SERVER_CONFORMANCE | Conformance.GENERAL_BLOCK_TRANSFER,
    )
    server.lose = {2}
    request = pair.session.get(BIG)
    pair.pump()
    pair.silent = True
    events: list[SessionEvent] = []
    for _ in range(10):
        deadline = pair.session.next_deadline()
        if deadline is None:
            break
        pair.now = deadline
        pair.session.handle_timer(pair.now)
        events += pair.pump()
    (failed,) = events
    assert isinstance(failed, RequestFailed) and failed.request_id == request
    assert isinstance(failed.error, BlockTransferError)
    assert "silent" in str(failed.error)


def _answer_pass3_with(answer: bytes) -> Callable[[bytes], list[bytes]]:
    def reply(apdu: bytes) -> list[bytes]:
        request = decode_apdu(apdu)
        return [
            ActionResponseNormal(
                ActionResponseWithOptionalData(ActionResult.SUCCESS, Data.of(OctetString(answer))),
                request.invoke_id_and_priority,
            ).encode()
        ]

    return reply


def test_hls_without_the_authentication_required_diagnostic() -> None:
    """Quirk 8: an accepting AARE with an HLS mechanism and a challenge but diagnostic null
    still leads to pass 3/4."""
    secret = b"secret"
    pair = Pair(
        "wrapper",
        ClientSettings(
            mechanism=MechanismName.HIGH_MD5,
            secret=Secret(secret),
            random=lambda n: FIXED_CHALLENGE[:n],
        ),
        aare=accepted_aare(
            mechanism_name=MechanismName.HIGH_MD5, responding_authentication_value=STOC
        ),
    )
    answer = server_pass4(
        MechanismName.HIGH_MD5, secret, client_challenge=FIXED_CHALLENGE, server_challenge=STOC
    )
    pair.server.override = _answer_pass3_with(answer)
    pair.associate()
    assert [r[0] for r in pair.server.requests] == [ApduTag.ACTION_REQUEST]


def test_manufacturer_hls_function() -> None:
    """Quirk 14: HLS mechanism 2 with the manufacturer's function."""

    def xor(secret: bytes, data: Any) -> bytes:
        return bytes(a ^ b for a, b in zip(data.challenge, secret * 16, strict=False))

    secret = b"\x55" * 4
    pair = Pair(
        "hdlc",
        ClientSettings(
            mechanism=MechanismName.HIGH,
            secret=Secret(secret),
            random=lambda n: FIXED_CHALLENGE[:n],
            manufacturer_hls_function=xor,
        ),
        aare=_hls_aare(MechanismName.HIGH, None),
    )
    seen: list[Any] = []
    answer = xor(secret, type("Input", (), {"challenge": FIXED_CHALLENGE})())

    def reply(apdu: bytes) -> list[bytes]:
        seen.append(decode_apdu(apdu))
        return _answer_pass3_with(answer)(apdu)

    pair.server.override = reply
    pair.associate()
    (action,) = seen
    sent = action.method_invocation_parameters.value
    assert sent == xor(secret, type("Input", (), {"challenge": STOC})())


@pytest.mark.parametrize("answer", [b"\x61\x03\x02", b"\xc4\x01\xc1\x00\x11\x01", b""])
def test_an_unreadable_answer_to_the_aarq_is_an_association_error(answer: bytes) -> None:
    pair = Pair("wrapper", aare=answer or b"\x61")
    pair.session.associate(pair.now)
    (released,) = pair.pump()
    assert isinstance(released, AssociationReleased)
    assert isinstance(released.error, AssociationError)


def test_a_link_that_refuses_to_send_ends_the_association() -> None:
    pair = associated()
    pair.session.link.disconnect(pair.now)  # closed under the session's feet, not yet seen
    request = pair.session.get(REGISTER)
    events = pair.session.events()
    assert [type(e) for e in events] == [RequestFailed, AssociationReleased]
    assert events[0] == RequestFailed(request, events[0].error)  # type: ignore[attr-defined]
    assert isinstance(events[0].error, LinkError)
    assert pair.session.state is AssociationState.CLOSED


# ---------------------------------------------------------------------------------------------
# The pipeline: protection between encoding and GBT/link


class TaggingProtection:
    """A stand-in for ciphering: wraps every APDU as ``DB <plain>`` and checks the wrapping
    on the way back, counting both directions."""

    ciphered = True

    def __init__(self) -> None:
        self.protected: list[bytes] = []
        self.unprotected: list[bytes] = []

    def protect(self, apdu: bytes) -> bytes:
        self.protected.append(apdu)
        return b"\xdb" + apdu

    def unprotect(self, apdu: bytes) -> bytes:
        if apdu[:1] != b"\xdb":
            raise LinkError(f"a plain APDU 0x{apdu[0]:02x} where a protected one is due")
        self.unprotected.append(apdu[1:])
        return apdu[1:]


def test_protection_sits_between_encoding_and_the_link() -> None:
    protection = TaggingProtection()
    server = ScriptedServer()

    def server_side(apdu: bytes) -> list[bytes]:
        assert apdu[0] == 0xDB  # what reached the link was protected
        return [b"\xdb" + answer for answer in server(apdu[1:])]

    aare = Aare(
        AssociationResult.ACCEPTED,
        user_information=b"\xdb" + InitiateResponse(SERVER_CONFORMANCE, 0xFFFF).encode(),
    ).encode()
    pair = Pair("wrapper", ClientSettings(protection=protection), aare=aare)
    pair.server = server_side  # type: ignore[assignment]
    pair.associate()
    aarq = Aarq.decode(pair.aarqs[0])
    assert aarq.application_context_name.ciphered
    assert aarq.user_information is not None and aarq.user_information[0] == 0xDB
    assert InitiateRequest.decode(aarq.user_information[1:]).proposed_conformance
    assert pair.result(pair.session.get(REGISTER)) == 123456
    assert protection.protected[-1][0] == ApduTag.GET_REQUEST
    assert protection.unprotected[-1][0] == ApduTag.GET_RESPONSE
    # a plain answer where a protected one is due is refused by the protection step
    pair.server = lambda apdu: server(apdu[1:])  # type: ignore[assignment]
    error = pair.result(pair.session.get(REGISTER))
    assert isinstance(error, LinkError) and "plain" in str(error)
    assert pair.session.dropped_apdus == 1


def test_a_protection_factory_gives_each_session_its_own() -> None:
    made: list[TaggingProtection] = []

    def factory() -> TaggingProtection:
        made.append(TaggingProtection())
        return made[-1]

    settings_ = ClientSettings(protection=factory)
    ClientSession(WrapperConnection(16, 1), settings_)
    ClientSession(WrapperConnection(16, 1), settings_)
    assert len(made) == 2 and made[0] is not made[1]


# ---------------------------------------------------------------------------------------------
# Any slicing of the byte stream gives the same events


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(LINKS),
    cuts=st.lists(st.integers(1, 40), min_size=1, max_size=30),
    size=st.integers(0, 600),
)
def test_any_slicing_gives_the_same_events(kind: str, cuts: list[int], size: int) -> None:
    def run(slicing: list[int] | None) -> list[SessionEvent]:
        pair = Pair(kind, server=ScriptedServer(block_size=64))
        pair.server.values[_key(NAME)] = OctetString(bytes(size))
        original = pair.session.receive_data

        def sliced(data: bytes, now: float) -> None:
            if slicing is None:
                original(data, now)
                return
            position, index = 0, 0
            while position < len(data):
                step = slicing[index % len(slicing)]
                original(data[position : position + step], now)
                position += step
                index += 1

        pair.session.receive_data = sliced  # type: ignore[method-assign]
        pair.session.associate(pair.now)
        events = pair.pump()
        pair.session.get(NAME)
        pair.session.get(REGISTER)
        events += pair.pump()
        pair.session.release(pair.now)
        return events + pair.pump()

    whole = run(None)
    assert [type(e) for e in whole] == [
        AssociationEstablished,
        RequestCompleted,
        RequestCompleted,
        AssociationReleased,
    ]
    assert run(cuts) == whole


def test_associate_again_after_a_release() -> None:
    made: list[TaggingProtection] = []

    def factory() -> Any:
        made.append(TaggingProtection())
        return NoProtectionForTests()

    pair = associated(client_settings=ClientSettings(protection=factory))
    pair.session.release(pair.now)
    assert pair.pump() == [AssociationReleased(None)]
    pair.associate()
    assert pair.result(pair.session.get(REGISTER)) == 123456
    assert len(made) == 2  # a fresh protection for the second association


class NoProtectionForTests:
    def protect(self, apdu: bytes) -> bytes:
        return apdu

    def unprotect(self, apdu: bytes) -> bytes:
        return apdu


def test_without_multiple_references_get_with_list_is_single_gets() -> None:
    """A meter that does not grant multiple-references gets no GET with-list at all."""
    pair = associated(conformance=SERVER_CONFORMANCE & ~Conformance.MULTIPLE_REFERENCES)
    values = pair.result(pair.session.get_with_list([REGISTER, NAME]))
    assert values[0] == 123456 and values[1] == b"ASY0000000001"
    with_list_tag = bytes((0xC0, 0x03))
    assert not any(request[:2] == with_list_tag for request in pair.server.requests)
    assert pair.session.with_list_fallbacks == 0
