"""Physical units, scalers and scaled quantities (Blue Book 4.3.2, ``scal_unit_type``).

A Register (class 3), Extended register (4) or Demand register (5) holds a raw number in
``value`` and ``scaler_unit ::= structure {scaler integer, unit enum}`` beside it; the physical
value is ``value × 10^scaler`` in ``unit``::

    >>> su = ScalerUnit.from_value(Structure((Integer(-1), Enum(30))))
    >>> q = register_quantity(DoubleLongUnsigned(123456), su)
    >>> str(q)
    '12345.6 Wh'
    >>> q.value
    Decimal('12345.6')

Integers are scaled exactly (:class:`decimal.Decimal`, keeping the meter's resolution:
1000 with scaler -3 is ``Decimal('1.000')``); floats stay floats. A unit code the
:class:`Unit` enumeration does not know stays a plain ``int`` and prints as ``unit <code>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum
from typing import Final

from ..types.values import Enum, Integer, Structure
from .errors import CosemValueError

__all__ = [
    "Quantity",
    "ScalerUnit",
    "Unit",
    "register_quantity",
    "unit_symbol",
]


class Unit(IntEnum):
    """The Blue Book unit enumeration (``unit`` of ``scal_unit_type``).

    :attr:`symbol` gives the unit's symbol (``Unit.WATT_HOUR.symbol == "Wh"``) and
    :attr:`description` the quantity it measures.
    """

    YEAR = 1
    MONTH = 2
    WEEK = 3
    DAY = 4
    HOUR = 5
    MINUTE = 6
    SECOND = 7
    DEGREE = 8
    DEGREE_CELSIUS = 9
    CURRENCY = 10
    METRE = 11
    METRE_PER_SECOND = 12
    CUBIC_METRE = 13
    CORRECTED_CUBIC_METRE = 14
    CUBIC_METRE_PER_HOUR = 15
    CORRECTED_CUBIC_METRE_PER_HOUR = 16
    CUBIC_METRE_PER_DAY = 17
    CORRECTED_CUBIC_METRE_PER_DAY = 18
    LITRE = 19
    KILOGRAM = 20
    NEWTON = 21
    NEWTON_METRE = 22
    PASCAL = 23
    BAR = 24
    JOULE = 25
    JOULE_PER_HOUR = 26
    WATT = 27
    VOLT_AMPERE = 28
    VAR = 29
    WATT_HOUR = 30
    VOLT_AMPERE_HOUR = 31
    VAR_HOUR = 32
    AMPERE = 33
    COULOMB = 34
    VOLT = 35
    VOLT_PER_METRE = 36
    FARAD = 37
    OHM = 38
    OHM_METRE = 39
    WEBER = 40
    TESLA = 41
    AMPERE_PER_METRE = 42
    HENRY = 43
    HERTZ = 44
    ACTIVE_ENERGY_METER_CONSTANT = 45
    REACTIVE_ENERGY_METER_CONSTANT = 46
    APPARENT_ENERGY_METER_CONSTANT = 47
    VOLT_SQUARED_HOUR = 48
    AMPERE_SQUARED_HOUR = 49
    KILOGRAM_PER_SECOND = 50
    SIEMENS = 51
    KELVIN = 52
    VOLT_SQUARED_HOUR_METER_CONSTANT = 53
    AMPERE_SQUARED_HOUR_METER_CONSTANT = 54
    VOLUME_METER_CONSTANT = 55
    PERCENTAGE = 56
    AMPERE_HOUR = 57
    WATT_HOUR_PER_CUBIC_METRE = 60
    JOULE_PER_CUBIC_METRE = 61
    MOLE_PERCENT = 62
    GRAM_PER_CUBIC_METRE = 63
    PASCAL_SECOND = 64
    JOULE_PER_KILOGRAM = 65
    GRAM_PER_SQUARE_CENTIMETRE = 66
    ATMOSPHERE = 67
    SIGNAL_STRENGTH_DBM = 70
    SIGNAL_STRENGTH_DBUV = 71
    DECIBEL = 72
    INCH = 73
    FOOT = 74
    POUND = 75
    DEGREE_FAHRENHEIT = 76
    DEGREE_RANKINE = 77
    SQUARE_INCH = 78
    SQUARE_FOOT = 79
    ACRE = 80
    CUBIC_INCH = 81
    CUBIC_FOOT = 82
    ACRE_FOOT = 83
    GALLON_IMPERIAL = 84
    GALLON_US = 85
    POUND_FORCE = 86
    POUND_FORCE_PER_SQUARE_INCH = 87
    POUND_PER_CUBIC_FOOT = 88
    POUND_PER_FOOT_SECOND = 89
    BRITISH_THERMAL_UNIT = 90
    THERM_EU = 91
    THERM_US = 92
    POUND_PER_BRITISH_THERMAL_UNIT = 93
    RESERVED = 253
    OTHER = 254
    COUNT = 255

    @property
    def symbol(self) -> str:
        """The symbol of the unit ("" for count, unitless)."""
        return _UNITS[self][0]

    @property
    def description(self) -> str:
        """What the unit measures, in the Blue Book's words."""
        return _UNITS[self][1]


