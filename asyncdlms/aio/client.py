"""The awaitable client: one association with one meter, shared safely by many tasks.

>>> async with asyncdlms.connect("tcp://10.0.0.7:4059", client=16, server=1) as meter:
...     value = await meter.get(3, "1.0.1.8.0.255", 2)

:func:`~asyncdlms.aio.connect.connect` parses the target URL, builds the link (wrapper or
HDLC) and the :class:`~asyncdlms.session.client.ClientSession`, opens the transport through a
:class:`~asyncdlms.aio.driver.Driver` and associates. Every call is a request to the session,
which serves them one at a time in order (a DLMS association is one request at a time); each
has a timeout, and a cancelled or timed-out call leaves the association usable: its late
answer is swallowed by the session, never given to the next call.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import functools
import math
import os
from collections.abc import AsyncIterator, Callable, Generator, Sequence
from types import TracebackType
from typing import Any, Protocol

from ..apdu.acse import MechanismName
from ..apdu.descriptors import (
    CosemAttributeDescriptor,
    CosemAttributeDescriptorWithSelection,
    CosemMethodDescriptor,
    SelectiveAccessDescriptor,
)
from ..apdu.service_error import ExceptionResponse, ExceptionServiceError
from ..errors import (
    AssociationError,
    DecipheringError,
    DlmsError,
    RequestTimeoutError,
    ServiceError,
)
from ..firmware.plan import FirmwareProgress, FirmwareSettings, FirmwareUpgradeResult
from ..hdlc import HdlcConnection
from ..iec62056_21 import IecSettings
from ..obis import Obis, ObisLike
from ..security.counters import (
    FRAME_COUNTER_ATTRIBUTE,
    FRAME_COUNTER_CLASS_ID,
    frame_counter_obis,
    next_invocation_counter,
)
from ..session.client import AssociationState, ClientSession, NegotiatedParameters
from ..session.client.access import AccessItem, AccessResult
from ..session.events import (
    AssociationEstablished,
    AssociationReleased,
    NotificationReceived,
    RequestCompleted,
    RequestFailed,
)
from ..store.firmware import FirmwareTransferStore
from ..types.clock import DateTime
from .cosem_methods import CosemMethods
from .driver import Driver, hex_trace_logger, redactor
from .serial import open_serial
from .short_name import ShortNameMethods
from .url import Scheme, Target

__all__ = ["ABANDON_WAIT", "AUTHENTICATION_NAMES", "Client"]

ABANDON_WAIT = 0.5
"""Seconds :meth:`Client.close` waits for a meter that left a request unanswered (HDLC: the UA
to its DISC) before it closes the transport; never more than the client's ``timeout``."""

AUTHENTICATION_NAMES: dict[str, MechanismName] = {
    "none": MechanismName.LOWEST,
    "low": MechanismName.LOW,
    "high": MechanismName.HIGH,
    "md5": MechanismName.HIGH_MD5,
    "sha1": MechanismName.HIGH_SHA1,
    "gmac": MechanismName.HIGH_GMAC,
    "sha256": MechanismName.HIGH_SHA256,
    "ecdsa": MechanismName.HIGH_ECDSA,
}
"""The ``auth=`` names :func:`connect` accepts."""


class SharedLine(Protocol):
    """A transport several clients use in turn (see :class:`asyncdlms.aio.bus.Bus`)."""

    def attach(self, client: Client) -> Driver:
        """Give the line to ``client``: its session becomes the driven machine."""
        ...

    def detach(self, driver: Driver) -> None:
        """Take the line back from the client that used it."""
        ...


