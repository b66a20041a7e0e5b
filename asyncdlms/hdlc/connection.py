"""The HDLC link (IEC 62056-46) as a sans-IO :class:`asyncdlms.link.Link`.

:class:`HdlcConnection` runs the link in either station role:

- **client** (primary station): sends SNRM with its proposed parameters, takes the
  negotiated ones from the UA, sends I-frames and polls, retransmits when the response
  timer expires, disconnects with DISC;
- **server** (secondary station): answers SNRM with UA (each parameter the minimum of both
  proposals), answers every poll, never transmits on its own and never runs a response
  timer.

What happens in which state is the table :data:`asyncdlms.hdlc._state.TRANSITIONS`; this
module classifies each input (a local call, a received frame, an expired timer), looks the
transition up and executes its actions.

Normal response mode in one paragraph: the *poll* bit is a token. The client may transmit
while it holds it; it sends up to ``window_size_tx`` I-frames and sets P on the last one,
handing the token to the server. The server answers with up to its window of I-frames (or
an RR when it has nothing to say) and sets F on the last one, handing the token back.
N(S) numbers I-frames modulo 8, N(R) acknowledges every frame before it. A frame whose N(S)
is not the expected one is discarded; at the next P/F the receiver answers with its
expected N(R) and the sender goes back to that frame (go-back-N). Long APDUs are split into
I-frames with the segmentation bit set on all but the last (the LLC header only in the
first), and the receiver acknowledges each window of segments with RR.

A server holds the token after a complete APDU until its application answers with
:meth:`HdlcConnection.send_apdu` (the answer is the acknowledgement), so a server-role
application must answer every APDU it receives, as DLMS services do.

Outgoing I-frames are built lazily, when :meth:`HdlcConnection.data_to_send`,
:meth:`HdlcConnection.datagrams_to_send` or :meth:`HdlcConnection.next_deadline` is
called, so that several APDUs queued one after another go out in one window.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from ..errors import (
    AddressMismatchError,
    ConnectionRejectedError,
    DecodeError,
    DlmsError,
    FrameRejectedError,
    LinkError,
    LinkTimeoutError,
    SequenceError,
)
from ..link import ApduReceived, LinkClosed, LinkEstablished, LinkEvent
from ._state import Action, LinkInput, LinkState, Role, lookup
from .addresses import HdlcAddress
from .frames import LLC_REQUEST, LLC_RESPONSE, MAX_FRAME_LENGTH, Frame, FrameType
from .parameters import HdlcParameters
from .splitter import FrameSplitter

__all__ = ["HdlcConnection", "HdlcSettings"]

_MODULUS = 8
#: Frame types a station never receives from its peer: one of these equal to a frame we sent
#: is our own echo, whatever the addresses (a client never gets SNRM or DISC from a meter, a
#: meter never gets UA, DM or FRMR from a client).
_NEVER_FROM_PEER = {
    Role.CLIENT: frozenset({FrameType.SNRM, FrameType.DISC}),
    Role.SERVER: frozenset({FrameType.UA, FrameType.DM, FrameType.FRMR}),
}
_DEFAULT_PARAMETERS = HdlcParameters()

_INPUT_BY_FRAME_TYPE: dict[FrameType, LinkInput] = {
    FrameType.I: LinkInput.I,
    FrameType.RR: LinkInput.RR,
    FrameType.RNR: LinkInput.RNR,
    FrameType.SNRM: LinkInput.SNRM,
    FrameType.DISC: LinkInput.DISC,
    FrameType.UA: LinkInput.UA,
    FrameType.DM: LinkInput.DM,
    FrameType.FRMR: LinkInput.FRMR,
    FrameType.UI: LinkInput.UI,
}


@dataclass(frozen=True, slots=True)
class HdlcSettings:
    """How an :class:`HdlcConnection` is configured.

    - ``client_address``: the client station (1 byte, e.g. ``HdlcAddress.client(16)``).
      A server may pass ``None`` to accept an SNRM from any client; the link then binds
      to the client that sent it.
    - ``server_address``: the server station; a server answers only frames for it. The
      address length the server answers with does not matter (quirk 1).
    - ``role``: :attr:`Role.CLIENT` (primary station) or :attr:`Role.SERVER` (secondary).
    - ``parameters``: this station's proposal, seen from this station (its transmit and
      receive maximum information field lengths and window sizes). A client sends an SNRM
      without information field when all four are the defaults (128, 128, 1, 1).
    - ``response_timeout``: seconds a client waits for the answer to a poll before it
      retransmits.
    - ``max_retransmissions``: retransmissions before ``LinkClosed(LinkTimeoutError)``;
      also the number of consecutive out-of-sequence windows tolerated before
      ``LinkClosed(SequenceError)``.
    - ``inactivity_timeout``: seconds without traffic after which a server drops the link
      and a client reports it dropped (``LinkClosed(LinkTimeoutError)``); ``None`` or
      ``0`` switch it off. Meters default to 120 s (HDLC setup, quirk 12).
    - ``max_frame_length``: the largest frame accepted from the peer, both flags included
      (a guard for the frame splitter; at most 2049).
    - ``max_apdu_length``: the largest APDU reassembled from segments (a memory guard well
      above the 65535-byte xDLMS maximum PDU); a longer one ends the link with
      :class:`~asyncdlms.errors.DecodeError`, a longer push is dropped.
    """

    client_address: HdlcAddress | None
    server_address: HdlcAddress
    role: Role = Role.CLIENT
    parameters: HdlcParameters = _DEFAULT_PARAMETERS
    response_timeout: float = 3.0
    max_retransmissions: int = 3
    inactivity_timeout: float | None = None
    max_frame_length: int = MAX_FRAME_LENGTH + 2
    max_apdu_length: int = 0x20000

    def __post_init__(self) -> None:
        if self.role is Role.CLIENT and self.client_address is None:
            raise ValueError("a client needs its client_address")
        if self.response_timeout <= 0:
            raise ValueError(f"response_timeout must be positive, not {self.response_timeout}")
        if self.max_retransmissions < 0:
            raise ValueError(
                f"max_retransmissions must be 0 or more, not {self.max_retransmissions}"
            )
        if self.inactivity_timeout is not None and self.inactivity_timeout < 0:
            raise ValueError(
                f"inactivity_timeout must be positive, 0 or None, not {self.inactivity_timeout}"
            )


class _Failure(Exception):
    """Raised by an action that found an unrecoverable error; becomes LinkInput.FAILURE."""

    def __init__(self, error: DlmsError) -> None:
        super().__init__(str(error))
        self.error = error


class HdlcConnection:
    """A sans-IO HDLC link in client or server role; implements :class:`asyncdlms.link.Link`.

    Counters for diagnostics: ``dropped_frames`` (bad frames dropped by the splitter),
    ``echoes_dropped`` (our own frames echoed back), ``protocol_violations`` (frames that
    make no sense in the current state), ``duplicates_dropped`` (I-frames received twice),
    ``retransmissions`` and ``sequence_errors``.
    """

    _awaiting_reply: bool  # server: an APDU was delivered and its answer is awaited

    def __init__(self, settings: HdlcSettings) -> None:
        self.settings = settings
        self.role = settings.role
        self.state = LinkState.DISCONNECTED
        #: The negotiated parameters, seen from this station (defaults until negotiated).
        self.negotiated = HdlcParameters()
        self.echoes_dropped = 0
        self.duplicates_dropped = 0
        self.protocol_violations = 0
        self.retransmissions = 0
        self.sequence_errors = 0
        self._splitter = FrameSplitter(settings.max_frame_length)
        self._peer_client: HdlcAddress | None = settings.client_address
        self._now = 0.0
        self._outgoing: list[bytes] = []
        self._events: list[LinkEvent] = []
        # Frames sent since the last frame received: only these can come back as an echo
        # (a line echoes a frame while it is sent, before anyone answers it).
        self._echo_candidates: deque[Frame] = deque(maxlen=2 * _MODULUS)
        self._line_echoes = False  # an echo was seen: this line echoes what we send
        self._unsolicited: dict[tuple[int, int], bytearray] = {}
        # Timers (client response timer, inactivity timer of both roles).
        self._response_deadline: float | None = None
        self._inactivity_deadline: float | None = None
        self._retries = 0
        self._frame: Frame | None = None  # the frame being handled
        self._apdu = b""  # the APDU being queued
        self._input = LinkInput.CONNECT  # the input being handled
        self._failure: DlmsError | None = None
        self._reset_sequence()

    # ----------------------------------------------------------------- Link protocol

    def connect(self, now: float) -> None:
        """Client: send SNRM and wait for UA. Server: nothing to do (it waits for SNRM)."""
        self._now = now
        self._handle(LinkInput.CONNECT)

    def send_apdu(self, apdu: bytes, now: float) -> None:
        """Queue one APDU; it is segmented into I-frames as the negotiated length requires.

        Raises :class:`~asyncdlms.errors.LinkError` when the link is not (being) set up.
        """
        self._now = now
        self._apdu = bytes(apdu)
        self._handle(LinkInput.SEND)

    def no_reply(self, now: float) -> None:
        """Server: the application will not answer the APDU just delivered (an unconfirmed
        service, a request it drops): give the poll back with RR instead of holding it for
        an answer that never comes. Nothing happens in the client role or when no answer
        is awaited."""
        self._now = now
        if self.role is Role.SERVER and self._awaiting_reply:
            self._awaiting_reply = False

    def await_reply(self, now: float) -> None:
        """Client: the application waits for an answer. A link that holds the poll with
        nothing to send and no timer polls the server with RR after the response timeout:
        a server that sends one I-frame per poll may hold the answer behind a frame it sent
        first (a late answer to a cancelled request, a push), and only a poll brings it.
        Nothing happens in the server role or while frames or a poll are under way."""
        self._now = now
        if (
            self.role is Role.CLIENT
            and self.state is LinkState.CONNECTED
            and self._holds_token
            and self._response_deadline is None
            and not (self._unacknowledged or self._segments or self._apdus)
        ):
            self._response_deadline = now + self.settings.response_timeout

    def disconnect(self, now: float) -> None:
        """Client: send DISC (orderly disconnect). Server: drop the link (DM to later polls)."""
        self._now = now
        self._handle(LinkInput.DISCONNECT)

    def receive_data(self, data: bytes, now: float) -> None:
        """Feed received bytes in any slicing. Never raises for bad input."""
        self._now = now
        for frame in self._splitter.feed(data):
            self._frame = frame
            try:
                self._handle(self._classify(frame))
            finally:
                self._frame = None

    def data_to_send(self) -> bytes:
        """Return (and forget) the bytes to write now."""
        return b"".join(self.datagrams_to_send())

    def datagrams_to_send(self) -> list[bytes]:
        """Return (and forget) the frames to write now, one element per frame."""
        self._pump()
        outgoing, self._outgoing = self._outgoing, []
        return outgoing

    def events(self) -> list[LinkEvent]:
        """Return (and forget) the events since the last call."""
        events, self._events = self._events, []
        return events

    def next_deadline(self) -> float | None:
        """When :meth:`handle_timer` must be called next (``None``: no timer runs)."""
        self._pump()
        deadlines = [
            deadline
            for deadline in (self._response_deadline, self._inactivity_deadline)
            if deadline is not None
        ]
        return min(deadlines) if deadlines else None

    def handle_timer(self, now: float) -> None:
        """Let the timers that expired by ``now`` act."""
        self._now = now
        self._pump()
        if self._response_deadline is not None and now >= self._response_deadline:
            self._response_deadline = None
            if self._retries < self.settings.max_retransmissions:
                self._retries += 1
                self.retransmissions += 1
                self._handle(LinkInput.TIMEOUT)
            else:
                self._handle(LinkInput.RETRIES_EXHAUSTED)
        if self._inactivity_deadline is not None and now >= self._inactivity_deadline:
            self._inactivity_deadline = None
            self._handle(LinkInput.INACTIVITY)

    # ----------------------------------------------------------------- diagnostics

    @property
    def dropped_frames(self) -> int:
        """Frames the splitter dropped for a bad HCS, FCS, address or control field."""
        return self._splitter.dropped_frames

    @property
    def peer_address(self) -> HdlcAddress | None:
        """The peer station: a server's client once its SNRM bound the link (else ``None``)."""
        return self._peer_client

    @property
    def received_frames(self) -> int:
        """Verified frames received so far (whatever they were)."""
        return self._splitter.frames

    @property
    def buffered_bytes(self) -> int:
        """Bytes of a frame begun and not yet complete (0 between frames)."""
        return self._splitter.buffered

    @property
    def discarded_bytes(self) -> int:
        """Received bytes that belonged to no frame (line noise, bad frames)."""
        return self._splitter.discarded_bytes

    @property
    def max_info_length_tx(self) -> int:
        """The negotiated largest information field this station sends."""
        return self.negotiated.max_info_length_tx

    @property
    def max_info_length_rx(self) -> int:
        """The negotiated largest information field this station receives."""
        return self.negotiated.max_info_length_rx

    # ----------------------------------------------------------------- the machine

    def _handle(self, link_input: LinkInput) -> None:
        """Look the transition up and execute it; a failing action feeds FAILURE."""
        self._input = link_input
        transition = lookup(self.role, self.state, link_input)
        try:
            for action in transition.actions:
                self._ACTIONS[action](self)
        except _Failure as failure:
            self._failure = failure.error
            self._handle(LinkInput.FAILURE)
            return
        self._set_state(transition.next_state)

    def _set_state(self, state: LinkState) -> None:
        self.state = state
        if state is not LinkState.CONNECTED:
            self._inactivity_deadline = None
        if state in (LinkState.DISCONNECTED, LinkState.CLOSED):
            self._response_deadline = None

    def _is_echo(self, frame: Frame) -> bool:
        """Whether ``frame`` is our own, echoed by the line (quirk 7: optical heads). Only a
        frame sent since the last one received can be. When our address and the peer's are
        the same bytes (client SAP 1 and a meter at logical address 1, one byte each), the
        peer's RR can be byte for byte one of ours: such a frame is an echo only once the
        line has shown it echoes (an echoed SNRM, UA or any frame with distinct addresses)."""
        if frame not in self._echo_candidates:
            return False
        if (
            frame.destination != frame.source
            or self._line_echoes
            or frame.frame_type in _NEVER_FROM_PEER[self.role]
        ):
            self._line_echoes = True
            self._echo_candidates.remove(frame)
            return True
        return False

    def _classify(self, frame: Frame) -> LinkInput:
        """Turn a received frame into a LinkInput, by its addresses first, then its type."""
        if self._is_echo(frame):
            self.echoes_dropped += 1
            return LinkInput.ECHO
        self._echo_candidates.clear()
        if frame.frame_type is FrameType.UI:
            return LinkInput.UI
        server = self.settings.server_address
        if self.role is Role.CLIENT:
            client = self.settings.client_address
            assert client is not None  # checked by HdlcSettings
            if frame.destination.logical != client.logical:
                return LinkInput.FOREIGN
            if not frame.source.same_station(server):
                return LinkInput.ADDRESS_MISMATCH
        else:
            if not frame.destination.same_station(server):
                return LinkInput.FOREIGN
            if frame.frame_type is FrameType.SNRM:
                configured = self.settings.client_address
                if configured is not None and frame.source.logical != configured.logical:
                    return LinkInput.ADDRESS_MISMATCH
            elif self._peer_client is not None and (
                frame.source.logical != self._peer_client.logical
            ):
                return LinkInput.ADDRESS_MISMATCH
        return _INPUT_BY_FRAME_TYPE[frame.frame_type]

    # ----------------------------------------------------------------- state of the link

    def _reset_sequence(self) -> None:
        self._send_state = 0  # V(S): N(S) of the next new I-frame
        self._receive_state = 0  # V(R): N(S) expected next
        self._unacknowledged: deque[Frame] = deque()
        self._segments: deque[tuple[bytes, bool]] = deque()
        self._apdus: deque[bytes] = deque()
        self._reassembly: bytearray | None = None
        self._holds_token = False
        self._peer_busy = False
        self._retransmit_needed = False
        self._acknowledge_needed = False
        self._out_of_sequence = False
        self._awaiting_reply = False
        self._consecutive_sequence_errors = 0
        self._retries = 0
        self._response_deadline = None

    @property
    def _own_address(self) -> HdlcAddress:
        if self.role is Role.CLIENT:
            assert self.settings.client_address is not None
            return self.settings.client_address
        return self.settings.server_address

    @property
    def _peer_address(self) -> HdlcAddress:
        if self.role is Role.CLIENT:
            return self.settings.server_address
        assert self._peer_client is not None
        return self._peer_client

    def _send_frame(self, frame: Frame) -> None:
        self._outgoing.append(frame.encode())
        self._echo_candidates.append(frame)
        if self.role is Role.CLIENT and self.state is LinkState.CONNECTED:
            self._touch_inactivity()
        if frame.poll_final and self.role is Role.CLIENT:
            self._response_deadline = self._now + self.settings.response_timeout

    def _control_frame(
        self, frame_type: FrameType, information: bytes = b"", poll_final: bool = True
    ) -> Frame:
        return Frame(
            frame_type,
            self._peer_address,
            self._own_address,
            poll_final=poll_final,
            information=information,
        )

    def _touch_inactivity(self) -> None:
        timeout = self.settings.inactivity_timeout
        self._inactivity_deadline = self._now + timeout if timeout else None

    def _answer_received(self) -> None:
        """A frame with the F bit from the server: the poll is answered."""
        self._response_deadline = None
        self._retries = 0

    # ----------------------------------------------------------------- actions

    def _ignore(self) -> None:
        return

    def _protocol_violation(self) -> None:
        self.protocol_violations += 1

    def _reject_command(self) -> None:
        what = {LinkInput.CONNECT: "connect", LinkInput.SEND: "send an APDU"}.get(
            self._input, self._input.value
        )
        raise LinkError(
            f"cannot {what} while the HDLC link is {self.state.value} ({self.role.value} role)"
        )

    def _act_reset_sequence(self) -> None:
        self._reset_sequence()
        self._unsolicited.clear()
        self.negotiated = HdlcParameters()

    def _send_snrm(self) -> None:
        self._retries = 0
        self._resend_snrm()

    def _resend_snrm(self) -> None:
        information = self.settings.parameters.encode(omit_defaults=True)
        self._send_frame(self._control_frame(FrameType.SNRM, information))

    def _accept_ua_parameters(self) -> None:
        frame = self._current_frame()
        try:
            server = HdlcParameters.decode(frame.information)
        except DecodeError as error:
            raise _Failure(error) from error
        # The UA speaks for the server: its transmit length is our receive length.
        self.negotiated = HdlcParameters(
            max_info_length_tx=server.max_info_length_rx,
            max_info_length_rx=server.max_info_length_tx,
            window_size_tx=server.window_size_rx,
            window_size_rx=server.window_size_tx,
        )
        self._answer_received()
        self._holds_token = True

    def _send_ua_with_parameters(self) -> None:
        frame = self._current_frame()
        try:
            client = HdlcParameters.decode(frame.information)
        except DecodeError as error:
            # A malformed SNRM is not answered; the client will retry or give up.
            self.protocol_violations += 1
            raise _Failure(error) from error
        own = self.settings.parameters
        self._peer_client = HdlcAddress.client(frame.source.logical)
        self.negotiated = HdlcParameters(
            max_info_length_tx=min(own.max_info_length_tx, client.max_info_length_rx),
            max_info_length_rx=min(own.max_info_length_rx, client.max_info_length_tx),
            window_size_tx=min(own.window_size_tx, client.window_size_rx),
            window_size_rx=min(own.window_size_rx, client.window_size_tx),
        )
        self._send_frame(self._control_frame(FrameType.UA, self.negotiated.encode()))

    def _send_ua(self) -> None:
        self._send_frame(self._control_frame(FrameType.UA))

    def _send_dm(self) -> None:
        frame = self._current_frame()
        if frame.poll_final:
            self._send_frame(
                Frame(FrameType.DM, frame.source, self.settings.server_address, poll_final=True)
            )

    def _send_disc(self) -> None:
        self._retries = 0
        self._apdus.clear()
        self._segments.clear()
        self._resend_disc()

    def _resend_disc(self) -> None:
        self._send_frame(self._control_frame(FrameType.DISC))

    def _emit_established(self) -> None:
        self._touch_inactivity()
        self._events.append(
            LinkEstablished(self.negotiated.max_info_length_tx, self.negotiated.max_info_length_rx)
        )

    def _queue_apdu(self) -> None:
        self._apdus.append(self._apdu)

    def _receive_information(self) -> None:
        frame = self._current_frame()
        self._touch_inactivity()
        assert frame.send_sequence is not None and frame.receive_sequence is not None
        self._release_acknowledged(frame.receive_sequence)
        if frame.send_sequence == self._receive_state:
            self._receive_state = (self._receive_state + 1) % _MODULUS
            self._consecutive_sequence_errors = 0
            self._reassemble(frame)
        elif (
            0
            < (frame.send_sequence - self._receive_state) % _MODULUS
            < max(self.negotiated.window_size_rx, 2)
        ):
            # Ahead of V(R) within the window: frames before it were lost.
            self._out_of_sequence = True
        else:
            # Behind V(R): a repeat of a frame we already have (a retransmission crossing
            # our answer, or a duplicate on the line). Discard it; no RR is needed for it.
            self.duplicates_dropped += 1
        if frame.poll_final:
            self._token_received()

    def _receive_ready(self) -> None:
        frame = self._current_frame()
        self._touch_inactivity()
        assert frame.receive_sequence is not None
        self._release_acknowledged(frame.receive_sequence)
        self._peer_busy = False
        if frame.poll_final:
            self._token_received()

    def _receive_not_ready(self) -> None:
        frame = self._current_frame()
        self._touch_inactivity()
        assert frame.receive_sequence is not None
        self._release_acknowledged(frame.receive_sequence)
        self._peer_busy = True
        if frame.poll_final:
            self._token_received()

    def _deliver_unsolicited(self) -> None:
        frame = self._current_frame()
        if frame.frame_type not in (FrameType.I, FrameType.UI):
            return
        source, destination = frame.source.to_int(), frame.destination.to_int()
        key = (source, destination)
        buffer = self._unsolicited.pop(key, None)
        if buffer is None:
            buffer = bytearray(_strip_llc(frame.information))
        else:
            buffer += frame.information
        if len(buffer) > self.settings.max_apdu_length:
            self.protocol_violations += 1  # an endless push: drop what we have
            return
        if frame.segmented:
            self._unsolicited[key] = buffer
            return
        self._events.append(
            ApduReceived(bytes(buffer), unsolicited=True, source=source, destination=destination)
        )

    def _retransmit(self) -> None:
        """Client: the poll went unanswered; take the token back and repeat."""
        self._holds_token = True
        if self._unacknowledged:
            self._retransmit_needed = True
        elif not (self._segments or self._apdus) or self._peer_busy:
            self._acknowledge_needed = True  # poll with RR (lost RR, busy peer, lost answer)

    def _close(self, error: DlmsError | None) -> None:
        self._apdus.clear()
        self._segments.clear()
        self._unacknowledged.clear()
        self._holds_token = False
        self._response_deadline = None
        self._inactivity_deadline = None
        self._events.append(LinkClosed(error))

    def _close_orderly(self) -> None:
        self._close(None)

    def _close_rejected(self) -> None:
        self._close(
            ConnectionRejectedError(
                f"the server {self.settings.server_address} answered SNRM with DM "
                "(disconnected mode): it refuses the link; check the server and client "
                "addresses"
            )
        )

    def _close_peer_disconnected(self) -> None:
        self._close(
            LinkError(
                "the server answered with DM: it is in disconnected mode (it dropped the link, "
                "e.g. after its inactivity timeout)"
            )
        )

    def _close_frame_rejected(self) -> None:
        information = self._current_frame().information
        detail = f" (FRMR information {information.hex(' ').upper()})" if information else ""
        self._close(FrameRejectedError(f"the peer rejected a frame with FRMR{detail}"))

    def _close_timed_out(self) -> None:
        # An unanswered SNRM cannot be told apart from a wrong address (QUIRKS.md 1): the
        # message names the likely causes, as the error a user sees first.
        causes = (
            ": if the server address (logical or physical) is wrong the meter does not "
            "answer at all; also check the port, the baud rate, the cable or the optical head"
            if self.state is LinkState.CONNECTING
            else ""
        )
        self._close(
            LinkTimeoutError(
                f"no answer from {self.settings.server_address} within "
                f"{self.settings.response_timeout} s after "
                f"{self.settings.max_retransmissions} retransmissions{causes}"
            )
        )

    def _close_inactive(self) -> None:
        self._close(
            LinkTimeoutError(
                f"no traffic for {self.settings.inactivity_timeout} s (inactivity timeout); "
                "the link is dropped"
            )
        )

    def _close_address_mismatch(self) -> None:
        frame = self._current_frame()
        self._close(
            AddressMismatchError(
                f"a {frame.frame_type.name} frame for client {frame.destination} came from "
                f"server {frame.source}, expected {self.settings.server_address}"
            )
        )

    def _close_failed(self) -> None:
        error = self._failure or LinkError("the HDLC link failed")
        self._failure = None
        self._close(error)

    # ----------------------------------------------------------------- sequence handling

    def _current_frame(self) -> Frame:
        assert self._frame is not None, "a frame action ran without a frame"
        return self._frame

    def _release_acknowledged(self, receive_sequence: int) -> None:
        """Drop the I-frames acknowledged by N(R); an N(R) outside the window is fatal."""
        base = self._unacknowledged[0].send_sequence if self._unacknowledged else self._send_state
        assert base is not None
        count = (receive_sequence - base) % _MODULUS
        if count > len(self._unacknowledged):
            self.sequence_errors += 1
            raise _Failure(
                SequenceError(
                    f"N(R)={receive_sequence} acknowledges frames that were never sent "
                    f"(V(S)={self._send_state}, oldest unacknowledged N(S)={base})"
                )
            )
        for _ in range(count):
            self._unacknowledged.popleft()

    def _reassemble(self, frame: Frame) -> None:
        if self._reassembly is None:
            self._reassembly = bytearray(_strip_llc(frame.information))
        else:
            self._reassembly += frame.information
        if len(self._reassembly) > self.settings.max_apdu_length:
            self._reassembly = None
            raise _Failure(
                DecodeError(
                    f"segmented APDU longer than max_apdu_length "
                    f"({self.settings.max_apdu_length} bytes)"
                )
            )
        if frame.segmented:
            return
        apdu, self._reassembly = bytes(self._reassembly), None
        self._events.append(
            ApduReceived(
                apdu,
                unsolicited=False,
                source=frame.source.to_int(),
                destination=frame.destination.to_int(),
            )
        )
        self._awaiting_reply = self.role is Role.SERVER

    def _token_received(self) -> None:
        """The peer set P (to a server) or F (to a client): we may transmit now."""
        self._holds_token = True
        if self.role is Role.CLIENT:
            self._answer_received()
        if self._unacknowledged:
            self._retransmit_needed = True
        if self._out_of_sequence:
            self._out_of_sequence = False
            # Repeats of a request our application has not answered yet need no RR (the
            # answer will carry our N(R)) and are no error; anything else is answered with
            # RR N(R)=V(R), asking the peer to go back to the first frame we missed.
            if not self._awaiting_reply:
                self._sequence_error()
        if self._reassembly is not None:
            self._acknowledge_needed = True  # ask for the next segments

    def _sequence_error(self) -> None:
        self.sequence_errors += 1
        self._consecutive_sequence_errors += 1
        # The client, which owns the retry count, gives up after max_retransmissions windows
        # in a row without progress; a server keeps answering with RR N(R) (meters do).
        if (
            self.role is Role.CLIENT
            and self._consecutive_sequence_errors > self.settings.max_retransmissions
        ):
            raise _Failure(
                SequenceError(
                    f"{self._consecutive_sequence_errors} windows in a row arrived out of "
                    f"sequence (expected N(S)={self._receive_state})"
                )
            )
        self._acknowledge_needed = True

    def _pump(self) -> None:
        """Transmit what the token allows: a window of I-frames, else RR when required."""
        if self.state is not LinkState.CONNECTED or not self._holds_token:
            return
        burst: list[Frame] = []
        if not self._peer_busy:
            window = self.negotiated.window_size_tx
            if self._retransmit_needed:
                self._retransmit_needed = False
                burst.extend(self._unacknowledged)
                self._unacknowledged.clear()
                if burst:
                    self._send_state = burst[0].send_sequence or 0
            while len(self._unacknowledged) + len(burst) < window and self._next_segment():
                information, segmented = self._segments.popleft()
                burst.append(
                    Frame(
                        FrameType.I,
                        self._peer_address,
                        self._own_address,
                        poll_final=False,
                        send_sequence=0,
                        receive_sequence=0,
                        segmented=segmented,
                        information=information,
                    )
                )
        if burst:
            last = len(burst) - 1
            for index, template in enumerate(burst):
                frame = dataclasses.replace(
                    template,
                    send_sequence=self._send_state,
                    receive_sequence=self._receive_state,
                    poll_final=index == last,
                )
                self._send_state = (self._send_state + 1) % _MODULUS
                self._unacknowledged.append(frame)
                self._send_frame(frame)
            self._pass_token()
            return
        if self.role is Role.CLIENT:
            if self._acknowledge_needed or (self._peer_busy and self._response_deadline is None):
                if self._acknowledge_needed:
                    self._send_receive_ready()
                else:  # busy peer: poll it again after the response timeout
                    self._response_deadline = self._now + self.settings.response_timeout
            return
        if self._acknowledge_needed or not self._awaiting_reply:
            self._send_receive_ready()

    def _send_receive_ready(self) -> None:
        self._send_frame(
            Frame(
                FrameType.RR,
                self._peer_address,
                self._own_address,
                poll_final=True,
                receive_sequence=self._receive_state,
            )
        )
        self._pass_token()

    def _pass_token(self) -> None:
        self._holds_token = False
        self._acknowledge_needed = False
        self._awaiting_reply = False

    def _next_segment(self) -> bool:
        """Make sure a segment is queued if an APDU waits; False when nothing is left."""
        if self._segments:
            return True
        if not self._apdus:
            return False
        apdu = self._apdus.popleft()
        llc = LLC_REQUEST if self.role is Role.CLIENT else LLC_RESPONSE
        size = self._segment_size()
        information = llc + apdu
        chunks = [
            information[offset : offset + size] for offset in range(0, len(information), size)
        ]
        for index, chunk in enumerate(chunks):
            self._segments.append((chunk, index < len(chunks) - 1))
        return True

    def _segment_size(self) -> int:
        """The largest information field: negotiated, and within the 11-bit frame length."""
        overhead = 2 + self._peer_address.length + self._own_address.length + 1 + 2 + 2
        return max(1, min(self.negotiated.max_info_length_tx, MAX_FRAME_LENGTH - overhead))

    _ACTIONS: ClassVar[dict[Action, Callable[[HdlcConnection], None]]] = {
        Action.IGNORE: _ignore,
        Action.PROTOCOL_VIOLATION: _protocol_violation,
        Action.REJECT_COMMAND: _reject_command,
        Action.RESET_SEQUENCE: _act_reset_sequence,
        Action.SEND_SNRM: _send_snrm,
        Action.RESEND_SNRM: _resend_snrm,
        Action.ACCEPT_UA_PARAMETERS: _accept_ua_parameters,
        Action.SEND_UA_WITH_PARAMETERS: _send_ua_with_parameters,
        Action.SEND_UA: _send_ua,
        Action.SEND_DM: _send_dm,
        Action.SEND_DISC: _send_disc,
        Action.RESEND_DISC: _resend_disc,
        Action.EMIT_ESTABLISHED: _emit_established,
        Action.QUEUE_APDU: _queue_apdu,
        Action.RECEIVE_INFORMATION: _receive_information,
        Action.RECEIVE_READY: _receive_ready,
        Action.RECEIVE_NOT_READY: _receive_not_ready,
        Action.DELIVER_UNSOLICITED: _deliver_unsolicited,
        Action.RETRANSMIT: _retransmit,
        Action.CLOSE_ORDERLY: _close_orderly,
        Action.CLOSE_REJECTED: _close_rejected,
        Action.CLOSE_PEER_DISCONNECTED: _close_peer_disconnected,
        Action.CLOSE_FRAME_REJECTED: _close_frame_rejected,
        Action.CLOSE_TIMED_OUT: _close_timed_out,
        Action.CLOSE_INACTIVE: _close_inactive,
        Action.CLOSE_ADDRESS_MISMATCH: _close_address_mismatch,
        Action.CLOSE_FAILED: _close_failed,
    }


def _strip_llc(information: bytes) -> bytes:
    """Remove an LLC header (E6 E6 00 or E6 E7 00) when present; meters are not uniform."""
    if information[:3] in (LLC_REQUEST, LLC_RESPONSE):
        return information[3:]
    return information
