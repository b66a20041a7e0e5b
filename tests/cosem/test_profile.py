"""Profile generic (class 7): capture objects, rows, null timestamps (behaviour 9, quirk 10),
selective access."""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncdlms import axdr
from asyncdlms.apdu.descriptors import entry_descriptor, range_descriptor
from asyncdlms.cosem import (
    CLOCK_CAPTURE_OBJECT,
    CaptureObject,
    CosemValueError,
    Quantity,
    ScalerUnit,
    SortMethod,
    Unit,
    entry_selection,
    parse_buffer,
    parse_capture_objects,
    parse_sort_method,
    range_selection,
    selected_columns,
)
from asyncdlms.errors import DlmsError
from asyncdlms.obis import Obis
from asyncdlms.types import (
    Array,
    CompactArray,
    DateTime,
    DeviationSign,
    DlmsValue,
    DoubleLongUnsigned,
    Enum,
    Integer,
    LongUnsigned,
    OctetString,
    Structure,
    TypeDescription,
    Unsigned,
)
from tests.conftest import vector

CET = datetime.timezone(datetime.timedelta(hours=1))
CLOCK = CaptureObject(8, Obis("0.0.1.0.0.255"), 2)
STATUS = CaptureObject(1, Obis("0.0.96.10.1.255"), 2)
IMPORT = CaptureObject(3, Obis("1.0.1.8.0.255"), 2)
EXPORT = CaptureObject(3, Obis("1.0.2.8.0.255"), 2)
FOUR_ROWS_COLUMNS = (CLOCK, STATUS, IMPORT, EXPORT)


def _capture_objects_value(columns: tuple[CaptureObject, ...]) -> Array:
    return Array(column.to_value() for column in columns)


def four_rows() -> Any:
    return axdr.decode(bytes.fromhex(vector("dlmscosem-axdr-profile-buffer-4rows")["hex"]))


# --- capture objects ---------------------------------------------------------------------------


def test_capture_objects_round_trip() -> None:
    value = axdr.decode(axdr.encode(_capture_objects_value(FOUR_ROWS_COLUMNS)))
    parsed = parse_capture_objects(value)
    assert parsed == FOUR_ROWS_COLUMNS
    assert [str(c) for c in parsed] == vector("dlmscosem-axdr-profile-buffer-4rows")["expected"][
        "capture_objects"
    ]
    assert parsed[0].is_clock and not parsed[2].is_clock
    assert parsed[0].attribute_name == "time"
    assert parsed[2].attribute_name == "value"
    assert str(CaptureObject(7, Obis("1.0.99.1.0.255"), 2, 3)) == "7/1.0.99.1.0.255/2/3"
    # A 3-element definition (no data_index) reads as data_index 0.
    three = Structure((LongUnsigned(3), OctetString(bytes(IMPORT.logical_name)), Integer(2)))
    assert CaptureObject.from_value(three) == IMPORT


@pytest.mark.parametrize(
    "bad",
    [
        None,
        5,
        [Structure((LongUnsigned(3),))],
        [Structure((LongUnsigned(3), OctetString(b"\x01\x02"), Integer(2), LongUnsigned(0)))],
        [Structure((b"x", OctetString(bytes(6)), Integer(2), LongUnsigned(0)))],
    ],
)
def test_bad_capture_objects(bad: object) -> None:
    with pytest.raises(CosemValueError):
        parse_capture_objects(bad)


def test_sort_method() -> None:
    assert parse_sort_method(Enum(2)) is SortMethod.LIFO
    assert parse_sort_method(9) == 9
    with pytest.raises(CosemValueError):
        parse_sort_method(None)


# --- the shared vectors ------------------------------------------------------------------------


