"""The asyncio listener: pushes from TCP, UDP, serial HAN and M-Bus ports, files and stdin.

:func:`listen` opens a :class:`Listener` on a URL (:mod:`.url`). It is a thin shell around
one sans-IO :class:`~.receiver.PushReceiver`: each TCP connection, UDP peer, serial line or
file is one *source*, its bytes go into the receiver as they arrive, and the receiver's
events come out of the listener::

    async with asyncdlms.listen("tcp://0.0.0.0:4059", keys=keys) as listener:
        async for push in listener:                 # Notification
            print(push.system_title, push.readings())

Nothing is lost: events wait in the listener until they are taken (reading from TCP
connections pauses while more than ``max_pending`` wait, so a slow consumer slows the
meters rather than dropping their pushes). What is not a notification (a rejected push: an
unknown sender, a bad tag, a replay, a corrupted frame; an ignored APDU) is logged on the
``asyncdlms.listen`` logger, counted in :attr:`Listener.statistics` and given by
:meth:`Listener.events` to whoever wants it; it never stops the listener.

A TCP connection whose wrapper stream breaks (a header that is no wrapper header: the stream
cannot resynchronise) is closed; the meter reconnects.

Meters that call home: on a ``tcp://`` or ``hdlc+tcp://`` listener every connection a meter
opens is also offered by :meth:`Listener.connections`, and ``connection.associate(...)``
gives the same :class:`~asyncdlms.aio.client.Client` as :func:`asyncdlms.connect` on that
socket (wake-up / "call home" head-ends); pushes on it are still received before and after.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import IO, Any

from cryptography.hazmat.primitives.asymmetric import ec

from ..aio.bus import HeldAssociation
from ..aio.client import Client
from ..aio.connect import connect
from ..aio.driver import Driver
from ..aio.serial import open_serial
from ..errors import AssociationError, WrapperError
from ..security.counters import InvocationCounterStore
from .keys import KeySet, KeyStore, MemoryKeyStore
from .notification import Notification, PushEvent, PushIgnored, PushRejected
from .receiver import PushReceiver
from .url import ListenTarget, parse_listen_url

__all__ = ["Listener", "ListenerStatistics", "MeterConnection", "listen"]

logger = logging.getLogger("asyncdlms.listen")

_END = object()
"""Put in the event queue when the listener closes (or a file ends)."""


@dataclass(slots=True)
class ListenerStatistics:
    """What a listener has seen so far."""

    notifications: int = 0
    rejected: int = 0
    ignored: int = 0
    connections: int = 0
    connections_open: int = 0
    connections_refused: int = 0
    bytes_received: int = 0
    rejected_by_cause: dict[str, int] = field(default_factory=dict)


class _PushMachine:
    """The sans-IO machine a connection's driver runs while no client holds it: its bytes go
    to the listener's receiver under the connection's source; it never sends."""

    __slots__ = ("listener", "source")

    def __init__(self, listener: Listener, source: object) -> None:
        self.listener = listener
        self.source = source

    def receive_data(self, data: bytes, now: float) -> None:
        self.listener._feed(data, now, self.source)

    def data_to_send(self) -> bytes:
        return b""

    def datagrams_to_send(self) -> list[bytes]:
        return []

    def next_deadline(self) -> float | None:
        return None  # the listener expires partial pushes for every source at once

    def handle_timer(self, now: float) -> None:
        return None


class MeterConnection:
    """A connection a meter opened to a ``tcp://`` or ``hdlc+tcp://`` listener.

    ``peer`` is the meter's (host, port). :meth:`associate` opens an association on it as
    :func:`asyncdlms.connect` would (same keywords except the URL); pushes on the connection
    are received again once the association is released.
    """

    def __init__(self, listener: Listener, driver: Driver, source: object, peer: Any) -> None:
        self._listener = listener
        self._driver = driver
        self._machine = _PushMachine(listener, source)
        self.source = source
        self.peer = peer
        self._holder: Client | None = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"MeterConnection({self.peer!r}, open={self.open})"

    @property
    def open(self) -> bool:
        """Whether the meter is still connected."""
        transport = self._driver.transport
        return transport is not None and not transport.is_closing()

    def associate(self, **options: Any) -> HeldAssociation:
        """``async with connection.associate(client=..., auth=..., ...) as meter``: a
        :class:`~asyncdlms.aio.client.Client` on this connection (the keywords of
        :func:`asyncdlms.connect`; addresses and keys as for a meter you call)."""
        host, port = self.peer[:2] if isinstance(self.peer, tuple) else ("meter", 0)
        meter = connect(f"{self._listener.target.scheme}://{host}:{port}", **options).client
        meter.line = self
        return HeldAssociation(self._lock, meter)

    def close(self) -> None:
        """Hang up."""
        self._driver.close()

    # -- the SharedLine protocol of Client ----------------------------------------------------

    def attach(self, client: Client) -> Driver:
        """Give the connection to ``client`` (called by the client when it opens)."""
        if not self.open:
            raise AssociationError(f"the meter at {self.peer} has hung up")
        self._holder = client
        self._driver.rebind(client.session, client._progress, client._connection_lost)
        return self._driver

    def detach(self, driver: Driver) -> None:
        """Take the connection back for pushes (called by the client when it closes)."""
        self._holder = None
        driver.rebind(self._machine, lambda: None, self._listener._connection_lost(self.source))


class _AcceptedDriver(Driver):
    """The driver of a connection a meter opened: tells the listener once it is made."""

    def __init__(self, listener: Listener, source: object) -> None:
        super().__init__(
            _PushMachine(listener, source), on_connection_lost=listener._connection_lost(source)
        )
        self._listener = listener
        self._source = source

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._listener._accepted(self._source, self)


class _Datagrams(asyncio.DatagramProtocol):
    """UDP: every datagram is fed under its sender's address."""

    def __init__(self, listener: Listener) -> None:
        self.listener = listener

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.listener._feed(data, self.listener._loop_time(), ("udp", *addr[:2]))

    def error_received(self, exc: Exception) -> None:
        logger.warning("UDP listener: %s", exc)


