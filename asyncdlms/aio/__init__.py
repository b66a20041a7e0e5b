"""asyncio adapters: the driver that runs sans-IO machines over transports, target URLs,
serial lines with the IEC 62056-21 opening. The awaitable client comes with the session."""

from __future__ import annotations

from .bus import Bus
from .driver import Driver, SansIoMachine, Trace, hex_trace_logger, redactor
from .link_settings import LinkSettings
from .serial import apply_line_settings, open_serial
from .url import InvalidTargetError, Scheme, Target, parse_target

__all__ = [
    "Bus",
    "Driver",
    "InvalidTargetError",
    "LinkSettings",
    "SansIoMachine",
    "Scheme",
    "Target",
    "Trace",
    "apply_line_settings",
    "hex_trace_logger",
    "open_serial",
    "parse_target",
    "redactor",
]
