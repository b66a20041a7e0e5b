"""What to read from every meter of a fleet: a :class:`ReadPlan` of attributes, registers
(as quantities with units) and profiles (the rows since the last read).

Items are written as text in fleet files and on the command line:

- ``CLASS/OBIS/ATTRIBUTE`` — one attribute, raw value (``8/0.0.1.0.0.255/2``);
- ``register:OBIS`` — a Register (3) as a :class:`~asyncdlms.cosem.Quantity` (value and
  scaler-unit in one GET with-list); ``register:4/OBIS`` for an Extended register;
- ``clock`` (or ``clock:OBIS``) — the Clock's time as an aware ``datetime``;
- ``profile:OBIS`` — the rows of a Profile generic (7) since the last read (the first read
  goes back ``profile_history``, one day by default);
- ``sn:SHORT_NAME`` — a variable of a short-name meter by its short name (``sn:0x0108``,
  hex or decimal), raw value. A meter with ``referencing = "sn"`` reads every other item
  too: class/OBIS/attribute is mapped to short names from its object list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..cosem.clock import clock_datetime
from ..cosem.short_names import format_short_name, parse_short_name
from ..cosem.units import ScalerUnit, register_quantity
from ..errors import DataAccessError, DlmsError, ShortNameError
from ..obis import Obis

__all__ = [
    "DEFAULT_PLAN",
    "PlanItem",
    "ReadAttribute",
    "ReadClock",
    "ReadPlan",
    "ReadProfile",
    "ReadRegister",
    "ReadShortName",
    "parse_plan_item",
]


_CLOCK = Obis("0.0.1.0.0.255")


@dataclass(frozen=True, slots=True)
class ReadAttribute:
    """One attribute, its raw (decoded A-XDR) value."""

    class_id: int
    obis: Obis
    attribute: int

    @property
    def key(self) -> str:
        return f"{self.class_id}/{self.obis}/{self.attribute}"

    async def read(self, client: Any, memory: dict[str, Any]) -> Any:
        return await client.get(self.class_id, self.obis, self.attribute)

    def attributes(self, memory: dict[str, Any]) -> list[tuple[int, Obis, int]]:
        """What a GET with-list reads for this item (see :func:`read_plain_items`)."""
        return [(self.class_id, self.obis, self.attribute)]

    def value_of(self, results: Sequence[Any], client: Any, memory: dict[str, Any]) -> Any:
        """The item's value from the with-list results of :meth:`attributes`."""
        return _raise_error(results[0])


@dataclass(frozen=True, slots=True)
class ReadRegister:
    """A Register (3), Extended (4) or Demand (5) register as a Quantity."""

    obis: Obis
    class_id: int = 3

    @property
    def key(self) -> str:
        prefix = "" if self.class_id == 3 else f"{self.class_id}/"
        return f"register:{prefix}{self.obis}"

    async def read(self, client: Any, memory: dict[str, Any]) -> Any:
        return await client.read_register(self.obis, class_id=self.class_id)

    @property
    def _scaler_unit_key(self) -> str:
        return f"scaler_unit:{self.class_id}/{self.obis}"

    def attributes(self, memory: dict[str, Any]) -> list[tuple[int, Obis, int]]:
        """The value (attribute 2), and the scaler-unit (3) unless this meter's is known
        already: a register's scaler and unit are configuration, read once per meter."""
        value = (self.class_id, self.obis, 2)
        if self._scaler_unit_key in memory:
            return [value]
        return [value, (self.class_id, self.obis, 3)]

    def value_of(self, results: Sequence[Any], client: Any, memory: dict[str, Any]) -> Any:
        value = _raise_error(results[0])
        if len(results) > 1:
            scaler_unit = ScalerUnit.from_value(_raise_error(results[1]))
            memory[self._scaler_unit_key] = scaler_unit
        else:
            scaler_unit = memory[self._scaler_unit_key]
        return register_quantity(value, scaler_unit)


