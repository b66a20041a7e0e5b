"""The asyncio listener end to end on loopback: TCP, UDP and HDLC-over-TCP head-ends, files,
ciphered pushes with keys by system title, replays dropped, gurux-dlms's notify over real
sockets, a thousand meters pushing at once with nothing lost, our simulator's Push setup, and
a meter that calls home and is then read through ``listener.connections()``."""

from __future__ import annotations

import asyncio
import contextlib
import resource
from pathlib import Path
from typing import Any

import pytest

from asyncdlms import Obis
from asyncdlms.aio.driver import Driver
from asyncdlms.aio.url import InvalidTargetError
from asyncdlms.errors import ReplayError
from asyncdlms.listen import (
    KeySet,
    Listener,
    MemoryKeyStore,
    Notification,
    PushRejected,
    listen,
    parse_listen_url,
)
from asyncdlms.security.counters import MemoryInvocationCounterStore
from asyncdlms.server import Simulator
from asyncdlms.session.object_access import ObjectTable
from asyncdlms.session.server import AssociationPolicy, ServerSession, ServerSettings
from asyncdlms.types import DoubleLongUnsigned
from asyncdlms.wrapper import WrapperConnection
from asyncdlms.wrapper.frames import WrapperFrame

from .helpers import GAK, GUEK, TITLE, context, notification

ENERGY = Obis("1.0.1.8.0.255")


def wrapped(apdu: bytes, wport: int = 1) -> bytes:
    return WrapperFrame(wport, 0x66, apdu).encode()


async def send_tcp(port: int, *chunks: bytes) -> None:
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    for chunk in chunks:
        writer.write(chunk)
        await writer.drain()
    writer.close()
    await writer.wait_closed()


async def take(listener: Listener, count: int, timeout: float = 20) -> list[Notification]:
    got: list[Notification] = []
    async with asyncio.timeout(timeout):
        async for push in listener:
            got.append(push)
            if len(got) == count:
                break
    return got


def test_listen_urls() -> None:
    assert parse_listen_url("tcp://0.0.0.0:4059").framing == "wrapper"
    assert parse_listen_url("hdlc+tcp://127.0.0.1:10001").framing == "hdlc"
    serial = parse_listen_url("serial:///dev/ttyUSB0?baud=115200&parity=E")
    assert serial.framing == "hdlc" and serial.serial is not None
    assert (serial.serial.baud_rate, serial.serial.parity) == (115200, "E")
    assert parse_listen_url("mbus+serial:///dev/ttyAMA0").serial.parity == "E"  # type: ignore[union-attr]
    assert parse_listen_url("file:///tmp/x.bin?framing=mbus").framing == "mbus"
    assert parse_listen_url("-").path == "-"
    for bad in ("tcp://host", "ftp://x:1", "serial://", "serial:///dev/x?baud=fast",
                "file:///x?framing=smoke", "udp://h:1?x=1", "serial:///dev/x?speed=1"):  # fmt: skip
        with pytest.raises(InvalidTargetError, match="cannot listen"):
            parse_listen_url(bad)


async def test_tcp_pushes_from_several_connections_interleaved() -> None:
    async with listen("tcp://127.0.0.1:0") as listener:
        assert listener.address is not None
        port = listener.address[1]
        first, second = wrapped(notification(111)), wrapped(notification(222))
        # two meters, byte by byte, interleaved on two connections
        _, a = await asyncio.open_connection("127.0.0.1", port)
        _, b = await asyncio.open_connection("127.0.0.1", port)
        for i in range(max(len(first), len(second))):
            a.write(first[i : i + 1])
            b.write(second[i : i + 1])
            await a.drain()
            await b.drain()
        pushes = await take(listener, 2)
        for writer in (a, b):
            writer.close()
        assert sorted(p.readings()[ENERGY].raw for p in pushes) == [111, 222]
        assert listener.statistics.notifications == 2
        assert listener.statistics.connections == 2


async def test_udp_and_hdlc_over_tcp() -> None:
    async with listen("udp://127.0.0.1:0") as listener:
        assert listener.address is not None
        transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
            asyncio.DatagramProtocol, remote_addr=listener.address
        )
        transport.sendto(wrapped(notification(7)))
        transport.sendto(wrapped(notification(8)))
        pushes = await take(listener, 2)
        transport.close()
        assert [p.readings()[ENERGY].raw for p in pushes] == [7, 8]
    from .helpers import hdlc_frames

    async with listen("hdlc+tcp://127.0.0.1:0") as listener:
        assert listener.address is not None
        await send_tcp(listener.address[1], *hdlc_frames(notification(9)))
        (push,) = await take(listener, 1)
        assert push.readings()[ENERGY].raw == 9


