"""Client.upgrade_firmware against simulated meters over TCP (wrapper) and HDLC: the whole
image transfer process, resume after the connection was killed at 30 % and 99 %, refused
blocks, verification polling and failure, scheduled and no activation, a disabled transfer."""

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
from asyncdlms.server import Simulator
from asyncdlms.server.simulator import DEFAULT_HLS_SECRET, default_associations
from asyncdlms.session.server import AssociationPolicy, ServerSecurity
from asyncdlms.session.server.settings import DEFAULT_SERVER_CONFORMANCE
from asyncdlms.session.settings import ClientSecurity, ClientSettings
from asyncdlms.types.clock import Date, Time

from .meter import faithful_simulator, firmware_image, simulator_image

FAST = FirmwareSettings(first_poll=0.02, max_poll=0.1)


def manage(sim: Simulator, index: int = 0, **kwargs: Any) -> Any:
    """The management association (client 18, HLS-MD5): it may invoke class 18 methods."""
    kwargs.setdefault("timeout", 5.0)
    return sim.connect(index, client=18, auth="md5", password=DEFAULT_HLS_SECRET, **kwargs)


@pytest.mark.parametrize("interface", ["wrapper", "hdlc"])
async def test_upgrade_with_the_simulator(interface: str) -> None:
    image = simulator_image(b"SIM-2.0.0", os.urandom(3000))
    seen: list[FirmwareProgress] = []
    async with Simulator(interface=interface) as sim, manage(sim) as meter:
        result = await meter.upgrade_firmware(image, "SIM-2.0.0", progress=seen.append)
        assert await meter.get(1, "1.0.0.2.0.255", 2) == b"SIM-2.0.0"
    assert result.firmware_before == b"SIM-1.0.0"
    assert result.firmware_after == b"SIM-2.0.0"
    assert result.identifier == b"SIM-2.0.0" and result.image_size == len(image)
    assert result.blocks == math.ceil(len(image) / result.block_size)
    assert result.blocks_sent == result.blocks and result.resumed_from == 0
    assert result.bytes_sent == len(image) and result.verified
    assert result.activation is Activation.NOW and result.rate > 0
    transfer = [p for p in seen if p.phase == "transfer"]
    assert transfer[-1].blocks_done == result.blocks
    # several blocks per ACTION with-list: fewer requests than blocks
    assert len(transfer) - 1 < result.blocks
    assert [p.phase for p in seen][-3:] == ["verify", "activate", "confirm"]


async def test_one_block_per_request_without_pipelining() -> None:
    sim, meters = faithful_simulator(block_size=100)
    image = firmware_image(os.urandom(950))
    seen: list[FirmwareProgress] = []
    settings = FirmwareSettings(pipeline=False)
    async with sim, manage(sim) as meter:
        result = await meter.upgrade_firmware(image, b"ONE", progress=seen.append,
                                              settings=settings)  # fmt: skip
    transfer = [p for p in seen if p.phase == "transfer"]
    assert len(transfer) - 1 == result.blocks == 10
    assert meters.meter(0).received == list(range(10))


@pytest.mark.parametrize("interface", ["wrapper", "hdlc"])
@pytest.mark.parametrize("fraction", [0.30, 0.99])
async def test_resume_after_the_connection_was_killed(fraction: float, interface: str) -> None:
    """Kill the TCP connection abruptly once ``fraction`` of the blocks are on the meter;
    the next call initiates again, reads what the meter holds and sends only the rest."""
    sim, meters = faithful_simulator(block_size=64, interface=interface)
    image = firmware_image(os.urandom(200 * 64 - 32))  # 200 blocks
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
        held = len(set(meters.meter(0).received))
        assert held == kill_at
        async with manage(sim) as meter:
            result = await meter.upgrade_firmware(image, "FW-3", settings=FAST)
    assert result.resumed_from == kill_at
    assert result.blocks_sent == blocks - kill_at
    assert result.bytes_sent == len(image) - sum(
        len(image[n * 64 : (n + 1) * 64]) for n in range(kill_at)
    )
    received = meters.meter(0).received
    assert sorted(received) == list(range(blocks))  # every block exactly once
    assert result.firmware_after == b"FW-3"


async def test_a_new_image_starts_from_nothing() -> None:
    sim, _meters = faithful_simulator(block_size=64)
    first = firmware_image(os.urandom(1000))
    async with sim, manage(sim) as meter:
        await meter.upgrade_firmware(first, "A", activate=False)
        result = await meter.upgrade_firmware(firmware_image(os.urandom(1000)), "B")
    assert result.resumed_from == 0 and result.blocks_sent == result.blocks


