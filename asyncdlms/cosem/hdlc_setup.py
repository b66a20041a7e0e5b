"""IEC HDLC setup (class 23): the HDLC link parameters a meter uses on a port."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum

from ._values import as_int, enum_or_int

__all__ = ["CommSpeed", "HdlcSetup"]


class CommSpeed(IntEnum):
    """``comm_speed`` of IEC HDLC setup (and IEC local port setup's baud enumerations)."""

    BAUD_300 = 0
    BAUD_600 = 1
    BAUD_1200 = 2
    BAUD_2400 = 3
    BAUD_4800 = 4
    BAUD_9600 = 5
    BAUD_19200 = 6
    BAUD_38400 = 7
    BAUD_57600 = 8
    BAUD_115200 = 9

    @property
    def baud_rate(self) -> int:
        """The speed in baud."""
        return int(self.name.removeprefix("BAUD_"))


@dataclass(frozen=True, slots=True)
class HdlcSetup:
    """Attributes 2..9 of IEC HDLC setup. Times: ``inter_octet_time_out`` in milliseconds,
    ``inactivity_time_out`` in seconds (0: no inactivity timeout)."""

    comm_speed: CommSpeed | int = CommSpeed.BAUD_9600
    window_size_transmit: int = 1
    window_size_receive: int = 1
    max_info_field_length_transmit: int = 128
    max_info_field_length_receive: int = 128
    inter_octet_time_out: int = 25
    inactivity_time_out: int = 120
    device_address: int = 0x10

    @classmethod
    def from_values(cls, values: Mapping[int, object]) -> HdlcSetup:
        """Read ``{attribute number: decoded value}`` (missing attributes keep the Blue
        Book defaults)."""
        defaults = cls()
        names = (
            "comm_speed",
            "window_size_transmit",
            "window_size_receive",
            "max_info_field_length_transmit",
            "max_info_field_length_receive",
            "inter_octet_time_out",
            "inactivity_time_out",
            "device_address",
        )
        fields: dict[str, object] = {}
        for number, name in enumerate(names, start=2):
            if number not in values or values[number] is None:
                fields[name] = getattr(defaults, name)
            elif name == "comm_speed":
                fields[name] = enum_or_int(CommSpeed, values[number], name)
            else:
                fields[name] = as_int(values[number], name)
        return cls(**fields)  # type: ignore[arg-type]

    @property
    def baud_rate(self) -> int | None:
        """``comm_speed`` in baud (``None`` for an unknown code)."""
        return self.comm_speed.baud_rate if isinstance(self.comm_speed, CommSpeed) else None
