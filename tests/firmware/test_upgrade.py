"""Client.upgrade_firmware against the simulator's Image transfer object over TCP (wrapper)
and HDLC: the whole image transfer process, resume after the connection was killed by the
client or dropped by the meter at 30 % and 99 %, refused blocks, a corrupt block, verification
and activation polling, scheduled activation on the meter's clock, no activation, a disabled
transfer, a meter that restarts into the new image."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import math
import os
from typing import Any

import pytest

from asyncdlms.apdu.acse import MechanismName
from asyncdlms.apdu.initiate import Conformance
from asyncdlms.errors import DlmsError
from asyncdlms.firmware import (
    Activation,
    FirmwareProgress,
    FirmwareSettings,
    FirmwareTimeoutError,
    FirmwareTransferError,
    FirmwareVerificationError,
    ImageTransferDisabledError,
)
from asyncdlms.security.ciphering import SecurityPolicy
from asyncdlms.security.hls import Secret
from asyncdlms.server import (
    ImageTransferFaults,
    ImageTransferServer,
    ImageTransferSettings,
    Simulator,
)
from asyncdlms.server.simulator import DEFAULT_HLS_SECRET, default_associations
from asyncdlms.session.server import AssociationPolicy, ServerSecurity
from asyncdlms.session.server.settings import DEFAULT_SERVER_CONFORMANCE
from asyncdlms.session.settings import ClientSecurity, ClientSettings
from asyncdlms.types.clock import Date, Time

from .conftest import image_of, image_of_blocks

FAST = FirmwareSettings(first_poll=0.02, max_poll=0.1)
TRANSFER = "0.0.44.0.0.255"
FIRMWARE_IDENTIFIER = "1.0.0.2.0.255"


def simulator(block_size: int = 128, **kwargs: Any) -> Simulator:
    """A simulator whose meters receive firmware in blocks of ``block_size`` bytes;
    ``verification_time``, ``activation_time``, ``restart_on_activation`` go to its
    :class:`ImageTransferSettings`, the rest to the :class:`Simulator`."""
    names = ("verification_time", "activation_time", "restart_on_activation")
    transfer = {name: kwargs.pop(name) for name in names if name in kwargs}
    settings = ImageTransferSettings(block_size=block_size, **transfer)
    return Simulator(image_transfer=settings, **kwargs)


def machine(sim: Simulator, index: int = 0) -> ImageTransferServer:
    """Meter ``index``'s Image transfer state machine, advanced to the present."""
    return sim.meters[index].image_transfer_now()


def manage(sim: Simulator, index: int = 0, **kwargs: Any) -> Any:
    """The management association (client 18, HLS-MD5): it may invoke class 18 methods."""
    kwargs.setdefault("timeout", 5.0)
    return sim.connect(index, client=18, auth="md5", password=DEFAULT_HLS_SECRET, **kwargs)


def transfers(phases: list[FirmwareProgress]) -> int:
    """Block-transfer requests a progress callback saw (one report per request, and one
    before the first)."""
    return len([p for p in phases if p.phase == "transfer"]) - 1


@pytest.mark.parametrize("interface", ["wrapper", "hdlc"])
async def test_upgrade_with_the_simulator(interface: str) -> None:
    image = image_of(b"SIM-2.0.0", 3000)
    seen: list[FirmwareProgress] = []
    async with Simulator(interface=interface) as sim, manage(sim) as meter:
        result = await meter.upgrade_firmware(image, "SIM-2.0.0", progress=seen.append)
        assert await meter.get(1, FIRMWARE_IDENTIFIER, 2) == b"SIM-2.0.0"
        assert await meter.get(18, TRANSFER, 6) == 6  # image activation successful
    assert result.firmware_before == b"SIM-1.0.0"
    assert result.firmware_after == b"SIM-2.0.0"
    assert result.identifier == b"SIM-2.0.0" and result.image_size == len(image)
    assert result.block_size == sim.image_transfer.block_size
    assert result.blocks == math.ceil(len(image) / result.block_size)
    assert result.blocks_sent == result.blocks and result.resumed_from == 0
    assert result.bytes_sent == len(image) and result.verified
    assert result.activation is Activation.NOW and result.rate > 0
    assert machine(sim).image() == image
    transfer = [p for p in seen if p.phase == "transfer"]
    assert transfer[-1].blocks_done == result.blocks
    # several blocks per ACTION with-list: fewer requests than blocks
    assert len(transfer) - 1 < result.blocks
    assert [p.phase for p in seen][-3:] == ["verify", "activate", "confirm"]