async def test_refused_blocks_are_sent_again() -> None:
    sim, meters = faithful_simulator(block_size=64)
    meters.meter(0).refusals.update({3: 1, 10: 2})
    image = firmware_image(os.urandom(1500))
    async with sim, manage(sim) as meter:
        result = await meter.upgrade_firmware(image, "R", settings=FAST)
    assert result.firmware_after == b"R"
    assert result.blocks_sent == result.blocks + 3  # block 3 once more, block 10 twice more
    assert sorted(meters.meter(0).received) == list(range(result.blocks))


async def test_a_block_refused_too_often_is_a_typed_error() -> None:
    sim, meters = faithful_simulator(block_size=64)
    meters.meter(0).refusals[5] = 10
    async with sim, manage(sim) as meter:
        with pytest.raises(FirmwareTransferError, match="refused image block 5") as caught:
            await meter.upgrade_firmware(firmware_image(os.urandom(900)), "R",
                                         settings=FirmwareSettings(first_poll=0.01,
                                                                   block_attempts=2))  # fmt: skip
    assert caught.value.missing == (5,)


async def test_verification_is_polled_until_the_meter_is_done() -> None:
    sim, meters = faithful_simulator(block_size=128, verification_time=0.4, activation_time=0.3)
    image = firmware_image(os.urandom(2000))
    seen: list[FirmwareProgress] = []
    async with sim, manage(sim) as meter:
        result = await meter.upgrade_firmware(image, "V", progress=seen.append, settings=FAST)
        assert await meter.get(18, "0.0.44.0.0.255", 6) == 6  # activation successful
    assert result.verified and result.firmware_after == b"V"
    assert "verify" in [p.phase for p in seen]
    # 0.4 s of verification and 0.3 s of activation polled from 0.02 s doubling to 0.1 s
    assert meters.meter(0).status_reads >= 4


async def test_a_corrupt_image_fails_verification() -> None:
    sim, _meters = faithful_simulator(block_size=128, verification_time=0.2)
    image = bytearray(firmware_image(os.urandom(2000)))
    image[700] ^= 0x01
    async with sim, manage(sim) as meter:
        with pytest.raises(FirmwareVerificationError, match="verification failed"):
            await meter.upgrade_firmware(bytes(image), "BAD", settings=FAST)
        assert await meter.get(1, "1.0.0.2.0.255", 2) == b"SIM-1.0.0"


async def test_a_corrupt_image_fails_at_once_on_a_quick_meter() -> None:
    sim, _meters = faithful_simulator(block_size=128)
    async with sim, manage(sim) as meter:
        with pytest.raises(FirmwareVerificationError, match="image_verify failed"):
            await meter.upgrade_firmware(os.urandom(1000), "BAD", settings=FAST)


async def test_verification_longer_than_allowed_is_a_timeout() -> None:
    sim, _meters = faithful_simulator(block_size=128, verification_time=30.0)
    settings = FirmwareSettings(first_poll=0.05, max_poll=0.1, verification_timeout=0.3)
    async with sim, manage(sim) as meter:
        with pytest.raises(FirmwareTimeoutError, match="verification_timeout"):
            await meter.upgrade_firmware(firmware_image(b"x" * 500), "SLOW", settings=settings)


