"""The simulator's Image transfer over TCP, driven by our client's generic ``get``/``set``/
``action``: the state survives associations and connections, the faults (a dropped
connection at a block, refused and corrupt blocks, a restart) behave as documented so that a
client can resume, and activation works at once, by the Single action schedule and by the
Script table."""

from __future__ import annotations

import contextlib
import datetime
from typing import Any

import pytest

from asyncdlms.cosem.image_transfer import (
    firmware_image,
    image_block_transfer_parameter,
    image_transfer_initiate_parameter,
    split_image,
)
from asyncdlms.errors import ActionError, DlmsError
from asyncdlms.server import DEFAULT_HLS_SECRET, DEFAULT_PASSWORD, Simulator
from asyncdlms.server.simulator import ImageTransferFaults, ImageTransferSettings
from asyncdlms.types.values import Array, Integer, LongUnsigned, OctetString, Structure

from .conftest import START, FakeTime

IMAGE_TRANSFER = "0.0.44.0.0.255"
SCHEDULE = "0.0.15.0.2.255"
SCRIPT_TABLE = "0.0.10.0.107.255"
FIRMWARE = "1.0.0.2.0.255"
IMAGE = firmware_image(b"FW-2.0", bytes((i * 13 + 5) & 0xFF for i in range(2000)))
BLOCKS = list(split_image(IMAGE, 100))  # 21 blocks


def simulator(fake_time: FakeTime, interface: str = "wrapper", **settings: Any) -> Simulator:
    settings.setdefault("block_size", 100)
    return Simulator(
        interface=interface,  # type: ignore[arg-type]
        time_source=fake_time,
        image_transfer=ImageTransferSettings(**settings),
    )


def login(sim: Simulator, client: int = 18) -> Any:
    if client == 17:
        return sim.connect(0, client=17, auth="low", password=DEFAULT_PASSWORD, timeout=5.0)
    return sim.connect(0, client=client, auth="md5", password=DEFAULT_HLS_SECRET, timeout=5.0)


async def initiate(meter: Any, image: bytes = IMAGE, identifier: bytes = b"FW-2.0") -> None:
    parameter = image_transfer_initiate_parameter(identifier, len(image))
    await meter.action(18, IMAGE_TRANSFER, 1, parameter)


async def send(meter: Any, number: int, value: bytes | None = None) -> None:
    block = BLOCKS[number].value if value is None else value
    await meter.action(18, IMAGE_TRANSFER, 2, image_block_transfer_parameter(number, block))


async def status(meter: Any) -> int:
    return int(await meter.get(18, IMAGE_TRANSFER, 6))


async def test_the_transfer_survives_associations_and_connections(fake_time: FakeTime) -> None:
    async with simulator(fake_time) as sim:
        async with login(sim) as meter:
            assert int(await meter.get(18, IMAGE_TRANSFER, 2)) == 100
            await initiate(meter)
            for number in range(10):
                await send(meter, number)
        async with login(sim) as meter:  # another connection and association
            await initiate(meter)  # the same image: resumes
            assert int(await meter.get(18, IMAGE_TRANSFER, 4)) == 10
            bits = tuple((await meter.get(18, IMAGE_TRANSFER, 3)).to_bools())
            assert bits == tuple(n < 10 for n in range(len(BLOCKS)))
            for number in range(10, len(BLOCKS)):
                await send(meter, number)
            await meter.action(18, IMAGE_TRANSFER, 3, Integer(0))
            await meter.action(18, IMAGE_TRANSFER, 4, Integer(0))
            assert await status(meter) == 6
        async with login(sim, client=17) as reader:  # LLS reads the version
            assert await reader.get(1, FIRMWARE, 2) == b"FW-2.0"


