"""The interface classes for time- and event-bound control (Blue Book 4.5): Clock, the
scripts, schedules and calendars, the monitors, Sensor manager, Arbitrator, Disconnect
control, Limiter. Their part of the table of :mod:`asyncdlms.cosem.classes`."""

from __future__ import annotations

from .definitions import RESET, InterfaceClass, build

CLASSES: list[InterfaceClass] = [
    *build(
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
    *build(
        9,
        [0],
        "Script table",
        [("scripts", "array of script {script_identifier, actions}")],
        [("execute", "long-unsigned (script_identifier)")],
    ),
    *build(
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
    *build(
        11,
        [0],
        "Special days table",
        [("entries", "array of spec_day_entry {index, specialday_date, day_id}")],
        [("insert", "spec_day_entry"), ("delete", "long-unsigned (index)")],
    ),
    *build(
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
    *build(
        21,
        [0],
        "Register monitor",
        [
            ("thresholds", "array of CHOICE"),
            ("monitored_value", "value_definition {class_id, logical_name, attribute_index}"),
            ("actions", "array of action_set {action_up, action_down}"),
        ],
    ),
    *build(
        22,
        [0],
        "Single action schedule",
        [
            ("executed_script", "script {script_logical_name, script_selector}"),
            ("type", "enum"),
            ("execution_time", "array of structure {time, date}"),
        ],
    ),
    *build(
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
    *build(
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
        [RESET],
    ),
    *build(
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
        [("request", "structure {request_actor, request_action_list}"), RESET],
    ),
    *build(
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
    *build(
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
]
