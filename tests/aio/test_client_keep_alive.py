"""Keep-alive and automatic re-association of the asyncio client, against the simulator
with a short inactivity timeout (real time, but bounded: about a second per test)."""

from __future__ import annotations

import asyncio

import pytest

import asyncdlms
from asyncdlms.errors import AssociationError
from asyncdlms.server import Simulator

INACTIVITY = 0.4


@pytest.mark.parametrize("interface", ["wrapper", "hdlc"])
async def test_without_keep_alive_an_idle_association_is_dropped(interface: str) -> None:
    async with Simulator(interface=interface, inactivity_timeout=INACTIVITY) as sim:
        meter = await asyncdlms.connect(sim.urls[0], timeout=5)
        try:
            assert await meter.get(1, "0.0.42.0.0.255", 2)
            await asyncio.sleep(INACTIVITY * 3)
            with pytest.raises(AssociationError):
                await meter.get(1, "0.0.42.0.0.255", 2)
        finally:
            await meter.close()


@pytest.mark.parametrize("interface", ["wrapper", "hdlc"])
async def test_keep_alive_keeps_an_idle_association(interface: str) -> None:
    async with (
        Simulator(interface=interface, inactivity_timeout=INACTIVITY) as sim,
        asyncdlms.connect(sim.urls[0], timeout=5, keep_alive=INACTIVITY / 3) as meter,
    ):
        name = await meter.get(1, "0.0.42.0.0.255", 2)
        await asyncio.sleep(INACTIVITY * 3)
        assert await meter.get(1, "0.0.42.0.0.255", 2) == name
        assert sim.associations_established == 1  # the same association all along


@pytest.mark.parametrize("interface", ["wrapper", "hdlc"])
async def test_reconnect_associates_again_after_a_loss(interface: str) -> None:
    async with (
        Simulator(interface=interface, inactivity_timeout=INACTIVITY) as sim,
        asyncdlms.connect(sim.urls[0], timeout=5, reconnect=True) as meter,
    ):
        name = await meter.get(1, "0.0.42.0.0.255", 2)
        await asyncio.sleep(INACTIVITY * 3)  # the meter drops the idle association
        assert await meter.get(1, "0.0.42.0.0.255", 2) == name
        assert meter.reconnections == 1
        assert await meter.read_register("1.0.1.8.0.255")


async def test_keep_alive_task_ends_with_the_client() -> None:
    async with Simulator() as sim:
        meter = await asyncdlms.connect(sim.urls[0], timeout=5, keep_alive=0.05)
        await asyncio.sleep(0.2)
        task = meter._keep_alive_task
        assert task is not None and not task.done()
        await meter.close()
        assert task.done() and meter._keep_alive_task is None