_UNITS: Final[dict[int, tuple[str, str]]] = {
    1: ("a", "time: year"),
    2: ("mo", "time: month"),
    3: ("wk", "time: week"),
    4: ("d", "time: day"),
    5: ("h", "time: hour"),
    6: ("min", "time: minute"),
    7: ("s", "time: second"),
    8: ("°", "(phase) angle: degree"),
    9: ("°C", "temperature: degree Celsius"),
    10: ("currency", "(local) currency"),
    11: ("m", "length: metre"),
    12: ("m/s", "speed: metre per second"),
    13: ("m³", "volume: cubic metre"),
    14: ("m³", "corrected volume: cubic metre"),
    15: ("m³/h", "volume flux: cubic metre per hour"),
    16: ("m³/h", "corrected volume flux: cubic metre per hour"),
    17: ("m³/d", "volume flux: cubic metre per day"),
    18: ("m³/d", "corrected volume flux: cubic metre per day"),
    19: ("l", "volume: litre"),
    20: ("kg", "mass: kilogram"),
    21: ("N", "force: newton"),
    22: ("Nm", "energy: newton metre"),
    23: ("Pa", "pressure: pascal"),
    24: ("bar", "pressure: bar"),
    25: ("J", "energy: joule"),
    26: ("J/h", "thermal power: joule per hour"),
    27: ("W", "active power: watt"),
    28: ("VA", "apparent power: volt-ampere"),
    29: ("var", "reactive power: var"),
    30: ("Wh", "active energy: watt-hour"),
    31: ("VAh", "apparent energy: volt-ampere-hour"),
    32: ("varh", "reactive energy: var-hour"),
    33: ("A", "current: ampere"),
    34: ("C", "electrical charge: coulomb"),
    35: ("V", "voltage: volt"),
    36: ("V/m", "electric field strength: volt per metre"),
    37: ("F", "capacitance: farad"),
    38: ("Ω", "resistance: ohm"),
    39: ("Ωm²/m", "resistivity: ohm metre"),
    40: ("Wb", "magnetic flux: weber"),
    41: ("T", "magnetic flux density: tesla"),
    42: ("A/m", "magnetic field strength: ampere per metre"),
    43: ("H", "inductance: henry"),
    44: ("Hz", "frequency: hertz"),
    45: ("1/(Wh)", "R_W, active energy meter constant or pulse value"),
    46: ("1/(varh)", "R_B, reactive energy meter constant or pulse value"),
    47: ("1/(VAh)", "R_S, apparent energy meter constant or pulse value"),
    48: ("V²h", "volt-squared hour"),
    49: ("A²h", "ampere-squared hour"),
    50: ("kg/s", "mass flux: kilogram per second"),
    51: ("S", "conductance: siemens (mho)"),
    52: ("K", "temperature: kelvin"),
    53: ("1/(V²h)", "R_U2h, volt-squared hour meter constant or pulse value"),
    54: ("1/(A²h)", "R_I2h, ampere-squared hour meter constant or pulse value"),
    55: ("1/m³", "R_V, volume meter constant or pulse value"),
    56: ("%", "percentage"),
    57: ("Ah", "ampere-hour"),
    60: ("Wh/m³", "energy per volume"),
    61: ("J/m³", "calorific value, wobbe"),
    62: ("mol %", "molar fraction of gas composition: mole percent"),
    63: ("g/m³", "mass density, quantity of material"),
    64: ("Pa s", "dynamic viscosity: pascal second"),
    65: ("J/kg", "specific energy: joule per kilogram"),
    66: ("g/cm²", "pressure: gram per square centimetre"),
    67: ("atm", "pressure: atmosphere"),
    70: ("dBm", "signal strength: dB milliwatt"),
    71: ("dBµV", "signal strength: dB microvolt"),
    72: ("dB", "logarithmic unit: decibel"),
    73: ("in", "length: inch"),
    74: ("ft", "length: foot"),
    75: ("lb", "mass: pound"),
    76: ("°F", "temperature: degree Fahrenheit"),
    77: ("°R", "temperature: degree Rankine"),
    78: ("sq in", "area: square inch"),
    79: ("sq ft", "area: square foot"),
    80: ("ac", "area: acre"),
    81: ("cu in", "volume: cubic inch"),
    82: ("cu ft", "volume: cubic foot"),
    83: ("ac-ft", "volume: acre-foot"),
    84: ("gal (imp)", "volume: imperial gallon"),
    85: ("gal (US)", "volume: US gallon"),
    86: ("lbf", "force: pound force"),
    87: ("psi", "pressure: pound force per square inch"),
    88: ("lb/cu ft", "density: pound per cubic foot"),
    89: ("lb/(ft s)", "dynamic viscosity: pound per foot second"),
    90: ("Btu", "energy: British thermal unit"),
    91: ("thm (EU)", "energy: therm EU"),
    92: ("thm (US)", "energy: therm US"),
    93: ("lb/Btu", "pound per British thermal unit"),
    253: ("", "reserved"),
    254: ("other", "other unit"),
    255: ("", "no unit, unitless, count"),
}