async def test_one_block_per_request_without_pipelining() -> None:
    sim = simulator(block_size=100)
    image = image_of(b"ONE", 950)
    seen: list[FirmwareProgress] = []
    settings = FirmwareSettings(pipeline=False)
    async with sim, manage(sim) as meter:
        result = await meter.upgrade_firmware(image, b"ONE", progress=seen.append,
                                              settings=settings)  # fmt: skip
    assert transfers(seen) == result.blocks == 10
    assert machine(sim).blocks_received == 10 and all(machine(sim).transferred_blocks())


@pytest.mark.parametrize("interface", ["wrapper", "hdlc"])
@pytest.mark.parametrize("fraction", [0.30, 0.99])
async def test_resume_after_the_connection_was_killed(fraction: float, interface: str) -> None:
    """The client kills the TCP connection abruptly once ``fraction`` of the blocks are on
    the meter; the next call initiates again, reads what the meter holds and sends only the
    rest."""
    sim = simulator(block_size=64, interface=interface)
    image = image_of_blocks(b"FW-3", 200, 64)
    blocks = 200
    kill_at = math.ceil(fraction * blocks)
    killed: list[int] = []
    async with sim:
        async with manage(sim) as meter:

            def kill(progress: FirmwareProgress) -> None:
                if not killed and progress.blocks_done >= kill_at:
                    killed.append(progress.blocks_done)
                    transport = meter._driver.transport if meter._driver else None
                    assert transport is not None
                    transport.abort()  # type: ignore[attr-defined]

            with pytest.raises((DlmsError, OSError)):
                await meter.upgrade_firmware(
                    image, "FW-3", progress=kill, settings=FirmwareSettings(pipeline=False)
                )
        assert killed == [kill_at]
        assert sum(machine(sim).transferred_blocks()) == kill_at
        async with manage(sim) as meter:
            result = await meter.upgrade_firmware(image, "FW-3", settings=FAST)
    assert result.resumed_from == kill_at
    assert result.blocks_sent == blocks - kill_at
    assert result.bytes_sent == len(image) - kill_at * 64
    assert machine(sim).blocks_received == blocks  # every block exactly once
    assert result.firmware_after == b"FW-3" and sim.meters[0].firmware == b"FW-3"


@pytest.mark.parametrize("interface", ["wrapper", "hdlc"])
@pytest.mark.parametrize("fraction", [0.30, 0.99])
async def test_resume_after_the_meter_dropped_the_connection(
    fraction: float, interface: str
) -> None:
    """The meter closes the connection when block ``fraction * blocks`` arrives (in the
    middle of an ACTION with-list), without storing it; the next call sends only what the
    meter does not hold."""
    sim = simulator(block_size=64, interface=interface)
    image = image_of_blocks(b"FW-4", 200, 64)
    blocks = 200
    drop_at = math.ceil(fraction * blocks) - 1
    sim.set_image_transfer_faults(0, ImageTransferFaults(drop_connection_at_block=drop_at))
    async with sim:
        async with manage(sim) as meter:
            with pytest.raises((DlmsError, OSError)):
                await meter.upgrade_firmware(image, "FW-4", settings=FAST)
        # the blocks before it, and none after it in the same with-list
        held = machine(sim).transferred_blocks()
        assert held == (True,) * drop_at + (False,) * (blocks - drop_at)
        assert machine(sim).first_not_transferred_block_number == drop_at
        assert sim.meters[0].firmware == b"SIM-1.0.0"
        before = machine(sim).blocks_received
        async with manage(sim) as meter:
            result = await meter.upgrade_firmware(image, "FW-4", settings=FAST)
    assert result.resumed_from == drop_at
    assert result.blocks_sent == blocks - drop_at
    assert machine(sim).blocks_received - before == blocks - drop_at  # nothing twice
    assert result.firmware_after == b"FW-4" and machine(sim).image() == image


async def test_a_new_image_starts_from_nothing() -> None:
    sim = simulator(block_size=64)
    async with sim, manage(sim) as meter:
        await meter.upgrade_firmware(image_of(b"A", 1000), "A", activate=False)
        result = await meter.upgrade_firmware(image_of(b"B", 1000), "B")
    assert result.resumed_from == 0 and result.blocks_sent == result.blocks
    assert result.firmware_after == b"B"