class Listener:
    """Receives the pushes of any number of meters on one URL (see the module
    documentation); make one with :func:`listen`.

    ``keys``: a :class:`~.keys.KeyStore`, a :class:`~.keys.KeySet` for every sender, or a
    mapping of system title → :class:`~.keys.KeySet`. ``counter_store``: where received
    invocation counters are kept for replay rejection (the process's store by default).
    ``system_titles``, ``require_ciphering``, ``unsafe_skip_tag_check`` and
    ``reassembly_timeout`` are :class:`~.receiver.PushReceiver`'s. ``max_connections``:
    TCP connections at once (more are closed at once and counted); ``idle_timeout``: seconds
    after which a silent TCP connection is closed (None: never); ``max_pending``: events
    waiting to be taken before TCP reading pauses; ``backlog``: connections the system may
    queue before the listener accepts them (meters that connect in a burst: a short queue
    makes the system drop some). ``key_agreement_key``, ``recipient_system_title`` and
    ``require_signature``: signed and general-ciphered pushes of security suites 1 and 2,
    see :class:`~.receiver.PushReceiver`.
    """

    def __init__(
        self,
        target: ListenTarget,
        *,
        keys: KeyStore | KeySet | Mapping[bytes | str, KeySet] | None = None,
        counter_store: InvocationCounterStore | None = None,
        system_titles: Mapping[object, bytes | str] | bytes | str | None = None,
        require_ciphering: bool = False,
        unsafe_skip_tag_check: bool = False,
        reassembly_timeout: float = 30.0,
        max_connections: int = 4096,
        idle_timeout: float | None = None,
        max_pending: int = 10_000,
        backlog: int = 1024,
        key_agreement_key: ec.EllipticCurvePrivateKey | None = None,
        recipient_system_title: bytes | str | None = None,
        require_signature: bool = False,
    ) -> None:
        if max_connections < 1 or max_pending < 1:
            raise ValueError("max_connections and max_pending must be at least 1")
        self.target = target
        self.receiver = PushReceiver(
            target.framing,
            keys=_key_store(keys),
            counter_store=counter_store,
            system_titles=system_titles,
            require_ciphering=require_ciphering,
            unsafe_skip_tag_check=unsafe_skip_tag_check,
            reassembly_timeout=reassembly_timeout,
            key_agreement_key=key_agreement_key,
            recipient_system_title=recipient_system_title,
            require_signature=require_signature,
        )
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self.max_pending = max_pending
        self.backlog = backlog
        self.statistics = ListenerStatistics()
        self._events: asyncio.Queue[Any] = asyncio.Queue()
        self._connections: asyncio.Queue[MeterConnection] | None = None
        self._drivers: dict[object, Driver] = {}
        self._idle: dict[object, asyncio.TimerHandle] = {}
        self._numbers = itertools.count(1)
        self._paused = False
        self._server: asyncio.AbstractServer | None = None
        self._datagram: asyncio.DatagramTransport | None = None
        self._serial: Driver | None = None
        self._reader: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self.address: tuple[str, int] | None = None
        """The (host, port) bound, for network URLs (the port chosen when 0 was asked)."""

    def __repr__(self) -> str:
        return f"Listener({self.url!r}, {self.statistics.notifications} notifications)"

    @property
    def url(self) -> str:
        """The URL listened on (with the port actually bound)."""
        if self.address is not None:
            return f"{self.target.scheme}://{self.address[0]}:{self.address[1]}"
        return str(self.target)

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> Listener:
        """Start listening (bind the port, open the line, start reading the file)."""
        loop = self._loop = asyncio.get_running_loop()
        target = self.target
        if target.is_stream_server:
            assert target.host is not None and target.port is not None
            self._server = await loop.create_server(
                self._new_connection, target.host, target.port, backlog=self.backlog
            )
            self.address = self._server.sockets[0].getsockname()[:2]
        elif target.scheme == "udp":
            assert target.host is not None and target.port is not None
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Datagrams(self), local_addr=(target.host, target.port)
            )
            self._datagram = transport
            self.address = transport.get_extra_info("sockname")[:2]
        elif target.serial is not None:
            source = target.serial.device
            self._serial = await open_serial(
                target.serial,
                _PushMachine(self, source),
                on_connection_lost=self._connection_lost(source),
            )
        else:
            self._reader = loop.create_task(self._read_file(target.path or "-"))
        logger.info("listening on %s (%s framing)", self.url, target.framing)
        return self

    async def close(self) -> None:
        """Stop listening and close every connection; events not taken yet stay readable."""
        if self._closed:
            return
        self._closed = True
        if self._server is not None:
            self._server.close()
        for driver in list(self._drivers.values()):
            driver.close()
        if self._datagram is not None:
            self._datagram.close()
        if self._serial is not None:
            self._serial.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._timer is not None:
            self._timer.cancel()
        for handle in self._idle.values():
            handle.cancel()
        if self._server is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 5)
        self._events.put_nowait(_END)

    async def __aenter__(self) -> Listener:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- what comes out -----------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[Notification]:
        return self._notifications()

    async def _notifications(self) -> AsyncIterator[Notification]:
        async for event in self.events():
            if isinstance(event, Notification):
                yield event

    async def events(self) -> AsyncIterator[PushEvent]:
        """Every event in order: :class:`~.notification.Notification`,
        :class:`~.notification.PushRejected`, :class:`~.notification.PushIgnored`; ends when
        the listener is closed (or its file ended) and everything was taken."""
        while True:
            event = await self._events.get()
            if self._paused and self._events.qsize() < self.max_pending // 2:
                self._resume_reading()
            if event is _END:
                self._events.put_nowait(_END)  # for the next iterator too
                return
            yield event

    async def connections(self) -> AsyncIterator[MeterConnection]:
        """The connections meters open from now on (``tcp://`` and ``hdlc+tcp://``), to
        associate with them; ends when the listener closes."""
        if not self.target.is_stream_server:
            raise ValueError(f"{self.url}: only tcp:// and hdlc+tcp:// listeners have connections")
        queue = self._connections = asyncio.Queue()
        closed = asyncio.ensure_future(self._wait_closed())
        try:
            while not self._closed:
                waiter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({waiter, closed}, return_when=asyncio.FIRST_COMPLETED)
                if waiter not in done:
                    waiter.cancel()
                    return
                yield waiter.result()
        finally:
            closed.cancel()
            self._connections = None

    async def _wait_closed(self) -> None:
        while not self._closed:
            await asyncio.sleep(0.05)

    # -- input --------------------------------------------------------------------------------

    def _loop_time(self) -> float:
        assert self._loop is not None
        return self._loop.time()

    def _feed(self, data: bytes, now: float, source: object) -> None:
        self.statistics.bytes_received += len(data)
        self.receiver.receive_data(data, now, source)
        self._take_events()
        handle = self._idle.get(source)
        if handle is not None and self.idle_timeout is not None:
            handle.cancel()
            self._idle[source] = self._arm_idle(source)

    def _take_events(self) -> None:
        for event in self.receiver.events():
            statistics = self.statistics
            if isinstance(event, Notification):
                statistics.notifications += 1
            elif isinstance(event, PushRejected):
                statistics.rejected += 1
                cause = type(event.cause).__name__
                statistics.rejected_by_cause[cause] = statistics.rejected_by_cause.get(cause, 0) + 1
                logger.warning("%s", event)
                if isinstance(event.cause, WrapperError) and event.source in self._drivers:
                    # a wrapper stream cannot resynchronise after a bad header: hang up
                    self._drivers[event.source].close()
            elif isinstance(event, PushIgnored):
                statistics.ignored += 1
                logger.info("%s", event)
            self._events.put_nowait(event)
        if not self._paused and self._events.qsize() >= self.max_pending:
            self._pause_reading()
        self._arm_timer()

    def _arm_timer(self) -> None:
        deadline = self.receiver.next_deadline()
        if deadline is None or self._loop is None or self._closed:
            return
        if self._timer is not None:
            if self._timer.when() <= deadline:
                return
            self._timer.cancel()
        self._timer = self._loop.call_at(deadline, self._expire)

    def _expire(self) -> None:
        self._timer = None
        self.receiver.expire(self._loop_time())
        self._take_events()

    def _pause_reading(self) -> None:
        self._paused = True
        for driver in self._drivers.values():
            transport = driver.transport
            if isinstance(transport, asyncio.ReadTransport) and not transport.is_closing():
                transport.pause_reading()

    def _resume_reading(self) -> None:
        self._paused = False
        for driver in self._drivers.values():
            transport = driver.transport
            if isinstance(transport, asyncio.ReadTransport) and not transport.is_closing():
                transport.resume_reading()

    # -- TCP connections ----------------------------------------------------------------------

    def _new_connection(self) -> Driver:
        source = ("tcp", next(self._numbers))
        return _AcceptedDriver(self, source)

    def _accepted(self, source: object, driver: Driver) -> None:
        transport = driver.transport
        if transport is None:
            return  # gone already
        statistics = self.statistics
        if self._closed or len(self._drivers) >= self.max_connections:
            statistics.connections_refused += 1
            logger.warning(
                "refused a connection from %s: %d connections open (max_connections)",
                transport.get_extra_info("peername"),
                len(self._drivers),
            )
            transport.close()
            return
        statistics.connections += 1
        statistics.connections_open += 1
        self._drivers[source] = driver
        if self._paused and isinstance(transport, asyncio.ReadTransport):
            transport.pause_reading()
        if self.idle_timeout is not None:
            self._idle[source] = self._arm_idle(source)
        if self._connections is not None:
            peer = transport.get_extra_info("peername")
            self._connections.put_nowait(MeterConnection(self, driver, source, peer))

    def _arm_idle(self, source: object) -> asyncio.TimerHandle:
        assert self._loop is not None and self.idle_timeout is not None
        return self._loop.call_later(self.idle_timeout, self._idle_expired, source)

    def _idle_expired(self, source: object) -> None:
        driver = self._drivers.get(source)
        if driver is not None:
            logger.info("closing %s: silent for %g s (idle_timeout)", source, self.idle_timeout)
            driver.close()

    def _connection_lost(self, source: object) -> Callable[[Exception | None], None]:
        def lost(exc: Exception | None) -> None:
            if self._drivers.pop(source, None) is not None:
                self.statistics.connections_open -= 1
            handle = self._idle.pop(source, None)
            if handle is not None:
                handle.cancel()
            self.receiver.close_source(source)
            if self.target.serial is not None and not self._closed:
                logger.warning("the line %s closed: %s", source, exc or "no error")
                self._events.put_nowait(_END)

        return lost

    # -- files --------------------------------------------------------------------------------

    async def _read_file(self, path: str) -> None:
        source = ("file", path)
        handle: IO[bytes]
        handle = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
        try:
            while chunk := await asyncio.to_thread(handle.read, 65536):
                self._feed(chunk, self._loop_time(), source)
        except OSError as exc:
            logger.error("cannot read %s: %s", path, exc)
        finally:
            if path != "-":
                handle.close()
        # the end of the file: whatever is still partial will never be completed
        self.receiver.expire(self._loop_time() + self.receiver.reassembly_timeout + 1)
        self._take_events()
        self._events.put_nowait(_END)


def _key_store(keys: KeyStore | KeySet | Mapping[bytes | str, KeySet] | None) -> KeyStore | None:
    if keys is None or isinstance(keys, KeyStore):
        return keys
    if isinstance(keys, KeySet):
        return MemoryKeyStore(default=keys)
    return MemoryKeyStore(dict(keys))


def listen(url: str | ListenTarget, **options: Any) -> Listener:
    """A :class:`Listener` on ``url`` (see :mod:`asyncdlms.listen.url`): use it as
    ``async with listen(url, keys=...) as listener: async for push in listener: ...``
    (or ``await listen(...).start()`` and ``await listener.close()``). Keywords: those of
    :class:`Listener`."""
    target = url if isinstance(url, ListenTarget) else parse_listen_url(url)
    return Listener(target, **options)
