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
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from ..aio.driver import Driver
from ..aio.serial import apply_line_settings
from ..apdu.acse import MechanismName
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
from ..session.server import AssociationState, ServerSession, ServerSettings
from ..wrapper import WrapperConnection, WrapperState
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

Kind = Literal["tcp", "udp", "serial"]

#: Bytes that belong to no frame (HDLC over TCP) counted as one protocol error.
_NOISE_PER_ERROR = 1024

#: Bytes kept while looking for the first frame of an HDLC connection.
_BIND_BUFFER = 4096


def _noop() -> None:
    return


def _hdlc_begun(buffered: int) -> int:
    """Bytes of an HDLC frame begun: the splitter keeps a frame's closing flag (it may open
    the next one), a lone flag is no frame yet."""
    return buffered if buffered > 1 else 0


class _Connection:
    """The sans-IO machine of one connection: picks the device from the first frame, then
    runs its ServerSession; applies the :class:`ServerLimits` (timeouts of the first byte,
    of a frame and of inactivity, protocol errors, the password back-off)."""

    __slots__ = (
        "__weakref__",
        "_apdu_limit",
        "_backoff",
        "_bind_splitter",
        "_buffer",
        "_close",
        "_closed",
        "_config",
        "_device",
        "_errors_in_row",
        "_first_byte_at",
        "_frame_at",
        "_frames_seen",
        "_held",
        "_held_datagrams",
        "_inactive_at",
        "_kind",
        "_limits",
        "_peer",
        "_rebind",
        "_resolve",
        "_silent",
        "_statistics",
        "associated",
        "hold_until",
        "served",
        "session",
    )

    def __init__(
        self,
        resolve: Resolve,
        config: LinkConfig,
        statistics: ServerStatistics,
        close: Callable[[], None],
        *,
        limits: ServerLimits | None = None,
        backoff: FailureBackoff | None = None,
        kind: Kind = "tcp",
        peer: str | None = None,
        now: float = 0.0,
    ) -> None:
        self._resolve = resolve
        self._config = config
        self._statistics = statistics
        self._close = close
        self._closed = False
        self._limits = limits or ServerLimits.off()
        self._backoff = backoff
        self._kind: Kind = kind
        self._peer = peer
        self._buffer = bytearray()
        self._bind_splitter: FrameSplitter | None = None
        self._silent = False
        self._rebind = False
        self._device: Address | None = None
        self._apdu_limit = 0xFFFF
        self._errors_in_row = 0
        self._frames_seen = 0
        self._held = bytearray()
        self._held_datagrams: list[bytes] = []
        #: answers are held back until then (password back-off); ``None``: not held
        self.hold_until: float | None = None
        self.served: Served | None = None
        self.session: ServerSession | None = None
        cut = kind == "tcp"
        timeout = self._limits.first_byte_timeout
        self._first_byte_at = now + timeout if cut and timeout is not None else None
        self._frame_at: float | None = None
        self._inactive_at: float | None = None
        if cut and config.inactivity_timeout is not None:
            self._inactive_at = now + config.inactivity_timeout
        self.associated = False

    def association_ended(self) -> None:
        """The association (if any) is over: released, its HDLC link ended, or the
        connection closed."""
        if self.associated:
            self.associated = False
            self._statistics.open_associations -= 1

    def set_close(self, close: Callable[[], None]) -> None:
        """What closes this connection's transport."""
        self._close = close

    def teardown(self) -> None:
        """Forget the transport's close function and the session (the connection is gone):
        nothing refers back to the driver, so the connection is freed without the cyclic
        garbage collector."""
        self._close = _noop
        self.session = None
        self.served = None
        self._bind_splitter = None
        self._buffer.clear()
        self._held.clear()
        self._held_datagrams.clear()

    def _cut(self, reason: str) -> None:
        _log.info("closing the connection from %s: %s", self._peer or "?", reason)
        self._closed = True
        close, self._close = self._close, _noop
        close()

    # -- choosing the device --------------------------------------------------------------

    def _bind(self, data: bytes, now: float) -> bool:
        config = self._config
        address: Address
        self._buffer += data
        if config.interface == "hdlc":
            splitter = self._bind_splitter
            if splitter is None:
                splitter = self._bind_splitter = FrameSplitter()
            before = splitter.dropped_frames + splitter.discarded_bytes // _NOISE_PER_ERROR
            frames = splitter.feed(data)
            errors = splitter.dropped_frames + splitter.discarded_bytes // _NOISE_PER_ERROR
            self._count_errors(errors - before, bool(frames))
            if self._closed:
                return False
            if not frames:
                if len(self._buffer) > _BIND_BUFFER:
                    # keep only the frame begun (the splitter holds the stream's tail)
                    del self._buffer[: len(self._buffer) - splitter.buffered]
                self._track_frame(_hdlc_begun(splitter.buffered), splitter.frames, now)
                return False
            address = frames[0].destination
        else:
            if len(self._buffer) < 6:
                self._track_frame(len(self._buffer), 0, now)
                return False
            address = int.from_bytes(self._buffer[4:6], "big")
        self._bind_splitter = None
        served = self._resolve(address)
        if served is None:
            self._statistics.unknown_addresses += 1
            self._buffer.clear()
            self._frame_at = None
            if config.interface == "wrapper":
                self._cut(f"no device at wPort {address}")
            return False
        self._device = address
        self._apdu_limit = self._limits.apdu_limit(served.settings.server_max_receive_pdu_size)
        link: Link
        if isinstance(address, HdlcAddress):
            link = HdlcConnection(
                HdlcSettings(
                    None,
                    address,
                    Role.SERVER,
                    parameters=config.hdlc_parameters,
                    inactivity_timeout=config.inactivity_timeout,
                    max_apdu_length=max(self._apdu_limit, 2048),
                )
            )
        else:
            link = WrapperConnection(
                address,
                None,
                config.transport,
                role="server",
                max_apdu_length=self._apdu_limit,
            )
        self.served = served
        self._silent = served.faults is not None and served.faults.silent
        self.session = ServerSession(link, served.settings, served.object_access)
        self._frames_seen = 0
        return True

    # -- input ------------------------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> None:
        if not data or self._closed:
            return
        self._first_byte_at = None
        bound_now = False
        if self.session is None:
            if not self._bind(data, now):
                return
            data = bytes(self._buffer)
            self._buffer.clear()
            bound_now = True
        assert self.served is not None and self.session is not None
        self._silent = self.served.silent_now()
        if self._silent:
            return
        session = self.session
        link = session.link
        # The link errors in the bytes that chose the device were counted by _bind already.
        count_link = not bound_now
        errors_before = session.malformed_apdus + (self._link_errors(link) if count_link else 0)
        rejected = session.rejected_associations
        session.receive_data(data, now)
        errors = session.malformed_apdus + (self._link_errors(link) if count_link else 0)
        established = self._take_events()
        frames = self._frames(link)
        self._count_errors(errors - errors_before, frames > self._frames_seen)
        if self._closed:
            return
        if (
            isinstance(link, WrapperConnection)
            and link.state is WrapperState.CLOSED
            and link.last_error is not None
            and self._kind == "tcp"
        ):
            self._statistics.stream_error_closes += 1
            self._cut(f"wrapper stream error: {link.last_error}")
            return
        self._track_frame(self._buffered(link), frames, now)
        if self._backoff is not None and (established or session.rejected_associations != rejected):
            self._apply_backoff(session, session.rejected_associations - rejected, now)
        if isinstance(link, HdlcConnection) and link.state is LinkState.DISCONNECTED:
            # This station's HDLC link ended (DISC, or never began): once its answer is out,
            # the line may address another station (an RS-485 bus or a gateway connection
            # shared by several meters), so the next frame chooses the device again.
            self._rebind = True
            self.association_ended()

    @staticmethod
    def _link_errors(link: Link) -> int:
        if isinstance(link, HdlcConnection):
            return link.dropped_frames + link.discarded_bytes // _NOISE_PER_ERROR
        return 0

    @staticmethod
    def _frames(link: Link) -> int:
        if isinstance(link, HdlcConnection | WrapperConnection):
            return link.received_frames
        return 0

    @staticmethod
    def _buffered(link: Link) -> int:
        if isinstance(link, HdlcConnection):
            return _hdlc_begun(link.buffered_bytes)
        if isinstance(link, WrapperConnection):
            return link.buffered_bytes
        return 0

    def _count_errors(self, errors: int, progress: bool) -> None:
        """Count protocol errors in a row (TCP only: a serial line keeps its line noise)."""
        if self._kind != "tcp":
            return
        if errors > 0:
            self._statistics.protocol_errors += errors
            self._errors_in_row += errors
            maximum = self._limits.max_protocol_errors
            if maximum is not None and self._errors_in_row >= maximum:
                self._statistics.protocol_error_closes += 1
                self._cut(f"{self._errors_in_row} protocol errors in a row")
        elif progress:
            self._errors_in_row = 0

    def _track_frame(self, buffered: int, frames: int, now: float) -> None:
        """Arm the frame deadline when a frame begins (not when its next bytes arrive) and
        re-arm inactivity when a frame completes."""
        completed = frames > self._frames_seen
        self._frames_seen = frames
        if completed and self._inactive_at is not None:
            assert self._config.inactivity_timeout is not None
            self._inactive_at = now + self._config.inactivity_timeout
        timeout = self._limits.frame_timeout
        if not buffered or timeout is None or self._kind != "tcp":
            self._frame_at = None
        elif self._frame_at is None or completed:
            self._frame_at = now + timeout

    # -- the password back-off ------------------------------------------------------------

    def _client_address(self, session: ServerSession) -> int | None:
        """The client SAP this connection's association attempts come from."""
        if session.client_address is not None:
            return session.client_address
        link = session.link
        if isinstance(link, WrapperConnection):
            return link.remote_wport
        if isinstance(link, HdlcConnection) and link.peer_address is not None:
            return link.peer_address.logical
        return None

    def _backoff_keys(self, client: int | None) -> tuple[tuple[Any, ...], ...]:
        keys: tuple[tuple[Any, ...], ...] = (("client", self._device, client),)
        if self._peer is not None:
            keys += (("peer", self._peer),)
        return keys

    def _apply_backoff(self, session: ServerSession, rejected: int, now: float) -> None:
        """An association attempt was answered (accepted, or rejected ``rejected`` times):
        hold the answer while its client address or peer is held; a rejection for a client
        SAP that needs a secret (LLS, HLS) is a failure that holds longer, a success resets.
        (A client SAP with no policy, or the public one, is no password guess.)"""
        assert self._backoff is not None
        client = self._client_address(session)
        keys = self._backoff_keys(client)
        until = self._backoff.held_until(keys, now)
        policy = (
            self.served.settings.policies.get(client)
            if self.served and client is not None
            else None
        )
        guarded = policy is not None and policy.mechanism != MechanismName.LOWEST
        if rejected and guarded:
            for _ in range(rejected):
                self._statistics.authentication_failures += 1
                until = max(until, self._backoff.failed(keys, now))
        elif not rejected and session.state is AssociationState.ASSOCIATED:
            self._backoff.succeeded(keys)
        if until > now:
            self._statistics.held_answers += 1
            self.hold_until = until if self.hold_until is None else max(self.hold_until, until)

    def _take_events(self) -> bool:
        assert self.session is not None
        established = False
        for event in self.session.events():
            if isinstance(event, AssociationEstablished):
                self.association_ended()  # a new AARQ replaces the association
                self._statistics.association_opened()
                self.associated = True
                established = True
            elif isinstance(event, AssociationReleased):
                self.association_ended()
        return established

    # -- output -----------------------------------------------------------------------------

    def data_to_send(self) -> bytes:
        if self.session is None or self._silent:
            return b""
        data = self.session.data_to_send()
        if self.hold_until is not None:
            self._held += data
            data = b""
        elif self._held:
            data = bytes(self._held) + data
            self._held.clear()
        if self._rebind and self.hold_until is None:
            self._rebind = False
            self.session = None
            self.served = None
        return data

    def datagrams_to_send(self) -> list[bytes]:
        if self.session is None or self._silent:
            return []
        datagrams = self.session.datagrams_to_send()
        if self.hold_until is not None:
            self._held_datagrams += datagrams
            return []
        if self._held_datagrams:
            datagrams = self._held_datagrams + datagrams
            self._held_datagrams = []
        return datagrams

    # -- timers -----------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        if self._closed:
            return None
        deadline = self.session.next_deadline() if self.session is not None else None
        # While answers are held the connection is not read: its frame cannot progress.
        frame_at = self._frame_at if self.hold_until is None else None
        for own in (self._first_byte_at, frame_at, self._inactive_at, self.hold_until):
            if own is not None and (deadline is None or own < deadline):
                deadline = own
        return deadline

    def handle_timer(self, now: float) -> None:
        if self._closed:
            return
        if self.hold_until is not None and now >= self.hold_until:
            self.hold_until = None  # data_to_send lets the held answers out
            if self._frame_at is not None and self._limits.frame_timeout is not None:
                self._frame_at = now + self._limits.frame_timeout  # reading resumes now
        if self._first_byte_at is not None and now >= self._first_byte_at:
            self._first_byte_at = None
            self._statistics.first_byte_closes += 1
            self._cut("no byte received in time")
            return
        if self._frame_at is not None and now >= self._frame_at and self.hold_until is None:
            self._frame_at = None
            self._statistics.frame_timeout_closes += 1
            self._cut("a frame was not complete in time")
            return
        if self._inactive_at is not None and now >= self._inactive_at:
            self._inactive_at = None
            self._statistics.inactivity_closes += 1
            self._cut("inactivity")
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
