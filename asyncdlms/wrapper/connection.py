"""The wrapper link (IEC 62056-47) as a sans-IO :class:`asyncdlms.link.Link`.

The wrapper has no link-level handshake, acknowledgement or timer: :meth:`connect`
establishes the link at once, every APDU becomes one wrapper frame, and every frame
received becomes one :class:`~asyncdlms.link.ApduReceived`.

Error handling, by transport:

- ``"tcp"``: a header with a wrong version or an over-long length makes the rest of the
  stream meaningless (there is no flag to resynchronise on). The APDUs completed before it
  are delivered, then the link emits ``LinkClosed(error=WrapperError(...))`` and ignores
  further input; the caller should close the socket.
- ``"udp"``: each call to :meth:`receive_data` is one datagram. A malformed datagram
  (short, wrong version, length mismatch, too long) is dropped and counted in
  ``dropped_datagrams``; it does not affect the next one, so the link stays up.

Frames from an unexpected source wPort or to another destination wPort (pushes arrive on
other wPorts, quirk 17) are delivered as ``ApduReceived(unsolicited=True)`` with their
``source`` and ``destination``; with ``strict=True`` they are dropped and counted in
``unexpected_frames`` instead.
"""

from __future__ import annotations

import enum
from typing import Literal

from ..errors import LinkError, WrapperError
from ..link import LinkClosed, LinkEstablished, LinkEvent, apdu_received
from .frames import (
    MAX_APDU_LENGTH,
    WrapperFrame,
    WrapperSplitter,
    WrapperStreamError,
    decode_datagram,
    encode_frame,
)

__all__ = ["WrapperConnection", "WrapperState"]


class WrapperState(enum.Enum):
    """Where the wrapper link is."""

    IDLE = "idle"
    ESTABLISHED = "established"
    CLOSED = "closed"