@pytest.mark.parametrize("interface", ["wrapper", "hdlc"])
@pytest.mark.parametrize("at", [6, len(BLOCKS) - 1])  # at 30 % and at the last block
async def test_the_meter_drops_the_connection_at_a_block_once(
    fake_time: FakeTime, interface: str, at: int
) -> None:
    async with simulator(fake_time, interface=interface) as sim:
        sim.set_image_transfer_faults(0, ImageTransferFaults(drop_connection_at_block=at))
        meter = await login(sim)
        try:
            await initiate(meter)
            for number in range(at):
                await send(meter, number)
            with pytest.raises((DlmsError, ConnectionError, TimeoutError)):
                await send(meter, at)
        finally:
            with contextlib.suppress(DlmsError, ConnectionError, TimeoutError, OSError):
                await meter.close()
        assert sim.servers[0].connection_count == 0
        async with login(sim) as meter:
            await initiate(meter)
            assert int(await meter.get(18, IMAGE_TRANSFER, 4)) == at  # that block was not kept
            for number in range(at, len(BLOCKS)):
                await send(meter, number)
            await meter.action(18, IMAGE_TRANSFER, 3, Integer(0))
            assert await status(meter) == 3


async def test_refused_and_corrupt_blocks(fake_time: FakeTime) -> None:
    async with simulator(fake_time) as sim:
        faults = ImageTransferFaults(refuse_blocks=frozenset({3}), refusals=2, corrupt_block=8)
        sim.set_image_transfer_faults(0, faults)
        async with login(sim) as meter:
            await initiate(meter)
            for _ in range(2):
                with pytest.raises(ActionError) as refused:
                    await send(meter, 3)
                assert int(refused.value.result) == 2  # temporary-failure
            for block in BLOCKS:
                await send(meter, block.number)
            with pytest.raises(ActionError):
                await meter.action(18, IMAGE_TRANSFER, 3, Integer(0))
            assert await status(meter) == 4
            assert await meter.get(18, IMAGE_TRANSFER, 7) == Array()
            with pytest.raises(ActionError):
                await meter.action(18, IMAGE_TRANSFER, 4, Integer(0))
            assert await meter.get(1, FIRMWARE, 2) == b"SIM-1.0.0"
            # initiating after the failure starts again; the corruption was once only
            await initiate(meter)
            assert int(await meter.get(18, IMAGE_TRANSFER, 4)) == 0
            for block in BLOCKS:
                await send(meter, block.number)
            await meter.action(18, IMAGE_TRANSFER, 3, Integer(0))
            assert await status(meter) == 3


async def test_bad_blocks_are_refused(fake_time: FakeTime) -> None:
    async with simulator(fake_time) as sim, login(sim) as meter:
        with pytest.raises(ActionError):  # not initiated
            await send(meter, 0)
        await initiate(meter)
        for number, value in ((len(BLOCKS), b"x"), (0, BLOCKS[0].value[:-1])):
            with pytest.raises(ActionError) as refused:
                await send(meter, number, value)
            assert int(refused.value.result) == 250  # other-reason
        with pytest.raises(ActionError) as refused:
            await meter.action(18, IMAGE_TRANSFER, 2, Integer(5))
        assert int(refused.value.result) == 12  # type-unmatched
        await meter.set(18, IMAGE_TRANSFER, 5, False)
        assert await meter.get(18, IMAGE_TRANSFER, 5) is False
        with pytest.raises(ActionError) as refused:
            await send(meter, 0)
        assert int(refused.value.result) == 3  # read-write-denied
        await meter.set(18, IMAGE_TRANSFER, 5, True)
        await send(meter, 0)


@pytest.mark.parametrize("loses", [False, True])
async def test_a_restart_keeps_or_loses_the_transfer(fake_time: FakeTime, loses: bool) -> None:
    async with simulator(fake_time) as sim:
        sim.set_image_transfer_faults(0, ImageTransferFaults(restart_loses_transfer=loses))
        async with login(sim) as meter:
            await initiate(meter)
            for number in range(5):
                await send(meter, number)
        sim.restart_meter(0)
        async with login(sim) as meter:
            assert await status(meter) == (0 if loses else 1)
            assert int(await meter.get(18, IMAGE_TRANSFER, 4)) == (0 if loses else 5)