@dataclass(frozen=True, slots=True)
class ReadClock:
    """The meter's time (Clock attribute 2) as a datetime."""

    obis: Obis = _CLOCK

    @property
    def key(self) -> str:
        return "clock" if self.obis == _CLOCK else f"clock:{self.obis}"

    async def read(self, client: Any, memory: dict[str, Any]) -> Any:
        return await client.read_clock(obis=self.obis)

    def attributes(self, memory: dict[str, Any]) -> list[tuple[int, Obis, int]]:
        return [(8, self.obis, 2)]

    def value_of(self, results: Sequence[Any], client: Any, memory: dict[str, Any]) -> Any:
        return clock_datetime(_raise_error(results[0]), deviation_sign=client.deviation_sign)


@dataclass(frozen=True, slots=True)
class ReadProfile:
    """The rows of a Profile generic since the last read of this meter (by range on the
    clock column, up to the meter's clock, read first); the first read starts ``history``
    before it. Rows already returned are not returned again; with a store the position is
    the stored one (:mod:`asyncdlms.fleet.positions`)."""

    obis: Obis
    history: dt.timedelta = dt.timedelta(days=1)

    @property
    def key(self) -> str:
        return f"profile:{self.obis}"

    async def read(self, client: Any, memory: dict[str, Any]) -> Any:
        from .positions import read_profile_since

        return await read_profile_since(self, client, memory)


@dataclass(frozen=True, slots=True)
class ReadShortName:
    """One variable of a short-name (SN) meter by its short name, its raw value."""

    short_name: int

    @property
    def key(self) -> str:
        return f"sn:{format_short_name(self.short_name)}"

    async def read(self, client: Any, memory: dict[str, Any]) -> Any:
        if not client.short_name_referencing:
            raise ShortNameError(
                f"{self.key}: this meter is associated with logical names; give it "
                'referencing = "sn" to read short names',
                None,
                self.short_name,
            )
        return await client.read(self.short_name)


PlanItem = ReadAttribute | ReadRegister | ReadClock | ReadProfile | ReadShortName

PlainItem = ReadAttribute | ReadRegister | ReadClock
"""The items read together in GET with-list requests (:func:`read_plain_items`)."""

PLAIN_ITEMS = (ReadAttribute, ReadRegister, ReadClock)

_WITH_LIST_REFUSED = "with-list refused"
"""Key in a meter's memory: the meter refused GET with-list once; it gets single GETs."""


def _raise_error(result: Any) -> Any:
    if isinstance(result, Exception):
        raise result
    return result


def fixed_attributes(items: Sequence[PlainItem]) -> list[tuple[int, Obis, int]] | None:
    """What plain ``items`` read, when it never changes: every item an attribute or a clock,
    one attribute each (a register reads its scaler-unit too until the meter's is known).
    ``None`` otherwise. The poller computes it once per plan, for :func:`read_plain_items`."""
    if not all(type(item) in (ReadAttribute, ReadClock) for item in items):
        return None
    return [attribute for item in items for attribute in item.attributes({})]


