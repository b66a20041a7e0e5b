"""The asyncio side of the server role: TCP (wrapper or HDLC) and UDP (wrapper) listeners and
serial lines (HDLC, :meth:`DlmsServer.start_serial`) that run one
:class:`~asyncdlms.session.server.ServerSession` per connection (per peer for UDP) through
:class:`~asyncdlms.aio.driver.Driver`.

Which device answers is decided from the first frame of a connection: the HDLC destination
address of the first frame (usually the SNRM) or the destination wPort of the first wrapper
frame is given to the ``resolve`` function of the :class:`DlmsServer`, which returns a
:class:`Served` (the session settings, the :class:`ObjectAccess` and optional
:class:`Faults`) or ``None``. ``None`` gives silence (HDLC: the bytes are dropped and the
next frame is tried, as a meter ignores frames for another address) or, for the wrapper,
the connection is closed. So one port can serve thousands of devices, each selected by its
address, and N ports one device each.

:class:`Faults` are for testing clients: added latency and jitter, a slow serial line
(``baud_rate``: 10 bits per byte), dropped or corrupted writes, and a silent device that
reads everything and never answers. Refusing associations is a matter of the session
settings (a client SAP without a policy is rejected).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from ..aio.driver import Driver
from ..aio.serial import apply_line_settings
from ..hdlc import (
    HdlcAddress,
    HdlcConnection,
    HdlcParameters,
    HdlcSettings,
    LinkState,
    Role,
)
from ..hdlc.splitter import FrameSplitter
from ..iec62056_21 import IecResponderSettings, LineSettings, ModeEResponder
from ..link import Link
from ..session.events import AssociationEstablished, AssociationReleased
from ..session.object_access import ObjectAccess
from ..session.server import ServerSession, ServerSettings
from ..wrapper import WrapperConnection

__all__ = ["Address", "DlmsServer", "Faults", "LinkConfig", "Served", "ServerStatistics"]

_log = logging.getLogger(__name__)

Address = HdlcAddress | int
"""What selects a device: the HDLC destination address or the wrapper destination wPort."""


@dataclass(frozen=True, slots=True)
class Faults:
    """Faults a device shows its clients (all off by default).

    - ``latency`` seconds added before every write, plus up to ``jitter`` seconds (uniform);
    - ``baud_rate``: writes take 10 bits per byte at this rate (a slow serial line);
    - ``drop_rate`` / ``corrupt_rate``: the probability that a write is lost / has one byte
      flipped;
    - ``silent``: the device reads and never answers (a meter that stopped answering);
    - ``seed``: for the random choices (``None``: not reproducible).
    """

    latency: float = 0.0
    jitter: float = 0.0
    baud_rate: int | None = None
    drop_rate: float = 0.0
    corrupt_rate: float = 0.0
    silent: bool = False
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.latency < 0 or self.jitter < 0:
            raise ValueError("latency and jitter must not be negative")
        if not 0 <= self.drop_rate <= 1 or not 0 <= self.corrupt_rate <= 1:
            raise ValueError("drop_rate and corrupt_rate are probabilities (0..1)")
        if self.baud_rate is not None and self.baud_rate <= 0:
            raise ValueError("baud_rate must be positive")

    @property
    def shapes_writes(self) -> bool:
        """True when writes are delayed, dropped or corrupted."""
        return bool(
            self.latency or self.jitter or self.baud_rate or self.drop_rate or self.corrupt_rate
        )


@dataclass(frozen=True, slots=True)
class Served:
    """What answers on a connection: the session settings, the objects and the faults.

    ``live_faults``, when given, is asked on every input: when it says ``silent``, an open
    connection stops answering too (the other faults are fixed when the connection binds).
    """

    settings: ServerSettings
    object_access: ObjectAccess
    faults: Faults | None = None
    live_faults: Callable[[], Faults | None] | None = None

    def silent_now(self) -> bool:
        """True when the device must not answer (now)."""
        faults = self.live_faults() if self.live_faults is not None else self.faults
        return faults is not None and faults.silent


_DEFAULT_HDLC = HdlcParameters()


@dataclass(frozen=True, slots=True)
class LinkConfig:
    """How the links of a :class:`DlmsServer` are set up.

    ``interface`` ``"wrapper"`` or ``"hdlc"``; ``transport`` ``"tcp"`` or ``"udp"`` (the
    wrapper only); ``hdlc_parameters`` the server's HDLC proposal (max info length, window);
    ``inactivity_timeout`` seconds without a byte received after which the connection is
    closed (``None``: never).
    """

    interface: Literal["wrapper", "hdlc"] = "wrapper"
    transport: Literal["tcp", "udp"] = "tcp"
    hdlc_parameters: HdlcParameters = _DEFAULT_HDLC
    inactivity_timeout: float | None = None

    def __post_init__(self) -> None:
        if self.interface not in ("wrapper", "hdlc"):
            raise ValueError(f"interface must be 'wrapper' or 'hdlc', not {self.interface!r}")
        if self.transport not in ("tcp", "udp"):
            raise ValueError(f"transport must be 'tcp' or 'udp', not {self.transport!r}")
        if self.interface == "hdlc" and self.transport == "udp":
            raise ValueError("HDLC is served over TCP (or serial), not UDP")
        if self.inactivity_timeout is not None and self.inactivity_timeout <= 0:
            raise ValueError("inactivity_timeout must be positive or None")


@dataclass(slots=True)
class ServerStatistics:
    """Counters of a :class:`DlmsServer` (for logs and tests)."""

    connections: int = 0
    associations: int = 0
    unknown_addresses: int = 0
    inactivity_closes: int = 0
    #: associations open now, and the most ever open at once (on a shared HDLC port, as on
    #: a gateway's line, more than 1 means two clients talked on the line at once)
    open_associations: int = 0
    most_open_associations: int = 0

    def association_opened(self) -> None:
        self.associations += 1
        self.open_associations += 1
        self.most_open_associations = max(self.most_open_associations, self.open_associations)


Resolve = Callable[[Address], Served | None]


class _Connection:
    """The sans-IO machine of one connection: picks the device from the first frame, then
    runs its ServerSession; closes on inactivity."""

    __slots__ = (
        "_buffer",
        "_close",
        "_config",
        "_inactive_at",
        "_rebind",
        "_resolve",
        "_silent",
        "_statistics",
        "associated",
        "served",
        "session",
    )

    def __init__(
        self,
        resolve: Resolve,
        config: LinkConfig,
        statistics: ServerStatistics,
        close: Callable[[], None],
    ) -> None:
        self._resolve = resolve
        self._config = config
        self._statistics = statistics
        self._close = close
        self._buffer = bytearray()
        self._silent = False
        self._inactive_at: float | None = None
        self._rebind = False
        self.served: Served | None = None
        self.session: ServerSession | None = None
        self.associated = False

    def association_ended(self) -> None:
        """The association (if any) is over: released, its HDLC link ended, or the
        connection closed."""
        if self.associated:
            self.associated = False
            self._statistics.open_associations -= 1

    def _bind(self, now: float) -> bool:
        config = self._config
        address: Address
        if config.interface == "hdlc":
            frames = FrameSplitter().feed(bytes(self._buffer))
            if not frames:
                if len(self._buffer) > 4096:
                    self._buffer.clear()
                return False
            address = frames[0].destination
        else:
            if len(self._buffer) < 6:
                return False
            address = int.from_bytes(self._buffer[4:6], "big")
        served = self._resolve(address)
        if served is None:
            self._statistics.unknown_addresses += 1
            self._buffer.clear()
            if config.interface == "wrapper":
                self._close()
            return False
        link: Link
        if isinstance(address, HdlcAddress):
            link = HdlcConnection(
                HdlcSettings(
                    None,
                    address,
                    Role.SERVER,
                    parameters=config.hdlc_parameters,
                    inactivity_timeout=config.inactivity_timeout,
                )
            )
        else:
            link = WrapperConnection(address, None, config.transport, role="server")
        self.served = served
        self._silent = served.faults is not None and served.faults.silent
        self.session = ServerSession(link, served.settings, served.object_access)
        return True

    def receive_data(self, data: bytes, now: float) -> None:
        if self._config.inactivity_timeout is not None:
            self._inactive_at = now + self._config.inactivity_timeout
        if self.session is None:
            self._buffer += data
            if not self._bind(now):
                return
            data = bytes(self._buffer)
            self._buffer.clear()
        assert self.served is not None and self.session is not None
        self._silent = self.served.silent_now()
        if self._silent:
            return
        self.session.receive_data(data, now)
        self._take_events()
        link = self.session.link
        if isinstance(link, HdlcConnection) and link.state is LinkState.DISCONNECTED:
            # This station's HDLC link ended (DISC, or never began): once its answer is out,
            # the line may address another station (an RS-485 bus or a gateway connection
            # shared by several meters), so the next frame chooses the device again.
            self._rebind = True
            self.association_ended()

    def _take_events(self) -> None:
        assert self.session is not None
        for event in self.session.events():
            if isinstance(event, AssociationEstablished):
                self.association_ended()  # a new AARQ replaces the association
                self._statistics.association_opened()
                self.associated = True
            elif isinstance(event, AssociationReleased):
                self.association_ended()

    def data_to_send(self) -> bytes:
        if self.session is None or self._silent:
            return b""
        data = self.session.data_to_send()
        if self._rebind:
            self._rebind = False
            self.session = None
            self.served = None
        return data

    def datagrams_to_send(self) -> list[bytes]:
        if self.session is None or self._silent:
            return []
        return self.session.datagrams_to_send()

    def next_deadline(self) -> float | None:
        deadline = self.session.next_deadline() if self.session is not None else None
        if self._inactive_at is not None and (deadline is None or self._inactive_at < deadline):
            return self._inactive_at
        return deadline

    def handle_timer(self, now: float) -> None:
        if self._inactive_at is not None and now >= self._inactive_at:
            self._inactive_at = None
            self._statistics.inactivity_closes += 1
            self._close()
            return
        if self.session is not None:
            self.session.handle_timer(now)
            self._take_events()


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


class _StreamDriver(Driver):
    """A Driver whose transport is shaped once the connection knows its device's faults."""

    def __init__(self, connection: _Connection, server: DlmsServer) -> None:
        super().__init__(connection, on_connection_lost=self._lost)
        self.connection = connection
        self._server = server
        self._shaped = False
        #: the meter side of the IEC 62056-21 opening, until it completes (serial lines)
        self.iec: ModeEResponder | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._server._drivers.add(self)
        self._server.statistics.connections += 1
        super().connection_made(transport)

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
        self._server._drivers.discard(self)
        self.connection.association_ended()


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
            connection = _Connection(
                self._server.resolve,
                self._server.config,
                self._server.statistics,
                lambda: self._forget(addr),
            )
            self._peers[addr] = connection
            self._server.statistics.connections += 1
        connection.receive_data(data, self._loop.time())
        if self.transport is not None:
            for datagram in connection.datagrams_to_send():
                self._send(datagram, addr, connection)

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


