"""Requests and a fleet cycle through the faulty line, tallied against the simulator's truth.

The simulator runs with a frozen clock, so every value it serves is fixed; the truth is what
it answers on a clean connection. Through the :class:`~tests.faults.proxy.FaultyLine` each
association reads the same items again; every call must give the true value or a typed
:class:`~asyncdlms.errors.DlmsError` within its timeout (plus a margin), and the client's
close after it must be bounded too. After a failure the association is closed and a new one
opened (what a poller does).

``python -m tests.faults`` runs the whole matrix (fault kind × rate × interface) with more
associations and prints the README's table.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import asyncdlms
from asyncdlms import LinkSettings
from asyncdlms.apdu.acse import MechanismName
from asyncdlms.apdu.descriptors import entry_descriptor
from asyncdlms.errors import DlmsError
from asyncdlms.fleet import FleetPoller, Meter, MeterResult, ReadPlan, RetryPolicy
from asyncdlms.security.ciphering import SecurityPolicy
from asyncdlms.security.counters import MemoryInvocationCounterStore
from asyncdlms.security.hls import Secret
from asyncdlms.server import DEFAULT_PASSWORD, Simulator, default_associations
from asyncdlms.session import ClientSecurity
from asyncdlms.session.server import AssociationPolicy, ServerSecurity

from .proxy import KINDS, FaultPlan, FaultyLine

FROZEN_TIME = 1_780_000_000.0
TIMEOUT = 1.0
#: HDLC: the poll retransmitted after 0.3 s, up to 3 times
LINK = LinkSettings(response_timeout=0.3, retries=3)


def bound(timeout: float) -> float:
    """The most a call may take (generous: a loaded 2-core machine)."""
    return timeout * 1.2 + 1.5


Request = Callable[[Any], Awaitable[Any]]

#: what each association reads: a short value, a register, 24 profile rows (several blocks)
ITEMS: dict[str, Request] = {
    "serial": lambda meter: meter.get(1, "0.0.96.1.0.255", 2),
    "energy": lambda meter: meter.get(3, "1.0.1.8.0.255", 2),
    "profile": lambda meter: meter.get(
        7, "1.0.99.1.0.255", 2, selective_access=entry_descriptor(1, 24)
    ),
}


@dataclass
class Tally:
    """Outcomes of the calls of one cell: ok, typed errors by class, and the violations
    (a wrong value, an error that is no DlmsError, a call or close over its bound)."""

    ok: int = 0
    typed: Counter[str] = field(default_factory=Counter)
    wrong: list[str] = field(default_factory=list)
    untyped: list[str] = field(default_factory=list)
    late: list[str] = field(default_factory=list)
    faults: Counter[str] = field(default_factory=Counter)

    @property
    def calls(self) -> int:
        return self.ok + sum(self.typed.values()) + len(self.wrong) + len(self.untyped)

    @property
    def violations(self) -> list[str]:
        return self.wrong + self.untyped + self.late

    def add(self, other: Tally) -> None:
        self.ok += other.ok
        self.typed.update(other.typed)
        self.wrong += other.wrong
        self.untyped += other.untyped
        self.late += other.late
        self.faults.update(other.faults)


BLOCK_CIPHER_KEY = bytes(range(16))
AUTHENTICATION_KEY = bytes(range(16, 32))
HLS_SECRET = b"fault-line-gmac!"
#: client 1: HLS-GMAC and authenticated encryption of every APDU
CIPHERED_CLIENT = 1


def simulator(hdlc: bool, meters: int) -> Simulator:
    associations = dict(default_associations())
    associations[CIPHERED_CLIENT] = AssociationPolicy(
        MechanismName.HIGH_GMAC,
        Secret(HLS_SECRET),
        security=ServerSecurity(
            Secret(BLOCK_CIPHER_KEY),
            Secret(AUTHENTICATION_KEY),
            SecurityPolicy.AUTHENTICATED_ENCRYPTION,
        ),
    )
    return Simulator(
        meters=meters,
        interface="hdlc" if hdlc else "wrapper",
        shared_port=True,
        associations=associations,
        time_source=lambda: FROZEN_TIME,
    )


def connect_options(
    sim: Simulator, index: int, hdlc: bool, ciphered: bool = False
) -> dict[str, Any]:
    """Client 17 (LLS) reads the profile; ``ciphered``: client 1, HLS-GMAC and
    authenticated encryption, its invocation counters kept across associations."""
    target = sim.targets[index]
    options: dict[str, Any] = {
        "server": target.server,
        "timeout": TIMEOUT,
        "client": 17,  # the reading client (the public one may not read the profile)
        "auth": "low",
        "password": DEFAULT_PASSWORD,
    }
    if ciphered:
        options.update(
            client=CIPHERED_CLIENT,
            auth="gmac",
            password=HLS_SECRET,
            security=ClientSecurity(
                b"FAULTS01",
                Secret(BLOCK_CIPHER_KEY),
                Secret(AUTHENTICATION_KEY),
                SecurityPolicy.AUTHENTICATED_ENCRYPTION,
                counter_store=MemoryInvocationCounterStore(),
            ),
        )
    if hdlc:
        options["link"] = replace(LINK, physical_address=target.physical_address)
    return options


async def truth_of(sim: Simulator, index: int, hdlc: bool) -> dict[str, Any]:
    """What meter ``index`` answers on a clean connection."""
    options = connect_options(sim, index, hdlc)
    async with asyncdlms.connect(sim.targets[index].url, **options) as meter:
        return {name: await request(meter) for name, request in ITEMS.items()}


async def timed(tally: Tally, what: str, call: Awaitable[Any], limit: float) -> Any:
    """``call``'s result; its error is re-raised; a call over ``bound(limit)`` is noted."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(bound(limit) * 3):  # a hang fails the run, not the suite
            return await call
    finally:
        elapsed = time.monotonic() - started
        if elapsed > bound(limit):
            tally.late.append(f"{what}: {elapsed:.2f} s")


