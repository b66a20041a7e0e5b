"""COSEM attribute and method descriptors, selective access, DLMS ``Data`` fields and data
blocks, and the bounded A-XDR reader every service PDU decoder is built on.

:class:`Data` carries one A-XDR ``Data`` value in a PDU. It keeps the encoded bytes and the
decoded value side by side: a decoded PDU decodes each value exactly once (eagerly, while
finding where it ends) and re-encodes by copying its bytes, so a huge value is never decoded
twice nor encoded again; a value built with :meth:`Data.of` is encoded once, at construction.
Two ``Data`` compare equal when their bytes are equal.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import axdr
from ..errors import DecodeError, EncodeError
from ..obis import Obis, ObisLike
from ..types.clock import DateTime
from ..types.values import (
    Array,
    DoubleLongUnsigned,
    Integer,
    LongUnsigned,
    OctetString,
    Structure,
)
from .enums import InvokeIdAndPriority
from .tags import ApduTag

if TYPE_CHECKING:
    from enum import IntEnum
    from typing import Self

__all__ = [
    "CosemAttributeDescriptor",
    "CosemAttributeDescriptorWithSelection",
    "CosemMethodDescriptor",
    "Data",
    "DataBlockSA",
    "Reader",
    "SelectiveAccessDescriptor",
    "capture_object_definition",
    "entry_descriptor",
    "range_descriptor",
]

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")


class Reader:
    """A cursor over one PDU: every read checks the bytes left and raises
    :class:`DecodeError` (offset, what was expected) instead of ``IndexError``.

    Public for the other :mod:`asyncdlms.apdu` modules; not part of the user API.
    """

    __slots__ = ("data", "end", "pos")

    def __init__(self, data: bytes | bytearray | memoryview, pos: int = 0) -> None:
        self.data = bytes(data)
        self.pos = pos
        self.end = len(self.data)

    def need(self, count: int, what: str) -> int:
        """Check that ``count`` bytes remain; return the current offset."""
        if self.pos + count > self.end:
            raise DecodeError(
                f"truncated: expected {what} ({count} bytes, {self.end - self.pos} left)", self.pos
            )
        return self.pos

    def u8(self, what: str) -> int:
        """One unsigned byte."""
        pos = self.need(1, what)
        self.pos = pos + 1
        return self.data[pos]

    def i8(self, what: str) -> int:
        """One signed byte (Integer8)."""
        value = self.u8(what)
        return value - 256 if value > 127 else value

    def u16(self, what: str) -> int:
        """Unsigned16, big endian."""
        pos = self.need(2, what)
        self.pos = pos + 2
        return int(_U16.unpack_from(self.data, pos)[0])

    def u32(self, what: str) -> int:
        """Unsigned32, big endian."""
        pos = self.need(4, what)
        self.pos = pos + 4
        return int(_U32.unpack_from(self.data, pos)[0])

    def take(self, count: int, what: str) -> bytes:
        """``count`` bytes."""
        pos = self.need(count, what)
        self.pos = pos + count
        return self.data[pos : pos + count]

    def boolean(self, what: str) -> bool:
        """A BOOLEAN (any non-zero byte is true; DLMS sends 0x00/0x01)."""
        return self.u8(what) != 0

    def optional(self, what: str) -> bool:
        """An A-XDR OPTIONAL presence flag: 0x00 absent, 0x01 present."""
        pos = self.pos
        flag = self.u8(f"the presence flag of {what}")
        if flag > 1:
            raise DecodeError(
                f"presence flag of {what} must be 0x00 or 0x01, got 0x{flag:02x}", pos
            )
        return flag == 1

    def length(self, what: str) -> int:
        """An A-XDR length (1, 2, 3 or 5 bytes), checked against nothing."""
        length, self.pos = axdr.decode_length(self.data, self.pos)
        return length

    def count(self, what: str, minimum_size: int = 1) -> int:
        """A SEQUENCE OF element count, bounded by the bytes left (``minimum_size`` each)."""
        pos = self.pos
        number, self.pos = axdr.decode_length(self.data, self.pos)
        if number * minimum_size > self.end - self.pos:
            raise DecodeError(
                f"{what}: {number} elements announced, only {self.end - self.pos} bytes left", pos
            )
        return number

    def octet_string(self, what: str) -> bytes:
        """A length-prefixed OCTET STRING."""
        pos = self.pos
        length, self.pos = axdr.decode_length(self.data, self.pos)
        if self.pos + length > self.end:
            raise DecodeError(
                f"truncated {what}: {length} bytes announced, {self.end - self.pos} left", pos
            )
        start = self.pos
        self.pos += length
        return self.data[start : self.pos]

    def value(self) -> Data:
        """One A-XDR ``Data`` value, decoded once; its bytes are kept."""
        start = self.pos
        value, self.pos = axdr.decode_from(self.data, start)
        return Data._make(self.data[start : self.pos], value)

    def rest(self) -> bytes:
        """Every byte left."""
        start = self.pos
        self.pos = self.end
        return self.data[start:]

    def at_end(self) -> bool:
        """True when no byte is left."""
        return self.pos >= self.end

    def finish(self, what: str) -> None:
        """Reject trailing bytes."""
        if self.pos != self.end:
            raise DecodeError(f"{self.end - self.pos} trailing bytes after {what}", self.pos)

    def invoke_id_and_priority(self) -> InvokeIdAndPriority:
        """The Invoke-Id-And-Priority byte."""
        return InvokeIdAndPriority.from_byte(self.u8("invoke-id-and-priority"))

    def header(self, tag: ApduTag, choice: type[IntEnum] | None = None) -> int:
        """Check the APDU tag and return the CHOICE tag (checked against ``choice``)."""
        pos = self.pos
        first = self.u8(f"the APDU tag 0x{int(tag):02x}")
        if first != tag:
            raise DecodeError(
                f"expected APDU tag 0x{int(tag):02x} ({tag.name.lower()}), got 0x{first:02x}", pos
            )
        if choice is None:
            return 0
        pos = self.pos
        value = self.u8(f"the {choice.__name__}")
        try:
            return int(choice(value))
        except ValueError:
            raise DecodeError(f"unknown {choice.__name__} {value}", pos) from None

    def expect_choice(self, expected: int, name: str) -> None:
        """Check the next byte is the CHOICE tag ``expected``."""
        pos = self.pos
        value = self.u8(f"the CHOICE tag of {name}")
        if value != expected:
            raise DecodeError(f"expected {name} (CHOICE tag {expected}), got {value}", pos)


@dataclass(frozen=True, slots=True, eq=False)
class Data:
    """One A-XDR ``Data`` value inside a PDU: ``raw`` (its encoding) and ``value`` (its
    decoded, typed form). Build one with :meth:`of` (encodes) or :meth:`from_raw` (decodes).
    """

    raw: bytes
    value: Any = field(repr=False)

    @classmethod
    def _make(cls, raw: bytes, value: Any) -> Data:
        return cls(raw, value)

    @classmethod
    def of(cls, value: Any) -> Data:
        """Wrap a Python or typed DLMS value (encoded now, with :func:`asyncdlms.axdr.encode`)."""
        if isinstance(value, Data):
            return value
        return cls(axdr.encode(value), value)

    @classmethod
    def from_raw(cls, raw: bytes | bytearray | memoryview) -> Data:
        """Decode exactly one encoded value (e.g. reassembled block-transfer raw data)."""
        raw = bytes(raw)
        return cls(raw, axdr.decode(raw))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Data) and self.raw == other.raw

    def __hash__(self) -> int:
        return hash(self.raw)

    def __repr__(self) -> str:
        return f"Data({self.value!r})"


def _obis(value: ObisLike) -> Obis:
    return value if type(value) is Obis else Obis(value)


def _check_range(value: int, low: int, high: int, what: str) -> None:
    if not low <= value <= high:
        raise EncodeError(f"{what} {value} is out of range {low}..{high}")


@dataclass(frozen=True, slots=True)
class CosemAttributeDescriptor:
    """Cosem-Attribute-Descriptor: class-id (Unsigned16), instance-id (the OBIS code, 6 bytes),
    attribute-id (Integer8; negative ids are manufacturer-specific)."""

    class_id: int
    instance_id: Obis
    attribute_id: int

    def __post_init__(self) -> None:
        if type(self.instance_id) is not Obis:
            object.__setattr__(self, "instance_id", Obis(self.instance_id))
        _check_range(self.class_id, 0, 0xFFFF, "class-id")
        _check_range(self.attribute_id, -128, 127, "attribute-id")

    def encode_into(self, out: bytearray) -> None:
        """Append the 9-byte encoding."""
        out += _U16.pack(self.class_id)
        out += self.instance_id.to_bytes()
        out.append(self.attribute_id & 0xFF)

    def encode(self) -> bytes:
        """The 9-byte encoding."""
        out = bytearray()
        self.encode_into(out)
        return bytes(out)

    @classmethod
    def read(cls, reader: Reader) -> Self:
        """Read one descriptor at the reader's position."""
        class_id = reader.u16("class-id")
        instance = Obis.from_bytes(reader.take(6, "instance-id (6 bytes)"))
        return cls(class_id, instance, reader.i8("attribute-id"))

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode exactly 9 bytes."""
        reader = Reader(data)
        result = cls.read(reader)
        reader.finish("the cosem-attribute-descriptor")
        return result


@dataclass(frozen=True, slots=True)
class CosemMethodDescriptor:
    """Cosem-Method-Descriptor: class-id, instance-id (OBIS), method-id (Integer8)."""

    class_id: int
    instance_id: Obis
    method_id: int

    def __post_init__(self) -> None:
        if type(self.instance_id) is not Obis:
            object.__setattr__(self, "instance_id", Obis(self.instance_id))
        _check_range(self.class_id, 0, 0xFFFF, "class-id")
        _check_range(self.method_id, -128, 127, "method-id")

    def encode_into(self, out: bytearray) -> None:
        """Append the 9-byte encoding."""
        out += _U16.pack(self.class_id)
        out += self.instance_id.to_bytes()
        out.append(self.method_id & 0xFF)

    def encode(self) -> bytes:
        """The 9-byte encoding."""
        out = bytearray()
        self.encode_into(out)
        return bytes(out)

    @classmethod
    def read(cls, reader: Reader) -> Self:
        """Read one descriptor at the reader's position."""
        class_id = reader.u16("class-id")
        instance = Obis.from_bytes(reader.take(6, "instance-id (6 bytes)"))
        return cls(class_id, instance, reader.i8("method-id"))

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode exactly 9 bytes."""
        reader = Reader(data)
        result = cls.read(reader)
        reader.finish("the cosem-method-descriptor")
        return result


@dataclass(frozen=True, slots=True)
class SelectiveAccessDescriptor:
    """Selective-Access-Descriptor: access-selector (Unsigned8) and access-parameters (Data).

    For profile generic buffers: selector 1 is range_descriptor, 2 entry_descriptor
    (see :func:`range_descriptor`, :func:`entry_descriptor`).
    """

    access_selector: int
    access_parameters: Data

    def __post_init__(self) -> None:
        _check_range(self.access_selector, 0, 255, "access-selector")
        if not isinstance(self.access_parameters, Data):
            object.__setattr__(self, "access_parameters", Data.of(self.access_parameters))

    def encode_into(self, out: bytearray) -> None:
        """Append the encoding."""
        out.append(self.access_selector)
        out += self.access_parameters.raw

    def encode(self) -> bytes:
        """The encoding (selector byte and the Data)."""
        out = bytearray()
        self.encode_into(out)
        return bytes(out)

    @classmethod
    def read(cls, reader: Reader) -> Self:
        """Read one descriptor at the reader's position."""
        return cls(reader.u8("access-selector"), reader.value())

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode exactly one descriptor."""
        reader = Reader(data)
        result = cls.read(reader)
        reader.finish("the selective-access-descriptor")
        return result


def write_optional_selection(out: bytearray, selection: SelectiveAccessDescriptor | None) -> None:
    """Append an OPTIONAL Selective-Access-Descriptor (0x00, or 0x01 and the descriptor)."""
    if selection is None:
        out.append(0)
    else:
        out.append(1)
        selection.encode_into(out)


def read_optional_selection(reader: Reader) -> SelectiveAccessDescriptor | None:
    """Read an OPTIONAL Selective-Access-Descriptor."""
    if reader.optional("access-selection"):
        return SelectiveAccessDescriptor.read(reader)
    return None


@dataclass(frozen=True, slots=True)
class CosemAttributeDescriptorWithSelection:
    """Cosem-Attribute-Descriptor-With-Selection: an attribute and its optional selective access
    (the elements of GET and SET with-list)."""

    cosem_attribute_descriptor: CosemAttributeDescriptor
    access_selection: SelectiveAccessDescriptor | None = None

    def encode_into(self, out: bytearray) -> None:
        """Append the encoding."""
        self.cosem_attribute_descriptor.encode_into(out)
        write_optional_selection(out, self.access_selection)

    @classmethod
    def read(cls, reader: Reader) -> Self:
        """Read one element at the reader's position."""
        descriptor = CosemAttributeDescriptor.read(reader)
        return cls(descriptor, read_optional_selection(reader))


