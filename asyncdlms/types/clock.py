"""COSEM date, time and date-time values (DLMS UA Blue Book 4.1.6.1, IEC 62056-6-2).

Wire formats (octet-strings, big-endian)::

    date       5 bytes  year(2) month day_of_month day_of_week
    time       4 bytes  hour minute second hundredths
    date-time 12 bytes  date(5) time(4) deviation(2, signed) clock_status(1)

"Not specified" is ``None`` on the Python side: 0xFFFF for the year, 0x8000 for the deviation
and 0xFF for every one-byte field (including clock_status). Every other wire value is kept as
the int it is, even when it is outside the range of the standard, so that
``X.from_bytes(b).to_bytes() == b`` holds for *every* input of the right length; decoding never
validates more than the length. The special values stay ints too: month
:data:`DAYLIGHT_SAVINGS_END` (0xFD) / :data:`DAYLIGHT_SAVINGS_BEGIN` (0xFE), day_of_month
:data:`SECOND_LAST_DAY_OF_MONTH` (0xFD) / :data:`LAST_DAY_OF_MONTH` (0xFE).

Values built from Python (``DateTime(year=2024, month=1, ...)``, ``from_datetime``...) are
validated and raise :class:`~asyncdlms.errors.EncodeError` when out of range.

Deviation (Blue Book: "interpreted as long, range -720...+720, in minutes of local time to
UTC; 0x8000 = not specified") is the number of minutes to *add to the local time to get UTC*:
UTC = local + deviation, i.e. deviation = -utcoffset. Central Europe sends -60 in winter and
-120 in summer. Some meters (the Indian, Saudi and Italian companion specifications, per
Gurux's documentation and its ``useUtc2NormalTime`` setting) send the opposite sign;
conversions take ``deviation_sign=DeviationSign.INVERTED`` for those. When converting, a year
of 0, a month or day of 0, and a deviation of 0x8000 or -1 (0xFFFF) are treated as "not
specified" too, since real meters send them so (a deviation outside +-1439 minutes, which no
time zone has, is treated the same way).
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime
import struct
import time as _time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal

from asyncdlms.errors import DecodeError, DlmsError, EncodeError

__all__ = [
    "DAYLIGHT_SAVINGS_BEGIN",
    "DAYLIGHT_SAVINGS_END",
    "LAST_DAY_OF_MONTH",
    "SECOND_LAST_DAY_OF_MONTH",
    "ClockStatus",
    "Date",
    "DateTime",
    "DeviationSign",
    "InvalidDateTimeError",
    "Time",
    "WildcardError",
]

DAYLIGHT_SAVINGS_END: Final = 0xFD
"""Month value: the month in which daylight saving time ends."""
DAYLIGHT_SAVINGS_BEGIN: Final = 0xFE
"""Month value: the month in which daylight saving time begins."""
SECOND_LAST_DAY_OF_MONTH: Final = 0xFD
"""Day-of-month value: the second last day of the month."""
LAST_DAY_OF_MONTH: Final = 0xFE
"""Day-of-month value: the last day of the month."""

_NS: Final = 0xFF  # one-byte "not specified"
_YEAR_NS: Final = 0xFFFF
_DEVIATION_NS: Final = -0x8000  # 0x8000 read as a signed 16-bit integer
_MAX_DEVIATION: Final = 840  # UTC-12..UTC+14; the Blue Book says +-720 but +13/+14 zones exist

_DATE_TIME_STRUCT = struct.Struct(">HBBBBBBBhB")
_DATE_STRUCT = struct.Struct(">HBBB")
_TIME_STRUCT = struct.Struct(">BBBB")

# Byte value -> field value: itself, or None for 0xFF. An index is faster than a comparison.
_BYTE: Final[tuple[int | None, ...]] = (*range(0xFF), None)

_WEEKDAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class ClockStatus(IntFlag):
    """The clock_status byte of a date-time (0xFF, not specified, is ``None``)."""

    OK = 0x00
    INVALID_VALUE = 0x01
    """The time could not be recovered after an incident (e.g. a power failure)."""
    DOUBTFUL_VALUE = 0x02
    """The time was recovered after an incident but cannot be guaranteed."""
    DIFFERENT_CLOCK_BASE = 0x04
    """The time comes from another source than the one named in clock_base."""
    INVALID_CLOCK_STATUS = 0x08
    """At least one bit of the clock status is invalid."""
    DAYLIGHT_SAVING_ACTIVE = 0x80
    """The transmitted time contains the daylight saving deviation (summer time)."""


_STATUS: Final[tuple[ClockStatus | None, ...]] = (
    *(ClockStatus(value) for value in range(0xFF)),
    None,
)


class DeviationSign(IntEnum):
    """Which way a meter counts the deviation of a date-time.

    The value is the factor in ``utcoffset = -sign * deviation``.
    """

    STANDARD = 1
    """Blue Book: minutes from local time to UTC (UTC = local + deviation); CET winter: -60."""
    INVERTED = -1
    """Minutes from UTC to local time (deviation = utcoffset); CET winter: +60."""


class InvalidDateTimeError(DlmsError, ValueError):
    """A COSEM date/time value that cannot become a Python date/time (e.g. month 13)."""


class WildcardError(InvalidDateTimeError):
    """A field is "not specified" or a repeating special value, so there is no single instant."""


_TIMEZONES: dict[int, datetime.timezone] = {}


def _timezone(offset_minutes: int) -> datetime.timezone:
    zone = _TIMEZONES.get(offset_minutes)
    if zone is None:
        zone = datetime.timezone(datetime.timedelta(minutes=offset_minutes))
        if len(_TIMEZONES) < 4096:
            _TIMEZONES[offset_minutes] = zone
    return zone


def _check_sign(deviation_sign: DeviationSign | int) -> int:
    if deviation_sign not in (1, -1):
        raise ValueError(
            f"deviation_sign must be DeviationSign.STANDARD (1) or DeviationSign.INVERTED (-1), "
            f"not {deviation_sign!r}"
        )
    return int(deviation_sign)


def _check_field(
    type_name: str, name: str, value: object, low: int, high: int, specials: tuple[int, ...] = ()
) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise EncodeError(
            f"{type_name} {name} must be an int or None (not specified), not {type(value).__name__}"
        )
    if low <= value <= high or value in specials:
        return
    allowed = f"{low}..{high}"
    if specials:
        allowed += ", " + ", ".join(f"0x{special:02X}" for special in specials)
    raise EncodeError(
        f"{type_name} {name} is {value}, outside {allowed} (use None for not specified)"
    )


def _check_date_fields(type_name: str, value: Any) -> None:
    _check_field(type_name, "year", value.year, 0, 0xFFFE)
    _check_field(
        type_name, "month", value.month, 1, 12, (DAYLIGHT_SAVINGS_END, DAYLIGHT_SAVINGS_BEGIN)
    )
    _check_field(
        type_name,
        "day_of_month",
        value.day_of_month,
        1,
        31,
        (SECOND_LAST_DAY_OF_MONTH, LAST_DAY_OF_MONTH),
    )
    _check_field(type_name, "day_of_week", value.day_of_week, 1, 7)


def _check_time_fields(type_name: str, value: Any) -> None:
    _check_field(type_name, "hour", value.hour, 0, 23)
    _check_field(type_name, "minute", value.minute, 0, 59)
    _check_field(type_name, "second", value.second, 0, 59)
    _check_field(type_name, "hundredths", value.hundredths, 0, 99)


def _resolve_date(
    target: str, year: int | None, month: int | None, day_of_month: int | None
) -> tuple[int, int, int]:
    """Year, month and day of a real date, or a WildcardError/InvalidDateTimeError."""
    if year is None:
        raise WildcardError(f"year is not specified (0xFFFF); cannot convert to {target}")
    if year == 0:
        raise WildcardError(f"year is 0 (not specified); cannot convert to {target}")
    if month is None:
        raise WildcardError(f"month is not specified (0xFF); cannot convert to {target}")
    if month == 0:
        raise WildcardError(f"month is 0 (not specified); cannot convert to {target}")
    if month == DAYLIGHT_SAVINGS_END:
        raise WildcardError(
            f"month is daylight_savings_end (0xFD), a recurring date; cannot convert to {target}"
        )
    if month == DAYLIGHT_SAVINGS_BEGIN:
        raise WildcardError(
            f"month is daylight_savings_begin (0xFE), a recurring date; cannot convert to {target}"
        )
    if month > 12:
        raise InvalidDateTimeError(f"month is {month}, outside 1..12; cannot convert to {target}")
    if year > datetime.MAXYEAR:
        raise InvalidDateTimeError(
            f"year is {year}, after {datetime.MAXYEAR}; cannot convert to {target}"
        )
    if day_of_month is None:
        raise WildcardError(f"day_of_month is not specified (0xFF); cannot convert to {target}")
    if day_of_month == 0:
        raise WildcardError(f"day_of_month is 0 (not specified); cannot convert to {target}")
    days_in_month = calendar.monthrange(year, month)[1]
    if day_of_month == LAST_DAY_OF_MONTH:
        return year, month, days_in_month
    if day_of_month == SECOND_LAST_DAY_OF_MONTH:
        return year, month, days_in_month - 1
    if day_of_month > days_in_month:
        raise InvalidDateTimeError(
            f"day_of_month is {day_of_month}, but {year:04d}-{month:02d} has {days_in_month} "
            f"days; cannot convert to {target}"
        )
    return year, month, day_of_month


def _resolve_time(
    target: str, hour: int | None, minute: int | None, second: int | None, hundredths: int | None
) -> tuple[int, int, int, int]:
    """Hour, minute, second and microsecond; hundredths not specified counts as 0."""
    for name, value, high in (("hour", hour, 23), ("minute", minute, 59), ("second", second, 59)):
        if value is None:
            raise WildcardError(f"{name} is not specified (0xFF); cannot convert to {target}")
        if value > high:
            raise InvalidDateTimeError(
                f"{name} is {value}, outside 0..{high}; cannot convert to {target}"
            )
    if hundredths is None:
        hundredths = 0
    elif hundredths > 99:
        raise InvalidDateTimeError(
            f"hundredths is {hundredths}, outside 0..99; cannot convert to {target}"
        )
    assert hour is not None and minute is not None and second is not None
    return hour, minute, second, hundredths * 10_000


def _text(value: int | None, width: int) -> str:
    return "*" * width if value is None else f"{value:0{width}d}"


def _date_text(year: int | None, month: int | None, day: int | None, week: int | None) -> str:
    month_text = {DAYLIGHT_SAVINGS_END: "dst_end", DAYLIGHT_SAVINGS_BEGIN: "dst_begin"}.get(
        month if month is not None else -1, _text(month, 2)
    )
    day_text = {SECOND_LAST_DAY_OF_MONTH: "2nd_last", LAST_DAY_OF_MONTH: "last"}.get(
        day if day is not None else -1, _text(day, 2)
    )
    if week is None:
        week_text = "*"
    elif 1 <= week <= 7:
        week_text = _WEEKDAYS[week - 1]
    else:
        week_text = f"weekday {week}"
    return f"{_text(year, 4)}-{month_text}-{day_text} {week_text}"


def _time_text(hour: int | None, minute: int | None, second: int | None, hs: int | None) -> str:
    return f"{_text(hour, 2)}:{_text(minute, 2)}:{_text(second, 2)}.{_text(hs, 2)}"


def _auto_day_of_week(
    value: datetime.date, day_of_week: int | Literal["auto"] | None
) -> int | None:
    return value.isoweekday() if day_of_week == "auto" else day_of_week


@dataclass(frozen=True, slots=True, kw_only=True)
class Date:
    """A COSEM date (5 bytes); every field ``None`` when not specified (the default).

    ``month`` may also be :data:`DAYLIGHT_SAVINGS_END`/:data:`DAYLIGHT_SAVINGS_BEGIN` and
    ``day_of_month`` :data:`SECOND_LAST_DAY_OF_MONTH`/:data:`LAST_DAY_OF_MONTH`;
    ``day_of_week`` is 1 (Monday) .. 7 (Sunday).
    """

    SIZE: ClassVar[int] = 5

    year: int | None = None
    month: int | None = None
    day_of_month: int | None = None
    day_of_week: int | None = None

    def __post_init__(self) -> None:
        _check_date_fields("Date", self)

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> Date:
        """Decode the 5 octets of a date; only the length is checked (:class:`DecodeError`)."""
        try:
            year, month, day_of_month, day_of_week = _DATE_STRUCT.unpack(data)
        except struct.error:
            raise DecodeError(f"a COSEM date is 5 bytes, got {len(data)}") from None
        value = _new(cls)
        _DATE_SET_YEAR(value, None if year == _YEAR_NS else year)
        _DATE_SET_MONTH(value, _BYTE[month])
        _DATE_SET_DAY_OF_MONTH(value, _BYTE[day_of_month])
        _DATE_SET_DAY_OF_WEEK(value, _BYTE[day_of_week])
        return value

    def to_bytes(self) -> bytes:
        """The 5 octets of this date."""
        return _DATE_STRUCT.pack(
            _YEAR_NS if self.year is None else self.year,
            _NS if self.month is None else self.month,
            _NS if self.day_of_month is None else self.day_of_month,
            _NS if self.day_of_week is None else self.day_of_week,
        )

    def __bytes__(self) -> bytes:
        return self.to_bytes()

    @classmethod
    def from_date(
        cls, value: datetime.date, *, day_of_week: int | Literal["auto"] | None = "auto"
    ) -> Date:
        """The COSEM date of ``value``; ``day_of_week`` is computed unless given (or None)."""
        if not isinstance(value, datetime.date):
            raise EncodeError(f"expected a datetime.date, not {type(value).__name__}")
        return cls(
            year=value.year,
            month=value.month,
            day_of_month=value.day,
            day_of_week=_auto_day_of_week(value, day_of_week),
        )

    def to_date(self) -> datetime.date:
        """This date as a :class:`datetime.date` (day_of_week is not checked).

        A last or second last day of month is resolved when year and month are given.
        Raises :class:`WildcardError` when a field is not specified.
        """
        return datetime.date(*_resolve_date("date", self.year, self.month, self.day_of_month))

    @property
    def is_fully_specified(self) -> bool:
        """True when no field is "not specified" (None, year 0, month or day 0) or special."""
        return (
            self.year is not None
            and self.year != 0
            and self.month not in (None, 0, DAYLIGHT_SAVINGS_END, DAYLIGHT_SAVINGS_BEGIN)
            and self.day_of_month not in (None, 0, SECOND_LAST_DAY_OF_MONTH, LAST_DAY_OF_MONTH)
            and self.day_of_week is not None
        )

    def __str__(self) -> str:
        return _date_text(self.year, self.month, self.day_of_month, self.day_of_week)


@dataclass(frozen=True, slots=True, kw_only=True)
class Time:
    """A COSEM time (4 bytes); every field ``None`` when not specified (the default)."""

    SIZE: ClassVar[int] = 4

    hour: int | None = None
    minute: int | None = None
    second: int | None = None
    hundredths: int | None = None

    def __post_init__(self) -> None:
        _check_time_fields("Time", self)

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> Time:
        """Decode the 4 octets of a time; only the length is checked (:class:`DecodeError`)."""
        try:
            hour, minute, second, hundredths = _TIME_STRUCT.unpack(data)
        except struct.error:
            raise DecodeError(f"a COSEM time is 4 bytes, got {len(data)}") from None
        value = _new(cls)
        _TIME_SET_HOUR(value, _BYTE[hour])
        _TIME_SET_MINUTE(value, _BYTE[minute])
        _TIME_SET_SECOND(value, _BYTE[second])
        _TIME_SET_HUNDREDTHS(value, _BYTE[hundredths])
        return value

    def to_bytes(self) -> bytes:
        """The 4 octets of this time."""
        return _TIME_STRUCT.pack(
            _NS if self.hour is None else self.hour,
            _NS if self.minute is None else self.minute,
            _NS if self.second is None else self.second,
            _NS if self.hundredths is None else self.hundredths,
        )

    def __bytes__(self) -> bytes:
        return self.to_bytes()

    @classmethod
    def from_time(cls, value: datetime.time | datetime.datetime) -> Time:
        """The COSEM time of ``value`` (a time zone, if any, is ignored; µs truncated)."""
        if isinstance(value, datetime.datetime):
            value = value.time()
        if not isinstance(value, datetime.time):
            raise EncodeError(f"expected a datetime.time, not {type(value).__name__}")
        return cls(
            hour=value.hour,
            minute=value.minute,
            second=value.second,
            hundredths=value.microsecond // 10_000,
        )

    def to_time(self) -> datetime.time:
        """This time as a naive :class:`datetime.time`; hundredths not specified count as 0.

        Raises :class:`WildcardError` when hour, minute or second is not specified.
        """
        return datetime.time(
            *_resolve_time("time", self.hour, self.minute, self.second, self.hundredths)
        )

    @property
    def is_fully_specified(self) -> bool:
        """True when no field is "not specified"."""
        return None not in (self.hour, self.minute, self.second, self.hundredths)

    def __str__(self) -> str:
        return _time_text(self.hour, self.minute, self.second, self.hundredths)


class _Octets:
    """The slot holding a :class:`DateTime`'s 12 wire octets (a base: dataclass slots are
    made from the fields only)."""

    __slots__ = ("_octets",)
    _octets: bytes


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class DateTime(_Octets):
    """A COSEM date-time (12 bytes); every field ``None`` when not specified (the default).

    Date fields as in :class:`Date`, time fields as in :class:`Time`, plus ``deviation``
    (signed minutes from local time to UTC, see the module documentation) and
    ``clock_status`` (:class:`ClockStatus`).

    A date-time is one allocation holding its 12 octets: decoding (:meth:`from_bytes`, the
    rows of a profile buffer) stores them and nothing else, the fields are read from them
    the first time one is asked for, and :meth:`to_bytes`, :meth:`to_datetime`, equality
    and hashing work on the octets directly. The octets and the fields are two spellings of
    one value (every 12 octets decode to fields that encode back to them), so equality is
    that of the fields.
    """

    SIZE: ClassVar[int] = 12

    year: int | None = None
    month: int | None = None
    day_of_month: int | None = None
    day_of_week: int | None = None
    hour: int | None = None
    minute: int | None = None
    second: int | None = None
    hundredths: int | None = None
    deviation: int | None = None
    clock_status: ClockStatus | None = None

    def __post_init__(self) -> None:
        _check_date_fields("DateTime", self)
        _check_time_fields("DateTime", self)
        _check_field("DateTime", "deviation", self.deviation, -_MAX_DEVIATION, _MAX_DEVIATION)
        _check_field("DateTime", "clock_status", self.clock_status, 0, 0xFE)
        if self.clock_status is not None and type(self.clock_status) is not ClockStatus:
            object.__setattr__(self, "clock_status", ClockStatus(self.clock_status))
        _SET_OCTETS(self, self._pack_fields())

    if not TYPE_CHECKING:  # (mypy would take every unknown attribute as Any)

        def __getattr__(self, name: str) -> Any:
            """A field not read yet (decoded from the octets), or the octets of a value
            whose fields were set without them (unpickled, copied)."""
            if name in _FIELD_NAMES:
                self._unpack_octets()
                return _FIELD_GETTERS[name](self)
            if name == "_octets":
                octets = self._pack_fields()
                _SET_OCTETS(self, octets)
                return octets
            raise AttributeError(f"'DateTime' object has no attribute {name!r}")

    def _unpack_octets(self) -> None:
        (year, month, day_of_month, day_of_week, hour, minute, second, hundredths, deviation,
         clock_status) = _DATE_TIME_STRUCT.unpack(self._octets)  # fmt: skip
        _SET_YEAR(self, None if year == _YEAR_NS else year)
        _SET_MONTH(self, _BYTE[month])
        _SET_DAY_OF_MONTH(self, _BYTE[day_of_month])
        _SET_DAY_OF_WEEK(self, _BYTE[day_of_week])
        _SET_HOUR(self, _BYTE[hour])
        _SET_MINUTE(self, _BYTE[minute])
        _SET_SECOND(self, _BYTE[second])
        _SET_HUNDREDTHS(self, _BYTE[hundredths])
        _SET_DEVIATION(self, None if deviation == _DEVIATION_NS else deviation)
        _SET_CLOCK_STATUS(self, _STATUS[clock_status])

    def _pack_fields(self) -> bytes:
        return _DATE_TIME_STRUCT.pack(
            _YEAR_NS if self.year is None else self.year,
            _NS if self.month is None else self.month,
            _NS if self.day_of_month is None else self.day_of_month,
            _NS if self.day_of_week is None else self.day_of_week,
            _NS if self.hour is None else self.hour,
            _NS if self.minute is None else self.minute,
            _NS if self.second is None else self.second,
            _NS if self.hundredths is None else self.hundredths,
            _DEVIATION_NS if self.deviation is None else self.deviation,
            _NS if self.clock_status is None else self.clock_status,
        )

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._octets == other._octets
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._octets)

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> DateTime:
        """Decode the 12 octets of a date-time; only the length is checked (DecodeError)."""
        octets = bytes(data)
        if len(octets) != 12:
            raise DecodeError(f"a COSEM date-time is 12 bytes, got {len(octets)}")
        value = _new(cls)
        _SET_OCTETS(value, octets)
        return value

    def to_bytes(self) -> bytes:
        """The 12 octets of this date-time."""
        return self._octets

    def __bytes__(self) -> bytes:
        return self._octets

    @property
    def date(self) -> Date:
        """The date part (fields kept as they are, not validated)."""
        return Date.from_bytes(self._octets[:5])

    @property
    def time(self) -> Time:
        """The time part (fields kept as they are, not validated)."""
        return Time.from_bytes(self._octets[5:9])

    def utc_offset(
        self, *, deviation_sign: DeviationSign | int = DeviationSign.STANDARD
    ) -> datetime.timedelta | None:
        """The UTC offset (local - UTC) given by the deviation, or None when not specified.

        A deviation of 0x8000 or -1, or one of 1440 minutes or more either way, counts as
        not specified.
        """
        sign = _check_sign(deviation_sign)
        deviation = self.deviation
        if deviation is None or deviation == -1 or not -1440 < deviation < 1440:
            return None
        return datetime.timedelta(minutes=-sign * deviation)

    def to_datetime(
        self, *, deviation_sign: DeviationSign | int = DeviationSign.STANDARD
    ) -> datetime.datetime:
        """This date-time as a :class:`datetime.datetime`.

        Aware (a fixed-offset :class:`datetime.timezone`) when the deviation is specified,
        naive otherwise. ``deviation_sign=DeviationSign.INVERTED`` reads the deviation of a
        meter that counts it from UTC to local time. Hundredths not specified count as 0; a
        last or second last day of month is resolved; day_of_week and clock_status are not
        checked. Raises :class:`WildcardError` (naming the field) when a field is not
        specified, :class:`InvalidDateTimeError` when one is out of range.
        """
        return datetime_from_octets(self._octets, deviation_sign)

    @classmethod
    def from_datetime(
        cls,
        value: datetime.datetime,
        *,
        deviation_sign: DeviationSign | int = DeviationSign.STANDARD,
        clock_status: ClockStatus | Literal["auto"] | None = "auto",
        day_of_week: int | Literal["auto"] | None = "auto",
    ) -> DateTime:
        """The COSEM date-time of ``value`` (microseconds truncated to hundredths).

        An aware ``value`` gives the deviation from its ``utcoffset()`` (whole minutes only),
        a naive one "not specified". ``clock_status="auto"`` gives
        ``DAYLIGHT_SAVING_ACTIVE`` when ``value.dst()`` is non-zero and OK otherwise for an
        aware value, "not specified" for a naive one. ``day_of_week="auto"`` computes it.
        """
        sign = _check_sign(deviation_sign)
        if not isinstance(value, datetime.datetime):
            raise EncodeError(f"expected a datetime.datetime, not {type(value).__name__}")
        offset = value.utcoffset()
        deviation: int | None = None
        if offset is not None:
            minutes, rest = divmod(offset, datetime.timedelta(minutes=1))
            if rest:
                raise EncodeError(
                    f"UTC offset {offset} of {value.isoformat()} is not a whole number of minutes"
                )
            deviation = -sign * minutes
        if clock_status == "auto":
            if offset is None:
                clock_status = None
            elif value.dst():
                clock_status = ClockStatus.DAYLIGHT_SAVING_ACTIVE
            else:
                clock_status = ClockStatus.OK
        return cls(
            year=value.year,
            month=value.month,
            day_of_month=value.day,
            day_of_week=_auto_day_of_week(value, day_of_week),
            hour=value.hour,
            minute=value.minute,
            second=value.second,
            hundredths=value.microsecond // 10_000,
            deviation=deviation,
            clock_status=clock_status,
        )

    @classmethod
    def now(
        cls,
        tz: datetime.tzinfo | None = None,
        *,
        deviation_sign: DeviationSign | int = DeviationSign.STANDARD,
    ) -> DateTime:
        """The current time in ``tz``, or in the local time zone of this computer.

        The deviation is always specified; ``DAYLIGHT_SAVING_ACTIVE`` is set in summer time.
        """
        if tz is not None:
            return cls.from_datetime(datetime.datetime.now(tz), deviation_sign=deviation_sign)
        local = datetime.datetime.now().astimezone()
        summer = _time.localtime(local.timestamp()).tm_isdst > 0
        status = ClockStatus.DAYLIGHT_SAVING_ACTIVE if summer else ClockStatus.OK
        return cls.from_datetime(local, deviation_sign=deviation_sign, clock_status=status)

    @property
    def is_fully_specified(self) -> bool:
        """True when no field is "not specified" or special (see :class:`Date`).

        Year 0, month or day 0 and deviation -1 count as not specified, as in conversions.
        """
        return (
            self.date.is_fully_specified
            and None not in (self.hour, self.minute, self.second, self.hundredths)
            and self.deviation is not None
            and self.deviation != -1
            and self.clock_status is not None
        )

    def __str__(self) -> str:
        date_text = _date_text(self.year, self.month, self.day_of_month, self.day_of_week)
        time_text = _time_text(self.hour, self.minute, self.second, self.hundredths)
        deviation = "*" if self.deviation is None else str(self.deviation)
        status = "*" if self.clock_status is None else f"0x{self.clock_status:02X}"
        return f"{date_text} {time_text} deviation={deviation} status={status}"


_new = object.__new__


def _setter(cls: type, name: str) -> Any:
    """The slot setter of ``cls.name``: sets a frozen field without __setattr__/validation."""
    return cls.__dict__[name].__set__


_DATE_SET_YEAR = _setter(Date, "year")
_DATE_SET_MONTH = _setter(Date, "month")
_DATE_SET_DAY_OF_MONTH = _setter(Date, "day_of_month")
_DATE_SET_DAY_OF_WEEK = _setter(Date, "day_of_week")
_TIME_SET_HOUR = _setter(Time, "hour")
_TIME_SET_MINUTE = _setter(Time, "minute")
_TIME_SET_SECOND = _setter(Time, "second")
_TIME_SET_HUNDREDTHS = _setter(Time, "hundredths")
_SET_YEAR = _setter(DateTime, "year")
_SET_MONTH = _setter(DateTime, "month")
_SET_DAY_OF_MONTH = _setter(DateTime, "day_of_month")
_SET_DAY_OF_WEEK = _setter(DateTime, "day_of_week")
_SET_HOUR = _setter(DateTime, "hour")
_SET_MINUTE = _setter(DateTime, "minute")
_SET_SECOND = _setter(DateTime, "second")
_SET_HUNDREDTHS = _setter(DateTime, "hundredths")
_SET_DEVIATION = _setter(DateTime, "deviation")
_SET_CLOCK_STATUS = _setter(DateTime, "clock_status")
DATE_TIME_OCTETS: Final[Any] = _Octets.__dict__["_octets"]
"""(internal) The slot of a :class:`DateTime`'s octets, for decoders that inline
:func:`new_date_time`."""
_SET_OCTETS = DATE_TIME_OCTETS.__set__
_FIELD_NAMES: Final = frozenset(field.name for field in dataclasses.fields(DateTime))
_FIELD_GETTERS: Final = {name: DateTime.__dict__[name].__get__ for name in _FIELD_NAMES}


def new_date_time(octets: bytes) -> DateTime:
    """The :class:`DateTime` of 12 octets a decoder has already checked (their length, that
    they are ``bytes``): :meth:`DateTime.from_bytes` without the checks, for hot loops."""
    value: DateTime = _new(DateTime)
    _SET_OCTETS(value, octets)
    return value


# deviation -> the time zone of to_datetime (None: naive), per deviation sign
_ZONES: Final[dict[int, dict[int, datetime.timezone | None]]] = {1: {}, -1: {}}


def _zone(zones: dict[int, datetime.timezone | None], deviation: int, sign: int) -> Any:
    zone = None
    if deviation != _DEVIATION_NS and deviation != -1 and -1440 < deviation < 1440:
        zone = _timezone(-sign * deviation)
    if len(zones) < 4096:
        zones[deviation] = zone
    return zone


def datetime_from_octets(
    octets: bytes, deviation_sign: DeviationSign | int = DeviationSign.STANDARD
) -> datetime.datetime:
    """:meth:`DateTime.to_datetime` of the 12 octets of a date-time (an octet-string(12)
    column of a profile buffer) without making the :class:`DateTime`; other lengths raise
    :class:`DecodeError`.

    One ``struct`` unpack and one ``datetime`` call for an ordinary instant; values that
    ``datetime`` refuses (wildcards, last day of month, out of range) go the long way, which
    resolves them or raises the same errors as :meth:`DateTime.to_datetime`.
    """
    zones = _ZONES.get(deviation_sign)
    if zones is None:
        zones = _ZONES[_check_sign(deviation_sign)]  # (raises ValueError for another sign)
    try:
        (year, month, day_of_month, _, hour, minute, second, hundredths, deviation,
         _) = _DATE_TIME_STRUCT.unpack(octets)  # fmt: skip
    except struct.error:
        raise DecodeError(f"a COSEM date-time is 12 bytes, got {len(octets)}") from None
    zone = zones.get(deviation, _NO_ZONE)
    if zone is _NO_ZONE:
        zone = _zone(zones, deviation, deviation_sign)
    try:
        return datetime.datetime(
            year,
            month,
            day_of_month,
            hour,
            minute,
            second,
            0 if hundredths == _NS else hundredths * 10_000,
            zone,
        )
    except ValueError:
        pass
    year, month, day_of_month = _resolve_date(
        "datetime", None if year == _YEAR_NS else year, _BYTE[month], _BYTE[day_of_month]
    )
    return datetime.datetime(
        year,
        month,
        day_of_month,
        *_resolve_time("datetime", _BYTE[hour], _BYTE[minute], _BYTE[second], _BYTE[hundredths]),
        zone,
    )


_NO_ZONE: Final[Any] = object()

# hundredths byte -> microsecond of a datetime: 0xFF (not specified) is 0; 100..254, out of
# range, are -1, which datetime() refuses
_MICROSECONDS: Final = (*(hundredths * 10_000 for hundredths in range(100)), *(-1,) * 155, 0)


def datetimes_from_octets(
    octets: Sequence[bytes], deviation_sign: DeviationSign | int = DeviationSign.STANDARD
) -> list[datetime.datetime] | None:
    """:func:`datetime_from_octets` of many date-times at once (a profile's time column),
    or ``None`` when one of them is not an ordinary instant (not 12 octets, a wildcard, a
    special or out-of-range field): the caller then converts them one by one.

    Column by column with ``map``: one ``struct`` unpack and one ``datetime`` call per value,
    no Python code per value.
    """
    zones = _ZONES.get(deviation_sign)
    if zones is None:
        zones = _ZONES[_check_sign(deviation_sign)]  # (raises ValueError for another sign)
    if not octets:
        return []
    try:
        (years, months, days, _, hours, minutes, seconds, hundredths, deviations,
         _) = zip(*map(_DATE_TIME_STRUCT.unpack, octets), strict=True)  # fmt: skip
    except struct.error:
        return None
    local = {}
    for deviation in set(deviations):
        zone = zones.get(deviation, _NO_ZONE)
        local[deviation] = _zone(zones, deviation, deviation_sign) if zone is _NO_ZONE else zone
    try:
        return list(
            map(
                datetime.datetime,
                years,
                months,
                days,
                hours,
                minutes,
                seconds,
                map(_MICROSECONDS.__getitem__, hundredths),
                map(local.__getitem__, deviations),
            )
        )
    except ValueError:
        return None
