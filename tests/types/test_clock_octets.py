"""DateTime as one allocation holding its 12 octets (issue 17): it behaves exactly like the
ten-field dataclass it was — same fields, repr, equality, hashing, conversions and errors —
whichever way it was made (decoded, built from fields, copied, pickled) and whether or not
its fields have been read yet.

The reference below is the field-by-field decoding and conversion the dataclass did, written
out here independently of the implementation.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import pickle
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncdlms import axdr
from asyncdlms.cosem.clock import clock_datetime
from asyncdlms.cosem.profile import CaptureObject, parse_buffer
from asyncdlms.errors import DecodeError, DlmsError
from asyncdlms.obis import Obis
from asyncdlms.types.clock import (
    ClockStatus,
    DateTime,
    DeviationSign,
    _resolve_date,
    _resolve_time,
    datetime_from_octets,
    datetimes_from_octets,
    new_date_time,
)
from asyncdlms.types.values import Array, DoubleLongUnsigned, OctetString, Structure

FIELDS = (
    "year",
    "month",
    "day_of_month",
    "day_of_week",
    "hour",
    "minute",
    "second",
    "hundredths",
    "deviation",
    "clock_status",
)


def reference_fields(data: bytes) -> tuple[object, ...]:
    """The fields the dataclass decoded: 0xFF/0xFFFF/0x8000 are None, the rest kept."""
    year, *middle, deviation, status = struct.unpack(">HBBBBBBBhB", data)
    return (
        None if year == 0xFFFF else year,
        *(None if byte == 0xFF else byte for byte in middle),
        None if deviation == -0x8000 else deviation,
        None if status == 0xFF else ClockStatus(status),
    )


def reference_datetime(data: bytes, sign: int) -> datetime.datetime:
    """DateTime.to_datetime as the dataclass computed it, field by field."""
    year, month, day, _, hour, minute, second, hundredths, deviation, _ = reference_fields(data)
    resolved = _resolve_date("datetime", year, month, day)  # type: ignore[arg-type]
    time = _resolve_time("datetime", hour, minute, second, hundredths)  # type: ignore[arg-type]
    zone = None
    if deviation is not None and deviation != -1 and -1440 < deviation < 1440:  # type: ignore[operator]
        zone = datetime.timezone(datetime.timedelta(minutes=-sign * deviation))  # type: ignore[operator]
    return datetime.datetime(*resolved, *time, zone)


def outcome(function: object, *args: object) -> object:
    """The result, or the type and message of the error raised."""
    try:
        return function(*args)  # type: ignore[operator]
    except DlmsError as error:
        return (type(error), str(error))


# Twelve octets that are mostly plausible date-times (so conversions succeed often), with
# every odd value mixed in (wildcards, specials, out of range, deviations of any size).
PLAUSIBLE = st.builds(
    lambda year, month, day, weekday, hour, minute, second, hundredths, deviation, status: (
        struct.pack(
            ">HBBBBBBBhB",
            year,
            month,
            day,
            weekday,
            hour,
            minute,
            second,
            hundredths,
            deviation,
            status,
        )
    ),
    st.sampled_from([0, 1, 2000, 2024, 9999, 10000, 0xFFFF]) | st.integers(0, 0xFFFF),
    st.sampled_from([0, 1, 2, 12, 13, 0xFD, 0xFE, 0xFF]) | st.integers(0, 0xFF),
    st.sampled_from([0, 1, 28, 29, 30, 31, 32, 0xFD, 0xFE, 0xFF]) | st.integers(0, 0xFF),
    st.integers(0, 0xFF),
    st.sampled_from([0, 23, 24, 0xFF]) | st.integers(0, 0xFF),
    st.sampled_from([0, 59, 60, 0xFF]) | st.integers(0, 0xFF),
    st.sampled_from([0, 59, 60, 0xFF]) | st.integers(0, 0xFF),
    st.sampled_from([0, 99, 100, 0xFF]) | st.integers(0, 0xFF),
    st.sampled_from([-0x8000, -1, 0, -60, 60, -1439, 1439, -1440, 1440, 0x7FFF])
    | st.integers(-0x8000, 0x7FFF),
    st.integers(0, 0xFF),
)
OCTETS = PLAUSIBLE | st.binary(min_size=12, max_size=12)
SIGNS = st.sampled_from([DeviationSign.STANDARD, DeviationSign.INVERTED, 1, -1])


@given(OCTETS)
def test_decoded_fields_repr_and_bytes_are_the_dataclass_ones(data: bytes) -> None:
    value = DateTime.from_bytes(data)
    expected = reference_fields(data)
    assert tuple(getattr(value, name) for name in FIELDS) == expected
    assert type(value.clock_status) is (ClockStatus if data[11] != 0xFF else type(None))
    shown = ", ".join(f"{name}={field!r}" for name, field in zip(FIELDS, expected, strict=True))
    assert repr(DateTime.from_bytes(data)) == f"DateTime({shown})"
    assert DateTime.from_bytes(data).to_bytes() == data
    assert bytes(new_date_time(data)) == data
    assert dataclasses.astuple(DateTime.from_bytes(data)) == expected


@given(OCTETS)
def test_equality_and_hash_do_not_depend_on_whether_fields_were_read(data: bytes) -> None:
    untouched = DateTime.from_bytes(data)
    read = DateTime.from_bytes(bytearray(data))
    assert read.year == reference_fields(data)[0]  # its fields are now decoded
    assert untouched == read and hash(untouched) == hash(read)
    assert untouched == new_date_time(data)
    other = DateTime.from_bytes(data[:11] + bytes([data[11] ^ 1]))
    assert untouched != other and other.clock_status != read.clock_status
    assert untouched != data  # not equal to its bytes, as the dataclass was not


@given(OCTETS)
def test_copies_and_pickles_are_equal_and_keep_their_octets(data: bytes) -> None:
    read = DateTime.from_bytes(data)
    assert read.hour == reference_fields(data)[4]
    for value in (DateTime.from_bytes(data), read):
        for twin in (
            copy.copy(value),
            copy.deepcopy(value),
            pickle.loads(pickle.dumps(value)),
        ):
            assert twin == value and hash(twin) == hash(value)
            assert twin.to_bytes() == data
            assert tuple(getattr(twin, name) for name in FIELDS) == reference_fields(data)


@st.composite
def valid_fields(draw: st.DrawFn) -> dict[str, object]:
    def maybe(strategy: st.SearchStrategy[int]) -> st.SearchStrategy[int | None]:
        return st.none() | strategy

    return {
        "year": draw(maybe(st.integers(0, 0xFFFE))),
        "month": draw(maybe(st.integers(1, 12) | st.sampled_from([0xFD, 0xFE]))),
        "day_of_month": draw(maybe(st.integers(1, 31) | st.sampled_from([0xFD, 0xFE]))),
        "day_of_week": draw(maybe(st.integers(1, 7))),
        "hour": draw(maybe(st.integers(0, 23))),
        "minute": draw(maybe(st.integers(0, 59))),
        "second": draw(maybe(st.integers(0, 59))),
        "hundredths": draw(maybe(st.integers(0, 99))),
        "deviation": draw(maybe(st.integers(-840, 840))),
        "clock_status": draw(maybe(st.integers(0, 0xFE))),
    }


@given(valid_fields())
def test_built_from_fields_equals_its_decoded_octets(fields: dict[str, object]) -> None:
    built = DateTime(**fields)  # type: ignore[arg-type]
    decoded = DateTime.from_bytes(built.to_bytes())
    assert built == decoded and hash(built) == hash(decoded)
    assert repr(built) == repr(decoded)
    assert tuple(getattr(decoded, name) for name in FIELDS) == tuple(
        fields[name] for name in FIELDS
    )
    assert dataclasses.replace(decoded, hour=None) == DateTime(**{**fields, "hour": None})  # type: ignore[arg-type]


@given(OCTETS, SIGNS)
def test_to_datetime_is_the_field_by_field_conversion(data: bytes, sign: int) -> None:
    expected = outcome(reference_datetime, data, int(sign))
    got = outcome(lambda: DateTime.from_bytes(data).to_datetime(deviation_sign=sign))
    assert got == expected
    assert outcome(datetime_from_octets, data, sign) == expected
    if isinstance(expected, datetime.datetime):
        assert got.utcoffset() == expected.utcoffset()  # type: ignore[union-attr]


def test_to_datetime_refuses_a_bad_sign() -> None:
    value = DateTime.from_bytes(bytes.fromhex("07e8010f010c1e2d32ffc400"))
    with pytest.raises(ValueError, match="deviation_sign must be"):
        value.to_datetime(deviation_sign=2)
    with pytest.raises(ValueError, match="deviation_sign must be"):
        datetime_from_octets(value.to_bytes(), 0)


@given(st.lists(OCTETS, min_size=4, max_size=12), SIGNS, st.booleans())
def test_profile_timestamps_are_those_of_the_clock_values(
    times: list[bytes], sign: int, tagged: bool
) -> None:
    """parse_buffer's direct octets -> datetime path gives what clock_datetime gives, for
    capture times sent as octet-string(12) and with the date-time tag, decoded by the row
    template."""
    rows = Array(
        Structure((new_date_time(raw) if tagged else OctetString(raw), DoubleLongUnsigned(i)))
        for i, raw in enumerate(times)
    )
    decoded = axdr.decode(axdr.encode(rows))
    assert decoded == rows
    columns = [
        CaptureObject(8, Obis("0.0.1.0.0.255"), 2),
        CaptureObject(1, Obis("0.0.96.1.0.255"), 2),
    ]
    parsed = parse_buffer(decoded, columns, capture_period=900, deviation_sign=sign)
    previous: datetime.datetime | None = None
    for row, raw in zip(parsed, times, strict=True):
        expected = outcome(lambda raw=raw: clock_datetime(raw, deviation_sign=sign))
        if isinstance(expected, datetime.datetime):
            assert row.timestamp == expected and not row.timestamp_derived
            assert row.timestamp.utcoffset() == expected.utcoffset()
        elif previous is not None:  # derived from the previous row (unless past year 9999)
            assert row.timestamp_derived or row.timestamp is None
        previous = row.timestamp if isinstance(row.timestamp, datetime.datetime) else None


@given(st.lists(PLAUSIBLE | OCTETS, max_size=20), SIGNS)
def test_many_at_once_is_each_one_or_none(column: list[bytes], sign: int) -> None:
    """datetimes_from_octets (a profile's time column at once) gives each value's
    datetime_from_octets, or None as soon as one of them would raise."""
    one_by_one = [outcome(datetime_from_octets, raw, sign) for raw in column]
    at_once = datetimes_from_octets(column, sign)
    if all(isinstance(value, datetime.datetime) for value in one_by_one):
        assert at_once == one_by_one
        assert [value.utcoffset() for value in at_once] == [
            value.utcoffset()  # type: ignore[union-attr]
            for value in one_by_one
        ]
    else:
        assert at_once is None
    assert datetimes_from_octets([*column, b"\x07\xe8"], sign) is None  # not 12 octets


def test_datetime_from_octets_refuses_other_lengths() -> None:
    with pytest.raises(DecodeError, match="12 bytes, got 11"):
        datetime_from_octets(bytes(11))
