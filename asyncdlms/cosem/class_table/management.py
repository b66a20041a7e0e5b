"""The interface classes for access control and management (Blue Book 4.4): the
associations, SAP assignment, Image transfer, Data protection, Push setup, Security
setup, Function control, Array manager, Communication port protection. Their part of
the table of :mod:`asyncdlms.cosem.classes`."""

from __future__ import annotations

from .definitions import RESET, AttributeEntry, InterfaceClass, MethodEntry, build

_PUSH_SETUP_V0: list[AttributeEntry] = [
    ("push_object_list", "array of object_definition"),
    ("send_destination_and_method", "structure {transport_service, destination, message}"),
    ("communication_window", "array of window_element"),
    ("randomisation_start_interval", "long-unsigned"),
    ("number_of_retries", "unsigned"),
    ("repetition_delay", "long-unsigned"),
]

_ASSOCIATION_LN: list[AttributeEntry] = [
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

_ASSOCIATION_LN_METHODS: list[MethodEntry] = [
    ("reply_to_HLS_authentication", "octet-string"),
    ("change_HLS_secret", "octet-string"),
    ("add_object", "object_list_element"),
    ("remove_object", "object_list_element"),
    ("add_user", "structure {user_id, user_name}"),
    ("remove_user", "structure {user_id, user_name}"),
]

_ASSOCIATION_SN: list[AttributeEntry] = [
    ("object_list", "objlist_type: array of objlist_element"),
    ("access_rights_list", "array of access_right"),
    ("security_setup_reference", "octet-string"),
    ("user_list", "array of structure {user_id unsigned, user_name visible-string}"),
    ("current_user", "structure {user_id unsigned, user_name visible-string}"),
]

_ASSOCIATION_SN_METHODS: list[MethodEntry] = [
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

_SECURITY_SETUP_V0: list[AttributeEntry] = [
    ("security_policy", "enum (version 0) / bit-string flags as enum (version 1)"),
    ("security_suite", "enum"),
    ("client_system_title", "octet-string"),
    ("server_system_title", "octet-string"),
]

CLASSES: list[InterfaceClass] = [
    *build(12, [2], "Association SN", _ASSOCIATION_SN[:3], _ASSOCIATION_SN_METHODS[:8]),
    *build(12, [3, 4], "Association SN", _ASSOCIATION_SN, _ASSOCIATION_SN_METHODS),
    *build(15, [0], "Association LN", _ASSOCIATION_LN[:7], _ASSOCIATION_LN_METHODS[:4]),
    *build(15, [1], "Association LN", _ASSOCIATION_LN[:8], _ASSOCIATION_LN_METHODS[:4]),
    *build(15, [2, 3], "Association LN", _ASSOCIATION_LN, _ASSOCIATION_LN_METHODS),
    *build(
        17,
        [0],
        "SAP assignment",
        [("SAP_assignment_list", "array of asslist_element {SAP, logical_device_name}")],
        [("connect_logical_device", "asslist_element")],
    ),
    *build(
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
    *build(
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
    *build(40, [0, 1], "Push setup", _PUSH_SETUP_V0, [("push", "data: integer(0)")]),
    *build(
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
    *build(
        64,
        [0],
        "Security setup",
        _SECURITY_SETUP_V0,
        [
            ("security_activate", "enum (security_policy)"),
            ("global_key_transfer", "array of key_data"),
        ],
    ),
    *build(
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
    *build(
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
    *build(
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
    *build(
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
        [RESET],
    ),
]
