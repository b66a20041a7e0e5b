"""The table of COSEM interface classes (DLMS UA Blue Book, IEC 62056-6-2).

Each :class:`InterfaceClass` gives a class id, a version, the attributes (number, name, data
type as the Blue Book writes it) and the methods (number, name). Names are spelt as in the
Blue Book (``buffer``, ``capture_objects``, ``xDLMS_context_info``); lookups by name ignore
case and accept ``-`` or spaces for ``_``::

    >>> attribute_number(7, "buffer")
    2
    >>> method_number(ClassId.DISCONNECT_CONTROL, "remote_disconnect")
    1
    >>> interface_class(8).attribute(2).name
    'time'

Versions: :func:`interface_class` takes an optional version. The exact version is used when
the table has it; otherwise the highest version below it (a newer meter class keeps the older
attributes at the same numbers), otherwise the lowest version the table knows. An id the
table does not know still works: it gives a generic class (``known`` false) whose only
attribute is 1 ``logical_name``; :func:`attribute_name` then names other attributes
``attribute_<n>``, so a client can read any object of any class.

The table was written from the Blue Book's class descriptions; attribute types are for
reading (they are not used to decode: A-XDR values carry their own tags). They are kept in
:mod:`asyncdlms.cosem.class_table`, one module per Blue Book chapter; this module assembles
them and is the place to import from.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from types import MappingProxyType

from .class_table import communication, control, management, measurement, payment
from .class_table.definitions import (
    LOGICAL_NAME,
    AttributeDefinition,
    InterfaceClass,
    MethodDefinition,
)

__all__ = [
    "INTERFACE_CLASSES",
    "AttributeDefinition",
    "ClassId",
    "InterfaceClass",
    "MethodDefinition",
    "attribute_name",
    "attribute_number",
    "interface_class",
    "interface_classes",
    "method_name",
    "method_number",
]


class ClassId(IntEnum):
    """Class ids of the interface classes in the table."""

    DATA = 1
    REGISTER = 3
    EXTENDED_REGISTER = 4
    DEMAND_REGISTER = 5
    REGISTER_ACTIVATION = 6
    PROFILE_GENERIC = 7
    CLOCK = 8
    SCRIPT_TABLE = 9
    SCHEDULE = 10
    SPECIAL_DAYS_TABLE = 11
    ASSOCIATION_SN = 12
    ASSOCIATION_LN = 15
    SAP_ASSIGNMENT = 17
    IMAGE_TRANSFER = 18
    IEC_LOCAL_PORT_SETUP = 19
    ACTIVITY_CALENDAR = 20
    REGISTER_MONITOR = 21
    SINGLE_ACTION_SCHEDULE = 22
    IEC_HDLC_SETUP = 23
    IEC_TWISTED_PAIR_SETUP = 24
    MBUS_SLAVE_PORT_SETUP = 25
    UTILITY_TABLES = 26
    MODEM_CONFIGURATION = 27
    AUTO_ANSWER = 28
    AUTO_CONNECT = 29
    DATA_PROTECTION = 30
    PUSH_SETUP = 40
    TCP_UDP_SETUP = 41
    IPV4_SETUP = 42
    MAC_ADDRESS_SETUP = 43
    PPP_SETUP = 44
    GPRS_MODEM_SETUP = 45
    SMTP_SETUP = 46
    GSM_DIAGNOSTIC = 47
    IPV6_SETUP = 48
    REGISTER_TABLE = 61
    COMPACT_DATA = 62
    STATUS_MAPPING = 63
    SECURITY_SETUP = 64
    PARAMETER_MONITOR = 65
    SENSOR_MANAGER = 67
    ARBITRATOR = 68
    DISCONNECT_CONTROL = 70
    LIMITER = 71
    MBUS_CLIENT = 72
    WIRELESS_MODE_Q_CHANNEL = 73
    MBUS_MASTER_PORT_SETUP = 74
    MBUS_DIAGNOSTIC = 77
    NTP_SETUP = 100
    ACCOUNT = 111
    CREDIT = 112
    CHARGE = 113
    TOKEN_GATEWAY = 115
    FUNCTION_CONTROL = 122
    ARRAY_MANAGER = 123
    COMMUNICATION_PORT_PROTECTION = 124
    LTE_MONITORING = 151


_TABLE: list[InterfaceClass] = sorted(
    [
        *measurement.CLASSES,
        *management.CLASSES,
        *control.CLASSES,
        *payment.CLASSES,
        *communication.CLASSES,
    ],
    key=lambda entry: (entry.class_id, entry.version),
)

INTERFACE_CLASSES: Mapping[tuple[int, int], InterfaceClass] = MappingProxyType(
    {(entry.class_id, entry.version): entry for entry in _TABLE}
)
"""Every (class id, version) of the table."""

_VERSIONS: dict[int, tuple[int, ...]] = {}
for _class_id, _version in sorted(INTERFACE_CLASSES):
    _VERSIONS[_class_id] = (*_VERSIONS.get(_class_id, ()), _version)

_GENERIC: dict[int, InterfaceClass] = {}


def interface_classes() -> tuple[InterfaceClass, ...]:
    """Every class of the table (each version), ordered by class id and version."""
    return tuple(INTERFACE_CLASSES[key] for key in sorted(INTERFACE_CLASSES))


def interface_class(class_id: int, version: int | None = None) -> InterfaceClass:
    """The interface class ``class_id`` in ``version`` (the newest the table has when None).

    A version the table lacks gives the highest version below it, else the lowest known. An
    unknown class id gives a generic class (``known`` false, only attribute 1 logical_name).
    """
    versions = _VERSIONS.get(int(class_id))
    if versions is None:
        generic = _GENERIC.get(int(class_id))
        if generic is None:
            generic = InterfaceClass(
                int(class_id),
                0 if version is None else int(version),
                f"class {int(class_id)}",
                (LOGICAL_NAME,),
                known=False,
            )
            if len(_GENERIC) < 1024:
                _GENERIC[int(class_id)] = generic
        return generic
    if version is None:
        chosen = versions[-1]
    else:
        lower = [v for v in versions if v <= version]
        chosen = lower[-1] if lower else versions[0]
    return INTERFACE_CLASSES[(int(class_id), chosen)]


def attribute_number(class_id: int, name: str, version: int | None = None) -> int:
    """The number of attribute ``name`` of ``class_id`` (:class:`UnknownAttributeError`)."""
    return interface_class(class_id, version).attribute(name).number


def attribute_name(class_id: int, number: int, version: int | None = None) -> str:
    """The Blue Book name of attribute ``number``, or ``attribute_<number>`` when the class
    does not define it (manufacturer-specific attributes, unknown classes)."""
    cls = interface_class(class_id, version)
    if cls.has_attribute(number):
        return cls.attribute(number).name
    return f"attribute_{number}"


def method_number(class_id: int, name: str, version: int | None = None) -> int:
    """The number of method ``name`` of ``class_id`` (:class:`UnknownMethodError`)."""
    return interface_class(class_id, version).method(name).number


def method_name(class_id: int, number: int, version: int | None = None) -> str:
    """The Blue Book name of method ``number``, or ``method_<number>`` when not defined."""
    cls = interface_class(class_id, version)
    if cls.has_method(number):
        return cls.method(number).name
    return f"method_{number}"
