"""Data-notification, event-notification and information-report PDUs."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncdlms.apdu.descriptors import CosemAttributeDescriptor, Data
from asyncdlms.apdu.enums import LongInvokeIdAndPriority
from asyncdlms.apdu.notification import (
    DataNotification,
    EventNotificationRequest,
    InformationReportRequest,
)
from asyncdlms.apdu.short_name import VariableName
from asyncdlms.errors import DecodeError, EncodeError
from asyncdlms.obis import Obis
from asyncdlms.types import DateTime, Integer, Structure, Unsigned
from tests.apdu.test_descriptors import attribute_descriptors, data_values, only_decode_error
from tests.apdu.test_short_name import specifications

long_ids = st.integers(0, 0xFFFFFFFF).map(LongInvokeIdAndPriority.from_int)
CLOCK = bytes.fromhex("07e40119060e000aff800000")


@st.composite
def data_notifications(draw: st.DrawFn) -> DataNotification:
    typed = draw(st.booleans())
    if typed:
        date_time: bytes | None = draw(st.binary(min_size=12, max_size=12))
    else:
        date_time = draw(st.none() | st.binary(min_size=1, max_size=20))
    return DataNotification(draw(data_values), draw(long_ids), date_time, typed)


event_notifications = st.builds(
    EventNotificationRequest,
    attribute_descriptors,
    data_values,
    st.none() | st.just(CLOCK),
    st.sampled_from([b"\x09\x0c", b"\x01\x0c"]),
)
information_reports = st.builds(
    InformationReportRequest,
    st.lists(specifications, max_size=4).map(tuple),
    st.lists(data_values, max_size=4).map(tuple),
    st.none() | st.binary(min_size=1, max_size=12),
)


@given(st.one_of(data_notifications(), event_notifications, information_reports))
def test_round_trip(pdu: Any) -> None:
    encoded = pdu.encode()
    assert type(pdu).decode(encoded) == pdu
    for end in range(len(encoded)):
        with pytest.raises(DecodeError):
            type(pdu).decode(encoded[:end])


@given(st.binary(max_size=60))
def test_random_bytes_only_decode_error(noise: bytes) -> None:
    for prefix in (b"", b"\x0f", b"\x0f\x00\x00\x00\x00", b"\x0f\x00\x00\x00\x00\x09\x0c"):
        only_decode_error(DataNotification.decode, prefix + noise)
    for prefix in (b"", b"\xc2", b"\xc2\x00", b"\xc2\x09\x0c"):
        only_decode_error(EventNotificationRequest.decode, prefix + noise)
    for prefix in (b"", b"\x18", b"\x18\x00"):
        only_decode_error(InformationReportRequest.decode, prefix + noise)


def test_every_date_time_shape_of_quirk_4() -> None:
    body = "020209060000010000ff1100"
    absent = DataNotification.decode(bytes.fromhex("0f0000000100" + body))
    assert absent.date_time is None and absent.to_date_time() is None
    plain = DataNotification.decode(bytes.fromhex("0f000000010c" + CLOCK.hex() + body))
    typed = DataNotification.decode(bytes.fromhex("0f00000001090c" + CLOCK.hex() + body))
    assert plain.date_time == typed.date_time == CLOCK
    assert (plain.date_time_typed, typed.date_time_typed) == (False, True)
    clock = typed.to_date_time()
    assert isinstance(clock, DateTime)
    assert (clock.year, clock.month, clock.day_of_month, clock.hour, clock.second) == (
        2020,
        1,
        25,
        14,
        10,
    )
    assert plain.notification_body == typed.notification_body == absent.notification_body
    assert typed.encode().hex() == "0f00000001090c" + CLOCK.hex() + body
    # an empty octet string is the same as an absent date-time
    assert DataNotification(Data.of(1), date_time=b"") == DataNotification(Data.of(1))
    with pytest.raises(EncodeError):
        DataNotification(Data.of(1), date_time=b"\x00" * 5, date_time_typed=True)


def test_event_notification_time_forms() -> None:
    descriptor = CosemAttributeDescriptor(1, Obis("0.0.96.11.0.255"), 2)
    value = Data.of(Unsigned(3))
    without = EventNotificationRequest(descriptor, value)
    assert without.encode() == bytes.fromhex("c20000010000600b00ff021103")
    gurux_form = EventNotificationRequest(descriptor, value, CLOCK)
    assert gurux_form.encode().hex() == "c2090c" + CLOCK.hex() + "00010000600b00ff021103"
    axdr_form = EventNotificationRequest.decode(
        bytes.fromhex("c2010c" + CLOCK.hex() + "00010000600b00ff021103")
    )
    assert axdr_form.time == CLOCK and axdr_form.time_prefix == b"\x01\x0c"
    assert axdr_form.to_date_time() is not None
    with pytest.raises(EncodeError):
        EventNotificationRequest(descriptor, value, CLOCK, b"\x01\x05")


def test_information_report_layout() -> None:
    report = InformationReportRequest((VariableName(0x0100),), (Data.of(Structure((Integer(1),))),))
    assert report.encode().hex() == "1800010201000102010f01"
    assert InformationReportRequest.decode(report.encode()) == report
