"""Small readers shared by the interface class modules (not public)."""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum
from typing import Any, TypeVar

from ..obis import Obis
from .errors import CosemValueError

_E = TypeVar("_E", bound=IntEnum)


def as_int(value: object, what: str) -> int:
    """``value`` as an int (not a bool), or :class:`CosemValueError`."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise CosemValueError(f"{what} must be an integer, got {value!r}")
    return int(value)


def as_bool(value: object, what: str) -> bool:
    """``value`` as a bool (0/1 integers accepted), or :class:`CosemValueError`."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise CosemValueError(f"{what} must be a boolean, got {value!r}")


def as_bytes(value: object, what: str) -> bytes:
    """``value`` as bytes (an octet-string), or :class:`CosemValueError`."""
    if not isinstance(value, (bytes, bytearray)):
        raise CosemValueError(f"{what} must be an octet-string, got {value!r}")
    return bytes(value)


def as_obis(value: object, what: str) -> Obis:
    """A 6-byte octet-string as an :class:`Obis`, or :class:`CosemValueError`."""
    if isinstance(value, Obis):
        return value
    if not isinstance(value, (bytes, bytearray)) or len(value) != 6:
        raise CosemValueError(f"{what} must be an octet-string of 6 bytes, got {value!r}")
    return Obis.from_bytes(value)


def as_sequence(value: object, what: str, minimum: int = 0) -> Sequence[Any]:
    """A structure or array with at least ``minimum`` elements, or :class:`CosemValueError`."""
    if not isinstance(value, (tuple, list)) or len(value) < minimum:
        raise CosemValueError(
            f"{what} must be a structure/array of at least {minimum} elements, got {value!r}"
        )
    return value


def enum_or_int(enum: type[_E], value: object, what: str) -> _E | int:
    """An enum member, or the int when the code is not in the enumeration."""
    number = as_int(value, what)
    return enum(number) if number in enum._value2member_map_ else number