async def test_ciphered_pushes_keys_by_system_title_and_a_replay_dropped() -> None:
    meter = context()
    first = meter.protect(notification(1))
    second = meter.protect(notification(2))
    stranger = context(title=bytes.fromhex("4B464D9999999999")).protect(notification(3))
    keys = {TITLE: KeySet(GUEK, GAK)}
    async with listen(
        "tcp://127.0.0.1:0", keys=keys, counter_store=MemoryInvocationCounterStore()
    ) as listener:
        assert listener.address is not None
        port = listener.address[1]
        for apdu in (first, second, first, stranger):  # the third is a replay
            await send_tcp(port, wrapped(apdu))
        events: list[Any] = []
        async with asyncio.timeout(20):
            async for event in listener.events():
                events.append(event)
                if len(events) == 4:
                    break
    notifications = [e for e in events if isinstance(e, Notification)]
    rejected = [e for e in events if isinstance(e, PushRejected)]
    assert [n.readings()[ENERGY].raw for n in notifications] == [1, 2]
    assert all(n.system_title == TITLE and n.security is not None for n in notifications)
    causes = sorted(type(r.cause).__name__ for r in rejected)
    assert causes == ["ReplayError", "UnknownSenderError"]
    assert any(isinstance(r.cause, ReplayError) for r in rejected)
    assert listener.statistics.rejected == 2
    assert GUEK.hex() not in " ".join(str(r) for r in rejected)


async def test_a_thousand_meters_pushing_at_once_nothing_lost() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2500:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    meters = 1000
    async with listen("tcp://127.0.0.1:0", max_pending=100) as listener:
        assert listener.address is not None
        port = listener.address[1]
        pushes_sent = (wrapped(notification(i, invoke_id=i + 1)) for i in range(meters))
        sending = asyncio.gather(*(send_tcp(port, push) for push in pushes_sent))
        pushes = await take(listener, meters, timeout=120)
        await sending
    assert sorted(p.readings()[ENERGY].raw for p in pushes) == list(range(meters))
    assert listener.statistics.connections == meters


async def test_the_simulators_push_setup_pushes_to_the_listener() -> None:
    async with listen("tcp://127.0.0.1:0") as listener:
        assert listener.address is not None
        destination = f"127.0.0.1:{listener.address[1]}"
        async with Simulator(3, push_destination=destination) as simulator:
            for index in range(3):
                await simulator.push(index)
            pushes = await take(listener, 3)
    # the simulator's push object list: logical device name, clock, two energy registers
    names = sorted(bytes(p.body[0]) for p in pushes)
    assert names == [b"ADS%013d" % (10_000_000 + i) for i in range(3)]
    assert all(p.date_time is not None for p in pushes)


async def test_a_file_of_hdlc_frames(tmp_path: Path) -> None:
    from .helpers import hdlc_frames

    path = tmp_path / "han.bin"
    path.write_bytes(b"".join(hdlc_frames(notification(5))) * 3 + b"\x7e\xa0\x10noise")
    async with listen(f"file://{path}?framing=hdlc") as listener:
        events = [event async for event in listener.events()]
    assert [e.readings()[ENERGY].raw for e in events if isinstance(e, Notification)] == [5] * 3


