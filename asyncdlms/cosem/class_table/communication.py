"""The interface classes for data exchange (Blue Book 4.7 onwards): local and HDLC
ports, twisted pair, modems, auto answer and connect, TCP-UDP, IPv4, IPv6, MAC, PPP,
GPRS, SMTP, GSM and LTE diagnostics, NTP, M-Bus (slave port, client, master port,
diagnostic), wireless Mode Q. Their part of the table of
:mod:`asyncdlms.cosem.classes`."""

from __future__ import annotations

from .definitions import RESET, AttributeEntry, InterfaceClass, MethodEntry, build

_MBUS_CLIENT_V0: list[AttributeEntry] = [
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

_MBUS_CLIENT_METHODS: list[MethodEntry] = [
    ("slave_install", "unsigned (primary_address)"),
    ("slave_deinstall", "integer(0)"),
    ("capture", "integer(0)"),
    ("reset_alarm", "integer(0)"),
    ("synchronize_clock", "integer(0)"),
    ("data_send", "array of data_definition_element"),
    ("set_encryption_key", "octet-string"),
    ("transfer_key", "octet-string"),
]

CLASSES: list[InterfaceClass] = [
    *build(
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
    *build(
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
    *build(
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
    *build(
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
    *build(
        27,
        [0, 1],
        "Modem configuration",
        [
            ("comm_speed", "enum"),
            ("initialization_string", "array of initialization_string_element"),
            ("modem_profile", "array of octet-string"),
        ],
    ),
    *build(
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
    *build(
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
    *build(
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
    *build(
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
    *build(
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
    *build(43, [0], "MAC address setup", [("MAC_address", "octet-string")]),
    *build(
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
    *build(
        45,
        [0],
        "GPRS modem setup",
        [
            ("APN", "octet-string"),
            ("PIN_code", "long-unsigned"),
            ("quality_of_service", "structure {default qos_element, requested qos_element}"),
        ],
    ),
    *build(
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
    *build(
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
    *build(
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
    *build(72, [0], "M-Bus client", _MBUS_CLIENT_V0, _MBUS_CLIENT_METHODS),
    *build(
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
    *build(
        73,
        [0],
        "Wireless Mode Q channel",
        [
            ("addr_state", "enum"),
            ("device_address", "unsigned"),
            ("address_mask", "unsigned"),
        ],
    ),
    *build(74, [0], "M-Bus master port setup", [("comm_speed", "enum")]),
    *build(
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
        [RESET],
    ),
    *build(
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
    *build(
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