def classify(tally: Tally, what: str, error: BaseException) -> None:
    if isinstance(error, DlmsError):
        tally.typed[type(error).__name__] += 1
    else:
        tally.untyped.append(f"{what}: {type(error).__name__}: {error}")


async def exercise(
    url: str, options: dict[str, Any], truth: dict[str, Any], associations: int
) -> Tally:
    """``associations`` associations through ``url``, each reading every item (a new
    association after a failure)."""
    tally = Tally()
    for _ in range(associations):
        try:
            meter = await timed(tally, "associate", asyncdlms.connect(url, **options), TIMEOUT)
        except Exception as error:  # classified: typed, or a violation
            classify(tally, "associate", error)
            continue
        tally.ok += 1  # the association is a call too
        try:
            for name, request in ITEMS.items():
                try:
                    value = await timed(tally, name, request(meter), TIMEOUT)
                except Exception as error:
                    classify(tally, name, error)
                    break
                if value == truth[name]:
                    tally.ok += 1
                else:
                    tally.wrong.append(f"{name}: {value!r:.80} instead of {truth[name]!r:.80}")
        finally:
            await timed(tally, "close", meter.close(), TIMEOUT)
    return tally


@dataclass(frozen=True)
class Cell:
    kind: str
    rate: float
    hdlc: bool
    ciphered: bool = False

    @property
    def interface(self) -> str:
        return ("hdlc" if self.hdlc else "wrapper") + (" + ae" if self.ciphered else "")


async def run_cell(
    sim: Simulator, index: int, cell: Cell, truth: dict[str, Any], associations: int, seed: int
) -> Tally:
    upstream = sim.targets[index].url
    async with FaultyLine(upstream, FaultPlan([cell.kind], cell.rate, seed)) as line:
        url = await line.start()
        options = connect_options(sim, index, cell.hdlc, cell.ciphered)
        tally = await exercise(url, options, truth, associations)
        tally.faults.update(line.counts)
    return tally