def write_descriptor_list(
    out: bytearray, items: Sequence[CosemAttributeDescriptorWithSelection]
) -> None:
    """Append a SEQUENCE OF Cosem-Attribute-Descriptor-With-Selection."""
    out += axdr.encode_length(len(items))
    for item in items:
        item.encode_into(out)


def read_descriptor_list(reader: Reader) -> tuple[CosemAttributeDescriptorWithSelection, ...]:
    """Read a SEQUENCE OF Cosem-Attribute-Descriptor-With-Selection (10 bytes at least each)."""
    count = reader.count("attribute-descriptor-list", 10)
    return tuple(CosemAttributeDescriptorWithSelection.read(reader) for _ in range(count))


def write_data_list(out: bytearray, values: Sequence[Data]) -> None:
    """Append a SEQUENCE OF Data."""
    out += axdr.encode_length(len(values))
    for value in values:
        out += value.raw


def read_data_list(reader: Reader, what: str) -> tuple[Data, ...]:
    """Read a SEQUENCE OF Data (one byte at least each)."""
    count = reader.count(what, 1)
    return tuple(reader.value() for _ in range(count))


def as_data_tuple(values: Sequence[Any]) -> tuple[Data, ...]:
    """Wrap every value in :class:`Data` (values already wrapped are kept)."""
    return tuple(Data.of(v) for v in values)


