"""The asyncio drivers of a :class:`~asyncdlms.server.endpoint.DlmsServer`.

- :class:`_StreamDriver` runs one TCP connection or serial line: admission under the
  connection caps, bounded work per turn of the event loop, reading held while the password
  back-off holds an answer, the IEC 62056-21 opening of an optical port;
- :class:`_ShapedTransport` delays, drops or corrupts writes as a device's
  :class:`~asyncdlms.server.endpoint.Faults` say;
- :class:`_DatagramServer` runs the UDP wrapper, one connection per peer address.

Each drives a sans-IO :class:`~asyncdlms.server.connection._Connection`.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from typing import TYPE_CHECKING, Any

from ..aio.driver import Driver
from ..aio.serial import apply_line_settings
from ..iec62056_21 import LineSettings, ModeEResponder
from .connection import Kind, _Connection, _noop

if TYPE_CHECKING:
    from .endpoint import DlmsServer, Faults


class _ShapedTransport:
    """A write transport that delays, drops or corrupts writes as :class:`Faults` say."""

    def __init__(self, transport: asyncio.WriteTransport, faults: Faults) -> None:
        self._transport = transport
        self._faults = faults
        self._random = random.Random(faults.seed)
        self._loop = asyncio.get_running_loop()
        self._next_at = 0.0

    def write(self, data: bytes) -> None:
        faults = self._faults
        if faults.drop_rate and self._random.random() < faults.drop_rate:
            return
        if faults.corrupt_rate and data and self._random.random() < faults.corrupt_rate:
            position = self._random.randrange(len(data))
            data = data[:position] + bytes((data[position] ^ 0x5A,)) + data[position + 1 :]
        delay = faults.latency + (self._random.uniform(0, faults.jitter) if faults.jitter else 0)
        if faults.baud_rate:
            delay += len(data) * 10 / faults.baud_rate
        if delay <= 0 and self._next_at <= self._loop.time():
            self._transport.write(data)
            return
        at = max(self._loop.time() + delay, self._next_at)
        self._next_at = at
        self._loop.call_at(at, self._write_now, data)

    def _write_now(self, data: bytes) -> None:
        if not self._transport.is_closing():
            self._transport.write(data)

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def close(self) -> None:
        self._transport.close()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)


def _peer_host(transport: asyncio.BaseTransport) -> str | None:
    peer = transport.get_extra_info("peername")
    if isinstance(peer, tuple | list) and peer:
        return str(peer[0])
    return None


class _StreamDriver(Driver):
    """A Driver for one TCP connection or serial line of a :class:`DlmsServer`: admits it
    under the connection caps, hands its bytes to the machine in bounded chunks (one chunk
    per turn of the event loop, reading paused when too much waits), holds reading while the
    password back-off holds an answer, and shapes the transport once the connection knows its
    device's faults."""

    def __init__(self, connection: _Connection, server: DlmsServer, kind: Kind) -> None:
        super().__init__(connection, on_connection_lost=self._lost, on_progress=self._progress)
        self.connection = connection
        self._server = server
        self._kind = kind
        self._limits = server.limits
        self._shaped = False
        self._admitted = False
        self._peer: str | None = None
        self._pending = bytearray()
        self._drain_scheduled = False
        self._reading_paused = False
        #: the meter side of the IEC 62056-21 opening, until it completes (serial lines)
        self.iec: ModeEResponder | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        server = self._server
        if self._kind == "tcp":
            self._peer = _peer_host(transport)
            refusal = server.budget.refusal(self._peer, server.limits)
            if refusal is not None:
                server.statistics.refused_connections += 1
                server._log_refusal(self._peer, refusal)
                transport.close()
                return
            server.budget.admit(self._peer)
        self._admitted = True
        server._drivers.add(self)
        server.statistics.connections += 1
        super().connection_made(transport)

    # -- bounded work per turn of the loop ----------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if not self._admitted or self.transport is None:
            return
        if self._pending or self.connection.hold_until is not None:
            self._pending += data
        else:
            chunk = self._limits.work_chunk
            if len(data) <= chunk:
                self._received(data)
                return
            self._pending += memoryview(data)[chunk:]
            self._received(data[:chunk])
        self._schedule_drain()
        if len(self._pending) > self._limits.max_queued:
            self._pause_reading()

    def _schedule_drain(self) -> None:
        if (
            self._pending
            and not self._drain_scheduled
            and self.connection.hold_until is None
            and self.transport is not None
        ):
            self._drain_scheduled = True
            self._loop.call_soon(self._drain)

    def _drain(self) -> None:
        self._drain_scheduled = False
        if self.transport is None:
            self._pending.clear()
            return
        if self.connection.hold_until is not None:
            return  # resumed by _progress when the hold ends
        chunk = self._limits.work_chunk
        data = bytes(self._pending[:chunk])
        del self._pending[:chunk]
        self._received(data)
        self._schedule_drain()
        if self._reading_paused and len(self._pending) <= self._limits.max_queued // 2:
            self._resume_reading()

    def _progress(self) -> None:
        """After every input and timer: a held connection keeps reading into its queue (so
        that a peer that hangs up is seen at once and its connection freed: a paused one
        would hold its place under the connection caps until the hold ends; the queue's own
        bound still pauses it); once its hold ends, what waited is handled."""
        if self.connection.hold_until is not None:
            return
        if self._reading_paused and len(self._pending) <= self._limits.max_queued // 2:
            self._resume_reading()
            self._schedule_drain()
        else:
            self._schedule_drain()

    def _pause_reading(self) -> None:
        transport = self.transport
        if not self._reading_paused and transport is not None:
            pause = getattr(transport, "pause_reading", None)
            if pause is not None:
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    pause()
                    self._reading_paused = True

    def _resume_reading(self) -> None:
        transport = self.transport
        if self._reading_paused and transport is not None:
            resume = getattr(transport, "resume_reading", None)
            if resume is not None:
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    resume()
            self._reading_paused = False

    # -- handling one chunk -----------------------------------------------------------------

    def _received(self, data: bytes) -> None:
        iec = self.iec
        if iec is not None:
            now = self._loop.time()
            iec.handle_timer(now)
            iec.receive_data(data, now)
            answer = iec.data_to_send()
            if answer and self.transport is not None:
                self.transport.write(answer)  # type: ignore[attr-defined]
            for event in iec.events():
                if isinstance(event, LineSettings) and self.transport is not None:
                    apply_line_settings(self.transport, event)
            if iec.complete:
                self.iec = None  # HDLC from now on, at the new baud rate
            return
        if not self._shaped and self.connection.served is None:
            self.connection.receive_data(data, self._loop.time())
            served = self.connection.served
            if served is not None:
                self._shape(served.faults)
            self.flush()
            self._progress()
            return
        super()._received(data)

    def _shape(self, faults: Faults | None) -> None:
        self._shaped = True
        if faults is not None and faults.shapes_writes and self.transport is not None:
            self.transport = _ShapedTransport(  # type: ignore[assignment]
                self.transport,  # type: ignore[arg-type]
                faults,
            )

    def _lost(self, exc: Exception | None) -> None:
        server = self._server
        self.connection.association_ended()
        if self._admitted:
            self._admitted = False
            server._drivers.discard(self)
            if self._kind == "tcp":
                server.budget.release(self._peer)
        # Break every reference back to this driver (the connection's close function, the
        # bound methods kept as callbacks) so that it is freed at once, not by the cyclic GC.
        self._pending = bytearray()
        self.connection.teardown()
        self._on_connection_lost = None
        self._on_progress = _noop


