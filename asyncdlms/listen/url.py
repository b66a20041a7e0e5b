"""Where a listener receives pushes, as a URL.

=================================== ==========================================================
``tcp://HOST:PORT``                  meters connect and send wrapper-framed pushes (IEC 62056-47)
``hdlc+tcp://HOST:PORT``             HDLC-framed pushes over TCP (a gateway, a terminal server)
``udp://HOST:PORT``                  wrapper datagrams
``serial:///dev/ttyUSB0``            a HAN / customer port: HDLC frames, receive only, no SNRM
``mbus+serial:///dev/ttyUSB0``       M-Bus long frames (EN 13757-2) with the DLMS/COSEM
                                     transport layer's segmentation (Austrian customer ports)
``file:///path/to/capture.bin``      the bytes of a file, then the listener ends
``file:-``                           standard input likewise
=================================== ==========================================================

Serial query options: ``baud`` (default 2400, the usual HAN speed; 9600 or 115200 on many
meters), ``parity`` (``N``, ``E`` or ``O``; default ``N``, ``E`` for M-Bus), ``data_bits``,
``stop_bits``. ``file:`` takes ``framing`` (``hdlc``, ``wrapper``, ``mbus`` or ``apdu``;
default ``hdlc``). Anything else is an error, so a typo is not silently ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import get_args
from urllib.parse import parse_qsl, urlsplit

from ..aio.url import InvalidTargetError, Scheme, Target
from .receiver import Framing

__all__ = ["ListenTarget", "parse_listen_url"]

_FORMS = (
    "tcp://HOST:PORT, hdlc+tcp://HOST:PORT, udp://HOST:PORT, serial:///dev/X?baud=2400, "
    "mbus+serial:///dev/X?baud=2400, file:///PATH?framing=hdlc or file:- (standard input)"
)
_FRAMING_OF_SCHEME: dict[str, Framing] = {
    "tcp": "wrapper",
    "udp": "wrapper",
    "hdlc+tcp": "hdlc",
    "serial": "hdlc",
    "mbus+serial": "mbus",
}


@dataclass(frozen=True, slots=True)
class ListenTarget:
    """A parsed listener URL: ``scheme``; ``host``/``port`` for the network ones; ``serial``
    (a serial :class:`~asyncdlms.aio.url.Target`) for the serial ones; ``path`` for
    ``file:`` (``-``: standard input); and the ``framing`` the pushes arrive in."""

    scheme: str
    framing: Framing
    host: str | None = None
    port: int | None = None
    serial: Target | None = None
    path: str | None = None

    @property
    def is_stream_server(self) -> bool:
        """TCP: meters connect to us, each connection its own source."""
        return self.scheme in ("tcp", "hdlc+tcp")

    def __str__(self) -> str:
        if self.host is not None:
            return f"{self.scheme}://{self.host}:{self.port}"
        if self.serial is not None:
            return f"{self.scheme}://{self.serial.device}?baud={self.serial.baud_rate}"
        return f"file:{self.path}?framing={self.framing}"


def _bad(url: str, why: str) -> InvalidTargetError:
    return InvalidTargetError(f"cannot listen on {url!r}: {why} (use {_FORMS})")


def parse_listen_url(url: str) -> ListenTarget:
    """Parse a listener URL (see the module documentation); raises
    :class:`~asyncdlms.aio.url.InvalidTargetError` naming what is wrong."""
    if url == "-":
        url = "file:-"
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    if scheme in ("tcp", "udp", "hdlc+tcp"):
        if options:
            raise _bad(url, f"no query options for {scheme}://, got {', '.join(options)}")
        try:
            port = parts.port
        except ValueError:
            raise _bad(url, "the port is not a number 0..65535") from None
        if port is None or not parts.hostname:
            raise _bad(url, f"{scheme}:// needs HOST:PORT (port 0: chosen by the system)")
        return ListenTarget(scheme, _FRAMING_OF_SCHEME[scheme], host=parts.hostname, port=port)
    if scheme in ("serial", "mbus+serial"):
        device = parts.path or parts.netloc
        if not device:
            raise _bad(url, f"{scheme}:// needs a device, e.g. {scheme}:///dev/ttyUSB0")
        unknown = set(options) - {"baud", "parity", "data_bits", "stop_bits"}
        if unknown:
            raise _bad(url, f"unknown option {', '.join(sorted(unknown))}")
        parity = options.get("parity", "E" if scheme == "mbus+serial" else "N").upper()
        if parity not in ("N", "E", "O"):
            raise _bad(url, f"parity is N, E or O, not {parity!r}")
        try:
            baud = int(options.get("baud", "2400"))
            data_bits = int(options.get("data_bits", "8"))
            stop_bits = int(options.get("stop_bits", "1"))
        except ValueError:
            raise _bad(url, "baud, data_bits and stop_bits are numbers") from None
        if baud <= 0 or data_bits not in (7, 8) or stop_bits not in (1, 2):
            raise _bad(url, "baud > 0, data_bits 7 or 8, stop_bits 1 or 2")
        serial = Target(
            Scheme.SERIAL,
            device=device,
            baud_rate=baud,
            parity=parity,
            data_bits=data_bits,
            stop_bits=stop_bits,
        )
        return ListenTarget(scheme, _FRAMING_OF_SCHEME[scheme], serial=serial)
    if scheme == "file":
        path = parts.path or parts.netloc
        if not path:
            raise _bad(url, "file: needs a path (or - for standard input)")
        unknown = set(options) - {"framing"}
        if unknown:
            raise _bad(url, f"unknown option {', '.join(sorted(unknown))}")
        framing = options.get("framing", "hdlc")
        if framing not in get_args(Framing):
            raise _bad(url, f"framing is one of {', '.join(get_args(Framing))}, not {framing!r}")
        return ListenTarget("file", framing, path=path)  # type: ignore[arg-type]
    raise _bad(url, f"unknown scheme {parts.scheme!r}" if parts.scheme else "no scheme")