@dataclass(frozen=True, slots=True)
class DataBlockSA:
    """DataBlock-SA: one block of SET requests and ACTION requests/responses
    (last-block BOOLEAN, block-number Unsigned32, raw-data OCTET STRING)."""

    last_block: bool
    block_number: int
    raw_data: bytes

    def __post_init__(self) -> None:
        _check_range(self.block_number, 0, 0xFFFFFFFF, "block-number")

    def encode_into(self, out: bytearray) -> None:
        """Append the encoding."""
        out.append(1 if self.last_block else 0)
        out += _U32.pack(self.block_number)
        out += axdr.encode_length(len(self.raw_data))
        out += self.raw_data

    @classmethod
    def read(cls, reader: Reader) -> Self:
        """Read one block at the reader's position."""
        last = reader.boolean("last-block")
        number = reader.u32("block-number")
        return cls(last, number, reader.octet_string("raw-data"))


# ---------------------------------------------------------------------------------------------
# Profile generic selective access (Blue Book, class 7, attribute 2 "buffer")


def capture_object_definition(
    class_id: int, logical_name: ObisLike, attribute_index: int, data_index: int = 0
) -> Structure:
    """capture_object_definition ::= structure {class_id long-unsigned, logical_name
    octet-string, attribute_index integer, data_index long-unsigned}."""
    return Structure(
        (
            LongUnsigned(class_id),
            OctetString(_obis(logical_name).to_bytes()),
            Integer(attribute_index),
            LongUnsigned(data_index),
        )
    )


