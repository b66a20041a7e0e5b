"""Push setup (class 40): what a meter pushes, where, and when.

``push_object_list`` (attribute 2) is an array of ``object_definition ::= structure
{class_id, logical_name, attribute_index, data_index}`` — the same structure as a profile's
capture objects, so it reads as :class:`~asyncdlms.cosem.profile.CaptureObject` values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from ..types.clock import DateTime
from ..types.values import Array, Enum, OctetString, Structure
from ._values import as_bytes, as_sequence, enum_or_int
from .clock import decode_clock_time
from .profile import CaptureObject, parse_capture_objects

__all__ = [
    "MessageType",
    "SendDestinationAndMethod",
    "TransportService",
    "parse_communication_window",
    "parse_push_object_list",
    "push_object_list_value",
]


class TransportService(IntEnum):
    """transport_service of ``send_destination_and_method`` (200..255: manufacturer)."""

    TCP = 0
    UDP = 1
    FTP = 2
    SMTP = 3
    SMS = 4
    HDLC = 5
    M_BUS = 6
    ZIGBEE = 7
    DLMS_GATEWAY = 8


class MessageType(IntEnum):
    """message of ``send_destination_and_method`` (128..255: manufacturer)."""

    A_XDR_ENCODED_XDLMS_APDU = 0
    XML_ENCODED_XDLMS_APDU = 1


def parse_push_object_list(value: object) -> tuple[CaptureObject, ...]:
    """Attribute 2 ``push_object_list``."""
    return parse_capture_objects(value)


def push_object_list_value(objects: Sequence[CaptureObject]) -> Array:
    """The value to SET in ``push_object_list``."""
    return Array(item.to_value() for item in objects)


@dataclass(frozen=True, slots=True)
class SendDestinationAndMethod:
    """Attribute 3: ``structure {transport_service enum, destination octet-string, message
    enum}``. ``destination`` is e.g. ``b"10.0.0.1:4059"`` for TCP or a phone number for SMS.
    """

    transport_service: TransportService | int
    destination: bytes
    message: MessageType | int = MessageType.A_XDR_ENCODED_XDLMS_APDU

    @classmethod
    def from_value(cls, value: object) -> SendDestinationAndMethod:
        """Read the decoded structure."""
        fields = as_sequence(value, "send_destination_and_method", 3)
        return cls(
            enum_or_int(TransportService, fields[0], "transport_service"),
            as_bytes(fields[1], "destination"),
            enum_or_int(MessageType, fields[2], "message"),
        )

    def to_value(self) -> Structure:
        """The structure to SET."""
        return Structure(
            (
                Enum(int(self.transport_service)),
                OctetString(self.destination),
                Enum(int(self.message)),
            )
        )


def parse_communication_window(
    value: object,
) -> tuple[tuple[DateTime | None, DateTime | None], ...]:
    """Attribute 4 ``communication_window``: ``array of structure {start_time, end_time}``,
    both octet-string(12) date-times, usually with wildcards (e.g. every day)."""
    windows = []
    for item in as_sequence(value, "communication_window"):
        fields = as_sequence(item, "window_element", 2)
        windows.append((decode_clock_time(fields[0]), decode_clock_time(fields[1])))
    return tuple(windows)
