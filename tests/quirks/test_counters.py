"""QUIRKS.md behaviour 5 end to end: ``asyncdlms.connect`` with HLS-GMAC and authenticated
encryption over loopback TCP to the simulator, through a line that answers an AARQ with an
invocation-counter-error exception-response (with the expected counter in 4 extra bytes, a
lower one, or none); a meter that hints the counter it expects (``invocation_counter_hint``)
and one that, like most, just rejects a reused counter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

import asyncdlms
from asyncdlms.errors import AssociationRejectedError
from asyncdlms.security.counters import CipheringKey, MemoryInvocationCounterStore, key_identity
from asyncdlms.server import Simulator
from asyncdlms.session.server import AssociationPolicy

from .conftest import BLOCK_CIPHER_KEY, NOW, modes
from .line import MisbehavingLine, wrapper_apdu, wrapper_reply

GMAC = next(mode for mode in modes() if mode.name == "gmac-ae")
TITLE = GMAC.client["system_title"]
KEY = key_identity(CipheringKey.GLOBAL_UNICAST_ENCRYPTION, BLOCK_CIPHER_KEY)


@pytest.fixture(params=["wrapper", "hdlc"])
async def ciphered_meter(request: pytest.FixtureRequest) -> AsyncIterator[Simulator]:
    async with Simulator(
        interface=request.param,
        time_source=lambda: NOW,
        invocation_counter_hint=True,
        **GMAC.simulator,
    ) as sim:
        yield sim


@pytest.mark.parametrize("interface", ["wrapper", "hdlc"])
async def test_a_strict_meter_rejects_a_reused_counter_without_a_hint(interface: str) -> None:
    """The simulator's default, like most meters: an AARQ with a counter it has seen is
    rejected (no invocation-counter-error hint); reading the frame counter first works."""
    async with Simulator(interface=interface, time_source=lambda: NOW, **GMAC.simulator) as sim:
        await use_counters(sim, 5000)
        store = MemoryInvocationCounterStore()
        with pytest.raises(AssociationRejectedError):
            async with sim.connect(0, timeout=5, **GMAC.with_security(counter_store=store)):
                pass
        reading = GMAC.with_security(counter_store=store, read_frame_counter=True)
        async with sim.connect(0, timeout=5, **reading) as meter:
            assert meter.frame_counter >= 5000
            assert await meter.get(1, "0.0.42.0.0.255", 2) == b"ADS0000010000000"


async def use_counters(sim: Simulator, up_to: int) -> None:
    """Another client (same system title) talked to the meter up to counter ``up_to``."""
    store = MemoryInvocationCounterStore()
    store.advance(TITLE, KEY, up_to - 1)
    async with sim.connect(0, timeout=5, **GMAC.with_security(counter_store=store)) as meter:
        await meter.get(1, "0.0.42.0.0.255", 2)


async def test_behaviour_5_no_stored_counter_reads_the_frame_counter(
    ciphered_meter: Simulator,
) -> None:
    await use_counters(ciphered_meter, 5000)
    # from counter 1: the simulator answers invocation-counter-error with the counter it
    # expects, and the client continues from it (once)
    store = MemoryInvocationCounterStore()
    async with ciphered_meter.connect(
        0, timeout=5, **GMAC.with_security(counter_store=store)
    ) as meter:
        assert meter.session.invocation_counter_retries == 1
        assert await meter.get(1, "0.0.42.0.0.255", 2) == b"ADS0000010000000"
    # from the frame counter read on the public association: no error at all
    store = MemoryInvocationCounterStore()
    connecting = ciphered_meter.connect(
        0, timeout=5, **GMAC.with_security(counter_store=store, read_frame_counter=True)
    )
    async with connecting as meter:
        assert meter.frame_counter >= 5000
        assert meter.session.invocation_counter_retries == 0
        assert await meter.get(1, "0.0.42.0.0.255", 2) == b"ADS0000010000000"
    assert store.peek_next(TITLE, KEY) > 5000


def refuse_first_aarq(extra: bytes) -> tuple[Any, list[int]]:
    """Answer the first ciphered AARQ (client 1) with an invocation-counter-error
    exception-response followed by ``extra``; forward the rest."""
    refused: list[int] = []

    def from_client(frame: bytes) -> tuple[list[bytes], list[bytes]]:
        apdu = wrapper_apdu(frame)
        if apdu[:1] == b"\x60" and frame[2:4] == b"\x00\x01" and not refused:
            refused.append(1)
            return [], [wrapper_reply(frame, b"\xd8\x01\x06" + extra)]
        return [frame], []

    return from_client, refused


@pytest.mark.parametrize(
    "extra, at_least",
    [
        ((9000).to_bytes(4, "big"), 9000),  # the counter the meter expects: continue from it
        ((7).to_bytes(4, "big"), 2000),  # a lower one: never go back
        (b"", 2000),  # none: read the frame counter again and retry once
    ],
    ids=["expected-counter", "lower-counter", "no-counter"],
)
async def test_behaviour_5_invocation_counter_error_then_one_retry(
    extra: bytes, at_least: int
) -> None:
    async with Simulator(interface="wrapper", time_source=lambda: NOW, **GMAC.simulator) as sim:
        await use_counters(sim, 2000)
        from_client, refused = refuse_first_aarq(extra)
        line = MisbehavingLine(sim.urls[0], from_client=from_client)
        async with line:
            url = await line.start()
            store = MemoryInvocationCounterStore()
            store.advance(TITLE, KEY, 1500)
            connecting = asyncdlms.connect(
                url,
                timeout=5,
                **GMAC.with_security(counter_store=store, read_frame_counter=True),
            )
            async with connecting as meter:
                assert await meter.get(1, "0.0.42.0.0.255", 2) == b"ADS0000010000000"
        assert refused == [1]
        assert store.peek_next(TITLE, KEY) > at_least
        public_aarqs = [
            f
            for f in line.client_frames
            if wrapper_apdu(f)[:1] == b"\x60" and f[2:4] == b"\x00\x10"
        ]
        # the frame counter is read before associating, and again after an error that
        # carries no counter
        assert len(public_aarqs) == (2 if not extra else 1)


async def test_the_frame_counter_is_read_by_the_public_client_the_security_names() -> None:
    """``ClientSecurity.public_client`` is the client SAP of the short public association
    that reads the frame counter: a meter whose public client is 20 (none at 16) is read with
    ``public_client=20``; the default 16 is refused there."""
    associations = {1: GMAC.simulator["associations"][1], 20: AssociationPolicy()}
    async with Simulator(time_source=lambda: NOW, associations=associations) as sim:
        await use_counters(sim, 700)
        with pytest.raises(AssociationRejectedError):  # no association for client 16
            async with sim.connect(0, timeout=5, **GMAC.with_security(read_frame_counter=True)):
                pass
        reading = GMAC.with_security(read_frame_counter=True, public_client=20)
        async with sim.connect(0, timeout=5, **reading) as meter:
            assert meter.frame_counter is not None and meter.frame_counter >= 700
            assert await meter.get(1, "0.0.42.0.0.255", 2) == b"ADS0000010000000"
