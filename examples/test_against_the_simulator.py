"""Testing your own code against simulated meters, in-process, with pytest.

Run it with ``python -m pytest examples/test_against_the_simulator.py``. The simulator serves
virtual meters on loopback ports the OS chooses; nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from asyncdlms import Client
from asyncdlms.server import Simulator


async def read_daily_energy(meter: Client) -> float:
    """The code under test: today's active import energy in kWh."""
    energy = await meter.read_register("1.0.1.8.0.255")
    return float(energy.value) / 1000


async def test_read_daily_energy() -> None:
    async with (
        Simulator(meters=3, shared_port=True) as sim,
        sim.connect(1, client=17, auth="low", password="12345678") as meter,
    ):
        kwh = await read_daily_energy(meter)
        assert kwh > 0
        rows = await meter.read_profile("1.0.99.1.0.255", entries=(1, 4))
        assert len(rows) == 4
        assert rows[1].timestamp - rows[0].timestamp == dt.timedelta(minutes=15)


async def test_many_meters_concurrently() -> None:
    async with Simulator(meters=20, shared_port=True) as sim:

        async def read(index: int) -> float:
            async with sim.connect(index) as meter:
                return await read_daily_energy(meter)

        readings = await asyncio.gather(*(read(i) for i in range(20)))
        assert len(readings) == 20 and all(r > 0 for r in readings)


if __name__ == "__main__":
    asyncio.run(test_read_daily_energy())
    asyncio.run(test_many_meters_concurrently())
    print("ok")