def _as_capture_object(item: Any) -> Any:
    if isinstance(item, Structure):
        return item
    return capture_object_definition(*item)


def _clock_value(value: Any) -> Any:
    if isinstance(value, DateTime):
        return OctetString(value.to_bytes())
    return value


def range_descriptor(
    restricting_object: tuple[int, ObisLike, int, int] | Structure,
    from_value: Any,
    to_value: Any,
    selected_values: Sequence[tuple[int, ObisLike, int, int] | Structure] = (),
) -> SelectiveAccessDescriptor:
    """Selector 1 of the profile generic buffer: rows whose ``restricting_object`` column
    (usually the clock, ``(8, "0.0.1.0.0.255", 2, 0)``) lies in ``from_value..to_value``.

    range_descriptor ::= structure {restricting_object capture_object_definition, from_value,
    to_value, selected_values array of capture_object_definition (empty: all columns)}.
    A :class:`~asyncdlms.types.DateTime` bound is sent as a 12-byte octet-string, as meters
    expect.
    """
    parameters = Structure(
        (
            _as_capture_object(restricting_object),
            _clock_value(from_value),
            _clock_value(to_value),
            Array(_as_capture_object(item) for item in selected_values),
        )
    )
    return SelectiveAccessDescriptor(1, Data.of(parameters))


def entry_descriptor(
    from_entry: int, to_entry: int, from_selected_value: int = 1, to_selected_value: int = 0
) -> SelectiveAccessDescriptor:
    """Selector 2 of the profile generic buffer: rows ``from_entry..to_entry`` (1-based; 0 in
    ``to_entry`` means the last) and columns ``from_selected_value..to_selected_value``
    (0 means the last column).

    entry_descriptor ::= structure {from_entry double-long-unsigned, to_entry
    double-long-unsigned, from_selected_value long-unsigned, to_selected_value long-unsigned}.
    """
    parameters = Structure(
        (
            DoubleLongUnsigned(from_entry),
            DoubleLongUnsigned(to_entry),
            LongUnsigned(from_selected_value),
            LongUnsigned(to_selected_value),
        )
    )
    return SelectiveAccessDescriptor(2, Data.of(parameters))