async def test_scheduled_activation_sets_the_execution_time() -> None:
    sim, _meters = faithful_simulator(block_size=128)
    when = dt.datetime(2027, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    async with sim, manage(sim) as meter:
        result = await meter.upgrade_firmware(firmware_image(os.urandom(800)), "LATER",
                                              activate=when)  # fmt: skip
        held = await meter.get(22, "0.0.15.0.2.255", 4)
    assert result.activation is Activation.SCHEDULED
    assert result.firmware_before == result.firmware_after == b"SIM-1.0.0"
    [(time, date)] = held
    assert Time.from_bytes(time) == Time(hour=3, minute=4, second=5)
    assert Date.from_bytes(date) == Date(year=2027, month=1, day_of_month=2, day_of_week=6)


async def test_no_activation() -> None:
    sim, _meters = faithful_simulator(block_size=128)
    async with sim, manage(sim) as meter:
        result = await meter.upgrade_firmware(firmware_image(b"y" * 300), "NOT", activate=False)
        assert await meter.get(18, "0.0.44.0.0.255", 6) == 3  # verification successful
    assert result.activation is Activation.NONE and result.verified
    assert result.firmware_after == b"SIM-1.0.0"


async def test_a_disabled_transfer_is_enabled_or_refused() -> None:
    sim, meters = faithful_simulator(block_size=128)
    meters.meter(0).enabled = False
    image = firmware_image(b"z" * 300)
    async with sim, manage(sim) as meter:
        with pytest.raises(ImageTransferDisabledError, match="enable_transfer=True"):
            await meter.upgrade_firmware(image, "E", settings=FirmwareSettings(
                enable_transfer=False))  # fmt: skip
        result = await meter.upgrade_firmware(image, "E")
    assert result.firmware_after == b"E" and meters.meter(0).enabled


async def test_the_image_may_be_a_file(tmp_path: Any) -> None:
    path = tmp_path / "fw.bin"
    path.write_bytes(firmware_image(os.urandom(640)))
    sim, _meters = faithful_simulator(block_size=128)
    async with sim, manage(sim) as meter:
        result = await meter.upgrade_firmware(path, "FILE")
    assert result.image_size == path.stat().st_size


def test_upgrade_settles_in_one_loop() -> None:
    """Nothing of an upgrade is left running after it returned (no stray tasks)."""

    async def main() -> set[asyncio.Task[Any]]:
        sim, _meters = faithful_simulator(block_size=128)
        async with sim, manage(sim) as meter:
            await meter.upgrade_firmware(firmware_image(b"q" * 300), "T")
        return {t for t in asyncio.all_tasks() if t is not asyncio.current_task()}

    assert asyncio.run(main()) == set()


async def test_the_meter_restarting_at_activation_is_associated_again() -> None:
    sim, _ = faithful_simulator(block_size=128, restart_on_activation=True)
    async with sim, manage(sim) as meter:
        result = await meter.upgrade_firmware(firmware_image(os.urandom(700)), "RESTARTED",
                                              settings=FAST)  # fmt: skip
        assert meter.reconnections == 1 and meter.session.associated
    assert result.firmware_after == b"RESTARTED"


async def test_blocks_larger_than_the_pdu_go_in_pblocks() -> None:
    """A 1500-byte image block with a 512-byte server PDU: every block is one ACTION sent
    in pblocks (ACTION-Request-With-First-Pblock...), one block per request."""
    sim, meters = faithful_simulator(block_size=1500, max_pdu_size=512)
    image = firmware_image(os.urandom(5 * 1500 - 32))
    seen: list[FirmwareProgress] = []
    async with sim, manage(sim) as meter:
        result = await meter.upgrade_firmware(image, "BIG", progress=seen.append)
    assert result.firmware_after == b"BIG" and result.blocks == 5
    assert len([p for p in seen if p.phase == "transfer"]) - 1 == 5
    assert meters.meter(0).received == [0, 1, 2, 3, 4]


async def test_with_general_block_transfer_more_blocks_go_per_request() -> None:
    sim, meters = faithful_simulator(block_size=200, max_pdu_size=512, gbt_window_size=4)
    image = firmware_image(os.urandom(40 * 200 - 32))
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
    assert len([p for p in seen if p.phase == "transfer"]) - 1 == 5
    assert sorted(meters.meter(0).received) == list(range(40))


async def test_one_block_per_request_when_multiple_references_are_not_granted() -> None:
    associations = {
        client: dataclasses.replace(
            policy, conformance=DEFAULT_SERVER_CONFORMANCE & ~Conformance.MULTIPLE_REFERENCES
        )
        for client, policy in default_associations().items()
    }
    sim, meters = faithful_simulator(block_size=100, associations=associations)
    seen: list[FirmwareProgress] = []
    async with sim, manage(sim) as meter:
        assert meter.session.negotiated is not None
        assert not meter.session.negotiated.conformance & Conformance.MULTIPLE_REFERENCES
        result = await meter.upgrade_firmware(firmware_image(os.urandom(1168)), "SINGLE",
                                              progress=seen.append)  # fmt: skip
    assert result.blocks == 12 and result.firmware_after == b"SINGLE"
    assert len([p for p in seen if p.phase == "transfer"]) - 1 == 12
    assert meters.meter(0).received == list(range(12))


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

    sim, meters = faithful_simulator(block_size=50, max_pdu_size=max_pdu_size)
    async with sim, manage(sim, trace=trace) as meter:
        result = await meter.upgrade_firmware(firmware_image(os.urandom(3000)), "PDU")
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
    assert sorted(meters.meter(0).received) == list(range(result.blocks))


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
    sim, meters = faithful_simulator(block_size=60, max_pdu_size=512, associations=associations)
    seen: list[FirmwareProgress] = []
    sent: list[bytes] = []

    def trace(direction: str, data: bytes, now: float) -> None:
        if direction == "->":
            sent.append(data)

    async with sim, sim.connect(0, client=1, settings=settings, timeout=5.0, trace=trace) as meter:
        result = await meter.upgrade_firmware(firmware_image(os.urandom(3000)), "CIPHERED",
                                              progress=seen.append)  # fmt: skip
    assert result.firmware_after == b"CIPHERED"
    ciphered = [chunk[8:] for chunk in sent if chunk[8] == 0xCB]  # glo-action-request
    assert max(len(apdu) for apdu in ciphered) <= 512
    assert max(len(apdu) for apdu in ciphered) > 512 - 60 - 20  # filled
    requests = len([p for p in seen if p.phase == "transfer"]) - 1
    assert 1 < result.blocks // requests <= 512 // 60
    assert sorted(meters.meter(0).received) == list(range(result.blocks))
