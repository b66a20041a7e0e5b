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

:class:`~asyncdlms.server.limits.ServerLimits` says what the server tolerates from its peers:
timeouts for the first byte and for a frame once begun, protocol errors in a row and wrapper
stream errors that close a TCP connection, the APDU size checked from the wrapper header,
connection caps (in all and per peer address), bounded work per turn of the event loop, and a
back-off on wrong passwords. A closed connection breaks its reference cycles, so its memory
is freed at once, not by the cyclic garbage collector.

This module holds :class:`DlmsServer` and its settings; the sans-IO machine of one connection
is in :mod:`~asyncdlms.server.connection`, the asyncio drivers (TCP, serial, UDP, shaped
writes) in :mod:`~asyncdlms.server.drivers` (their names stay importable from here).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from ..hdlc import HdlcAddress, HdlcParameters
from ..iec62056_21 import IecResponderSettings, ModeEResponder
from ..session.object_access import ObjectAccess
from ..session.server import ServerSettings
from .connection import _BIND_BUFFER as _BIND_BUFFER
from .connection import _NOISE_PER_ERROR as _NOISE_PER_ERROR
from .connection import Kind, _Connection, _noop
from .connection import _hdlc_begun as _hdlc_begun
from .drivers import _DatagramServer, _StreamDriver
from .drivers import _peer_host as _peer_host
from .drivers import _ShapedTransport as _ShapedTransport
from .limits import ConnectionBudget, FailureBackoff, ServerLimits

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
    ``inactivity_timeout`` seconds without a complete frame received after which a TCP
    connection is closed (``None``: never); bytes that make no frame do not count, so a
    trickle of noise does not keep a connection open. (On HDLC the link's own inactivity
    timer drops the link too, serial lines included.)
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
    """Counters of a :class:`DlmsServer` (for logs and tests).

    ``refused_connections`` were over a connection cap; the ``*_closes`` count connections
    the server closed: no first byte in time, a frame not complete in time, too many protocol
    errors in a row, a wrapper stream error, inactivity. ``protocol_errors`` counts every
    protocol error seen on TCP, ``held_answers`` the association answers held back by the
    password back-off.
    """

    connections: int = 0
    associations: int = 0
    unknown_addresses: int = 0
    inactivity_closes: int = 0
    refused_connections: int = 0
    first_byte_closes: int = 0
    frame_timeout_closes: int = 0
    protocol_error_closes: int = 0
    stream_error_closes: int = 0
    protocol_errors: int = 0
    authentication_failures: int = 0
    held_answers: int = 0
    #: associations open now, and the most ever open at once (on a shared HDLC port, as on
    #: a gateway's line, more than 1 means two clients talked on the line at once)
    open_associations: int = 0
    most_open_associations: int = 0

    def association_opened(self) -> None:
        self.associations += 1
        self.open_associations += 1
        self.most_open_associations = max(self.most_open_associations, self.open_associations)


Resolve = Callable[[Address], Served | None]


class DlmsServer:
    """Listens on one port and serves the devices ``resolve`` finds by address.

    >>> # server = DlmsServer(resolve, LinkConfig("hdlc")); await server.start("127.0.0.1", 0)

    ``start()`` returns the bound ``(host, port)``; ``close()`` stops listening and closes
    every connection. Usable as ``async with``.
    """

    def __init__(
        self,
        resolve: Resolve,
        config: LinkConfig | None = None,
        limits: ServerLimits | None = None,
        budget: ConnectionBudget | None = None,
    ) -> None:
        self.resolve = resolve
        self.config = config or LinkConfig()
        #: what the server tolerates from its peers (:class:`ServerLimits`; defaults on)
        self.limits = limits if limits is not None else ServerLimits()
        #: the password back-off shared by every connection of this server (None: off)
        self.backoff: FailureBackoff | None = self.limits.backoff()
        self.statistics = ServerStatistics()
        #: the open connections counted for the caps (shared with other servers when given)
        self.budget = budget if budget is not None else ConnectionBudget()
        self._refusals_logged_at = -1e9
        self._refusals_unlogged = 0
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

        def factory() -> _StreamDriver:
            driver = self._protocol("serial")
            if iec is not None:
                driver.iec = ModeEResponder(iec)
            return driver

        transport, _ = await serial_asyncio.create_serial_connection(
            asyncio.get_running_loop(), factory, port, baudrate=300 if iec else baud_rate
        )
        self._serial.append(transport)

    def _protocol(self, kind: Kind = "tcp") -> _StreamDriver:
        connection = _Connection(
            self.resolve,
            self.config,
            self.statistics,
            _noop,
            limits=self.limits,
            backoff=self.backoff,
            kind=kind,
            now=asyncio.get_running_loop().time(),
        )
        driver = _StreamDriver(connection, self, kind)
        # A reference cycle (connection -> driver.close -> driver -> connection) that
        # _StreamDriver._lost breaks when the transport is gone.
        connection.set_close(driver.close)
        return driver

    # -- connection caps ----------------------------------------------------------------------

    def _log_refusal(self, peer: str | None, reason: str) -> None:
        """Log refusals, at most one line a second (a flood must not flood the log)."""
        now = time.monotonic()
        if now - self._refusals_logged_at < 1.0:
            self._refusals_unlogged += 1
            return
        more = f" ({self._refusals_unlogged} more refused since the last line)"
        _log.warning(
            "refused a connection from %s: %s%s",
            peer or "?",
            reason,
            more if self._refusals_unlogged else "",
        )
        self._refusals_logged_at = now
        self._refusals_unlogged = 0

    def close_connections(self, serves: Callable[[Served], bool]) -> int:
        """Close every open TCP connection and serial line whose device ``serves(served)``
        picks, at once (a meter that restarts); nothing more is answered on them. How many
        were closed."""
        closed = 0
        for driver in list(self._drivers):
            connection = driver.connection
            if connection.served is not None and serves(connection.served):
                connection._cut("the device closed the connection")
                closed += 1
        return closed

    @property
    def connection_count(self) -> int:
        """Open TCP connections (and serial lines)."""
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
