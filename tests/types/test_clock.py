"""Tests of asyncdlms.types.clock: COSEM date, time and date-time (Blue Book 4.1.6.1)."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncdlms.errors import DecodeError, DlmsError, EncodeError
from asyncdlms.types.clock import (
    DAYLIGHT_SAVINGS_BEGIN,
    DAYLIGHT_SAVINGS_END,
    LAST_DAY_OF_MONTH,
    SECOND_LAST_DAY_OF_MONTH,
    ClockStatus,
    Date,
    DateTime,
    DeviationSign,
    InvalidDateTimeError,
    Time,
    WildcardError,
)
from tests.conftest import vector

UTC = datetime.UTC
PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def tz(minutes: int) -> datetime.timezone:
    return datetime.timezone(datetime.timedelta(minutes=minutes))


# --- byte-exact round trips -------------------------------------------------------------------


@given(st.binary(min_size=12, max_size=12))
def test_every_12_bytes_round_trip(data: bytes) -> None:
    assert DateTime.from_bytes(data).to_bytes() == data
    assert bytes(DateTime.from_bytes(bytearray(data))) == data
    assert DateTime.from_bytes(memoryview(data)) == DateTime.from_bytes(data)


@given(st.binary(min_size=5, max_size=5))
def test_every_5_bytes_round_trip(data: bytes) -> None:
    assert Date.from_bytes(data).to_bytes() == data


@given(st.binary(min_size=4, max_size=4))
def test_every_4_bytes_round_trip(data: bytes) -> None:
    assert Time.from_bytes(data).to_bytes() == data


@given(st.binary(min_size=12, max_size=12))
def test_date_and_time_parts(data: bytes) -> None:
    value = DateTime.from_bytes(data)
    assert value.date.to_bytes() == data[:5]
    assert value.time.to_bytes() == data[5:9]


@pytest.mark.parametrize(
    ("cls", "size"), [(DateTime, 12), (Date, 5), (Time, 4)], ids=["datetime", "date", "time"]
)
@pytest.mark.parametrize("delta", [-1, 1])
def test_wrong_length_is_a_decode_error(cls: type[DateTime], size: int, delta: int) -> None:
    with pytest.raises(DecodeError, match=f"is {size} bytes, got {size + delta}"):
        cls.from_bytes(bytes(size + delta))


def test_decode_keeps_odd_values_and_maps_not_specified_to_none() -> None:
    odd = DateTime.from_bytes(bytes.fromhex("0000 00 40 09 80 fa 3c 64 7fff 7e"))
    assert (odd.year, odd.month, odd.day_of_month, odd.day_of_week) == (0, 0, 0x40, 9)
    assert (odd.hour, odd.minute, odd.second, odd.hundredths) == (0x80, 0xFA, 60, 100)
    assert odd.deviation == 0x7FFF
    assert odd.clock_status == 0x7E and type(odd.clock_status) is ClockStatus
    blank = DateTime.from_bytes(bytes.fromhex("ffff ff ff ff ff ff ff ff 8000 ff"))
    assert blank == DateTime()
    assert blank.to_bytes() == bytes.fromhex("ffffffffffffffffff8000ff")
    minus_one = DateTime.from_bytes(bytes.fromhex("ffffffffffffffffffffffff"))
    assert minus_one.deviation == -1  # kept, so that it re-encodes as ffff
    special = Date.from_bytes(bytes.fromhex("ffff fe fd ff"))
    assert special.month == DAYLIGHT_SAVINGS_BEGIN
    assert special.day_of_month == SECOND_LAST_DAY_OF_MONTH


# --- shared vectors (../shared/vectors/dlms-vectors.json) -------------------------------------


def test_vector_dlmscosem_axdr_datetime_0() -> None:
    """dlmscosem-axdr-datetime-0: deviation 0xFF88 = -120 is local time UTC+02:00."""
    case = vector("dlmscosem-axdr-datetime-0")
    data = bytes.fromhex(case["hex"])
    expected = datetime.datetime.fromisoformat(case["expected"]["datetime"])
    assert expected.utcoffset() == datetime.timedelta(hours=2)
    value = DateTime.from_bytes(data)
    assert value.deviation == -120
    assert value.to_datetime() == expected
    assert value.to_datetime().utcoffset() == expected.utcoffset()
    assert value.to_bytes() == data
    # and back from the datetime (that encoder wrote day_of_week 0xFF, status 0x00)
    back = DateTime.from_datetime(expected, day_of_week=None, clock_status=ClockStatus.OK)
    assert back.to_bytes() == data


def test_vector_dlmscosem_axdr_datetime_2() -> None:
    """dlmscosem-axdr-datetime-2: deviation 0x8000 (not specified) gives a naive datetime."""
    case = vector("dlmscosem-axdr-datetime-2")
    data = bytes.fromhex(case["hex"])
    expected = datetime.datetime.fromisoformat(case["expected"]["datetime"])
    value = DateTime.from_bytes(data)
    assert value.deviation is None
    result = value.to_datetime()
    assert result.tzinfo is None
    assert result == expected
    back = DateTime.from_datetime(expected, day_of_week=None, clock_status=ClockStatus.OK)
    assert back.to_bytes() == data


# --- conversions --------------------------------------------------------------------------------


def test_to_datetime_known_values() -> None:
    winter = DateTime.from_bytes(bytes.fromhex("07e8 01 0f 01 0c 1e 2d 32 ffc4 00"))
    assert winter.to_datetime() == datetime.datetime(2024, 1, 15, 12, 30, 45, 500_000, tz(60))
    assert str(winter.to_datetime()) == "2024-01-15 12:30:45.500000+01:00"
    summer = DateTime.from_bytes(bytes.fromhex("07e8 07 01 01 0c 00 00 ff ff88 80"))
    assert summer.hundredths is None
    assert summer.to_datetime() == datetime.datetime(2024, 7, 1, 12, tzinfo=tz(120))
    assert summer.clock_status is not None
    assert ClockStatus.DAYLIGHT_SAVING_ACTIVE in summer.clock_status
    west = DateTime(year=2024, month=3, day_of_month=1, hour=8, minute=0, second=0, deviation=300)
    assert west.to_datetime().utcoffset() == datetime.timedelta(hours=-5)
    utc = DateTime(year=2024, month=3, day_of_month=1, hour=8, minute=0, second=0, deviation=0)
    assert utc.to_datetime() == datetime.datetime(2024, 3, 1, 8, tzinfo=UTC)


def test_inverted_deviation_sign() -> None:
    inverted = DateTime.from_bytes(bytes.fromhex("07e8 01 0f 01 0c 00 00 00 003c 00"))
    assert inverted.to_datetime().utcoffset() == datetime.timedelta(hours=-1)
    for sign in (DeviationSign.INVERTED, -1):
        local = inverted.to_datetime(deviation_sign=sign)
        assert local == datetime.datetime(2024, 1, 15, 12, tzinfo=tz(60))
    assert inverted.utc_offset(deviation_sign=-1) == datetime.timedelta(hours=1)
    source = datetime.datetime(2024, 1, 15, 12, tzinfo=tz(60))
    assert DateTime.from_datetime(source, deviation_sign=DeviationSign.INVERTED) == inverted
    assert DateTime.from_datetime(source).deviation == -60
    with pytest.raises(ValueError, match="deviation_sign"):
        inverted.to_datetime(deviation_sign=0)


@pytest.mark.parametrize("deviation", ["8000", "ffff"])
def test_deviation_not_specified_gives_naive(deviation: str) -> None:
    value = DateTime.from_bytes(bytes.fromhex(f"07e8010f010c000000{deviation}00"))
    assert value.utc_offset() is None
    assert value.to_datetime() == datetime.datetime(2024, 1, 15, 12)
    assert value.to_datetime().tzinfo is None
    assert value.to_bytes().hex() == f"07e8010f010c000000{deviation}00"


def test_garbage_deviation_gives_naive() -> None:
    value = DateTime.from_bytes(bytes.fromhex("07e8010f010c0000007fff00"))
    assert value.to_datetime().tzinfo is None


def test_from_datetime() -> None:
    value = DateTime.from_datetime(datetime.datetime(2024, 7, 1, 12, 0, 5, 123_456, PARIS))
    assert value == DateTime(
        year=2024,
        month=7,
        day_of_month=1,
        day_of_week=1,
        hour=12,
        minute=0,
        second=5,
        hundredths=12,
        deviation=-120,
        clock_status=ClockStatus.DAYLIGHT_SAVING_ACTIVE,
    )
    assert value.to_bytes().hex() == "07e80701010c00050cff8880"
    winter = DateTime.from_datetime(datetime.datetime(2024, 1, 15, 12, tzinfo=PARIS))
    assert (winter.deviation, winter.clock_status, winter.day_of_week) == (-60, 0, 1)
    naive = DateTime.from_datetime(datetime.datetime(2024, 1, 15, 12))
    assert (naive.deviation, naive.clock_status) == (None, None)
    assert naive.to_bytes().hex() == "07e8010f010c0000008000ff"
    chosen = DateTime.from_datetime(
        datetime.datetime(2024, 1, 15, 12, tzinfo=UTC),
        clock_status=ClockStatus.DOUBTFUL_VALUE,
        day_of_week=None,
    )
    assert chosen.to_bytes().hex() == "07e8010fff0c000000000002"
    with pytest.raises(EncodeError, match="whole number of minutes"):
        DateTime.from_datetime(
            datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone(datetime.timedelta(seconds=30)))
        )
    with pytest.raises(EncodeError, match=r"datetime\.datetime"):
        DateTime.from_datetime(datetime.date(2024, 1, 1))  # type: ignore[arg-type]


@given(
    st.datetimes(
        min_value=datetime.datetime(1, 1, 1),
        max_value=datetime.datetime(9999, 12, 31),
        # +-1 minute is left out: a deviation of -1 reads as "not specified" (no zone has it)
        timezones=st.none()
        | st.builds(tz, st.integers(-840, 840).filter(lambda minutes: abs(minutes) != 1)),
    ),
    st.sampled_from([DeviationSign.STANDARD, DeviationSign.INVERTED]),
)
def test_datetime_round_trip(value: datetime.datetime, sign: DeviationSign) -> None:
    value = value.replace(microsecond=value.microsecond // 10_000 * 10_000)
    cosem = DateTime.from_datetime(value, deviation_sign=sign)
    assert cosem.is_fully_specified == (value.tzinfo is not None)
    again = DateTime.from_bytes(cosem.to_bytes())
    assert again == cosem
    result = again.to_datetime(deviation_sign=sign)
    assert result == value
    assert result.utcoffset() == value.utcoffset()


def test_now() -> None:
    before = datetime.datetime.now(UTC).replace(microsecond=0)
    value = DateTime.now()
    assert value.deviation is not None
    assert value.clock_status is not None
    assert value.is_fully_specified
    assert value.to_datetime() >= before
    in_utc = DateTime.now(UTC)
    assert in_utc.deviation == 0
    assert in_utc.to_datetime() - before < datetime.timedelta(seconds=5)


def test_date_conversions() -> None:
    assert Date.from_date(datetime.date(2024, 2, 29)).to_bytes().hex() == "07e8021d04"
    assert Date.from_date(datetime.date(2024, 2, 29), day_of_week=None).day_of_week is None
    assert Date.from_date(datetime.datetime(2024, 2, 29, 23, 59)).day_of_month == 29
    assert Date.from_bytes(bytes.fromhex("07e8021dff")).to_date() == datetime.date(2024, 2, 29)
    assert Date(year=2024, month=2, day_of_month=LAST_DAY_OF_MONTH).to_date().day == 29
    assert Date(year=2023, month=2, day_of_month=LAST_DAY_OF_MONTH).to_date().day == 28
    assert Date(year=2024, month=2, day_of_month=SECOND_LAST_DAY_OF_MONTH).to_date().day == 28
    with pytest.raises(EncodeError, match=r"datetime\.date"):
        Date.from_date("2024-01-01")  # type: ignore[arg-type]


def test_time_conversions() -> None:
    assert Time.from_time(datetime.time(23, 59, 58, 990_000)).to_bytes().hex() == "173b3a63"
    assert Time.from_time(datetime.datetime(2024, 1, 1, 1, 2, 3)).to_bytes().hex() == "01020300"
    assert Time.from_bytes(bytes.fromhex("010203ff")).to_time() == datetime.time(1, 2, 3)
    assert Time.from_bytes(bytes.fromhex("01020363")).to_time() == datetime.time(1, 2, 3, 990_000)
    with pytest.raises(WildcardError, match=r"minute is not specified \(0xFF\); cannot convert"):
        Time(hour=1, second=0).to_time()
    with pytest.raises(InvalidDateTimeError, match=r"hour is 24, outside 0\.\.23"):
        Time.from_bytes(bytes.fromhex("18000000")).to_time()
    with pytest.raises(EncodeError, match=r"datetime\.time"):
        Time.from_time(3)  # type: ignore[arg-type]


# --- wildcards and errors -----------------------------------------------------------------------

FULL = bytes.fromhex("07e8010f010c1e2d32ffc400")


@pytest.mark.parametrize(
    ("offset", "raw", "message"),
    [
        (0, "ffff", r"year is not specified \(0xFFFF\); cannot convert to datetime"),
        (0, "0000", r"year is 0 \(not specified\)"),
        (2, "ff", r"month is not specified \(0xFF\); cannot convert to datetime"),
        (2, "00", r"month is 0 \(not specified\)"),
        (2, "fe", r"month is daylight_savings_begin \(0xFE\)"),
        (2, "fd", r"month is daylight_savings_end \(0xFD\)"),
        (3, "ff", r"day_of_month is not specified \(0xFF\)"),
        (3, "00", r"day_of_month is 0 \(not specified\)"),
        (5, "ff", r"hour is not specified \(0xFF\)"),
        (6, "ff", r"minute is not specified \(0xFF\)"),
        (7, "ff", r"second is not specified \(0xFF\)"),
    ],
)
def test_wildcard_errors_name_the_field(offset: int, raw: str, message: str) -> None:
    data = bytearray(FULL)
    patch = bytes.fromhex(raw)
    data[offset : offset + len(patch)] = patch
    value = DateTime.from_bytes(data)
    assert value.to_bytes() == data
    assert not value.is_fully_specified
    with pytest.raises(WildcardError, match=message) as info:
        value.to_datetime()
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, DlmsError)


@pytest.mark.parametrize(
    ("offset", "raw", "message"),
    [
        (2, "0d", "month is 13, outside 1..12"),
        (3, "1e", "day_of_month is 30, but 2024-01 has 31 days"),
        (5, "18", "hour is 24, outside 0..23"),
        (6, "3c", "minute is 60, outside 0..59"),
        (7, "3c", "second is 60, outside 0..59"),
        (8, "64", "hundredths is 100, outside 0..99"),
    ],
)
def test_out_of_range_conversion_errors(offset: int, raw: str, message: str) -> None:
    data = bytearray(FULL)
    data[offset] = bytes.fromhex(raw)[0]
    if raw == "1e":
        data[3] = 32  # 32 does not exist in any month
        message = "day_of_month is 32, but 2024-01 has 31 days"
    with pytest.raises(InvalidDateTimeError, match=message) as info:
        DateTime.from_bytes(data).to_datetime()
    assert not isinstance(info.value, WildcardError)


def test_february_30() -> None:
    with pytest.raises(InvalidDateTimeError, match="2023-02 has 28 days"):
        Date(year=2023, month=2, day_of_month=30).to_date()


def test_last_day_of_month_in_a_datetime() -> None:
    value = DateTime(year=2024, month=4, day_of_month=LAST_DAY_OF_MONTH, hour=0, minute=0, second=0)
    assert value.to_datetime() == datetime.datetime(2024, 4, 30)


# --- construction from Python -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"hour": 25}, "DateTime hour is 25, outside 0..23"),
        ({"minute": 60}, "minute is 60, outside 0..59"),
        ({"second": -1}, "second is -1, outside 0..59"),
        ({"hundredths": 100}, "hundredths is 100"),
        ({"month": 13}, "month is 13, outside 1..12, 0xFD, 0xFE"),
        ({"month": 0xFF}, r"use None for not specified"),
        ({"day_of_month": 0}, "day_of_month is 0, outside 1..31, 0xFD, 0xFE"),
        ({"day_of_month": 0xE0}, "day_of_month is 224"),
        ({"day_of_week": 8}, "day_of_week is 8, outside 1..7"),
        ({"day_of_week": 0}, "day_of_week is 0"),
        ({"year": 0xFFFF}, "year is 65535, outside 0..65534"),
        ({"deviation": 841}, "deviation is 841, outside -840..840"),
        ({"deviation": -0x8000}, "deviation is -32768"),
        ({"clock_status": 0xFF}, "clock_status is 255, outside 0..254"),
        ({"hour": "1"}, "hour must be an int or None"),
        ({"hour": 1.0}, "hour must be an int or None"),
        ({"hour": True}, "hour must be an int or None .*, not bool"),
    ],
)
def test_construction_validates(fields: dict[str, object], message: str) -> None:
    with pytest.raises(EncodeError, match=message):
        DateTime(**fields)  # type: ignore[arg-type]


def test_construction_of_date_and_time_validates() -> None:
    with pytest.raises(EncodeError, match="Date month is 0"):
        Date(month=0)
    with pytest.raises(EncodeError, match="Time hour is 24"):
        Time(hour=24)


def test_construction_accepts_specials_and_coerces_status() -> None:
    value = DateTime(
        month=DAYLIGHT_SAVINGS_END,
        day_of_month=LAST_DAY_OF_MONTH,
        day_of_week=7,
        hour=3,
        clock_status=0x81,  # type: ignore[arg-type]
    )
    assert type(value.clock_status) is ClockStatus
    assert value.clock_status == ClockStatus.INVALID_VALUE | ClockStatus.DAYLIGHT_SAVING_ACTIVE
    assert value.to_bytes().hex() == "fffffdfe0703ffffff800081"
    assert DateTime.from_bytes(value.to_bytes()) == value


def test_frozen_hashable() -> None:
    value = DateTime.from_bytes(FULL)
    with pytest.raises(AttributeError):
        value.hour = 1  # type: ignore[misc]
    assert {value: 1}[DateTime.from_bytes(FULL)] == 1


# --- is_fully_specified and str -----------------------------------------------------------------


def test_is_fully_specified() -> None:
    assert DateTime.from_bytes(bytes.fromhex("07e8010f010c1e2d32ffc400")).is_fully_specified
    assert not DateTime.from_bytes(bytes.fromhex("07e8010f010c1e2d32ffffff")).is_fully_specified
    assert not DateTime.from_bytes(bytes.fromhex("07e8010f010c1e2d328000ff")).is_fully_specified
    assert not DateTime.from_bytes(bytes.fromhex("07e8010fff0c1e2d32ffc400")).is_fully_specified
    assert Date(year=2024, month=1, day_of_month=1, day_of_week=1).is_fully_specified
    assert not Date(year=2024, month=DAYLIGHT_SAVINGS_BEGIN, day_of_month=1, day_of_week=1)\
        .is_fully_specified  # fmt: skip
    assert not Date().is_fully_specified
    assert Time(hour=1, minute=2, second=3, hundredths=4).is_fully_specified
    assert not Time(hour=1, minute=2, second=3).is_fully_specified


def test_str() -> None:
    value = DateTime.from_bytes(bytes.fromhex("07e8010f010c1e2d32ffc400"))
    assert str(value) == "2024-01-15 Mon 12:30:45.50 deviation=-60 status=0x00"
    assert str(DateTime()) == "****-**-** * **:**:**.** deviation=* status=*"
    special = DateTime(month=DAYLIGHT_SAVINGS_BEGIN, day_of_month=LAST_DAY_OF_MONTH, hour=2)
    assert str(special) == "****-dst_begin-last * 02:**:**.** deviation=* status=*"
    assert str(Date(year=2024, month=DAYLIGHT_SAVINGS_END, day_of_month=SECOND_LAST_DAY_OF_MONTH))\
        == "2024-dst_end-2nd_last *"  # fmt: skip
    assert str(Time(hour=7)) == "07:**:**.**"
    odd = DateTime.from_bytes(bytes.fromhex("07e80d200909000000ff8880"))
    assert str(odd) == "2024-13-32 weekday 9 09:00:00.00 deviation=-120 status=0x80"
