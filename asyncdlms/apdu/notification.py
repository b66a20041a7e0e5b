"""Unsolicited PDUs: DataNotification (0x0F), EventNotificationRequest (0xC2, LN) and
InformationReportRequest (0x18, SN).

Date-times in these PDUs come in several shapes on real meters (QUIRKS.md #4), all accepted
and kept as they came so that re-encoding gives the same bytes:

* data-notification ``date-time OCTET STRING``: ``00`` (absent / empty), ``0C`` + 12 bytes
  (the standard form) or ``09 0C`` + 12 bytes (typed like Data, e.g. Kaifa MA304);
* event-notification ``time Cosem-Date-Time OPTIONAL``: ``00`` (absent), or a non-zero
  presence byte followed by a length and the bytes; gurux-dlms writes ``09 0C`` + 12 bytes,
  A-XDR gives ``01 0C`` + 12 bytes; both are read, the prefix is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .. import axdr
from ..errors import EncodeError
from ..types.clock import DateTime
from .descriptors import CosemAttributeDescriptor, Data, Reader, read_data_list, write_data_list
from .enums import LongInvokeIdAndPriority
from .short_name import VariableAccessSpecification, read_specifications, write_specifications
from .tags import ApduTag

if TYPE_CHECKING:
    from typing import Self

__all__ = ["DataNotification", "EventNotificationRequest", "InformationReportRequest"]


def _read_optional_time(reader: Reader) -> tuple[bytes | None, bool]:
    """An octet-string date-time: 00 absent, length + bytes, or 09 + length + bytes (typed)."""
    first = reader.data[reader.pos] if reader.pos < reader.end else -1
    if first == 0:
        reader.pos += 1
        return None, False
    if first == 0x09 and reader.pos + 1 < reader.end and reader.data[reader.pos + 1] == 0x0C:
        # "09 0C": a typed 12-byte date-time (a 9-byte date-time starting 0x0C does not exist)
        reader.pos += 1
        return reader.octet_string("date-time"), True
    return reader.octet_string("date-time"), False


def _write_optional_time(out: bytearray, value: bytes | None, typed: bool) -> None:
    if value is None:
        out.append(0)
        return
    if typed:
        out.append(0x09)
    out += axdr.encode_length(len(value))
    out += value


def _date_time(value: bytes | None) -> DateTime | None:
    if value is None or len(value) != 12:
        return None
    return DateTime.from_bytes(value)


@dataclass(frozen=True, slots=True)
class DataNotification:
    """Data-Notification (0x0F): a push (HAN port, push setup).

    ``date_time`` is the raw octet string (``None`` when absent or empty);
    ``date_time_typed`` records the ``09`` prefix some meters put before it.
    ``notification_body`` is the pushed value (usually a structure).
    """

    notification_body: Data
    long_invoke_id_and_priority: LongInvokeIdAndPriority = field(
        default_factory=LongInvokeIdAndPriority
    )
    date_time: bytes | None = None
    date_time_typed: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "notification_body", Data.of(self.notification_body))
        if self.date_time is not None:
            if len(self.date_time) == 0:
                object.__setattr__(self, "date_time", None)
            else:
                object.__setattr__(self, "date_time", bytes(self.date_time))
        if self.date_time_typed and (self.date_time is None or len(self.date_time) != 12):
            raise EncodeError("a typed (09 0C-prefixed) date-time must be 12 bytes")

    def to_date_time(self) -> DateTime | None:
        """The date-time as a COSEM :class:`DateTime` when 12 bytes were sent, else ``None``
        (raises :class:`~asyncdlms.types.InvalidDateTimeError` for impossible fields)."""
        return _date_time(self.date_time)

    def encode(self) -> bytes:
        """The APDU bytes."""
        out = bytearray((ApduTag.DATA_NOTIFICATION,))
        out += self.long_invoke_id_and_priority.encode()
        _write_optional_time(out, self.date_time, self.date_time_typed)
        out += self.notification_body.raw
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode one Data-Notification APDU."""
        reader = Reader(data)
        reader.header(ApduTag.DATA_NOTIFICATION)
        iip = LongInvokeIdAndPriority.from_int(reader.u32("long-invoke-id-and-priority"))
        date_time, typed = _read_optional_time(reader)
        body = reader.value()
        reader.finish("data-notification")
        return cls(body, iip, date_time, typed)