async def read_plain_items(
    client: Any,
    items: Sequence[PlainItem],
    memory: dict[str, Any],
    fixed: list[tuple[int, Obis, int]] | None = None,
) -> list[Any]:
    """Read plain items (attributes, registers, clocks) of a logical-name meter in as few
    round trips as the meter allows: one GET with-list per chunk (``client.get_many``:
    chunks that fit the negotiated PDU, single GETs where the meter did not grant
    multiple-references), the scaler-unit of registers only on the first read. A meter
    that refused a with-list (behaviour 10) is remembered in ``memory`` and gets single
    GETs from then on. One entry per item: its value or the exception that refused it
    (a :class:`~asyncdlms.errors.DlmsError`, returned, not raised). ``fixed``: the items'
    :func:`fixed_attributes`, when known (nothing to work out per read then)."""
    requests: list[list[tuple[int, Obis, int]]] | None = None
    if fixed is None:
        requests = _attributes_of(items, memory)
        flat = [attribute for attributes in requests for attribute in attributes]
    else:
        flat = fixed  # one attribute per item
    if memory.get(_WITH_LIST_REFUSED):
        results: list[Any] = []
        for class_id, obis, attribute in flat:
            try:
                results.append(await client.get(class_id, obis, attribute))
            except DataAccessError as exc:
                results.append(exc)
    else:
        fallbacks = getattr(client.session, "with_list_fallbacks", 0)
        results = await client.get_many(flat)
        if getattr(client.session, "with_list_fallbacks", 0) != fallbacks:
            memory[_WITH_LIST_REFUSED] = True
    values: list[Any] = []
    position = 0
    for index, item in enumerate(items):
        if type(item) is ReadAttribute:  # its value is its one result (no slice, no calls)
            value = results[position]
            position += 1
            if isinstance(value, Exception) and not isinstance(value, DlmsError):
                raise value  # what value_of raises, uncaught here
            values.append(value)
            continue
        count = 1 if requests is None else len(requests[index])
        mine = results[position : position + count]
        position += count
        try:
            values.append(item.value_of(mine, client, memory))
        except DlmsError as exc:
            values.append(exc)
    return values


def _attributes_of(
    items: Sequence[PlainItem], memory: dict[str, Any]
) -> list[list[tuple[int, Obis, int]]]:
    """The attributes each item reads (a function of its own: a comprehension using
    ``memory`` in :func:`read_plain_items` would make ``memory`` a cell there, one more
    object kept alive across the wait for the answers)."""
    return [item.attributes(memory) for item in items]


def parse_plan_item(text: str) -> PlanItem:
    """A plan item from its text form (see the module documentation); ``ValueError`` names
    what is wrong."""
    text = text.strip()
    kind, colon, rest = text.partition(":")
    try:
        if not colon and kind == "clock":
            return ReadClock()
        if colon and kind == "clock":
            return ReadClock(Obis(rest))
        if colon and kind == "register":
            class_text, slash, obis_text = rest.rpartition("/")
            return ReadRegister(Obis(obis_text), int(class_text) if slash else 3)
        if colon and kind == "profile":
            return ReadProfile(Obis(rest))
        if colon and kind.lower() == "sn":
            return ReadShortName(parse_short_name(rest))
        parts = text.split("/")
        if len(parts) == 3:
            return ReadAttribute(int(parts[0]), Obis(parts[1]), int(parts[2]))
    except (ValueError, DlmsError) as exc:
        raise ValueError(f"{text!r}: {exc}") from None
    raise ValueError(
        f"{text!r} is not a plan item: use CLASS/OBIS/ATTRIBUTE, register:OBIS, clock, "
        "profile:OBIS or sn:SHORT_NAME"
    )


@dataclass(frozen=True, slots=True)
class ReadPlan:
    """The items to read from every meter, in order, on one association."""

    items: tuple[PlanItem, ...] = field(default_factory=tuple)

    @classmethod
    def parse(cls, texts: Iterable[str]) -> ReadPlan:
        """A plan from item texts (``["register:1.0.1.8.0.255", "clock"]``)."""
        return cls(tuple(parse_plan_item(text) for text in texts))

    @classmethod
    def of(cls, *items: PlanItem | str) -> ReadPlan:
        """A plan from items or their texts."""
        return cls(tuple(parse_plan_item(i) if isinstance(i, str) else i for i in items))

    def __len__(self) -> int:
        return len(self.items)

    @property
    def keys(self) -> Sequence[str]:
        return [item.key for item in self.items]


DEFAULT_PLAN = ReadPlan.of(
    "register:1.0.1.8.0.255",
    "register:1.0.2.8.0.255",
    "register:1.0.3.8.0.255",
    "register:1.0.4.8.0.255",
    "clock",
)
"""Active and reactive energy, import and export (1.0.1.8.0 .. 1.0.4.8.0), and the clock."""
