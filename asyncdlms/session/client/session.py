"""One association in the client role: :class:`ClientSession` puts the services together and
classifies what arrives (answers, notifications, ACSE)."""

from __future__ import annotations

from ...apdu.tags import ApduTag
from ...errors import (
    BlockTransferError,
    DecodeError,
    DlmsError,
)
from ...link import ApduReceived, LinkClosed, LinkEstablished
from ..events import (
    NotificationReceived,
    SessionEvent,
)
from ._core import _ACSE_TAGS, _INVOKE_ID_TAGS, _NOTIFICATION_TAGS
from ._state import AssociationInput, AssociationState
from .access import _AccessService
from .action import _ActionService
from .association import _AssociationService
from .get import _GetService
from .set import _SetService
from .short_name import _ShortNameService

__all__ = ["ClientSession"]

_ACSE_STATES = frozenset((AssociationState.AARQ_SENT, AssociationState.RELEASE_PENDING))
"""The states in which an ACSE APDU (AARE, RLRE) is awaited."""
_AWAITING_STATES = (AssociationState.ASSOCIATED, AssociationState.HLS_PENDING)
"""A tuple, not a frozenset: ``in`` compares by identity, where a set hashes the member in
Python (Enum.__hash__) on every input."""
"""The states in which requests are in flight."""


class ClientSession(
    _AssociationService,
    _GetService,
    _SetService,
    _ActionService,
    _ShortNameService,
    _AccessService,
):
    """One association in the client role over ``link``.

    Call :meth:`associate`, then make requests (each returns a request id; the answer comes
    as :class:`RequestCompleted` or :class:`RequestFailed` with that id), then
    :meth:`release`. Feed received bytes to :meth:`receive_data`, write what
    :meth:`data_to_send` (or :meth:`datagrams_to_send`) returns, call :meth:`handle_timer`
    at :meth:`next_deadline`.

    Results: GET gives the decoded value; GET/SET/ACTION with-list give one entry per item
    (a value, ``None`` for a successful SET, or the :class:`DataAccessError` /
    :class:`ActionError` of that item); SET gives ``None``; ACTION the returned value or
    ``None``; ACCESS one :class:`~.access.AccessResult` per operation.

    Counters: ``late_responses`` (answers to cancelled requests, swallowed),
    ``invoke_id_mismatches`` (answers with another invoke-id than the request's and not
    one of a cancelled request: taken as the answer unless ``strict_invoke_id``),
    ``duplicate_responses`` (byte-exact repeats of the previous request's answer over UDP,
    dropped),
    ``unexpected_apdus`` (APDUs when nothing was asked, dropped), ``dropped_apdus``
    (undecodable or oversized, dropped), ``with_list_fallbacks`` (with-list chunks retried
    as single GETs, SN reads or SN writes), ``ignored_inputs`` (association inputs the table
    does not expect).
    """

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
        link_deadline = self.link.next_deadline()
        request = self._in_flight
        if (
            link_deadline is None
            and self._release_deadline is None
            and self._gbt_deadline is None
            and (request is None or not request.cancelled)
        ):
            return None  # the common case, asked after every input: no timer
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

    def _pump(self) -> None:
        """Act on what the link reported."""
        for event in self.link.events():
            if isinstance(event, ApduReceived):  # (the common event first)
                if event.unsolicited:
                    self._notification(event.apdu, event.source, event.destination)
                else:
                    self._on_link_apdu(event.apdu, event.source, event.destination)
            elif isinstance(event, LinkEstablished):
                self._handle(AssociationInput.LINK_UP)
            elif isinstance(event, LinkClosed):
                self._handle(AssociationInput.LINK_DOWN, event.error)
        if (
            self._in_flight is not None
            and self._link_awaits_reply
            and self.state in _AWAITING_STATES
        ):
            # an answer is awaited: an HDLC link that went quiet polls the meter again (a
            # meter answering one I-frame per poll may hold it behind a frame sent first)
            self.link.await_reply(self._now)

    def _notification(self, apdu: bytes, source: int | None, destination: int | None) -> None:
        from ...apdu import decode_apdu

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
        gbt = self._gbt
        if gbt.idle and apdu and apdu[0] != ApduTag.GENERAL_BLOCK_TRANSFER:
            # no transfer going on and not a block: the channel would pass the APDU on as it
            # is, and the GBT timer stays stopped (what _arm_gbt_timer sets then)
            self._gbt_deadline = None
            self._gbt_retries = 0
            if (
                apdu[0] in _INVOKE_ID_TAGS
                and self._plain_link
                and self.state is AssociationState.ASSOCIATED
            ):
                # the common answer: a GET/SET/ACTION response, plain, in an association;
                # what the checks below come to for it (no notification, no ACSE APDU)
                self._on_response(apdu)
                return
        else:
            try:
                received = gbt.receive(apdu)
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
        state = self.state
        if apdu and apdu[0] in _ACSE_TAGS and state not in _ACSE_STATES:
            # an AARE or RLRE nobody waits for: a duplicate (a line that repeats frames), or
            # the "already associated" answer to a duplicated AARQ; never a request's answer
            self.unexpected_apdus += 1
            return
        if apdu and apdu[0] not in _ACSE_TAGS and not self._plain_link:
            try:
                apdu = self._protection.unprotect(apdu)
            except DlmsError as exc:
                self.dropped_apdus += 1
                self._fail_in_flight(exc)
                return
            if apdu and apdu[0] in _NOTIFICATION_TAGS:
                self._notification(apdu, source, destination)
                return
        if state is AssociationState.AARQ_SENT:
            self._on_association_response(apdu)
        elif state is AssociationState.RELEASE_PENDING:
            self._on_release_response(apdu)
        elif state in (AssociationState.ASSOCIATED, AssociationState.HLS_PENDING):
            self._on_response(apdu)
        else:
            self.unexpected_apdus += 1

    def _on_response(self, apdu: bytes) -> None:
        request = self._in_flight
        invoke = apdu[2] & 0x0F if len(apdu) > 2 and apdu[0] in _INVOKE_ID_TAGS else None
        if invoke is None and len(apdu) > 4 and apdu[0] == ApduTag.ACCESS_RESPONSE:
            invoke = apdu[4] & 0x0F  # our long invoke-ids are the invoke-ids 0..15
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
            if (
                self._last_answer_id == invoke
                and self._last_answer == apdu
                and getattr(self.link, "transport", "") == "udp"
            ):
                # a byte-exact repeat of the previous request's answer (a duplicated
                # datagram): never the answer to this request. Only over UDP: a stream (TCP,
                # HDLC with its sequence numbers) does not repeat APDUs, while servers built
                # on gurux-dlms answer every failed request with the same bytes and invoke-id
                # 1 (C7 01 C1 01), so the answer to the request after the one with invoke-id
                # 1 looks exactly like a repeat
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
            self._last_answer_id = request.invoke_id
            self._last_answer = apdu
        if self._context is not None and self._retry_after_counter_error(request, apdu):
            return  # (without a security context there are no counters to retry with)
        self._advance(request, apdu)
