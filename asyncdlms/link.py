"""The interface every link layer (HDLC, wrapper) offers to the application layer.

The application layer must not care which link carries its APDUs. Both
:class:`asyncdlms.hdlc.HdlcConnection` and :class:`asyncdlms.wrapper.WrapperConnection`
implement :class:`Link`, a sans-IO object in the style of h11 and aioquic:

- bytes come in through :meth:`Link.receive_data` (any slicing of the stream),
- bytes to write come out of :meth:`Link.data_to_send`,
- what happened comes out of :meth:`Link.events` as :class:`LinkEvent` values,
- time is passed in from outside: every call that may start a timer takes ``now`` (seconds
  of a monotonic clock chosen by the caller), :meth:`Link.next_deadline` says when the
  caller must call :meth:`Link.handle_timer` next.

Nothing here opens a socket, sleeps or awaits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from .errors import DlmsError

__all__ = [
    "ApduReceived",
    "Link",
    "LinkClosed",
    "LinkEstablished",
    "LinkEvent",
    "apdu_received",
]


class LinkEvent:
    """Base class of the events a link layer emits."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class LinkEstablished(LinkEvent):
    """The link is up: APDUs can be sent.

    ``max_info_length_tx``/``rx`` are the largest information fields the link carries in
    one frame in each direction (HDLC: negotiated max info field length; wrapper: ``None``,
    no limit below the APDU size).
    """

    max_info_length_tx: int | None = None
    max_info_length_rx: int | None = None


@dataclass(frozen=True, slots=True)
class ApduReceived(LinkEvent):
    """A complete APDU (reassembled from segments where the link segments), LLC removed.

    ``unsolicited`` is true for data that did not come as the answer on this link's own
    connection: HDLC UI frames, frames addressed to another client address, wrapper
    datagrams from an unexpected wPort. The application routes those to its notification
    path (pushes) instead of pairing them with a request.
    ``source`` and ``destination`` are the link addresses it carried (HDLC addresses as
    int, wrapper wPorts), for the notification path and for multi-drop buses.
    """

    apdu: bytes
    unsolicited: bool = False
    source: int | None = None
    destination: int | None = None


_new_event = object.__new__
_set_apdu, _set_unsolicited, _set_source, _set_destination = (
    vars(ApduReceived)[name].__set__ for name in ("apdu", "unsolicited", "source", "destination")
)


def apdu_received(
    apdu: bytes, unsolicited: bool, source: int | None, destination: int | None
) -> ApduReceived:
    """``ApduReceived(apdu, unsolicited, source, destination)`` built through its slots: a
    link's per-frame path (a frozen dataclass's ``__init__`` sets each field through
    ``object.__setattr__``, twice as slow)."""
    event: ApduReceived = _new_event(ApduReceived)
    _set_apdu(event, apdu)
    _set_unsolicited(event, unsolicited)
    _set_source(event, source)
    _set_destination(event, destination)
    return event


@dataclass(frozen=True, slots=True)
class LinkClosed(LinkEvent):
    """The link is down. ``error`` is ``None`` after an orderly disconnect."""

    error: DlmsError | None = None


@runtime_checkable
class Link(Protocol):
    """What the application layer needs from a link layer."""

    def connect(self, now: float) -> None:
        """Start establishing the link (HDLC: send SNRM; wrapper: established at once)."""

    def send_apdu(self, apdu: bytes, now: float) -> None:
        """Queue one APDU for transmission (segmented as the link requires)."""

    def no_reply(self, now: float) -> None:
        """The application will not answer the APDU just delivered (an unconfirmed service):
        an HDLC server gives the poll back with RR; the wrapper does nothing."""

    def await_reply(self, now: float) -> None:
        """Client: the application waits for an answer to what it sent: an HDLC link that
        holds the poll with nothing to send polls the server again after the response
        timeout; the wrapper does nothing. A link whose ``await_reply`` does nothing may
        say so with a class attribute ``awaits_reply = False``: the client session then
        does not call it (it would after every input while a request is in flight)."""

    def disconnect(self, now: float) -> None:
        """Start an orderly disconnect (HDLC: DISC; wrapper: closed at once)."""

    def receive_data(self, data: bytes, now: float) -> None:
        """Feed bytes received from the transport, in any slicing."""

    def data_to_send(self) -> bytes:
        """Return (and forget) the bytes the transport must write now."""

    def datagrams_to_send(self) -> list[bytes]:
        """Return (and forget) what to write, one element per frame or datagram."""

    def events(self) -> list[LinkEvent]:
        """Return (and forget) the events that happened since the last call."""

    def next_deadline(self) -> float | None:
        """The ``now`` at which :meth:`handle_timer` must be called next, if any."""

    def handle_timer(self, now: float) -> None:
        """Let timers that expired by ``now`` act (retransmit, time out, ...)."""