class Client(ShortNameMethods, CosemMethods):
    """An open association with one meter. Use :func:`connect` to make one.

    With short-name referencing (``settings=ClientSettings.for_referencing("sn")``) it reads
    and writes short names (:meth:`read`, :meth:`write`, :meth:`unconfirmed_write`) and maps
    GET/SET/ACTION to them (:class:`~asyncdlms.aio.short_name.ShortNameMethods`).

    Besides GET/SET/ACTION it reads common interface classes as typed values
    (:meth:`read_register`, :meth:`read_clock`, :meth:`set_clock`, :meth:`read_profile`,
    :meth:`read_object_list`: see :class:`~asyncdlms.aio.cosem_methods.CosemMethods`).

    All methods are coroutines that raise typed :class:`~asyncdlms.errors.DlmsError`
    subclasses: :class:`~asyncdlms.errors.DataAccessError` (e.g. object-undefined),
    :class:`~asyncdlms.errors.ActionError`, :class:`~asyncdlms.errors.ServiceError`,
    :class:`~asyncdlms.errors.RequestTimeoutError`, :class:`~asyncdlms.errors.AssociationError`
    when the association is gone.
    """

    def __init__(
        self,
        target: Target,
        session: ClientSession,
        *,
        timeout: float,
        trace: bool | Callable[[str, bytes, float], None] = False,
        iec: IecSettings | None = None,
        secrets: Sequence[bytes] = (),
        public_session: Callable[[], ClientSession] | None = None,
        session_factory: Callable[[], ClientSession] | None = None,
        keep_alive: float | None = None,
        reconnect: bool = False,
    ) -> None:
        if keep_alive is not None and keep_alive <= 0:
            raise ValueError(f"keep_alive must be positive seconds, not {keep_alive}")
        if reconnect and session_factory is None:
            raise ValueError("reconnect needs a session_factory (connect() makes one)")
        self.target = target
        self.session = session
        self.timeout = timeout
        #: Makes a fresh session (link and association state) to associate again after the
        #: association was lost, when ``reconnect`` is set.
        self.session_factory = session_factory
        #: Seconds of idleness after which a keep-alive GET goes out (``None``: never).
        self.keep_alive = keep_alive
        #: Associate again, on the next call, after the association was lost.
        self.reconnect = reconnect
        #: How many times the client associated again after a loss.
        self.reconnections = 0
        self._keep_alive_task: asyncio.Task[None] | None = None
        #: The shared line (a :class:`~asyncdlms.aio.bus.Bus`) this client borrows instead of
        #: opening its own transport.
        self.line: SharedLine | None = None
        self._reopen_lock = asyncio.Lock()
        self._last_activity = 0.0
        #: Makes the session of the short public association (client 16, no security) on
        #: which the frame counter is read when ``security.read_frame_counter`` is set.
        self.public_session = public_session
        #: The meter's frame counter as last read (``read_frame_counter``), else None.
        self.frame_counter: int | None = None
        self._trace = hex_trace_logger() if trace is True else (trace or None)
        self._redact = redactor(*secrets) if secrets else None
        self._iec = iec
        #: The meter's clock deviation convention (``settings.deviation_sign``).
        self.deviation_sign = session.settings.deviation_sign
        self._driver: Driver | None = None
        self._waiters: dict[int, asyncio.Future[Any]] = {}
        # request timeouts: when each request in progress times out, and one loop timer for
        # them all (see _request)
        self._deadlines: dict[int, float] = {}
        self._request_timer: asyncio.TimerHandle | None = None
        self._request_timer_at = math.inf
        self._established: asyncio.Future[AssociationEstablished] | None = None
        self._released: asyncio.Future[DlmsError | None] | None = None
        # made when first needed: most associations never see a notification
        self._notifications: asyncio.Queue[NotificationReceived] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        #: A request timed out and none was answered since: the meter is presumed silent,
        #: so :meth:`close` abandons the association instead of waiting for an RLRE.
        self._abandoning = False

    # -- opening and closing ----------------------------------------------------------------

    async def open(self) -> Client:
        """Open the transport and associate; raises what stopped it (timeout, rejection...).

        With ``security.read_frame_counter`` the meter's frame counter is read first over a
        short public association and ciphering continues from it + 1; when the association
        then fails the way an out-of-sync counter makes it fail (quirk 3: a rejecting AARE,
        an invocation-counter-error, a dropped connection), the counter is read again and
        the association tried once more (behaviour 5).

        A client may be opened again after :meth:`close`; when its last association ended
        without a release (abandoned, the meter silent or gone), it starts on a fresh
        session (as a reconnection does)."""
        if self.session.state not in _STARTING_STATES:
            if self.session_factory is None:
                raise AssociationError(
                    f"the last association with {self.target} ended without a release "
                    f"(state {self.session.state.value}) and this client has no "
                    "session_factory to start a new one: make a new client (connect() gives "
                    "its clients one)"
                )
            self.session = self.session_factory()
        await self._associate()
        loop = asyncio.get_running_loop()
        self._last_activity = loop.time()
        if self.keep_alive is not None and self._keep_alive_task is None:
            self._keep_alive_task = loop.create_task(self._keep_alive_loop())
        return self

    async def _associate(self) -> None:
        security = self.session.settings.security
        if security is None or not security.read_frame_counter:
            await self._open_once()
            return
        await self.read_frame_counter()
        try:
            await self._open_once()
            return
        except (AssociationError, ServiceError) as exc:
            if not _counter_trouble(exc):
                raise
        await self.read_frame_counter()
        await self._open_once()

    async def _keep_alive_loop(self) -> None:
        """Keep an idle association alive inside the meter's inactivity timeout: after
        ``keep_alive`` seconds without a request, GET the current association's logical name
        (attribute 1 of 0.0.40.0.0.255, readable in every association). With ``reconnect``
        a lost association is associated again here too."""
        assert self.keep_alive is not None
        loop = asyncio.get_running_loop()
        while True:
            idle = loop.time() - self._last_activity
            if idle < self.keep_alive:
                await asyncio.sleep(self.keep_alive - idle)
                continue
            self._last_activity = loop.time()
            if not self.session.associated and not self.reconnect:
                return
            with contextlib.suppress(DlmsError, OSError):
                await self.get(15, "0.0.40.0.0.255", 1)

    async def _reopen(self) -> None:
        """Associate again with a fresh session after the association was lost."""
        async with self._reopen_lock:
            if self.session.associated and self._driver is not None:
                return  # another task did it
            assert self.session_factory is not None
            self._close_transport()
            self.session = self.session_factory()
            await self._associate()
            self.reconnections += 1

    async def read_frame_counter(self) -> int:
        """Read the meter's frame counter ``0.0.43.1.<instance>.255`` on a public
        association (its own connection) and continue our invocation counter from it + 1
        (never lowering it)."""
        security = self.session.settings.security
        if security is None or self.public_session is None:
            raise AssociationError("no ciphering configured: there is no frame counter to read")
        public = Client(
            self.target,
            self.public_session(),
            timeout=self.timeout,
            trace=self._trace or False,
            iec=self._iec,
        )
        obis = frame_counter_obis(security.frame_counter_instance)
        async with public._connecting():
            value = await public.get(FRAME_COUNTER_CLASS_ID, obis, FRAME_COUNTER_ATTRIBUTE)
        if isinstance(value, bool) or not isinstance(value, int):
            raise AssociationError(
                f"the frame counter {obis} is not an integer ({type(value).__name__})"
            )
        security.make_context().advance_invocation_counter(next_invocation_counter(value))
        self.frame_counter = value
        return value

    @contextlib.asynccontextmanager
    async def _connecting(self) -> AsyncIterator[Client]:
        await self._open_once()
        try:
            yield self
        finally:
            await self.close()

    async def _open_once(self) -> Client:
        """Open the transport and associate, once."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # (a client opened again from another loop)
            self._cancel_request_timer()
        self._loop = loop
        self._abandoning = False
        self._established = loop.create_future()
        self._released = loop.create_future()
        try:
            async with asyncio.timeout(self.timeout):
                self._driver = await self._open_transport()
                self.session.associate(loop.time())
                self._progress()
                await self._until_established()
        except TimeoutError:
            self._close_transport()
            raise RequestTimeoutError(
                f"no association with {self.target} within {self.timeout} s: if the server "
                "address (logical or physical) is wrong the meter does not answer at all; "
                "also check the port, the cable or the optical head"
            ) from None
        except BaseException:
            self._close_transport()
            raise
        return self

    async def _until_established(self) -> None:
        assert self._established is not None and self._released is not None
        waiters: set[asyncio.Future[Any]] = {self._established, self._released}
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        if self._established.done():
            return
        error = self._released.result()
        raise error or AssociationError("the association ended before it was established")

    async def _open_transport(self) -> Driver:
        if self.line is not None:
            return self.line.attach(self)
        loop = asyncio.get_running_loop()
        target = self.target

        def make_driver(datagram: bool = False) -> Driver:
            return Driver(
                self.session,
                on_progress=self._take_events,
                on_connection_lost=self._connection_lost,
                trace=self._trace,
                redact=self._redact,
                datagram=datagram,
            )

        if target.scheme.is_serial:
            return await open_serial(
                target,
                self.session,
                on_progress=self._take_events,
                on_connection_lost=self._connection_lost,
                iec=self._iec,
                trace=self._trace,
                redact=self._redact,
            )
        assert target.host is not None and target.port is not None
        if target.scheme is Scheme.UDP:
            _, datagram_protocol = await loop.create_datagram_endpoint(
                lambda: make_driver(datagram=True), remote_addr=(target.host, target.port)
            )
            return datagram_protocol
        _, protocol = await loop.create_connection(make_driver, target.host, target.port)
        return protocol

    async def close(self, *, abandon: bool = False) -> None:
        """Release the association (RLRQ, link disconnect) and close the transport. Safe to
        call more than once and after errors; it never waits longer than ``timeout``.

        After a request went unanswered (a timeout), or with ``abandon`` (the caller gives
        up, e.g. its own deadline passed), the association is abandoned instead: no RLRQ, an
        HDLC DISC with at most ``ABANDON_WAIT`` seconds for its answer, the transport
        closed."""
        task, self._keep_alive_task = self._keep_alive_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, DlmsError, OSError):
                await task
        if self._driver is None or self._loop is None:
            return
        released = self._released
        try:
            if released is not None and not released.done() and self.session.associated:
                if self._abandoning or abandon:
                    await self._abandon_association(released)
                    return
                self.session.release(self._loop.time())
                self._progress()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.timeout):
                        await asyncio.shield(released)
        finally:
            self._close_transport()
            self._fail_waiters(AssociationError("the client was closed"))
            if not self._deadlines:
                self._cancel_request_timer()

    async def _abandon_association(self, released: asyncio.Future[DlmsError | None]) -> None:
        """Give up an association whose meter left a request unanswered (issue 13, item 5):
        no RLRQ, which would wait behind the unanswered request and then for its own answer,
        a second full timeout. An HDLC link gets a DISC and at most ``ABANDON_WAIT`` seconds
        for the UA (the meter may still hear us and free its link); over the wrapper the
        closed TCP connection tells the meter. The caller closes the transport."""
        link = self.session.link
        if not isinstance(link, HdlcConnection) or self._loop is None:
            return
        link.disconnect(self._loop.time())
        self._progress()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(min(self.timeout, ABANDON_WAIT)):
                await asyncio.shield(released)

    def _close_transport(self) -> None:
        driver, self._driver = self._driver, None
        if driver is not None:
            if self.line is not None:
                self.line.detach(driver)
            else:
                driver.close()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- what the driver reports ------------------------------------------------------------

    def _progress(self) -> None:
        self._take_events()
        if self._driver is not None:
            self._driver.flush()

    def _take_events(self) -> None:
        """Act on the session's events (the driver calls it after an input, then flushes)."""
        for event in self.session.events():
            if isinstance(event, RequestCompleted | RequestFailed):
                self._abandoning = False  # an answer came: the meter is not silent
            if isinstance(event, RequestCompleted):
                waiter = self._waiters.pop(event.request_id, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(event.result)
            elif isinstance(event, RequestFailed):
                waiter = self._waiters.pop(event.request_id, None)
                if waiter is not None and not waiter.done():
                    waiter.set_exception(event.error)
            elif isinstance(event, NotificationReceived):
                self._notification_queue().put_nowait(event)
            elif isinstance(event, AssociationEstablished):
                if self._established is not None and not self._established.done():
                    self._established.set_result(event)
            elif isinstance(event, AssociationReleased):
                if self._released is not None and not self._released.done():
                    self._released.set_result(event.error)
                self._fail_waiters(event.error or AssociationError("the association was released"))

    def _connection_lost(self, exc: Exception | None) -> None:
        associating = self._established is not None and not self._established.done()
        causes = (
            " before the association was established: meters close it for a wrong server "
            "address (wPort) or client address, an out-of-sync invocation counter, or while "
            "another client is connected"
            if associating
            else ""
        )
        error = AssociationError(
            f"the connection to {self.target} was lost{causes}" + (f": {exc}" if exc else "")
        )
        if self._released is not None and not self._released.done():
            self._released.set_result(error)
        self._fail_waiters(error)
        self._driver = None

    def _fail_waiters(self, error: DlmsError) -> None:
        waiters, self._waiters = self._waiters, {}
        for waiter in waiters.values():
            if not waiter.done():
                waiter.set_exception(error)

    # -- requests ---------------------------------------------------------------------------

    @property
    def negotiated(self) -> NegotiatedParameters | None:
        """What the meter granted in its AARE (conformance, PDU sizes...)."""
        return self.session.negotiated

    async def _request(
        self, submit: Callable[[float], int] | str, timeout: float | None, *arguments: Any
    ) -> Any:
        """Submit a request and wait for its answer. ``submit`` is called with ``now``, or
        is the name of the session's method to call with ``arguments`` and ``now`` (the
        common reads: no closure, four objects kept alive across the wait for the answer,
        is made per request; and the session is the one current after a reconnection)."""
        if self._driver is None or self._loop is None or not self.session.associated:
            if not self.reconnect or self._loop is None:
                raise AssociationError(f"no open association with {self.target}")
            await self._reopen()
        assert self._loop is not None
        loop = self._loop
        now = self._last_activity = loop.time()
        if isinstance(submit, str):
            request_id: int = getattr(self.session, submit)(*arguments, now=now)
        else:
            request_id = submit(now)
        waiter: asyncio.Future[Any] = loop.create_future()
        self._waiters[request_id] = waiter
        self._progress()
        limit = self.timeout if timeout is None else timeout
        # No timeout context and no loop timer per request: the client's one request timer
        # fails the waiter. It is armed for the earliest deadline; the next request's
        # deadline is nearly always later (the same timeout, a later start), which keeps
        # the timer as it is: one loop timer per timeout period, not one per request (a
        # handle, its context and a heap entry, left cancelled in the loop's heap).
        deadline = now + limit
        self._deadlines[request_id] = deadline
        if deadline < self._request_timer_at:
            self._arm_request_timer(loop, deadline)
        try:
            return await waiter
        except _Expired:
            self._abandon(request_id)
            self._abandoning = True
            raise RequestTimeoutError(f"no answer from {self.target} within {limit} s") from None
        except asyncio.CancelledError:
            self._abandon(request_id)
            raise
        finally:
            del self._deadlines[request_id]

    def _arm_request_timer(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        if self._request_timer is not None:
            self._request_timer.cancel()
        self._request_timer_at = when
        self._request_timer = loop.call_at(when, self._request_timer_fired, loop, when)

    def _cancel_request_timer(self) -> None:
        if self._request_timer is not None:
            self._request_timer.cancel()
        self._request_timer = None
        self._request_timer_at = math.inf

    def _request_timer_fired(self, loop: asyncio.AbstractEventLoop, armed_for: float) -> None:
        """Fail the waiters of the requests whose deadline passed; re-arm for the next."""
        self._request_timer = None
        self._request_timer_at = math.inf
        # the loop runs a timer up to its clock resolution early: what it was armed for is due
        now = max(loop.time(), armed_for)
        earliest = math.inf
        for request_id, deadline in self._deadlines.items():
            if deadline <= now:
                waiter = self._waiters.get(request_id)
                if waiter is not None and not waiter.done():
                    waiter.set_exception(_Expired())
            elif deadline < earliest:
                earliest = deadline
        if earliest != math.inf:
            self._arm_request_timer(loop, earliest)

    def _abandon(self, request_id: int) -> None:
        self._waiters.pop(request_id, None)
        if self._loop is not None:
            self.session.cancel(request_id, now=self._loop.time())
        if self._driver is not None:
            self._driver.flush()

    async def get(
        self,
        class_id: int,
        obis: ObisLike,
        attribute: int,
        *,
        selective_access: SelectiveAccessDescriptor | None = None,
        timeout: float | None = None,
    ) -> Any:
        """GET one attribute; returns its decoded value (block transfer as needed)."""
        if self.short_name_referencing:  # SN: mapped to its short name (aio/short_name.py)
            return await self._sn_get(class_id, obis, attribute, selective_access, timeout)
        descriptor = CosemAttributeDescriptor(class_id, Obis(obis), attribute)
        return await self._request("get", timeout, descriptor, selective_access)

    async def get_many(
        self, items: Sequence[tuple[int, ObisLike, int]], *, timeout: float | None = None
    ) -> list[Any]:
        """GET several attributes with GET with-list (in chunks, falling back to single
        GETs where the meter refuses, QUIRKS.md behaviour 10). One entry per item: its value
        or its :class:`~asyncdlms.errors.DataAccessError` (returned, not raised)."""
        if self.short_name_referencing:
            return await self._sn_get_many(items, timeout)
        descriptors = [_listed_attribute(c, o, a) for c, o, a in items]
        return list(await self._request("get_with_list", timeout, descriptors))

    async def set(
        self,
        class_id: int,
        obis: ObisLike,
        attribute: int,
        value: Any,
        *,
        timeout: float | None = None,
    ) -> None:
        """SET one attribute to ``value`` (an A-XDR value: typed or plain, see axdr.encode)."""
        if self.short_name_referencing:
            return await self._sn_set(class_id, obis, attribute, value, timeout)
        descriptor = CosemAttributeDescriptor(class_id, Obis(obis), attribute)
        await self._request(lambda now: self.session.set(descriptor, value, now=now), timeout)

    async def set_many(
        self, items: Sequence[tuple[int, ObisLike, int, Any]], *, timeout: float | None = None
    ) -> list[Any]:
        """SET several attributes in one request; one entry per item: ``None`` or its error."""
        if self.short_name_referencing:
            return await self._sn_set_many(items, timeout)
        pairs = [(CosemAttributeDescriptor(c, Obis(o), a), v) for c, o, a, v in items]
        result = await self._request(
            lambda now: self.session.set_with_list(pairs, now=now), timeout
        )
        return list(result)

    async def action(
        self,
        class_id: int,
        obis: ObisLike,
        method: int,
        parameters: Any = None,
        *,
        timeout: float | None = None,
    ) -> Any:
        """Invoke a method; returns its return parameters (``None`` when it has none)."""
        if self.short_name_referencing:
            return await self._sn_action(class_id, obis, method, parameters, timeout)
        descriptor = CosemMethodDescriptor(class_id, Obis(obis), method)
        return await self._request(
            lambda now: self.session.action(descriptor, parameters, now=now), timeout
        )

    async def access(
        self,
        items: Sequence[AccessItem],
        *,
        break_on_error: bool = False,
        date_time: DateTime | None = None,
        raise_on_error: bool = False,
        timeout: float | None = None,
    ) -> list[AccessResult]:
        """The ACCESS service: :class:`~asyncdlms.AccessGet`, :class:`~asyncdlms.AccessSet`
        and :class:`~asyncdlms.AccessAction` operations in one round trip; one
        :class:`~asyncdlms.AccessResult` per item, in order. A failed item is a result, not an
        exception, unless ``raise_on_error`` (then the first item's error is raised).
        ``break_on_error``: the meter stops at the first failure (the items after it come
        back not processed). Raises :class:`~asyncdlms.errors.ServiceNotNegotiatedError` when
        the meter did not grant the ``access`` conformance bit."""
        results: list[AccessResult] = await self._request(
            lambda now: self.session.access(
                items, break_on_error=break_on_error, date_time=date_time, now=now
            ),
            timeout,
        )
        if raise_on_error:
            for result in results:
                error = result.error
                if error is not None:
                    raise error
        return list(results)

    async def action_many(
        self, items: Sequence[tuple[int, ObisLike, int, Any]], *, timeout: float | None = None
    ) -> list[Any]:
        """Invoke several methods in one ACTION with-list (the association must grant
        multiple-references); one entry per item: its return value or its
        :class:`~asyncdlms.errors.ActionError`."""
        if self.short_name_referencing:
            raise ValueError("ACTION with-list needs logical-name referencing")
        pairs = [(CosemMethodDescriptor(c, Obis(o), m), p) for c, o, m, p in items]
        result = await self._request(
            lambda now: self.session.action_with_list(pairs, now=now), timeout
        )
        return list(result)

    async def reassociate(self) -> None:
        """Associate again with a fresh session, e.g. after the meter restarted and dropped
        the association (what ``reconnect=True`` does on the next call)."""
        await self._reopen()

    async def upgrade_firmware(
        self,
        image: bytes | str | os.PathLike[str],
        identifier: bytes | str,
        *,
        progress: Callable[[FirmwareProgress], None] | None = None,
        verify: bool = True,
        activate: bool | dt.datetime = True,
        instance: ObisLike = "0.0.44.0.0.255",
        settings: FirmwareSettings | None = None,
        store: FirmwareTransferStore | None = None,
        meter: str | None = None,
    ) -> FirmwareUpgradeResult:
        """Upgrade the meter's firmware with the Image transfer object ``instance`` (class
        18): transfer ``image`` (bytes or a file path) as ``identifier`` (bytes, or a str
        sent in UTF-8), resuming from the blocks the meter already holds; ``verify`` it
        (polling while the meter works); ``activate`` it now (``True``, then the active
        firmware identifier is read back, after associating again when the meter restarted),
        at a time (a ``datetime``: the image activation Single action schedule's
        execution_time is set) or not (``False``). ``progress`` is called after every
        request; ``settings`` (:class:`~asyncdlms.firmware.FirmwareSettings`) holds the
        rest (pipelining, retries, time limits, other objects); with a ``store`` the
        progress of ``meter`` (default: the URL) is recorded in its ``firmware_transfers``
        table. Errors: :class:`~asyncdlms.firmware.FirmwareError` subclasses."""
        from ..firmware.flow import upgrade_firmware

        chosen = settings or FirmwareSettings()
        if Obis(instance) != Obis("0.0.44.0.0.255") or settings is None:
            chosen = dataclasses.replace(chosen, instance=Obis(instance))
        return await upgrade_firmware(
            self, image, identifier, progress=progress, verify=verify, activate=activate,
            settings=chosen, store=store, meter=meter,
        )  # fmt: skip

    async def notifications(self) -> AsyncIterator[NotificationReceived]:
        """Unsolicited APDUs (data-notifications, event-notifications) as they arrive."""
        queue = self._notification_queue()
        while True:
            yield await queue.get()

    def _notification_queue(self) -> asyncio.Queue[NotificationReceived]:
        if self._notifications is None:
            self._notifications = asyncio.Queue()
        return self._notifications

    def __await__(self) -> Generator[Any, None, Client]:
        return self.open().__await__()


@functools.lru_cache(maxsize=1024, typed=True)
def _cached_listed_attribute(
    class_id: int, obis: ObisLike, attribute: int
) -> CosemAttributeDescriptorWithSelection:
    return CosemAttributeDescriptorWithSelection(
        CosemAttributeDescriptor(class_id, Obis(obis), attribute)
    )


def _listed_attribute(
    class_id: int, obis: ObisLike, attribute: int
) -> CosemAttributeDescriptorWithSelection:
    """A GET with-list item (the descriptors are immutable: a fleet that reads the same
    attributes every cycle builds each once, not once per read)."""
    try:
        # (an unhashable OBIS form raises the TypeError below)
        return _cached_listed_attribute(class_id, obis, attribute)  # type: ignore[arg-type]
    except TypeError:  # an unhashable OBIS form (a list, a bytearray): built each time
        return CosemAttributeDescriptorWithSelection(
            CosemAttributeDescriptor(class_id, Obis(obis), attribute)
        )


class _Expired(Exception):
    """A request's timer fired before its answer came (becomes RequestTimeoutError)."""


#: the session states from which an association can start
_STARTING_STATES = frozenset({AssociationState.IDLE, AssociationState.CLOSED})


def _counter_trouble(error: DlmsError) -> bool:
    """Whether an association failure may come from an out-of-sync invocation counter
    (quirk 3): not a key or tag problem, which a counter cannot fix."""
    if isinstance(error, DecipheringError):
        return False
    if isinstance(error, ServiceError):
        pdu = error.error
        return (
            isinstance(pdu, ExceptionResponse)
            and pdu.service_error == ExceptionServiceError.INVOCATION_COUNTER_ERROR
        )
    return isinstance(error, AssociationError)
