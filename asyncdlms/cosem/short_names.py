"""Short-name (SN) addressing: from class id, logical name and attribute or method to the
16-bit short name an SN association reads and writes.

An SN meter lists its objects in the Association SN object (class 12, ``0.0.40.0.0.255``,
base name 0xFA00) attribute 2 ``object_list``: ``{base_name, class_id, version,
logical_name}`` per object. From an object's base name:

* attribute ``n`` is at ``base_name + 8·(n − 1)`` (attribute 1, the logical name, at the base
  name itself);
* method ``m`` is at ``base_name + first_method_offset + 8·(m − 1)``, the first method's
  offset depending on the interface class (Blue Book, the short-name column of each class:
  :data:`asyncdlms.apdu.short_name.FIRST_METHOD_OFFSET`).

:class:`ShortNameMap` holds one association's object list and does that arithmetic, raising
:class:`~asyncdlms.errors.ShortNameError` for an object the list does not have.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from ..apdu.enums import DataAccessResult
from ..apdu.short_name import FIRST_METHOD_OFFSET
from ..errors import EncodeError, ShortNameError
from ..obis import Obis, ObisLike
from .association import ShortNameObject, _sequence, parse_short_name_object_list

__all__ = [
    "ASSOCIATION_SN",
    "ASSOCIATION_SN_BASE_NAME",
    "ASSOCIATION_SN_CLASS_ID",
    "ShortNameMap",
    "ShortNameTarget",
    "format_short_name",
    "parse_short_name",
    "short_name_map",
]

ASSOCIATION_SN = Obis("0.0.40.0.0.255")
"""Logical name of the current association (Association SN in an SN association)."""
ASSOCIATION_SN_CLASS_ID = 12
ASSOCIATION_SN_BASE_NAME = 0xFA00
"""Base name of the current Association SN object (its attribute 2, the object list, is at
0xFA08)."""
_ASSOCIATION_LN_CLASS_ID = 15


def format_short_name(short_name: int) -> str:
    """``0x0108``: a short name as four hex digits."""
    return f"0x{short_name:04X}"


def parse_short_name(text: str) -> int:
    """A short name from ``0xFA00``, ``FA00h`` or a decimal ``64000`` (0..0xFFFF)."""
    cleaned = text.strip()
    try:
        value = int(cleaned[:-1], 16) if cleaned.lower().endswith("h") else int(cleaned, 0)
    except ValueError:
        raise ValueError(f"{text!r} is not a short name (e.g. 0xFA00 or 64000)") from None
    if not 0 <= value <= 0xFFFF:
        raise ValueError(f"short name {text!r} is out of range 0..0xFFFF")
    return value


@dataclass(frozen=True, slots=True)
class ShortNameTarget:
    """What a short name designates in a :class:`ShortNameMap`: an attribute
    (``method`` False) or a method of one listed object."""

    object: ShortNameObject
    number: int
    method: bool = False

    def __str__(self) -> str:
        kind = "method" if self.method else "attribute"
        item = self.object
        return f"{kind} {self.number} of {item.class_id}/{item.logical_name}"


@dataclass(frozen=True, slots=True)
class ShortNameMap:
    """One SN association's object list with the base-name arithmetic.

    ``objects`` are the entries read, ``skipped`` how many elements could not be read
    (QUIRKS.md 9: malformed entries are skipped, not fatal).
    """

    objects: tuple[ShortNameObject, ...]
    skipped: int = 0
    _by_key: dict[tuple[int, Obis], ShortNameObject] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        for item in self.objects:
            self._by_key.setdefault((item.class_id, item.logical_name), item)

    def __iter__(self) -> Iterator[ShortNameObject]:
        return iter(self.objects)

    def __len__(self) -> int:
        return len(self.objects)

    def find(self, logical_name: ObisLike, class_id: int | None = None) -> ShortNameObject | None:
        """The entry with this logical name (and class id, when given)."""
        obis = Obis(logical_name)
        if class_id is not None:
            found = self._by_key.get((class_id, obis))
            if found is None and class_id == _ASSOCIATION_LN_CLASS_ID:
                # the current association is class 15 in LN, class 12 in SN: a caller
                # written for LN (keep-alive, the logical name) finds it under either
                found = self._by_key.get((ASSOCIATION_SN_CLASS_ID, obis))
            return found
        for item in self.objects:
            if item.logical_name == obis:
                return item
        return None

    def _entry(self, class_id: int, logical_name: ObisLike) -> ShortNameObject:
        found = self.find(logical_name, class_id)
        if found is None:
            others = [str(i.class_id) for i in self.objects if i.logical_name == Obis(logical_name)]
            hint = (
                f" (it is listed with class {', '.join(others)})"
                if others
                else "; check the OBIS code, or read the variable by its short name"
            )
            raise ShortNameError(
                f"{class_id}/{Obis(logical_name)} is not in this association's short-name "
                f"object list ({len(self.objects)} objects){hint}",
                DataAccessResult.OBJECT_UNDEFINED,
            )
        return found

    def attribute(self, class_id: int, logical_name: ObisLike, attribute: int) -> int:
        """The short name of an attribute: base name + 8·(attribute − 1)."""
        entry = self._entry(class_id, logical_name)
        try:
            return entry.attribute_short_name(attribute)
        except EncodeError as exc:
            raise ShortNameError(
                f"attribute {attribute} of {class_id}/{entry.logical_name}: {exc}",
                DataAccessResult.OBJECT_UNDEFINED,
            ) from None

    def method(self, class_id: int, logical_name: ObisLike, method: int) -> int:
        """The short name of a method: base name + the class's first-method offset
        + 8·(method − 1)."""
        entry = self._entry(class_id, logical_name)
        try:
            return entry.method_short_name(method)
        except EncodeError as exc:
            raise ShortNameError(
                f"method {method} of {class_id}/{entry.logical_name}: {exc}",
                DataAccessResult.OBJECT_UNDEFINED,
            ) from None

    def resolve(self, short_name: int) -> ShortNameTarget | None:
        """The listed attribute or method at ``short_name`` (the object with the nearest base
        name at or below it; for messages); ``None`` when no listed object has it."""
        below = [
            item
            for item in self.objects
            if item.base_name <= short_name and (short_name - item.base_name) % 8 == 0
        ]
        if not below:
            return None
        item = max(below, key=lambda entry: entry.base_name)
        offset = short_name - item.base_name
        first_method = FIRST_METHOD_OFFSET.get(item.class_id)
        if first_method is not None and offset >= first_method[0]:
            number = (offset - first_method[0]) // 8 + 1
            return ShortNameTarget(item, number, method=True) if number <= first_method[1] else None
        return ShortNameTarget(item, offset // 8 + 1)

    def describe(self, short_name: int) -> str:
        """``0x0108 (attribute 2 of 3/1.0.1.8.0.255)``, or just the short name."""
        target = self.resolve(short_name)
        name = format_short_name(short_name)
        return name if target is None else f"{name} ({target})"


def short_name_map(value: object) -> ShortNameMap:
    """Association SN attribute 2 ``object_list`` as a :class:`ShortNameMap` (tolerant:
    malformed elements are counted in ``skipped``)."""
    objects = parse_short_name_object_list(value)
    elements = _sequence(value)
    total = len(elements) if elements is not None else len(objects)
    return ShortNameMap(objects, max(0, total - len(objects)))
