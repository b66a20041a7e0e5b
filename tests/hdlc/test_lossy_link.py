"""A client and a server over a link that drops, duplicates, reorders and corrupts frames.

Whatever the wire does, every APDU arrives exactly once and in order, or the link ends
with a clean ``LinkClosed(error)``: nothing is silently lost or duplicated. Time only moves
when both sides are quiet, to the next deadline; every loop is bounded.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asyncdlms.errors import DlmsError
from asyncdlms.hdlc import HdlcAddress, HdlcConnection, HdlcParameters, HdlcSettings, Role
from asyncdlms.link import ApduReceived, LinkClosed, LinkEstablished

CLIENT = HdlcAddress.client(16)
SERVER = HdlcAddress.server(1, 17)
MAX_STEPS = 20_000


@dataclass
class Faults:
    """Per-frame probabilities of what the wire does to it."""

    drop: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    flip: float = 0.0


@dataclass
class Wire:
    """One direction of the in-memory link, driven by a seeded random generator."""

    rng: random.Random
    faults: Faults
    dropped: int = 0
    duplicated: int = 0
    reordered: int = 0
    flipped: int = 0

    def carry(self, datagrams: list[bytes]) -> list[bytes]:
        carried: list[bytes] = []
        for datagram in datagrams:
            if self.rng.random() < self.faults.drop:
                self.dropped += 1
                continue
            if self.rng.random() < self.faults.flip:
                self.flipped += 1
                corrupted = bytearray(datagram)
                bit = self.rng.randrange(len(corrupted) * 8)
                corrupted[bit // 8] ^= 1 << (bit % 8)
                datagram = bytes(corrupted)
            carried.append(datagram)
            if self.rng.random() < self.faults.duplicate:
                self.duplicated += 1
                carried.append(datagram)
        if len(carried) > 1 and self.rng.random() < self.faults.reorder:
            self.reordered += 1
            index = self.rng.randrange(len(carried) - 1)
            carried[index], carried[index + 1] = carried[index + 1], carried[index]
        return carried


def reply_to(request: bytes) -> bytes:
    return b"\xc4" + request[::-1] + len(request).to_bytes(2, "big")


@dataclass
class Outcome:
    delivered_to_server: list[bytes] = field(default_factory=list)
    delivered_to_client: list[bytes] = field(default_factory=list)
    client_closed: LinkClosed | None = None
    finished: bool = False
    steps: int = 0


def run_session(
    requests: list[bytes],
    faults: Faults,
    seed: int,
    client_parameters: HdlcParameters,
    server_parameters: HdlcParameters,
    max_retransmissions: int,
) -> Outcome:
    """Connect, send each request after the previous reply, then disconnect."""
    rng = random.Random(seed)
    upstream, downstream = Wire(rng, faults), Wire(rng, faults)
    client = HdlcConnection(
        HdlcSettings(
            CLIENT,
            SERVER,
            Role.CLIENT,
            client_parameters,
            response_timeout=1.0,
            max_retransmissions=max_retransmissions,
        )
    )
    server = HdlcConnection(HdlcSettings(None, SERVER, Role.SERVER, server_parameters))
    outcome = Outcome()
    now = 0.0
    next_request = 0
    client.connect(now)
    for step in range(MAX_STEPS):
        outcome.steps = step
        sent_up = upstream.carry(client.datagrams_to_send())
        for datagram in sent_up:
            server.receive_data(datagram, now)
        for event in server.events():
            if isinstance(event, ApduReceived):
                assert not event.unsolicited
                outcome.delivered_to_server.append(event.apdu)
                server.send_apdu(reply_to(event.apdu), now)
        sent_down = downstream.carry(server.datagrams_to_send())
        for datagram in sent_down:
            client.receive_data(datagram, now)
        client_events = client.events()
        for event in client_events:
            if isinstance(event, LinkClosed):
                outcome.client_closed = event
            elif isinstance(event, ApduReceived):
                assert not event.unsolicited
                outcome.delivered_to_client.append(event.apdu)
            else:
                assert isinstance(event, LinkEstablished)
        if outcome.client_closed is None:
            for event in client_events:
                if not isinstance(event, LinkEstablished | ApduReceived):
                    continue
                if next_request < len(requests):
                    client.send_apdu(requests[next_request], now)
                    next_request += 1
                elif isinstance(event, ApduReceived):
                    client.disconnect(now)
        if outcome.client_closed is not None:
            outcome.finished = outcome.client_closed.error is None
            return outcome
        if not sent_up and not sent_down:
            deadlines = [
                d for d in (client.next_deadline(), server.next_deadline()) if d is not None
            ]
            if not deadlines:
                return outcome  # stuck: nothing to send and no timer (asserted against)
            now = max(now, min(deadlines))
            client.handle_timer(now)
            server.handle_timer(now)
    return outcome


def check(outcome: Outcome, requests: list[bytes]) -> None:
    replies = [reply_to(request) for request in requests]
    # Never duplicated, never reordered, never altered: a prefix of what was sent.
    assert outcome.delivered_to_server == requests[: len(outcome.delivered_to_server)]
    assert outcome.delivered_to_client == replies[: len(outcome.delivered_to_client)]
    # Every reply received was caused by a request the server delivered.
    assert len(outcome.delivered_to_client) <= len(outcome.delivered_to_server)
    assert outcome.steps < MAX_STEPS - 1, "the session did not end"
    assert outcome.client_closed is not None, "the link got stuck without a timer"
    if outcome.client_closed.error is None:
        # An orderly end comes only after everything was delivered.
        assert outcome.delivered_to_server == requests
        assert outcome.delivered_to_client == replies
    else:
        assert isinstance(outcome.client_closed.error, DlmsError)
        # When every request was answered, only the disconnect can have failed.
        if len(outcome.delivered_to_client) == len(requests):
            assert outcome.delivered_to_server == requests


parameters = st.builds(
    HdlcParameters,
    st.integers(32, 300),
    st.integers(32, 300),
    st.integers(1, 7),
    st.integers(1, 7),
)
probability = st.floats(0.0, 0.25)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    sizes=st.lists(st.integers(0, 1500), min_size=1, max_size=5),
    faults=st.builds(Faults, probability, probability, probability, probability),
    seed=st.integers(0, 2**32 - 1),
    client_parameters=parameters,
    server_parameters=parameters,
    max_retransmissions=st.integers(0, 8),
)
def test_every_apdu_exactly_once_in_order_or_a_clean_close(
    sizes: list[int],
    faults: Faults,
    seed: int,
    client_parameters: HdlcParameters,
    server_parameters: HdlcParameters,
    max_retransmissions: int,
) -> None:
    requests = [
        bytes([index]) + bytes(range(256)) * (size // 256 + 1) for index, size in enumerate(sizes)
    ]
    requests = [request[: size + 1] for request, size in zip(requests, sizes, strict=True)]
    outcome = run_session(
        requests, faults, seed, client_parameters, server_parameters, max_retransmissions
    )
    check(outcome, requests)


@pytest.mark.parametrize("seed", range(40))
def test_moderate_faults_are_recovered_from(seed: int) -> None:
    """With 10 % of every fault and enough retries, sessions complete instead of failing."""
    rng = random.Random(seed)
    requests = [bytes([n]) * rng.randrange(0, 900) for n in range(4)]
    faults = Faults(drop=0.1, duplicate=0.1, reorder=0.1, flip=0.1)
    window = rng.randrange(1, 8)
    outcome = run_session(
        requests,
        faults,
        seed,
        HdlcParameters(64, 64, window, window),
        HdlcParameters(96, 96, 7, 7),
        max_retransmissions=12,
    )
    check(outcome, requests)
    assert outcome.finished, outcome.client_closed


def test_perfect_wire_finishes_without_retransmission() -> None:
    requests = [bytes(range(200)), b"", bytes(1000)]
    outcome = run_session(
        requests, Faults(), 1, HdlcParameters(50, 50, 3, 3), HdlcParameters(50, 50, 2, 2), 0
    )
    check(outcome, requests)
    assert outcome.finished
