"""OBIS codes (IEC 62056-6-1): the six value groups A to F that name every COSEM object.

An :class:`Obis` is an immutable, hashable 6-tuple of ints (0..255), ordered by its value
groups. It is built from any notation met in practice::

    Obis("1.0.1.8.0.255")        # dotted, as in the Blue Book and in A-XDR dumps
    Obis("1-0:1.8.0*255")        # IEC 62056-6-1 display notation
    Obis("1-0:1.8.0.255")        # IEC notation with a dot before F
    Obis("1-0:1.8.0&255")        # '&' before F, sent by some IEC 62056-21 meters (EMH ITZ)
    Obis("1-0:1.8.0")            # IEC notation without F: F = 255
    Obis(b"\\x01\\x00\\x01\\x08\\x00\\xff")  # 6 raw bytes (the logical_name octet-string)
    Obis(1, 0, 1, 8, 0, 255)     # six ints, or one 6-tuple / list of ints, or another Obis

Anything else raises :class:`InvalidObisError` (a :class:`ValueError`) whose message names the
input and the problem. Formatting back: ``str(obis)`` and :meth:`Obis.to_dotted` give
``"1.0.1.8.0.255"``, :meth:`Obis.to_iec` gives ``"1-0:1.8.0*255"``, ``bytes(obis)`` and
:meth:`Obis.to_bytes` give the 6 bytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import SupportsIndex, overload

from asyncdlms.errors import DlmsError

__all__ = ["InvalidObisError", "Obis", "ObisLike"]

_GROUP_NAMES = "ABCDEF"

# ASCII digits only: `\d` would also match other scripts' digits, which `int()` accepts.
_N = "([0-9]{1,3})"
_DOTTED = re.compile(rf"{_N}\.{_N}\.{_N}\.{_N}\.{_N}\.{_N}")
_IEC = re.compile(rf"{_N}-{_N}:{_N}\.{_N}\.{_N}(?:[.*&]{_N})?")
_SPLIT = re.compile(r"[-:.*&]")
_GROUP = re.compile(r"[0-9]+")


class InvalidObisError(DlmsError, ValueError):
    """A value that is not an OBIS code: wrong number of groups, a group over 255, letters..."""


def _diagnose(text: str, shown: str) -> InvalidObisError:
    """Explain why ``text`` (already stripped) is not an OBIS code."""
    if not text:
        return InvalidObisError(f"invalid OBIS code {shown}: it is empty")
    groups = _SPLIT.split(text)
    for index, group in enumerate(groups):
        if group == "":
            return InvalidObisError(
                f"invalid OBIS code {shown}: group {index + 1} is empty "
                "(a doubled, leading or trailing separator, or a minus sign)"
            )
    for group in groups:
        if not _GROUP.fullmatch(group):
            return InvalidObisError(
                f"invalid OBIS code {shown}: {group!r} is not a decimal number 0..255"
            )
    for index, group in enumerate(groups[:6]):
        if int(group) > 255:
            return InvalidObisError(
                f"invalid OBIS code {shown}: value group {_GROUP_NAMES[index]} is {int(group)}, "
                "over 255"
            )
    if len(groups) not in (5, 6):
        return InvalidObisError(
            f"invalid OBIS code {shown}: {len(groups)} value groups, expected 6 "
            "(or 5 in the IEC notation A-B:C.D.E, where F defaults to 255)"
        )
    return InvalidObisError(
        f"invalid OBIS code {shown}: unexpected separators; expected 'A.B.C.D.E.F', "
        "'A-B:C.D.E*F', 'A-B:C.D.E.F' or 'A-B:C.D.E'"
    )


@lru_cache(maxsize=4096)
def _parse_text(text: str) -> tuple[int, int, int, int, int, int]:
    stripped = text.strip()
    match = _DOTTED.fullmatch(stripped)
    if match is None:
        match = _IEC.fullmatch(stripped)
    if match is None:
        raise _diagnose(stripped, repr(text))
    a, b, c, d, e, f = match.groups()
    values = (int(a), int(b), int(c), int(d), int(e), 255 if f is None else int(f))
    for index, value in enumerate(values):
        if value > 255:
            raise InvalidObisError(
                f"invalid OBIS code {text!r}: value group {_GROUP_NAMES[index]} is {value}, "
                "over 255"
            )
    return values


def _from_ints(values: Iterable[object], shown: object) -> tuple[int, int, int, int, int, int]:
    items = tuple(values)
    if len(items) != 6:
        raise InvalidObisError(f"invalid OBIS code {shown!r}: {len(items)} values, expected 6")
    checked: list[int] = []
    for index, item in enumerate(items):
        if isinstance(item, bool) or not isinstance(item, int):
            raise InvalidObisError(
                f"invalid OBIS code {shown!r}: value group {_GROUP_NAMES[index]} is "
                f"{item!r}, not an int"
            )
        if not 0 <= item <= 255:
            raise InvalidObisError(
                f"invalid OBIS code {shown!r}: value group {_GROUP_NAMES[index]} is {item}, "
                "outside 0..255"
            )
        checked.append(int(item))
    a, b, c, d, e, f = checked
    return (a, b, c, d, e, f)


class Obis(tuple[int, int, int, int, int, int]):
    """An OBIS code: value groups A (medium), B (channel), C, D, E and F, each 0..255.

    Immutable and hashable; compares and sorts as the tuple of its six values (and so also
    equals a plain 6-tuple of the same ints). See the module documentation for the accepted
    notations; malformed input raises :class:`InvalidObisError`.
    """

    __slots__ = ()

    @overload
    def __new__(cls, value: ObisLike, /) -> Obis: ...

    @overload
    def __new__(
        cls,
        a: SupportsIndex,
        b: SupportsIndex,
        c: SupportsIndex,
        d: SupportsIndex,
        e: SupportsIndex,
        f: SupportsIndex,
        /,
    ) -> Obis: ...

    def __new__(cls, *args: object) -> Obis:
        if len(args) == 1:
            value = args[0]
            if type(value) is cls:
                return value
            if isinstance(value, str):
                return tuple.__new__(cls, _parse_text(value))
            if type(value) is bytes and len(value) == 6:
                return tuple.__new__(cls, value)
            if isinstance(value, bytes | bytearray | memoryview):
                return cls.from_bytes(value)
            if isinstance(value, tuple | list):
                return tuple.__new__(cls, _from_ints(value, value))
            raise InvalidObisError(
                f"invalid OBIS code {value!r}: expected a str, 6 bytes, an Obis or 6 ints, "
                f"not {type(value).__name__}"
            )
        if len(args) == 6:
            return tuple.__new__(cls, _from_ints(args, args))
        raise InvalidObisError(
            f"invalid OBIS code {args!r}: Obis() takes one value or 6 ints, not {len(args)}"
        )

    @classmethod
    def parse(cls, value: ObisLike) -> Obis:
        """Build an :class:`Obis` from any accepted notation (same as ``Obis(value)``)."""
        return cls(value)

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> Obis:
        """Build an :class:`Obis` from exactly 6 bytes (A-XDR ``logical_name`` contents)."""
        raw = data if type(data) is bytes else bytes(data)
        if len(raw) != 6:
            raise InvalidObisError(f"invalid OBIS code {raw!r}: {len(raw)} bytes, expected 6")
        return tuple.__new__(cls, raw)

    @property
    def a(self) -> int:
        """Value group A: the medium (0 abstract, 1 electricity, 7 gas, 8 water...)."""
        return self[0]

    @property
    def b(self) -> int:
        """Value group B: the channel."""
        return self[1]

    @property
    def c(self) -> int:
        """Value group C: the abstract or physical quantity."""
        return self[2]

    @property
    def d(self) -> int:
        """Value group D: the processing or classification of the quantity."""
        return self[3]

    @property
    def e(self) -> int:
        """Value group E: further classification (tariff, instance...)."""
        return self[4]

    @property
    def f(self) -> int:
        """Value group F: historical value (billing period); 255 when not used."""
        return self[5]

    def to_bytes(self) -> bytes:
        """The 6 bytes A..F, as carried in an A-XDR octet-string."""
        return bytes(self)

    def __bytes__(self) -> bytes:
        return bytes.__new__(bytes, tuple(self))

    def to_dotted(self) -> str:
        """Dotted notation, e.g. ``"1.0.1.8.0.255"`` (also ``str(obis)``)."""
        return "%d.%d.%d.%d.%d.%d" % self  # noqa: UP031 - fastest for a 6-tuple

    def to_iec(self) -> str:
        """IEC 62056-6-1 notation, e.g. ``"1-0:1.8.0*255"``."""
        return "%d-%d:%d.%d.%d*%d" % self  # noqa: UP031

    def __str__(self) -> str:
        return self.to_dotted()

    def __repr__(self) -> str:
        return f"Obis({self.to_dotted()!r})"

    def __getnewargs__(self) -> tuple[tuple[int, ...]]:
        return (tuple(self),)


ObisLike = Obis | str | bytes | bytearray | memoryview | tuple[int, ...] | list[int]
"""What :class:`Obis` accepts as a single argument."""