async def run_matrix(
    kinds: Sequence[str] = KINDS,
    rates: Sequence[float] = (0.01, 0.05),
    interfaces: Sequence[bool] = (False, True),
    associations: int = 10,
    seed: int = 1,
    ciphered_rate: float | None = 0.05,
) -> dict[Cell, Tally]:
    """Every cell at once (each on its own meter and proxy): the waits overlap. With
    ``ciphered_rate``, every kind once more over the wrapper with authenticated encryption."""
    cells = [Cell(kind, rate, hdlc) for hdlc in interfaces for rate in rates for kind in kinds]
    if ciphered_rate is not None and False in interfaces:
        cells += [Cell(kind, ciphered_rate, False, ciphered=True) for kind in kinds]
    results: dict[Cell, Tally] = {}
    for hdlc in interfaces:
        mine = [cell for cell in cells if cell.hdlc == hdlc]
        async with simulator(hdlc, len(mine)) as sim:
            truths = [await truth_of(sim, index, hdlc) for index in range(len(mine))]
            tallies = await asyncio.gather(
                *(
                    run_cell(sim, index, cell, truths[index], associations, seed + index)
                    for index, cell in enumerate(mine)
                )
            )
        results.update(zip(mine, tallies, strict=True))
    return results


def table(results: dict[Cell, Tally]) -> str:
    """The README's table: one row per fault kind, rate and interface. ``wrong`` counts
    values that differ from the truth, ``violations`` untyped errors and calls or closes
    over their bound."""
    lines = [
        "| fault | rate | link | frames harmed | calls | ok | typed errors | wrong | violations |",
        "| --- | --- | --- | ---: | ---: | ---: | --- | ---: | ---: |",
    ]
    for cell, tally in results.items():
        errors = ", ".join(f"{name} {count}" for name, count in tally.typed.most_common()) or "–"
        lines.append(
            f"| {cell.kind} | {cell.rate:.0%} | {cell.interface} | {sum(tally.faults.values())} "
            f"| {tally.calls} | {tally.ok} | {errors} | {len(tally.wrong)} "
            f"| {len(tally.untyped) + len(tally.late)} |"
        )
    return "\n".join(lines)


# -- the fleet ------------------------------------------------------------------------------

FLEET_PLAN = ReadPlan.of("register:1.0.1.8.0.255", "3/1.0.2.8.0.255/2", "clock")


async def fleet_cycle(
    meters: int, hdlc: bool, rate: float, kinds: Sequence[str] = KINDS, seed: int = 7
) -> tuple[dict[str, MeterResult], dict[str, MeterResult], Counter[str]]:
    """One cycle of a FleetPoller over ``meters`` simulated meters on a clean line (the
    truth) and through a line with the fault ``kinds`` mixed at ``rate``."""
    async with simulator(hdlc, meters) as sim:
        fleet = [
            Meter(target.url, {**connect_options(sim, target.index, hdlc)}, name=f"m{i}", bus=False)
            for i, target in enumerate(sim.targets)
        ]
        clean = await _cycle(fleet)
        async with FaultyLine(sim.targets[0].url, FaultPlan(kinds, rate, seed)) as line:
            await line.start()
            faulty = [
                Meter(line.url_for(meter.url), meter.options, name=meter.name, bus=False)
                for meter in fleet
            ]
            results = await _cycle(faulty)
            counts = line.counts
    return clean, results, counts


async def _cycle(meters: list[Meter]) -> dict[str, MeterResult]:
    results: dict[str, MeterResult] = {}
    retry = RetryPolicy(attempts=2, base_delay=0.05)
    poller = FleetPoller(meters, FLEET_PLAN, timeout=TIMEOUT, retry=retry, breaker=None)
    async with poller:
        async for result in poller.poll():
            assert result.meter.name not in results, f"{result.meter.name} reported twice"
            results[result.meter.name] = result
    return results
