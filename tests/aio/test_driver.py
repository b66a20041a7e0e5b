"""The asyncio driver: link layers over real loopback sockets, timers from the event loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest

from asyncdlms.aio.driver import Driver, hex_trace_logger, redactor
from asyncdlms.errors import LinkTimeoutError
from asyncdlms.hdlc import HdlcAddress, HdlcConnection, HdlcSettings, Role
from asyncdlms.link import ApduReceived, Link, LinkClosed, LinkEstablished, LinkEvent
from asyncdlms.wrapper import WrapperConnection

CLIENT = HdlcAddress.client(16)
SERVER = HdlcAddress.server(1, 17)


class Endpoint:
    """Owns a link and its driver; collects events; answers APDUs when told how."""

    def __init__(self, link: Link, answer: Callable[[bytes], bytes] | None = None) -> None:
        self.link = link
        self.answer = answer
        self.events: list[LinkEvent] = []
        self.changed = asyncio.Event()
        self.driver: Driver | None = None

    def make_driver(self, **options: object) -> Driver:
        self.driver = Driver(self.link, on_progress=self.progress, **options)  # type: ignore[arg-type]
        return self.driver

    def progress(self) -> None:
        assert self.driver is not None
        for event in self.link.events():
            self.events.append(event)
            if self.answer is not None and isinstance(event, ApduReceived):
                self.link.send_apdu(self.answer(event.apdu), asyncio.get_running_loop().time())
        self.driver.flush()
        self.changed.set()

    async def wait_for(self, kind: type, count: int = 1, timeout: float = 5.0) -> list[LinkEvent]:
        async with asyncio.timeout(timeout):
            while True:
                found = [e for e in self.events if isinstance(e, kind)]
                if len(found) >= count:
                    return found
                self.changed.clear()
                await self.changed.wait()


def reverse(apdu: bytes) -> bytes:
    return apdu[::-1]


def _server_link(make_link: Callable[[], Link]) -> Link:
    """A server-side link; the wrapper is established as soon as the socket is (no
    handshake), HDLC waits for the client's SNRM."""
    link = make_link()
    if isinstance(link, WrapperConnection):
        link.connect(asyncio.get_running_loop().time())
    return link


async def _serve(
    make_link: Callable[[], Link], answer: Callable[[bytes], bytes]
) -> tuple[asyncio.Server, int]:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: Endpoint(_server_link(make_link), answer).make_driver(), "127.0.0.1", 0
    )
    return server, server.sockets[0].getsockname()[1]


async def _exchange(client: Endpoint, apdus: list[bytes]) -> list[bytes]:
    loop = asyncio.get_running_loop()
    client.link.connect(loop.time())
    client.progress()  # the owner takes events after each call it makes, not only on input
    await client.wait_for(LinkEstablished)
    for apdu in apdus:
        client.link.send_apdu(apdu, loop.time())
    client.progress()
    received = await client.wait_for(ApduReceived, len(apdus))
    return [e.apdu for e in received if isinstance(e, ApduReceived)]


