"""Disconnect control (class 70): the breaker or valve of a meter.

``await meter.action(70, "0.0.96.3.10.255", DisconnectControlMethod.REMOTE_DISCONNECT,
remote_disconnect_parameter())``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from ..types.values import Integer
from ._values import as_bool, enum_or_int

__all__ = [
    "ControlMode",
    "ControlState",
    "DisconnectControlMethod",
    "DisconnectControlState",
    "remote_disconnect_parameter",
    "remote_reconnect_parameter",
]


class DisconnectControlMethod(IntEnum):
    """The methods of Disconnect control."""

    REMOTE_DISCONNECT = 1
    REMOTE_RECONNECT = 2


class ControlState(IntEnum):
    """Attribute 3 ``control_state``."""

    DISCONNECTED = 0
    CONNECTED = 1
    READY_FOR_RECONNECTION = 2


class ControlMode(IntEnum):
    """Attribute 4 ``control_mode``: which transitions are allowed (Blue Book modes 0..6).

    Modes 1..6 differ in which remote, manual and local transitions between the three
    control states they allow (the Blue Book's state diagram of class 70); in each of them
    ``remote_disconnect`` disconnects.
    """

    NONE = 0
    """The object is always in the connected state."""
    MODE_1 = 1
    MODE_2 = 2
    MODE_3 = 3
    MODE_4 = 4
    MODE_5 = 5
    MODE_6 = 6


def remote_disconnect_parameter() -> Integer:
    """Method 1 ``remote_disconnect``: ``integer(0)``."""
    return Integer(0)


def remote_reconnect_parameter() -> Integer:
    """Method 2 ``remote_reconnect``: ``integer(0)``."""
    return Integer(0)


@dataclass(frozen=True, slots=True)
class DisconnectControlState:
    """Attributes 2..4 read together."""

    output_state: bool
    control_state: ControlState | int
    control_mode: ControlMode | int

    @classmethod
    def from_values(
        cls, output_state: object, control_state: object, control_mode: object
    ) -> DisconnectControlState:
        """Read the decoded ``output_state`` (boolean), ``control_state`` and
        ``control_mode`` (enums; unknown codes stay ints)."""
        return cls(
            as_bool(output_state, "output_state"),
            enum_or_int(ControlState, control_state, "control_state"),
            enum_or_int(ControlMode, control_mode, "control_mode"),
        )
