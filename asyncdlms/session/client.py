"""The client role of one DLMS/COSEM association, sans-IO: :class:`ClientSession`.

A :class:`ClientSession` composes a :class:`~asyncdlms.link.Link` (HDLC or wrapper) the way
wsproto composes its layers: bytes go in through :meth:`ClientSession.receive_data` and out
through :meth:`ClientSession.data_to_send` / :meth:`ClientSession.datagrams_to_send`, time is
passed in as ``now``, and what happened comes out of :meth:`ClientSession.events` as
:mod:`asyncdlms.session.events` values. Nothing here opens a socket or sleeps.

The APDU pipeline (ARCHITECTURE.md):

- outgoing: encode → ``protection.protect`` → General Block Transfer (when in use) →
  ``link.send_apdu``;
- incoming: link APDU → GBT reassembly → ``protection.unprotect`` → decode → service logic.
  ACSE PDUs (AARE, RLRE) skip the protection step: their user-information is what is
  protected.

Ciphering (``ClientSettings.security``, a :class:`~asyncdlms.session.settings.ClientSecurity`)
gives each association a fresh :class:`~asyncdlms.security.ciphering.SecurityContext`: the
AARQ names the ciphered application context, carries our system title and a glo-initiate
(with a dedicated key when asked); the AARE's responding-AP-title becomes the peer system
title; HLS-GMAC pass 3/4 go through the context; after association the ded- forms are used
when a dedicated key was agreed. An invocation-counter-error exception-response carrying the
counter the meter expects (quirk 3) advances our counter to it and sends the AARQ or the
request again, once.

The association follows one table, :data:`ASSOCIATION_TRANSITIONS`:
``(state, input) -> (action, next state)``. Requests are served one at a time (a DLMS
association is one request at a time); later ones wait in order. Each request is a small
generator that yields the APDUs it sends and receives the answers: block transfer, with-list
chunks and their fall-back to single requests read as straight-line code.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any

from .. import axdr
from ..apdu.acse import (
    Aarq,
    ApplicationContextName,
    MechanismName,
    Rlre,
    Rlrq,
    decode_association_response,
)
from ..apdu.action import (
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
    decode_action_response,
)
from ..apdu.block_transfer import BlockReassembler, split_blocks
from ..apdu.descriptors import (
    CosemAttributeDescriptor,
    CosemAttributeDescriptorWithSelection,
    CosemMethodDescriptor,
    Data,
    DataBlockSA,
    Reader,
    SelectiveAccessDescriptor,
)
from ..apdu.enums import (
    DataAccessResult,
    InvokeIdAndPriority,
    data_access_error,
)
from ..apdu.get import (
    GetDataResult,
    GetRequestNext,
    GetRequestNormal,
    GetRequestWithList,
    GetResponseNormal,
    GetResponseWithDatablock,
    GetResponseWithList,
    chunk_attribute_list,
    decode_get_response,
    read_get_data_result,
)
from ..apdu.initiate import Conformance, InitiateRequest, InitiateResponse
from ..apdu.service_error import (
    ConfirmedServiceError,
    ExceptionResponse,
    ExceptionServiceError,
)
from ..apdu.set import (
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
from ..apdu.short_name import (
    BlockNumberAccess,
    DataBlockResult,
    ParameterizedAccess,
    ReadRequest,
    ReadResponse,
    UnconfirmedWriteRequest,
    VariableName,
    WriteRequest,
    WriteResponse,
    method_short_name,
)
from ..apdu.tags import ApduTag
from ..errors import (
    ActionError,
    AssociationError,
    AuthenticationError,
    BlockTransferError,
    DataAccessError,
    DecodeError,
    DlmsError,
    ServiceError,
    UnexpectedApduError,
)
from ..link import ApduReceived, Link, LinkClosed, LinkEstablished
from ..obis import Obis
from ..security.ciphering import CipheringForm, SecurityContext, generate_dedicated_key
from ..security.hls import Secret, client_pass3, generate_challenge, verify_server_pass4
from ..types.values import OctetString
from .events import (
    AssociationEstablished,
    AssociationReleased,
    NotificationReceived,
    RequestCompleted,
    RequestFailed,
    SessionEvent,
)
from .gbt import GeneralBlockTransferChannel
from .pipeline import ApduProtection, NoProtection, is_ciphered, protection_overhead
from .settings import ClientSettings

__all__ = [
    "ASSOCIATION_TRANSITIONS",
    "AssociationInput",
    "AssociationState",
    "ClientSession",
    "NegotiatedParameters",
]

ASSOCIATION_LN = Obis("0.0.40.0.0.255")
"""The current association (Association LN, class 15): reply_to_HLS_authentication is its
method 1."""
ASSOCIATION_SN_BASE_NAME = 0xFA00
"""Base name of the current association in SN referencing (Association SN, class 12): its
method 8 is reply_to_HLS_authentication."""

_NOTIFICATION_TAGS = frozenset(
    (
        ApduTag.DATA_NOTIFICATION,
        ApduTag.EVENT_NOTIFICATION_REQUEST,
        ApduTag.INFORMATION_REPORT_REQUEST,
    )
)
_ACSE_TAGS = frozenset((ApduTag.AARQ, ApduTag.AARE, ApduTag.RLRQ, ApduTag.RLRE))
_INVOKE_ID_TAGS = frozenset((ApduTag.GET_RESPONSE, ApduTag.SET_RESPONSE, ApduTag.ACTION_RESPONSE))
_LENGTH_GROWTH = 3
"""Bytes an A-XDR length may grow by when a block's data goes from empty to full."""


class AssociationState(enum.Enum):
    """Where the association is."""

    IDLE = "idle"
    LINK_PENDING = "link-pending"
    AARQ_SENT = "aarq-sent"
    HLS_PENDING = "hls-pending"
    ASSOCIATED = "associated"
    RELEASE_PENDING = "release-pending"
    DISCONNECTING = "disconnecting"
    CLOSED = "closed"


class AssociationInput(enum.Enum):
    """What can happen to the association."""

    ASSOCIATE = "associate"
    LINK_UP = "link-up"
    AARE_ACCEPTED = "aare-accepted"
    AARE_HLS = "aare-hls"
    AARE_REJECTED = "aare-rejected"
    PASS4_VERIFIED = "pass4-verified"
    PASS4_FAILED = "pass4-failed"
    RELEASE = "release"
    RLRE = "rlre"
    RELEASE_UNANSWERED = "release-unanswered"
    LINK_DOWN = "link-down"


_S = AssociationState
_I = AssociationInput

ASSOCIATION_TRANSITIONS: dict[
    tuple[AssociationState, AssociationInput], tuple[str, AssociationState]
] = {
    # establishing: link first, then AARQ, then (HLS) pass 3/4
    (_S.IDLE, _I.ASSOCIATE): ("connect_link", _S.LINK_PENDING),
    (_S.CLOSED, _I.ASSOCIATE): ("connect_link", _S.LINK_PENDING),
    (_S.LINK_PENDING, _I.LINK_UP): ("send_aarq", _S.AARQ_SENT),
    (_S.AARQ_SENT, _I.AARE_ACCEPTED): ("establish", _S.ASSOCIATED),
    (_S.AARQ_SENT, _I.AARE_HLS): ("send_pass3", _S.HLS_PENDING),
    (_S.AARQ_SENT, _I.AARE_REJECTED): ("fail_association", _S.DISCONNECTING),
    (_S.HLS_PENDING, _I.PASS4_VERIFIED): ("establish", _S.ASSOCIATED),
    (_S.HLS_PENDING, _I.PASS4_FAILED): ("fail_association", _S.DISCONNECTING),
    # releasing: RLRQ, then the link; without an answer (quirk 16) the link anyway
    (_S.ASSOCIATED, _I.RELEASE): ("send_rlrq", _S.RELEASE_PENDING),
    (_S.RELEASE_PENDING, _I.RLRE): ("disconnect_link", _S.DISCONNECTING),
    (_S.RELEASE_PENDING, _I.RELEASE_UNANSWERED): ("disconnect_link", _S.DISCONNECTING),
    (_S.LINK_PENDING, _I.RELEASE): ("abandon", _S.DISCONNECTING),
    (_S.AARQ_SENT, _I.RELEASE): ("abandon", _S.DISCONNECTING),
    (_S.HLS_PENDING, _I.RELEASE): ("abandon", _S.DISCONNECTING),
    (_S.IDLE, _I.RELEASE): ("nothing", _S.IDLE),
    (_S.CLOSED, _I.RELEASE): ("nothing", _S.CLOSED),
    (_S.DISCONNECTING, _I.RELEASE): ("nothing", _S.DISCONNECTING),
    (_S.RELEASE_PENDING, _I.RELEASE): ("nothing", _S.RELEASE_PENDING),
    # the link went down
    (_S.DISCONNECTING, _I.LINK_DOWN): ("closed", _S.CLOSED),
    (_S.LINK_PENDING, _I.LINK_DOWN): ("link_lost", _S.CLOSED),
    (_S.AARQ_SENT, _I.LINK_DOWN): ("link_lost", _S.CLOSED),
    (_S.HLS_PENDING, _I.LINK_DOWN): ("link_lost", _S.CLOSED),
    (_S.ASSOCIATED, _I.LINK_DOWN): ("link_lost", _S.CLOSED),
    (_S.RELEASE_PENDING, _I.LINK_DOWN): ("closed", _S.CLOSED),
}
"""The association state machine, in one table: ``(state, input) -> (action, next state)``.
An input missing from the table for the current state is ignored (and counted in
``ClientSession.ignored_inputs``)."""


