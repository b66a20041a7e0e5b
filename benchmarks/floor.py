"""The floor of a client round trip in CPython: what the fleet benchmark compares with.

An echo server (its own process) and a client that is as lean as an asyncio client with a
timeout can be: an ``asyncio.Protocol`` per connection, one Future and one timer
(``loop.call_later``) per request, a DLMS-sized request (a wrapper GET, 21 bytes) echoed
back. Its client CPU per request is the floor that asyncdlms's CPU per read is measured
against (issue 17: ≤ 2× this floor).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable
from typing import Any

REQUEST = bytes.fromhex("000100100001000dc001c100030100010800ff0200")
"""A wrapper frame holding get-request-normal of 1.0.1.8.0.255 attribute 2 (21 bytes)."""


class _Echo(asyncio.Protocol):
    busy = 0.0
    """CPU seconds spent (spinning) before each echo: 0 for the floor; the simulator's CPU
    per request for the paced floor (a server as slow as the one asyncdlms is measured
    against, so that both clients see answers come at the same pace)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.busy:
            end = time.process_time() + self.busy
            while time.process_time() < end:
                pass
        self.transport.write(data)  # type: ignore[attr-defined]


class _Canned(asyncio.Protocol):
    """A DLMS meter as cheap as the echo: wrapper frames in, canned answers out (an AARE
    granting GET, with-list and block transfer; a get-response-normal with a
    double-long-unsigned and the request's invoke-id; an RLRE). For asyncdlms's client
    against a server as fast as the floor's, so that both clients settle in the same rhythm
    and only their own CPU differs."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) >= 8:
            size = int.from_bytes(self.buffer[6:8], "big")
            if len(self.buffer) < 8 + size:
                return
            header, apdu = self.buffer[:8], self.buffer[8 : 8 + size]
            self.buffer = self.buffer[8 + size :]
            if apdu[0] == 0x60:  # AARQ
                answer = _AARE
            elif apdu[0] == 0x62:  # RLRQ
                answer = b"\x63\x03\x80\x01\x00"
            else:  # get-request-normal: the same invoke-id back, value 5
                answer = b"\xc4\x01" + apdu[2:3] + b"\x00\x06\x00\x00\x00\x05"
            # version, then source and destination swapped, then the length
            self.transport.write(
                header[:2] + header[4:6] + header[2:4] + len(answer).to_bytes(2, "big") + answer
            )


def _canned_aare() -> bytes:
    from asyncdlms.apdu.acse import Aare, AssociationResult
    from asyncdlms.apdu.initiate import Conformance, InitiateResponse

    granted = (
        Conformance.GET | Conformance.SET | Conformance.ACTION | Conformance.SELECTIVE_ACCESS
        | Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ | Conformance.MULTIPLE_REFERENCES
    )  # fmt: skip
    user_information = InitiateResponse(granted, 0xFFFF).encode()
    return Aare(AssociationResult.ACCEPTED, user_information=user_information).encode()


_AARE = b""


def serve_echo(busy: float = 0.0, canned: bool = False) -> None:
    """Echo on a loopback port (printed as ``PORT n``) until standard input closes, after
    ``busy`` CPU seconds per request; ``canned``: answer as a DLMS meter instead
    (:class:`_Canned`)."""
    global _AARE
    _Echo.busy = busy
    _AARE = _canned_aare()
    protocol: type[asyncio.Protocol] = _Canned if canned else _Echo

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(protocol, "127.0.0.1", 0, backlog=4096)
        print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
        await asyncio.to_thread(sys.stdin.read)
        server.close()

    # the loop the simulator runs on (uvloop when installed: bench_fleet.serve), so that both
    # clients face servers on the same loop
    from asyncdlms.aio.loop import run

    run(main())


class FloorClient(asyncio.Protocol):
    """One connection: a request, a Future and a timer per round trip."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.waiter: asyncio.Future[bytes] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.received = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport

    def data_received(self, data: bytes) -> None:
        self.received += data
        if len(self.received) >= len(REQUEST) and self.waiter is not None:
            answer, self.received = self.received, b""
            if self.timer is not None:
                self.timer.cancel()
            if not self.waiter.done():
                self.waiter.set_result(answer)

    def _timeout(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(TimeoutError("no echo"))

    async def request(self, timeout: float = 30.0) -> bytes:
        self.waiter = self.loop.create_future()
        self.timer = self.loop.call_later(timeout, self._timeout)
        self.transport.write(REQUEST)
        return await self.waiter


async def floor_reads(port: int, connections: int, reads_per_connection: int,
                      measure: Callable[[], Any]) -> tuple[int, Any]:  # fmt: skip
    """Open the connections, then ``reads_per_connection`` round trips on each, all
    connections at once; ``measure()`` is called before and after the round trips."""
    loop = asyncio.get_running_loop()
    clients: list[FloorClient] = []
    for _ in range(connections):
        _, client = await loop.create_connection(FloorClient, "127.0.0.1", port)
        clients.append(client)
    for client in clients:  # warm up
        await client.request()

    async def run(client: FloorClient) -> None:
        for _ in range(reads_per_connection):
            await client.request()

    before = measure()
    await asyncio.gather(*(run(client) for client in clients))
    after = measure()
    for client in clients:
        client.transport.close()
    return connections * reads_per_connection, (before, after)


if __name__ == "__main__":
    if hasattr(os, "sched_getaffinity") and len(cpus := sorted(os.sched_getaffinity(0))) >= 2:
        os.sched_setaffinity(0, {cpus[-1]})  # the server's CPU (bench_fleet.pin)
    if sys.argv[1:] == ["--canned"]:
        serve_echo(canned=True)
    else:
        serve_echo(float(sys.argv[1]) if len(sys.argv) > 1 else 0.0)
