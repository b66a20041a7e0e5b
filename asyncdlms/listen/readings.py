"""What a push says, as OBIS code → value: the layouts met in the field.

A data-notification's body is an A-XDR value whose shape the standard leaves to the Push
setup object that sent it. Four shapes are common:

1. **OBIS/value pairs** — an octet-string(6) logical name followed by the value, either flat
   in one structure (Kaifa MA304 Swedish list, Kamstrup Omnipower) or one structure per
   object inside an array (Aidon);
2. **OBIS/value/scaler_unit triplets** — the same with the register's ``{scaler, unit}``
   structure after the value, nested (Aidon) or flat (the Austrian customer interface of
   Kaifa/EVN meters); the value is then scaled;
3. **a Push setup's ``push_object_list``** — the body is a structure with one element per
   capture object of the list (class, OBIS, attribute), which the user gives (read from the
   meter, or from its documentation); a register's scaler_unit comes from a column of its
   attribute 3 in the same list, or from ``scalers``;
   Pair lists that carry no scalers get them from :data:`LIST_SCALERS` by the list
   identifier they start with (Kamstrup);
4. **positional lists** — values only, the OBIS codes implied by the list's definition
   (Norwegian HAN lists of Kaifa meters). These go through a small, extensible table of
   :class:`PositionalLayout` (:data:`POSITIONAL_LAYOUTS`), recognised by the number of
   elements and an identifier element.

:func:`readings` tries, in order: the ``push_object_list`` given, OBIS-tagged pairs and
triplets found in the body, then the positional layouts. The result maps each OBIS code to a
:class:`Reading`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from ..cosem.errors import CosemValueError
from ..cosem.profile import CaptureObject
from ..cosem.units import Quantity, ScalerUnit, Unit
from ..errors import DlmsError
from ..obis import Obis, ObisLike

__all__ = [
    "LIST_SCALERS",
    "POSITIONAL_LAYOUTS",
    "PositionalColumn",
    "PositionalLayout",
    "Reading",
    "readings",
]

_REGISTER_CLASSES = (3, 4, 5)  # register, extended register, demand register
_OBIS_LENGTH = 6


@dataclass(frozen=True, slots=True)
class Reading:
    """One value of a push.

    ``value`` is what to use: a :class:`~asyncdlms.cosem.units.Quantity` (scaled, with its
    unit) when a scaler and unit are known, else the A-XDR value as decoded (``raw``).
    ``class_id`` and ``attribute_index`` are set when the layout says (push_object_list,
    event-notification, positional layouts), else ``None``.
    """

    obis: Obis
    value: object
    raw: object
    class_id: int | None = None
    attribute_index: int | None = None
    scaler_unit: ScalerUnit | None = None

    @property
    def scaled(self) -> object:
        """The number scaled (a Decimal or float) when the value is a quantity, else
        :attr:`value`."""
        return self.value.value if isinstance(self.value, Quantity) else self.value

    @property
    def unit(self) -> Unit | int | None:
        """The unit, when known."""
        return None if self.scaler_unit is None else self.scaler_unit.unit


def _is_obis(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == _OBIS_LENGTH


def _scaler_unit(value: object) -> ScalerUnit | None:
    if not isinstance(value, tuple) or len(value) != 2:
        return None
    scaler, unit = value
    if not (isinstance(scaler, int) and isinstance(unit, int)):
        return None
    if isinstance(scaler, bool) or isinstance(unit, bool):
        return None
    try:
        return ScalerUnit.from_value(value)
    except CosemValueError:
        return None


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _reading(
    obis: Obis,
    raw: object,
    scaler_unit: ScalerUnit | None,
    class_id: int | None = None,
    attribute_index: int | None = None,
) -> Reading:
    value: object = raw
    if scaler_unit is not None and _is_number(raw):
        assert isinstance(raw, (int, float, Decimal))
        value = Quantity(raw, scaler_unit.scaler, scaler_unit.unit)
    elif scaler_unit is not None:
        scaler_unit = None  # a scaler on a non-number (null-data...) means nothing
    return Reading(obis, value, raw, class_id, attribute_index, scaler_unit)


def _scan(elements: Sequence[object], out: dict[Obis, Reading]) -> None:
    """Find OBIS-tagged pairs and triplets in one flat sequence."""
    index = 0
    size = len(elements)
    while index < size:
        element = elements[index]
        if _is_obis(element) and index + 1 < size:
            assert isinstance(element, bytes)
            obis = Obis.from_bytes(element)
            raw = elements[index + 1]
            scaler_unit = _scaler_unit(elements[index + 2]) if index + 2 < size else None
            if scaler_unit is not None and _is_number(raw):
                out.setdefault(obis, _reading(obis, raw, scaler_unit))
                index += 3
            else:
                out.setdefault(obis, _reading(obis, raw, None))
                index += 2
        else:
            index += 1


def tagged_readings(body: object) -> dict[Obis, Reading]:
    """Layouts 1 and 2: OBIS/value pairs and OBIS/value/scaler_unit triplets, flat in the body
    or one group per element of it. Empty when the body holds no OBIS-tagged value."""
    out: dict[Obis, Reading] = {}
    if not isinstance(body, tuple):
        return out
    if body and all(isinstance(item, tuple) for item in body):
        for item in body:
            assert isinstance(item, tuple)
            _scan(item, out)
        if out:
            return out
    _scan(body, out)
    return out


def push_object_list_readings(
    body: object,
    push_object_list: Sequence[CaptureObject],
    scalers: Mapping[Obis, ScalerUnit] | None = None,
) -> dict[Obis, Reading]:
    """Layout 3: the body's elements, in the order of ``push_object_list``.

    The scaler_unit of a register (class 3/4/5) comes from a column of its attribute 3 in the
    same list, else from ``scalers``. Raises :class:`CosemValueError` when the body is not a
    structure with one element per capture object.
    """
    if not isinstance(body, tuple) or len(body) != len(push_object_list):
        count = len(body) if isinstance(body, tuple) else "no"
        raise CosemValueError(
            f"the push body has {count} elements, the push_object_list {len(push_object_list)}"
        )
    found_scalers: dict[Obis, ScalerUnit] = dict(scalers or {})
    for column, value in zip(push_object_list, body, strict=True):
        if column.class_id in _REGISTER_CLASSES and column.attribute_index == 3:
            scaler_unit = _scaler_unit(value)
            if scaler_unit is not None:
                found_scalers[column.logical_name] = scaler_unit
    out: dict[Obis, Reading] = {}
    for column, value in zip(push_object_list, body, strict=True):
        obis = column.logical_name
        if column.class_id in _REGISTER_CLASSES and column.attribute_index == 3:
            continue
        scaler_unit = None
        if column.class_id in _REGISTER_CLASSES and column.attribute_index == 2:
            scaler_unit = found_scalers.get(obis)
        elif scalers is not None:
            scaler_unit = scalers.get(obis)
        if obis in out and out[obis].attribute_index == 2:
            continue  # the value attribute wins over other attributes of the same object
        out[obis] = _reading(obis, value, scaler_unit, column.class_id, column.attribute_index)
    return out


# -- positional lists -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PositionalColumn:
    """One element of a positional list: its OBIS code, class id, and scaler/unit when the
    list's definition gives one (the value is then scaled)."""

    obis: Obis
    class_id: int = 1
    scaler_unit: ScalerUnit | None = None

    @classmethod
    def of(
        cls, obis: ObisLike, class_id: int = 1, scaler: int | None = None, unit: Unit | None = None
    ) -> PositionalColumn:
        """A column from plain values (``scaler``/``unit`` both given, or neither)."""
        scaler_unit = None if scaler is None or unit is None else ScalerUnit(scaler, unit)
        return cls(Obis(obis), class_id, scaler_unit)


