"""Register (class 3), Extended register (4) and Demand register (5): typed readings.

``register_quantity(value, scaler_unit)`` (in :mod:`~asyncdlms.cosem.units`) scales one
value; the classes here gather the attributes a client reads together::

    reading = ExtendedRegisterReading.from_values(value, scaler_unit, status, capture_time)
    reading.quantity          # Quantity, e.g. 1234.5 W
    reading.capture_time      # datetime (aware when the meter gives the deviation)

A value that is not a number (some registers hold an octet-string or null-data) is kept
as it is in ``value`` and ``quantity`` is ``None``; a capture time that names no single
instant is kept as the COSEM :class:`~asyncdlms.types.DateTime`.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..errors import DlmsError
from ..types.clock import DateTime, DeviationSign
from ._values import as_int
from .clock import decode_clock_time
from .errors import CosemValueError
from .units import Quantity, ScalerUnit

__all__ = ["DemandRegisterReading", "ExtendedRegisterReading", "RegisterReading"]


def _scaler_unit(value: object) -> ScalerUnit:
    return value if isinstance(value, ScalerUnit) else ScalerUnit.from_value(value)


def _quantity(value: object, scaler_unit: ScalerUnit) -> Quantity | None:
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return Quantity(value, scaler_unit.scaler, scaler_unit.unit)
    return None


def _time(
    value: object, deviation_sign: DeviationSign | int
) -> datetime.datetime | DateTime | None:
    date_time = decode_clock_time(value)
    if date_time is None:
        return None
    try:
        return date_time.to_datetime(deviation_sign=deviation_sign)
    except DlmsError:
        return date_time


@dataclass(frozen=True, slots=True)
class RegisterReading:
    """Register attributes 2 ``value`` and 3 ``scaler_unit``."""

    value: Any
    scaler_unit: ScalerUnit
    quantity: Quantity | None

    @classmethod
    def from_values(
        cls, value: object, scaler_unit: ScalerUnit | Sequence[object]
    ) -> RegisterReading:
        """Read the decoded value and scaler_unit."""
        su = _scaler_unit(scaler_unit)
        return cls(value, su, _quantity(value, su))


@dataclass(frozen=True, slots=True)
class ExtendedRegisterReading:
    """Extended register attributes 2..5: value, scaler_unit, status, capture_time."""

    value: Any
    scaler_unit: ScalerUnit
    quantity: Quantity | None
    status: Any
    capture_time: datetime.datetime | DateTime | None

    @classmethod
    def from_values(
        cls,
        value: object,
        scaler_unit: ScalerUnit | Sequence[object],
        status: object,
        capture_time: object,
        *,
        deviation_sign: DeviationSign | int = DeviationSign.STANDARD,
    ) -> ExtendedRegisterReading:
        """Read the four decoded attribute values."""
        su = _scaler_unit(scaler_unit)
        return cls(value, su, _quantity(value, su), status, _time(capture_time, deviation_sign))


@dataclass(frozen=True, slots=True)
class DemandRegisterReading:
    """Demand register attributes 2..9.

    ``current_average`` and ``last_average`` are the scaled values of
    ``current_average_value`` and ``last_average_value``; ``period`` is a timedelta.
    """

    current_average_value: Any
    last_average_value: Any
    scaler_unit: ScalerUnit
    current_average: Quantity | None
    last_average: Quantity | None
    status: Any = None
    capture_time: datetime.datetime | DateTime | None = None
    start_time_current: datetime.datetime | DateTime | None = None
    period: datetime.timedelta | None = None
    number_of_periods: int | None = None

    @classmethod
    def from_values(
        cls,
        values: dict[int, object],
        *,
        deviation_sign: DeviationSign | int = DeviationSign.STANDARD,
    ) -> DemandRegisterReading:
        """Read ``{attribute number: decoded value}``; attribute 4 (scaler_unit) is needed,
        the others may be missing (:class:`CosemValueError` otherwise)."""
        if 4 not in values:
            raise CosemValueError("a demand register reading needs attribute 4 scaler_unit")
        su = _scaler_unit(values[4])
        current, last = values.get(2), values.get(3)
        period = values.get(8)
        periods = values.get(9)
        return cls(
            current,
            last,
            su,
            _quantity(current, su),
            _quantity(last, su),
            values.get(5),
            _time(values.get(6), deviation_sign),
            _time(values.get(7), deviation_sign),
            None if period is None else datetime.timedelta(seconds=as_int(period, "period")),
            None if periods is None else as_int(periods, "number_of_periods"),
        )
