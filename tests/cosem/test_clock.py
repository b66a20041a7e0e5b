"""Clock (class 8) helpers: attribute decoding quirks (quirk 4) and values to send."""

from __future__ import annotations

import contextlib
import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncdlms import axdr
from asyncdlms.cosem import (
    ClockBase,
    ClockSettings,
    CosemValueError,
    clock_datetime,
    clock_status,
    clock_time_value,
    daylight_savings_deviation,
    decode_clock_time,
    preset_adjusting_time_parameter,
    shift_time_parameter,
    time_zone_offset,
)
from asyncdlms.errors import DlmsError
from asyncdlms.types import (
    ClockStatus,
    Date,
    DateTime,
    DeviationSign,
    Long,
    OctetString,
    Time,
    WildcardError,
)

CET = datetime.timezone(datetime.timedelta(hours=1))
WINTER = bytes.fromhex("07e30c1f0217000000ffc400")  # 2019-12-31 Tue 23:00, deviation -60


def test_octet_string_clock() -> None:
    assert clock_datetime(OctetString(WINTER)) == datetime.datetime(2019, 12, 31, 23, tzinfo=CET)


def test_deviation_sign_per_meter() -> None:
    inverted = clock_datetime(WINTER, deviation_sign=DeviationSign.INVERTED)
    assert inverted == datetime.datetime(
        2019, 12, 31, 23, tzinfo=datetime.timezone(datetime.timedelta(hours=-1))
    )


def test_empty_and_null_clock_is_none() -> None:
    assert decode_clock_time(OctetString(b"")) is None
    assert decode_clock_time(None) is None
    assert clock_datetime(b"") is None


def test_typed_date_time_is_taken_as_is() -> None:
    typed = axdr.decode(b"\x19" + WINTER)
    assert isinstance(typed, DateTime)
    assert decode_clock_time(typed) is typed
    assert clock_datetime(typed) == datetime.datetime(2019, 12, 31, 23, tzinfo=CET)


def test_date_or_time_where_a_date_time_is_due() -> None:
    date_only = decode_clock_time(OctetString(bytes.fromhex("07e30c1f02")))
    assert date_only is not None
    assert (date_only.year, date_only.month, date_only.day_of_month) == (2019, 12, 31)
    assert date_only.hour is None and date_only.deviation is None
    time_only = decode_clock_time(bytes.fromhex("17000000"))
    assert time_only is not None and time_only.year is None and time_only.hour == 23
    typed_date = decode_clock_time(Date(year=2024, month=2, day_of_month=29))
    assert typed_date is not None and typed_date.day_of_month == 29
    typed_time = decode_clock_time(Time(hour=1, minute=2, second=3))
    assert typed_time is not None and typed_time.minute == 2
    # A date alone names no instant: a clear error naming the field.
    with pytest.raises(WildcardError, match="hour"):
        clock_datetime(bytes.fromhex("07e30c1f02"))


def test_wrong_clock_values_are_clear_errors() -> None:
    for bad in (b"\x01\x02\x03", 5, "2024-01-01", [1, 2]):
        with pytest.raises(CosemValueError):
            decode_clock_time(bad)


def test_not_specified_deviation_gives_naive_datetime() -> None:
    raw = bytes.fromhex("07e2020c0500000000800000")  # dlmscosem-axdr-load-profile-24h row 1
    assert clock_datetime(raw) == datetime.datetime(2018, 2, 12, 0, 0)


def test_clock_time_value_round_trip() -> None:
    moment = datetime.datetime(
        2024, 7, 1, 12, 30, 15, tzinfo=datetime.timezone(datetime.timedelta(hours=2))
    )
    value = clock_time_value(moment)
    assert isinstance(value, OctetString) and len(value) == 12
    assert clock_datetime(value) == moment
    assert DateTime.from_bytes(value).deviation == -120
    inverted = clock_time_value(moment, deviation_sign=DeviationSign.INVERTED)
    assert DateTime.from_bytes(inverted).deviation == 120
    assert clock_datetime(inverted, deviation_sign=DeviationSign.INVERTED) == moment
    assert clock_time_value(DateTime.from_bytes(WINTER)) == WINTER
    with pytest.raises(CosemValueError):
        clock_time_value("now")  # type: ignore[arg-type]


def test_other_attributes() -> None:
    assert time_zone_offset(Long(-60)) == datetime.timedelta(hours=1)
    assert time_zone_offset(60, deviation_sign=DeviationSign.INVERTED) == datetime.timedelta(
        hours=1
    )
    assert time_zone_offset(-0x8000) is None
    assert clock_status(0x80) == ClockStatus.DAYLIGHT_SAVING_ACTIVE
    assert clock_status(0xFF) is None
    assert daylight_savings_deviation(60) == datetime.timedelta(hours=1)
    for bad_call in (
        lambda: time_zone_offset(b"x"),
        lambda: time_zone_offset(5000),
        lambda: clock_status(300),
        lambda: daylight_savings_deviation(None),
    ):
        with pytest.raises(CosemValueError):
            bad_call()


def test_clock_settings_from_values() -> None:
    settings = ClockSettings.from_values(
        {
            2: OctetString(WINTER),
            3: -60,
            4: 0,
            5: OctetString(bytes.fromhex("ffff03fe07020000000000ff")),
            6: OctetString(bytes.fromhex("ffff0afe07030000000000ff")),
            7: 60,
            8: True,
            9: 1,
        }
    )
    assert settings.time == DateTime.from_bytes(WINTER)
    assert settings.time_zone == datetime.timedelta(hours=1)
    assert settings.status == ClockStatus.OK
    assert settings.daylight_savings_begin is not None
    assert settings.daylight_savings_begin.month == 3
    assert settings.daylight_savings_deviation == datetime.timedelta(hours=1)
    assert settings.daylight_savings_enabled is True
    assert settings.clock_base is ClockBase.INTERNAL_CRYSTAL
    assert settings.daylight_savings_deviation_value() == 60
    assert ClockSettings.from_values({9: 77}).clock_base == 77
    assert ClockSettings.from_values({}) == ClockSettings()


def test_method_parameters() -> None:
    assert shift_time_parameter(-900) == -900 and isinstance(shift_time_parameter(5), Long)
    for bad in (901, -901, True):
        with pytest.raises(CosemValueError):
            shift_time_parameter(bad)
    moment = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    parameter = preset_adjusting_time_parameter(moment, moment, moment)
    assert len(parameter) == 3 and all(
        isinstance(item, OctetString) and len(item) == 12 for item in parameter
    )


@given(st.binary(max_size=14))
def test_any_octet_string_decodes_or_fails_cleanly(data: bytes) -> None:
    try:
        value = decode_clock_time(OctetString(data))
    except CosemValueError:
        assert len(data) not in (0, 4, 5, 12)
        return
    if value is not None:
        with contextlib.suppress(DlmsError):
            clock_datetime(value)