@dataclass(frozen=True, slots=True)
class PositionalLayout:
    """A list whose elements carry no OBIS codes.

    It applies to a body that is a structure of exactly ``len(columns)`` elements whose
    element ``identifier_index`` equals ``identifier`` (when given: e.g. the list version
    string ``KFM_001`` Kaifa sends first). ``source`` names the public document or test data
    the layout was taken from.
    """

    name: str
    columns: tuple[PositionalColumn, ...]
    identifier: bytes | str | None = None
    identifier_index: int = 0
    source: str = ""

    def matches(self, body: object) -> bool:
        """Whether ``body`` has this layout."""
        if not isinstance(body, tuple) or len(body) != len(self.columns):
            return False
        if self.identifier is None:
            return True
        element = body[self.identifier_index]
        expected = self.identifier
        if isinstance(element, bytes) and isinstance(expected, str):
            return element == expected.encode("latin-1")
        if isinstance(element, str) and isinstance(expected, bytes):
            return element.encode("latin-1") == expected
        return bool(element == expected)

    def readings(self, body: object) -> dict[Obis, Reading]:
        """The readings of a matching body (see :meth:`matches`)."""
        if not self.matches(body):
            raise CosemValueError(f"the push body does not have the layout {self.name!r}")
        assert isinstance(body, tuple)
        out: dict[Obis, Reading] = {}
        for column, value in zip(self.columns, body, strict=True):
            attribute = 2
            out[column.obis] = _reading(
                column.obis, value, column.scaler_unit, column.class_id, attribute
            )
        return out


