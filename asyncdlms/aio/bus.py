"""Several meters on one line: an RS-485 multi-drop bus, or one HDLC gateway connection.

>>> async with asyncdlms.Bus("serial:///dev/ttyUSB0?baud=9600") as bus:
...     for physical in (17, 18, 19):
...         async with bus.connect(link=LinkSettings(physical_address=physical)) as meter:
...             print(await meter.read_register("1.0.1.8.0.255"))

A :class:`Bus` opens the line once (for ``serial+iec://`` it runs the IEC 62056-21 opening
once) and lends it to one meter at a time: HDLC stations on a shared line are addressed one
after the other, each with its own SNRM ... DISC, so :meth:`Bus.connect` waits while another
meter holds the line. Frames addressed to other stations are dropped by the HDLC link of the
meter that holds the line. For gateways that allow several associations at once, open
several connections to them (plain :func:`asyncdlms.connect` calls).
"""

from __future__ import annotations

import asyncio
import dataclasses
from types import TracebackType
from typing import Any

from ..errors import AssociationError
from ..iec62056_21 import IecSettings
from .client import Client
from .connect import connect
from .driver import Driver
from .link_settings import LinkSettings
from .serial import open_serial
from .url import Target, parse_target

__all__ = ["Bus", "HeldAssociation"]


class _Idle:
    """What the line runs while no meter holds it: ignores whatever arrives."""

    def receive_data(self, data: bytes, now: float) -> None:
        return None

    def data_to_send(self) -> bytes:
        return b""

    def datagrams_to_send(self) -> list[bytes]:
        return []

    def next_deadline(self) -> float | None:
        return None

    def handle_timer(self, now: float) -> None:
        return None


class Bus:
    """One HDLC line shared by several meters, used by one association at a time.

    ``url`` is a ``serial://``, ``serial+iec://`` or ``hdlc+tcp://`` target; ``iec`` the
    IEC 62056-21 settings for ``serial+iec://``; ``connect_timeout`` bounds opening the line.
    """

    def __init__(
        self, url: str | Target, *, iec: IecSettings | None = None, connect_timeout: float = 30.0
    ) -> None:
        self.target = parse_target(url)
        if not self.target.scheme.uses_hdlc:
            raise ValueError(
                f"{self.target} is not an HDLC line: a bus is serial://, serial+iec:// or "
                "hdlc+tcp:// (wrapper connections carry one meter each)"
            )
        self.iec = iec
        self.connect_timeout = connect_timeout
        self._driver: Driver | None = None
        self._lock = asyncio.Lock()
        self._holder: Client | None = None
        self._closed_error: AssociationError | None = None
        #: Associations made on this line so far.
        self.associations = 0

    async def open(self) -> Bus:
        """Open the line (and run the IEC opening for ``serial+iec://``)."""
        idle = _Idle()
        async with asyncio.timeout(self.connect_timeout):
            if self.target.scheme.is_serial:
                self._driver = await open_serial(
                    self.target, idle, on_connection_lost=self._lost, iec=self.iec
                )
            else:
                assert self.target.host is not None and self.target.port is not None
                _, protocol = await asyncio.get_running_loop().create_connection(
                    lambda: Driver(idle, on_connection_lost=self._lost),
                    self.target.host,
                    self.target.port,
                )
                self._driver = protocol
        return self

    async def close(self) -> None:
        """Close the line (wait for the meter holding it to finish first)."""
        async with self._lock:
            driver, self._driver = self._driver, None
            if driver is not None:
                driver.close()

    async def __aenter__(self) -> Bus:
        return await self.open()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def connect(self, **options: Any) -> HeldAssociation:
        """An association with one meter on the line: ``async with bus.connect(
        link=LinkSettings(physical_address=17), client=16, auth=...) as meter``. Takes the
        keywords of :func:`asyncdlms.connect` (the bus's ``iec`` unless ``link`` has its
        own); waits while another meter holds the line."""
        link: LinkSettings = options.pop("link", None) or LinkSettings()
        if link.iec is None and self.iec is not None:
            link = dataclasses.replace(link, iec=self.iec)
        meter = connect(self.target, link=link, **options).client
        meter.line = self
        return HeldAssociation(self._lock, meter)

    # -- the SharedLine protocol of Client ---------------------------------------------------

    def attach(self, client: Client) -> Driver:
        """Give the line to ``client`` (called by the client when it opens)."""
        if self._driver is None:
            raise self._closed_error or AssociationError(f"the bus {self.target} is not open")
        self._holder = client
        self._driver.rebind(client.session, client._take_events, client._connection_lost)
        self.associations += 1
        return self._driver

    def detach(self, driver: Driver) -> None:
        """Take the line back (called by the client when it closes)."""
        self._holder = None
        if self._driver is not None:
            driver.rebind(_Idle(), lambda: None, self._lost)

    def _lost(self, exc: Exception | None) -> None:
        self._closed_error = AssociationError(
            f"the bus {self.target} was closed" + (f": {exc}" if exc else "")
        )
        self._driver = None


class HeldAssociation:
    """``async with ... as meter``: an association on a line that carries one at a time (a
    bus, a connection a meter opened): ``lock`` is held from before the association opens
    until it is closed."""

    def __init__(self, lock: asyncio.Lock, meter: Client) -> None:
        self.lock = lock
        self.meter = meter

    async def __aenter__(self) -> Client:
        await self.lock.acquire()
        try:
            return await self.meter.open()
        except BaseException:
            self.lock.release()
            raise

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.meter.close()
        finally:
            self.lock.release()
