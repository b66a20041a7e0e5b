"""The one place where the sans-IO core meets asyncio: bytes, datagrams and timers.

A :class:`Driver` is an asyncio protocol (stream and datagram) that owns no protocol logic.
It feeds what the transport delivers into a sans-IO machine (a link, a session, the
IEC 62056-21 opener), writes what the machine wants written, and calls the machine's
``handle_timer`` at the machine's ``next_deadline`` — using the event loop's monotonic clock
as ``now``. After every input it calls ``on_progress`` so that the owner can take the
machine's events; the owner calls :meth:`Driver.flush` after it gave the machine something
to send (after an input the driver flushes once, when ``on_progress`` returned).

Streams are read with :class:`asyncio.BufferedProtocol` into one receive buffer per thread,
shared by every driver of the thread (the loop hands one read to one protocol at a time and
the bytes are copied out before the next): Python's selector transport otherwise allocates
256 KiB per read, which glibc serves with mmap/munmap in a long-lived process.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol, cast

__all__ = ["Driver", "SansIoMachine", "Trace", "hex_trace_logger", "redactor"]

Trace = Callable[[str, bytes, float], None]
"""A trace hook: called with ``"->"`` (sent) or ``"<-"`` (received), the bytes on the wire and
the loop time. Keys never travel on the wire; a low-level-security password does (inside the
AARQ), so the driver passes traced bytes through ``redact`` first (see :func:`redactor`)."""


class SansIoMachine(Protocol):
    """What the driver needs from the machine it drives."""

    def receive_data(self, data: bytes, now: float) -> None: ...

    def data_to_send(self) -> bytes: ...

    def datagrams_to_send(self) -> list[bytes]: ...

    def next_deadline(self) -> float | None: ...

    def handle_timer(self, now: float) -> None: ...


_RECEIVE_BUFFER_SIZE = 65536


class _ReceiveBuffer(threading.local):
    """The receive buffer of this thread's drivers."""

    def __init__(self) -> None:
        self.view = memoryview(bytearray(_RECEIVE_BUFFER_SIZE))


_receive_buffer = _ReceiveBuffer()