class _DatagramServer(asyncio.DatagramProtocol):
    """UDP wrapper: one session per peer address."""

    def __init__(self, server: DlmsServer) -> None:
        self._server = server
        self._loop = asyncio.get_running_loop()
        self._peers: dict[Any, _Connection] = {}
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        connection = self._peers.get(addr)
        if connection is None:
            if len(self._peers) > 10000:
                self._peers.clear()
            server = self._server
            connection = _Connection(
                server.resolve,
                server.config,
                server.statistics,
                lambda: self._forget(addr),
                limits=server.limits,
                backoff=server.backoff,
                kind="udp",
                peer=str(addr[0]) if isinstance(addr, tuple) else None,
                now=self._loop.time(),
            )
            self._peers[addr] = connection
            server.statistics.connections += 1
        connection.receive_data(data, self._loop.time())
        self._flush(addr, connection)
        if connection.hold_until is not None:
            self._loop.call_at(connection.hold_until, self._release_held, addr, connection)

    def _flush(self, addr: Any, connection: _Connection) -> None:
        if self.transport is not None:
            for datagram in connection.datagrams_to_send():
                self._send(datagram, addr, connection)

    def _release_held(self, addr: Any, connection: _Connection) -> None:
        """The password back-off's hold ended: send the answers it held."""
        connection.handle_timer(self._loop.time())
        if connection.hold_until is None:
            self._flush(addr, connection)
        else:
            self._loop.call_at(connection.hold_until, self._release_held, addr, connection)

    def _forget(self, addr: Any) -> None:
        self._peers.pop(addr, None)

    def _send(self, datagram: bytes, addr: Any, connection: _Connection) -> None:
        assert self.transport is not None
        faults = connection.served.faults if connection.served is not None else None
        if faults is None or not faults.shapes_writes:
            self.transport.sendto(datagram, addr)
            return
        delay = faults.latency + random.uniform(0, faults.jitter)
        if faults.drop_rate and random.random() < faults.drop_rate:
            return
        transport = self.transport
        self._loop.call_later(delay, lambda: transport.sendto(datagram, addr))
