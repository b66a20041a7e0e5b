"""The transaction engine every service of a client session shares: requests queued and
served one at a time, invoke-ids, cancellation, the send path (protection, General Block
Transfer, blocks), GBT timers, invocation-counter-error retries."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from ...apdu.descriptors import CosemMethodDescriptor
from ...apdu.enums import (
    DataAccessResult,
    InvokeIdAndPriority,
)
from ...apdu.initiate import Conformance
from ...apdu.service_error import (
    ConfirmedServiceError,
    ExceptionResponse,
    ExceptionServiceError,
)
from ...apdu.short_name import ParameterizedAccess, VariableName
from ...apdu.tags import ApduTag
from ...errors import (
    AssociationError,
    BlockTransferError,
    DataAccessError,
    DecodeError,
    DlmsError,
    ServiceError,
    UnexpectedApduError,
)
from ...link import Link
from ...obis import Obis
from ...security.ciphering import SecurityContext
from ...security.hls import Secret
from ..events import (
    AssociationReleased,
    RequestFailed,
    SessionEvent,
    request_completed,
)
from ..gbt import GeneralBlockTransferChannel
from ..pipeline import ApduProtection, NoProtection, protection_overhead
from ..settings import ClientSettings
from ._state import ASSOCIATION_TRANSITIONS, AssociationInput, AssociationState

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


_Send = tuple[bytes, int | None]
"""What a request generator yields: ``(apdu, invoke_id)``, an APDU to send and the invoke-id
its answer must carry (``None``: no invoke-id to check, SN services). A plain tuple: every
request builds one, and a frozen dataclass costs ~0.7 µs to build."""


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


class _SessionCore(ABC):
    """What every service of a client session shares: its state and counters, the request queue
    and the send path. The services are mixins on top of it; :class:`~.session.ClientSession`
    puts them together."""

    def __init__(self, link: Link, settings: ClientSettings | None = None) -> None:
        self.link = link
        # a link whose await_reply does nothing says so (the wrapper): not called per read
        self._link_awaits_reply: bool = getattr(link, "awaits_reply", True)
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
        # lists, not deques: a deque takes 760 bytes empty, and both stay short
        self._queue: list[_Request] = []
        self._in_flight: _Request | None = None
        self._next_request_id = 1
        self._next_invoke_id = self.settings.invoke_id
        self._cancelled_invoke_ids: list[int] = []  # the last 4
        # the previous answer (invoke-id and APDU; two fields, not a tuple made per answer)
        self._last_answer_id: int | None = None
        self._last_answer = b""
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

    def _handle(self, event: AssociationInput, error: DlmsError | None = None) -> None:
        transition = ASSOCIATION_TRANSITIONS.get((self.state, event))
        if transition is None:
            self.ignored_inputs += 1
            return
        action, next_state = transition
        self.state = next_state
        getattr(self, f"_do_{action}")(error)

    def _new_protection(self) -> None:
        """The protection of a new association: with ``settings.security`` a fresh security
        context (kept for HLS-GMAC even when APDUs go plain)."""
        protection = self.settings.make_protection()
        self._context = protection if isinstance(protection, SecurityContext) else None
        security = self.settings.security
        if security is not None and not security.ciphered:
            protection = NoProtection()
        self._protection = protection
        self._plain_link = isinstance(protection, NoProtection)
        self._dedicated_key = None

    @property
    def security_context(self) -> SecurityContext | None:
        """The security context of the current association (None without ciphering keys)."""
        return self._context

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
                del self._cancelled_invoke_ids[:-4]
            return True
        return False

    @property
    def pending_requests(self) -> int:
        """Requests queued or in flight (a cancelled one in flight included)."""
        return len(self._queue) + (0 if self._in_flight is None else 1)

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
            request = self._queue.pop(0)
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
        apdu, request.invoke_id = out
        request.started = True
        request.last_apdu = apdu
        if not apdu:  # an unconfirmed service: nothing to wait for
            self._advance(request, b"")
            return
        self._send_service(apdu)

    def _finish(self, request: _Request, result: Any, error: DlmsError | None) -> None:
        if self._in_flight is request:
            self._in_flight = None
        if request.internal:
            self._on_pass3_done(result, error)
            return
        if error is None:
            self._events.append(request_completed(request.request_id, result))
        else:
            self._events.append(RequestFailed(request.request_id, error))
        self._after_request()

    def _next_invoke(self) -> int:
        invoke_id = self._next_invoke_id
        self._next_invoke_id = (invoke_id + 1) % 16
        if self._cancelled_invoke_ids:
            while (
                self._next_invoke_id in self._cancelled_invoke_ids
                and len(self._cancelled_invoke_ids) < 15
            ):
                self._next_invoke_id = (self._next_invoke_id + 1) % 16
        return invoke_id

    def _invoke(self) -> tuple[int, InvokeIdAndPriority]:
        invoke_id = self._next_invoke()
        return invoke_id, InvokeIdAndPriority(
            invoke_id, self.settings.confirmed, self.settings.high_priority
        )

    def _invoke_byte(self) -> tuple[int, int]:
        """The next invoke-id and its Invoke-Id-And-Priority byte (:meth:`_invoke` without
        the dataclass, for the GET fast path)."""
        if self._cancelled_invoke_ids:
            invoke_id = self._next_invoke()
        else:  # (what _next_invoke comes to then, without the call)
            invoke_id = self._next_invoke_id
            self._next_invoke_id = (invoke_id + 1) % 16
        confirmed = 0x40 if self.settings.confirmed else 0
        return invoke_id, invoke_id | confirmed | (0x80 if self.settings.high_priority else 0)

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
        if self._plain_link and not self._gbt.enabled:  # no ciphering, no GBT: as it is
            self._link_send(apdu)
            self._pump()
            return
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

    def _fail_all(self, error: DlmsError) -> None:
        request = self._in_flight
        self._in_flight = None
        if request is not None:
            request.transaction.close()
            if not request.internal and not request.cancelled:
                self._events.append(RequestFailed(request.request_id, error))
        while self._queue:
            queued = self._queue.pop(0)
            queued.transaction.close()
            self._events.append(RequestFailed(queued.request_id, error))
        self._gbt.reset()

    def _report_released(self, error: DlmsError | None) -> None:
        self._forget_dedicated_key()
        if not self._released_reported:
            self._released_reported = True
            self._events.append(AssociationReleased(error))

    # -- provided by the services that ClientSession puts together -----------------------

    @abstractmethod
    def _pump(self) -> None:
        """Act on what the link reported (:class:`~.session.ClientSession`)."""
        ...

    @abstractmethod
    def _forget_dedicated_key(self) -> None:
        """Drop the association's dedicated key (:mod:`.association`)."""
        ...

    @abstractmethod
    def _on_pass3_done(self, result: Any, error: DlmsError | None) -> None:
        """The end of the internal HLS pass 3 request (:mod:`.association`)."""
        ...

    @abstractmethod
    def _action_transaction(self, method: CosemMethodDescriptor, parameters: Any) -> _Transaction:
        """One ACTION, as a transaction (:mod:`.action`)."""
        ...

    @abstractmethod
    def _read_transaction(self, spec: VariableName | ParameterizedAccess) -> _Transaction:
        """One SN Read, as a transaction (:mod:`.short_name`)."""
        ...
