"""Enumerations and small fixed fields of the xDLMS services (IEC 62056-5-3).

The choice tags of GET/SET/ACTION requests and responses, the Data-Access-Result and
Action-Result codes with the standard's names, and the invoke-id-and-priority byte
(``Invoke-Id-And-Priority``) and its 4-byte form in data-notification
(``Long-Invoke-Id-And-Priority``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

from ..errors import ActionError, DataAccessError, DecodeError, EncodeError

if TYPE_CHECKING:
    from typing import Self

__all__ = [
    "AccessRequestType",
    "AccessResponseType",
    "ActionRequestType",
    "ActionResponseType",
    "ActionResult",
    "DataAccessResult",
    "GetRequestType",
    "GetResponseType",
    "InvokeIdAndPriority",
    "LongInvokeIdAndPriority",
    "SetRequestType",
    "SetResponseType",
    "action_error",
    "data_access_error",
]


class _StandardName(IntEnum):
    """An IntEnum whose ``standard_name`` is the ASN.1 identifier (``object-undefined``)."""

    @property
    def standard_name(self) -> str:
        """The name as written in IEC 62056-5-3 (lower case, hyphens)."""
        return self.name.lower().replace("_", "-")

    @classmethod
    def decode_value(cls, value: int, offset: int) -> Self:
        """The member for ``value``; :class:`DecodeError` at ``offset`` when there is none."""
        try:
            return cls(value)
        except ValueError:
            raise DecodeError(
                f"unknown {cls.__name__} {value} (expected one of "
                f"{', '.join(str(m.value) for m in cls)})",
                offset,
            ) from None


class _OpenResult(_StandardName):
    """A result code enum that also takes codes the standard does not name.

    Meters send manufacturer-specific result codes; such a code must reach the caller as a
    clear error ("unknown-200"), not make the whole response undecodable.
    """

    @classmethod
    def _missing_(cls, value: object) -> Self | None:
        if not isinstance(value, int) or not 0 <= value <= 255:
            return None
        member = int.__new__(cls, value)
        member._name_ = f"UNKNOWN_{value}"
        member._value_ = value
        return cls._value2member_map_.setdefault(value, member)  # type: ignore[return-value]


class DataAccessResult(_OpenResult):
    """Data-Access-Result: the outcome of one GET or SET (and of SN read/write).

    A code the standard does not define (manufacturer-specific) becomes a member named
    ``UNKNOWN_<code>``.
    """

    SUCCESS = 0
    HARDWARE_FAULT = 1
    TEMPORARY_FAILURE = 2
    READ_WRITE_DENIED = 3
    OBJECT_UNDEFINED = 4
    OBJECT_CLASS_INCONSISTENT = 9
    OBJECT_UNAVAILABLE = 11
    TYPE_UNMATCHED = 12
    SCOPE_OF_ACCESS_VIOLATED = 13
    DATA_BLOCK_UNAVAILABLE = 14
    LONG_GET_ABORTED = 15
    NO_LONG_GET_IN_PROGRESS = 16
    LONG_SET_ABORTED = 17
    NO_LONG_SET_IN_PROGRESS = 18
    DATA_BLOCK_NUMBER_INVALID = 19
    OTHER_REASON = 250


class ActionResult(_OpenResult):
    """Action-Result: the outcome of one ACTION (unknown codes as for DataAccessResult)."""

    SUCCESS = 0
    HARDWARE_FAULT = 1
    TEMPORARY_FAILURE = 2
    READ_WRITE_DENIED = 3
    OBJECT_UNDEFINED = 4
    OBJECT_CLASS_INCONSISTENT = 9
    OBJECT_UNAVAILABLE = 11
    TYPE_UNMATCHED = 12
    SCOPE_OF_ACCESS_VIOLATED = 13
    DATA_BLOCK_UNAVAILABLE = 14
    LONG_ACTION_ABORTED = 15
    NO_LONG_ACTION_IN_PROGRESS = 16
    OTHER_REASON = 250


class GetRequestType(_StandardName):
    """The CHOICE tag after 0xC0 (GET-Request)."""

    NORMAL = 1
    NEXT = 2
    WITH_LIST = 3


class GetResponseType(_StandardName):
    """The CHOICE tag after 0xC4 (GET-Response)."""

    NORMAL = 1
    WITH_DATABLOCK = 2
    WITH_LIST = 3


class SetRequestType(_StandardName):
    """The CHOICE tag after 0xC1 (SET-Request)."""

    NORMAL = 1
    WITH_FIRST_DATABLOCK = 2
    WITH_DATABLOCK = 3
    WITH_LIST = 4
    WITH_LIST_AND_FIRST_DATABLOCK = 5


class SetResponseType(_StandardName):
    """The CHOICE tag after 0xC5 (SET-Response)."""

    NORMAL = 1
    DATABLOCK = 2
    LAST_DATABLOCK = 3
    LAST_DATABLOCK_WITH_LIST = 4
    WITH_LIST = 5


class ActionRequestType(_StandardName):
    """The CHOICE tag after 0xC3 (ACTION-Request)."""

    NORMAL = 1
    NEXT_PBLOCK = 2
    WITH_LIST = 3
    WITH_FIRST_PBLOCK = 4
    WITH_LIST_AND_FIRST_PBLOCK = 5
    WITH_PBLOCK = 6


class ActionResponseType(_StandardName):
    """The CHOICE tag after 0xC7 (ACTION-Response)."""

    NORMAL = 1
    WITH_PBLOCK = 2
    WITH_LIST = 3
    NEXT_PBLOCK = 4


class AccessRequestType(_StandardName):
    """The CHOICE tag of an Access-Request-Specification."""

    ACCESS_REQUEST_GET = 1
    ACCESS_REQUEST_SET = 2
    ACCESS_REQUEST_ACTION = 3
    ACCESS_REQUEST_GET_WITH_SELECTION = 4
    ACCESS_REQUEST_SET_WITH_SELECTION = 5


class AccessResponseType(_StandardName):
    """The CHOICE tag of an Access-Response-Specification."""

    ACCESS_RESPONSE_GET = 1
    ACCESS_RESPONSE_SET = 2
    ACCESS_RESPONSE_ACTION = 3


def data_access_error(result: DataAccessResult) -> DataAccessError:
    """The :class:`DataAccessError` for a non-success result, named as in the standard."""
    return DataAccessError(
        f"the server answered data-access-result {result.standard_name} ({int(result)})", result
    )


def action_error(result: ActionResult) -> ActionError:
    """The :class:`ActionError` for a non-success action-result, named as in the standard."""
    return ActionError(
        f"the server answered action-result {result.standard_name} ({int(result)})", result
    )


@dataclass(frozen=True, slots=True)
class InvokeIdAndPriority:
    """Invoke-Id-And-Priority, one byte: invoke-id (bits 0-3), reserved (4-5),
    service-class (6: 1 = confirmed) and priority (7: 1 = high).

    gurux-dlms and most clients send 0xC1: invoke-id 1, confirmed, high priority (the
    defaults here). ``reserved`` keeps bits 4-5 so that any byte re-encodes unchanged.
    """

    invoke_id: int = 1
    confirmed: bool = True
    high_priority: bool = True
    reserved: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.invoke_id <= 15:
            raise EncodeError(f"invoke-id {self.invoke_id} is out of range 0..15")
        if not 0 <= self.reserved <= 3:
            raise EncodeError(f"reserved bits {self.reserved} are out of range 0..3")

    def to_byte(self) -> int:
        """The byte value."""
        return (
            self.invoke_id
            | self.reserved << 4
            | (0x40 if self.confirmed else 0)
            | (0x80 if self.high_priority else 0)
        )

    def encode(self) -> bytes:
        """The one-byte encoding."""
        return bytes((self.to_byte(),))

    @classmethod
    def from_byte(cls, value: int) -> Self:
        """Split a byte (0..255) into its fields."""
        if not 0 <= value <= 255:
            raise DecodeError(f"invoke-id-and-priority {value} is not a byte")
        return cls(value & 0x0F, bool(value & 0x40), bool(value & 0x80), (value >> 4) & 0x03)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode exactly one byte."""
        if len(data) != 1:
            raise DecodeError(f"invoke-id-and-priority is 1 byte, got {len(data)}", 0)
        return cls.from_byte(data[0])