async def test_gurux_notify_over_real_sockets() -> None:
    """gurux-dlms's GXDLMSNotify (plain) and GXDLMSSecureNotify (general-glo-ciphered,
    encryption only and authenticated encryption; its tags are checked against
    ``cryptography`` in test_gurux_notify.py) over TCP, UDP and HDLC over TCP; the ciphered
    push sent again is dropped as a replay."""
    pytest.importorskip("gurux_dlms")
    from gurux_dlms.enums import InterfaceType, Security

    from .test_gurux_notify import _gurux_push

    keys = MemoryKeyStore({TITLE: KeySet(GUEK, GAK)})
    for url, interface in (("tcp://127.0.0.1:0", InterfaceType.WRAPPER),
                           ("udp://127.0.0.1:0", InterfaceType.WRAPPER),
                           ("hdlc+tcp://127.0.0.1:0", InterfaceType.HDLC)):  # fmt: skip
        plain = _gurux_push(interface, Security.NONE)
        encrypted = _gurux_push(interface, Security.ENCRYPTION, counter=90)
        both = _gurux_push(interface, Security.AUTHENTICATION_ENCRYPTION, counter=91)
        pushes = (plain, encrypted, both, both)  # the last one: a replay
        async with listen(url, keys=keys, counter_store=MemoryInvocationCounterStore()) as listener:
            assert listener.address is not None
            if url.startswith("udp"):
                transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
                    asyncio.DatagramProtocol, remote_addr=listener.address
                )
                for datagram in pushes:
                    transport.sendto(datagram)
                transport.close()
            else:
                for push in pushes:
                    await send_tcp(listener.address[1], push)
            events: list[Any] = []
            async with asyncio.timeout(20):
                async for event in listener.events():
                    events.append(event)
                    if len(events) == len(pushes):
                        break
        kinds = [type(e).__name__ for e in events]
        assert kinds == ["Notification"] * 3 + ["PushRejected"], (url, events)
        assert [e.invocation_counter for e in events[:3]] == [None, 90, 91]
        assert events[2].security.tag_verified
        assert isinstance(events[3].cause, ReplayError)


class _CallingMeter:
    """A meter that calls the head-end: it connects out and then serves an association on
    that connection (our server session over a wrapper link), after one push."""

    def __init__(self) -> None:
        objects = ObjectTable()
        objects.add(3, ENERGY, {2: DoubleLongUnsigned(424242)})
        link = WrapperConnection(1, None, role="server")
        self.session = ServerSession(
            link, ServerSettings(policies={16: AssociationPolicy()}), objects
        )
        self.link = link
        self.driver: Driver | None = None

    async def call(self, port: int) -> None:
        loop = asyncio.get_running_loop()

        def progress() -> None:
            self.session.events()
            assert self.driver is not None
            self.driver.flush()

        self.driver = Driver(self.session, on_progress=progress)
        await loop.create_connection(lambda: self.driver, "127.0.0.1", port)  # type: ignore[return-value]
        self.link.connect(loop.time())
        assert self.driver.transport is not None
        self.driver.transport.write(wrapped(notification(77)))  # "I am here"


async def test_a_meter_that_calls_home_is_read_through_connections() -> None:
    async with listen("tcp://127.0.0.1:0") as listener:
        assert listener.address is not None
        meter = _CallingMeter()
        connections = listener.connections()
        waiting = asyncio.ensure_future(connections.__anext__())
        await asyncio.sleep(0)  # connections() is listening before the meter calls
        await meter.call(listener.address[1])
        async with asyncio.timeout(20):
            connection = await waiting
            (hello,) = await take(listener, 1)
            assert hello.readings()[ENERGY].raw == 77
            async with connection.associate(client=16, server=1, timeout=5) as client:
                assert await client.get(3, ENERGY, 2) == 424242
            # back to receiving pushes on the same connection
            assert meter.driver is not None and meter.driver.transport is not None
            meter.driver.transport.write(wrapped(notification(78)))
            (again,) = await take(listener, 1)
            assert again.readings()[ENERGY].raw == 78
        await connections.aclose()
        assert connection.open


async def test_too_many_connections_are_refused() -> None:
    async with listen("tcp://127.0.0.1:0", max_connections=2) as listener:
        assert listener.address is not None
        writers = []
        for _ in range(3):
            _, writer = await asyncio.open_connection("127.0.0.1", listener.address[1])
            writers.append(writer)
        for _ in range(50):
            if listener.statistics.connections_refused:
                break
            await asyncio.sleep(0.02)
        assert listener.statistics.connections_refused == 1
        assert listener.statistics.connections_open == 2
        for writer in writers:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


async def test_a_broken_wrapper_stream_is_hung_up_and_others_go_on() -> None:
    async with listen("tcp://127.0.0.1:0") as listener:
        assert listener.address is not None
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.address[1])
        writer.write(b"\x00\x07junk-that-is-no-wrapper-header")
        await writer.drain()
        async with asyncio.timeout(10):
            assert await reader.read() == b""  # the listener hung up
        await send_tcp(listener.address[1], wrapped(notification(12)))
        (push,) = await take(listener, 1)
        assert push.readings()[ENERGY].raw == 12
        assert listener.statistics.rejected >= 1
        writer.close()
