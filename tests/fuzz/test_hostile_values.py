"""The A-XDR compact-array amplifier (issue 13) through the real server and client paths.

A SET request carrying it goes from our client to our simulator; a GET response carrying it
comes to ``asyncdlms.connect`` from a hostile meter (a loopback proxy in front of the
simulator that swaps the value of every GET response). Both are refused with a typed error,
promptly, and the association goes on. Nothing here asserts a duration: the request timeout
(long) is what a hang would hit, and the test checks the error is not a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest

import asyncdlms
from asyncdlms.apdu.descriptors import Data
from asyncdlms.errors import DecodeError, DlmsError, RequestTimeoutError
from asyncdlms.server import Simulator
from asyncdlms.wrapper.frames import WrapperFrame, WrapperSplitter

# structure(array(65535, array(65535, structure())), boolean), one content byte: 4.3e9 values
AMPLIFIER = bytes.fromhex("13020201ffff01ffff0200030100")
# the 11-byte form: 65 538 values
SMALL_AMPLIFIER = bytes.fromhex("13020201ffff0200030100")
CLOCK = (8, "0.0.1.0.0.255", 2)
TIMEOUT = 30.0  # far above the time a refusal takes; a hang would end in RequestTimeoutError


@pytest.mark.parametrize("value", [AMPLIFIER, SMALL_AMPLIFIER])
async def test_set_request_with_amplifier_is_refused_by_the_server(value: bytes) -> None:
    async with (
        Simulator() as simulator,
        simulator.connect(0, client=16, timeout=TIMEOUT) as meter,
    ):
        with pytest.raises(DlmsError) as info:
            await meter.set(1, "0.0.96.1.0.255", 2, Data(value, None))
        assert not isinstance(info.value, RequestTimeoutError)
        # the server is still serving this association
        assert await meter.get(*CLOCK) is not None


async def _hostile_meter(upstream_port: int, poison: bytes) -> asyncio.Server:
    """A proxy that forwards to the simulator and replaces the Data of GET-Response-Normal
    answers (0xC4 0x01 iip 0x00 Data) with ``poison``."""

    async def pump(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, rewrite: bool
    ) -> None:
        splitter = WrapperSplitter()
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while data := await reader.read(4096):
                for frame in splitter.feed(data):
                    apdu = frame.apdu
                    if rewrite and apdu[:2] == b"\xc4\x01" and apdu[3:4] == b"\x00":
                        apdu = apdu[:4] + poison
                    writer.write(
                        WrapperFrame(frame.source_wport, frame.destination_wport, apdu).encode()
                    )
                await writer.drain()
        writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream_port)
        await asyncio.gather(pump(reader, up_writer, False), pump(up_reader, writer, True))

    return await asyncio.start_server(handle, "127.0.0.1", 0)


@pytest.mark.parametrize("value", [AMPLIFIER, SMALL_AMPLIFIER])
async def test_get_response_with_amplifier_is_refused_by_the_client(value: bytes) -> None:
    async with Simulator() as simulator:
        target = simulator.targets[0].connect_arguments()
        upstream_port = int(target["url"].rsplit(":", 1)[1])
        server = await _hostile_meter(upstream_port, value)
        port = server.sockets[0].getsockname()[1]
        try:
            async with asyncdlms.connect(
                f"tcp://127.0.0.1:{port}", client=16, server=target["server"], timeout=TIMEOUT
            ) as meter:
                with pytest.raises(DlmsError) as info:
                    await meter.get(*CLOCK)
                assert not isinstance(info.value, RequestTimeoutError)
                assert isinstance(info.value, DecodeError) or isinstance(
                    info.value.__cause__, DecodeError
                ), repr(info.value)
                assert "amplification" in str(info.value) + str(info.value.__cause__)
        finally:
            server.close()
            await server.wait_closed()
