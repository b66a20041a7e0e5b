"""One-meter commands: ``read``, ``write``, ``action``.

::

    asyncdlms read URL CLASS/OBIS/ATTRIBUTE...        e.g. 3/1.0.1.8.0.255/2
    asyncdlms write URL CLASS/OBIS/ATTRIBUTE VALUE    VALUE as TYPE:TEXT (see parse_value)
    asyncdlms action URL CLASS/OBIS/METHOD [VALUE]
    asyncdlms read URL sn:0x0108 --referencing sn     a short name (SN meters)

Common options, the same for ``objects``, ``profile`` and ``poll``
(:func:`add_association_options`; each also from an environment variable, so secrets need
not be typed on a command line): ``--client`` (ASYNCDLMS_CLIENT), ``--server``
(ASYNCDLMS_SERVER), ``--physical`` (ASYNCDLMS_PHYSICAL), ``--auth`` (ASYNCDLMS_AUTH), ``--password``
(ASYNCDLMS_PASSWORD), ``--timeout``, ``--trace`` (frames in hex on standard error, the
password masked), ``--json``.

Ciphering: ``--security none|auth|enc|ae`` (ASYNCDLMS_SECURITY), ``--system-title HEX``
(ASYNCDLMS_SYSTEM_TITLE, ours), ``--block-cipher-key HEX`` (ASYNCDLMS_BLOCK_CIPHER_KEY),
``--auth-key HEX`` (ASYNCDLMS_AUTH_KEY), ``--dedicated-key``, ``--read-frame-counter
[INSTANCE]`` (read 0.0.43.1.INSTANCE.255 on the public association first),
``--allow-repeated-counters`` (servers that never increment their counter). ``--auth gmac``
needs the keys too. Keys are never printed; a wrong key fails with "authentication tag
mismatch — check the authentication key / block cipher key / system title".

Short-name meters: ``--referencing sn`` (ASYNCDLMS_REFERENCING) associates with short-name
referencing; ``CLASS/OBIS/NUMBER`` targets are then mapped to short names from the meter's
object list (read first), and a target may name a short name directly as ``sn:0x0108``
(hex or decimal: an attribute to read or write, a method to invoke). ``write --unconfirmed``
sends an UnconfirmedWriteRequest (no answer).

Output is a readable tree by default; ``--json`` prints JSON: integers and floats as numbers,
octet strings as hex, date-times as ISO 8601, structures and arrays as lists, bit strings as
``"0101"``, errors as ``{"error": "object-undefined"}``. A failure prints one line naming
the cause and exits with status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import json
import os
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .. import axdr
from ..aio.client import AUTHENTICATION_NAMES, Client
from ..aio.connect import connect
from ..aio.loop import run as run_loop
from ..aio.options import connect_keywords
from ..aio.short_name import REFERENCING_NAMES
from ..cosem.short_names import format_short_name, parse_short_name
from ..errors import DlmsError, RequestTimeoutError
from ..iec62056_21 import IecSettings
from ..obis import Obis
from ..types import (
    BitString,
    Date,
    DateTime,
    Time,
)
from ..types import values as v
from ..types.clock import DeviationSign
from .counters import add_counter_store_option, counter_store
from .suites import add_suite_options, suite_security

__all__ = [
    "ShortNameReference",
    "add_association_options",
    "add_meter_commands",
    "association_options",
    "connect_options",
    "parse_target_reference",
    "parse_value",
    "to_json",
]


@dataclass(frozen=True, slots=True)
class Reference:
    """``CLASS/OBIS/NUMBER``: an attribute (read, write) or a method (action)."""

    class_id: int
    obis: Obis
    number: int

    def __str__(self) -> str:
        return f"{self.class_id}/{self.obis}/{self.number}"


@dataclass(frozen=True, slots=True)
class ShortNameReference:
    """``sn:0x0108``: a short name (SN referencing), an attribute or a method."""

    short_name: int

    def __str__(self) -> str:
        return f"sn:{format_short_name(self.short_name)}"


def parse_target_reference(text: str) -> Reference | ShortNameReference:
    """Parse ``CLASS/OBIS/NUMBER`` (e.g. ``3/1.0.1.8.0.255/2``) or ``sn:SHORT_NAME`` (e.g.
    ``sn:0xFA08``, SN referencing)."""
    if text.lower().startswith("sn:"):
        try:
            return ShortNameReference(parse_short_name(text[3:]))
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    parts = text.split("/")
    if len(parts) != 3:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not CLASS/OBIS/NUMBER (e.g. 3/1.0.1.8.0.255/2) or sn:SHORT_NAME"
        )
    try:
        return Reference(int(parts[0]), Obis(parts[1]), int(parts[2]))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None


_INTEGER_TYPES: dict[str, type[v.TypedInteger]] = {
    "i8": v.Integer, "i16": v.Long, "i32": v.DoubleLong, "i64": v.Long64,
    "u8": v.Unsigned, "u16": v.LongUnsigned, "u32": v.DoubleLongUnsigned,
    "u64": v.Long64Unsigned, "enum": v.Enum,
}  # fmt: skip


def parse_value(text: str) -> Any:
    """A value for ``write``/``action`` from ``TYPE:TEXT``.

    Types: ``null``, ``bool:true``, ``i8``/``i16``/``i32``/``i64``, ``u8``/``u16``/``u32``/
    ``u64``, ``enum``, ``f32``/``f64``, ``os:HEX`` (octet-string), ``vs:TEXT``
    (visible-string), ``utf8:TEXT``, ``bits:0101``, ``dt:ISO`` (a date-time as the 12-byte
    octet-string COSEM attributes use, e.g. ``dt:2024-03-01T12:00:00+01:00``), and
    ``axdr:HEX`` for any value given as its A-XDR encoding (structures, arrays...).
    """
    kind, _, rest = text.partition(":")
    kind = kind.lower()
    try:
        if kind == "null" and not rest:
            return None
        if kind == "bool" and rest.lower() in ("true", "false", "1", "0"):
            return rest.lower() in ("true", "1")
        if kind in _INTEGER_TYPES:
            return _INTEGER_TYPES[kind](int(rest, 0))
        if kind == "f32":
            return v.Float32(float(rest))
        if kind == "f64":
            return v.Float64(float(rest))
        if kind == "os":
            return v.OctetString(bytes.fromhex(rest))
        if kind == "vs":
            return v.VisibleString(rest)
        if kind == "utf8":
            return v.Utf8String(rest)
        if kind == "bits":
            return BitString.from_bits(rest)
        if kind == "dt":
            return v.OctetString(DateTime.from_datetime(dt.datetime.fromisoformat(rest)).to_bytes())
        if kind == "axdr":
            return axdr.decode(bytes.fromhex(rest))
    except (ValueError, DlmsError) as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None
    raise argparse.ArgumentTypeError(
        f"{text!r} is not TYPE:VALUE; types: null, bool, i8..i64, u8..u64, enum, f32, f64, "
        "os (hex), vs, utf8, bits, dt (ISO 8601), axdr (hex)"
    )


def to_json(value: Any) -> Any:
    """A decoded value as JSON-ready Python data (see the module documentation)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, Decimal):  # a scaled quantity: a JSON number, exact when whole
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, DateTime | Date | Time):
        try:
            if isinstance(value, DateTime):
                return value.to_datetime().isoformat()
            if isinstance(value, Date):
                return value.to_date().isoformat()
            return value.to_time().isoformat()
        except DlmsError:
            return str(value)
    if isinstance(value, BitString):
        return str(value)
    if isinstance(value, v.CompactArray):
        return [to_json(item) for item in value.elements]
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    if isinstance(value, DlmsError):
        result = getattr(value, "result", None)
        name = getattr(result, "standard_name", None)
        return {"error": name or str(value)}
    return str(value)


