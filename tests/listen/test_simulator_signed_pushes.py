"""The simulator's pushes signed with each meter's own signing key (``sign_pushes``), received
and verified by a real ``listen()`` that knows the meters' certificates: simulator push ->
listen -> verified signer; a meter whose certificate the listener lacks is refused."""

from __future__ import annotations

import asyncio

import pytest

from asyncdlms.apdu.general_protection import GeneralSigning
from asyncdlms.listen import (
    KeySet,
    Listener,
    MemoryKeyStore,
    Notification,
    PushEvent,
    PushRejected,
    listen,
)
from asyncdlms.security.counters import MemoryInvocationCounterStore
from asyncdlms.security.general import UnknownSignerError
from asyncdlms.server import Simulator
from asyncdlms.server.security_setup import SimulatedSecurity


async def events(listener: Listener, count: int, timeout: float = 20) -> list[PushEvent]:
    got: list[PushEvent] = []
    async with asyncio.timeout(timeout):
        async for event in listener.events():
            got.append(event)
            if len(got) == count:
                break
    return got


@pytest.mark.parametrize("suite", [1, 2])
async def test_signed_simulator_pushes_verify_in_listen(suite: int) -> None:
    keys = SimulatedSecurity(suite, seed=b"push-test")
    store = MemoryKeyStore()
    async with listen(
        "tcp://127.0.0.1:0", counter_store=MemoryInvocationCounterStore(), keys=store
    ) as listener:
        assert listener.address is not None
        destination = f"127.0.0.1:{listener.address[1]}"
        sim = Simulator(3, push_destination=destination, security_keys=keys, sign_pushes=True)
        async with sim:
            # the listener knows meters 0 and 1 by their certificates, not meter 2
            for index in (0, 1):
                certificate = sim.meter_certificate(index)
                title = sim.meter_system_title(index)
                store.add(title, KeySet(signing_public_key=certificate.public_key()))
            apdu = sim.push_apdu(0)
            signed = GeneralSigning.decode(apdu)
            assert signed.header.originator_system_title == sim.meter_system_title(0)
            for index in (0, 1, 0, 2):
                await sim.push(index)
            got = await events(listener, 4)
    delivered = [e for e in got if isinstance(e, Notification)]
    assert len(delivered) == 3
    assert all(n.signed and n.signature is not None for n in delivered)
    signers = sorted(n.signature.signer_system_title for n in delivered if n.signature)
    titles = [sim.meter_system_title(i) for i in (0, 0, 1)]
    assert signers == sorted(titles)
    assert all(n.signature.security_suite == suite for n in delivered if n.signature)
    names = sorted(bytes(n.body[0]) for n in delivered)
    assert names == sorted(b"ADS%013d" % (10_000_000 + i) for i in (0, 0, 1))
    (rejected,) = [e for e in got if isinstance(e, PushRejected)]
    assert isinstance(rejected.cause, UnknownSignerError)
    assert rejected.system_title == sim.meter_system_title(2)


def test_sign_pushes_needs_the_meters_keys() -> None:
    with pytest.raises(ValueError, match="sign_pushes needs security_keys"):
        Simulator(sign_pushes=True)