def test_four_rows_with_null_timestamps() -> None:
    """dlmscosem-axdr-profile-buffer-4rows: rows 2-4 carry null-data in the clock column.

    The source (dlms-cosem) gives capture_period=60 and expects rows 3600 s apart, because
    its parser counts the capture period in minutes. The Blue Book counts it in seconds:
    with 60 the derived rows are 60 s apart; a meter capturing hourly says 3600.
    """
    expected = vector("dlmscosem-axdr-profile-buffer-4rows")["expected"]
    rows = parse_buffer(four_rows(), FOUR_ROWS_COLUMNS, capture_period=expected["capture_period_s"])
    assert len(rows) == expected["rows"] == 4
    assert all(len(row) == expected["columns"] for row in rows)
    first = datetime.datetime(2019, 12, 31, 23, tzinfo=CET)
    assert [row.timestamp for row in rows] == [
        first + datetime.timedelta(minutes=n) for n in range(4)
    ]
    assert [row.timestamp_derived for row in rows] == [False, True, True, True]
    assert rows[1].raw[0] is None and rows[1][CLOCK] == rows[1].timestamp

    hourly = parse_buffer(four_rows(), FOUR_ROWS_COLUMNS, capture_period=3600)
    gap = (hourly[1].timestamp - hourly[0].timestamp).total_seconds()  # type: ignore[operator]
    assert gap == expected["row1_minus_row0_seconds"] == 3600
    assert hourly[3].timestamp == datetime.datetime(2020, 1, 1, 2, tzinfo=CET)


def test_four_rows_values_and_keys() -> None:
    rows = parse_buffer(
        four_rows(),
        FOUR_ROWS_COLUMNS,
        capture_period=3600,
        scaler_units={
            IMPORT: ScalerUnit(0, Unit.WATT_HOUR),
            "1.0.2.8.0.255": (Integer(-1), Enum(30)),
        },
    )
    row = rows[2]
    assert row[STATUS] == 6
    assert row["0.0.96.10.1.255"] == 6
    assert row[IMPORT] == Quantity(1517, 0, Unit.WATT_HOUR)
    assert str(row["3/1.0.2.8.0.255/2"]) == "162.0 Wh"
    assert row[Obis("1.0.2.8.0.255")].value == Decimal("162.0")
    assert row.raw[2] == 1517
    assert list(row) == list(FOUR_ROWS_COLUMNS)
    assert row.as_dict()[CLOCK] == row.timestamp
    assert IMPORT in row and "9.9.9.9.9.9" not in row and "nonsense" not in row
    assert row.get("1.0.3.8.0.255", "absent") == "absent"
    with pytest.raises(KeyError):
        row["1.0.3.8.0.255"]


def test_load_profile_24h() -> None:
    """dlmscosem-axdr-load-profile-24h: 24 hourly rows {date-time, status, value}."""
    buffer = axdr.decode(bytes.fromhex(vector("dlmscosem-axdr-load-profile-24h")["hex"]))
    assert len(buffer) == vector("dlmscosem-axdr-load-profile-24h")["expected"]["array_length"]
    columns = (CLOCK, STATUS, IMPORT)
    rows = parse_buffer(
        buffer, columns, capture_period=3600, scaler_units={IMPORT: ScalerUnit(0, 30)}
    )
    assert len(rows) == 24
    assert rows[0].timestamp == datetime.datetime(2018, 2, 12, 0, 0)  # deviation not specified
    for previous, row in itertools.pairwise(rows):
        assert row.timestamp - previous.timestamp == datetime.timedelta(hours=1)  # type: ignore[operator]
        assert not row.timestamp_derived
    assert rows[0][IMPORT] == Quantity(100000, 0, Unit.WATT_HOUR)
    assert rows[1][IMPORT].raw_value == 100416


# --- null timestamps ---------------------------------------------------------------------------


def _stamp(moment: datetime.datetime) -> OctetString:
    return OctetString(DateTime.from_datetime(moment).to_bytes())


def _buffer(*stamps: DlmsValue) -> Array:
    return Array(Structure((stamp, DoubleLongUnsigned(n))) for n, stamp in enumerate(stamps))


T0 = datetime.datetime(2024, 3, 1, 12, 0, tzinfo=datetime.UTC)


def test_null_timestamps_forward() -> None:
    rows = parse_buffer(
        _buffer(_stamp(T0), None, None, _stamp(T0 + datetime.timedelta(hours=5)), None),
        (CLOCK, IMPORT),
        capture_period=900,
    )
    assert [row.timestamp for row in rows] == [
        T0,
        T0 + datetime.timedelta(minutes=15),
        T0 + datetime.timedelta(minutes=30),
        T0 + datetime.timedelta(hours=5),
        T0 + datetime.timedelta(hours=5, minutes=15),
    ]
    assert [row.timestamp_derived for row in rows] == [False, True, True, False, True]


