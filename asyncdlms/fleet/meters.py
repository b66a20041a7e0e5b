"""The meters of a fleet: a :class:`Meter` per meter (URL + association options: the keywords
of :func:`asyncdlms.connect` or their flat names, see :mod:`asyncdlms.aio.options`), from code
or from a TOML, CSV or JSON fleet file.

TOML::

    [defaults]                 # for every meter (each meter may override)
    client = 17
    auth = "low"
    password_env = "METER_PASSWORD"   # KEY_env: the value from that environment variable
    timeout = 10               # seconds per request

    counter_store = "counters.json"   # optional: the invocation counter store of this
                               # fleet (relative to the file), for `asyncdlms poll`

    [plan]                     # optional: what to read (see asyncdlms.fleet.plan)
    read = ["register:1.0.1.8.0.255", "clock", "profile:1.0.99.1.0.255"]
    history = "2d"             # optional: the first profile read of a meter goes back 2 days

    [[meter]]
    name = "substation-7"
    url = "tcp://10.0.0.7:4059"

    [[meter]]
    url = "hdlc+tcp://gw.example:10001"
    physical_address = 17      # meters on one gateway are read one at a time
    bus = "rs485-line-3"       # or name the bus yourself (false: not on a shared bus)

    [[meter]]
    url = "tcp://10.0.0.9:4059"
    referencing = "sn"         # a short-name meter: OBIS items mapped from its object list

JSON: the same as an object (``{"defaults": {...}, "plan": {...}, "meters": [...]}``) or
just the list of meters. CSV: a header row naming the fields (``url`` required; ``name``,
``client``, ``server``, ``physical_address``, ``auth``, ``password_env``, ``timeout``,
``bus``, any other association option), one meter per line, an empty cell
for the default. Errors name the file, line and field.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..aio.short_name import REFERENCING_NAMES
from ..aio.url import InvalidTargetError, Scheme, parse_target
from .plan import DEFAULT_PLAN, ReadPlan, parse_plan_item

__all__ = ["FleetFile", "FleetFileError", "Meter", "load_fleet", "parse_fleet"]

_INTEGERS = {"client", "server", "physical_address", "retries", "frame_counter_instance",
             "public_client", "with_list_chunk_size", "pdu_size_margin",
             "max_receive_pdu_size"}  # fmt: skip
_FLOATS = {"timeout", "inactivity_timeout", "response_timeout", "deadline"}
_BOOLEANS = {"dedicated_key", "read_frame_counter", "allow_repeated_counters"}
_OWN = {"url", "name", "bus", "deadline"}
_CHOICES = {
    "referencing": REFERENCING_NAMES,  # short-name meters: referencing = "sn"
    "deviation_sign": ("standard", "inverted"),
}


@dataclass(frozen=True, slots=True)
class Meter:
    """One meter: ``url`` and its association ``options``: the keywords of
    :func:`asyncdlms.connect` (``client``, ``server``, ``auth``, ``password``, ``timeout``,
    ciphering keys, ``link``, ``settings``...) or the flat names of fleet files for what
    connect takes in its settings objects (``physical_address``, ``referencing``,
    ``dedicated_key``...: :mod:`asyncdlms.aio.options`, folded in when the poller connects).

    - ``name``: how results name it (default: the URL with its addresses);
    - ``bus``: meters with the same bus key are read one association at a time (a serial
      line, a gateway in front of an RS-485 line). ``True`` (default) derives it: the
      device for ``serial://``, ``host:port`` for ``hdlc+tcp://``, none for the wrapper
      (every meter has its own connection); ``False`` for none; a string names it;
    - ``deadline``: seconds one attempt on this meter may take in all (connect, every
      read, release); ``None`` for the poller's.
    """

    url: str
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    name: str = ""
    bus: str | bool = True
    deadline: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", MappingProxyType(dict(self.options)))
        if not self.name:
            server = self.options.get("server", 1)
            link = self.options.get("link")
            physical = self.options.get("physical_address", getattr(link, "physical_address", None))
            suffix = f"/{server}" + (f"/{physical}" if physical is not None else "")
            object.__setattr__(self, "name", self.url + suffix)

    @property
    def bus_key(self) -> str | None:
        """The shared bus this meter is on (see ``bus``), or None."""
        if isinstance(self.bus, str):
            return self.bus
        if not self.bus:
            return None
        target = parse_target(self.url)
        if target.scheme.is_serial:
            return f"serial:{target.device}"
        if target.scheme is Scheme.HDLC_TCP:
            return f"{target.host}:{target.port}"
        return None

    def __str__(self) -> str:
        return self.name


class FleetFileError(ValueError):
    """A fleet file that cannot be used; the message names the file, line and field."""


@dataclass(frozen=True, slots=True)
class FleetFile:
    """What a fleet file gives: the meters, the read plan (its own or the default) and the
    invocation counter store it names, if any (a path; relative ones are resolved against
    the file's folder by :func:`load_fleet`)."""

    meters: tuple[Meter, ...]
    plan: ReadPlan
    counter_store: str | None = None


def load_fleet(
    path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None
) -> FleetFile:
    """Read a fleet file (``.toml``, ``.csv`` or ``.json``, by its suffix)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FleetFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    fleet = parse_fleet(text, path.suffix.lstrip(".").lower(), name=str(path), environ=environ)
    store = fleet.counter_store
    if store is not None and store != "memory" and not Path(store).expanduser().is_absolute():
        fleet = replace(fleet, counter_store=str(path.parent / store))
    return fleet


def parse_fleet(
    text: str, kind: str, *, name: str = "<fleet>", environ: Mapping[str, str] | None = None
) -> FleetFile:
    """Parse fleet file contents; ``kind`` is ``toml``, ``csv`` or ``json``."""
    environ = os.environ if environ is None else environ
    if kind == "toml":
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise FleetFileError(f"{name}: {exc}") from None
        return _from_document(document, name, "meter", environ)
    if kind == "json":
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FleetFileError(f"{name} line {exc.lineno}: {exc.msg}") from None
        if isinstance(document, list):
            document = {"meters": document}
        if not isinstance(document, dict):
            raise FleetFileError(f"{name}: a fleet is an object with 'meters' or a list")
        return _from_document(document, name, "meters", environ)
    if kind == "csv":
        return FleetFile(tuple(_from_csv(text, name, environ)), DEFAULT_PLAN)
    raise FleetFileError(f"{name}: unknown fleet file type {kind!r}: use .toml, .csv or .json")


def _from_document(
    document: dict[str, Any], name: str, list_key: str, environ: Mapping[str, str]
) -> FleetFile:
    defaults = document.get("defaults", {})
    if not isinstance(defaults, dict):
        raise FleetFileError(f"{name}: 'defaults' must be a table/object")
    entries = document.get(list_key, document.get("meters" if list_key == "meter" else "meter"))
    if not isinstance(entries, list) or not entries:
        raise FleetFileError(f"{name}: no meters (a list '{list_key}' of tables/objects)")
    meters = []
    for index, entry in enumerate(entries):
        where = f"{name}: {list_key}[{index}]"
        if not isinstance(entry, dict):
            raise FleetFileError(f"{where}: must be a table/object")
        meters.append(_meter({**defaults, **entry}, where, environ))
    plan = DEFAULT_PLAN
    plan_section = document.get("plan")
    if plan_section is not None:
        items = plan_section.get("read") if isinstance(plan_section, dict) else plan_section
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise FleetFileError(f"{name}: plan.read must be a list of strings")
        try:
            plan = ReadPlan(tuple(parse_plan_item(item) for item in items))
        except ValueError as exc:
            raise FleetFileError(f"{name}: plan.read: {exc}") from None
        history = plan_section.get("history") if isinstance(plan_section, dict) else None
        if history is not None:  # how far back the first profile read of a meter goes
            from .positions import parse_duration, with_history

            try:
                plan = with_history(plan, parse_duration(history))
            except ValueError as exc:
                raise FleetFileError(f"{name}: plan.history: {exc}") from None
    store = document.get("counter_store")
    if store is not None and not isinstance(store, str):
        raise FleetFileError(f"{name}: counter_store must be a path (a string) or 'memory'")
    return FleetFile(tuple(meters), plan, store)


def _from_csv(text: str, name: str, environ: Mapping[str, str]) -> Iterable[Meter]:
    reader = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    for row in reader:
        line = reader.line_num
        if not row or all(not cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
            continue
        if header is None:
            header = [cell.strip() for cell in row]
            if "url" not in header:
                raise FleetFileError(f"{name} line {line}: the header row needs a 'url' column")
            continue
        if len(row) > len(header):
            raise FleetFileError(f"{name} line {line}: {len(row)} cells for {len(header)} columns")
        fields = {key: cell.strip() for key, cell in zip(header, row, strict=False) if cell.strip()}
        yield _meter(fields, f"{name} line {line}", environ)
    if header is None:
        raise FleetFileError(f"{name}: empty (a header row and one meter per line)")


def _convert(key: str, value: Any, where: str) -> Any:
    try:
        if key in _INTEGERS and not isinstance(value, int):
            return int(str(value), 0)
        if key in _FLOATS and not isinstance(value, int | float):
            return float(value)
        if key in _BOOLEANS and isinstance(value, str):
            lowered = value.lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(value)
            return lowered in ("true", "1", "yes")
    except ValueError:
        kind = "an integer" if key in _INTEGERS else "a number" if key in _FLOATS else "true/false"
        raise FleetFileError(f"{where}, field {key!r}: {value!r} is not {kind}") from None
    if key in _CHOICES and str(value).lower() not in _CHOICES[key]:
        choices = " or ".join(repr(c) for c in _CHOICES[key])
        raise FleetFileError(f"{where}, field {key!r}: {value!r} is not {choices}")
    if isinstance(value, bool) and (key in _INTEGERS or key in _FLOATS):
        raise FleetFileError(f"{where}, field {key!r}: {value!r} is not a number")
    return value


def _meter(fields: Mapping[str, Any], where: str, environ: Mapping[str, str]) -> Meter:
    url = fields.get("url")
    if not isinstance(url, str) or not url:
        raise FleetFileError(f"{where}: field 'url' is missing")
    try:
        parse_target(url)
    except (InvalidTargetError, ValueError) as exc:
        raise FleetFileError(f"{where}, field 'url': {exc}") from None
    options: dict[str, Any] = {}
    for key, value in fields.items():
        if key.endswith("_env"):
            variable = str(value)
            if variable not in environ:
                raise FleetFileError(
                    f"{where}, field {key!r}: the environment variable {variable} is not set"
                )
            options[key[: -len("_env")]] = environ[variable]
        elif key not in _OWN:
            options[key] = _convert(key, value, where)
    bus: str | bool = True
    raw_bus = fields.get("bus", True)
    if isinstance(raw_bus, bool):
        bus = raw_bus
    elif isinstance(raw_bus, str):
        lowered = raw_bus.lower()
        bus = (
            True
            if lowered in ("auto", "true")
            else False
            if lowered in ("none", "false")
            else raw_bus
        )
    else:
        raise FleetFileError(f"{where}, field 'bus': {raw_bus!r} is not a name or true/false")
    deadline = fields.get("deadline")
    return Meter(
        url,
        options,
        name=str(fields.get("name", "")),
        bus=bus,
        deadline=None if deadline is None else _convert("deadline", deadline, where),
    )