async def test_refused_blocks_are_sent_again() -> None:
    sim = simulator(block_size=64)
    faults = ImageTransferFaults(refuse_blocks=frozenset({3, 10}), refusals=2)
    sim.set_image_transfer_faults(0, faults)
    image = image_of(b"R", 1500)
    async with sim, manage(sim) as meter:
        result = await meter.upgrade_firmware(image, "R", settings=FAST)
    assert result.firmware_after == b"R"
    assert result.blocks_sent == result.blocks + 4  # blocks 3 and 10 twice more each
    assert machine(sim).blocks_received == result.blocks  # the refused ones were not stored
    assert machine(sim).image() == image


async def test_a_block_refused_too_often_is_a_typed_error() -> None:
    sim = simulator(block_size=64)
    faults = ImageTransferFaults(refuse_blocks=frozenset({5}), refusals=10)
    sim.set_image_transfer_faults(0, faults)
    async with sim, manage(sim) as meter:
        with pytest.raises(FirmwareTransferError, match="refused image block 5") as caught:
            await meter.upgrade_firmware(image_of(b"R", 900), "R",
                                         settings=FirmwareSettings(first_poll=0.01,
                                                                   block_attempts=2))  # fmt: skip
    assert caught.value.missing == (5,)
    assert sim.meters[0].firmware == b"SIM-1.0.0"


def status_reads(sent: list[bytes]) -> int:
    """GET-Request-Normal of image_transfer_status (class 18, 0.0.44.0.0.255, attribute 6)
    among the wrapper frames ``sent``."""
    descriptor = b"\x00\x12\x00\x00\x2c\x00\x00\xff\x06"
    return sum(1 for chunk in sent if chunk[8:10] == b"\xc0\x01" and descriptor in chunk[8:])


async def test_verification_and_activation_are_polled_until_the_meter_is_done() -> None:
    sim = simulator(block_size=128, verification_time=0.4, activation_time=0.3)
    image = image_of(b"V", 2000)
    seen: list[FirmwareProgress] = []
    sent: list[bytes] = []

    def trace(direction: str, data: bytes, now: float) -> None:
        if direction == "->":
            sent.append(data)

    async with sim, manage(sim, trace=trace) as meter:
        result = await meter.upgrade_firmware(image, "V", progress=seen.append, settings=FAST)
        assert await meter.get(18, TRANSFER, 6) == 6  # activation successful
    assert result.verified and result.firmware_after == b"V"
    assert [p.phase for p in seen][-3:] == ["verify", "activate", "confirm"]
    # 0.4 s of verification and 0.3 s of activation polled from 0.02 s doubling to 0.1 s:
    # at least two reads of the status for each, before the final read of the test
    assert status_reads(sent) >= 5


async def test_a_corrupt_block_fails_verification_and_a_new_attempt_starts_over() -> None:
    """The meter stores block 7 with a bit flipped: the verification (which takes time)
    fails; the next upgrade initiates again, and after a failed verification the meter
    starts from nothing."""
    sim = simulator(block_size=128, verification_time=0.2)
    sim.set_image_transfer_faults(0, ImageTransferFaults(corrupt_block=7))
    image = image_of(b"CORRUPT", 2000)
    async with sim, manage(sim) as meter:
        with pytest.raises(FirmwareVerificationError, match="verification failed"):
            await meter.upgrade_firmware(image, "CORRUPT", settings=FAST)
        assert await meter.get(18, TRANSFER, 6) == 4  # image verification failed
        assert await meter.get(1, FIRMWARE_IDENTIFIER, 2) == b"SIM-1.0.0"
        result = await meter.upgrade_firmware(image, "CORRUPT", settings=FAST)
    assert result.resumed_from == 0 and result.blocks_sent == result.blocks
    assert result.firmware_after == b"CORRUPT"


async def test_a_corrupt_image_fails_at_once_on_a_quick_meter() -> None:
    sim = simulator(block_size=128)
    async with sim, manage(sim) as meter:
        with pytest.raises(FirmwareVerificationError, match="image_verify failed"):
            await meter.upgrade_firmware(os.urandom(1000), "BAD", settings=FAST)
        assert await meter.get(1, FIRMWARE_IDENTIFIER, 2) == b"SIM-1.0.0"


