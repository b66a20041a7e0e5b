"""parse_buffer reads the usual buffer column by column (issue 17) and any other row by row:
both give the same rows. ``fill_null_values=True`` always takes the row-by-row path, and on
a buffer without nulls it changes nothing, so it is the reference here."""

from __future__ import annotations

import datetime
import struct

from hypothesis import given
from hypothesis import strategies as st

from asyncdlms import axdr
from asyncdlms.cosem.profile import CaptureObject, ProfileRow, parse_buffer
from asyncdlms.cosem.units import ScalerUnit, Unit
from asyncdlms.obis import Obis
from asyncdlms.types import (
    Array,
    DateTime,
    DoubleLong,
    DoubleLongUnsigned,
    Float32,
    Long,
    OctetString,
    Structure,
)

CLOCK = CaptureObject(8, Obis("0.0.1.0.0.255"), 2)
ENERGY = CaptureObject(3, Obis("1.0.1.8.0.255"), 2)
POWER = CaptureObject(3, Obis("1.0.1.7.0.255"), 2)
STATUS = CaptureObject(1, Obis("0.0.96.10.1.255"), 2)

ORDINARY = st.builds(
    lambda moment, deviation: struct.pack(
        ">HBBBBBBBhB",
        moment.year,
        moment.month,
        moment.day,
        0xFF,
        moment.hour,
        moment.minute,
        moment.second,
        moment.microsecond // 10_000,
        deviation,
        0,
    ),
    st.datetimes(datetime.datetime(2000, 1, 1), datetime.datetime(2100, 1, 1)),
    st.sampled_from([-0x8000, -1, 0, -60, -120, 60, 330]),
)
ODD = st.sampled_from(
    [
        bytes.fromhex("ffffffffffffffffff8000ff"),  # all wildcards
        bytes.fromhex("07e802fe01000000008000ff"),  # last day of February
        bytes.fromhex("07e80d0101000000008000ff"),  # month 13
        bytes.fromhex("07e80101011800000080000ff"[:24]),  # hour 24
    ]
)
VALUE = st.one_of(
    st.integers(0, 2**32 - 1).map(DoubleLongUnsigned),
    st.integers(-(2**31), 2**31 - 1).map(DoubleLong),
    st.integers(-(2**15), 2**15 - 1).map(Long),
    st.floats(-1e6, 1e6, width=32).map(Float32),
)


def described(row: ProfileRow) -> tuple[object, ...]:
    stamp = row.timestamp
    offset = stamp.utcoffset() if isinstance(stamp, datetime.datetime) else None
    return (
        row.columns,
        row.values,
        tuple(type(value) for value in row.values),
        row.raw,
        tuple(type(value) for value in row.raw),
        stamp,
        offset,
        row.timestamp_derived,
        row["1.0.1.8.0.255"],
    )


@given(
    st.lists(
        st.tuples(ORDINARY | ODD, VALUE, VALUE, st.integers(0, 255)), min_size=1, max_size=30
    ),
    st.booleans(),
    st.sampled_from([1, -1]),
    st.booleans(),
    st.sampled_from([0, 900, 3600]),
)
def test_column_by_column_equals_row_by_row(
    rows: list[tuple[bytes, object, object, int]],
    tagged: bool,
    sign: int,
    scaled: bool,
    period: int,
) -> None:
    buffer = Array(
        Structure(
            (
                DateTime.from_bytes(time) if tagged else OctetString(time),
                energy,
                power,
                DoubleLongUnsigned(status),
            )
        )
        for time, energy, power, status in rows
    )
    decoded = axdr.decode(axdr.encode(buffer))
    columns = [CLOCK, ENERGY, POWER, STATUS]
    scalers = (
        {ENERGY.logical_name: ScalerUnit(-3, Unit.WATT_HOUR), POWER: (1, 27)} if scaled else {}
    )
    options = {"capture_period": period, "scaler_units": scalers, "deviation_sign": sign}
    fast = parse_buffer(decoded, columns, **options)  # type: ignore[arg-type]
    reference = parse_buffer(decoded, columns, fill_null_values=True, **options)  # type: ignore[arg-type]
    assert [described(row) for row in fast] == [described(row) for row in reference]
    assert fast == reference