@dataclass(frozen=True, slots=True)
class EventNotificationRequest:
    """EVENT-NOTIFICATION-Request (0xC2): an attribute value the server reports on its own.

    ``time`` is the raw date-time (``None`` when absent); ``time_prefix`` the bytes before it
    as they came (default ``09 0C``, as gurux-dlms writes it).
    """

    cosem_attribute_descriptor: CosemAttributeDescriptor
    attribute_value: Data
    time: bytes | None = None
    time_prefix: bytes = b"\x09\x0c"

    def __post_init__(self) -> None:
        object.__setattr__(self, "attribute_value", Data.of(self.attribute_value))
        if self.time is None:
            object.__setattr__(self, "time_prefix", b"\x09\x0c")  # unused without a time
        else:
            prefix = self.time_prefix
            if len(prefix) != 2 or prefix[0] == 0 or prefix[1] != len(self.time):
                raise EncodeError(
                    f"time prefix {prefix.hex()} must be a non-zero presence byte and the "
                    f"length of the time ({len(self.time)})"
                )

    def to_date_time(self) -> DateTime | None:
        """The time as a COSEM :class:`DateTime` when 12 bytes were sent, else ``None``."""
        return _date_time(self.time)

    def encode(self) -> bytes:
        """The APDU bytes."""
        out = bytearray((ApduTag.EVENT_NOTIFICATION_REQUEST,))
        if self.time is None:
            out.append(0)
        else:
            out += self.time_prefix
            out += self.time
        self.cosem_attribute_descriptor.encode_into(out)
        out += self.attribute_value.raw
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode one EVENT-NOTIFICATION-Request APDU."""
        reader = Reader(data)
        reader.header(ApduTag.EVENT_NOTIFICATION_REQUEST)
        presence = reader.u8("the presence flag of time")
        time: bytes | None = None
        prefix = b"\x09\x0c"
        if presence:
            length = reader.u8("the length of time")
            time = reader.take(length, "time")
            prefix = bytes((presence, length))
        descriptor = CosemAttributeDescriptor.read(reader)
        value = reader.value()
        reader.finish("event-notification-request")
        return cls(descriptor, value, time, prefix)


@dataclass(frozen=True, slots=True)
class InformationReportRequest:
    """InformationReportRequest (0x18, SN referencing): variables and their values, with an
    optional current-time (raw bytes; ``00`` when absent, else length + bytes)."""

    variable_access_specification: tuple[VariableAccessSpecification, ...]
    list_of_data: tuple[Data, ...]
    current_time: bytes | None = None

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "variable_access_specification", tuple(self.variable_access_specification)
        )
        object.__setattr__(self, "list_of_data", tuple(Data.of(v) for v in self.list_of_data))
        if self.current_time is not None and len(self.current_time) == 0:
            object.__setattr__(self, "current_time", None)

    def to_date_time(self) -> DateTime | None:
        """The current-time as a COSEM :class:`DateTime` when 12 bytes were sent."""
        return _date_time(self.current_time)

    def encode(self) -> bytes:
        """The APDU bytes."""
        out = bytearray((ApduTag.INFORMATION_REPORT_REQUEST,))
        _write_optional_time(out, self.current_time, False)
        write_specifications(out, self.variable_access_specification)
        write_data_list(out, self.list_of_data)
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode one InformationReportRequest APDU."""
        reader = Reader(data)
        reader.header(ApduTag.INFORMATION_REPORT_REQUEST)
        current_time = reader.octet_string("current-time") or None
        items = read_specifications(reader)
        values = read_data_list(reader, "list-of-data")
        reader.finish("information-report-request")
        return cls(items, values, current_time)