def unit_symbol(unit: int) -> str:
    """The symbol of a unit code; ``unit <code>`` for a code the enumeration lacks."""
    known = _UNITS.get(int(unit))
    return f"unit {int(unit)}" if known is None else known[0]


def _as_unit(code: int) -> Unit | int:
    return Unit(code) if code in _UNITS else int(code)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class ScalerUnit:
    """``scal_unit_type``: the power of ten and the unit of a register's value."""

    scaler: int = 0
    unit: Unit | int = Unit.COUNT

    @classmethod
    def from_value(cls, value: object) -> ScalerUnit:
        """Read a decoded ``structure {scaler integer, unit enum}``.

        Tolerant of what meters send: any two integers are accepted (a scaler sent as an
        unsigned 128..255 is read as the signed byte it stands for, e.g. 255 → -1); more
        than two elements are ignored. Anything else raises :class:`CosemValueError`.
        """
        if not isinstance(value, (tuple, list)) or len(value) < 2:
            raise CosemValueError(
                f"scaler_unit must be a structure {{scaler, unit}}, got {value!r}"
            )
        scaler, unit = value[0], value[1]
        if not isinstance(scaler, int) or isinstance(scaler, bool):
            raise CosemValueError(f"the scaler of scaler_unit must be an integer, got {scaler!r}")
        if not isinstance(unit, int) or isinstance(unit, bool):
            raise CosemValueError(f"the unit of scaler_unit must be an enum, got {unit!r}")
        if 128 <= scaler <= 255:
            scaler -= 256
        if not -128 <= scaler <= 127:
            raise CosemValueError(f"scaler {scaler} is outside -128..127")
        if not 0 <= unit <= 255:
            raise CosemValueError(f"unit {unit} is outside 0..255")
        return cls(int(scaler), _as_unit(int(unit)))

    def to_value(self) -> Structure:
        """The A-XDR value to send (``structure {integer, enum}``)."""
        return Structure((Integer(self.scaler), Enum(int(self.unit))))

    @property
    def symbol(self) -> str:
        """The unit's symbol (see :func:`unit_symbol`)."""
        return unit_symbol(self.unit)

    def scale(self, value: int | float | Decimal) -> Decimal | float:
        """``value × 10^scaler``: exact (Decimal) for integers and Decimals, float for floats."""
        return _scale(value, self.scaler)

    def __str__(self) -> str:
        return f"10^{self.scaler} {self.symbol}".rstrip()


def _scale(value: int | float | Decimal, scaler: int) -> Decimal | float:
    if isinstance(value, float):
        return float(value) * 10.0**scaler
    return Decimal(int(value) if isinstance(value, int) else value).scaleb(scaler)


@dataclass(frozen=True, slots=True)
class Quantity:
    """A physical value: ``raw_value × 10^scaler`` in ``unit``.

    ``value`` is the scaled number (Decimal for integer raw values, float for float ones);
    ``float(q)`` gives a float; ``str(q)`` gives e.g. ``"12345.6 Wh"``.
    """

    raw_value: int | float | Decimal
    scaler: int = 0
    unit: Unit | int = Unit.COUNT

    def __post_init__(self) -> None:
        if not _is_number(self.raw_value):
            raise CosemValueError(f"a quantity needs a number, got {self.raw_value!r}")
        if not isinstance(self.unit, Unit) and int(self.unit) in _UNITS:
            object.__setattr__(self, "unit", Unit(self.unit))

    @property
    def value(self) -> Decimal | float:
        """The scaled value."""
        return _scale(self.raw_value, self.scaler)

    @property
    def symbol(self) -> str:
        """The unit's symbol."""
        return unit_symbol(self.unit)

    @property
    def scaler_unit(self) -> ScalerUnit:
        """The scaler and unit as a :class:`ScalerUnit`."""
        return ScalerUnit(self.scaler, self.unit)

    def __float__(self) -> float:
        return float(self.value)

    def __str__(self) -> str:
        value = self.value
        text = format(value, "f") if isinstance(value, Decimal) else repr(value)
        symbol = self.symbol
        return f"{text} {symbol}" if symbol else text


def register_quantity(value: object, scaler_unit: ScalerUnit | Sequence[object]) -> Quantity:
    """The :class:`Quantity` of a register's ``value`` with its ``scaler_unit``.

    ``scaler_unit`` is a :class:`ScalerUnit` or the decoded structure. A value that is not a
    number (null-data, an octet-string...) raises :class:`CosemValueError`.
    """
    if not isinstance(scaler_unit, ScalerUnit):
        scaler_unit = ScalerUnit.from_value(scaler_unit)
    if not _is_number(value):
        raise CosemValueError(f"a register value must be a number to be scaled, got {value!r}")
    assert isinstance(value, (int, float, Decimal))
    return Quantity(value, scaler_unit.scaler, scaler_unit.unit)
