"""Interoperability of asyncdlms.types.clock with gurux-dlms (Python, pinned 1.0.203).

Gurux is used only as a black box here (its encoder and decoder are called, nothing is
copied). Findings about Gurux, checked below:

- Deviation: by default Gurux writes ``-utcoffset`` (UTC+01:00 -> 0xFFC4 = -60), the Blue Book
  convention ("minutes of local time to UTC"), and reads it back the same way; with
  ``settings.useUtc2NormalTime = True`` it writes and reads ``+utcoffset``, which is our
  ``DeviationSign.INVERTED``.
- ``_GXCommon.setDateTime`` (the 12-byte date-time) swaps the two daylight-savings month
  values: DST_BEGIN is written 0xFD and DST_END 0xFE, while its own decoder and
  ``setDate`` (5-byte date) use the Blue Book values (0xFE begin, 0xFD end).
- ``_GXCommon.getTime`` (the 4-byte time) returns hundredths * 10 as *microseconds*
  (0.52 s becomes 520 µs); its 12-byte decoder gets it right.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass
from typing import Any

import pytest

pytest.importorskip("gurux_dlms")

from gurux_dlms import (  # type: ignore[import-untyped]
    GXByteBuffer,
    GXDate,
    GXDateTime,
    GXDLMSSettings,
    GXTime,
    GXTimeZone,
)
from gurux_dlms.enums import (  # type: ignore[import-untyped]
    DataType,
    DateTimeExtraInfo,
    DateTimeSkips,
)
from gurux_dlms.internal._GXCommon import _GXCommon  # type: ignore[import-untyped]
from gurux_dlms.internal._GXDataInfo import (  # type: ignore[import-untyped]
    _GXDataInfo,
)

from asyncdlms.types.clock import (
    DAYLIGHT_SAVINGS_BEGIN,
    DAYLIGHT_SAVINGS_END,
    LAST_DAY_OF_MONTH,
    SECOND_LAST_DAY_OF_MONTH,
    ClockStatus,
    Date,
    DateTime,
    DeviationSign,
    Time,
)


def settings(*, utc_to_normal_time: bool = False) -> Any:
    value = GXDLMSSettings(False, None)
    value.useUtc2NormalTime = utc_to_normal_time
    return value


def gurux_encode(value: Any, data_type: Any, *, utc_to_normal_time: bool = False) -> bytes:
    """Gurux's A-XDR encoding of ``value`` as ``data_type``, tag and length stripped."""
    buffer = GXByteBuffer()
    _GXCommon.setData(settings(utc_to_normal_time=utc_to_normal_time), buffer, data_type, value)
    encoded = bytes(buffer.array())
    if data_type == DataType.OCTET_STRING:
        assert encoded[0] == 0x09
        return encoded[2:]
    return encoded[1:]


def gurux_decode(tag: int, contents: bytes, *, utc_to_normal_time: bool = False) -> Any:
    buffer = GXByteBuffer(bytes([tag]) + contents)
    return _GXCommon.getData(settings(utc_to_normal_time=utc_to_normal_time), buffer, _GXDataInfo())


