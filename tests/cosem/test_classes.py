"""The interface class table: consistency and lookups."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncdlms.cosem import (
    INTERFACE_CLASSES,
    ClassId,
    UnknownAttributeError,
    UnknownMethodError,
    attribute_name,
    attribute_number,
    interface_class,
    interface_classes,
    method_name,
    method_number,
)
from asyncdlms.cosem.class_table import communication, control, management, measurement, payment
from asyncdlms.errors import DlmsError

REQUIRED = {
    1: "Data",
    3: "Register",
    4: "Extended register",
    5: "Demand register",
    6: "Register activation",
    7: "Profile generic",
    8: "Clock",
    9: "Script table",
    10: "Schedule",
    11: "Special days table",
    12: "Association SN",
    15: "Association LN",
    17: "SAP assignment",
    18: "Image transfer",
    19: "IEC local port setup",
    20: "Activity calendar",
    21: "Register monitor",
    22: "Single action schedule",
    23: "IEC HDLC setup",
    26: "Utility tables",
    40: "Push setup",
    41: "TCP-UDP setup",
    42: "IPv4 setup",
    43: "MAC address setup",
    45: "GPRS modem setup",
    47: "GSM diagnostic",
    62: "Compact data",
    63: "Status mapping",
    64: "Security setup",
    68: "Arbitrator",
    70: "Disconnect control",
    71: "Limiter",
    72: "M-Bus client",
    100: "NTP setup",
    151: "LTE monitoring",
}


def test_every_required_class_is_in_the_table() -> None:
    for class_id, name in REQUIRED.items():
        cls = interface_class(class_id)
        assert cls.known
        assert cls.name == name
        assert cls.class_id == class_id


@pytest.mark.parametrize("cls", interface_classes(), ids=lambda c: f"{c.class_id}v{c.version}")
def test_table_consistency(cls: object) -> None:
    from asyncdlms.cosem import InterfaceClass

    assert isinstance(cls, InterfaceClass)
    assert cls.attributes[0].number == 1
    assert cls.attributes[0].name == "logical_name"
    numbers = [a.number for a in cls.attributes]
    assert numbers == sorted(set(numbers)), "attribute numbers unique and ascending"
    names = [a.name.lower() for a in cls.attributes]
    assert len(names) == len(set(names)), "attribute names unique"
    method_numbers = [m.number for m in cls.methods]
    assert method_numbers == sorted(set(method_numbers))
    assert all(n >= 1 for n in method_numbers)
    method_names = [m.name.lower() for m in cls.methods]
    assert len(method_names) == len(set(method_names))
    for attribute in cls.attributes:
        assert attribute.name.isidentifier() and attribute.data_type
        assert cls.attribute(attribute.number) is attribute
        assert cls.attribute(attribute.name) is attribute
    for method in cls.methods:
        assert method.name.isidentifier()
        assert cls.method(method.number) is method
        assert cls.method(method.name.upper()) is method
    # Every class id in the table has a ClassId member and vice versa.
    assert ClassId(cls.class_id).value == cls.class_id


def test_class_ids_and_table_agree() -> None:
    assert {c for c, _ in INTERFACE_CLASSES} == {int(c) for c in ClassId}


def test_each_class_is_written_once_in_one_chapter_module() -> None:
    """The table is assembled from one module per Blue Book chapter: a class version written
    twice (or a class split over two chapters) would silently replace another."""
    parts = (measurement, management, control, payment, communication)
    keys = [(cls.class_id, cls.version) for part in parts for cls in part.CLASSES]
    assert len(keys) == len(set(keys))
    assert sorted(keys) == sorted(INTERFACE_CLASSES)
    chapters = [{cls.class_id for cls in part.CLASSES} for part in parts]
    for index, ids in enumerate(chapters):
        for other in chapters[index + 1 :]:
            assert not ids & other


@pytest.mark.parametrize(
    ("class_id", "name", "number"),
    [
        (1, "value", 2),
        (3, "value", 2),
        (3, "scaler_unit", 3),
        (4, "status", 4),
        (4, "capture_time", 5),
        (5, "current_average_value", 2),
        (5, "last_average_value", 3),
        (5, "scaler_unit", 4),
        (5, "number_of_periods", 9),
        (7, "buffer", 2),
        (7, "capture_objects", 3),
        (7, "capture_period", 4),
        (7, "sort_method", 5),
        (7, "sort_object", 6),
        (7, "entries_in_use", 7),
        (7, "profile_entries", 8),
        (8, "time", 2),
        (8, "time_zone", 3),
        (8, "clock_base", 9),
        (15, "object_list", 2),
        (15, "xDLMS_context_info", 5),
        (15, "xdlms-context-info", 5),
        (15, "authentication_mechanism_name", 6),
        (15, "association_status", 8),
        (18, "image_transfer_status", 6),
        (23, "inactivity_time_out", 8),
        (23, "device_address", 9),
        (40, "send_destination_and_method", 3),
        (64, "security_policy", 2),
        (64, "security_suite", 3),
        (70, "control_mode", 4),
        (72, "identification_number", 6),
    ],
)
def test_attribute_numbers(class_id: int, name: str, number: int) -> None:
    assert attribute_number(class_id, name) == number
    assert attribute_name(class_id, number).lower() == name.lower().replace("-", "_")


@pytest.mark.parametrize(
    ("class_id", "name", "number"),
    [
        (3, "reset", 1),
        (5, "next_period", 2),
        (7, "capture", 2),
        (8, "adjust_to_quarter", 1),
        (8, "shift_time", 6),
        (9, "execute", 1),
        (15, "reply_to_HLS_authentication", 1),
        (12, "read_by_logicalname", 3),
        (12, "reply_to_HLS_authentication", 8),
        (18, "image_transfer_initiate", 1),
        (18, "image_block_transfer", 2),
        (18, "image_verify", 3),
        (18, "image_activate", 4),
        (40, "push", 1),
        (64, "security_activate", 1),
        (64, "key_transfer", 2),
        (70, "remote_disconnect", 1),
        (70, "remote_reconnect", 2),
        (72, "slave_install", 1),
    ],
)
def test_method_numbers(class_id: int, name: str, number: int) -> None:
    assert method_number(class_id, name) == number
    assert method_name(class_id, number) == name


def test_version_selection() -> None:
    assert interface_class(15, 0).version == 0
    assert not interface_class(15, 0).has_attribute("security_setup_reference")
    assert interface_class(15, 1).attribute(9).name == "security_setup_reference"
    assert interface_class(15).version == 3
    assert interface_class(15, 9).version == 3  # newer than known: highest known below
    assert interface_class(7, 0).has_method("get_buffer_by_range")
    assert not interface_class(7, 1).has_method("get_buffer_by_range")
    assert method_number(64, "global_key_transfer", version=0) == 2
    with pytest.raises(UnknownMethodError):
        method_number(64, "global_key_transfer", version=1)
    assert attribute_number(40, "push_client_SAP", version=2) == 9
    with pytest.raises(UnknownAttributeError):
        attribute_number(40, "push_client_SAP", version=0)


def test_unknown_class_still_works() -> None:
    cls = interface_class(9999)
    assert not cls.known
    assert cls.attribute(1).name == "logical_name"
    assert attribute_number(9999, "logical_name") == 1
    assert attribute_name(9999, 5) == "attribute_5"
    assert method_name(9999, 2) == "method_2"
    with pytest.raises(UnknownAttributeError):
        attribute_number(9999, "value")
    with pytest.raises(UnknownMethodError):
        method_number(9999, "reset")


def test_unknown_names_raise_lookup_errors() -> None:
    with pytest.raises(UnknownAttributeError) as info:
        attribute_number(7, "bufer")
    assert isinstance(info.value, LookupError) and isinstance(info.value, DlmsError)
    assert "Profile generic" in str(info.value) and "bufer" in str(info.value)
    with pytest.raises(UnknownMethodError):
        method_number(70, "disconnect")
    assert attribute_name(3, 100) == "attribute_100"  # manufacturer-specific attribute


@given(st.integers(0, 0xFFFF), st.one_of(st.none(), st.integers(0, 255)))
def test_any_class_id_gives_a_class_with_logical_name(class_id: int, version: int | None) -> None:
    cls = interface_class(class_id, version)
    assert cls.attribute("logical_name").number == 1
    assert cls.class_id == class_id
