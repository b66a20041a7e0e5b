"""Several meters on one HDLC line (a gateway connection or an RS-485 bus), one association
at a time, against the simulator serving meters by HDLC address on one TCP port."""

from __future__ import annotations

import asyncio

import pytest

import asyncdlms
from asyncdlms import LinkSettings
from asyncdlms.server import Simulator


async def test_meters_in_turn_over_one_gateway_connection() -> None:
    async with Simulator(meters=3, interface="hdlc", shared_port=True) as sim:
        url = sim.urls[0]
        async with asyncdlms.Bus(url) as bus:
            names = []
            for index in range(3):
                link = LinkSettings(physical_address=16 + index)
                async with bus.connect(link=link, timeout=5) as meter:
                    names.append(bytes(await meter.get(1, "0.0.42.0.0.255", 2)))
                    assert (await meter.read_register("1.0.1.8.0.255")).value >= 0
            assert len(set(names)) == 3  # three different meters answered
            assert bus.associations == 3
        assert sim.associations_established == 3


async def test_concurrent_users_of_a_bus_take_turns() -> None:
    async with (
        Simulator(meters=4, interface="hdlc", shared_port=True) as sim,
        asyncdlms.Bus(sim.urls[0]) as bus,
    ):
        holding = 0
        most = 0

        async def read(index: int) -> bytes:
            nonlocal holding, most
            link = LinkSettings(physical_address=16 + index)
            async with bus.connect(link=link, timeout=10) as meter:
                holding += 1
                most = max(most, holding)
                name = bytes(await meter.get(1, "0.0.42.0.0.255", 2))
                await asyncio.sleep(0.01)
                holding -= 1
                return name

        names = await asyncio.gather(*(read(i) for i in (3, 1, 2, 0, 1)))
        assert len(set(names)) == 4 and most == 1


async def test_a_failed_association_frees_the_line() -> None:
    async with (
        Simulator(meters=2, interface="hdlc", shared_port=True) as sim,
        asyncdlms.Bus(sim.urls[0]) as bus,
    ):
        with pytest.raises(asyncdlms.DlmsError):
            async with bus.connect(link=LinkSettings(physical_address=16), client=17,
                                   auth="low", password="wrong", timeout=5):  # fmt: skip
                pass
        async with bus.connect(link=LinkSettings(physical_address=17), timeout=5) as meter:
            assert await meter.get(1, "0.0.42.0.0.255", 2)


def test_a_bus_is_an_hdlc_line() -> None:
    with pytest.raises(ValueError, match="not an HDLC line"):
        asyncdlms.Bus("tcp://127.0.0.1:4059")
