"""The interface classes for parameters and measurement data (Blue Book 4.3): Data,
the registers, Profile generic, Utility tables, Register table, Compact data, Status
mapping. Their part of the table of :mod:`asyncdlms.cosem.classes`."""

from __future__ import annotations

from .definitions import RESET, AttributeEntry, InterfaceClass, build

_REGISTER_ATTRIBUTES: list[AttributeEntry] = [
    ("value", "CHOICE (any simple type)"),
    ("scaler_unit", "scal_unit_type: structure {scaler integer, unit enum}"),
]

CLASSES: list[InterfaceClass] = [
    *build(1, [0], "Data", [("value", "CHOICE (any type)")]),
    *build(3, [0], "Register", _REGISTER_ATTRIBUTES, [RESET]),
    *build(
        4,
        [0],
        "Extended register",
        [
            *_REGISTER_ATTRIBUTES,
            ("status", "CHOICE (any simple type)"),
            ("capture_time", "octet-string (date-time)"),
        ],
        [RESET],
    ),
    *build(
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
        [RESET, ("next_period", "data: integer(0)")],
    ),
    *build(
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
    *build(
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
            RESET,
            ("capture", "data: integer(0)"),
            ("get_buffer_by_range", "range_descriptor"),
            ("get_buffer_by_index", "entry_descriptor"),
        ],
    ),
    *build(
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
        [RESET, ("capture", "data: integer(0)")],
    ),
    *build(
        26,
        [0],
        "Utility tables",
        [
            ("table_id", "long-unsigned"),
            ("length", "double-long-unsigned"),
            ("buffer", "octet-string"),
        ],
    ),
    *build(
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
        [RESET, ("capture", "data: integer(0)")],
    ),
    *build(
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
        [RESET, ("capture", "data: integer(0)")],
    ),
    *build(
        63,
        [0],
        "Status mapping",
        [
            ("status_word", "CHOICE (bit-string or unsigned)"),
            ("mapping_table", "structure {ref_table_id, ref_table_mapping}"),
        ],
    ),
]