async def test_wrapper_over_tcp() -> None:
    server, port = await _serve(lambda: WrapperConnection(1, None, role="server"), reverse)
    async with server:
        client = Endpoint(WrapperConnection(16, 1))
        loop = asyncio.get_running_loop()
        await loop.create_connection(client.make_driver, "127.0.0.1", port)
        apdus = [b"\xc0\x01\xc1" + bytes(range(n % 256)) * (n // 256 + 1) for n in (0, 5, 3000)]
        assert await _exchange(client, apdus) == [reverse(a) for a in apdus]
        assert client.driver is not None
        client.driver.close()
        assert await asyncio.wait_for(client.driver.closed, 5) is None


async def test_hdlc_over_tcp_with_segmentation_and_windows() -> None:
    from asyncdlms.hdlc import HdlcParameters

    parameters = HdlcParameters(max_info_length_tx=64, max_info_length_rx=64,
                                window_size_tx=3, window_size_rx=3)  # fmt: skip
    server, port = await _serve(
        lambda: HdlcConnection(HdlcSettings(None, SERVER, Role.SERVER, parameters)), reverse
    )
    async with server:
        client = Endpoint(HdlcConnection(HdlcSettings(CLIENT, SERVER, parameters=parameters)))
        loop = asyncio.get_running_loop()
        await loop.create_connection(client.make_driver, "127.0.0.1", port)
        apdus = [bytes(range(256)) * 4, b"\x01\x02"]
        assert await _exchange(client, apdus) == [reverse(a) for a in apdus]
        assert client.driver is not None
        client.driver.close()


async def test_wrapper_over_udp() -> None:
    loop = asyncio.get_running_loop()
    server_end = Endpoint(_server_link(lambda: WrapperConnection(1, None, "udp", role="server")))
    server_transport, _ = await loop.create_datagram_endpoint(
        lambda: server_end.make_driver(datagram=True), local_addr=("127.0.0.1", 0)
    )
    port = server_transport.get_extra_info("sockname")[1]
    try:
        client = Endpoint(WrapperConnection(16, 1, "udp"))
        await loop.create_datagram_endpoint(
            lambda: client.make_driver(datagram=True), remote_addr=("127.0.0.1", port)
        )
        # a UDP server learns where to answer from the datagram: answer through sendto addr
        assert await _exchange_udp(client, server_end, [b"\xc0\x01\xc1abc"]) == [b"cba\xc1\x01\xc0"]
    finally:
        server_transport.close()
        if client.driver is not None:
            client.driver.close()


async def _exchange_udp(client: Endpoint, server: Endpoint, apdus: list[bytes]) -> list[bytes]:
    loop = asyncio.get_running_loop()
    client.link.connect(loop.time())
    client.progress()  # the owner takes events after each call it makes, not only on input
    await client.wait_for(LinkEstablished)
    for apdu in apdus:
        client.link.send_apdu(apdu, loop.time())
    client.progress()
    received = await server.wait_for(ApduReceived, len(apdus))
    # answer to the client's address (datagram drivers write to the connected peer only)
    assert server.driver is not None and server.driver.transport is not None
    client_addr = client.driver.transport.get_extra_info("sockname")  # type: ignore[union-attr]
    for event in received:
        assert isinstance(event, ApduReceived)
        server.link.send_apdu(reverse(event.apdu), loop.time())
    for datagram in server.link.datagrams_to_send():
        server.driver.transport.sendto(datagram, client_addr)  # type: ignore[attr-defined]
    answers = await client.wait_for(ApduReceived, len(apdus))
    return [e.apdu for e in answers if isinstance(e, ApduReceived)]


async def test_hdlc_timers_run_on_the_event_loop_clock() -> None:
    """A server that accepts the TCP connection but never answers: the SNRM is retransmitted
    from the loop's timers and the link fails with LinkTimeoutError, without hanging."""
    received = bytearray()

    class Silent(asyncio.Protocol):
        def data_received(self, data: bytes) -> None:
            received.extend(data)

    loop = asyncio.get_running_loop()
    server = await loop.create_server(Silent, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        link = HdlcConnection(
            HdlcSettings(CLIENT, SERVER, response_timeout=0.05, max_retransmissions=2)
        )
        client = Endpoint(link)
        await loop.create_connection(client.make_driver, "127.0.0.1", port)
        link.connect(loop.time())
        assert client.driver is not None
        client.driver.flush()
        closed = await client.wait_for(LinkClosed)
        assert isinstance(closed[0], LinkClosed)
        assert isinstance(closed[0].error, LinkTimeoutError)
        snrm = HdlcConnection(HdlcSettings(CLIENT, SERVER))
        snrm.connect(0.0)
        assert bytes(received) == snrm.data_to_send() * 3  # first try and 2 retransmissions
        client.driver.close()


async def test_trace_shows_both_directions_and_redacts_secrets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server, port = await _serve(lambda: WrapperConnection(1, None, role="server"), bytes)
    async with server:
        client = Endpoint(WrapperConnection(16, 1))
        loop = asyncio.get_running_loop()
        caplog.set_level(logging.DEBUG, logger="asyncdlms.trace")
        await loop.create_connection(
            lambda: client.make_driver(trace=hex_trace_logger(), redact=redactor(b"secret12")),
            "127.0.0.1",
            port,
        )
        await _exchange(client, [b"\x60password=secret12"])
        lines = [r.getMessage() for r in caplog.records if r.name == "asyncdlms.trace"]
        assert any(" -> 00 01 00 10 00 01" in line for line in lines)
        assert any(" <- 00 01 00 01 00 10" in line for line in lines)
        text = "\n".join(lines)
        assert b"secret12".hex(" ") not in text  # neither in the request nor in its echo
        assert text.count("2a 2a 2a 2a 2a 2a 2a 2a") == 2
        assert client.driver is not None
        client.driver.close()


def test_redactor_masks_every_occurrence_longest_first() -> None:
    redact = redactor(b"abcd", b"abcdef", b"")
    assert redact(b"xxabcdefyyabcd") == b"xx******yy****"
    assert redact(b"nothing") == b"nothing"


class MovingDeadline:
    """A sans-IO machine whose deadline is pushed back by every input (an inactivity
    timeout): it records when ``handle_timer`` ran."""

    def __init__(self, loop: asyncio.AbstractEventLoop, period: float) -> None:
        self.loop = loop
        self.period = period
        self.deadline: float | None = loop.time() + period
        self.fired: list[float] = []

    def receive_data(self, data: bytes, now: float) -> None:
        self.deadline = now + self.period

    def data_to_send(self) -> bytes:
        return b""

    def datagrams_to_send(self) -> list[bytes]:
        return []

    def next_deadline(self) -> float | None:
        return self.deadline

    def handle_timer(self, now: float) -> None:
        assert self.deadline is not None and now >= self.deadline, "called before its deadline"
        self.fired.append(now)
        self.deadline = None


async def test_a_deadline_pushed_back_keeps_one_timer_and_fires_once_at_the_last() -> None:
    """Every input moves the deadline later: the driver keeps the timer it armed (no new
    loop timer per input), and handle_timer runs once, at the last deadline, never early."""
    loop = asyncio.get_running_loop()
    machine = MovingDeadline(loop, 0.05)
    driver = Driver(machine)
    armed: list[float] = []
    call_at = loop.call_at

    def counting_call_at(
        when: float, callback: Callable[..., object], *args: object, **options: object
    ) -> object:
        if getattr(callback, "__self__", None) is driver:
            armed.append(when)
        return call_at(when, callback, *args, **options)  # type: ignore[arg-type]

    loop.call_at = counting_call_at  # type: ignore[method-assign, assignment]
    try:
        driver.flush()
        for _ in range(20):  # 20 inputs, 10 ms apart: the deadline moves 20 times
            await asyncio.sleep(0.01)
            driver.data_received(b"x")
        last = machine.deadline
        assert last is not None
        while not machine.fired:
            await asyncio.sleep(0.01)
    finally:
        del loop.call_at
    assert len(machine.fired) == 1 and machine.fired[0] >= last
    assert len(armed) < 10, f"{len(armed)} loop timers for 20 moves of one deadline"
    driver.flush()  # no deadline any more: nothing armed, nothing fires
    await asyncio.sleep(0.1)
    assert len(machine.fired) == 1


async def test_a_deadline_moved_earlier_replaces_the_timer() -> None:
    loop = asyncio.get_running_loop()
    machine = MovingDeadline(loop, 10.0)
    driver = Driver(machine)
    driver.flush()
    machine.deadline = loop.time() + 0.02
    driver.flush()
    await asyncio.sleep(0.2)
    assert len(machine.fired) == 1
