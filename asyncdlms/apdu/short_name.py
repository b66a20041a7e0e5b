"""Short-name referencing: ReadRequest/ReadResponse (0x05/0x0C), WriteRequest/WriteResponse
(0x06/0x0D), UnconfirmedWriteRequest (0x16), and base-name arithmetic.

With SN referencing each object has a base name (its attribute 1, the logical name); the other
attributes and the methods are found at fixed offsets from it, in steps of 8:

* attribute ``n`` is at ``base_name + (n - 1) * 8`` (:func:`attribute_short_name`);
* method ``m`` is at ``base_name + first_method_offset + (m - 1) * 8``
  (:func:`method_short_name`), where the first method's offset depends on the interface
  class (Blue Book, the "short name" column of each class; table :data:`FIRST_METHOD_OFFSET`).
  Methods are invoked by writing (or, for methods that return data, reading with
  parameterised access) their short name.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import axdr
from ..errors import DecodeError, EncodeError
from .descriptors import Data, Reader, as_data_tuple, read_data_list, write_data_list
from .enums import DataAccessResult
from .tags import ApduTag

if TYPE_CHECKING:
    from typing import Self

__all__ = [
    "FIRST_METHOD_OFFSET",
    "BlockNumberAccess",
    "DataBlockResult",
    "ParameterizedAccess",
    "ReadDataBlockAccess",
    "ReadRequest",
    "ReadResponse",
    "ReadResult",
    "UnconfirmedWriteRequest",
    "VariableAccessSpecification",
    "VariableName",
    "WriteDataBlockAccess",
    "WriteRequest",
    "WriteResponse",
    "WriteResult",
    "attribute_short_name",
    "method_short_name",
    "read_variable_access_specification",
]

_U16 = struct.Struct(">H")

FIRST_METHOD_OFFSET: dict[int, tuple[int, int]] = {
    3: (0x28, 1),  # Register: reset
    4: (0x38, 1),  # Extended register: reset
    5: (0x48, 2),  # Demand register: reset, next_period
    6: (0x30, 3),  # Register activation: add_register, add_mask, delete_mask
    7: (0x58, 4),  # Profile generic: reset, capture, get_buffer_by_range, get_buffer_by_index
    8: (0x60, 6),  # Clock: adjust_to_quarter ... shift_time
    9: (0x20, 1),  # Script table: execute
    11: (0x10, 2),  # Special days table: insert, delete
    12: (0x20, 8),  # Association SN: reads_by_logical_name ... change_secret
    15: (0x60, 4),  # Association LN: reply_to_HLS_authentication ... remove_object
    18: (0x40, 4),  # Image transfer: initiate, block transfer, verify, activate
    20: (0x50, 1),  # Activity calendar: activate_passive_calendar
    40: (0x38, 1),  # Push setup: push
    42: (0x60, 3),  # IPv4 setup: add_mult_IP_address, delete_..., get_nbof_mult_IP_addresses
    64: (0x30, 8),  # Security setup: security_activate, key_transfer ... remove_certificate
    70: (0x20, 2),  # Disconnect control: remote_disconnect, remote_reconnect
}
"""class id -> (offset of method 1 from the base name, number of methods), from the Blue Book
short-name columns (cross-checked with Gurux's table of the same facts)."""


def attribute_short_name(base_name: int, attribute: int) -> int:
    """The short name of attribute ``attribute`` (1-based) of the object at ``base_name``."""
    if attribute < 1:
        raise EncodeError(f"attribute {attribute} must be 1 or more")
    result = base_name + (attribute - 1) * 8
    if not 0 <= result <= 0xFFFF:
        raise EncodeError(f"short name 0x{result:x} does not fit in 16 bits")
    return result


def method_short_name(base_name: int, class_id: int, method: int) -> int:
    """The short name of method ``method`` (1-based) of an object of class ``class_id``."""
    try:
        offset, count = FIRST_METHOD_OFFSET[class_id]
    except KeyError:
        raise EncodeError(f"no short-name method offset known for class id {class_id}") from None
    if not 1 <= method <= count:
        raise EncodeError(f"class {class_id} has methods 1..{count}, not {method}")
    result = base_name + offset + (method - 1) * 8
    if not 0 <= result <= 0xFFFF:
        raise EncodeError(f"short name 0x{result:x} does not fit in 16 bits")
    return result


def _check_u16(value: int, what: str) -> None:
    if not 0 <= value <= 0xFFFF:
        raise EncodeError(f"{what} {value} is out of range 0..65535")


# ---------------------------------------------------------------------------------------------
# Variable-Access-Specification


@dataclass(frozen=True, slots=True)
class VariableName:
    """variable-name [2]: the short name (ObjectName, 16 bits) of an attribute or method."""

    variable_name: int

    def __post_init__(self) -> None:
        _check_u16(self.variable_name, "variable-name")

    def encode_into(self, out: bytearray) -> None:
        """Append the encoding (CHOICE tag 2)."""
        out.append(2)
        out += _U16.pack(self.variable_name)


@dataclass(frozen=True, slots=True)
class ParameterizedAccess:
    """parameterized-access [4]: a short name with a selector and a parameter (selective
    access in SN; also used to invoke methods that return data)."""

    variable_name: int
    selector: int
    parameter: Data

    def __post_init__(self) -> None:
        _check_u16(self.variable_name, "variable-name")
        if not 0 <= self.selector <= 255:
            raise EncodeError(f"selector {self.selector} is out of range 0..255")
        object.__setattr__(self, "parameter", Data.of(self.parameter))

    def encode_into(self, out: bytearray) -> None:
        """Append the encoding (CHOICE tag 4)."""
        out.append(4)
        out += _U16.pack(self.variable_name)
        out.append(self.selector)
        out += self.parameter.raw


@dataclass(frozen=True, slots=True)
class BlockNumberAccess:
    """block-number-access [5] (and the block-number choice of responses): Unsigned16."""

    block_number: int

    def __post_init__(self) -> None:
        _check_u16(self.block_number, "block-number")

    def encode_into(self, out: bytearray) -> None:
        """Append the encoding (CHOICE tag 5)."""
        out.append(5)
        out += _U16.pack(self.block_number)


@dataclass(frozen=True, slots=True)
class ReadDataBlockAccess:
    """read-data-block-access [6]: a block of a long request (last-block, block-number,
    raw-data)."""

    last_block: bool
    block_number: int
    raw_data: bytes

    def __post_init__(self) -> None:
        _check_u16(self.block_number, "block-number")

    def encode_into(self, out: bytearray) -> None:
        """Append the encoding (CHOICE tag 6)."""
        out.append(6)
        _write_block(out, self.last_block, self.block_number, self.raw_data)


@dataclass(frozen=True, slots=True)
class WriteDataBlockAccess:
    """write-data-block-access [7]: last-block and block-number of a block-wise write."""

    last_block: bool
    block_number: int

    def __post_init__(self) -> None:
        _check_u16(self.block_number, "block-number")

    def encode_into(self, out: bytearray) -> None:
        """Append the encoding (CHOICE tag 7)."""
        out.append(7)
        out.append(1 if self.last_block else 0)
        out += _U16.pack(self.block_number)


VariableAccessSpecification = (
    VariableName
    | ParameterizedAccess
    | BlockNumberAccess
    | ReadDataBlockAccess
    | WriteDataBlockAccess
)


def _write_block(out: bytearray, last: bool, number: int, raw: bytes) -> None:
    out.append(1 if last else 0)
    out += _U16.pack(number)
    out += axdr.encode_length(len(raw))
    out += raw


def read_variable_access_specification(reader: Reader) -> VariableAccessSpecification:
    """Read one Variable-Access-Specification (CHOICE tags 2, 4, 5, 6, 7)."""
    pos = reader.pos
    choice = reader.u8("the Variable-Access-Specification CHOICE tag")
    if choice == 2:
        return VariableName(reader.u16("variable-name"))
    if choice == 4:
        name = reader.u16("variable-name")
        selector = reader.u8("selector")
        return ParameterizedAccess(name, selector, reader.value())
    if choice == 5:
        return BlockNumberAccess(reader.u16("block-number"))
    if choice == 6:
        last = reader.boolean("last-block")
        number = reader.u16("block-number")
        return ReadDataBlockAccess(last, number, reader.octet_string("raw-data"))
    if choice == 7:
        last = reader.boolean("last-block")
        return WriteDataBlockAccess(last, reader.u16("block-number"))
    raise DecodeError(
        f"Variable-Access-Specification CHOICE tag must be 2, 4, 5, 6 or 7, got {choice}", pos
    )


def write_specifications(out: bytearray, items: Sequence[VariableAccessSpecification]) -> None:
    """Append a SEQUENCE OF Variable-Access-Specification."""
    out += axdr.encode_length(len(items))
    for item in items:
        item.encode_into(out)


def read_specifications(reader: Reader) -> tuple[VariableAccessSpecification, ...]:
    """Read a SEQUENCE OF Variable-Access-Specification (3 bytes at least each)."""
    count = reader.count("variable-access-specification list", 3)
    return tuple(read_variable_access_specification(reader) for _ in range(count))


def _start(tag: ApduTag, data: bytes) -> Reader:
    reader = Reader(data)
    reader.header(tag)
    return reader


# ---------------------------------------------------------------------------------------------
# Read


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """ReadRequest (0x05): a SEQUENCE OF Variable-Access-Specification."""

    variable_access_specification: tuple[VariableAccessSpecification, ...]

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "variable_access_specification", tuple(self.variable_access_specification)
        )

    def encode(self) -> bytes:
        """The APDU bytes."""
        out = bytearray((ApduTag.READ_REQUEST,))
        write_specifications(out, self.variable_access_specification)
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode one ReadRequest APDU."""
        reader = _start(ApduTag.READ_REQUEST, data)
        items = read_specifications(reader)
        reader.finish("read-request")
        return cls(items)


@dataclass(frozen=True, slots=True)
class DataBlockResult:
    """data-block-result [2] of ReadResponse (Data-Block-Result: last-block, block-number
    Unsigned16, raw-data)."""

    last_block: bool
    block_number: int
    raw_data: bytes

    def __post_init__(self) -> None:
        _check_u16(self.block_number, "block-number")


ReadResult = Data | DataAccessResult | DataBlockResult | BlockNumberAccess
"""One element of ReadResponse: data [0], data-access-error [1], data-block-result [2],
block-number [3] (a :class:`BlockNumberAccess`)."""


def _as_read_result(item: Any) -> ReadResult:
    if isinstance(item, (Data, DataAccessResult, DataBlockResult, BlockNumberAccess)):
        return item
    return Data.of(item)


@dataclass(frozen=True, slots=True)
class ReadResponse:
    """ReadResponse (0x0C): one result per variable read, in order."""

    results: tuple[ReadResult, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "results", tuple(_as_read_result(r) for r in self.results))

    def encode(self) -> bytes:
        """The APDU bytes."""
        out = bytearray((ApduTag.READ_RESPONSE,))
        out += axdr.encode_length(len(self.results))
        for item in self.results:
            if isinstance(item, Data):
                out.append(0)
                out += item.raw
            elif isinstance(item, DataAccessResult):
                out += bytes((1, item))
            elif isinstance(item, DataBlockResult):
                out.append(2)
                _write_block(out, item.last_block, item.block_number, item.raw_data)
            else:
                out.append(3)
                out += _U16.pack(item.block_number)
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode one ReadResponse APDU."""
        reader = _start(ApduTag.READ_RESPONSE, data)
        count = reader.count("read-response", 2)
        results: list[ReadResult] = []
        for _ in range(count):
            pos = reader.pos
            choice = reader.u8("the ReadResponse CHOICE tag")
            if choice == 0:
                results.append(reader.value())
            elif choice == 1:
                pos = reader.pos
                results.append(DataAccessResult.decode_value(reader.u8("data-access-error"), pos))
            elif choice == 2:
                last = reader.boolean("last-block")
                number = reader.u16("block-number")
                results.append(DataBlockResult(last, number, reader.octet_string("raw-data")))
            elif choice == 3:
                results.append(BlockNumberAccess(reader.u16("block-number")))
            else:
                raise DecodeError(f"ReadResponse CHOICE tag must be 0..3, got {choice}", pos)
        reader.finish("read-response")
        return cls(tuple(results))


