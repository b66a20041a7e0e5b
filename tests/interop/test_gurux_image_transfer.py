"""gurux-dlms's client (GXDLMSClient, sans-IO) upgrades our simulator's firmware over a real
loopback socket with its own GXDLMSImageTransfer methods (imageTransferInitiate,
imageBlockTransfer, imageVerify, imageActivate), then reads the active firmware identifier;
a corrupt image fails the verification and the version stays.

gurux-dlms is only a test dependency (GPL); nothing of it is used by the package.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from asyncdlms.cosem.image_transfer import firmware_image
from asyncdlms.server import Simulator
from asyncdlms.server.simulator import ImageTransferSettings

from .test_gurux_client_vs_simulator import SocketConversation

gurux_dlms = pytest.importorskip("gurux_dlms")
from gurux_dlms import GXReplyData  # type: ignore[import-untyped]  # noqa: E402
from gurux_dlms.objects import GXDLMSData, GXDLMSImageTransfer  # type: ignore[import-untyped]  # noqa: E402

START = datetime.datetime(2026, 3, 10, 12, 7, 30, tzinfo=datetime.UTC)
IDENTIFIER = "FW-GX-2"
PAYLOAD = bytes((i * 29 + 3) & 0xFF for i in range(3000))


async def transfer(talk: SocketConversation, image: bytes) -> Any:
    """Initiate, send every block with gurux's own methods; the Image transfer object."""
    item = GXDLMSImageTransfer("0.0.44.0.0.255")
    await talk.read(item, 2)
    assert item.imageBlockSize == 120
    await talk.exchange(item.imageTransferInitiate(talk.client, IDENTIFIER, len(image)))
    count = [0]
    for packets in item.imageBlockTransfer(talk.client, image, count):
        await talk.exchange(packets)
    assert count[0] == -(-len(image) // 120)
    await talk.read(item, 4)
    assert item.imageFirstNotTransferredBlockNumber == count[0]
    return item


async def action_result(talk: SocketConversation, frames: Any) -> int:
    """Send an ACTION; gurux's error code of the answer (0: success, 250: other-reason)."""
    assert talk.writer is not None
    reply = GXReplyData()
    for frame in frames:
        reply = GXReplyData()
        talk.writer.write(bytes(frame))
        await talk._receive(reply)
    return int(reply.error)


async def firmware_version(talk: SocketConversation) -> bytes:
    version = await talk.read(GXDLMSData("1.0.0.2.0.255"), 2)
    value = version.value
    return value.encode() if isinstance(value, str) else bytes(value)


@pytest.mark.parametrize("interface", ["wrapper", "hdlc"])
async def test_gurux_upgrades_the_simulator(interface: str) -> None:
    settings = ImageTransferSettings(block_size=120)
    async with Simulator(
        interface=interface,  # type: ignore[arg-type]
        time_source=START.timestamp,
        image_transfer=settings,
    ) as sim:
        talk = SocketConversation(interface, 18, 1, 0xFFFF)
        await talk.connect(sim.urls[0])
        await talk.open()
        assert await firmware_version(talk) == b"SIM-1.0.0"
        item = await transfer(talk, firmware_image(IDENTIFIER.encode(), PAYLOAD))
        await talk.exchange(item.imageVerify(talk.client))
        await talk.read(item, 6)
        assert int(item.imageTransferStatus) == 3  # verification successful
        await talk.read(item, 7)
        (info,) = item.imageActivateInfo
        assert bytes(info.identification) == IDENTIFIER.encode()
        await talk.exchange(item.imageActivate(talk.client))
        await talk.read(item, 6)
        assert int(item.imageTransferStatus) == 6  # activation successful
        assert await firmware_version(talk) == IDENTIFIER.encode()
        await talk.close()


async def test_gurux_sees_a_corrupt_image_fail() -> None:
    async with Simulator(
        time_source=START.timestamp, image_transfer=ImageTransferSettings(block_size=120)
    ) as sim:
        talk = SocketConversation("wrapper", 18, 1, 0xFFFF)
        await talk.connect(sim.urls[0])
        await talk.open()
        image = bytearray(firmware_image(IDENTIFIER.encode(), PAYLOAD))
        image[1234] ^= 0x10
        item = await transfer(talk, bytes(image))
        assert await action_result(talk, item.imageVerify(talk.client)) == 250
        await talk.read(item, 6)
        assert int(item.imageTransferStatus) == 4  # verification failed
        assert await action_result(talk, item.imageActivate(talk.client)) == 250
        assert await firmware_version(talk) == b"SIM-1.0.0"
        await talk.close()