@dataclass(frozen=True)
class Sample:
    """One generated date-time: None marks a field "not specified"."""

    year: int | None
    month: int | None
    day_of_month: int | None
    day_of_week: int | None
    hour: int | None
    minute: int | None
    second: int | None
    hundredths: int | None
    deviation: int | None
    clock_status: int | None

    def ours(self) -> DateTime:
        return DateTime(
            year=self.year,
            month=self.month,
            day_of_month=self.day_of_month,
            day_of_week=self.day_of_week,
            hour=self.hour,
            minute=self.minute,
            second=self.second,
            hundredths=self.hundredths,
            deviation=self.deviation,
            clock_status=None if self.clock_status is None else ClockStatus(self.clock_status),
        )

    def gurux(self, *, sign: int = 1) -> Any:
        """The equivalent GXDateTime (its wildcards are skip flags)."""
        offset = 0 if self.deviation is None else -sign * self.deviation
        value = GXDateTime(
            datetime.datetime(
                2000 if self.year is None else self.year,
                1 if self.month is None else self.month,
                1 if self.day_of_month is None else self.day_of_month,
                0 if self.hour is None else self.hour,
                0 if self.minute is None else self.minute,
                0 if self.second is None else self.second,
                0 if self.hundredths is None else self.hundredths * 10_000,
                tzinfo=GXTimeZone(offset),
            )
        )
        skip = DateTimeSkips.NONE
        for field, flag in (
            ("year", DateTimeSkips.YEAR),
            ("month", DateTimeSkips.MONTH),
            ("day_of_month", DateTimeSkips.DAY),
            ("day_of_week", DateTimeSkips.DAY_OF_WEEK),
            ("hour", DateTimeSkips.HOUR),
            ("minute", DateTimeSkips.MINUTE),
            ("second", DateTimeSkips.SECOND),
            ("hundredths", DateTimeSkips.MILLISECOND),
            ("deviation", DateTimeSkips.DEVITATION),
            ("clock_status", DateTimeSkips.STATUS),
        ):
            if getattr(self, field) is None:
                skip |= flag
        value.skip = skip
        value.dayOfWeek = 0xFF if self.day_of_week is None else self.day_of_week
        value.status = 0 if self.clock_status is None else self.clock_status
        return value


def maybe(rng: random.Random, value: int) -> int | None:
    return None if rng.random() < 0.2 else value


def samples(count: int, seed: int, *, wildcards: bool = True) -> list[Sample]:
    rng = random.Random(seed)
    flags = [0x01, 0x02, 0x04, 0x08, 0x80]
    result = []
    for _ in range(count):
        pick = (lambda value: maybe(rng, value)) if wildcards else (lambda value: value)
        deviation = rng.choice([rng.randrange(-720, 721, 15), rng.randint(-840, 840)])
        if deviation in (-1, 1):
            deviation = 0  # -1 reads as "not specified" on our side (quirk 4)
        status = sum(flag for flag in flags if rng.random() < 0.3)
        result.append(
            Sample(
                year=pick(rng.randint(1970, 2100)),
                month=pick(rng.randint(1, 12)),
                day_of_month=pick(rng.randint(1, 28)),
                day_of_week=pick(rng.randint(1, 7)),
                hour=pick(rng.randint(0, 23)),
                minute=pick(rng.randint(0, 59)),
                second=pick(rng.randint(0, 59)),
                hundredths=pick(rng.randint(0, 99)),
                deviation=pick(deviation),
                clock_status=pick(status),
            )
        )
    return result


WITH_WILDCARDS = samples(400, seed=62056)
FULLY_SPECIFIED = samples(200, seed=4061, wildcards=False)


@pytest.mark.parametrize("sample", WITH_WILDCARDS + FULLY_SPECIFIED, ids=str)
def test_encoding_matches_gurux_byte_for_byte(sample: Sample) -> None:
    ours = sample.ours().to_bytes()
    assert gurux_encode(sample.gurux(), DataType.OCTET_STRING) == ours
    assert gurux_encode(sample.gurux(), DataType.DATETIME) == ours


@pytest.mark.parametrize("sample", FULLY_SPECIFIED[:50], ids=str)
def test_inverted_sign_matches_gurux_utc_to_normal_time(sample: Sample) -> None:
    ours = sample.ours()
    inverted = gurux_encode(sample.gurux(sign=-1), DataType.DATETIME, utc_to_normal_time=True)
    assert inverted == ours.to_bytes()
    decoded = gurux_decode(0x19, ours.to_bytes(), utc_to_normal_time=True)
    assert decoded.value == ours.to_datetime(deviation_sign=DeviationSign.INVERTED)
    assert decoded.value.utcoffset() == ours.utc_offset(deviation_sign=DeviationSign.INVERTED)


