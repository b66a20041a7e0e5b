"""One association in the server role: :class:`ServerSession` puts the services together,
classifies what arrives and runs the state table of :mod:`._state`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...apdu.access import AccessRequest
from ...apdu.acse import Rlrq
from ...apdu.action import (
    ActionRequestNextPblock,
    ActionRequestNormal,
    ActionRequestWithFirstPblock,
    ActionRequestWithList,
    ActionRequestWithListAndFirstPblock,
    ActionRequestWithPblock,
    decode_action_request,
)
from ...apdu.get import (
    GetRequestNext,
    GetRequestNormal,
    GetRequestWithList,
    decode_get_request,
)
from ...apdu.initiate import Conformance
from ...apdu.notification import DataNotification, EventNotificationRequest
from ...apdu.service_error import (
    ExceptionServiceError,
    ExceptionStateError,
)
from ...apdu.set import (
    SetRequestNormal,
    SetRequestWithDatablock,
    SetRequestWithFirstDatablock,
    SetRequestWithList,
    SetRequestWithListAndFirstDatablock,
    decode_set_request,
)
from ...apdu.short_name import (
    ReadRequest,
    UnconfirmedWriteRequest,
    WriteRequest,
    WriteResponse,
)
from ...apdu.tags import ApduTag
from ...errors import DlmsError, ReplayError
from ...link import ApduReceived, LinkClosed, LinkEstablished
from ...security.ciphering import (
    CipheringForm,
    SecurityContext,
)
from ...security.counters import CipheringKey
from ..events import AssociationReleased, SessionEvent
from ..pipeline import NoProtection
from ._state import (
    TRANSITIONS,
    AssociationAction,
    AssociationInput,
    AssociationState,
    Transition,
)
from .access import _AccessService
from .action import _ActionService
from .association import _AssociationService
from .get import _GetService
from .set import _SetService
from .short_name import _is_block_request, _ShortNameService

__all__ = ["ServerSession"]

_SERVES_IN_PLACE = TRANSITIONS[
    (AssociationState.ASSOCIATED, AssociationInput.SERVICE_REQUEST)
] == Transition(AssociationAction.SERVE, AssociationState.ASSOCIATED)
"""Whether a request in an association is served and the state kept (the common input:
``_on_apdu`` then serves it without looking the row up)."""


class ServerSession(
    _AssociationService,
    _GetService,
    _SetService,
    _ActionService,
    _ShortNameService,
    _AccessService,
):
    """One association in the server role over a server-role :class:`~asyncdlms.link.Link`.

    Counters for diagnostics: ``malformed_apdus`` (undecodable or unknown APDUs answered
    with exception-response), ``exception_responses`` (every exception-response sent),
    ``rejected_associations`` (rejecting AAREs and failed pass 3), ``requests_served``,
    ``unsolicited_dropped`` (APDUs for another address), ``blocks_sent`` and
    ``blocks_received``, ``send_failures`` (answers the link could not take: it was down).
    """

    def receive_data(self, data: bytes, now: float) -> None:
        """Feed bytes received from the transport (any slicing). Never raises for bad input."""
        self._now = now
        self._start(now)
        self.link.receive_data(data, now)
        self._pump()

    def data_to_send(self) -> bytes:
        """The bytes the transport must write now."""
        return self.link.data_to_send()

    def datagrams_to_send(self) -> list[bytes]:
        """What to write, one element per frame or datagram."""
        return self.link.datagrams_to_send()

    def events(self) -> list[SessionEvent]:
        """The events since the last call (AssociationEstablished, AssociationReleased)."""
        events, self._events = self._events, []
        return events

    def next_deadline(self) -> float | None:
        """When :meth:`handle_timer` must be called next (the link's timers)."""
        return self.link.next_deadline()

    def handle_timer(self, now: float) -> None:
        """Let the link's expired timers act (e.g. the HDLC inactivity timeout)."""
        self._now = now
        self.link.handle_timer(now)
        self._pump()

    def push(
        self, notification: DataNotification | EventNotificationRequest | bytes, now: float
    ) -> None:
        """Send an unsolicited data-notification or event-notification (Push setup) to the
        client of this link. Raises :class:`~asyncdlms.errors.LinkError` when the link
        cannot carry it."""
        self._now = now
        self._start(now)
        apdu = notification if isinstance(notification, bytes) else notification.encode()
        self.link.send_apdu(self._protection.protect(apdu), now)

    @property
    def security_context(self) -> SecurityContext | None:
        """The security context of the current association (None without ciphering)."""
        return self._context

    def _start(self, now: float) -> None:
        if not self._started:
            self._started = True
            self.link.connect(now)

    def _pump(self) -> None:
        for event in self.link.events():
            if isinstance(event, ApduReceived):
                if event.unsolicited:
                    self.unsolicited_dropped += 1
                    continue
                sent = self._apdus_sent
                self._on_apdu(event.apdu, event.source)
                if self._apdus_sent == sent:
                    # nothing answers it (unconfirmed write, a GBT acknowledgement...):
                    # an HDLC server must give the poll back all the same
                    self.link.no_reply(self._now)
            elif isinstance(event, LinkEstablished):
                self._transition(AssociationInput.LINK_ESTABLISHED)
            elif isinstance(event, LinkClosed):
                self._transition(AssociationInput.LINK_CLOSED, event.error)

    def _transition(
        self, link_input: AssociationInput, error: DlmsError | None = None, apdu: Any = None
    ) -> None:
        transition = TRANSITIONS[(self.state, link_input)]
        previous = self.state
        self.state = transition.next_state
        action = transition.action
        if action is AssociationAction.ACCEPT:
            self._accept(apdu)
        elif action is AssociationAction.ACCEPT_PENDING_HLS:
            self._accept_pending_hls(apdu)
        elif action is AssociationAction.REJECT:
            self._reject(previous)
        elif action is AssociationAction.REJECT_ALREADY_ASSOCIATED:
            self._reject_already_associated()
        elif action is AssociationAction.SEND_PASS4:
            self._send_pass4(apdu)
        elif action is AssociationAction.DENY_PASS3:
            self._deny_pass3(apdu)
        elif action is AssociationAction.SERVE:
            self._serve(apdu)
        elif action is AssociationAction.DENY_PENDING_HLS:
            self._deny_pending(apdu)
        elif action is AssociationAction.REFUSE_NO_ASSOCIATION:
            self._refuse_no_association(apdu)
        elif action is AssociationAction.RELEASE:
            self._release(previous, apdu)
        elif action is AssociationAction.ANSWER_EXCEPTION:
            self._send_exception(*apdu)
        elif action is AssociationAction.DROP:
            self._forget()
            self._events.append(AssociationReleased(error))

    def _on_apdu(self, raw: bytes, source: int | None) -> None:
        if not raw:
            self.malformed_apdus += 1
            self._transition(
                AssociationInput.MALFORMED,
                apdu=(ExceptionStateError.SERVICE_UNKNOWN, ExceptionServiceError.OTHER_REASON),
            )
            return
        tag = raw[0]
        if tag == ApduTag.AARQ:
            self._on_aarq(raw, source)
            return
        if tag == ApduTag.RLRQ:
            try:
                request = Rlrq.decode(raw)
            except DlmsError:
                request = Rlrq()
            self._transition(AssociationInput.RLRQ, apdu=request)
            return
        if self.state is not AssociationState.IDLE:
            limit = self.settings.server_max_receive_pdu_size
            if limit and len(raw) > limit:
                self._malformed(
                    ExceptionStateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.PDU_TOO_LONG
                )
                return
            if raw[0] == ApduTag.GENERAL_BLOCK_TRANSFER:  # (anything else passes as it is)
                try:
                    received = self._gbt.receive(raw)
                except DlmsError:
                    self._gbt.reset()
                    self._malformed(
                        ExceptionStateError.SERVICE_NOT_ALLOWED,
                        ExceptionServiceError.OPERATION_NOT_POSSIBLE,
                    )
                    return
                for piece in received.to_send:
                    self._send_link(piece)
                if received.apdu is None:
                    return
                raw = received.apdu
                if not raw:
                    return
            try:
                if type(self._protection) is not NoProtection:  # (plain: as it is)
                    raw = self._unprotect(raw)
            except ReplayError as exc:
                self.malformed_apdus += 1
                self.replayed_apdus += 1
                if not self._counter_hint:
                    return  # dropped unanswered, as the standard has it
                self._transition(
                    AssociationInput.MALFORMED,
                    apdu=(
                        ExceptionStateError.SERVICE_NOT_ALLOWED,
                        ExceptionServiceError.INVOCATION_COUNTER_ERROR,
                        exc.last + 1 if exc.last < 0xFFFF_FFFF else None,
                    ),
                )
                return
            except DlmsError:
                self.malformed_apdus += 1
                self.deciphering_failures += 1
                self._transition(
                    AssociationInput.MALFORMED,
                    apdu=(
                        ExceptionStateError.SERVICE_NOT_ALLOWED,
                        ExceptionServiceError.DECIPHERING_ERROR,
                    ),
                )
                return
        try:
            request = self._decode_request(raw)
        except _Unknown:
            self._malformed(
                ExceptionStateError.SERVICE_UNKNOWN, ExceptionServiceError.OPERATION_NOT_POSSIBLE
            )
            return
        except DlmsError:
            self._malformed(
                ExceptionStateError.SERVICE_NOT_ALLOWED,
                ExceptionServiceError.OPERATION_NOT_POSSIBLE,
            )
            return
        if self.state is AssociationState.AWAITING_PASS3:
            reply = self._hls_reply(request)
            if reply is not None:
                valid = self._check_pass3(reply)
                self._transition(
                    AssociationInput.PASS3_VALID if valid else AssociationInput.PASS3_INVALID,
                    apdu=request,
                )
                return
        if _SERVES_IN_PLACE and self.state is AssociationState.ASSOCIATED:
            self._serve(request)  # the table's row, without its lookup (two Enum hashes)
            return
        self._transition(AssociationInput.SERVICE_REQUEST, apdu=request)

    def _malformed(self, state: ExceptionStateError, service: ExceptionServiceError) -> None:
        """Count a malformed APDU and answer it with an exception-response."""
        self.malformed_apdus += 1
        self._transition(AssociationInput.MALFORMED, apdu=(state, service))

    def _unprotect(self, raw: bytes) -> bytes:
        """Decipher a request; with a security context, answer in the form it came in
        (ded- for ded-, glo- for glo-, the general forms likewise)."""
        context = self._context
        if context is None or self._protection is not context:
            return self._protection.unprotect(raw)
        received = context.unprotect_apdu(raw)
        if received.invocation_counter >= 0:
            general = raw[0] in (ApduTag.GENERAL_GLO_CIPHERING, ApduTag.GENERAL_DED_CIPHERING)
            dedicated = received.key is CipheringKey.DEDICATED
            if general:
                form = (
                    CipheringForm.GENERAL_DEDICATED if dedicated else CipheringForm.GENERAL_GLOBAL
                )
            else:
                form = CipheringForm.DEDICATED if dedicated else CipheringForm.GLOBAL
            context.use_form(form)
        return received.apdu

    def _decode_request(self, raw: bytes) -> Any:
        tag = raw[0]
        if tag == ApduTag.GET_REQUEST:
            return decode_get_request(raw)
        if tag == ApduTag.SET_REQUEST:
            return decode_set_request(raw)
        if tag == ApduTag.ACTION_REQUEST:
            return decode_action_request(raw)
        if tag == ApduTag.READ_REQUEST:
            return ReadRequest.decode(raw)
        if tag == ApduTag.WRITE_REQUEST:
            return WriteRequest.decode(raw)
        if tag == ApduTag.UNCONFIRMED_WRITE_REQUEST:
            return UnconfirmedWriteRequest.decode(raw)
        if tag == ApduTag.ACCESS_REQUEST:
            return AccessRequest.decode(raw)
        raise _Unknown()

    def _serve(self, request: Any) -> None:
        self.requests_served += 1
        try:
            self._dispatch(request)
        except DlmsError:
            self._send_exception(
                ExceptionStateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.OTHER_REASON
            )

    def _dispatch(self, request: Any) -> None:
        if not isinstance(request, (GetRequestNext, ActionRequestNextPblock)) and not (
            isinstance(request, ReadRequest) and _is_block_request(request)
        ):
            self._outgoing = None
        if not isinstance(request, (SetRequestWithDatablock, ActionRequestWithPblock)):
            self._incoming = None
        service = _SERVICES.get(type(request))
        if service is not None:
            logical_names, conformance, serve = service
            if self.logical_name_referencing != logical_names:
                self._unsupported()
            elif self._service_allowed(conformance):
                serve(self, request)
        elif (  # no answer, whatever happens
            isinstance(request, UnconfirmedWriteRequest)
            and not self.logical_name_referencing
            and self._negotiated(Conformance.UNCONFIRMED_WRITE)
        ):
            self._write_results(request)

    def _serve_write(self, request: WriteRequest) -> None:
        self._send(WriteResponse(self._write_results(request)).encode())


def _services() -> dict[type, tuple[bool, Conformance, Callable[[ServerSession, Any], None]]]:
    """Request PDU type -> (logical-name referencing?, the conformance bit, the server
    method): a request of the other referencing is unsupported, one whose bit was not
    negotiated is refused by ``_service_allowed``."""
    table: dict[type, tuple[bool, Conformance, Callable[[ServerSession, Any], None]]] = {}
    for types, entry in (
        (
            (GetRequestNormal, GetRequestWithList, GetRequestNext),
            (True, Conformance.GET, ServerSession._serve_get),
        ),
        (
            (
                SetRequestNormal,
                SetRequestWithList,
                SetRequestWithDatablock,
                SetRequestWithFirstDatablock,
                SetRequestWithListAndFirstDatablock,
            ),
            (True, Conformance.SET, ServerSession._serve_set),
        ),
        (
            (
                ActionRequestNormal,
                ActionRequestWithList,
                ActionRequestNextPblock,
                ActionRequestWithFirstPblock,
                ActionRequestWithListAndFirstPblock,
                ActionRequestWithPblock,
            ),
            (True, Conformance.ACTION, ServerSession._serve_action),
        ),
        ((AccessRequest,), (True, Conformance.ACCESS, ServerSession._serve_access)),
        ((ReadRequest,), (False, Conformance.READ, ServerSession._serve_read)),
        ((WriteRequest,), (False, Conformance.WRITE, ServerSession._serve_write)),
    ):
        for request_type in types:
            table[request_type] = entry
    return table


_SERVICES = _services()


class _Unknown(Exception):
    """An APDU tag the server does not serve."""