async def test_an_image_for_another_identifier_fails_verification() -> None:
    sim = simulator(block_size=128)
    async with sim, manage(sim) as meter:
        with pytest.raises(FirmwareVerificationError, match="not for this meter"):
            await meter.upgrade_firmware(image_of(b"OTHER", 1000), "THIS", settings=FAST)


async def test_verification_longer_than_allowed_is_a_timeout() -> None:
    sim = simulator(block_size=128, verification_time=30.0)
    settings = FirmwareSettings(first_poll=0.05, max_poll=0.1, verification_timeout=0.3)
    async with sim, manage(sim) as meter:
        with pytest.raises(FirmwareTimeoutError, match="verification_timeout"):
            await meter.upgrade_firmware(image_of(b"SLOW", 500), "SLOW", settings=settings)


class SimulatedTime:
    """A time source the test moves by hand (the simulator's clock and the meters')."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start.timestamp()

    def __call__(self) -> float:
        return self.now


async def test_scheduled_activation_happens_when_the_meter_clock_passes_the_time() -> None:
    start = dt.datetime(2027, 1, 2, 0, 0, tzinfo=dt.UTC)
    when = dt.datetime(2027, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    clock = SimulatedTime(start)
    sim = simulator(block_size=128, time_source=clock)
    async with sim, manage(sim) as meter:
        result = await meter.upgrade_firmware(image_of(b"LATER", 800), "LATER", activate=when)
        [(time, date)] = await meter.get(22, "0.0.15.0.2.255", 4)
        assert await meter.get(18, TRANSFER, 6) == 3  # verified, waiting
        clock.now = when.timestamp() - 1
        assert await meter.get(1, FIRMWARE_IDENTIFIER, 2) == b"SIM-1.0.0"
        clock.now = when.timestamp() + 1
        assert await meter.get(1, FIRMWARE_IDENTIFIER, 2) == b"LATER"
        assert await meter.get(18, TRANSFER, 6) == 6  # activation successful
    assert result.activation is Activation.SCHEDULED
    assert result.firmware_before == result.firmware_after == b"SIM-1.0.0"
    assert Time.from_bytes(time) == Time(hour=3, minute=4, second=5, hundredths=0)
    assert Date.from_bytes(date) == Date(year=2027, month=1, day_of_month=2, day_of_week=6)


async def test_a_scheduled_time_already_past_never_activates() -> None:
    clock = SimulatedTime(dt.datetime(2027, 1, 2, 12, 0, tzinfo=dt.UTC))
    sim = simulator(block_size=128, time_source=clock)
    past = dt.datetime(2027, 1, 2, 11, 0, tzinfo=dt.UTC)
    async with sim, manage(sim) as meter:
        await meter.upgrade_firmware(image_of(b"PAST", 600), "PAST", activate=past)
        clock.now += 3600
        assert await meter.get(1, FIRMWARE_IDENTIFIER, 2) == b"SIM-1.0.0"


async def test_no_activation() -> None:
    sim = simulator(block_size=128)
    async with sim, manage(sim) as meter:
        result = await meter.upgrade_firmware(image_of(b"NOT", 300), "NOT", activate=False)
        assert await meter.get(18, TRANSFER, 6) == 3  # verification successful
    assert result.activation is Activation.NONE and result.verified
    assert result.firmware_after == b"SIM-1.0.0"


async def test_a_disabled_transfer_is_enabled_or_refused() -> None:
    sim = simulator(block_size=128)
    machine(sim).image_transfer_enabled = False
    image = image_of(b"E", 300)
    async with sim, manage(sim) as meter:
        with pytest.raises(ImageTransferDisabledError, match="enable_transfer=True"):
            await meter.upgrade_firmware(image, "E", settings=FirmwareSettings(
                enable_transfer=False))  # fmt: skip
        result = await meter.upgrade_firmware(image, "E")
    assert result.firmware_after == b"E" and machine(sim).image_transfer_enabled


async def test_the_image_may_be_a_file(tmp_path: Any) -> None:
    path = tmp_path / "fw.bin"
    path.write_bytes(image_of(b"FILE", 640))
    sim = simulator(block_size=128)
    async with sim, manage(sim) as meter:
        result = await meter.upgrade_firmware(path, "FILE")
    assert result.image_size == path.stat().st_size and result.firmware_after == b"FILE"


def test_upgrade_settles_in_one_loop() -> None:
    """Nothing of an upgrade is left running after it returned (no stray tasks)."""

    async def main() -> set[asyncio.Task[Any]]:
        sim = simulator(block_size=128, verification_time=0.05)
        async with sim, manage(sim) as meter:
            await meter.upgrade_firmware(image_of(b"T", 300), "T", settings=FAST)
        return {t for t in asyncio.all_tasks() if t is not asyncio.current_task()}

    assert asyncio.run(main()) == set()


@pytest.mark.parametrize("activation_time", [0.0, 0.2])
async def test_the_meter_restarting_at_activation_is_associated_again(
    activation_time: float,
) -> None:
    sim = simulator(block_size=128, restart_on_activation=True, activation_time=activation_time)
    async with sim, manage(sim) as meter:
        result = await meter.upgrade_firmware(image_of(b"RESTARTED", 700), "RESTARTED",
                                              settings=FAST)  # fmt: skip
        assert meter.reconnections == 1 and meter.session.associated
        assert await meter.get(1, FIRMWARE_IDENTIFIER, 2) == b"RESTARTED"
    assert result.firmware_after == b"RESTARTED"


async def test_blocks_larger_than_the_pdu_go_in_pblocks() -> None:
    """A 1500-byte image block with a 512-byte server PDU: every block is one ACTION sent
    in pblocks (ACTION-Request-With-First-Pblock...), one block per request."""
    sim = simulator(block_size=1500, max_pdu_size=512)
    image = image_of_blocks(b"BIG", 5, 1500)
    seen: list[FirmwareProgress] = []
    async with sim, manage(sim) as meter:
        result = await meter.upgrade_firmware(image, "BIG", progress=seen.append)
    assert result.firmware_after == b"BIG" and result.blocks == 5
    assert transfers(seen) == 5
    assert machine(sim).blocks_received == 5 and machine(sim).image() == image


async def test_with_general_block_transfer_more_blocks_go_per_request() -> None:
    sim = simulator(block_size=200, max_pdu_size=512, gbt_window_size=4)
    image = image_of_blocks(b"GBT", 40, 200)
    seen: list[FirmwareProgress] = []
    settings = dataclasses.replace(
        ClientSettings(mechanism=MechanismName.HIGH_MD5, secret=Secret(DEFAULT_HLS_SECRET)),
        use_general_block_transfer=True,
    )
    async with sim, sim.connect(0, client=18, settings=settings, timeout=5.0) as meter:
        assert meter.session.negotiated is not None
        assert meter.session.negotiated.conformance & Conformance.GENERAL_BLOCK_TRANSFER
        upgrade = FirmwareSettings(max_blocks_per_request=8)
        result = await meter.upgrade_firmware(image, "GBT", progress=seen.append,
                                              settings=upgrade)  # fmt: skip
    assert result.firmware_after == b"GBT"
    # 8 blocks (1.6 kB) per ACTION with-list although the PDU is 512 bytes: GBT carries it
    assert transfers(seen) == 5
    assert machine(sim).blocks_received == 40 and machine(sim).image() == image


async def test_one_block_per_request_when_multiple_references_are_not_granted() -> None:
    associations = {
        client: dataclasses.replace(
            policy, conformance=DEFAULT_SERVER_CONFORMANCE & ~Conformance.MULTIPLE_REFERENCES
        )
        for client, policy in default_associations().items()
    }
    sim = simulator(block_size=100, associations=associations)
    seen: list[FirmwareProgress] = []
    async with sim, manage(sim) as meter:
        assert meter.session.negotiated is not None
        assert not meter.session.negotiated.conformance & Conformance.MULTIPLE_REFERENCES
        result = await meter.upgrade_firmware(image_of(b"SINGLE", 1168), "SINGLE",
                                              progress=seen.append)  # fmt: skip
    assert result.blocks == 12 and result.firmware_after == b"SINGLE"
    assert transfers(seen) == 12
    assert machine(sim).blocks_received == 12 and all(machine(sim).transferred_blocks())


@pytest.mark.parametrize("refusal", ["action-result", "unparsable"])
async def test_a_with_list_refused_as_a_whole_falls_back_to_one_block_per_request(
    refusal: str,
) -> None:
    """A meter that grants multiple-references but answers an ACTION with-list with one
    action-response-normal carrying an error, or with an answer that does not parse
    (gurux-dlms based meters answer hardware-fault, and for a long list two action-responses
    run together): every block goes in its own ACTION-Request-Normal from then on (the
    groups already packed included), none lost."""
    from asyncdlms.apdu.enums import ActionResult, action_error
    from asyncdlms.errors import DecodeError

    error = (
        action_error(ActionResult.HARDWARE_FAULT)
        if refusal == "action-result"
        else DecodeError("presence flag of return-parameters must be 0x00 or 0x01, got 0xc7")
    )

    sent: list[bytes] = []

    def trace(direction: str, data: bytes, now: float) -> None:
        if direction == "->":
            sent.append(data)

    sim = simulator(block_size=100, max_pdu_size=1024)
    lists: list[int] = []
    async with sim, manage(sim, trace=trace) as meter:
        assert meter.session.negotiated is not None
        assert meter.session.negotiated.conformance & Conformance.MULTIPLE_REFERENCES

        async def refuse(items: Any, **kwargs: Any) -> Any:
            lists.append(len(items))
            raise error

        meter.action_many = refuse  # type: ignore[method-assign]
        image = image_of(b"NOLIST", 1168)
        result = await meter.upgrade_firmware(image, "NOLIST")
    assert lists == [8]  # tried once (8 blocks fit 1024 bytes), then never again
    singles = [c[8:] for c in sent if c[8:10] == b"\xc3\x01" and c[11:13] == b"\x00\x12"
               and c[19] == 2]  # fmt: skip
    assert len(singles) == 12 and not [c for c in sent if c[8:10] == b"\xc3\x03"]
    assert result.blocks == 12 and result.blocks_sent == 12
    assert result.firmware_after == b"NOLIST"
    assert machine(sim).blocks_received == 12 and machine(sim).image() == image


async def test_a_with_list_that_fails_deciphering_is_no_refusal() -> None:
    """A deciphering failure of a with-list's answer ends the upgrade (it is no sign that
    the meter refuses with-lists: falling back would hide a security failure)."""
    from asyncdlms.errors import DecipheringError

    sim = simulator(block_size=100)
    async with sim, manage(sim) as meter:

        async def broken(items: Any, **kwargs: Any) -> Any:
            raise DecipheringError("authentication tag mismatch")

        meter.action_many = broken  # type: ignore[method-assign]
        with pytest.raises(DecipheringError):
            await meter.upgrade_firmware(image_of(b"TAG", 1168), "TAG")
    assert machine(sim).blocks_received == 0


async def test_a_refused_initiate_is_a_typed_error() -> None:
    too_big = bytes(16 * 1024 * 1024 + 1)  # the simulator takes images up to 16 MiB
    async with Simulator() as sim, manage(sim) as meter:
        with pytest.raises(FirmwareTransferError, match="refused image_transfer_initiate"):
            await meter.upgrade_firmware(too_big, "HUGE")


@pytest.mark.parametrize("max_pdu_size", [256, 1024])
async def test_with_lists_fill_but_never_exceed_the_negotiated_pdu(max_pdu_size: int) -> None:
    """Every ACTION-Request-With-List on the wire (wrapper: 8 header bytes, then the APDU
    C3 03 ...) fits the meter's max receive PDU size, and holds more than one block."""
    sent: list[bytes] = []

    def trace(direction: str, data: bytes, now: float) -> None:
        if direction == "->":
            sent.append(data)

    sim = simulator(block_size=50, max_pdu_size=max_pdu_size)
    async with sim, manage(sim, trace=trace) as meter:
        result = await meter.upgrade_firmware(image_of(b"PDU", 3000), "PDU")
    lists = [chunk[8:] for chunk in sent if chunk[8:10] == b"\xc3\x03"]
    assert lists and all(len(apdu) <= max_pdu_size for apdu in lists)
    per_list = [apdu[3] for apdu in lists]  # the method count after C3 03 invoke-id
    assert min(per_list) >= 2
    # packed greedily: one more block (descriptor 9 bytes, structure {double-long-unsigned,
    # octet-string of 50}: 59 bytes) would not have fit the biggest list
    assert max(len(apdu) for apdu in lists) + 9 + 59 > max_pdu_size
    # the rest (a last group of one) as ACTION-Request-Normal of image_block_transfer
    singles = [c[8:] for c in sent if c[8:10] == b"\xc3\x01" and c[11:13] == b"\x00\x12"
               and c[19] == 2]  # fmt: skip
    assert len(singles) <= 1
    assert sum(per_list) + len(singles) == result.blocks_sent == result.blocks
    assert machine(sim).blocks_received == result.blocks