@dataclass(frozen=True, slots=True)
class NegotiatedParameters:
    """What the AARE's InitiateResponse granted.

    ``max_pdu_size_tx`` is the largest APDU the server accepts (its max receive PDU size,
    0 = unlimited, quirk 19); ``max_pdu_size_rx`` the largest we accept (ours).
    """

    conformance: Conformance
    max_pdu_size_tx: int
    max_pdu_size_rx: int
    dlms_version: int
    vaa_name: int
    server_system_title: bytes | None = None


@dataclass(frozen=True, slots=True)
class _Send:
    """What a request generator yields: an APDU to send and the invoke-id its answer must
    carry (``None``: no invoke-id to check, SN services)."""

    apdu: bytes
    invoke_id: int | None


_Transaction = Generator[_Send, bytes, Any]


class _Request:
    __slots__ = (
        "cancelled",
        "cancelled_at",
        "counter_retried",
        "internal",
        "invoke_id",
        "last_apdu",
        "request_id",
        "started",
        "transaction",
    )

    def __init__(self, request_id: int, transaction: _Transaction, internal: bool = False) -> None:
        self.request_id = request_id
        self.transaction = transaction
        self.internal = internal
        self.invoke_id: int | None = None
        self.cancelled = False
        self.cancelled_at: float | None = None
        self.started = False
        self.last_apdu = b""
        self.counter_retried = False


class _FallBack(DlmsError):
    """A with-list answer that cannot be used: retry the chunk as single requests."""


def _decode_response(apdu: bytes, tag: ApduTag, decoder: Any) -> Any:
    """Decode the answer to a request: an exception-response or confirmed-service-error
    raises its :class:`ServiceError`, another tag :class:`UnexpectedApduError`."""
    if not apdu:
        raise UnexpectedApduError("an empty APDU answered the request")
    if apdu[0] == ApduTag.EXCEPTION_RESPONSE:
        raise ExceptionResponse.decode(apdu).to_exception()
    if apdu[0] == ApduTag.CONFIRMED_SERVICE_ERROR:
        raise ConfirmedServiceError.decode(apdu).to_exception()
    if apdu[0] != tag:
        raise UnexpectedApduError(
            f"expected {tag.name.lower().replace('_', '-')} (0x{int(tag):02x}), "
            f"got an APDU with tag 0x{apdu[0]:02x}"
        )
    return decoder(apdu)


def _falls_back(error: DlmsError) -> bool:
    """Behaviour 10: a with-list chunk that fails like this is retried as single GETs."""
    if isinstance(error, (DecodeError, _FallBack, UnexpectedApduError)):
        return True
    if isinstance(error, DataAccessError):
        return error.result == DataAccessResult.SCOPE_OF_ACCESS_VIOLATED
    if isinstance(error, ServiceError):
        pdu = error.error
        if isinstance(pdu, ExceptionResponse):
            return pdu.service_error not in (
                ExceptionServiceError.DECIPHERING_ERROR,
                ExceptionServiceError.INVOCATION_COUNTER_ERROR,
            )
        return True
    return False


def _check_set_result(result: DataAccessResult) -> None:
    if result != DataAccessResult.SUCCESS:
        raise data_access_error(result)


def _set_result_or_error(result: DataAccessResult) -> DataAccessError | None:
    return None if result == DataAccessResult.SUCCESS else data_access_error(result)


def _get_result_or_error(result: GetDataResult) -> Any:
    if isinstance(result, DataAccessResult):
        return data_access_error(result)
    return result.value


def _action_value(raw: bytes) -> Any:
    """The return parameters of a long ACTION answer, reassembled from pblocks: the encoded
    Data; also read as an encoded Action-Response-With-Optional-Data (result first)."""
    try:
        return Data.from_raw(raw).value
    except DecodeError:
        reader = Reader(raw)
        response = ActionResponseWithOptionalData.read(reader)
        reader.finish("action-response-with-pblock raw-data")
        return response.value


def _read_blocks_value(raw: bytes) -> Any:
    """The value of an SN read answered in data-block-results: the raw-data joined is the
    encoded list of Read-Results (count, then CHOICE data [0] / data-access-error [1]), as
    gurux-dlms and our server send it; a bare encoded Data is accepted too."""
    try:
        reader = Reader(raw)
        count = reader.count("read-response result", 2)
        if count != 1:
            raise DecodeError(f"{count} results in the blocks of one read")
        pos = reader.pos
        choice = reader.u8("the Read-Result CHOICE tag")
        if choice == 0:
            data = reader.value()
            reader.finish("read-response blocks")
            return data.value
        if choice == 1:
            result = DataAccessResult.decode_value(reader.u8("data-access-error"), reader.pos)
            reader.finish("read-response blocks")
            raise data_access_error(result)
        raise DecodeError(f"Read-Result CHOICE {choice} inside blocks", pos)
    except DecodeError:
        return Data.from_raw(raw).value


def _read_results(raw: bytes) -> tuple[Data | DataAccessResult, ...]:
    """The Read-Results of an SN read of several variables answered in data-block-results:
    the raw-data joined is the count, then CHOICE data [0] / data-access-error [1] each."""
    reader = Reader(raw)
    count = reader.count("read-response result", 2)
    results: list[Data | DataAccessResult] = []
    for _ in range(count):
        pos = reader.pos
        choice = reader.u8("the Read-Result CHOICE tag")
        if choice == 0:
            results.append(reader.value())
        elif choice == 1:
            results.append(
                DataAccessResult.decode_value(reader.u8("data-access-error"), reader.pos)
            )
        else:
            raise DecodeError(f"Read-Result CHOICE {choice} inside blocks", pos)
    reader.finish("read-response blocks")
    return tuple(results)


