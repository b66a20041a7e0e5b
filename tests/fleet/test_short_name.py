"""Fleet polls of short-name (SN) meters: meters with ``referencing = "sn"``, plan items
addressed by OBIS mapped to short names, and ``sn:`` items naming a short name."""

from __future__ import annotations

import time

import pytest

from asyncdlms.errors import ShortNameError
from asyncdlms.fleet import FleetPoller, Meter, ReadPlan, RetryPolicy, poll_fleet
from asyncdlms.fleet.meters import FleetFileError, parse_fleet
from asyncdlms.fleet.plan import ReadShortName, parse_plan_item
from asyncdlms.server import DEFAULT_PASSWORD, Simulator

from .helpers import meters_of

NO_WAIT = RetryPolicy(attempts=1, base_delay=0.0)
PLAN = ReadPlan.of(
    "register:1.0.1.8.0.255",
    "3/1.0.2.8.0.255/2",
    "clock",
    "profile:1.0.99.1.0.255",
    "sn:0x0108",
    "sn:0x7770",
)
LLS = {"client": 17, "auth": "low", "password": DEFAULT_PASSWORD}


def test_short_name_plan_items() -> None:
    item = parse_plan_item("sn:0xFA08")
    assert item == ReadShortName(0xFA08) and item.key == "sn:0xFA08"
    assert parse_plan_item("SN:264").key == "sn:0x0108"
    with pytest.raises(ValueError, match="short name"):
        parse_plan_item("sn:0x1FFFF")


def test_a_fleet_file_names_short_name_meters() -> None:
    fleet = parse_fleet(
        '[defaults]\nreferencing = "sn"\n[plan]\nread = ["sn:0x0508", "clock"]\n'
        '[[meter]]\nurl = "tcp://127.0.0.1:4059"\n'
        '[[meter]]\nurl = "tcp://127.0.0.1:4060"\nreferencing = "ln"\n',
        "toml",
    )
    assert [m.options["referencing"] for m in fleet.meters] == ["sn", "ln"]
    assert fleet.plan.keys == ["sn:0x0508", "clock"]
    with pytest.raises(FleetFileError, match="'referencing': 'xn' is not 'ln' or 'sn'"):
        parse_fleet("url,referencing\ntcp://127.0.0.1:4059,xn\n", "csv")


async def test_a_poll_of_short_name_meters() -> None:
    async with Simulator(meters=4, shared_port=True, short_names=True) as sim:
        meters = meters_of(sim, referencing="sn", **LLS)
        before = time.time()
        results = await poll_fleet(meters, PLAN, retry=NO_WAIT)
        after = time.time()
    assert sorted(r.meter.name for r in results) == ["m0", "m1", "m2", "m3"]
    for result in results:
        state = sim.meters[int(result.meter.name[1:])]
        values = result.values()
        assert list(values) == [k for k in PLAN.keys if k != "sn:0x7770"]
        energy = values["register:1.0.1.8.0.255"]
        assert state.energy(0, before) <= energy.value <= state.energy(0, after)
        assert energy.symbol == "Wh"
        assert state.energy(1, before) <= values["3/1.0.2.8.0.255/2"] <= state.energy(1, after)
        assert before - 1 <= values["clock"].timestamp() <= after + 1
        rows = values["profile:1.0.99.1.0.255"]
        assert len(rows) >= 90  # a day of 15-minute rows
        expected_name = b"ADS" + str(state.serial_number).rjust(13, "0").encode()
        assert values["sn:0x0108"] == expected_name
        # the unknown short name is that item's failure; the association went on
        assert result.failure is not None and result.failure.step == "read sn:0x7770"
        error = result.failure.error
        assert isinstance(error, ShortNameError) and error.short_name == 0x7770
        assert "object-undefined" in str(error)


async def test_ln_and_sn_meters_in_one_fleet() -> None:
    plan = ReadPlan.of("register:1.0.1.8.0.255", "sn:0x0508")
    async with (
        Simulator(short_names=True) as sn_sim,
        Simulator() as ln_sim,
    ):
        [sn_meter] = meters_of(sn_sim, referencing="sn")
        [ln_meter] = meters_of(ln_sim)
        meters = [
            Meter(sn_meter.url, sn_meter.options, name="sn", bus=False),
            Meter(ln_meter.url, ln_meter.options, name="ln", bus=False),
        ]
        async with FleetPoller(meters, plan, retry=NO_WAIT, keep_open=True) as poller:
            first = {r.meter.name: r async for r in poller.poll()}
            second = {r.meter.name: r async for r in poller.poll()}
    for results in (first, second):
        sn, ln = results["sn"], results["ln"]
        assert sn.ok
        sn_values = sn.values()
        # the register by OBIS and its value attribute by short name (0x0500 + 8) agree
        assert sn_values["sn:0x0508"] >= sn_values["register:1.0.1.8.0.255"].value
        assert sn_values["sn:0x0508"] - sn_values["register:1.0.1.8.0.255"].value < 1000
        assert set(ln.values()) == {"register:1.0.1.8.0.255"}
        assert ln.failure is not None and isinstance(ln.failure.error, ShortNameError)
        assert "logical names" in str(ln.failure.error)