async def test_upgrade_over_a_ciphered_association() -> None:
    """Suite 0, authenticated encryption: the with-lists leave room for the security header
    and tag (the meter's 512-byte PDU counts the ciphered APDU)."""
    keys = (Secret(bytes(range(16))), Secret(bytes(range(16, 32))))
    protection = ServerSecurity(*keys, SecurityPolicy.AUTHENTICATED_ENCRYPTION)
    associations = {
        16: AssociationPolicy(),
        1: AssociationPolicy(
            MechanismName.HIGH_GMAC, Secret(DEFAULT_HLS_SECRET), security=protection
        ),
    }
    settings = ClientSettings(
        mechanism=MechanismName.HIGH_GMAC,
        secret=Secret(DEFAULT_HLS_SECRET),
        security=ClientSecurity(b"CLI00001", *keys, "ae"),
    )
    sim = simulator(block_size=60, max_pdu_size=512, associations=associations)
    seen: list[FirmwareProgress] = []
    sent: list[bytes] = []

    def trace(direction: str, data: bytes, now: float) -> None:
        if direction == "->":
            sent.append(data)

    async with sim, sim.connect(0, client=1, settings=settings, timeout=5.0, trace=trace) as meter:
        result = await meter.upgrade_firmware(image_of(b"CIPHERED", 3000), "CIPHERED",
                                              progress=seen.append)  # fmt: skip
    assert result.firmware_after == b"CIPHERED"
    ciphered = [chunk[8:] for chunk in sent if chunk[8] == 0xCB]  # glo-action-request
    assert max(len(apdu) for apdu in ciphered) <= 512
    assert max(len(apdu) for apdu in ciphered) > 512 - 60 - 20  # filled
    requests = transfers(seen)
    assert 1 < result.blocks // requests <= 512 // 60
    assert machine(sim).blocks_received == result.blocks


