"""The sans-IO machine of one connection of a :class:`~asyncdlms.server.endpoint.DlmsServer`.

:class:`_Connection` picks the device from the first frame (HDLC destination address or
wrapper destination wPort, through the server's ``resolve``), then runs its
:class:`~asyncdlms.session.server.ServerSession`, and applies the
:class:`~asyncdlms.server.limits.ServerLimits`: the timeouts of the first byte, of a frame and
of inactivity, protocol errors in a row, and the password back-off that holds answers. It
never does I/O: the drivers of :mod:`asyncdlms.server.drivers` feed it bytes and timers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from ..apdu.acse import MechanismName
from ..hdlc import HdlcAddress, HdlcConnection, HdlcSettings, LinkState, Role
from ..hdlc.splitter import FrameSplitter
from ..link import Link
from ..session.events import AssociationEstablished, AssociationReleased
from ..session.server import AssociationState, ServerSession
from ..wrapper import WrapperConnection, WrapperState
from .limits import FailureBackoff, ServerLimits

if TYPE_CHECKING:
    from .endpoint import Address, LinkConfig, Resolve, Served, ServerStatistics

# The listener's log, under the name it had before the connection got its own module.
_log = logging.getLogger("asyncdlms.server.endpoint")

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
        # a wrapper link (the common case) has no link errors, and its counts are read directly
        wrapper = link if type(link) is WrapperConnection else None
        # The link errors in the bytes that chose the device were counted by _bind already.
        count_link = not bound_now and wrapper is None
        errors_before = session.malformed_apdus + (self._link_errors(link) if count_link else 0)
        rejected = session.rejected_associations
        session.receive_data(data, now)
        errors = session.malformed_apdus + (self._link_errors(link) if count_link else 0)
        established = self._take_events()
        frames = wrapper.received_frames if wrapper is not None else self._frames(link)
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
        buffered = wrapper.buffered_bytes if wrapper is not None else self._buffered(link)
        self._track_frame(buffered, frames, now)
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