@pytest.mark.parametrize("sample", WITH_WILDCARDS + FULLY_SPECIFIED, ids=str)
def test_gurux_bytes_decode_to_the_same_fields(sample: Sample) -> None:
    contents = gurux_encode(sample.gurux(), DataType.DATETIME)
    ours = DateTime.from_bytes(contents)
    assert ours == sample.ours()
    theirs = gurux_decode(0x19, contents)
    skipped = {
        "year": DateTimeSkips.YEAR,
        "month": DateTimeSkips.MONTH,
        "day_of_month": DateTimeSkips.DAY,
        "day_of_week": DateTimeSkips.DAY_OF_WEEK,
        "hundredths": DateTimeSkips.MILLISECOND,
        "deviation": DateTimeSkips.DEVITATION,
    }
    for field, flag in skipped.items():
        assert (getattr(ours, field) is None) == bool(theirs.skip & flag), field
    if ours.year is not None:
        assert theirs.value.year == ours.year
    if ours.month is not None:
        assert theirs.value.month == ours.month
    if ours.day_of_month is not None:
        assert theirs.value.day == ours.day_of_month
    if ours.day_of_week is not None:
        assert theirs.dayOfWeek == ours.day_of_week
    # Gurux flags hour/minute/second 0xFF as skipped through its range checks (> 24, > 60).
    for field, flag, attribute in (
        ("hour", DateTimeSkips.HOUR, "hour"),
        ("minute", DateTimeSkips.MINUTE, "minute"),
        ("second", DateTimeSkips.SECOND, "second"),
    ):
        if getattr(ours, field) is None:
            assert theirs.skip & flag, field
        else:
            assert getattr(theirs.value, attribute) == getattr(ours, field), field
    if ours.hundredths is not None:
        assert theirs.value.microsecond == ours.hundredths * 10_000
    assert theirs.status == (0xFF if ours.clock_status is None else ours.clock_status)
    if ours.deviation is None:
        assert theirs.value.tzinfo is None
    else:
        assert theirs.value.utcoffset() == ours.utc_offset()
        assert theirs.value.utcoffset() == datetime.timedelta(minutes=-ours.deviation)


@pytest.mark.parametrize("sample", FULLY_SPECIFIED, ids=str)
def test_conversion_agrees_with_gurux(sample: Sample) -> None:
    contents = sample.ours().to_bytes()
    theirs = gurux_decode(0x19, contents).value
    ours = DateTime.from_bytes(contents).to_datetime()
    assert ours == theirs
    assert ours.utcoffset() == theirs.utcoffset()
    assert ours.replace(tzinfo=None) == theirs.replace(tzinfo=None)


@pytest.mark.parametrize("offset_minutes", [-600, -300, -60, 0, 60, 120, 330, 345, 600, 840])
def test_deviation_convention_is_the_blue_book_one(offset_minutes: int) -> None:
    """Gurux and we both write deviation = -utcoffset: UTC = local + deviation."""
    zone = datetime.timezone(datetime.timedelta(minutes=offset_minutes))
    local = datetime.datetime(2024, 1, 15, 12, 0, 0, tzinfo=zone)
    theirs = GXDateTime(local)
    theirs.skip |= DateTimeSkips.MILLISECOND
    theirs.dayOfWeek = 1
    gurux_bytes = gurux_encode(theirs, DataType.DATETIME)
    ours = DateTime.from_datetime(local, clock_status=ClockStatus.OK)
    assert ours.deviation == -offset_minutes
    assert ours.to_bytes()[:8] + b"\xff" + ours.to_bytes()[9:] == gurux_bytes
    assert int.from_bytes(gurux_bytes[9:11], "big", signed=True) == -offset_minutes
    inverted = gurux_encode(theirs, DataType.DATETIME, utc_to_normal_time=True)
    assert int.from_bytes(inverted[9:11], "big", signed=True) == offset_minutes
    mirrored = DateTime.from_datetime(local, deviation_sign=DeviationSign.INVERTED)
    assert mirrored.deviation == offset_minutes


def test_central_european_winter_is_minus_60() -> None:
    cet = GXDateTime(datetime.datetime(2024, 1, 15, 12, tzinfo=GXTimeZone(60)))
    assert gurux_encode(cet, DataType.DATETIME)[9:11] == b"\xff\xc4"
    ours = DateTime.from_bytes(gurux_encode(cet, DataType.DATETIME))
    assert ours.deviation == -60
    assert ours.to_datetime().utcoffset() == datetime.timedelta(hours=1)