def _render(value: Any, as_json: bool) -> str:
    if as_json:
        return json.dumps(to_json(value))
    if isinstance(value, DlmsError):
        return f"error: {value}"
    return axdr.describe(value)


def _add_common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "url", help="tcp://HOST:PORT, hdlc+tcp://, udp://, serial://, serial+iec://"
    )
    add_association_options(parser)
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="seconds for the whole call: association and requests "
                             "(default 10)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print JSON")


def add_association_options(parser: argparse.ArgumentParser, *, fleet: bool = False) -> None:
    """The options saying how to associate with a meter, one spelling for every command
    (``read``, ``write``, ``action``, ``objects``, ``profile``, ``poll``); each default from
    an ``ASYNCDLMS_*`` environment variable where one is named. With ``fleet`` (``poll``)
    an option not given is left out (None), so each meter keeps its fleet file's value or
    :func:`asyncdlms.connect`'s default; :func:`connect_options` turns them into keywords."""
    env = os.environ.get

    def default(variable: str | None, value: Any, kind: Callable[[str], Any] = str) -> Any:
        text = env(variable) if variable else None
        if text is not None:
            return kind(text)
        return None if fleet else value

    title = "association" + (" (where the fleet file says nothing else)" if fleet else "")
    group = parser.add_argument_group(title)
    add = group.add_argument
    simulated = "; poll --simulate: 17 with low, 18 with HLS" if fleet else ""
    add("--client", type=int, default=default("ASYNCDLMS_CLIENT", 16, int),
        help=f"client SAP (default 16, public{simulated}; env ASYNCDLMS_CLIENT)")  # fmt: skip
    add("--server", type=int, default=default("ASYNCDLMS_SERVER", 1, int),
        help="server logical address (default 1; env ASYNCDLMS_SERVER)")  # fmt: skip
    add("--physical", type=int, default=default("ASYNCDLMS_PHYSICAL", None, int),
        help="HDLC physical (lower) server address (env ASYNCDLMS_PHYSICAL)")  # fmt: skip
    add("--auth", choices=sorted(AUTHENTICATION_NAMES), default=default("ASYNCDLMS_AUTH", "none"),
        help=f"authentication (default none{'; poll --simulate: low' if fleet else ''}; "
             "env ASYNCDLMS_AUTH); sha256 needs --system-title, ecdsa --signing-key "
             "and --server-certificate")  # fmt: skip
    add("--password", default=default("ASYNCDLMS_PASSWORD", None),
        help="LLS password or HLS secret (better: env ASYNCDLMS_PASSWORD)")  # fmt: skip
    add("--security", choices=("none", "auth", "enc", "ae"),
        default=default("ASYNCDLMS_SECURITY", "none"),
        help="ciphering: authentication, encryption or both (ae; env "
             "ASYNCDLMS_SECURITY)")  # fmt: skip
    add("--system-title", default=default("ASYNCDLMS_SYSTEM_TITLE", None), metavar="HEX",
        help="our system title, 16 hex digits (env ASYNCDLMS_SYSTEM_TITLE)")  # fmt: skip
    add("--block-cipher-key", default=default("ASYNCDLMS_BLOCK_CIPHER_KEY", None), metavar="HEX",
        help="global unicast encryption key, 32 hex digits "
             "(better: env ASYNCDLMS_BLOCK_CIPHER_KEY)")  # fmt: skip
    add("--auth-key", metavar="HEX",
        default=default("ASYNCDLMS_AUTH_KEY", None),
        help="authentication key, 32 hex digits (better: env ASYNCDLMS_AUTH_KEY)")  # fmt: skip
    add("--dedicated-key", action="store_true",
        help="propose a dedicated key (security enc or ae)")  # fmt: skip
    add("--read-frame-counter", type=int, nargs="?", const=0, default=None, metavar="INSTANCE",
        help="first read the frame counter 0.0.43.1.INSTANCE.255 (default 0) "
             "on the public association")  # fmt: skip
    add("--allow-repeated-counters", action="store_true",
        help="accept answers repeating the meter's invocation counter")  # fmt: skip
    add_counter_store_option(group)
    add_suite_options(add, default)  # --suite, --signing-key, --server-certificate (suites.py)
    # meters that bend the rules (QUIRKS.md): the meter-specific settings
    add("--deviation-sign", choices=("standard", "inverted"), default=None if fleet else "standard",
        help="the meter's clock deviation convention (inverted: the other "
             "way round)")  # fmt: skip
    add("--with-list-chunk-size", type=int, default=None, metavar="N",
        help="attributes per GET with-list (default 10)")  # fmt: skip
    add("--pdu-size-margin", type=int, default=None, metavar="BYTES",
        help="accept APDUs this much over our max PDU (default 50)")  # fmt: skip
    add("--iec-ack-delay", type=float, default=None, metavar="S",
        help="serial+iec: pause before the ACK (default 0.2)")  # fmt: skip
    add("--iec-baud-switch-delay", type=float, default=None, metavar="S",
        help="serial+iec: pause after the ACK (default 0.3)")  # fmt: skip
    add("--iec-baud-character", action="append", default=[], metavar="CHAR=BAUD",
        help="serial+iec: a baud character outside 0-6 and A-F, e.g. "
             "9=9600 (repeatable)")  # fmt: skip
    add("--referencing", choices=REFERENCING_NAMES,
        default=default("ASYNCDLMS_REFERENCING", "ln"),
        help="ln: logical names (default); sn: short names, targets by OBIS mapped from the "
             "object list, or sn:0x0108 (env ASYNCDLMS_REFERENCING)")  # fmt: skip
    add("--trace", action="store_true", help="frames in hex on stderr")