# ---------------------------------------------------------------------------------------------
# Write


@dataclass(frozen=True, slots=True)
class WriteRequest:
    """WriteRequest (0x06): variables and one value each."""

    variable_access_specification: tuple[VariableAccessSpecification, ...]
    list_of_data: tuple[Data, ...]

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "variable_access_specification", tuple(self.variable_access_specification)
        )
        object.__setattr__(self, "list_of_data", as_data_tuple(self.list_of_data))

    def encode(self) -> bytes:
        """The APDU bytes."""
        out = bytearray((self._tag(),))
        write_specifications(out, self.variable_access_specification)
        write_data_list(out, self.list_of_data)
        return bytes(out)

    @classmethod
    def _tag(cls) -> ApduTag:
        return ApduTag.WRITE_REQUEST

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode one APDU of this type."""
        reader = _start(cls._tag(), data)
        items = read_specifications(reader)
        values = read_data_list(reader, "list-of-data")
        reader.finish(cls._tag().name.lower())
        return cls(items, values)


@dataclass(frozen=True, slots=True)
class UnconfirmedWriteRequest(WriteRequest):
    """UnconfirmedWriteRequest (0x16): a WriteRequest that gets no answer."""

    @classmethod
    def _tag(cls) -> ApduTag:
        return ApduTag.UNCONFIRMED_WRITE_REQUEST


WriteResult = DataAccessResult | BlockNumberAccess
"""One element of WriteResponse: success [0] (``DataAccessResult.SUCCESS``),
data-access-error [1] (another DataAccessResult) or block-number [2]."""


@dataclass(frozen=True, slots=True)
class WriteResponse:
    """WriteResponse (0x0D): one result per variable written, in order."""

    results: tuple[WriteResult, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "results", tuple(self.results))

    def encode(self) -> bytes:
        """The APDU bytes."""
        out = bytearray((ApduTag.WRITE_RESPONSE,))
        out += axdr.encode_length(len(self.results))
        for item in self.results:
            if isinstance(item, BlockNumberAccess):
                out.append(2)
                out += _U16.pack(item.block_number)
            elif item == DataAccessResult.SUCCESS:
                out.append(0)
            else:
                out += bytes((1, item))
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode one WriteResponse APDU. A data-access-error carrying success (0) is read as
        success."""
        reader = _start(ApduTag.WRITE_RESPONSE, data)
        count = reader.count("write-response", 1)
        results: list[WriteResult] = []
        for _ in range(count):
            pos = reader.pos
            choice = reader.u8("the WriteResponse CHOICE tag")
            if choice == 0:
                results.append(DataAccessResult.SUCCESS)
            elif choice == 1:
                pos = reader.pos
                results.append(DataAccessResult.decode_value(reader.u8("data-access-error"), pos))
            elif choice == 2:
                results.append(BlockNumberAccess(reader.u16("block-number")))
            else:
                raise DecodeError(f"WriteResponse CHOICE tag must be 0..2, got {choice}", pos)
        reader.finish("write-response")
        return cls(tuple(results))
