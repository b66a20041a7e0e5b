"""Helpers of the fleet tests: simulated meters as fleet Meters, an instrumented connect,
a hand-moved clock, a scripted random source and a recording sleep."""

from __future__ import annotations

import collections
import socket
from collections.abc import Iterable
from typing import Any

from asyncdlms.aio.connect import connect as real_connect
from asyncdlms.fleet import Meter
from asyncdlms.server import Simulator


def meters_of(sim: Simulator, **options: Any) -> list[Meter]:
    """One Meter per simulated meter, named ``m<index>``; ``options`` for all of them."""
    return [
        Meter(
            target.url,
            {"server": target.server, "physical_address": target.physical_address, **options},
            name=f"m{target.index}",
            bus=False,
        )
        for target in sim.targets
    ]


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


class CountingConnect:
    """``connect`` that counts associations open at once, overall and per bus key."""

    def __init__(self, bus_of: dict[str, str] | None = None, fail: Iterable[str] = ()) -> None:
        self.active = 0
        self.peak = 0
        self.calls = 0
        self.bus_of = bus_of or {}
        self.bus_active: collections.Counter[str] = collections.Counter()
        self.bus_peak: collections.Counter[str] = collections.Counter()
        self.fail = set(fail)
        self.broken = False

    def _bus(self, url: str, options: dict[str, Any]) -> str:
        return self.bus_of.get(f"{url}/{options.get('server')}", "")

    async def __call__(self, url: str, **options: Any) -> Any:
        self.calls += 1
        if self.broken or url in self.fail:
            raise ConnectionRefusedError("refused (test)")
        bus = self._bus(url, options)
        self.active += 1
        self.bus_active[bus] += 1
        self.peak = max(self.peak, self.active)
        self.bus_peak[bus] = max(self.bus_peak[bus], self.bus_active[bus])
        try:
            client = await real_connect(url, **options)
        except BaseException:
            self.active -= 1
            self.bus_active[bus] -= 1
            raise
        close = client.close

        async def counted_close() -> None:
            try:
                await close()
            finally:
                if getattr(client, "_counted", True):
                    client._counted = False
                    self.active -= 1
                    self.bus_active[bus] -= 1

        client.close = counted_close
        return client


class ScriptedRandom:
    """``random()`` returns the given numbers in turn (then the last one)."""

    def __init__(self, *values: float) -> None:
        self.values = list(values)

    def random(self) -> float:
        return self.values.pop(0) if len(self.values) > 1 else self.values[0]


class RecordingSleep:
    """A sleep that returns at once and records what it was asked to wait."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


class HandClock:
    """Monotonic seconds the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now