def test_null_timestamps_backward_for_lifo() -> None:
    rows = parse_buffer(
        _buffer(_stamp(T0), None, None),
        (CLOCK, IMPORT),
        capture_period=900,
        sort_method=SortMethod.LIFO,
    )
    assert [row.timestamp for row in rows] == [
        T0,
        T0 - datetime.timedelta(minutes=15),
        T0 - datetime.timedelta(minutes=30),
    ]


@pytest.mark.parametrize("period", [0, datetime.timedelta(0)])
def test_capture_period_zero_means_one_hour(period: int | datetime.timedelta) -> None:
    rows = parse_buffer(
        _buffer(_stamp(T0), None, OctetString(b"")), (CLOCK, IMPORT), capture_period=period
    )
    assert [row.timestamp for row in rows] == [
        T0,
        T0 + datetime.timedelta(hours=1),
        T0 + datetime.timedelta(hours=2),
    ]


def test_timedelta_capture_period_and_wildcard_timestamp() -> None:
    wildcard = OctetString(DateTime(year=2024, month=3).to_bytes())  # names no instant
    rows = parse_buffer(
        _buffer(_stamp(T0), wildcard), (CLOCK, IMPORT), capture_period=datetime.timedelta(minutes=5)
    )
    assert rows[1].timestamp == T0 + datetime.timedelta(minutes=5)
    assert rows[1].timestamp_derived


def test_first_row_null_stays_none_until_a_real_timestamp() -> None:
    rows = parse_buffer(_buffer(None, None, _stamp(T0), None), (CLOCK, IMPORT), capture_period=60)
    assert [row.timestamp for row in rows] == [None, None, T0, T0 + datetime.timedelta(minutes=1)]
    assert [row.timestamp_derived for row in rows] == [False, False, False, True]
    # A first row whose date-time names no instant keeps the COSEM value.
    wildcard = OctetString(DateTime(hour=1).to_bytes())
    rows = parse_buffer(_buffer(wildcard), (CLOCK, IMPORT))
    assert isinstance(rows[0].timestamp, DateTime) and rows[0].timestamp.hour == 1


def test_null_values_kept_or_filled() -> None:
    buffer = Array(
        [
            Structure((_stamp(T0), DoubleLongUnsigned(10))),
            Structure((None, None)),
            Structure((None, DoubleLongUnsigned(12))),
        ]
    )
    kept = parse_buffer(buffer, (CLOCK, IMPORT), scaler_units={IMPORT: ScalerUnit(0, 30)})
    assert [row[IMPORT] for row in kept] == [Quantity(10, 0, 30), None, Quantity(12, 0, 30)]
    filled = parse_buffer(buffer, (CLOCK, IMPORT), fill_null_values=True)
    assert [row[IMPORT] for row in filled] == [10, 10, 12]


def test_inverted_deviation_and_no_clock_column() -> None:
    rows = parse_buffer(four_rows(), FOUR_ROWS_COLUMNS, deviation_sign=DeviationSign.INVERTED)
    assert rows[0].timestamp.utcoffset() == datetime.timedelta(hours=-1)  # type: ignore[union-attr]
    no_clock = parse_buffer(Array([Structure((Unsigned(1), Unsigned(2)))]), (STATUS, IMPORT))
    assert no_clock[0].timestamp is None and no_clock[0].values == (1, 2)
    explicit = parse_buffer(
        Array([Structure((Unsigned(1), _stamp(T0)))]),
        (STATUS, CaptureObject(1, Obis("0.0.1.0.0.255"), 2)),
        timestamp_column=1,
    )
    assert explicit[0].timestamp == T0


def test_compact_array_buffer() -> None:
    description = TypeDescription.structure(
        TypeDescription(OctetString.data_type), TypeDescription(DoubleLongUnsigned.data_type)
    )
    buffer = CompactArray(description, (Structure((_stamp(T0), DoubleLongUnsigned(1))),))
    rows = parse_buffer(buffer, (CLOCK, IMPORT))
    assert rows[0].timestamp == T0