@dataclass(frozen=True, slots=True)
class LongInvokeIdAndPriority:
    """Long-Invoke-Id-And-Priority of data-notification, four bytes (big endian):
    invoke-id (bits 0-23), reserved (24-27), self-descriptive (28), processing-option
    (29: 1 = break on error), service-class (30: 1 = confirmed), priority (31: 1 = high).

    Note: amshan reads this field with the bit order reversed (0x40000000 as invoke-id
    4194304); per the Green Book it is invoke-id 0, confirmed.
    """

    invoke_id: int = 0
    confirmed: bool = False
    high_priority: bool = False
    self_descriptive: bool = False
    break_on_error: bool = False
    reserved: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.invoke_id <= 0xFFFFFF:
            raise EncodeError(f"long invoke-id {self.invoke_id} is out of range 0..16777215")
        if not 0 <= self.reserved <= 15:
            raise EncodeError(f"reserved bits {self.reserved} are out of range 0..15")

    def to_int(self) -> int:
        """The 32-bit value."""
        return (
            self.invoke_id
            | self.reserved << 24
            | (1 << 28 if self.self_descriptive else 0)
            | (1 << 29 if self.break_on_error else 0)
            | (1 << 30 if self.confirmed else 0)
            | (1 << 31 if self.high_priority else 0)
        )

    def encode(self) -> bytes:
        """The four-byte encoding."""
        return self.to_int().to_bytes(4, "big")

    @classmethod
    def from_int(cls, value: int) -> Self:
        """Split a 32-bit value into its fields."""
        if not 0 <= value <= 0xFFFFFFFF:
            raise DecodeError(f"long-invoke-id-and-priority {value} is not 32 bits")
        return cls(
            invoke_id=value & 0xFFFFFF,
            confirmed=bool(value >> 30 & 1),
            high_priority=bool(value >> 31 & 1),
            self_descriptive=bool(value >> 28 & 1),
            break_on_error=bool(value >> 29 & 1),
            reserved=value >> 24 & 0x0F,
        )

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode exactly four bytes."""
        if len(data) != 4:
            raise DecodeError(f"long-invoke-id-and-priority is 4 bytes, got {len(data)}", 0)
        return cls.from_int(int.from_bytes(data, "big"))