async def test_verification_and_activation_take_simulated_time(fake_time: FakeTime) -> None:
    times = {"verification_time": 30, "activation_time": 10}
    async with simulator(fake_time, **times) as sim, login(sim) as meter:
        await initiate(meter)
        for block in BLOCKS:
            await send(meter, block.number)
        with pytest.raises(ActionError) as verifying:
            await meter.action(18, IMAGE_TRANSFER, 3, Integer(0))
        assert int(verifying.value.result) == 2
        assert await status(meter) == 2
        fake_time.advance(30)
        assert await status(meter) == 3
        (info,) = await meter.get(18, IMAGE_TRANSFER, 7)
        assert (int(info[0]), bytes(info[1])) == (len(IMAGE), b"FW-2.0")
        with pytest.raises(ActionError):
            await meter.action(18, IMAGE_TRANSFER, 4, Integer(0))
        assert await status(meter) == 5
        assert await meter.get(1, FIRMWARE, 2) == b"SIM-1.0.0"
        fake_time.advance(10)
        assert await status(meter) == 6
        assert await meter.get(1, FIRMWARE, 2) == b"FW-2.0"


def execution_time(at: datetime.datetime) -> Array:
    time = bytes((at.hour, at.minute, at.second, 0))
    date = at.year.to_bytes(2, "big") + bytes((at.month, at.day, at.isoweekday()))
    return Array((Structure((OctetString(time), OctetString(date))),))


async def test_activation_scheduled_by_the_single_action_schedule(fake_time: FakeTime) -> None:
    async with simulator(fake_time) as sim, login(sim) as meter:
        script = await meter.get(22, SCHEDULE, 2)
        assert (bytes(script[0]), int(script[1])) == (bytes((0, 0, 10, 0, 107, 255)), 1)
        await initiate(meter)
        for block in BLOCKS:
            await send(meter, block.number)
        await meter.action(18, IMAGE_TRANSFER, 3, Integer(0))
        at = START + datetime.timedelta(minutes=30)
        await meter.set(22, SCHEDULE, 4, execution_time(at))
        assert len(await meter.get(22, SCHEDULE, 4)) == 1
        fake_time.advance(29 * 60)
        assert await meter.get(1, FIRMWARE, 2) == b"SIM-1.0.0"
        fake_time.advance(2 * 60)
        assert await meter.get(1, FIRMWARE, 2) == b"FW-2.0"
        assert await status(meter) == 6
        assert await meter.get(22, SCHEDULE, 4) == execution_time(at)  # as written


async def test_the_script_table_activates(fake_time: FakeTime) -> None:
    async with simulator(fake_time) as sim, login(sim) as meter:
        await initiate(meter)
        for block in BLOCKS:
            await send(meter, block.number)
        await meter.action(18, IMAGE_TRANSFER, 3, Integer(0))
        with pytest.raises(ActionError):
            await meter.action(9, SCRIPT_TABLE, 1, LongUnsigned(2))  # no such script
        await meter.action(9, SCRIPT_TABLE, 1, LongUnsigned(1))
        assert await meter.get(1, FIRMWARE, 2) == b"FW-2.0"


async def test_activation_can_restart_the_meter(fake_time: FakeTime) -> None:
    async with simulator(fake_time, restart_on_activation=True) as sim:
        meter = await login(sim)
        try:
            await initiate(meter)
            for block in BLOCKS:
                await send(meter, block.number)
            await meter.action(18, IMAGE_TRANSFER, 3, Integer(0))
            await meter.action(18, IMAGE_TRANSFER, 4, Integer(0))  # answered, then dropped
            with pytest.raises((DlmsError, ConnectionError, TimeoutError)):
                await meter.get(1, FIRMWARE, 2)
        finally:
            with contextlib.suppress(DlmsError, ConnectionError, TimeoutError, OSError):
                await meter.close()
        async with login(sim) as meter:
            assert await meter.get(1, FIRMWARE, 2) == b"FW-2.0"
