"""The asyncio client when the line misbehaves: the peer closes mid-response, garbage on the
line, a peer that answers part of a block transfer and stops. Every case ends in a clear
typed error without hanging, and a fresh association afterwards works."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

import asyncdlms
from asyncdlms.aio.driver import Driver
from asyncdlms.errors import AssociationError, DlmsError, RequestTimeoutError
from asyncdlms.hdlc import HdlcAddress, HdlcConnection, HdlcSettings, Role
from asyncdlms.link import Link
from asyncdlms.obis import Obis
from asyncdlms.session.object_access import ObjectTable
from asyncdlms.session.server import ServerSession, ServerSettings
from asyncdlms.types import DoubleLongUnsigned, Enum, Integer, OctetString, Structure
from asyncdlms.wrapper import WrapperConnection

REGISTER = Obis("1.0.1.8.0.255")
BIG = Obis("0.0.42.0.0.255")


def table() -> ObjectTable:
    objects = ObjectTable()
    objects.add(3, REGISTER, {2: DoubleLongUnsigned(777), 3: Structure((Integer(0), Enum(30)))})
    objects.add(1, BIG, {2: OctetString(bytes(range(256)) * 40)})  # 10 KiB: block transfer
    return objects


class Server:
    """Our ServerSession per connection; ``tamper`` may rewrite or cut what it sends."""

    def __init__(self, hdlc: bool, tamper: Callable[[bytes], bytes | None] | None = None) -> None:
        self.hdlc = hdlc
        self.tamper = tamper
        self.transports: list[asyncio.Transport] = []

    def factory(self) -> asyncio.Protocol:
        link: Link
        if self.hdlc:
            link = HdlcConnection(HdlcSettings(None, HdlcAddress.server(1), Role.SERVER))
        else:
            link = WrapperConnection(1, None, role="server")
        session = ServerSession(link, ServerSettings(server_max_receive_pdu_size=256), table())
        server = self

        class Tampering(Driver):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                assert isinstance(transport, asyncio.Transport)
                server.transports.append(transport)
                if server.tamper is not None:
                    original = transport.write

                    def write(data: bytes | bytearray | memoryview) -> None:
                        assert server.tamper is not None
                        changed = server.tamper(bytes(data))
                        if changed is None:
                            transport.close()
                        else:
                            original(changed)

                    transport.write = write  # type: ignore[method-assign]
                if not server.hdlc:
                    link.connect(asyncio.get_running_loop().time())
                super().connection_made(transport)

        def progress() -> None:
            session.events()  # the server role needs nothing from its events here
            driver.flush()

        driver: Driver = Tampering(session, on_progress=progress)
        return driver


async def serving(server: Server, work: Callable[[str], Awaitable[None]]) -> None:
    loop = asyncio.get_running_loop()
    listener = await loop.create_server(server.factory, "127.0.0.1", 0)
    async with listener:
        port = listener.sockets[0].getsockname()[1]
        scheme = "hdlc+tcp" if server.hdlc else "tcp"
        async with asyncio.timeout(20):  # nothing may hang
            await work(f"{scheme}://127.0.0.1:{port}")


@pytest.mark.parametrize("hdlc", [False, True])
async def test_our_server_answers_normally(hdlc: bool) -> None:
    async def work(url: str) -> None:
        async with asyncdlms.connect(url, timeout=5) as meter:
            assert await meter.get(3, REGISTER, 2) == 777
            assert len(await meter.get(1, BIG, 2)) == 10240  # datablocks of 256 bytes

    await serving(Server(hdlc), work)


@pytest.mark.parametrize("hdlc", [False, True])
async def test_peer_closes_in_the_middle_of_a_block_transfer(hdlc: bool) -> None:
    sent = {"count": 0}

    def cut_after_a_few_writes(data: bytes) -> bytes | None:
        sent["count"] += 1
        return None if sent["count"] > 4 else data  # association + a block or two

    server = Server(hdlc, cut_after_a_few_writes)

    async def work(url: str) -> None:
        meter = await asyncdlms.connect(url, timeout=5)
        try:
            with pytest.raises(AssociationError, match=r"lost|released|closed"):
                await meter.get(1, BIG, 2)
            with pytest.raises(AssociationError):
                await meter.get(3, REGISTER, 2)  # the association is gone: said at once
        finally:
            await meter.close()
        server.tamper = None  # a fresh association works
        async with asyncdlms.connect(url, timeout=5) as again:
            assert await again.get(3, REGISTER, 2) == 777

    await serving(server, work)


async def test_garbage_on_an_hdlc_line_is_skipped() -> None:
    """Line noise (including 0x7E bytes) around every frame the server writes: the HDLC
    splitter drops it and the client reads normally."""

    def noisy(data: bytes) -> bytes:
        return b"\x00\x7e\x13\xff" + data + b"\x7e\x7e\xaa\x55"

    async def work(url: str) -> None:
        async with asyncdlms.connect(url, timeout=5) as meter:
            assert await meter.get(3, REGISTER, 2) == 777
            assert len(await meter.get(1, BIG, 2)) == 10240

    await serving(Server(True, noisy), work)


async def test_garbage_on_a_wrapper_stream_ends_the_association_clearly() -> None:
    """A wrapper stream cannot resynchronise after a bad header (no flags): the client
    reports the broken stream as an error instead of waiting."""
    state = {"writes": 0}

    def corrupt_third(data: bytes) -> bytes:
        state["writes"] += 1
        return b"\x99\x99" + data if state["writes"] == 2 else data

    async def work(url: str) -> None:
        meter = await asyncdlms.connect(url, timeout=5)
        try:
            with pytest.raises(DlmsError) as info:
                await meter.get(3, REGISTER, 2)
            assert not isinstance(info.value, RequestTimeoutError)
        finally:
            await meter.close()

    await serving(Server(False, corrupt_third), work)