_W = Unit.WATT
_VAR = Unit.VAR
_WH = Unit.WATT_HOUR
_VARH = Unit.VAR_HOUR
_A = Unit.AMPERE
_V = Unit.VOLT

# Norwegian HAN lists of Kaifa MA304/MA105 meters ("KFM_001"). Source: the list definitions
# Kaifa published for the Norwegian AMS HAN port (NEK / "OBIS list information", list
# version KFM_001), as exercised by the test data of turbokongen/hass-AMS (MIT, commit
# 8a47b3e, tests/common_test_data.py and tests/test_parser_kaifa.py): element order list
# version, meter id, meter type, active/reactive power, currents (mA), voltages (0.1 V),
# then for the hourly list the clock and the four energy registers (Wh, varh). The scalers
# are the ones those documents state; the captures in ../shared/captures confirm them
# (e.g. 2336 -> 233.6 V on a single-phase meter).
_KAIFA_HEAD = (
    PositionalColumn.of("1.1.0.2.129.255"),  # OBIS list version identifier
    PositionalColumn.of("0.0.96.1.0.255"),  # meter id (GS1)
    PositionalColumn.of("0.0.96.1.7.255"),  # meter type
    PositionalColumn.of("1.0.1.7.0.255", 3, 0, _W),  # active power +
    PositionalColumn.of("1.0.2.7.0.255", 3, 0, _W),  # active power -
    PositionalColumn.of("1.0.3.7.0.255", 3, 0, _VAR),  # reactive power +
    PositionalColumn.of("1.0.4.7.0.255", 3, 0, _VAR),  # reactive power -
)
_KAIFA_THREE_PHASE = (
    PositionalColumn.of("1.0.31.7.0.255", 3, -3, _A),  # current L1
    PositionalColumn.of("1.0.51.7.0.255", 3, -3, _A),  # current L2
    PositionalColumn.of("1.0.71.7.0.255", 3, -3, _A),  # current L3
    PositionalColumn.of("1.0.32.7.0.255", 3, -1, _V),  # voltage L1
    PositionalColumn.of("1.0.52.7.0.255", 3, -1, _V),  # voltage L2
    PositionalColumn.of("1.0.72.7.0.255", 3, -1, _V),  # voltage L3
)
_KAIFA_SINGLE_PHASE = (
    PositionalColumn.of("1.0.31.7.0.255", 3, -3, _A),  # current
    PositionalColumn.of("1.0.32.7.0.255", 3, -1, _V),  # voltage
)
_KAIFA_HOURLY = (
    PositionalColumn.of("0.0.1.0.0.255", 8),  # clock
    PositionalColumn.of("1.0.1.8.0.255", 3, 0, _WH),  # active energy +
    PositionalColumn.of("1.0.2.8.0.255", 3, 0, _WH),  # active energy -
    PositionalColumn.of("1.0.3.8.0.255", 3, 0, _VARH),  # reactive energy +
    PositionalColumn.of("1.0.4.8.0.255", 3, 0, _VARH),  # reactive energy -
)
_KAIFA_SOURCE = (
    "Kaifa Norwegian HAN OBIS list KFM_001 (NEK/NVE AMS HAN documentation); test data "
    "turbokongen/hass-AMS tests/common_test_data.py (MIT, 8a47b3e)"
)