def connect_options(args: argparse.Namespace) -> dict[str, Any]:
    """The :func:`asyncdlms.connect` keywords of :func:`add_association_options`' options
    (without the URL and the timeout): :func:`association_options` in the settings objects
    (:func:`~asyncdlms.aio.options.connect_keywords`)."""
    return connect_keywords(association_options(args))


def association_options(args: argparse.Namespace) -> dict[str, Any]:
    """:func:`add_association_options`' options by their flat names, those of fleet files
    (without the URL and the timeout); options left out (None) are not in it."""
    options: dict[str, Any] = {
        "client": args.client,
        "server": args.server,
        "physical_address": args.physical,
        "auth": args.auth,
        "password": args.password,
        "security": args.security,
        "system_title": args.system_title,
        "block_cipher_key": args.block_cipher_key,
        "authentication_key": args.auth_key,
        "with_list_chunk_size": args.with_list_chunk_size,
        "pdu_size_margin": args.pdu_size_margin,
        "iec": _iec_settings(args),
        "referencing": args.referencing,
    }
    if args.deviation_sign is not None:
        options["deviation_sign"] = DeviationSign[args.deviation_sign.upper()]
    if args.dedicated_key:
        options["dedicated_key"] = True
    if args.read_frame_counter is not None:
        options["read_frame_counter"] = True
        options["frame_counter_instance"] = args.read_frame_counter
    if args.allow_repeated_counters:
        options["allow_repeated_counters"] = True
    if args.trace:
        options["trace"] = _trace_to_stderr
    if (security := suite_security(args)) is not None:  # suites 1/2, HLS-ECDSA
        options["security"] = security  # it holds our system title and the keys
        for name in ("system_title", "block_cipher_key", "authentication_key"):
            del options[name]
    return {name: value for name, value in options.items() if value is not None}