class ClientSession:
    """One association in the client role over ``link``.

    Call :meth:`associate`, then make requests (each returns a request id; the answer comes
    as :class:`RequestCompleted` or :class:`RequestFailed` with that id), then
    :meth:`release`. Feed received bytes to :meth:`receive_data`, write what
    :meth:`data_to_send` (or :meth:`datagrams_to_send`) returns, call :meth:`handle_timer`
    at :meth:`next_deadline`.

    Results: GET gives the decoded value; GET/SET/ACTION with-list give one entry per item
    (a value, ``None`` for a successful SET, or the :class:`DataAccessError` /
    :class:`ActionError` of that item); SET gives ``None``; ACTION the returned value or
    ``None``.

    Counters: ``late_responses`` (answers to cancelled requests, swallowed),
    ``invoke_id_mismatches`` (answers with another invoke-id than the request's and not
    one of a cancelled request: taken as the answer unless ``strict_invoke_id``),
    ``duplicate_responses`` (byte-exact repeats of the previous request's answer, dropped),
    ``unexpected_apdus`` (APDUs when nothing was asked, dropped), ``dropped_apdus``
    (undecodable or oversized, dropped), ``with_list_fallbacks`` (with-list chunks retried
    as single GETs), ``ignored_inputs`` (association inputs the table does not expect).
    """

    def __init__(self, link: Link, settings: ClientSettings | None = None) -> None:
        self.link = link
        self.settings = settings if settings is not None else ClientSettings()
        self.state = AssociationState.IDLE
        self.negotiated: NegotiatedParameters | None = None
        self.late_responses = 0
        self.invoke_id_mismatches = 0
        self.unexpected_apdus = 0
        self.dropped_apdus = 0
        self.with_list_fallbacks = 0
        self.ignored_inputs = 0
        self.invocation_counter_retries = 0
        self._protection: ApduProtection = NoProtection()
        self._context: SecurityContext | None = None
        self._dedicated_key: Secret | None = None
        self._aarq_retried = False
        self._new_protection()
        self._gbt = GeneralBlockTransferChannel(
            self.settings.gbt_window_size, self.settings.max_response_length
        )
        self._events: list[SessionEvent] = []
        self._queue: deque[_Request] = deque()
        self._in_flight: _Request | None = None
        self._next_request_id = 1
        self._next_invoke_id = self.settings.invoke_id
        self._cancelled_invoke_ids: deque[int] = deque(maxlen=4)
        self._last_answer: tuple[int, bytes] | None = None
        self.duplicate_responses = 0
        self._now = 0.0
        self._release_deadline: float | None = None
        self._release_wanted = False
        self._released_reported = False
        self._client_challenge = b""
        self._server_challenge = b""
        self._server_system_title: bytes | None = None
        self._gbt_deadline: float | None = None
        self._gbt_retries = 0
        self._associations = 0

    # -- the association table -------------------------------------------------------------

    def _handle(self, event: AssociationInput, error: DlmsError | None = None) -> None:
        transition = ASSOCIATION_TRANSITIONS.get((self.state, event))
        if transition is None:
            self.ignored_inputs += 1
            return
        action, next_state = transition
        self.state = next_state
        getattr(self, f"_do_{action}")(error)

    def _do_nothing(self, error: DlmsError | None) -> None:
        pass

    def _do_connect_link(self, error: DlmsError | None) -> None:
        self._released_reported = False
        self._release_wanted = False
        self.negotiated = None
        if self._associations:
            self._new_protection()  # fresh for a new association
        self._aarq_retried = False
        self._associations += 1
        self._gbt = GeneralBlockTransferChannel(
            self.settings.gbt_window_size, self.settings.max_response_length
        )
        self.link.connect(self._now)
        self._pump()

    def _new_protection(self) -> None:
        """The protection of a new association: with ``settings.security`` a fresh security
        context (kept for HLS-GMAC even when APDUs go plain)."""
        protection = self.settings.make_protection()
        self._context = protection if isinstance(protection, SecurityContext) else None
        security = self.settings.security
        if security is not None and not security.ciphered:
            protection = NoProtection()
        self._protection = protection
        self._dedicated_key = None

    @property
    def security_context(self) -> SecurityContext | None:
        """The security context of the current association (None without ciphering keys)."""
        return self._context

    def _do_send_aarq(self, error: DlmsError | None) -> None:
        settings = self.settings
        mechanism = settings.mechanism
        value: bytes | None = None
        if mechanism == MechanismName.LOW:
            assert settings.secret is not None
            value = settings.secret.value
        elif mechanism.high_level:
            self._client_challenge = generate_challenge(settings.challenge_length, settings.random)
            value = self._client_challenge
        dedicated_key: Secret | None = None
        security = settings.security
        if security is not None and security.ciphered and security.use_dedicated_key:
            dedicated_key = generate_dedicated_key(settings.random)
        self._dedicated_key = dedicated_key
        initiate = InitiateRequest(
            settings.conformance,
            settings.client_max_receive_pdu_size,
            settings.dlms_version,
            dedicated_key=None if dedicated_key is None else dedicated_key.value,
        )
        try:
            user_information = self._protection.protect(initiate.encode())
        except DlmsError as exc:  # e.g. the invocation counters are exhausted
            self._handle(AssociationInput.AARE_REJECTED, exc)
            return
        calling_ap_title = settings.calling_ap_title
        if calling_ap_title is None and self._context is not None:
            calling_ap_title = self._context.system_title
        aarq = Aarq(
            application_context_name=self._context_name(),
            user_information=user_information,
            sender_acse_requirements=mechanism != MechanismName.LOWEST,
            mechanism_name=None if mechanism == MechanismName.LOWEST else mechanism,
            calling_authentication_value=value,
            calling_ap_title=calling_ap_title,
        )
        self._send_plain(aarq.encode())

    def _do_establish(self, error: DlmsError | None) -> None:
        negotiated = self.negotiated
        assert negotiated is not None
        if self._context is not None and self._dedicated_key is not None:
            self._context.use_form(CipheringForm.DEDICATED)
        self._events.append(
            AssociationEstablished(
                negotiated_conformance=negotiated.conformance,
                max_pdu_size_tx=negotiated.max_pdu_size_tx,
                max_pdu_size_rx=negotiated.max_pdu_size_rx,
                dlms_version=negotiated.dlms_version,
                logical_name_referencing=self.settings.logical_name_referencing,
                mechanism=self.settings.mechanism,
            )
        )
        self._start_next()

    def _do_send_pass3(self, error: DlmsError | None) -> None:
        request = _Request(0, self._pass3_transaction(), internal=True)
        self._in_flight = request
        self._advance(request, None)

    def _do_fail_association(self, error: DlmsError | None) -> None:
        failure = error if error is not None else AssociationError("association failed")
        self._report_released(failure)
        self._fail_all(failure)
        self.link.disconnect(self._now)
        self._pump()

    def _do_abandon(self, error: DlmsError | None) -> None:
        failure = AssociationError("the association was released before it was established")
        self._report_released(None)
        self._fail_all(failure)
        self.link.disconnect(self._now)
        self._pump()

    def _do_send_rlrq(self, error: DlmsError | None) -> None:
        self._release_deadline = self._now + self.settings.release_timeout
        self._forget_dedicated_key()
        self._send_plain(Rlrq().encode())

    def _forget_dedicated_key(self) -> None:
        """The dedicated key lives for one association only."""
        self._dedicated_key = None
        if self._context is not None and self._context.has_dedicated_key:
            self._context.set_dedicated_key(None)
            self._context.use_form(CipheringForm.GLOBAL)

    def _do_disconnect_link(self, error: DlmsError | None) -> None:
        self._release_deadline = None
        self.link.disconnect(self._now)
        self._pump()

    def _do_closed(self, error: DlmsError | None) -> None:
        self._release_deadline = None
        self._report_released(error)
        self._fail_all(error or AssociationError("the association was released"))

    def _do_link_lost(self, error: DlmsError | None) -> None:
        failure = error if error is not None else AssociationError("the link was closed")
        self._release_deadline = None
        self._fail_all(failure)
        self._report_released(failure)

    def _report_released(self, error: DlmsError | None) -> None:
        self._forget_dedicated_key()
        if not self._released_reported:
            self._released_reported = True
            self._events.append(AssociationReleased(error))

    def _fail_all(self, error: DlmsError) -> None:
        request = self._in_flight
        self._in_flight = None
        if request is not None:
            request.transaction.close()
            if not request.internal and not request.cancelled:
                self._events.append(RequestFailed(request.request_id, error))
        while self._queue:
            queued = self._queue.popleft()
            queued.transaction.close()
            self._events.append(RequestFailed(queued.request_id, error))
        self._gbt.reset()

    def _context_name(self) -> ApplicationContextName:
        ciphered = is_ciphered(self._protection)
        if self.settings.logical_name_referencing:
            if ciphered:
                return ApplicationContextName.LOGICAL_NAME_WITH_CIPHERING
            return ApplicationContextName.LOGICAL_NAME
        if ciphered:
            return ApplicationContextName.SHORT_NAME_WITH_CIPHERING
        return ApplicationContextName.SHORT_NAME

    # -- public API: association -----------------------------------------------------------

    def associate(self, now: float) -> None:
        """Connect the link, then send the AARQ as soon as the link is up (then HLS pass 3
        when the mechanism needs it). :class:`AssociationEstablished` says when it is done,
        :class:`AssociationReleased` with an error when it failed."""
        self._now = now
        self._handle(AssociationInput.ASSOCIATE)

    def release(self, now: float) -> None:
        """Release the association: RLRQ (after the request in flight, if any; queued
        requests fail), then disconnect the link. A meter that does not answer the RLRQ
        within ``release_timeout`` or answers it with an error (quirk 16) is disconnected
        anyway."""
        self._now = now
        if self.state is AssociationState.ASSOCIATED:
            self._release_wanted = True
            error = AssociationError("the association was released before the request was sent")
            while self._queue:
                queued = self._queue.popleft()
                queued.transaction.close()
                self._events.append(RequestFailed(queued.request_id, error))
            if self._in_flight is None:
                self._handle(AssociationInput.RELEASE)
            return
        self._handle(AssociationInput.RELEASE)

    @property
    def associated(self) -> bool:
        """True while requests can be served."""
        return self.state is AssociationState.ASSOCIATED

    # -- public API: requests --------------------------------------------------------------

    def get(
        self,
        descriptor: CosemAttributeDescriptor,
        selective_access: SelectiveAccessDescriptor | None = None,
        *,
        now: float | None = None,
    ) -> int:
        """GET one attribute (block transfer as the server needs); returns the request id."""
        return self._submit(self._get_transaction(descriptor, selective_access), now)

    def get_with_list(
        self,
        items: Sequence[CosemAttributeDescriptor | CosemAttributeDescriptorWithSelection],
        *,
        now: float | None = None,
    ) -> int:
        """GET several attributes, in chunks of ``with_list_chunk_size``; a chunk the meter
        refuses is retried as single GETs (behaviour 10). The result has one entry per item:
        its value or its :class:`DataAccessError`."""
        return self._submit(self._get_list_transaction(items), now)

    def set(
        self,
        descriptor: CosemAttributeDescriptor,
        value: Any,
        selective_access: SelectiveAccessDescriptor | None = None,
        *,
        now: float | None = None,
    ) -> int:
        """SET one attribute (datablocks when the request exceeds the server's max PDU)."""
        return self._submit(self._set_transaction(descriptor, value, selective_access), now)

    def set_with_list(
        self,
        items: Sequence[
            tuple[CosemAttributeDescriptor | CosemAttributeDescriptorWithSelection, Any]
        ],
        *,
        now: float | None = None,
    ) -> int:
        """SET several attributes in one request; the result has one entry per item:
        ``None`` or its :class:`DataAccessError`."""
        return self._submit(self._set_list_transaction(items), now)

    def action(
        self,
        method_descriptor: CosemMethodDescriptor,
        parameters: Any = None,
        *,
        now: float | None = None,
    ) -> int:
        """ACTION (invoke a method); pblocks for long parameters and long results."""
        return self._submit(self._action_transaction(method_descriptor, parameters), now)

    def action_with_list(
        self,
        items: Sequence[tuple[CosemMethodDescriptor, Any]],
        *,
        now: float | None = None,
    ) -> int:
        """ACTION with-list; the result has one entry per item: its value (``None`` when it
        returned nothing) or its :class:`ActionError`."""
        return self._submit(self._action_list_transaction(items), now)

    def read(
        self,
        short_name: int,
        *,
        selector: int | None = None,
        parameter: Any = None,
        now: float | None = None,
    ) -> int:
        """SN ReadRequest of one variable (with parameterized access when ``selector`` is
        given: selective access, or a method that returns data)."""
        spec: VariableName | ParameterizedAccess
        if selector is None:
            spec = VariableName(short_name)
        else:
            spec = ParameterizedAccess(short_name, selector, Data.of(parameter))
        return self._submit(self._read_transaction(spec), now)

    def read_list(
        self,
        items: Sequence[VariableName | ParameterizedAccess],
        *,
        now: float | None = None,
    ) -> int:
        """SN ReadRequest of several variables (multiple-references), in chunks of
        ``with_list_chunk_size``; a chunk the meter refuses is read again one variable at a
        time (as GET with-list, behaviour 10). The result has one entry per item: its value or
        its :class:`DataAccessError`."""
        return self._submit(self._read_list_transaction(tuple(items)), now)

    def write(self, short_name: int, value: Any, *, now: float | None = None) -> int:
        """SN WriteRequest of one variable."""
        return self._submit(self._write_transaction(short_name, value), now)

    def unconfirmed_write(self, short_name: int, value: Any, *, now: float | None = None) -> int:
        """SN UnconfirmedWriteRequest: sent, completed at once (no answer comes)."""
        return self._submit(self._unconfirmed_write_transaction(short_name, value), now)

    def cancel(self, request_id: int, *, now: float | None = None) -> bool:
        """Cancel a request: a queued one is dropped; the one in flight is marked so that its
        late answer is swallowed (counted in ``late_responses``), never given to the next
        request, which goes out once that answer came or after ``late_response_timeout``.
        No event is emitted for a cancelled request. Returns whether it was found."""
        if now is not None:
            self._now = now
        for queued in self._queue:
            if queued.request_id == request_id:
                self._queue.remove(queued)
                queued.transaction.close()
                return True
        request = self._in_flight
        if request is not None and request.request_id == request_id and not request.internal:
            if request.cancelled:
                return True
            request.cancelled = True
            request.cancelled_at = self._now
            request.transaction.close()
            if request.invoke_id is not None:
                self._cancelled_invoke_ids.append(request.invoke_id)
            return True
        return False

    @property
    def pending_requests(self) -> int:
        """Requests queued or in flight (a cancelled one in flight included)."""
        return len(self._queue) + (0 if self._in_flight is None else 1)

    # -- public API: IO --------------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> None:
        """Feed bytes received from the transport, in any slicing."""
        self._now = now
        self.link.receive_data(data, now)
        self._pump()

    def data_to_send(self) -> bytes:
        """Return (and forget) the bytes the transport must write now."""
        return self.link.data_to_send()

    def datagrams_to_send(self) -> list[bytes]:
        """Return (and forget) what to write, one element per frame or datagram."""
        return self.link.datagrams_to_send()

    def events(self) -> list[SessionEvent]:
        """Return (and forget) the events since the last call."""
        events, self._events = self._events, []
        return events

    def next_deadline(self) -> float | None:
        """When :meth:`handle_timer` must be called next (link timers included)."""
        deadlines = [
            d
            for d in (self.link.next_deadline(), self._release_deadline, self._gbt_deadline)
            if d is not None
        ]
        request = self._in_flight
        if request is not None and request.cancelled and request.cancelled_at is not None:
            deadlines.append(request.cancelled_at + self.settings.late_response_timeout)
        return min(deadlines) if deadlines else None

    def handle_timer(self, now: float) -> None:
        """Let the timers that expired by ``now`` act (link retransmissions, release timeout,
        the wait for a cancelled request's late answer)."""
        self._now = now
        self.link.handle_timer(now)
        self._pump()
        if self._gbt_deadline is not None and now >= self._gbt_deadline:
            self._gbt_timer_expired()
        if self._release_deadline is not None and now >= self._release_deadline:
            self._release_deadline = None
            self._handle(AssociationInput.RELEASE_UNANSWERED)
        request = self._in_flight
        if (
            request is not None
            and request.cancelled
            and request.cancelled_at is not None
            and now >= request.cancelled_at + self.settings.late_response_timeout
        ):
            self._in_flight = None
            self._gbt.reset()
            self._after_request()

    # -- plumbing --------------------------------------------------------------------------

    def _submit(self, transaction: _Transaction, now: float | None) -> int:
        if now is not None:
            self._now = now
        request_id = self._next_request_id
        self._next_request_id += 1
        request = _Request(request_id, transaction)
        if self._release_wanted or self.state in (
            AssociationState.IDLE,
            AssociationState.CLOSED,
            AssociationState.DISCONNECTING,
            AssociationState.RELEASE_PENDING,
        ):
            transaction.close()
            self._events.append(
                RequestFailed(request_id, AssociationError("no association: associate first"))
            )
            return request_id
        self._queue.append(request)
        self._start_next()
        return request_id

    def _start_next(self) -> None:
        while self._in_flight is None and self._queue and self.state is AssociationState.ASSOCIATED:
            request = self._queue.popleft()
            self._in_flight = request
            self._advance(request, None)

    def _after_request(self) -> None:
        if self._release_wanted and self._in_flight is None:
            self._release_wanted = False
            self._handle(AssociationInput.RELEASE)
            return
        self._start_next()

    def _advance(self, request: _Request, answer: bytes | None) -> None:
        try:
            out = (
                request.transaction.send(answer)
                if answer is not None
                else next(request.transaction)
            )
        except StopIteration as stop:
            self._finish(request, stop.value, None)
            return
        except DlmsError as exc:
            self._finish(request, None, exc)
            return
        request.invoke_id = out.invoke_id
        request.started = True
        request.last_apdu = out.apdu
        if not out.apdu:  # an unconfirmed service: nothing to wait for
            self._advance(request, b"")
            return
        self._send_service(out.apdu)

    def _finish(self, request: _Request, result: Any, error: DlmsError | None) -> None:
        if self._in_flight is request:
            self._in_flight = None
        if request.internal:
            self._on_pass3_done(result, error)
            return
        if error is None:
            self._events.append(RequestCompleted(request.request_id, result))
        else:
            self._events.append(RequestFailed(request.request_id, error))
        self._after_request()

    def _invoke(self) -> tuple[int, InvokeIdAndPriority]:
        invoke_id = self._next_invoke_id
        self._next_invoke_id = (invoke_id + 1) % 16
        while (
            self._next_invoke_id in self._cancelled_invoke_ids
            and len(self._cancelled_invoke_ids) < 15
        ):
            self._next_invoke_id = (self._next_invoke_id + 1) % 16
        return invoke_id, InvokeIdAndPriority(
            invoke_id, self.settings.confirmed, self.settings.high_priority
        )

    @property
    def _max_pdu_tx(self) -> int:
        return 0 if self.negotiated is None else self.negotiated.max_pdu_size_tx

    def _fits(self, apdu: bytes) -> bool:
        """Whether ``apdu`` goes in one APDU (GBT, when negotiated, splits anything)."""
        if self._gbt.enabled:
            return True
        limit = self._max_pdu_tx
        overhead = protection_overhead(self._protection)
        return limit == 0 or len(apdu) + overhead <= limit

    def _block_size(self, header: int) -> int:
        limit = self._max_pdu_tx
        overhead = protection_overhead(self._protection)
        return max(1, limit - header - _LENGTH_GROWTH - overhead)

    def _link_send(self, apdu: bytes) -> None:
        """Hand one APDU to the link; a link that refuses (it went down and its LinkClosed
        is not processed yet) ends the association instead of raising into the caller."""
        try:
            self.link.send_apdu(apdu, self._now)
        except DlmsError as exc:
            self._handle(AssociationInput.LINK_DOWN, exc)

    def _send_plain(self, apdu: bytes) -> None:
        """ACSE PDUs: straight to the link."""
        self._link_send(apdu)
        self._pump()

    def _send_service(self, apdu: bytes) -> None:
        try:
            protected = self._protection.protect(apdu)
        except DlmsError as exc:  # e.g. the invocation counters are exhausted
            self._fail_in_flight(exc)
            return
        for piece in self._gbt.send(protected, self._max_pdu_tx):
            self._link_send(piece)
        self._arm_gbt_timer(progress=True)
        self._pump()

    def _arm_gbt_timer(self, progress: bool) -> None:
        """Watch a GBT transfer in progress (``gbt_timeout``); ``progress`` resets the
        retry count."""
        timeout = self.settings.gbt_timeout
        if timeout is None or not (self._gbt.receiving or self._gbt.sending):
            self._gbt_deadline = None
            self._gbt_retries = 0
            return
        if progress:
            self._gbt_retries = 0
        self._gbt_deadline = self._now + timeout

    def _gbt_timer_expired(self) -> None:
        self._gbt_retries += 1
        if self._gbt_retries > self.settings.gbt_retries:
            self._gbt_deadline = None
            self._gbt_retries = 0
            self._fail_in_flight(
                BlockTransferError(
                    f"general-block-transfer: the peer stayed silent after "
                    f"{self.settings.gbt_retries} retries"
                )
            )
            return
        pieces = self._gbt.ask_again() if self._gbt.receiving else self._gbt.send_again()
        for piece in pieces:
            self._link_send(piece)
        self._arm_gbt_timer(progress=False)
        self._pump()

    def _pump(self) -> None:
        """Act on what the link reported."""
        for event in self.link.events():
            if isinstance(event, LinkEstablished):
                self._handle(AssociationInput.LINK_UP)
            elif isinstance(event, ApduReceived):
                if event.unsolicited:
                    self._notification(event.apdu, event.source, event.destination)
                else:
                    self._on_link_apdu(event.apdu, event.source, event.destination)
            elif isinstance(event, LinkClosed):
                self._handle(AssociationInput.LINK_DOWN, event.error)

    def _notification(self, apdu: bytes, source: int | None, destination: int | None) -> None:
        from ..apdu import decode_apdu

        try:
            plain = apdu
            if apdu and apdu[0] not in _NOTIFICATION_TAGS:
                plain = self._protection.unprotect(apdu)
            notification = decode_apdu(plain)
        except DlmsError:
            self.dropped_apdus += 1
            return
        self._events.append(NotificationReceived(notification, source, destination))

    def _on_link_apdu(self, apdu: bytes, source: int | None, destination: int | None) -> None:
        limit = self.settings.client_max_receive_pdu_size
        if limit and len(apdu) > limit + self.settings.pdu_size_margin:
            self.dropped_apdus += 1
            self._fail_in_flight(
                DecodeError(
                    f"an APDU of {len(apdu)} bytes exceeds our max receive PDU size {limit}"
                )
            )
            return
        try:
            received = self._gbt.receive(apdu)
        except BlockTransferError as exc:
            self._fail_in_flight(exc)
            return
        for piece in received.to_send:
            self._link_send(piece)
        self._arm_gbt_timer(progress=True)
        if received.apdu is None:
            return
        apdu = received.apdu
        if apdu and apdu[0] in _NOTIFICATION_TAGS:
            self._notification(apdu, source, destination)
            return
        if apdu and apdu[0] not in _ACSE_TAGS:
            try:
                apdu = self._protection.unprotect(apdu)
            except DlmsError as exc:
                self.dropped_apdus += 1
                self._fail_in_flight(exc)
                return
            if apdu and apdu[0] in _NOTIFICATION_TAGS:
                self._notification(apdu, source, destination)
                return
        state = self.state
        if state is AssociationState.AARQ_SENT:
            self._on_association_response(apdu)
        elif state is AssociationState.RELEASE_PENDING:
            self._on_release_response(apdu)
        elif state in (AssociationState.ASSOCIATED, AssociationState.HLS_PENDING):
            self._on_response(apdu)
        else:
            self.unexpected_apdus += 1

    def _fail_in_flight(self, error: DlmsError) -> None:
        request = self._in_flight
        if request is None:
            return
        request.transaction.close()
        self._gbt.reset()
        if request.cancelled:
            self._in_flight = None
            self._after_request()
            return
        self._finish(request, None, error)

    def _on_response(self, apdu: bytes) -> None:
        request = self._in_flight
        invoke = apdu[2] & 0x0F if len(apdu) > 2 and apdu[0] in _INVOKE_ID_TAGS else None
        if request is None:
            if invoke is not None and invoke in self._cancelled_invoke_ids:
                self.late_responses += 1
            else:
                self.unexpected_apdus += 1
            return
        if request.cancelled:
            self.late_responses += 1
            self._in_flight = None
            self._gbt.reset()
            self._after_request()
            return
        if invoke is not None and request.invoke_id is not None and invoke != request.invoke_id:
            if invoke in self._cancelled_invoke_ids:
                self.late_responses += 1
                return
            if self._last_answer == (invoke, apdu):
                # a byte-exact repeat of the previous request's answer (a duplicated
                # datagram): never the answer to this request
                self.duplicate_responses += 1
                return
            self.invoke_id_mismatches += 1
            if self.settings.strict_invoke_id:
                return
            # Not the late answer of a cancelled request, not a repeat of the previous
            # answer, and only one request is in flight: it is this request's answer from a
            # meter that does not echo the invoke-id (servers built on gurux-dlms answer
            # errors with invoke-id 1).
        if request.invoke_id is not None:
            self._last_answer = (request.invoke_id, apdu)
        if self._retry_after_counter_error(request, apdu):
            return
        self._advance(request, apdu)

    def _expected_counter(self, apdu: bytes) -> int | None:
        """The counter an invocation-counter-error exception-response expects (quirk 3), when
        it carries one and we cipher; None otherwise."""
        if self._context is None or not apdu or apdu[0] != ApduTag.EXCEPTION_RESPONSE:
            return None
        try:
            pdu = ExceptionResponse.decode(apdu)
        except DecodeError:
            return None
        if pdu.service_error != ExceptionServiceError.INVOCATION_COUNTER_ERROR:
            return None
        return pdu.invocation_counter

    def _retry_after_counter_error(self, request: _Request, apdu: bytes) -> bool:
        """Quirk 3 / behaviour 5: an invocation-counter-error carrying the counter the meter
        expects: continue from it (never lower) and send the request again, once."""
        if request.counter_retried or not request.last_apdu:
            return False
        expected = self._expected_counter(apdu)
        if expected is None or self._context is None:
            return False
        request.counter_retried = True
        self.invocation_counter_retries += 1
        self._context.advance_invocation_counter(expected)
        self._send_service(request.last_apdu)
        return True

    # -- association responses -------------------------------------------------------------

    def _on_association_response(self, apdu: bytes) -> None:
        expected = self._expected_counter(apdu)
        if expected is not None and not self._aarq_retried and self._context is not None:
            # quirk 3: the meter wants a higher counter; continue from it and ask again, once
            self._aarq_retried = True
            self.invocation_counter_retries += 1
            self._context.advance_invocation_counter(expected)
            self._do_send_aarq(None)
            return
        try:
            aare = decode_association_response(apdu)
            self._server_system_title = aare.responding_ap_title
            if self._context is not None and aare.responding_ap_title:
                try:
                    self._context.peer_system_title = aare.responding_ap_title
                except DlmsError as exc:
                    raise AssociationError(
                        f"the AARE responding-AP-title is no system title: {exc}"
                    ) from exc
            if aare.user_information is None:
                raise AssociationError(
                    "the AARE accepts the association but has no InitiateResponse"
                )
            information = self._protection.unprotect(aare.user_information)
            if information and information[0] == ApduTag.CONFIRMED_SERVICE_ERROR:
                raise AssociationError(
                    f"the meter refused the InitiateRequest: "
                    f"{ConfirmedServiceError.decode(information).describe()}"
                )
            initiate = InitiateResponse.decode(information)
            if self._context is not None and self._dedicated_key is not None:
                self._context.set_dedicated_key(self._dedicated_key)
        except AssociationError as exc:
            self._handle(AssociationInput.AARE_REJECTED, exc)
            return
        except DecodeError as exc:
            failure = AssociationError(f"the answer to the AARQ cannot be read: {exc}")
            failure.__cause__ = exc
            self._handle(AssociationInput.AARE_REJECTED, failure)
            return
        except DlmsError as exc:  # the protection step's own errors keep their type
            self._handle(AssociationInput.AARE_REJECTED, exc)
            return
        conformance = initiate.negotiated_conformance
        self.negotiated = NegotiatedParameters(
            conformance=conformance,
            max_pdu_size_tx=initiate.server_max_receive_pdu_size,
            max_pdu_size_rx=self.settings.client_max_receive_pdu_size,
            dlms_version=initiate.negotiated_dlms_version_number,
            vaa_name=initiate.vaa_name,
            server_system_title=aare.responding_ap_title,
        )
        self._gbt.enabled = bool(
            self.settings.use_general_block_transfer
            and conformance & Conformance.GENERAL_BLOCK_TRANSFER
        )
        if self.settings.mechanism.high_level and aare.hls_pending:
            self._server_challenge = aare.responding_authentication_value or b""
            self._handle(AssociationInput.AARE_HLS)
        elif self.settings.mechanism.high_level and self.settings.mechanism != MechanismName.HIGH:
            self._handle(
                AssociationInput.AARE_REJECTED,
                AuthenticationError(
                    "the meter accepted an HLS association without a challenge "
                    "(responding-authentication-value): HLS pass 3/4 cannot be done"
                ),
            )
        else:
            self._handle(AssociationInput.AARE_ACCEPTED)

    def _on_release_response(self, apdu: bytes) -> None:
        if apdu and apdu[0] == ApduTag.RLRE:
            try:
                Rlre.decode(apdu)
            except DecodeError:
                self.dropped_apdus += 1
        self._handle(AssociationInput.RLRE)

    def _pass3_transaction(self) -> _Transaction:
        settings = self.settings
        if settings.mechanism == MechanismName.HIGH_GMAC:
            return (yield from self._gmac_pass3_transaction())
        secret = settings.secret if settings.secret is not None else Secret(b"")
        client_title = settings.calling_ap_title or b""
        server_title = self._server_system_title or b""
        reply = client_pass3(
            settings.mechanism,
            secret,
            server_challenge=self._server_challenge,
            client_challenge=self._client_challenge,
            client_system_title=client_title,
            server_system_title=server_title,
            manufacturer_function=settings.manufacturer_hls_function,
        )
        answer = yield from self._reply_to_hls(reply)
        verify_server_pass4(
            settings.mechanism,
            secret,
            answer,
            client_challenge=self._client_challenge,
            server_challenge=self._server_challenge,
            client_system_title=client_title,
            server_system_title=server_title,
            manufacturer_function=settings.manufacturer_hls_function,
        )
        return None

    def _reply_to_hls(self, reply: bytes) -> _Transaction:
        """reply_to_HLS_authentication with ``reply``; returns the octet-string answer."""
        if self.settings.logical_name_referencing:
            method = CosemMethodDescriptor(15, ASSOCIATION_LN, 1)
            answer = yield from self._action_transaction(method, OctetString(reply))
        else:
            name = method_short_name(ASSOCIATION_SN_BASE_NAME, 12, 8)
            answer = yield from self._read_transaction(
                ParameterizedAccess(name, 0, Data.of(OctetString(reply)))
            )
        if not isinstance(answer, bytes):
            raise AuthenticationError(
                "HLS pass 4: the meter answered reply_to_HLS_authentication without an octet-string"
            )
        return bytes(answer)

    def _gmac_pass3_transaction(self) -> _Transaction:
        """HLS-GMAC (mechanism 5): pass 3 is ``SC ‖ IC ‖ GMAC(StoC)`` with our system title
        and the next counter (n; the ciphered ACTION carrying it gets n + 1, as gurux-dlms
        does), pass 4 the meter's GMAC over CtoS with its system title."""
        context = self._context
        if context is None:  # ClientSettings refuses this; a custom protection may not
            raise AuthenticationError(
                "HLS-GMAC needs the ciphering keys: give ClientSettings(security="
                "ClientSecurity(...)) or a SecurityContext as protection"
            )
        if context.peer_system_title is None:
            raise AuthenticationError(
                "HLS-GMAC: the AARE has no responding-AP-title (the meter's system title)"
            )
        reply = context.hls_gmac(self._server_challenge)
        answer = yield from self._reply_to_hls(reply)
        context.verify_hls_gmac(answer, self._client_challenge)
        return None

    def _on_pass3_done(self, result: Any, error: DlmsError | None) -> None:
        if error is None:
            self._handle(AssociationInput.PASS4_VERIFIED)
            return
        if not isinstance(error, AuthenticationError):
            error = AuthenticationError(f"HLS pass 3 was refused: {error}")
        self._handle(AssociationInput.PASS4_FAILED, error)

    # -- GET -------------------------------------------------------------------------------

    def _get_transaction(
        self, descriptor: CosemAttributeDescriptor, selection: SelectiveAccessDescriptor | None
    ) -> _Transaction:
        invoke_id, iip = self._invoke()
        answer = yield _Send(GetRequestNormal(descriptor, selection, iip).encode(), invoke_id)
        pdu = _decode_response(answer, ApduTag.GET_RESPONSE, decode_get_response)
        if isinstance(pdu, GetResponseNormal):
            return pdu.value
        if isinstance(pdu, GetResponseWithDatablock):
            raw = yield from self._get_blocks(pdu, invoke_id, iip)
            return Data.from_raw(raw).value
        raise UnexpectedApduError("a get-response-with-list answered a single GET")

    def _get_blocks(
        self, pdu: GetResponseWithDatablock, invoke_id: int, iip: InvokeIdAndPriority
    ) -> Generator[_Send, bytes, bytes]:
        """Collect a long GET answer: get-request-next until the last block (behaviour 7:
        any first block number; duplicates dropped; a gap is a BlockTransferError)."""
        reassembler = BlockReassembler(max_length=self.settings.max_response_length)
        while True:
            if reassembler.add(pdu.block_number, pdu.raw_data, pdu.last_block):
                return reassembler.data
            number = reassembler.last_block_number
            assert number is not None
            answer = yield _Send(GetRequestNext(number, iip).encode(), invoke_id)
            next_pdu = _decode_response(answer, ApduTag.GET_RESPONSE, decode_get_response)
            if isinstance(next_pdu, GetResponseNormal):
                next_pdu.value  # noqa: B018 - raises the data-access-result that ended it
                raise BlockTransferError("a get-response-normal came in the middle of blocks")
            if not isinstance(next_pdu, GetResponseWithDatablock):
                raise BlockTransferError("a get-response-with-list came in the middle of blocks")
            pdu = next_pdu

    def _get_list_transaction(
        self, items: Sequence[CosemAttributeDescriptor | CosemAttributeDescriptorWithSelection]
    ) -> _Transaction:
        results: list[Any] = []
        negotiated = self.negotiated
        with_list = negotiated is None or bool(
            negotiated.conformance & Conformance.MULTIPLE_REFERENCES
        )
        for chunk in chunk_attribute_list(items, self.settings.with_list_chunk_size):
            if len(chunk) == 1 or not with_list:
                # one attribute, or a meter that did not grant multiple-references: single GETs
                for item in chunk:
                    results.append((yield from self._get_or_error(item)))
                continue
            try:
                results.extend((yield from self._get_chunk(chunk)))
            except DlmsError as exc:
                if not _falls_back(exc):
                    raise
                self.with_list_fallbacks += 1
                for item in chunk:
                    results.append((yield from self._get_or_error(item)))
        return results

    def _get_or_error(self, item: CosemAttributeDescriptorWithSelection) -> _Transaction:
        try:
            return (
                yield from self._get_transaction(
                    item.cosem_attribute_descriptor, item.access_selection
                )
            )
        except DataAccessError as exc:
            return exc

    def _get_chunk(self, chunk: tuple[CosemAttributeDescriptorWithSelection, ...]) -> _Transaction:
        invoke_id, iip = self._invoke()
        answer = yield _Send(GetRequestWithList(chunk, iip).encode(), invoke_id)
        pdu = _decode_response(answer, ApduTag.GET_RESPONSE, decode_get_response)
        results: tuple[GetDataResult, ...]
        if isinstance(pdu, GetResponseWithList):
            results = pdu.result
        elif isinstance(pdu, GetResponseWithDatablock):
            raw = yield from self._get_blocks(pdu, invoke_id, iip)
            reader = Reader(raw)
            count = reader.count("get-response-with-list result", 2)
            results = tuple(read_get_data_result(reader) for _ in range(count))
            reader.finish("get-response-with-list (from blocks)")
        else:
            pdu.value  # noqa: B018 - a data-access-result for the whole list raises here
            raise _FallBack("a get-response-normal answered a GET with-list")
        if len(results) != len(chunk):
            raise _FallBack(f"{len(results)} results answered {len(chunk)} attributes")
        if all(r == DataAccessResult.SCOPE_OF_ACCESS_VIOLATED for r in results):
            raise _FallBack("every attribute of the list: scope-of-access-violated")
        return [_get_result_or_error(r) for r in results]

    # -- SET -------------------------------------------------------------------------------

    def _set_transaction(
        self,
        descriptor: CosemAttributeDescriptor,
        value: Any,
        selection: SelectiveAccessDescriptor | None,
    ) -> _Transaction:
        data = Data.of(value)
        invoke_id, iip = self._invoke()
        apdu = SetRequestNormal(descriptor, data, selection, iip).encode()
        if self._fits(apdu):
            answer = yield _Send(apdu, invoke_id)
            pdu = _decode_response(answer, ApduTag.SET_RESPONSE, decode_set_response)
            if not isinstance(pdu, (SetResponseNormal, SetResponseLastDatablock)):
                raise UnexpectedApduError(f"{type(pdu).__name__} answered a set-request-normal")
            _check_set_result(pdu.result)
            return None
        header = len(
            SetRequestWithFirstDatablock(
                descriptor, DataBlockSA(False, 1, b""), selection, iip
            ).encode()
        )

        def first(block: DataBlockSA) -> bytes:
            return SetRequestWithFirstDatablock(descriptor, block, selection, iip).encode()

        pdu = yield from self._set_blocks(data.raw, header, first, invoke_id, iip)
        if isinstance(pdu, (SetResponseLastDatablock, SetResponseNormal)):
            _check_set_result(pdu.result)
            return None
        raise UnexpectedApduError(f"{type(pdu).__name__} answered the last SET datablock")

    def _set_blocks(
        self,
        raw: bytes,
        header: int,
        first: Any,
        invoke_id: int,
        iip: InvokeIdAndPriority,
    ) -> Generator[_Send, bytes, Any]:
        size = self._block_size(header)
        chunks = split_blocks(raw, size)
        for number, chunk in enumerate(chunks, start=1):
            last = number == len(chunks)
            block = DataBlockSA(last, number, chunk)
            apdu = first(block) if number == 1 else SetRequestWithDatablock(block, iip).encode()
            answer = yield _Send(apdu, invoke_id)
            pdu = _decode_response(answer, ApduTag.SET_RESPONSE, decode_set_response)
            if last:
                return pdu
            if isinstance(pdu, SetResponseNormal):
                _check_set_result(pdu.result)
                raise BlockTransferError("the server ended the SET block transfer early")
            if not isinstance(pdu, SetResponseDatablock):
                raise UnexpectedApduError(f"{type(pdu).__name__} answered a SET datablock")
            if pdu.block_number != number:
                raise BlockTransferError(
                    f"the server acknowledged SET block {pdu.block_number}, we sent {number}"
                )
        raise AssertionError("unreachable")  # pragma: no cover

    def _set_list_transaction(
        self,
        items: Sequence[
            tuple[CosemAttributeDescriptor | CosemAttributeDescriptorWithSelection, Any]
        ],
    ) -> _Transaction:
        descriptors = tuple(
            d
            if isinstance(d, CosemAttributeDescriptorWithSelection)
            else CosemAttributeDescriptorWithSelection(d)
            for d, _ in items
        )
        values = tuple(Data.of(v) for _, v in items)
        invoke_id, iip = self._invoke()
        apdu = SetRequestWithList(descriptors, values, iip).encode()
        if self._fits(apdu):
            answer = yield _Send(apdu, invoke_id)
            pdu = _decode_response(answer, ApduTag.SET_RESPONSE, decode_set_response)
        else:
            raw = axdr.encode_length(len(values)) + b"".join(v.raw for v in values)
            header = len(
                SetRequestWithListAndFirstDatablock(
                    descriptors, DataBlockSA(False, 1, b""), iip
                ).encode()
            )

            def first(block: DataBlockSA) -> bytes:
                return SetRequestWithListAndFirstDatablock(descriptors, block, iip).encode()

            pdu = yield from self._set_blocks(raw, header, first, invoke_id, iip)
        if isinstance(pdu, (SetResponseWithList, SetResponseLastDatablockWithList)):
            if len(pdu.result) != len(items):
                raise DecodeError(f"{len(pdu.result)} results answered {len(items)} attributes")
            return [_set_result_or_error(r) for r in pdu.result]
        if isinstance(pdu, SetResponseNormal):
            _check_set_result(pdu.result)
        raise UnexpectedApduError(f"{type(pdu).__name__} answered a SET with-list")

    # -- ACTION ----------------------------------------------------------------------------

    def _action_transaction(self, method: CosemMethodDescriptor, parameters: Any) -> _Transaction:
        data = None if parameters is None else Data.of(parameters)
        invoke_id, iip = self._invoke()
        apdu = ActionRequestNormal(method, data, iip).encode()
        if data is None or self._fits(apdu):
            answer = yield _Send(apdu, invoke_id)
        else:
            header = len(
                ActionRequestWithFirstPblock(method, DataBlockSA(False, 1, b""), iip).encode()
            )
            size = self._block_size(header)
            raw = data.raw
            chunks = split_blocks(raw, size)
            answer = b""
            for number, chunk in enumerate(chunks, start=1):
                last = number == len(chunks)
                block = DataBlockSA(last, number, chunk)
                if number == 1:
                    apdu = ActionRequestWithFirstPblock(method, block, iip).encode()
                else:
                    apdu = ActionRequestWithPblock(block, iip).encode()
                answer = yield _Send(apdu, invoke_id)
                if last:
                    break
                pdu = _decode_response(answer, ApduTag.ACTION_RESPONSE, decode_action_response)
                if isinstance(pdu, ActionResponseNormal):
                    pdu.value  # noqa: B018 - an error ends the transfer
                    raise BlockTransferError("the server ended the ACTION pblock transfer early")
                if not isinstance(pdu, ActionResponseNextPblock):
                    raise UnexpectedApduError(f"{type(pdu).__name__} answered an ACTION pblock")
                if pdu.block_number != number:
                    raise BlockTransferError(
                        f"the server acknowledged ACTION pblock {pdu.block_number}, "
                        f"we sent {number}"
                    )
        return (yield from self._action_answer(answer, invoke_id, iip))

    def _action_answer(
        self, answer: bytes, invoke_id: int, iip: InvokeIdAndPriority
    ) -> Generator[_Send, bytes, Any]:
        pdu = _decode_response(answer, ApduTag.ACTION_RESPONSE, decode_action_response)
        if isinstance(pdu, ActionResponseNormal):
            return pdu.value
        if not isinstance(pdu, ActionResponseWithPblock):
            raise UnexpectedApduError(f"{type(pdu).__name__} answered an ACTION")
        reassembler = BlockReassembler(max_length=self.settings.max_response_length)
        while not reassembler.add(
            pdu.pblock.block_number, pdu.pblock.raw_data, pdu.pblock.last_block
        ):
            number = reassembler.last_block_number
            assert number is not None
            answer = yield _Send(ActionRequestNextPblock(number, iip).encode(), invoke_id)
            next_pdu = _decode_response(answer, ApduTag.ACTION_RESPONSE, decode_action_response)
            if isinstance(next_pdu, ActionResponseNormal):
                next_pdu.value  # noqa: B018 - an error ends the transfer
                raise BlockTransferError("an action-response-normal came in the middle of pblocks")
            if not isinstance(next_pdu, ActionResponseWithPblock):
                raise UnexpectedApduError(
                    f"{type(next_pdu).__name__} came in the middle of pblocks"
                )
            pdu = next_pdu
        return _action_value(reassembler.data)

    def _action_list_transaction(
        self, items: Sequence[tuple[CosemMethodDescriptor, Any]]
    ) -> _Transaction:
        methods = tuple(m for m, _ in items)
        parameters = tuple(Data.of(p) for _, p in items)
        invoke_id, iip = self._invoke()
        answer = yield _Send(ActionRequestWithList(methods, parameters, iip).encode(), invoke_id)
        pdu = _decode_response(answer, ApduTag.ACTION_RESPONSE, decode_action_response)
        if not isinstance(pdu, ActionResponseWithList):
            if isinstance(pdu, ActionResponseNormal):
                pdu.value  # noqa: B018
            raise UnexpectedApduError(f"{type(pdu).__name__} answered an ACTION with-list")
        if len(pdu.list_of_responses) != len(items):
            raise DecodeError(f"{len(pdu.list_of_responses)} results answered {len(items)} methods")
        results: list[Any] = []
        for response in pdu.list_of_responses:
            try:
                results.append(response.value)
            except (ActionError, DataAccessError) as exc:
                results.append(exc)
        return results

    # -- short names -----------------------------------------------------------------------

    def _read_transaction(self, spec: VariableName | ParameterizedAccess) -> _Transaction:
        answer = yield _Send(ReadRequest((spec,)).encode(), None)
        reassembler: BlockReassembler | None = None
        while True:
            pdu = _decode_response(answer, ApduTag.READ_RESPONSE, ReadResponse.decode)
            if len(pdu.results) != 1:
                raise DecodeError(f"{len(pdu.results)} results answered one read")
            result = pdu.results[0]
            if isinstance(result, DataAccessResult):
                raise data_access_error(result)
            if isinstance(result, Data):
                if reassembler is not None:
                    raise BlockTransferError("data came in the middle of a read block transfer")
                return result.value
            if not isinstance(result, DataBlockResult):
                raise UnexpectedApduError("a block-number answered a read request")
            if reassembler is None:
                reassembler = BlockReassembler(max_length=self.settings.max_response_length)
            if reassembler.add(result.block_number, result.raw_data, result.last_block):
                return _read_blocks_value(reassembler.data)
            number = reassembler.last_block_number
            assert number is not None
            answer = yield _Send(ReadRequest((BlockNumberAccess(number),)).encode(), None)

    def _read_list_transaction(
        self, items: tuple[VariableName | ParameterizedAccess, ...]
    ) -> _Transaction:
        results: list[Any] = []
        negotiated = self.negotiated
        multiple = negotiated is None or bool(
            negotiated.conformance & Conformance.MULTIPLE_REFERENCES
        )
        size = self.settings.with_list_chunk_size
        for start in range(0, len(items), size):
            chunk = items[start : start + size]
            if len(chunk) > 1 and multiple:
                try:
                    results.extend((yield from self._read_chunk(chunk)))
                    continue
                except DlmsError as exc:
                    if not _falls_back(exc):
                        raise
                    self.with_list_fallbacks += 1
            for item in chunk:
                try:
                    results.append((yield from self._read_transaction(item)))
                except DataAccessError as exc:
                    results.append(exc)
        return results

    def _read_chunk(self, chunk: tuple[VariableName | ParameterizedAccess, ...]) -> _Transaction:
        answer = yield _Send(ReadRequest(chunk).encode(), None)
        reassembler: BlockReassembler | None = None
        while True:
            pdu = _decode_response(answer, ApduTag.READ_RESPONSE, ReadResponse.decode)
            block = pdu.results[0] if len(pdu.results) == 1 else None
            if not isinstance(block, DataBlockResult):
                if reassembler is not None:
                    raise BlockTransferError("results came in the middle of a read block transfer")
                results = pdu.results
                break
            if reassembler is None:
                reassembler = BlockReassembler(max_length=self.settings.max_response_length)
            if reassembler.add(block.block_number, block.raw_data, block.last_block):
                results = _read_results(reassembler.data)
                break
            number = reassembler.last_block_number
            assert number is not None
            answer = yield _Send(ReadRequest((BlockNumberAccess(number),)).encode(), None)
        if len(results) != len(chunk):
            raise _FallBack(f"{len(results)} results answered {len(chunk)} variables")
        if all(r == DataAccessResult.SCOPE_OF_ACCESS_VIOLATED for r in results):
            raise _FallBack("every variable of the list: scope-of-access-violated")
        values: list[Any] = []
        for result in results:
            if isinstance(result, DataAccessResult):
                values.append(data_access_error(result))
            elif isinstance(result, Data):
                values.append(result.value)
            else:
                raise UnexpectedApduError("a block-number answered a read of several variables")
        return values

    def _write_transaction(self, short_name: int, value: Any) -> _Transaction:
        request = WriteRequest((VariableName(short_name),), (Data.of(value),))
        answer = yield _Send(request.encode(), None)
        pdu = _decode_response(answer, ApduTag.WRITE_RESPONSE, WriteResponse.decode)
        if len(pdu.results) != 1:
            raise DecodeError(f"{len(pdu.results)} results answered one write")
        result = pdu.results[0]
        if isinstance(result, DataAccessResult):
            _check_set_result(result)
            return None
        raise UnexpectedApduError("a block-number answered a write request")

    def _unconfirmed_write_transaction(self, short_name: int, value: Any) -> _Transaction:
        request = UnconfirmedWriteRequest((VariableName(short_name),), (Data.of(value),))
        self._send_service(request.encode())
        yield _Send(b"", None)
        return None
