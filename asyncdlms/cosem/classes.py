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
reading (they are not used to decode: A-XDR values carry their own tags).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from types import MappingProxyType

from .errors import UnknownAttributeError, UnknownMethodError

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


@dataclass(frozen=True, slots=True)
class AttributeDefinition:
    """One attribute of an interface class: its number, Blue Book name and data type."""

    number: int
    name: str
    data_type: str


@dataclass(frozen=True, slots=True)
class MethodDefinition:
    """One method of an interface class: its number, Blue Book name and parameter type."""

    number: int
    name: str
    parameter_type: str


def _key(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")


@dataclass(frozen=True, slots=True)
class InterfaceClass:
    """An interface class: id, version, name, attributes and methods.

    ``known`` is false for the generic stand-in of a class id the table does not have.
    """

    class_id: int
    version: int
    name: str
    attributes: tuple[AttributeDefinition, ...]
    methods: tuple[MethodDefinition, ...] = ()
    known: bool = True
    _attributes_by_key: Mapping[int | str, AttributeDefinition] = field(
        init=False, repr=False, compare=False
    )
    _methods_by_key: Mapping[int | str, MethodDefinition] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        attributes: dict[int | str, AttributeDefinition] = {}
        for attribute in self.attributes:
            attributes[attribute.number] = attribute
            attributes[_key(attribute.name)] = attribute
        methods: dict[int | str, MethodDefinition] = {}
        for method in self.methods:
            methods[method.number] = method
            methods[_key(method.name)] = method
        object.__setattr__(self, "_attributes_by_key", MappingProxyType(attributes))
        object.__setattr__(self, "_methods_by_key", MappingProxyType(methods))

    def attribute(self, key: int | str) -> AttributeDefinition:
        """The attribute with this number or name; :class:`UnknownAttributeError` if none."""
        found = self._attributes_by_key.get(_key(key) if isinstance(key, str) else int(key))
        if found is None:
            raise UnknownAttributeError(
                f"{self.name} (class {self.class_id}, version {self.version}) has no "
                f"attribute {key!r}"
            )
        return found

    def method(self, key: int | str) -> MethodDefinition:
        """The method with this number or name; :class:`UnknownMethodError` if none."""
        found = self._methods_by_key.get(_key(key) if isinstance(key, str) else int(key))
        if found is None:
            raise UnknownMethodError(
                f"{self.name} (class {self.class_id}, version {self.version}) has no method {key!r}"
            )
        return found

    def has_attribute(self, key: int | str) -> bool:
        """True when the class defines this attribute (number or name)."""
        return (_key(key) if isinstance(key, str) else int(key)) in self._attributes_by_key

    def has_method(self, key: int | str) -> bool:
        """True when the class defines this method (number or name)."""
        return (_key(key) if isinstance(key, str) else int(key)) in self._methods_by_key


# ---------------------------------------------------------------------------------------------
# The table. Attribute 1 (logical_name, octet-string) is added to every class; the others are
# numbered from 2 in the order given, methods from 1. A ``None`` keeps a number unused.

_Attribute = tuple[str, str] | None
_Method = tuple[str, str] | None

_LOGICAL_NAME = AttributeDefinition(1, "logical_name", "octet-string")


def _build(
    class_id: int,
    versions: Iterable[int],
    name: str,
    attributes: Iterable[_Attribute],
    methods: Iterable[_Method] = (),
) -> Iterator[InterfaceClass]:
    attribute_definitions = [_LOGICAL_NAME]
    for number, attribute in enumerate(attributes, start=2):
        if attribute is not None:
            attribute_definitions.append(AttributeDefinition(number, *attribute))
    method_definitions = [
        MethodDefinition(number, *method)
        for number, method in enumerate(methods, start=1)
        if method is not None
    ]
    for version in versions:
        yield InterfaceClass(
            class_id, version, name, tuple(attribute_definitions), tuple(method_definitions)
        )


_REGISTER_ATTRIBUTES: list[_Attribute] = [
    ("value", "CHOICE (any simple type)"),
    ("scaler_unit", "scal_unit_type: structure {scaler integer, unit enum}"),
]
_RESET: _Method = ("reset", "data: integer(0)")

_PUSH_SETUP_V0: list[_Attribute] = [
    ("push_object_list", "array of object_definition"),
    ("send_destination_and_method", "structure {transport_service, destination, message}"),
    ("communication_window", "array of window_element"),
    ("randomisation_start_interval", "long-unsigned"),
    ("number_of_retries", "unsigned"),
    ("repetition_delay", "long-unsigned"),
]

_ASSOCIATION_LN: list[_Attribute] = [
    ("object_list", "object_list_type: array of object_list_element"),
    ("associated_partners_id", "structure {client_SAP integer, server_SAP long-unsigned}"),
    ("application_context_name", "object identifier (octet-string, or a structure in v0)"),
    ("xDLMS_context_info", "structure {conformance, max_receive_pdu_size, ...}"),
    ("authentication_mechanism_name", "object identifier (octet-string)"),
    ("secret", "octet-string"),
    ("association_status", "enum"),
    ("security_setup_reference", "octet-string"),
    ("user_list", "array of structure {user_id unsigned, user_name visible-string}"),
    ("current_user", "structure {user_id unsigned, user_name visible-string}"),
]
_ASSOCIATION_LN_METHODS: list[_Method] = [
    ("reply_to_HLS_authentication", "octet-string"),
    ("change_HLS_secret", "octet-string"),
    ("add_object", "object_list_element"),
    ("remove_object", "object_list_element"),
    ("add_user", "structure {user_id, user_name}"),
    ("remove_user", "structure {user_id, user_name}"),
]

_ASSOCIATION_SN: list[_Attribute] = [
    ("object_list", "objlist_type: array of objlist_element"),
    ("access_rights_list", "array of access_right"),
    ("security_setup_reference", "octet-string"),
    ("user_list", "array of structure {user_id unsigned, user_name visible-string}"),
    ("current_user", "structure {user_id unsigned, user_name visible-string}"),
]
_ASSOCIATION_SN_METHODS: list[_Method] = [
    ("getlist_by_classid", "long-unsigned (class_id); version 0/1 only"),
    ("getobj_by_logicalname", "octet-string; version 0/1 only"),
    ("read_by_logicalname", "array of structure {class_id, logical_name}"),
    ("get_attributes_and_services", "array of long-unsigned (class_id)"),
    ("change_LLS_secret", "octet-string"),
    ("change_HLS_secret", "octet-string"),
    ("get_HLS_challenge", "data; version 0/1 only"),
    ("reply_to_HLS_authentication", "octet-string"),
    ("add_user", "structure {user_id, user_name}"),
    ("remove_user", "structure {user_id, user_name}"),
]

_SECURITY_SETUP_V0: list[_Attribute] = [
    ("security_policy", "enum (version 0) / bit-string flags as enum (version 1)"),
    ("security_suite", "enum"),
    ("client_system_title", "octet-string"),
    ("server_system_title", "octet-string"),
]

_MBUS_CLIENT_V0: list[_Attribute] = [
    ("mbus_port_reference", "octet-string"),
    ("capture_definition", "array of structure {data_information_block, value_information_block}"),
    ("capture_period", "double-long-unsigned"),
    ("primary_address", "unsigned"),
    ("identification_number", "double-long-unsigned"),
    ("manufacturer_id", "long-unsigned"),
    ("version", "unsigned"),
    ("device_type", "unsigned"),
    ("access_number", "unsigned"),
    ("status", "unsigned"),
    ("alarm", "unsigned"),
]
_MBUS_CLIENT_METHODS: list[_Method] = [
    ("slave_install", "unsigned (primary_address)"),
    ("slave_deinstall", "integer(0)"),
    ("capture", "integer(0)"),
    ("reset_alarm", "integer(0)"),
    ("synchronize_clock", "integer(0)"),
    ("data_send", "array of data_definition_element"),
    ("set_encryption_key", "octet-string"),
    ("transfer_key", "octet-string"),
]

_TABLE: list[InterfaceClass] = [
    *_build(1, [0], "Data", [("value", "CHOICE (any type)")]),
    *_build(3, [0], "Register", _REGISTER_ATTRIBUTES, [_RESET]),
    *_build(
        4,
        [0],
        "Extended register",
        [
            *_REGISTER_ATTRIBUTES,
            ("status", "CHOICE (any simple type)"),
            ("capture_time", "octet-string (date-time)"),
        ],
        [_RESET],
    ),
    *_build(
        5,
        [0],
        "Demand register",
        [
            ("current_average_value", "CHOICE (any simple type)"),
            ("last_average_value", "CHOICE (any simple type)"),
            ("scaler_unit", "scal_unit_type"),
            ("status", "CHOICE (any simple type)"),
            ("capture_time", "octet-string (date-time)"),
            ("start_time_current", "octet-string (date-time)"),
            ("period", "double-long-unsigned (seconds)"),
            ("number_of_periods", "long-unsigned"),
        ],
        [_RESET, ("next_period", "data: integer(0)")],
    ),
    *_build(
        6,
        [0],
        "Register activation",
        [
            ("register_assignment", "array of object_definition {class_id, logical_name}"),
            ("mask_list", "array of register_act_mask {mask_name, index_list}"),
            ("active_mask", "octet-string"),
        ],
        [
            ("add_register", "object_definition"),
            ("add_mask", "register_act_mask"),
            ("delete_mask", "octet-string (mask_name)"),
        ],
    ),
    *_build(
        7,
        [0],
        "Profile generic",
        [
            ("buffer", "compact-array or array of structure (the rows)"),
            ("capture_objects", "array of capture_object_definition"),
            ("capture_period", "double-long-unsigned (seconds)"),
            ("sort_method", "enum"),
            ("sort_object", "capture_object_definition"),
            ("entries_in_use", "double-long-unsigned"),
            ("profile_entries", "double-long-unsigned"),
        ],
        [
            _RESET,
            ("capture", "data: integer(0)"),
            ("get_buffer_by_range", "range_descriptor"),
            ("get_buffer_by_index", "entry_descriptor"),
        ],
    ),
    *_build(
        7,
        [1],
        "Profile generic",
        [
            ("buffer", "compact-array or array of structure (the rows)"),
            ("capture_objects", "array of capture_object_definition"),
            ("capture_period", "double-long-unsigned (seconds)"),
            ("sort_method", "enum"),
            ("sort_object", "capture_object_definition"),
            ("entries_in_use", "double-long-unsigned"),
            ("profile_entries", "double-long-unsigned"),
        ],
        [_RESET, ("capture", "data: integer(0)")],
    ),
    *_build(
        8,
        [0],
        "Clock",
        [
            ("time", "octet-string (date-time)"),
            ("time_zone", "long (minutes of local time to UTC)"),
            ("status", "unsigned (clock_status)"),
            ("daylight_savings_begin", "octet-string (date-time)"),
            ("daylight_savings_end", "octet-string (date-time)"),
            ("daylight_savings_deviation", "integer (minutes)"),
            ("daylight_savings_enabled", "boolean"),
            ("clock_base", "enum"),
        ],
        [
            ("adjust_to_quarter", "data: integer(0)"),
            ("adjust_to_measuring_period", "data: integer(0)"),
            ("adjust_to_minute", "data: integer(0)"),
            ("adjust_to_preset_time", "data: integer(0)"),
            (
                "preset_adjusting_time",
                "structure {preset_time, validity_interval_start, validity_interval_end}",
            ),
            ("shift_time", "long (seconds, -900..900)"),
        ],
    ),
    *_build(
        9,
        [0],
        "Script table",
        [("scripts", "array of script {script_identifier, actions}")],
        [("execute", "long-unsigned (script_identifier)")],
    ),
    *_build(
        10,
        [0],
        "Schedule",
        [("entries", "array of schedule_table_entry")],
        [
            ("enable_disable", "structure {firstIndexA, lastIndexA, firstIndexB, lastIndexB}"),
            ("insert", "schedule_table_entry"),
            ("delete", "structure {firstIndex, lastIndex}"),
        ],
    ),
    *_build(
        11,
        [0],
        "Special days table",
        [("entries", "array of spec_day_entry {index, specialday_date, day_id}")],
        [("insert", "spec_day_entry"), ("delete", "long-unsigned (index)")],
    ),
    *_build(12, [2], "Association SN", _ASSOCIATION_SN[:3], _ASSOCIATION_SN_METHODS[:8]),
    *_build(12, [3, 4], "Association SN", _ASSOCIATION_SN, _ASSOCIATION_SN_METHODS),
    *_build(15, [0], "Association LN", _ASSOCIATION_LN[:7], _ASSOCIATION_LN_METHODS[:4]),
    *_build(15, [1], "Association LN", _ASSOCIATION_LN[:8], _ASSOCIATION_LN_METHODS[:4]),
    *_build(15, [2, 3], "Association LN", _ASSOCIATION_LN, _ASSOCIATION_LN_METHODS),
    *_build(
        17,
        [0],
        "SAP assignment",
        [("SAP_assignment_list", "array of asslist_element {SAP, logical_device_name}")],
        [("connect_logical_device", "asslist_element")],
    ),
    *_build(
        18,
        [0],
        "Image transfer",
        [
            ("image_block_size", "double-long-unsigned"),
            ("image_transferred_blocks_status", "bit-string"),
            ("image_first_not_transferred_block_number", "double-long-unsigned"),
            ("image_transfer_enabled", "boolean"),
            ("image_transfer_status", "enum"),
            ("image_to_activate_info", "array of structure {size, identification, signature}"),
        ],
        [
            ("image_transfer_initiate", "structure {image_identifier, image_size}"),
            ("image_block_transfer", "structure {image_block_number, image_block_value}"),
            ("image_verify", "data: integer(0)"),
            ("image_activate", "data: integer(0)"),
        ],
    ),
    *_build(
        19,
        [0, 1, 2],
        "IEC local port setup",
        [
            ("default_mode", "enum"),
            ("default_baud", "enum"),
            ("prop_baud", "enum"),
            ("response_time", "enum"),
            ("device_addr", "octet-string"),
            ("pass_p1", "octet-string"),
            ("pass_p2", "octet-string"),
            ("pass_w5", "octet-string"),
        ],
    ),
    *_build(
        20,
        [0],
        "Activity calendar",
        [
            ("calendar_name_active", "octet-string"),
            ("season_profile_active", "array of season_profile"),
            ("week_profile_table_active", "array of week_profile"),
            ("day_profile_table_active", "array of day_profile"),
            ("calendar_name_passive", "octet-string"),
            ("season_profile_passive", "array of season_profile"),
            ("week_profile_table_passive", "array of week_profile"),
            ("day_profile_table_passive", "array of day_profile"),
            ("activate_passive_calendar_time", "octet-string (date-time)"),
        ],
        [("activate_passive_calendar", "data: integer(0)")],
    ),
    *_build(
        21,
        [0],
        "Register monitor",
        [
            ("thresholds", "array of CHOICE"),
            ("monitored_value", "value_definition {class_id, logical_name, attribute_index}"),
            ("actions", "array of action_set {action_up, action_down}"),
        ],
    ),
    *_build(
        22,
        [0],
        "Single action schedule",
        [
            ("executed_script", "script {script_logical_name, script_selector}"),
            ("type", "enum"),
            ("execution_time", "array of structure {time, date}"),
        ],
    ),
    *_build(
        23,
        [0, 1],
        "IEC HDLC setup",
        [
            ("comm_speed", "enum"),
            ("window_size_transmit", "unsigned"),
            ("window_size_receive", "unsigned"),
            ("max_info_field_length_transmit", "long-unsigned (unsigned in version 0)"),
            ("max_info_field_length_receive", "long-unsigned (unsigned in version 0)"),
            ("inter_octet_time_out", "long-unsigned (milliseconds)"),
            ("inactivity_time_out", "long-unsigned (seconds)"),
            ("device_address", "long-unsigned"),
        ],
    ),
    *_build(
        24,
        [0, 1],
        "IEC twisted pair (1) setup",
        [
            ("mode", "enum"),
            ("comm_speed", "enum"),
            ("primary_address_list", "array of unsigned"),
            ("tabi_list", "array of integer"),
        ],
    ),
    *_build(
        25,
        [0],
        "M-Bus slave port setup",
        [
            ("default_baud", "enum"),
            ("avail_baud", "enum"),
            ("addr_state", "enum"),
            ("bus_address", "unsigned"),
        ],
    ),
    *_build(
        26,
        [0],
        "Utility tables",
        [
            ("table_id", "long-unsigned"),
            ("length", "double-long-unsigned"),
            ("buffer", "octet-string"),
        ],
    ),
    *_build(
        27,
        [0, 1],
        "Modem configuration",
        [
            ("comm_speed", "enum"),
            ("initialization_string", "array of initialization_string_element"),
            ("modem_profile", "array of octet-string"),
        ],
    ),
    *_build(
        28,
        [0, 1, 2],
        "Auto answer",
        [
            ("mode", "enum"),
            ("listening_window", "array of window_element {start_time, end_time}"),
            ("status", "enum"),
            ("number_of_calls", "unsigned"),
            ("number_of_rings", "nr_rings_type {nr_rings_in_window, nr_rings_out_of_window}"),
            ("list_of_allowed_callers", "array of structure {caller_id, call_type}"),
        ],
    ),
    *_build(
        29,
        [0, 1],
        "Auto connect",
        [
            ("mode", "enum"),
            ("repetitions", "unsigned"),
            ("repetition_delay", "long-unsigned"),
            ("calling_window", "array of window_element"),
            ("destination_list", "array of octet-string"),
        ],
    ),
    *_build(
        29,
        [2],
        "Auto connect",
        [
            ("mode", "enum"),
            ("repetitions", "unsigned"),
            ("repetition_delay", "long-unsigned"),
            ("calling_window", "array of window_element"),
            ("destination_list", "array of octet-string"),
        ],
        [("connect", "data: integer(0)")],
    ),
    *_build(
        30,
        [0],
        "Data protection",
        [
            ("protection_buffer", "octet-string"),
            ("protection_object_list", "array of object_definition"),
            ("protection_parameters_get", "array of protection_parameters_element"),
            ("protection_parameters_set", "array of protection_parameters_element"),
            ("required_protection", "enum"),
        ],
        [
            ("get_protected_attributes", "get_protected_attributes_parameters"),
            ("set_protected_attributes", "set_protected_attributes_parameters"),
            ("invoke_protected_method", "invoke_protected_method_parameters"),
        ],
    ),
    *_build(40, [0, 1], "Push setup", _PUSH_SETUP_V0, [("push", "data: integer(0)")]),
    *_build(
        40,
        [2],
        "Push setup",
        [
            *_PUSH_SETUP_V0[:-1],
            (
                "repetition_delay",
                "structure {repetition_delay_min, exponent, repetition_delay_max}",
            ),
            ("port_reference", "octet-string"),
            ("push_client_SAP", "integer"),
            ("push_protection_parameters", "array of protection_parameters_element"),
            ("push_operation_method", "enum"),
            (
                "confirmation_parameters",
                "structure {confirmation_start_date, confirmation_interval}",
            ),
            ("last_confirmation_date_time", "octet-string (date-time)"),
        ],
        [("push", "data: integer(0)"), ("reset", "data: integer(0)")],
    ),
    *_build(
        41,
        [0],
        "TCP-UDP setup",
        [
            ("TCP_UDP_port", "long-unsigned"),
            ("IP_reference", "octet-string"),
            ("MSS", "long-unsigned"),
            ("nb_of_sim_conn", "unsigned"),
            ("inactivity_time_out", "long-unsigned (seconds)"),
        ],
    ),
    *_build(
        42,
        [0],
        "IPv4 setup",
        [
            ("DL_reference", "octet-string"),
            ("IP_address", "double-long-unsigned"),
            ("multicast_IP_address", "array of double-long-unsigned"),
            ("IP_options", "array of IP_options_element"),
            ("subnet_mask", "double-long-unsigned"),
            ("gateway_IP_address", "double-long-unsigned"),
            ("use_DHCP_flag", "boolean"),
            ("primary_DNS_address", "double-long-unsigned"),
            ("secondary_DNS_address", "double-long-unsigned"),
        ],
        [
            ("add_mc_IP_address", "double-long-unsigned"),
            ("delete_mc_IP_address", "double-long-unsigned"),
            ("get_nbof_mc_IP_addresses", "data: integer(0)"),
        ],
    ),
    *_build(43, [0], "MAC address setup", [("MAC_address", "octet-string")]),
    *_build(
        44,
        [0],
        "PPP setup",
        [
            ("PHY_reference", "octet-string"),
            ("LCP_options", "array of LCP_options_element"),
            ("IPCP_options", "array of IPCP_options_element"),
            ("PPP_authentication", "structure {user_name, password}"),
        ],
    ),
    *_build(
        45,
        [0],
        "GPRS modem setup",
        [
            ("APN", "octet-string"),
            ("PIN_code", "long-unsigned"),
            ("quality_of_service", "structure {default qos_element, requested qos_element}"),
        ],
    ),
    *_build(
        46,
        [0],
        "SMTP setup",
        [
            ("SMTP_port", "long-unsigned"),
            ("user_name", "octet-string"),
            ("login_password", "octet-string"),
            ("server_address", "octet-string"),
            ("sender_address", "octet-string"),
        ],
    ),
    *_build(
        47,
        [0, 1, 2],
        "GSM diagnostic",
        [
            ("operator", "visible-string"),
            ("status", "enum"),
            ("cs_attachment", "enum"),
            ("ps_status", "enum"),
            ("cell_info", "cell_info_type: structure"),
            ("adjacent_cells", "array of adjacent_cell_info"),
            ("capture_time", "octet-string (date-time)"),
        ],
    ),
    *_build(
        48,
        [0],
        "IPv6 setup",
        [
            ("DL_reference", "octet-string"),
            ("address_config_mode", "enum"),
            ("unicast_IPv6_addresses", "array of octet-string(16)"),
            ("multicast_IPv6_addresses", "array of octet-string(16)"),
            ("gateway_IPv6_addresses", "array of octet-string(16)"),
            ("primary_DNS_address", "octet-string(16)"),
            ("secondary_DNS_address", "octet-string(16)"),
            ("traffic_class", "unsigned"),
            ("neighbor_discovery_setup", "array of neighbor_discovery_setup"),
        ],
        [
            ("add_IPv6_address", "structure {address_type, IPv6_address}"),
            ("remove_IPv6_address", "structure {address_type, IPv6_address}"),
        ],
    ),
    *_build(
        61,
        [0],
        "Register table",
        [
            ("table_cell_values", "array of CHOICE"),
            (
                "table_cell_definition",
                "structure {class_id, logical_name, group_E_values, attribute_index}",
            ),
            ("scaler_unit", "scal_unit_type"),
        ],
        [_RESET, ("capture", "data: integer(0)")],
    ),
    *_build(
        62,
        [0, 1],
        "Compact data",
        [
            ("compact_buffer", "octet-string"),
            ("capture_objects", "array of capture_object_definition"),
            ("template_id", "unsigned"),
            ("template_description", "octet-string"),
            ("capture_method", "enum"),
        ],
        [_RESET, ("capture", "data: integer(0)")],
    ),
    *_build(
        63,
        [0],
        "Status mapping",
        [
            ("status_word", "CHOICE (bit-string or unsigned)"),
            ("mapping_table", "structure {ref_table_id, ref_table_mapping}"),
        ],
    ),
    *_build(
        64,
        [0],
        "Security setup",
        _SECURITY_SETUP_V0,
        [
            ("security_activate", "enum (security_policy)"),
            ("global_key_transfer", "array of key_data"),
        ],
    ),
    *_build(
        64,
        [1],
        "Security setup",
        [*_SECURITY_SETUP_V0, ("certificates", "array of certificate_info")],
        [
            ("security_activate", "enum (security_policy)"),
            ("key_transfer", "array of key_data"),
            ("key_agreement", "array of key_agreement_data"),
            ("generate_key_pair", "enum (key_pair)"),
            ("generate_certificate_request", "enum (key_pair)"),
            ("import_certificate", "octet-string"),
            ("export_certificate", "certificate_identification"),
            ("remove_certificate", "certificate_identification"),
        ],
    ),
    *_build(
        65,
        [0],
        "Parameter monitor",
        [
            ("changed_parameter", "structure {class_id, logical_name, attribute_index, value}"),
            ("capture_time", "octet-string (date-time)"),
            ("parameter_list", "array of parameter_definition"),
        ],
        [
            ("add_parameter", "parameter_definition"),
            ("delete_parameter", "parameter_definition"),
        ],
    ),
    *_build(
        67,
        [0],
        "Sensor manager",
        [
            ("serial_number", "octet-string"),
            ("metrological_identification", "octet-string"),
            ("output_type", "enum"),
            ("adjustment_method", "octet-string"),
            ("sealing_method", "enum"),
            ("raw_value", "CHOICE"),
            ("scaler_unit", "scal_unit_type"),
            ("status", "CHOICE"),
            ("capture_time", "octet-string (date-time)"),
            ("raw_value_thresholds", "array of CHOICE"),
            ("raw_value_actions", "array of action_set"),
            ("processed_value", "value_definition"),
            ("processed_value_thresholds", "array of CHOICE"),
            ("processed_value_actions", "array of action_set"),
        ],
        [_RESET],
    ),
    *_build(
        68,
        [0],
        "Arbitrator",
        [
            ("actions", "array of action_item {script_logical_name, script_selector}"),
            ("permissions_table", "array of bit-string"),
            ("weightings_table", "array of array of long-unsigned"),
            ("most_recent_requests_table", "array of bit-string"),
            ("last_outcome", "unsigned"),
        ],
        [("request", "structure {request_actor, request_action_list}"), _RESET],
    ),
    *_build(
        70,
        [0],
        "Disconnect control",
        [
            ("output_state", "boolean"),
            ("control_state", "enum"),
            ("control_mode", "enum"),
        ],
        [("remote_disconnect", "data: integer(0)"), ("remote_reconnect", "data: integer(0)")],
    ),
    *_build(
        71,
        [0],
        "Limiter",
        [
            ("monitored_value", "value_definition {class_id, logical_name, attribute_index}"),
            ("threshold_active", "CHOICE"),
            ("threshold_normal", "CHOICE"),
            ("threshold_emergency", "CHOICE"),
            ("min_over_threshold_duration", "double-long-unsigned (seconds)"),
            ("min_under_threshold_duration", "double-long-unsigned (seconds)"),
            ("emergency_profile", "structure {emergency_profile_id, activation_time, duration}"),
            ("emergency_profile_group_id_list", "array of long-unsigned"),
            ("emergency_profile_active", "boolean"),
            ("actions", "structure {action_over_threshold, action_under_threshold}"),
        ],
    ),
    *_build(72, [0], "M-Bus client", _MBUS_CLIENT_V0, _MBUS_CLIENT_METHODS),
    *_build(
        72,
        [1],
        "M-Bus client",
        [
            *_MBUS_CLIENT_V0,
            ("configuration", "long-unsigned"),
            ("encryption_key_status", "enum"),
        ],
        _MBUS_CLIENT_METHODS,
    ),
    *_build(
        73,
        [0],
        "Wireless Mode Q channel",
        [
            ("addr_state", "enum"),
            ("device_address", "unsigned"),
            ("address_mask", "unsigned"),
        ],
    ),
    *_build(74, [0], "M-Bus master port setup", [("comm_speed", "enum")]),
    *_build(
        77,
        [0],
        "M-Bus diagnostic",
        [
            ("received_signal_strength", "unsigned"),
            ("channel_id", "unsigned"),
            ("link_status", "enum"),
            ("broadcast_frames_counter", "array of structure"),
            ("transmissions_counter", "double-long-unsigned"),
            ("FCS_OK_frames_counter", "double-long-unsigned"),
            ("FCS_NOK_frames_counter", "double-long-unsigned"),
            ("capture_time", "structure"),
        ],
        [_RESET],
    ),
    *_build(
        100,
        [0],
        "NTP setup",
        [
            ("activated", "boolean"),
            ("server_address", "octet-string"),
            ("server_port", "long-unsigned"),
            ("authentication_method", "enum"),
            ("authentication_keys", "array of structure {key_id, key}"),
            ("client_key", "octet-string"),
        ],
        [
            ("synchronize", "data: integer(0)"),
            ("add_authentication_key", "structure {key_id, key}"),
            ("delete_authentication_key", "double-long-unsigned (key_id)"),
        ],
    ),
    *_build(
        111,
        [0],
        "Account",
        [
            ("account_mode_and_status", "structure {payment_mode, account_status}"),
            ("current_credit_in_use", "unsigned"),
            ("current_credit_status", "bit-string"),
            ("available_credit", "double-long"),
            ("amount_to_clear", "double-long"),
            ("clearance_threshold", "double-long"),
            ("aggregated_debt", "double-long"),
            ("credit_reference_list", "array of octet-string"),
            ("charge_reference_list", "array of octet-string"),
            ("credit_charge_configuration", "array of structure"),
            ("token_gateway_configuration", "array of structure"),
            ("account_activation_time", "octet-string (date-time)"),
            ("account_closure_time", "octet-string (date-time)"),
            ("currency", "structure {name, scale, unit}"),
            ("low_credit_threshold", "double-long"),
            ("next_credit_available_threshold", "double-long"),
            ("max_provision", "long-unsigned"),
            ("max_provision_period", "double-long-unsigned"),
        ],
        [
            ("activate_account", "data: integer(0)"),
            ("close_account", "data: integer(0)"),
            ("reset_account", "data: integer(0)"),
        ],
    ),
    *_build(
        112,
        [0],
        "Credit",
        [
            ("current_credit_amount", "double-long"),
            ("credit_type", "enum"),
            ("priority", "unsigned"),
            ("warning_threshold", "double-long"),
            ("limit", "double-long"),
            ("credit_configuration", "bit-string"),
            ("credit_status", "enum"),
            ("preset_credit_amount", "double-long"),
            ("credit_available_threshold", "double-long"),
            ("period", "octet-string (date-time)"),
        ],
        [
            ("update_amount", "double-long"),
            ("set_amount_to_value", "double-long"),
            ("invoke_credit", "enum"),
        ],
    ),
    *_build(
        113,
        [0],
        "Charge",
        [
            ("total_amount_paid", "double-long"),
            ("charge_type", "enum"),
            ("priority", "unsigned"),
            ("unit_charge_active", "unit_charge"),
            ("unit_charge_passive", "unit_charge"),
            ("unit_charge_activation_time", "octet-string (date-time)"),
            ("period", "double-long-unsigned"),
            ("charge_configuration", "bit-string"),
            ("last_collection_time", "octet-string (date-time)"),
            ("last_collection_amount", "double-long"),
            ("total_amount_remaining", "double-long"),
            ("proportion", "long-unsigned"),
        ],
        [
            ("update_unit_charge", "unit_charge"),
            ("activate_passive_unit_charge", "data: integer(0)"),
            ("collect", "data: integer(0)"),
            ("update_total_amount_remaining", "double-long"),
            ("set_total_amount_remaining", "double-long"),
        ],
    ),
    *_build(
        115,
        [0],
        "Token gateway",
        [
            ("token", "octet-string"),
            ("token_time", "octet-string (date-time)"),
            ("token_description", "array of octet-string"),
            ("token_delivery_method", "enum"),
            ("token_status", "structure {status_code, data_value}"),
        ],
        [("enter", "octet-string (token)")],
    ),
    *_build(
        122,
        [0],
        "Function control",
        [
            ("activation_status", "array of structure {function_name, status boolean}"),
            ("function_list", "array of structure {function_name, function_specification}"),
        ],
        [
            ("set_function_status", "array of structure {function_name, status}"),
            ("add_function", "array of structure {function_name, function_specification}"),
            ("remove_function", "array of octet-string (function_name)"),
        ],
    ),
    *_build(
        123,
        [0],
        "Array manager",
        [("objects", "array of structure {id, target value_definition}")],
        [
            ("number_of_entries", "unsigned (id)"),
            ("retrieve_by_index", "structure {id, range}"),
            ("update_by_index", "structure {id, range, values}"),
            ("insert_by_index", "structure {id, index, values}"),
            ("remove_by_index", "structure {id, range}"),
        ],
    ),
    *_build(
        124,
        [0],
        "Communication port protection",
        [
            ("protection_mode", "enum"),
            ("allowed_failed_attempts", "long-unsigned"),
            ("initial_lockout_time", "double-long-unsigned (seconds)"),
            ("steepness_factor", "unsigned"),
            ("max_lockout_time", "double-long-unsigned (seconds)"),
            ("port_reference", "octet-string"),
            ("protection_status", "enum"),
            ("failed_attempts", "double-long-unsigned"),
            ("cumulative_failed_attempts", "double-long-unsigned"),
        ],
        [_RESET],
    ),
    *_build(
        151,
        [0, 1],
        "LTE monitoring",
        [
            ("LTE_network_parameters", "structure {T3402, T3412, T3412ext2, T3324, TeDRX, ...}"),
            (
                "LTE_quality_of_service",
                "structure {signal_quality, signal_level, "
                "signal_to_noise_ratio, coverage_enhancement}",
            ),
        ],
    ),
]

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
                (_LOGICAL_NAME,),
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
