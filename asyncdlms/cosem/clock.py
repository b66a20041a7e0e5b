"""Clock (class 8): decoding its attributes and building the values to send.

Attribute 2 ``time`` is an octet-string(12) holding a COSEM date-time. Meters also send
(quirk 4, behaviour 8):

- an empty octet-string or null-data (no clock): :func:`decode_clock_time` gives ``None``;
- a date (5 bytes, or a typed ``date``) or a time (4 bytes, or a typed ``time``) where a
  date-time is due: it becomes a :class:`~asyncdlms.types.DateTime` whose other fields are
  "not specified";
- a typed ``date-time`` (tag 0x19) instead of an octet-string: taken as it is;
- the deviation with the opposite sign: every conversion to Python takes ``deviation_sign``
  (:class:`~asyncdlms.types.DeviationSign`), set per meter.

Any other value raises :class:`~asyncdlms.cosem.errors.CosemValueError`; a date-time with
"not specified" fields cannot become a Python ``datetime`` and
:func:`clock_datetime` raises :class:`~asyncdlms.types.WildcardError` naming the field.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from enum import IntEnum

from ..types.clock import ClockStatus, Date, DateTime, DeviationSign, Time
from ..types.values import Integer, Long, OctetString, Structure
from .errors import CosemValueError

__all__ = [
    "ClockBase",
    "ClockSettings",
    "clock_datetime",
    "clock_status",
    "clock_time_value",
    "daylight_savings_deviation",
    "decode_clock_time",
    "preset_adjusting_time_parameter",
    "shift_time_parameter",
    "time_zone_offset",
]


class ClockBase(IntEnum):
    """Clock attribute 9 ``clock_base``."""

    NOT_DEFINED = 0
    INTERNAL_CRYSTAL = 1
    MAINS_FREQUENCY_50_HZ = 2
    MAINS_FREQUENCY_60_HZ = 3
    GPS = 4
    RADIO_CONTROLLED = 5


def decode_clock_time(value: object) -> DateTime | None:
    """A date-time from a decoded clock value (attribute 2, or any date-time column).

    Accepts an octet-string of 12 (date-time), 5 (date) or 4 (time) bytes, a typed
    date-time, date or time, and ``None`` / an empty octet-string (no time: ``None``).
    """
    if value is None:
        return None
    if isinstance(value, DateTime):
        return value
    if isinstance(value, Date):
        return DateTime(
            year=value.year,
            month=value.month,
            day_of_month=value.day_of_month,
            day_of_week=value.day_of_week,
        )
    if isinstance(value, Time):
        return DateTime(
            hour=value.hour,
            minute=value.minute,
            second=value.second,
            hundredths=value.hundredths,
        )
    if isinstance(value, (bytes, bytearray)):
        size = len(value)
        if size == 0:
            return None
        if size == DateTime.SIZE:
            return DateTime.from_bytes(value)
        if size == Date.SIZE:
            return _from_fields(Date.from_bytes(value))
        if size == Time.SIZE:
            return _from_fields(Time.from_bytes(value))
        raise CosemValueError(
            f"a clock value is an octet-string of 12 bytes (or a 5-byte date, a 4-byte time), "
            f"got {size} bytes: {bytes(value).hex()}"
        )
    raise CosemValueError(f"a clock value is an octet-string or a date-time, got {value!r}")


def _from_fields(value: Date | Time) -> DateTime:
    # Fields decoded from the wire are not validated (they may be out of range), so the
    # date-time is filled through its own decoder rather than its validating constructor.
    if isinstance(value, Date):
        raw = value.to_bytes() + b"\xff\xff\xff\xff\x80\x00\xff"
    else:
        raw = b"\xff\xff\xff\xff\xff" + value.to_bytes() + b"\x80\x00\xff"
    return DateTime.from_bytes(raw)


def clock_datetime(
    value: object, *, deviation_sign: DeviationSign | int = DeviationSign.STANDARD
) -> datetime.datetime | None:
    """The Python ``datetime`` of a decoded clock value (``None`` when there is no time).

    Aware when the deviation is specified, naive otherwise; ``deviation_sign`` is the meter's
    convention. Raises :class:`~asyncdlms.types.WildcardError` or
    :class:`~asyncdlms.types.InvalidDateTimeError` for a value that names no single instant
    (a date only, a field not specified or out of range).
    """
    date_time = decode_clock_time(value)
    if date_time is None:
        return None
    return date_time.to_datetime(deviation_sign=deviation_sign)


def clock_time_value(
    value: datetime.datetime | DateTime,
    *,
    deviation_sign: DeviationSign | int = DeviationSign.STANDARD,
) -> OctetString:
    """The value to SET in attribute 2 ``time``: an octet-string(12).

    A Python ``datetime`` should be aware (the deviation comes from its UTC offset, written
    with the meter's ``deviation_sign``); a naive one is sent with the deviation "not
    specified", which most meters read as their own local time.
    """
    if isinstance(value, DateTime):
        return OctetString(value.to_bytes())
    if not isinstance(value, datetime.datetime):
        raise CosemValueError(f"expected a datetime or a DateTime, got {value!r}")
    return OctetString(DateTime.from_datetime(value, deviation_sign=deviation_sign).to_bytes())


def time_zone_offset(
    value: object, *, deviation_sign: DeviationSign | int = DeviationSign.STANDARD
) -> datetime.timedelta | None:
    """The UTC offset (local - UTC) of attribute 3 ``time_zone``.

    ``time_zone`` is the deviation of local normal time to UTC in minutes, with the same
    sign convention as the date-time deviation (Blue Book: CET is -60). 0x8000 (-32768) is
    "not specified": ``None``.
    """
    if not isinstance(value, int) or isinstance(value, bool):
        raise CosemValueError(f"time_zone must be a long, got {value!r}")
    if value == -0x8000 or value == 0x8000:
        return None
    if not -1440 < value < 1440:
        raise CosemValueError(f"time_zone {value} minutes is not a time zone")
    if deviation_sign not in (1, -1):
        raise CosemValueError(f"deviation_sign must be 1 or -1, not {deviation_sign!r}")
    return datetime.timedelta(minutes=-int(deviation_sign) * int(value))


def clock_status(value: object) -> ClockStatus | None:
    """Attribute 4 ``status`` as :class:`~asyncdlms.types.ClockStatus` (0xFF: ``None``)."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 0xFF:
        raise CosemValueError(f"clock status must be an unsigned, got {value!r}")
    return None if value == 0xFF else ClockStatus(value)


def daylight_savings_deviation(value: object) -> datetime.timedelta:
    """Attribute 7 ``daylight_savings_deviation`` (integer, minutes, -120..120)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise CosemValueError(f"daylight_savings_deviation must be an integer, got {value!r}")
    return datetime.timedelta(minutes=int(value))


def shift_time_parameter(seconds: int) -> Long:
    """The parameter of method 6 ``shift_time``: a long in -900..900 seconds."""
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not -900 <= seconds <= 900:
        raise CosemValueError(f"shift_time takes -900..900 seconds, got {seconds!r}")
    return Long(seconds)


def preset_adjusting_time_parameter(
    preset_time: datetime.datetime | DateTime,
    validity_interval_start: datetime.datetime | DateTime,
    validity_interval_end: datetime.datetime | DateTime,
    *,
    deviation_sign: DeviationSign | int = DeviationSign.STANDARD,
) -> Structure:
    """The parameter of method 5 ``preset_adjusting_time``: three octet-string(12)."""
    return Structure(
        clock_time_value(item, deviation_sign=deviation_sign)
        for item in (preset_time, validity_interval_start, validity_interval_end)
    )


@dataclass(frozen=True, slots=True)
class ClockSettings:
    """The attributes of a Clock object other than the time, read together.

    Build with :meth:`from_values` from a mapping of attribute number to decoded value
    (missing attributes stay ``None``).
    """

    time: DateTime | None = None
    time_zone: datetime.timedelta | None = None
    status: ClockStatus | None = None
    daylight_savings_begin: DateTime | None = None
    daylight_savings_end: DateTime | None = None
    daylight_savings_deviation: datetime.timedelta | None = None
    daylight_savings_enabled: bool | None = None
    clock_base: ClockBase | int | None = None

    @classmethod
    def from_values(
        cls,
        values: dict[int, object],
        *,
        deviation_sign: DeviationSign | int = DeviationSign.STANDARD,
    ) -> ClockSettings:
        """Read attributes 2..9 from ``{attribute number: decoded value}``."""
        base = values.get(9)
        if base is not None and (not isinstance(base, int) or isinstance(base, bool)):
            raise CosemValueError(f"clock_base must be an enum, got {base!r}")
        enabled = values.get(8)
        if enabled is not None and not isinstance(enabled, bool):
            raise CosemValueError(f"daylight_savings_enabled must be a boolean, got {enabled!r}")
        return cls(
            time=decode_clock_time(values.get(2)),
            time_zone=(
                None
                if values.get(3) is None
                else time_zone_offset(values[3], deviation_sign=deviation_sign)
            ),
            status=None if values.get(4) is None else clock_status(values[4]),
            daylight_savings_begin=decode_clock_time(values.get(5)),
            daylight_savings_end=decode_clock_time(values.get(6)),
            daylight_savings_deviation=(
                None if values.get(7) is None else daylight_savings_deviation(values[7])
            ),
            daylight_savings_enabled=enabled,
            clock_base=(
                None
                if base is None
                else (ClockBase(base) if base in ClockBase._value2member_map_ else int(base))
            ),
        )

    def daylight_savings_deviation_value(self) -> Integer | None:
        """Attribute 7 as the value to send (integer minutes)."""
        if self.daylight_savings_deviation is None:
            return None
        return Integer(int(self.daylight_savings_deviation.total_seconds() // 60))