class Driver(asyncio.BufferedProtocol, asyncio.DatagramProtocol):
    """Runs a sans-IO machine over an asyncio transport (stream or datagram).

    ``on_progress()`` is called after each input the machine handled (bytes received, a timer
    fired); ``on_connection_lost(exc)`` once when the transport closes. ``closed`` is a future
    that completes then (with the exception, if any).
    """

    def __init__(
        self,
        machine: SansIoMachine,
        *,
        on_progress: Callable[[], None] = lambda: None,
        on_connection_lost: Callable[[Exception | None], None] | None = None,
        trace: Trace | None = None,
        redact: Callable[[bytes], bytes] | None = None,
        datagram: bool = False,
    ) -> None:
        self.machine = machine
        self._on_progress = on_progress
        self._on_connection_lost = on_connection_lost
        self._trace = trace
        self._redact = redact
        self._datagram = datagram
        self._loop = asyncio.get_running_loop()
        self.transport: asyncio.BaseTransport | None = None
        self.connected: asyncio.Future[None] = self._loop.create_future()
        self.closed: asyncio.Future[Exception | None] = self._loop.create_future()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_deadline: float | None = None
        self._view = _receive_buffer.view
        # a chunk goes straight to _received unless a subclass filters the input in
        # data_received (one call less per read for the client; a flag, not a stored bound
        # method, which would make a reference cycle)
        self._filtered = type(self).data_received is not Driver.data_received

    # -- asyncio protocol callbacks ---------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        if not self.connected.done():
            self.connected.set_result(None)
        self.flush()

    def get_buffer(self, sizehint: int) -> memoryview:
        view = _receive_buffer.view
        self._view = view
        return view

    def buffer_updated(self, nbytes: int) -> None:
        if self._filtered:
            self.data_received(bytes(self._view[:nbytes]))
        else:
            self._received(bytes(self._view[:nbytes]))

    def data_received(self, data: bytes) -> None:
        """Every chunk received comes here (from :meth:`buffer_updated`, or straight from
        transports that do not buffer, the serial one): subclasses that filter or pace the
        input (the server's drivers) override this one method."""
        self._received(data)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self._received(data)

    def eof_received(self) -> bool | None:
        return None  # close the transport; connection_lost follows

    def error_received(self, exc: Exception) -> None:
        # UDP: an ICMP error (port unreachable). The peer may come back: keep going, the
        # machine's timers decide when to give up.
        logging.getLogger(__name__).debug("datagram error: %s", exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        self.transport = None
        if not self.connected.done():
            self.connected.set_exception(exc or ConnectionError("connection closed"))
            self.connected.exception()  # mark retrieved: the owner awaits `closed`
        if not self.closed.done():
            self.closed.set_result(exc)
        if self._on_connection_lost is not None:
            self._on_connection_lost(exc)

    # -- driving the machine ----------------------------------------------------------------

    def _received(self, data: bytes) -> None:
        now = self._loop.time()
        if self._trace is not None:
            self._trace_chunk("<-", data, now)
        self.machine.receive_data(data, now)
        self.flush()
        self._on_progress()

    def _trace_chunk(self, direction: str, data: bytes, now: float) -> None:
        assert self._trace is not None
        self._trace(direction, self._redact(data) if self._redact else data, now)

    def replace_machine(self, machine: SansIoMachine) -> None:
        """Drive another machine from now on (e.g. HDLC after the IEC 62056-21 opening)."""
        self._cancel_timer()
        self.machine = machine
        self.flush()

    def rebind(
        self,
        machine: SansIoMachine,
        on_progress: Callable[[], None],
        on_connection_lost: Callable[[Exception | None], None] | None,
    ) -> None:
        """Hand the transport to another owner (a meter on a shared bus)."""
        self._on_progress = on_progress
        self._on_connection_lost = on_connection_lost
        self.replace_machine(machine)

    def flush(self) -> None:
        """Write what the machine has to send and (re)arm its timer."""
        transport = self.transport
        if transport is not None and not transport.is_closing():
            if self._datagram:
                datagram_transport = cast(asyncio.DatagramTransport, transport)
                for datagram in self.machine.datagrams_to_send():
                    if self._trace is not None:
                        self._trace_chunk("->", datagram, self._loop.time())
                    datagram_transport.sendto(datagram)
            else:
                data = self.machine.data_to_send()
                if data:
                    if self._trace is not None:
                        self._trace_chunk("->", data, self._loop.time())
                    transport.write(data)  # type: ignore[attr-defined]  # (no cast() per write)
        deadline = self.machine.next_deadline()
        if deadline != self._timer_deadline:
            self._want_timer(deadline)  # (the common case, no timer before or after: no call)

    def _want_timer(self, deadline: float | None) -> None:
        """Make sure the machine's ``handle_timer`` runs at ``deadline``. A deadline that
        moves later (an inactivity timeout pushed back by every request) keeps the timer
        already armed, which re-arms when it fires early: one loop timer per timeout period,
        not a new one (and a cancelled one left in the loop's heap) per request."""
        self._timer_deadline = deadline
        timer = self._timer
        if deadline is None or (timer is not None and timer.when() <= deadline):
            return  # no deadline: a timer still armed fires and finds nothing to do
        if timer is not None:
            timer.cancel()
        self._timer = self._loop.call_at(deadline, self._timer_fired, deadline)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._timer_deadline = None

    def _timer_fired(self, armed_for: float) -> None:
        self._timer = None
        deadline = self._timer_deadline
        if deadline is None:
            return
        if deadline > armed_for:  # armed for an earlier deadline that has moved since
            self._timer = self._loop.call_at(deadline, self._timer_fired, deadline)
            return
        self._timer_deadline = None
        self.machine.handle_timer(self._loop.time())
        self.flush()
        self._on_progress()

    def close(self) -> None:
        """Close the transport (the machine is not told: disconnect it first if needed)."""
        self._cancel_timer()
        if self.transport is not None:
            self.transport.close()


def redactor(*secrets: bytes) -> Callable[[bytes], bytes]:
    """A ``redact`` function that replaces every occurrence of each secret by ``*`` bytes.

    Secrets shorter than 4 bytes are masked too (a short password is still a password), at the
    cost of masking look-alike bytes elsewhere in a trace.
    """
    needles = sorted({bytes(s) for s in secrets if s}, key=len, reverse=True)

    def redact(data: bytes) -> bytes:
        for needle in needles:
            if needle in data:
                data = data.replace(needle, b"*" * len(needle))
        return data

    return redact


def hex_trace_logger(logger: logging.Logger | None = None) -> Trace:
    """A trace hook that logs each chunk as ``<- 7e a0 ...`` at DEBUG level."""
    log = logger or logging.getLogger("asyncdlms.trace")

    def trace(direction: str, data: bytes, now: float) -> None:
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%.3f %s %s", now, direction, data.hex(" "))

    return trace
