"""Register, Extended register and Demand register readings; Profile generic settings."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from asyncdlms import axdr
from asyncdlms.cosem import (
    CaptureObject,
    CosemValueError,
    DemandRegisterReading,
    ExtendedRegisterReading,
    ProfileGenericSettings,
    Quantity,
    RegisterReading,
    ScalerUnit,
    SortMethod,
    Unit,
)
from asyncdlms.obis import Obis
from asyncdlms.types import (
    Array,
    DateTime,
    DoubleLongUnsigned,
    Enum,
    Integer,
    LongUnsigned,
    OctetString,
    Structure,
    Unsigned,
)
from tests.conftest import vector

CET = datetime.timezone(datetime.timedelta(hours=1))
STAMP = OctetString(bytes.fromhex("07e30c1f0217000000ffc400"))


def test_register_reading() -> None:
    reading = RegisterReading.from_values(
        DoubleLongUnsigned(123456), Structure((Integer(-1), Enum(30)))
    )
    assert reading.quantity == Quantity(123456, -1, Unit.WATT_HOUR)
    assert reading.quantity is not None and reading.quantity.value == Decimal("12345.6")
    text = RegisterReading.from_values(OctetString(b"ABC"), (0, 255))
    assert text.quantity is None and text.value == b"ABC"
    with pytest.raises(CosemValueError):
        RegisterReading.from_values(1, None)  # type: ignore[arg-type]


def test_extended_register_reading() -> None:
    reading = ExtendedRegisterReading.from_values(
        DoubleLongUnsigned(5000), (Integer(-3), Enum(27)), Unsigned(0), STAMP
    )
    assert str(reading.quantity) == "5.000 W"
    assert reading.status == 0
    assert reading.capture_time == datetime.datetime(2019, 12, 31, 23, tzinfo=CET)
    wildcard = ExtendedRegisterReading.from_values(
        1, (0, 30), None, OctetString(DateTime(hour=3).to_bytes())
    )
    assert isinstance(wildcard.capture_time, DateTime)
    empty = ExtendedRegisterReading.from_values(1, (0, 30), None, OctetString(b""))
    assert empty.capture_time is None


def test_demand_register_reading() -> None:
    reading = DemandRegisterReading.from_values(
        {
            2: DoubleLongUnsigned(1500),
            3: DoubleLongUnsigned(1400),
            4: (Integer(0), Enum(27)),
            6: STAMP,
            7: STAMP,
            8: DoubleLongUnsigned(900),
            9: LongUnsigned(1),
        }
    )
    assert reading.current_average == Quantity(1500, 0, Unit.WATT)
    assert str(reading.last_average) == "1400 W"
    assert reading.period == datetime.timedelta(minutes=15)
    assert reading.number_of_periods == 1
    assert reading.start_time_current == datetime.datetime(2019, 12, 31, 23, tzinfo=CET)
    minimal = DemandRegisterReading.from_values({4: (0, 27)})
    assert minimal.current_average is None and minimal.period is None
    with pytest.raises(CosemValueError):
        DemandRegisterReading.from_values({2: 1})


def test_profile_generic_settings() -> None:
    columns = (
        CaptureObject(8, Obis("0.0.1.0.0.255"), 2),
        CaptureObject(1, Obis("0.0.96.10.1.255"), 2),
        CaptureObject(3, Obis("1.0.1.8.0.255"), 2),
        CaptureObject(3, Obis("1.0.2.8.0.255"), 2),
    )
    values = {
        3: axdr.decode(axdr.encode(Array(c.to_value() for c in columns))),
        4: DoubleLongUnsigned(3600),
        5: Enum(1),
        6: Structure((LongUnsigned(0), OctetString(bytes(6)), Integer(0), LongUnsigned(0))),
        7: DoubleLongUnsigned(4),
        8: DoubleLongUnsigned(1000),
    }
    settings = ProfileGenericSettings.from_values(values)
    assert settings.capture_objects == columns
    assert settings.capture_period == 3600 and settings.sort_method is SortMethod.FIFO
    assert settings.sort_object is None
    assert (settings.entries_in_use, settings.profile_entries) == (4, 1000)
    assert settings.clock_column == columns[0]
    # dlmscosem-axdr-profile-buffer-4rows read with these settings: rows an hour apart.
    buffer = axdr.decode(bytes.fromhex(vector("dlmscosem-axdr-profile-buffer-4rows")["hex"]))
    rows = settings.parse(buffer, scaler_units={columns[2]: ScalerUnit(0, Unit.WATT_HOUR)})
    assert [row.timestamp for row in rows][-1] == datetime.datetime(2020, 1, 1, 2, tzinfo=CET)
    assert str(rows[0][columns[2]]) == "1517 Wh"
    sorted_by_value = ProfileGenericSettings.from_values({6: columns[2].to_value(), 5: 3})
    assert sorted_by_value.sort_object == columns[2]
    assert sorted_by_value.sort_method is SortMethod.LARGEST
    assert ProfileGenericSettings.from_values({}) == ProfileGenericSettings()
    selected = settings.parse(
        Array([Structure((STAMP, DoubleLongUnsigned(1)))]), columns=(columns[0], columns[2])
    )
    assert selected[0].timestamp == datetime.datetime(2019, 12, 31, 23, tzinfo=CET)
    with pytest.raises(CosemValueError):
        ProfileGenericSettings.from_values({4: b"60"})
