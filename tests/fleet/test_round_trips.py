"""Round trips per meter cycle (issue 17): plain items of a plan go out as one GET with-list
per chunk, register scaler-units are read once per meter, a meter that refuses with-list
is remembered and gets single GETs from its next cycle on."""

from __future__ import annotations

from typing import Any

from asyncdlms.fleet import FleetPoller, Meter
from asyncdlms.fleet.plan import DEFAULT_PLAN
from asyncdlms.server import Simulator

from ..quirks.line import MisbehavingLine, wrapper_apdu, wrapper_reply
from .helpers import meters_of


class Requests:
    """A trace hook that counts the APDUs a client sends (wrapper: one write each)."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def __call__(self, direction: str, data: bytes, now: float) -> None:
        if direction == "->":
            self.sent.append(data)

    def take(self) -> list[bytes]:
        sent, self.sent = self.sent, []
        return sent


async def _cycle(poller: FleetPoller) -> list[Any]:
    return [result async for result in poller.poll()]


async def test_a_plain_cycle_is_associate_one_with_list_release() -> None:
    async with Simulator(meters=2, shared_port=True, interface="wrapper") as sim:
        counters = [Requests(), Requests()]
        meters = [
            Meter(meter.url, {**meter.options, "trace": counter}, name=meter.name, bus=False)
            for meter, counter in zip(meters_of(sim), counters, strict=True)
        ]
        async with FleetPoller(meters, DEFAULT_PLAN) as poller:
            for cycle in range(3):
                results = await _cycle(poller)
                assert all(result.ok for result in results)
                assert all(len(result.readings) == len(DEFAULT_PLAN) for result in results)
                for counter in counters:
                    sent = counter.take()
                    # AARQ, one get-request-with-list (c0 03), RLRQ
                    assert len(sent) == 3, cycle
                    request = wrapper_apdu(sent[1])
                    assert request[:2] == b"\xc0\x03"
                    # 4 values + 4 scaler-units + the clock first; then the values only
                    assert request[3] == (9 if cycle == 0 else 5)


async def test_kept_open_a_cycle_is_one_round_trip() -> None:
    async with Simulator(meters=3, shared_port=True, interface="wrapper") as sim:
        counter = Requests()
        meters = [
            Meter(meter.url, {**meter.options, "trace": counter}, name=meter.name, bus=False)
            for meter in meters_of(sim)
        ]
        async with FleetPoller(meters, DEFAULT_PLAN, keep_open=True) as poller:
            assert all(result.ok for result in await _cycle(poller))
            assert len(counter.take()) == 3 * 2  # associate + with-list
            for _ in range(2):
                results = await _cycle(poller)
                assert all(result.ok for result in results)
                assert len(counter.take()) == 3 * 1
            values = results[0].values()
            assert values["register:1.0.1.8.0.255"].symbol == "Wh"  # the cached unit


def _refuse_with_list(apdu: bytes) -> bytes | None:
    if apdu[:2] == b"\xc0\x03":  # get-request-with-list: exception-response
        return b"\xd8\x01\x02"
    return None


async def test_a_meter_that_refuses_with_list_gets_single_gets_next_cycle() -> None:
    async with Simulator(interface="wrapper") as sim:

        def from_client(frame: bytes) -> tuple[list[bytes], list[bytes]]:
            reply = _refuse_with_list(wrapper_apdu(frame))
            return ([frame], []) if reply is None else ([], [wrapper_reply(frame, reply)])

        line = MisbehavingLine(sim.urls[0], from_client=from_client, from_meter=lambda f: [f])
        async with line:
            url = await line.start()
            counter = Requests()
            meter = Meter(url, {"server": 1, "trace": counter}, name="old", bus=False)
            async with FleetPoller([meter], DEFAULT_PLAN) as poller:
                [first] = await _cycle(poller)
                assert first.ok
                kinds = [wrapper_apdu(apdu)[:2] for apdu in counter.take()]
                # the refused with-list, then 9 single GETs (c0 01)
                assert kinds.count(b"\xc0\x03") == 1 and kinds.count(b"\xc0\x01") == 9
                [second] = await _cycle(poller)
                assert second.ok
                kinds = [wrapper_apdu(apdu)[:2] for apdu in counter.take()]
                # no with-list tried again; the scaler-units are known: 5 single GETs
                assert kinds.count(b"\xc0\x03") == 0 and kinds.count(b"\xc0\x01") == 5
            assert first.values()["register:1.0.1.8.0.255"].symbol == "Wh"
