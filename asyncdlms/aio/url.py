"""Meter targets as URLs, so that fleets can be listed in files.

=============================== ==============================================================
``tcp://host:4059``              TCP with the IEC 62056-47 wrapper
``udp://host:4059``              UDP with the wrapper, one APDU per datagram
``hdlc+tcp://host:port``         HDLC through a terminal server or gateway
``serial:///dev/ttyUSB0``        HDLC on a serial line (RS-485, direct cable); ``?baud=9600``
``serial+iec:///dev/ttyUSB0``    IEC 62056-21 mode E opening first (optical probe), then HDLC
=============================== ==============================================================

Query options: ``baud`` (serial, default 9600), ``parity`` (``N``/``E``/``O``), ``data_bits``,
``stop_bits``. Anything else is an error, so a typo is not silently ignored.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from ..errors import DlmsError

__all__ = ["InvalidTargetError", "Scheme", "Target", "parse_target"]

DEFAULT_WRAPPER_PORT = 4059


class InvalidTargetError(DlmsError, ValueError):
    """A target URL that cannot be used; the message says why and shows the accepted forms."""


class Scheme(enum.Enum):
    """How a meter is reached."""

    TCP = "tcp"
    UDP = "udp"
    HDLC_TCP = "hdlc+tcp"
    SERIAL = "serial"
    SERIAL_IEC = "serial+iec"

    @property
    def uses_hdlc(self) -> bool:
        """True for the HDLC transports, false for the wrapper ones."""
        return self in (Scheme.HDLC_TCP, Scheme.SERIAL, Scheme.SERIAL_IEC)

    @property
    def is_serial(self) -> bool:
        """True for serial lines."""
        return self in (Scheme.SERIAL, Scheme.SERIAL_IEC)


@dataclass(frozen=True, slots=True)
class Target:
    """A parsed target: ``host``/``port`` for network schemes, ``device`` for serial ones."""

    scheme: Scheme
    host: str | None = None
    port: int | None = None
    device: str | None = None
    baud_rate: int = 9600
    data_bits: int = 8
    parity: str = "N"
    stop_bits: int = 1

    def __str__(self) -> str:
        if self.scheme.is_serial:
            return f"{self.scheme.value}://{self.device}"
        host = f"[{self.host}]" if self.host and ":" in self.host else self.host
        return f"{self.scheme.value}://{host}:{self.port}"


_FORMS = (
    "tcp://HOST[:PORT], udp://HOST[:PORT], hdlc+tcp://HOST:PORT, serial:///DEVICE[?baud=N], "
    "serial+iec:///DEVICE"
)
_SERIAL_OPTIONS = {"baud", "parity", "data_bits", "stop_bits"}


def parse_target(url: str | Target) -> Target:
    """Parse a target URL (see the module documentation); a :class:`Target` passes through."""
    if isinstance(url, Target):
        return url
    try:
        parts = urlsplit(url.strip())
        scheme = Scheme(parts.scheme.lower())
    except ValueError:
        raise InvalidTargetError(f"unknown target {url!r}; use {_FORMS}") from None
    try:
        options = dict(parse_qsl(parts.query, keep_blank_values=True, strict_parsing=False))
        port = parts.port
    except ValueError as exc:
        raise InvalidTargetError(f"invalid target {url!r}: {exc}") from None
    if scheme.is_serial:
        device = parts.path or parts.netloc
        if parts.netloc and parts.path:
            device = "//" + parts.netloc + parts.path  # e.g. a Windows share; kept as given
        if not device:
            raise InvalidTargetError(f"{url!r} names no serial device; use {_FORMS}")
        unknown = set(options) - _SERIAL_OPTIONS
        if unknown:
            raise InvalidTargetError(
                f"unknown option(s) {', '.join(sorted(unknown))} in {url!r}; serial targets "
                f"take {', '.join(sorted(_SERIAL_OPTIONS))}"
            )
        try:
            baud = int(options.get("baud", "9600"))
            data_bits = int(options.get("data_bits", "8"))
            stop_bits = int(options.get("stop_bits", "1"))
        except ValueError as exc:
            raise InvalidTargetError(f"invalid number in {url!r}: {exc}") from None
        parity = options.get("parity", "N").upper()
        if parity not in ("N", "E", "O") or data_bits not in (7, 8) or stop_bits not in (1, 2):
            raise InvalidTargetError(
                f"invalid line settings in {url!r}: parity N/E/O, data_bits 7/8, stop_bits 1/2"
            )
        if baud <= 0:
            raise InvalidTargetError(f"invalid baud rate {baud} in {url!r}")
        return Target(scheme, device=device, baud_rate=baud, data_bits=data_bits,
                      parity=parity, stop_bits=stop_bits)  # fmt: skip
    if options:
        raise InvalidTargetError(f"{scheme.value} targets take no options: {url!r}")
    if not parts.hostname:
        raise InvalidTargetError(f"{url!r} names no host; use {_FORMS}")
    if port is None:
        if scheme is Scheme.HDLC_TCP:
            raise InvalidTargetError(
                f"{url!r} needs a port: HDLC gateways and terminal servers have no standard one"
            )
        port = DEFAULT_WRAPPER_PORT
    return Target(scheme, host=parts.hostname, port=port)