class WrapperConnection:
    """A sans-IO wrapper link, client or server side.

    ``local_wport`` is this side's wPort (a client's is its client SAP, e.g. 16; a
    server's its logical device, e.g. 1). ``remote_wport`` is the peer's; a server may
    pass ``None`` to adopt the source wPort of the first frame addressed to it.
    ``transport`` is ``"tcp"`` (a byte stream, any slicing) or ``"udp"`` (one datagram per
    :meth:`receive_data` call). ``max_apdu_length`` bounds received APDUs.
    """

    def __init__(
        self,
        local_wport: int,
        remote_wport: int | None,
        transport: Literal["tcp", "udp"] = "tcp",
        *,
        role: Literal["client", "server"] = "client",
        strict: bool = False,
        max_apdu_length: int = MAX_APDU_LENGTH,
    ) -> None:
        if transport not in ("tcp", "udp"):
            raise ValueError(f"transport must be 'tcp' or 'udp', not {transport!r}")
        if role not in ("client", "server"):
            raise ValueError(f"role must be 'client' or 'server', not {role!r}")
        for name, value in (("local_wport", local_wport), ("remote_wport", remote_wport)):
            if value is not None and not 0 <= value <= 0xFFFF:
                raise ValueError(f"{name} {value} does not fit in 16 bits")
        if remote_wport is None and role == "client":
            raise ValueError("a client must know the server's wPort")
        self.local_wport = local_wport
        self.remote_wport = remote_wport
        self.transport: Literal["tcp", "udp"] = transport
        self.role: Literal["client", "server"] = role
        self.strict = strict
        self.max_apdu_length = max_apdu_length
        self.state = WrapperState.IDLE
        self.dropped_datagrams = 0
        self.unexpected_frames = 0
        self.last_error: WrapperError | None = None
        self._splitter = WrapperSplitter(max_apdu_length)
        self._outgoing: list[bytes] = []
        self._events: list[LinkEvent] = []

    # -- Link protocol -------------------------------------------------------------------

    def connect(self, now: float) -> None:
        """Establish the link: a ``LinkEstablished`` event at once (no handshake)."""
        if self.state is WrapperState.ESTABLISHED:
            return
        if self.state is WrapperState.CLOSED:
            self._splitter.reset()
        self.state = WrapperState.ESTABLISHED
        self._events.append(LinkEstablished(None, None))

    def send_apdu(self, apdu: bytes, now: float) -> None:
        """Queue ``apdu`` as one wrapper frame to the remote wPort."""
        if self.state is not WrapperState.ESTABLISHED:
            raise LinkError(f"cannot send an APDU: the wrapper link is {self.state.value}")
        if self.remote_wport is None:
            raise LinkError(
                "cannot send an APDU: the remote wPort is not known yet (no frame received)"
            )
        self._outgoing.append(encode_frame(self.local_wport, self.remote_wport, apdu))

    def send_apdu_to(self, apdu: bytes, destination_wport: int) -> None:
        """Queue ``apdu`` to another wPort (a push, or an answer to an unsolicited frame)."""
        if self.state is not WrapperState.ESTABLISHED:
            raise LinkError(f"cannot send an APDU: the wrapper link is {self.state.value}")
        self._outgoing.append(WrapperFrame(self.local_wport, destination_wport, apdu).encode())

    def no_reply(self, now: float) -> None:
        """Nothing to do: the wrapper has no poll to give back (see asyncdlms.link.Link)."""

    awaits_reply = False
    """:meth:`await_reply` does nothing: a session need not call it (see
    asyncdlms.link.Link.await_reply)."""

    def await_reply(self, now: float) -> None:
        """Nothing to do: the server sends whenever it likes (see asyncdlms.link.Link)."""

    def disconnect(self, now: float) -> None:
        """Close the link at once: ``LinkClosed(None)``. Queued data can still be taken."""
        if self.state is WrapperState.CLOSED:
            return
        self.state = WrapperState.CLOSED
        self._splitter.reset()
        self._events.append(LinkClosed(None))

    def receive_data(self, data: bytes, now: float) -> None:
        """Feed received bytes (TCP: any slicing; UDP: exactly one datagram per call)."""
        if self.state is WrapperState.CLOSED:
            return
        if self.transport == "udp":
            try:
                frame = decode_datagram(data, self.max_apdu_length)
            except WrapperError as error:
                self.dropped_datagrams += 1
                self.last_error = error
                return
            self._deliver(frame.source_wport, frame.destination_wport, frame.apdu)
            return
        if type(data) is bytes:
            single = self._splitter.take_single(data)
            if single is not None:  # the common read: one whole frame, no frame object
                self._deliver(*single)
                return
        try:
            frames = self._splitter.feed(data)
        except WrapperStreamError as error:
            for frame in error.frames:
                self._deliver(frame.source_wport, frame.destination_wport, frame.apdu)
            self.last_error = error
            self.state = WrapperState.CLOSED
            self._events.append(LinkClosed(error))
            return
        for frame in frames:
            self._deliver(frame.source_wport, frame.destination_wport, frame.apdu)

    def data_to_send(self) -> bytes:
        """All queued frames as one byte string (for TCP)."""
        data = b"".join(self._outgoing)
        self._outgoing.clear()
        return data

    def datagrams_to_send(self) -> list[bytes]:
        """The queued frames, one element each (for UDP: one datagram each)."""
        datagrams = self._outgoing
        self._outgoing = []
        return datagrams

    def events(self) -> list[LinkEvent]:
        """The events since the last call."""
        events = self._events
        self._events = []
        return events

    def next_deadline(self) -> float | None:
        """Always ``None``: the wrapper has no timers."""
        return None

    def handle_timer(self, now: float) -> None:
        """Nothing to do: the wrapper has no timers."""

    # -- diagnostics ----------------------------------------------------------------------

    @property
    def received_frames(self) -> int:
        """Frames received so far on a TCP stream."""
        return self._splitter.frames

    @property
    def buffered_bytes(self) -> int:
        """Bytes of a TCP frame begun and not yet complete (0 between frames)."""
        return self._splitter.buffered

    # -- internals ------------------------------------------------------------------------

    def _deliver(self, source: int, destination: int, apdu: bytes) -> None:
        remote = self.remote_wport
        expected = destination == self.local_wport and (remote is None or source == remote)
        if expected and remote is None:
            self.remote_wport = source
        if not expected and self.strict:
            self.unexpected_frames += 1
            return
        self._events.append(apdu_received(apdu, not expected, source, destination))