class DlmsServer:
    """Listens on one port and serves the devices ``resolve`` finds by address.

    >>> # server = DlmsServer(resolve, LinkConfig("hdlc")); await server.start("127.0.0.1", 0)

    ``start()`` returns the bound ``(host, port)``; ``close()`` stops listening and closes
    every connection. Usable as ``async with``.
    """

    def __init__(self, resolve: Resolve, config: LinkConfig | None = None) -> None:
        self.resolve = resolve
        self.config = config or LinkConfig()
        self.statistics = ServerStatistics()
        self._server: asyncio.AbstractServer | None = None
        self._datagram: asyncio.DatagramTransport | None = None
        self._drivers: set[_StreamDriver] = set()
        self._serial: list[asyncio.BaseTransport] = []
        self.address: tuple[str, int] | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        """Start listening; the bound address."""
        loop = asyncio.get_running_loop()
        if self.config.transport == "udp":
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _DatagramServer(self), local_addr=(host, port)
            )
            self._datagram = transport
            sockname = transport.get_extra_info("sockname")
        else:
            self._server = await loop.create_server(self._protocol, host, port)
            sockname = self._server.sockets[0].getsockname()
        self.address = (str(sockname[0]), int(sockname[1]))
        return self.address

    async def start_serial(
        self, port: str, baud_rate: int = 9600, iec: IecResponderSettings | None = None
    ) -> None:
        """Also serve on the serial line ``port`` (a device path or a pyserial URL), HDLC,
        8N1 at ``baud_rate``: the device is chosen by the first frame's address, as on TCP.

        With ``iec`` the line behaves like a meter's optical port: it starts at 300 baud and
        answers the IEC 62056-21 mode E opening (identification, ACK), then switches to the
        baud rate it offered (``iec.baud_character``) and runs HDLC."""
        if self.config.interface != "hdlc":
            raise ValueError("a serial line carries HDLC: use LinkConfig(interface='hdlc')")
        import serial_asyncio

        factory: Callable[[], _StreamDriver] = self._protocol
        if iec is not None:
            settings = iec

            def factory() -> _StreamDriver:
                driver = self._protocol()
                driver.iec = ModeEResponder(settings)
                return driver

        transport, _ = await serial_asyncio.create_serial_connection(
            asyncio.get_running_loop(), factory, port, baudrate=300 if iec else baud_rate
        )
        self._serial.append(transport)

    def _protocol(self) -> _StreamDriver:
        holder: list[_StreamDriver] = []

        def close() -> None:
            if holder:
                holder[0].close()

        connection = _Connection(self.resolve, self.config, self.statistics, close)
        driver = _StreamDriver(connection, self)
        holder.append(driver)
        return driver

    @property
    def connection_count(self) -> int:
        """Open TCP connections."""
        return len(self._drivers)

    async def close(self) -> None:
        """Stop listening and close every connection."""
        if self._server is not None:
            self._server.close()
            for driver in list(self._drivers):
                driver.close()
            await self._server.wait_closed()
            self._server = None
        if self._datagram is not None:
            self._datagram.close()
            self._datagram = None
        for transport in self._serial:
            transport.close()
        self._serial.clear()

    async def __aenter__(self) -> DlmsServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