@pytest.mark.parametrize(
    "bad",
    [None, 5, Array([Unsigned(1)]), Array([Structure((Unsigned(1),))])],
)
def test_malformed_buffers(bad: object) -> None:
    with pytest.raises(CosemValueError):
        parse_buffer(bad, (CLOCK, IMPORT))


_values = st.one_of(
    st.none(),
    st.integers(0, 2**32 - 1).map(DoubleLongUnsigned),
    st.binary(max_size=13).map(OctetString),
    st.booleans(),
)


@given(
    st.lists(st.tuples(_values, _values), max_size=8),
    st.integers(0, 86400),
    st.sampled_from(list(SortMethod)),
    st.booleans(),
)
def test_random_rows_never_raise(
    rows: list[tuple[DlmsValue, DlmsValue]], period: int, sort_method: SortMethod, fill: bool
) -> None:
    buffer = Array(Structure(row) for row in rows)
    parsed = parse_buffer(
        buffer,
        (CLOCK, IMPORT),
        capture_period=period,
        sort_method=sort_method,
        scaler_units={IMPORT: ScalerUnit(-1, 30)},
        fill_null_values=fill,
    )
    assert len(parsed) == len(rows)
    for previous, row in itertools.pairwise(parsed):
        if row.timestamp_derived:
            assert isinstance(previous.timestamp, datetime.datetime)
            step = datetime.timedelta(seconds=period or 3600)
            expected = previous.timestamp + (-step if sort_method is SortMethod.LIFO else step)
            assert row.timestamp == expected


# --- selective access --------------------------------------------------------------------------


def test_range_selection_matches_the_descriptor() -> None:
    start = datetime.datetime(2024, 1, 1, tzinfo=CET)
    end = datetime.datetime(2024, 1, 2, tzinfo=CET)
    selection = range_selection(start, end)
    expected = range_descriptor(
        (8, "0.0.1.0.0.255", 2, 0), DateTime.from_datetime(start), DateTime.from_datetime(end)
    )
    assert selection.encode() == expected.encode()
    assert selection.access_selector == 1
    parameters = selection.access_parameters.value
    assert parameters[0] == CLOCK_CAPTURE_OBJECT.to_value()
    assert DateTime.from_bytes(parameters[1]).to_datetime() == start
    assert parameters[3] == Array([])


def test_range_selection_naive_columns_and_inverted() -> None:
    selection = range_selection(
        datetime.datetime(2024, 1, 1),
        DateTime(year=2024, month=1, day_of_month=2, hour=0, minute=0, second=0),
        selected_values=[CLOCK, IMPORT],
        deviation_sign=DeviationSign.INVERTED,
    )
    parameters = selection.access_parameters.value
    assert DateTime.from_bytes(parameters[1]).deviation is None
    assert parse_capture_objects(parameters[3]) == (CLOCK, IMPORT)
    aware = range_selection(
        datetime.datetime(2024, 1, 1, tzinfo=CET),
        datetime.datetime(2024, 1, 2, tzinfo=CET),
        deviation_sign=DeviationSign.INVERTED,
    )
    assert DateTime.from_bytes(aware.access_parameters.value[1]).deviation == 60
    with pytest.raises(DlmsError):
        range_selection("yesterday", "today")  # type: ignore[arg-type]


def test_entry_selection() -> None:
    assert entry_selection(1, 10).encode() == entry_descriptor(1, 10, 1, 0).encode()
    assert entry_selection(5, 0, 2, 3).access_parameters.value == (5, 0, 2, 3)
    with pytest.raises(CosemValueError):
        entry_selection(-1)
    assert selected_columns(FOUR_ROWS_COLUMNS, 2, 3) == (STATUS, IMPORT)
    assert selected_columns(FOUR_ROWS_COLUMNS) == FOUR_ROWS_COLUMNS
    assert selected_columns(FOUR_ROWS_COLUMNS, 3, 0) == (IMPORT, EXPORT)