def special_date(extra: int) -> Any:
    value = GXDate(datetime.datetime(2024, 1, 1))
    value.extra = extra
    value.skip |= DateTimeSkips.YEAR | DateTimeSkips.DAY_OF_WEEK
    if extra & (DateTimeExtraInfo.DST_BEGIN | DateTimeExtraInfo.DST_END) == 0:
        value.skip |= DateTimeSkips.MONTH
    if extra & (DateTimeExtraInfo.LAST_DAY | DateTimeExtraInfo.LAST_DAY2) == 0:
        value.skip |= DateTimeSkips.DAY
    return value


@pytest.mark.parametrize(
    ("extra", "ours"),
    [
        (DateTimeExtraInfo.DST_BEGIN, Date(month=DAYLIGHT_SAVINGS_BEGIN)),
        (DateTimeExtraInfo.DST_END, Date(month=DAYLIGHT_SAVINGS_END)),
        (DateTimeExtraInfo.LAST_DAY, Date(day_of_month=LAST_DAY_OF_MONTH)),
        (DateTimeExtraInfo.LAST_DAY2, Date(day_of_month=SECOND_LAST_DAY_OF_MONTH)),
    ],
    ids=["dst_begin", "dst_end", "last_day", "second_last_day"],
)
def test_special_date_values_match_gurux_set_date(extra: int, ours: Date) -> None:
    assert gurux_encode(special_date(extra), DataType.DATE) == ours.to_bytes()
    decoded = gurux_decode(0x1A, ours.to_bytes())
    assert decoded.extra == extra


def test_gurux_set_date_time_swaps_the_daylight_savings_months() -> None:
    """A Gurux quirk, recorded: its 12-byte encoder writes DST_BEGIN as 0xFD, DST_END as 0xFE."""
    for extra, written, blue_book in (
        (DateTimeExtraInfo.DST_BEGIN, 0xFD, DAYLIGHT_SAVINGS_BEGIN),
        (DateTimeExtraInfo.DST_END, 0xFE, DAYLIGHT_SAVINGS_END),
    ):
        value = GXDateTime(datetime.datetime(2024, 1, 1, 2, 0, 0, tzinfo=GXTimeZone(0)))
        value.extra = extra
        encoded = gurux_encode(value, DataType.DATETIME)
        assert encoded[2] == written != blue_book
        # Gurux's own decoder reads the Blue Book value, so it does not round-trip itself:
        assert gurux_decode(0x19, encoded).extra != extra
        ours = DateTime.from_bytes(encoded[:2] + bytes([blue_book]) + encoded[3:])
        assert ours.month == blue_book
        assert gurux_decode(0x19, ours.to_bytes()).extra == extra


@pytest.mark.parametrize("sample", WITH_WILDCARDS[:200], ids=str)
def test_date_and_time_match_gurux(sample: Sample) -> None:
    full = sample.gurux()
    date = GXDate(full)
    date.skip = full.skip | DateTimeSkips.HOUR | DateTimeSkips.MINUTE | DateTimeSkips.SECOND
    date.dayOfWeek = full.dayOfWeek
    ours_date = sample.ours().date
    assert gurux_encode(date, DataType.DATE) == ours_date.to_bytes()
    assert gurux_encode(date, DataType.OCTET_STRING) == ours_date.to_bytes()
    time = GXTime(full)
    time.skip = full.skip
    ours_time = sample.ours().time
    assert gurux_encode(time, DataType.TIME) == ours_time.to_bytes()
    assert gurux_encode(time, DataType.OCTET_STRING) == ours_time.to_bytes()
    assert Date.from_bytes(gurux_encode(date, DataType.DATE)) == ours_date
    assert Time.from_bytes(gurux_encode(time, DataType.TIME)) == ours_time
    decoded_time = gurux_decode(0x1B, ours_time.to_bytes())
    if ours_time.hour is not None:
        assert decoded_time.value.hour == ours_time.hour
    if ours_time.is_fully_specified:
        expected = ours_time.to_time()
        assert decoded_time.value.time().replace(microsecond=0) == expected.replace(microsecond=0)
        # Gurux quirk, recorded: its 4-byte time decoder passes milliseconds where datetime
        # wants microseconds, so 0.52 s comes back as 520 µs. Ours gives 520000 µs.
        assert decoded_time.value.microsecond * 1000 == expected.microsecond