def _trace_to_stderr(direction: str, data: bytes, now: float) -> None:
    print(f"{now:10.3f} {direction} {data.hex(' ')}", file=sys.stderr)


def _iec_settings(args: argparse.Namespace) -> IecSettings | None:
    extra: dict[str, int] = {}
    for item in args.iec_baud_character:
        character, _, rate = item.partition("=")
        if len(character) != 1 or not rate.isdigit():
            raise ValueError(f"--iec-baud-character wants CHAR=BAUD (e.g. 9=9600), not {item!r}")
        extra[character] = int(rate)
    delays = {
        name: value
        for name, value in (
            ("acknowledgement_delay", args.iec_ack_delay),
            ("baud_switch_delay", args.iec_baud_switch_delay),
        )
        if value is not None
    }
    if not extra and not delays:
        return None
    return IecSettings(extra_baud_characters=extra, **delays)


def _open(args: argparse.Namespace) -> Any:
    return connect(args.url, timeout=args.timeout, **connect_options(args))


def _run(args: argparse.Namespace, work: Callable[[Client], Coroutine[Any, Any, list[str]]]) -> int:
    async def session() -> list[str]:
        """Associate and work within ``--timeout`` in all (issue 13, item 5): past it the
        association is abandoned (no release answer awaited), so the call ends within the
        timeout and half a second."""
        deadline = asyncio.get_running_loop().time() + args.timeout
        meter: Client | None = None
        abandon = False
        try:
            async with asyncio.timeout_at(deadline):
                meter = await _open(args)
                return await work(meter)
        except TimeoutError:
            abandon = True
            raise RequestTimeoutError(
                f"{args.url}: nothing within --timeout {args.timeout:g} s (association and "
                "requests in all); give a longer --timeout for slow lines or long reads"
            ) from None
        finally:
            if meter is not None:
                await meter.close(abandon=abandon)

    try:
        with counter_store(args):
            lines = run_loop(session())
    except (DlmsError, OSError) as exc:
        print(f"asyncdlms {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:  # the options (a key that is no hex, a short system title...)
        print(f"asyncdlms {args.command}: {exc}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


def _typed(
    reference: Reference | ShortNameReference,
    value: Any,
    sign: DeviationSign = DeviationSign.STANDARD,
) -> Any:
    """An attribute the class table types as a date-time, given as its 12-byte octet-string
    (Clock time, capture times...), becomes a :class:`DateTime` so it prints as one; with
    ``--deviation-sign inverted`` its deviation is turned the standard way round."""
    from ..cosem.classes import interface_class

    if isinstance(value, bytes) and len(value) == 12 and isinstance(reference, Reference):
        try:
            definition = interface_class(reference.class_id).attribute(reference.number)
        except LookupError:
            return value
        if "date-time" not in definition.data_type or "array" in definition.data_type:
            return value
        value = DateTime.from_bytes(value)
    if isinstance(value, DateTime) and value.deviation is not None and sign < 0:
        return dataclasses.replace(value, deviation=-value.deviation)
    return value


def _command_read(args: argparse.Namespace) -> int:
    async def work(meter: Client) -> list[str]:
        references: list[Reference | ShortNameReference] = args.targets
        if len(references) == 1:
            r = references[0]
            if isinstance(r, ShortNameReference):
                value = await meter.read(r.short_name)
            else:
                value = await meter.get(r.class_id, r.obis, r.number)
            return [_render(_typed(r, value, meter.deviation_sign), args.json)]
        values = [
            _typed(r, v, meter.deviation_sign)
            for r, v in zip(references, await _read_many(meter, references), strict=True)
        ]
        if args.json:
            return [
                json.dumps({str(r): to_json(x) for r, x in zip(references, values, strict=True)})
            ]
        lines: list[str] = []
        for reference, value in zip(references, values, strict=True):
            lines.append(f"{reference}:")
            lines.extend("  " + line for line in _render(value, False).splitlines())
        return lines

    return _run(args, work)


async def _read_many(meter: Client, references: list[Reference | ShortNameReference]) -> list[Any]:
    """Values (or errors) of several targets: by OBIS in one GET with-list (or, on an SN
    meter, one ReadRequest), short names in one ReadRequest."""
    by_obis = [r for r in references if isinstance(r, Reference)]
    by_name = [r for r in references if isinstance(r, ShortNameReference)]
    found: dict[int, Any] = {}
    if by_obis:
        values = await meter.get_many([(r.class_id, r.obis, r.number) for r in by_obis])
        found.update((id(r), v) for r, v in zip(by_obis, values, strict=True))
    if by_name:
        values = await meter.read([r.short_name for r in by_name])
        found.update((id(r), v) for r, v in zip(by_name, values, strict=True))
    return [found[id(r)] for r in references]


def _command_write(args: argparse.Namespace) -> int:
    async def work(meter: Client) -> list[str]:
        r: Reference | ShortNameReference = args.target
        if isinstance(r, ShortNameReference):
            if args.unconfirmed:
                await meter.unconfirmed_write(r.short_name, args.value)
            else:
                await meter.write(r.short_name, args.value)
        elif args.unconfirmed:
            raise ValueError("--unconfirmed writes a short name: give the target as sn:0x...")
        else:
            await meter.set(r.class_id, r.obis, r.number, args.value)
        return [json.dumps({"written": str(r)}) if args.json else f"{r}: written"]

    return _run(args, work)


def _command_action(args: argparse.Namespace) -> int:
    async def work(meter: Client) -> list[str]:
        r: Reference | ShortNameReference = args.target
        if isinstance(r, ShortNameReference):
            result = await meter.invoke(r.short_name, args.value)
        else:
            result = await meter.action(r.class_id, r.obis, r.number, args.value)
        if args.json:
            return [json.dumps({"result": to_json(result)})]
        return [f"{r}: done" + ("" if result is None else "\n" + _render(result, False))]

    return _run(args, work)


def add_meter_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``read``, ``write`` and ``action`` to the command line."""
    read = commands.add_parser(
        "read", help="read attributes: CLASS/OBIS/ATTRIBUTE... (or sn:SHORT_NAME)"
    )
    _add_common_options(read)
    read.add_argument("targets", nargs="+", type=parse_target_reference, metavar="CLASS/OBIS/ATTR",
                      help="e.g. 3/1.0.1.8.0.255/2; with --referencing sn also a short name "
                           "sn:0x0108 (hex or decimal)")  # fmt: skip
    read.set_defaults(handler=_command_read)
    write = commands.add_parser(
        "write", help="write one attribute: CLASS/OBIS/ATTRIBUTE TYPE:VALUE"
    )
    _add_common_options(write)
    write.add_argument("target", type=parse_target_reference, metavar="CLASS/OBIS/ATTR",
                       help="e.g. 8/0.0.1.0.0.255/2, or sn:0x0408 (--referencing sn)")  # fmt: skip
    write.add_argument("value", type=parse_value, metavar="TYPE:VALUE")
    write.add_argument("--unconfirmed", action="store_true",
                       help="an UnconfirmedWriteRequest of an sn: target (no answer)")  # fmt: skip
    write.set_defaults(handler=_command_write)
    action = commands.add_parser("action", help="invoke a method: CLASS/OBIS/METHOD [TYPE:VALUE]")
    _add_common_options(action)
    action.add_argument("target", type=parse_target_reference, metavar="CLASS/OBIS/METHOD",
                        help="e.g. 70/0.0.96.3.10.255/1, or the method's short name sn:0x0F20 "
                             "(--referencing sn)")  # fmt: skip
    action.add_argument("value", type=parse_value, nargs="?", default=None, metavar="TYPE:VALUE")
    action.set_defaults(handler=_command_action)