@pytest.mark.parametrize("loses", [False, True])
async def test_a_meter_restart_during_the_transfer(loses: bool) -> None:
    """The meter restarts (its connections drop) once 40 of 100 blocks are confirmed: the
    next call resumes from what it kept in non-volatile memory, or, with
    ``restart_loses_transfer``, starts again from nothing."""
    sim = simulator(block_size=64)
    sim.set_image_transfer_faults(0, ImageTransferFaults(restart_loses_transfer=loses))
    image = image_of_blocks(b"RESTART", 100, 64)
    restarted: list[int] = []

    def restart(progress: FirmwareProgress) -> None:
        if not restarted and progress.blocks_done >= 40:
            restarted.append(progress.blocks_done)
            sim.restart_meter(0)

    async with sim:
        async with manage(sim) as meter:
            with pytest.raises((DlmsError, OSError)):
                await meter.upgrade_firmware(
                    image, "RESTART", progress=restart, settings=FirmwareSettings(pipeline=False)
                )
        assert restarted == [40]
        async with manage(sim) as meter:
            result = await meter.upgrade_firmware(image, "RESTART", settings=FAST)
    assert result.resumed_from == (0 if loses else 40)
    assert result.blocks_sent == (100 if loses else 60)
    assert result.firmware_after == b"RESTART" and machine(sim).image() == image


async def test_over_udp_a_dropped_block_is_refused_and_sent_again() -> None:
    """Over UDP there is no connection to drop: the meter answers temporary-failure for the
    block (and the rest of its with-list), and the client sends them again in the same
    call."""
    sim = simulator(block_size=64, transport="udp")
    sim.set_image_transfer_faults(0, ImageTransferFaults(drop_connection_at_block=30))
    image = image_of_blocks(b"UDP", 60, 64)
    async with sim, manage(sim) as meter:
        result = await meter.upgrade_firmware(image, "UDP", settings=FAST)
    assert result.resumed_from == 0 and result.blocks_sent > result.blocks
    assert machine(sim).blocks_received == result.blocks  # the refused ones were not stored
    assert result.firmware_after == b"UDP" and machine(sim).image() == image
