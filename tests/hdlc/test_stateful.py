"""The HDLC link as a state machine under hypothesis: a client and a server station (sans-IO)
over an in-memory line that loses, duplicates, reorders and corrupts frames, with a fake
clock that only moves when a rule says so.

Hypothesis picks the interleaving: which frame in flight is delivered next (any of them:
reordering), dropped, duplicated or corrupted, when the server answers, when time jumps to
the next deadline (retransmissions, retries exhausted), when the client disconnects, when
the server drops the link, when the client connects again. Whatever it picks:

- the server receives the client's APDUs exactly once and in order (a prefix of what was
  sent), the client the server's answers likewise;
- each connection ends in at most one ``LinkClosed`` and nothing is delivered after it;
- nothing gets stuck: from any state, a healed line and the timers bring every request to
  its answer or the link to a close (checked at the end of every run).
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import event as statistics_event
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from asyncdlms.errors import DlmsError
from asyncdlms.hdlc import HdlcAddress, HdlcConnection, HdlcParameters, HdlcSettings, Role
from asyncdlms.link import ApduReceived, LinkClosed, LinkEstablished

CLIENT = HdlcAddress.client(16)
SERVER = HdlcAddress.server(1, 17)
#: steps the healed line may take to settle (each step delivers frames or fires a timer)
SETTLE_STEPS = 2_000
PARAMETERS = st.builds(
    HdlcParameters, st.integers(32, 200), st.integers(32, 200), st.integers(1, 7), st.integers(1, 7)
)
RETRIES = st.integers(0, 5)
#: what the line does to a frame: mostly carried, sometimes harmed
FATES = st.sampled_from(["deliver"] * 5 + ["drop", "duplicate", "corrupt"])


def reply_to(request: bytes) -> bytes:
    return b"\xc4" + request[::-1]


class HdlcLink(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.client: HdlcConnection | None = None
        self.server = HdlcConnection(
            HdlcSettings(None, SERVER, Role.SERVER, HdlcParameters(64, 64, 2, 2))
        )
        self.up: list[bytes] = []  # frames on their way to the server
        self.down: list[bytes] = []  # ... to the client
        self.connections = 0
        self.sequence = 0
        self.steps = 0
        self.answered = 0  # over all connections
        self.unsolicited = 0

    # -- the model of one connection -------------------------------------------------------

    def _new_connection(self, parameters: HdlcParameters, retries: int) -> None:
        self.client = HdlcConnection(
            HdlcSettings(
                CLIENT,
                SERVER,
                Role.CLIENT,
                parameters,
                response_timeout=1.0,
                max_retransmissions=retries,
            )
        )
        self.up.clear()  # a new connection: a new line (no frame of the old link in it)
        self.down.clear()
        self.connections += 1
        self.established = False
        self.closed: LinkClosed | None = None
        self.disconnecting = False
        self.sent: list[bytes] = []
        self.server_got: list[bytes] = []
        self.client_got: list[bytes] = []
        self.answers: list[bytes] = []  # what the server will answer, when a rule says so
        self.client.connect(self.now)
        self._pump()

    def _pump(self) -> None:
        self.steps += 1
        """Collect what both stations emit: frames onto the line, events into the model."""
        if self.client is None:
            return
        self.up += self.client.datagrams_to_send()
        for event in self.client.events():
            if isinstance(event, ApduReceived) and event.unsolicited:
                # a late I-frame on a link already closed: handed to the notification path
                # (pushes), never paired with a request
                assert self.closed is not None or self.disconnecting, event
                self.unsolicited += 1
                continue
            assert self.closed is None, f"{event} after {self.closed}"
            if isinstance(event, LinkEstablished):
                assert not self.established, "established twice"
                self.established = True
            elif isinstance(event, LinkClosed):
                assert event.error is None or isinstance(event.error, DlmsError)
                self.closed = event
            else:
                assert isinstance(event, ApduReceived), event
                self.client_got.append(event.apdu)
                self.answered += 1
        for event in self.server.events():
            if isinstance(event, ApduReceived):
                assert not event.unsolicited
                self.server_got.append(event.apdu)
                self.answers.append(reply_to(event.apdu))
        self.down += self.server.datagrams_to_send()

    @property
    def usable(self) -> bool:
        return self.established and self.closed is None and not self.disconnecting

    @property
    def outstanding(self) -> bool:
        """A request sent and not answered yet (DLMS: one request at a time)."""
        return len(self.client_got) < len(self.sent)

    # -- rules -----------------------------------------------------------------------------

    @initialize(parameters=PARAMETERS, retries=RETRIES)
    def first_connect(self, parameters: HdlcParameters, retries: int) -> None:
        self._new_connection(parameters, retries)
        self._settle()  # most runs start on a link that is up: requests are the point

    @precondition(lambda self: self.closed is not None)
    @rule(parameters=PARAMETERS, retries=RETRIES)
    def connect_again(self, parameters: HdlcParameters, retries: int) -> None:
        self._new_connection(parameters, retries)

    @precondition(lambda self: self.client is not None and self.usable and not self.outstanding)
    @rule(size=st.integers(0, 600), heal=st.booleans())
    def send(self, size: int, heal: bool) -> None:
        assert self.client is not None
        self.sequence += 1
        apdu = self.sequence.to_bytes(4, "big") + bytes(i & 0xFF for i in range(size))
        self.client.send_apdu(apdu, self.now)
        self.sent.append(apdu)
        self._pump()
        if heal:
            self._settle()

    @precondition(lambda self: bool(self.answers))
    @rule()
    def server_answers(self) -> None:
        self.server.send_apdu(self.answers.pop(0), self.now)
        self._pump()

    @precondition(lambda self: bool(self.up))
    @rule(data=st.data(), fate=FATES)
    def line_to_server(self, data: st.DataObject, fate: str) -> None:
        self._carry(self.up, self.server, data, fate)

    @precondition(lambda self: bool(self.down))
    @rule(data=st.data(), fate=FATES)
    def line_to_client(self, data: st.DataObject, fate: str) -> None:
        assert self.client is not None
        self._carry(self.down, self.client, data, fate)

    @rule(
        burst=st.lists(
            st.tuples(st.booleans(), FATES, st.integers(0, 7), st.integers(0, 10**6)),
            min_size=1,
            max_size=16,
        )
    )
    def line_carries_a_burst(self, burst: list[tuple[bool, str, int, int]]) -> None:
        """Several frames in a row, each to its fate (what the line does most of the time)."""
        assert self.client is not None
        for upward, fate, index, bit in burst:
            frames = self.up if upward else self.down
            if frames:
                station = self.server if upward else self.client
                self._carry_one(frames, station, index % len(frames), fate, bit)
            elif self.answers:
                self.server.send_apdu(self.answers.pop(0), self.now)
                self._pump()

    def _carry(
        self, frames: list[bytes], station: HdlcConnection, data: st.DataObject, fate: str
    ) -> None:
        index = data.draw(st.integers(0, len(frames) - 1), label="frame")  # any: reordering
        bit = data.draw(st.integers(0, 10**6), label="bit")
        self._carry_one(frames, station, index, fate, bit)

    def _carry_one(
        self, frames: list[bytes], station: HdlcConnection, index: int, fate: str, bit: int
    ) -> None:
        frame = frames.pop(index)
        if fate == "drop":
            return
        if fate == "corrupt":
            bit %= len(frame) * 8
            corrupted = bytearray(frame)
            corrupted[bit // 8] ^= 1 << (bit % 8)
            frame = bytes(corrupted)
        elif fate == "duplicate":
            frames.insert(index, frame)
        station.receive_data(frame, self.now)
        self._pump()

    @precondition(lambda self: self.client is not None)
    @rule()
    def time_passes(self) -> None:
        """The clock jumps to the next deadline of either station."""
        assert self.client is not None
        deadlines = [
            d for d in (self.client.next_deadline(), self.server.next_deadline()) if d is not None
        ]
        self.now = max(self.now, min(deadlines)) if deadlines else self.now + 0.5
        self.client.handle_timer(self.now)
        self.server.handle_timer(self.now)
        self._pump()

    @precondition(lambda self: self.client is not None and self.usable)
    @rule(rarely=st.integers(0, 3))
    def client_disconnects(self, rarely: int) -> None:
        assert self.client is not None
        if rarely:
            return
        self.disconnecting = True
        self.client.disconnect(self.now)
        self._pump()

    @precondition(lambda self: self.client is not None)
    @rule(rarely=st.integers(0, 3))
    def server_drops_the_link(self, rarely: int) -> None:
        if rarely:
            return
        self.server.disconnect(self.now)
        self.answers.clear()
        self._pump()

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def exactly_once_in_order(self) -> None:
        if self.client is None:
            return
        assert self.server_got == self.sent[: len(self.server_got)]
        replies = [reply_to(apdu) for apdu in self.server_got]
        assert self.client_got == replies[: len(self.client_got)]

    @rule()
    def line_heals(self) -> None:
        """A stretch of good line: everything in flight is delivered, the server answers,
        the timers run, until the link is quiet (idle or closed)."""
        self._settle()

    def _settle(self) -> None:
        assert self.client is not None
        client = self.client
        for _ in range(SETTLE_STEPS):
            if self.closed is not None or (self.usable and not self.outstanding):
                return
            if self.answers:
                self.server.send_apdu(self.answers.pop(0), self.now)
            elif self.up:
                self.server.receive_data(self.up.pop(0), self.now)
            elif self.down:
                client.receive_data(self.down.pop(0), self.now)
            else:
                deadlines = [
                    d
                    for d in (client.next_deadline(), self.server.next_deadline())
                    if d is not None
                ]
                assert deadlines, "stuck: nothing on the line and no timer running"
                self.now = max(self.now, min(deadlines))
                client.handle_timer(self.now)
                self.server.handle_timer(self.now)
            self._pump()
            self.exactly_once_in_order()
        raise AssertionError("the link did not settle")

    def teardown(self) -> None:
        """Heal the line and let it settle: every request answered, or the link closed."""
        if self.client is None:
            return
        self._settle()
        if self.closed is None:
            assert self.client_got == [reply_to(apdu) for apdu in self.sent]
        error = None if self.closed is None else self.closed.error
        statistics_event("link at the end", "up" if self.closed is None else type(error).__name__)
        statistics_event("answers received (all connections)", min(self.answered, 4))
        statistics_event("connections", min(self.connections, 3))


HdlcLink.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_hdlc_link = HdlcLink.TestCase