POSITIONAL_LAYOUTS: list[PositionalLayout] = [
    PositionalLayout(
        "kaifa-no-list1",
        (PositionalColumn.of("1.0.1.7.0.255", 3, 0, _W),),
        source=_KAIFA_SOURCE + "; list 1: active power + only",
    ),
    PositionalLayout(
        "kaifa-no-list2-3phase",
        _KAIFA_HEAD + _KAIFA_THREE_PHASE,
        identifier="KFM_001",
        source=_KAIFA_SOURCE,
    ),
    PositionalLayout(
        "kaifa-no-list3-3phase",
        _KAIFA_HEAD + _KAIFA_THREE_PHASE + _KAIFA_HOURLY,
        identifier="KFM_001",
        source=_KAIFA_SOURCE,
    ),
    PositionalLayout(
        "kaifa-no-list2-1phase",
        _KAIFA_HEAD + _KAIFA_SINGLE_PHASE,
        identifier="KFM_001",
        source=_KAIFA_SOURCE,
    ),
    PositionalLayout(
        "kaifa-no-list3-1phase",
        _KAIFA_HEAD + _KAIFA_SINGLE_PHASE + _KAIFA_HOURLY,
        identifier="KFM_001",
        source=_KAIFA_SOURCE,
    ),
]
"""The shipped positional layouts; append your own (or pass ``layouts=`` to
:func:`readings`). The first layout that :meth:`~PositionalLayout.matches` is used."""


# Kamstrup Omnipower HAN lists ("Kamstrup_V0001"): OBIS/value pairs without scalers. Source:
# Kamstrup's OMNIPOWER HAN (NVE) interface description, as exercised by the test data of
# turbokongen/hass-AMS (MIT, commit 8a47b3e, tests/test_parser_kamstrup.py): power in W/var,
# currents in 0.01 A, voltages in V, energies in 10 Wh / 10 varh (the capture of a list 3
# gives 15523251 for 155232.51 kWh).
_KAMSTRUP_SCALERS = {
    **{Obis(f"1.1.{c}.7.0.255"): ScalerUnit(0, _W) for c in (1, 2)},
    **{Obis(f"1.1.{c}.7.0.255"): ScalerUnit(0, _VAR) for c in (3, 4)},
    **{Obis(f"1.1.{c}.7.0.255"): ScalerUnit(-2, _A) for c in (31, 51, 71)},
    **{Obis(f"1.1.{c}.7.0.255"): ScalerUnit(0, _V) for c in (32, 52, 72)},
    **{Obis(f"1.1.{c}.8.0.255"): ScalerUnit(1, _WH) for c in (1, 2)},
    **{Obis(f"1.1.{c}.8.0.255"): ScalerUnit(1, _VARH) for c in (3, 4)},
}

LIST_SCALERS: dict[str, Mapping[Obis, ScalerUnit]] = {"Kamstrup_V0001": _KAMSTRUP_SCALERS}
"""Scalers and units of OBIS/value-pair lists that carry none, by the list identifier the
body starts with (e.g. ``"Kamstrup_V0001"``); add your own. Scalers given to
:func:`readings` take precedence."""


def _list_identifier(body: object) -> str | None:
    if not isinstance(body, tuple) or not body:
        return None
    first = body[0]
    if isinstance(first, str):
        return first
    if isinstance(first, bytes) and len(first) != _OBIS_LENGTH:
        return first.decode("latin-1")
    return None


def readings(
    body: object,
    *,
    push_object_list: Sequence[CaptureObject] | None = None,
    scalers: Mapping[Obis, ScalerUnit] | None = None,
    layouts: Iterable[PositionalLayout] | None = None,
) -> dict[Obis, Reading]:
    """The readings of a push body: see the module documentation for the order tried.

    An empty mapping means no layout applies (the body is then only available as the
    decoded value). Raises :class:`CosemValueError` only when ``push_object_list`` is given
    and does not fit the body.
    """
    if push_object_list is not None:
        return push_object_list_readings(body, push_object_list, scalers)
    tagged = tagged_readings(body)
    if tagged:
        identifier = _list_identifier(body)
        if identifier in LIST_SCALERS:
            scalers = {**LIST_SCALERS[identifier], **(scalers or {})}
        if scalers:
            for obis, reading in list(tagged.items()):
                if reading.scaler_unit is None and obis in scalers:
                    tagged[obis] = _reading(obis, reading.raw, scalers[obis])
        return tagged
    for layout in POSITIONAL_LAYOUTS if layouts is None else layouts:
        try:
            if layout.matches(body):
                return layout.readings(body)
        except DlmsError:
            continue
    return {}
