"""Serial lines through pyserial-asyncio, with the IEC 62056-21 mode E opening when asked.

:func:`open_serial` opens the device of a ``serial://`` or ``serial+iec://`` target and returns
a :class:`~asyncdlms.aio.driver.Driver` running the given machine (an HDLC link or a session
over one). For ``serial+iec://`` it first runs :class:`~asyncdlms.iec62056_21.ModeEOpener` at
300 baud 7E1, applies each line change the opener asks for to the port, and hands the line to
the machine once the meter runs at the agreed baud rate, 8N1.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import serial
import serial_asyncio

from ..iec62056_21 import (
    HandshakeComplete,
    HandshakeFailed,
    IecHandshakeError,
    IecSettings,
    LineSettings,
    ModeEOpener,
    Parity,
)
from .driver import Driver, SansIoMachine, Trace
from .url import Scheme, Target

__all__ = ["apply_line_settings", "open_serial"]

_PARITY = {"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN, "O": serial.PARITY_ODD}


def apply_line_settings(transport: asyncio.BaseTransport, settings: LineSettings) -> None:
    """Change the serial port behind ``transport`` (a pyserial-asyncio transport) now.

    A port that cannot do 7 data bits with parity (many USB adapters, pseudo-terminals) is
    left at 8N1: the IEC opener sends the parity bit itself and ignores it on receipt, which
    is the same on the wire.
    """
    port: Any = getattr(transport, "serial", None)
    if port is None:
        raise IecHandshakeError("the transport is not a serial port; cannot change baud rate")
    port.baudrate = settings.baud_rate
    port.stopbits = serial.STOPBITS_ONE if settings.stop_bits == 1 else serial.STOPBITS_TWO
    if settings.data_bits == 7 and settings.parity is Parity.EVEN:
        try:
            port.bytesize = serial.SEVENBITS
            port.parity = serial.PARITY_EVEN
            return
        except Exception:  # termios.error, OSError, ValueError, SerialException
            pass  # the port refuses 7E1: fall through to 8N1, parity in software
    port.bytesize = serial.EIGHTBITS
    port.parity = serial.PARITY_NONE


async def open_serial(
    target: Target,
    machine: SansIoMachine,
    *,
    on_progress: Callable[[], None] = lambda: None,
    on_connection_lost: Callable[[Exception | None], None] | None = None,
    iec: IecSettings | None = None,
    trace: Trace | None = None,
    redact: Callable[[bytes], bytes] | None = None,
    handshake_timeout: float = 30.0,
) -> Driver:
    """Open the serial line of ``target`` and drive ``machine`` over it.

    For ``serial+iec://`` targets the IEC 62056-21 mode E opening runs first (settings
    ``iec``); :class:`~asyncdlms.iec62056_21.IecHandshakeError` if it fails, or if it takes
    longer than ``handshake_timeout`` seconds in all.
    """
    if not target.scheme.is_serial or target.device is None:
        raise ValueError(f"{target} is not a serial target")
    loop = asyncio.get_running_loop()
    progress = asyncio.Event()
    with_iec = target.scheme is Scheme.SERIAL_IEC
    opener = ModeEOpener(iec) if with_iec else None

    def progressed() -> None:
        progress.set()
        if driver.machine is machine:
            on_progress()

    def connection_lost(exc: Exception | None) -> None:
        progress.set()
        if on_connection_lost is not None:
            on_connection_lost(exc)

    first_machine: SansIoMachine = machine if opener is None else _OpenerMachine(opener)
    driver = Driver(
        first_machine,
        on_progress=progressed,
        on_connection_lost=connection_lost,
        trace=trace,
        redact=redact,
    )
    if opener is None:
        await serial_asyncio.create_serial_connection(
            loop, lambda: driver, target.device, baudrate=target.baud_rate,
            bytesize=serial.SEVENBITS if target.data_bits == 7 else serial.EIGHTBITS,
            parity=_PARITY[target.parity],
            stopbits=serial.STOPBITS_ONE if target.stop_bits == 1 else serial.STOPBITS_TWO,
        )  # fmt: skip
        return driver
    transport, _ = await serial_asyncio.create_serial_connection(
        loop, lambda: driver, target.device, baudrate=300
    )  # 7E1 is applied by the opener's first LineSettings (or emulated; see above)
    try:
        async with asyncio.timeout(handshake_timeout):
            opener.start(loop.time())
            while True:
                for event in opener.events():
                    if isinstance(event, LineSettings):
                        apply_line_settings(transport, event)
                    elif isinstance(event, HandshakeFailed):
                        raise event.error
                    elif isinstance(event, HandshakeComplete):
                        driver.replace_machine(machine)
                        return driver
                driver.flush()
                progress.clear()
                if not driver.closed.done():
                    await progress.wait()  # on_connection_lost below sets it too
                if driver.closed.done():
                    raise IecHandshakeError(
                        f"the serial line {target.device} closed during the IEC 62056-21 opening"
                    )
    except TimeoutError:
        driver.close()
        raise IecHandshakeError(
            f"the IEC 62056-21 opening on {target.device} took longer than {handshake_timeout} s"
        ) from None
    except BaseException:
        driver.close()
        raise


class _OpenerMachine:
    """Adapts the opener to the driver's machine interface (it has no datagrams)."""

    def __init__(self, opener: ModeEOpener) -> None:
        self.opener = opener

    def receive_data(self, data: bytes, now: float) -> None:
        self.opener.receive_data(data, now)

    def data_to_send(self) -> bytes:
        return self.opener.data_to_send()

    def datagrams_to_send(self) -> list[bytes]:
        data = self.opener.data_to_send()
        return [data] if data else []

    def next_deadline(self) -> float | None:
        return self.opener.next_deadline()

    def handle_timer(self, now: float) -> None:
        self.opener.handle_timer(now)
