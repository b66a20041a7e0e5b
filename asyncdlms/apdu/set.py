"""SET-Request and SET-Response PDUs (tags 0xC1 and 0xC5), logical-name referencing.

A value too large for one PDU goes out as raw blocks (:class:`DataBlockSA`): the encoded
value cut in pieces, first in a with-first-datablock request, then with-datablock requests,
each acknowledged by a :class:`SetResponseDatablock`, the last one by
:class:`SetResponseLastDatablock`.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import axdr
from ..errors import EncodeError
from .descriptors import (
    CosemAttributeDescriptor,
    CosemAttributeDescriptorWithSelection,
    Data,
    DataBlockSA,
    Reader,
    SelectiveAccessDescriptor,
    as_data_tuple,
    read_data_list,
    read_descriptor_list,
    read_optional_selection,
    write_data_list,
    write_descriptor_list,
    write_optional_selection,
)
from .enums import DataAccessResult, InvokeIdAndPriority, SetRequestType, SetResponseType
from .tags import ApduTag

if TYPE_CHECKING:
    from typing import Self

__all__ = [
    "SetRequest",
    "SetRequestNormal",
    "SetRequestWithDatablock",
    "SetRequestWithFirstDatablock",
    "SetRequestWithList",
    "SetRequestWithListAndFirstDatablock",
    "SetResponse",
    "SetResponseDatablock",
    "SetResponseLastDatablock",
    "SetResponseLastDatablockWithList",
    "SetResponseNormal",
    "SetResponseWithList",
    "decode_set_request",
    "decode_set_response",
]

_U32 = struct.Struct(">I")


def _check_u32(value: int, what: str) -> None:
    if not 0 <= value <= 0xFFFFFFFF:
        raise EncodeError(f"{what} {value} is out of range 0..4294967295")


def _with_selection(
    items: Sequence[Any],
) -> tuple[CosemAttributeDescriptorWithSelection, ...]:
    return tuple(
        item
        if isinstance(item, CosemAttributeDescriptorWithSelection)
        else CosemAttributeDescriptorWithSelection(item)
        for item in items
    )


def _start(choice: int, iip: InvokeIdAndPriority, tag: ApduTag = ApduTag.SET_REQUEST) -> bytearray:
    return bytearray((tag, choice, iip.to_byte()))


def _reader(data: bytes, tag: ApduTag, choice: int, name: str) -> Reader:
    reader = Reader(data)
    reader.header(tag)
    reader.expect_choice(choice, name)
    return reader


def _read_result(reader: Reader) -> DataAccessResult:
    pos = reader.pos
    return DataAccessResult.decode_value(reader.u8("data-access-result"), pos)


# ---------------------------------------------------------------------------------------------
# Requests


@dataclass(frozen=True, slots=True)
class SetRequestNormal:
    """Set-Request-Normal: write ``value`` to one attribute."""

    cosem_attribute_descriptor: CosemAttributeDescriptor
    value: Data
    access_selection: SelectiveAccessDescriptor | None = None
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", Data.of(self.value))

    def encode(self) -> bytes:
        """The APDU bytes (0xC1 0x01 ...)."""
        out = _start(SetRequestType.NORMAL, self.invoke_id_and_priority)
        self.cosem_attribute_descriptor.encode_into(out)
        write_optional_selection(out, self.access_selection)
        out += self.value.raw
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode one Set-Request-Normal APDU."""
        return cls._read(_reader(data, ApduTag.SET_REQUEST, 1, "set-request-normal"))

    @classmethod
    def _read(cls, reader: Reader) -> Self:
        iip = reader.invoke_id_and_priority()
        descriptor = CosemAttributeDescriptor.read(reader)
        selection = read_optional_selection(reader)
        value = reader.value()
        reader.finish("set-request-normal")
        return cls(descriptor, value, selection, iip)


@dataclass(frozen=True, slots=True)
class SetRequestWithFirstDatablock:
    """Set-Request-With-First-Datablock: the attribute and the first block of its value."""

    cosem_attribute_descriptor: CosemAttributeDescriptor
    datablock: DataBlockSA
    access_selection: SelectiveAccessDescriptor | None = None
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    def encode(self) -> bytes:
        """The APDU bytes (0xC1 0x02 ...)."""
        out = _start(SetRequestType.WITH_FIRST_DATABLOCK, self.invoke_id_and_priority)
        self.cosem_attribute_descriptor.encode_into(out)
        write_optional_selection(out, self.access_selection)
        self.datablock.encode_into(out)
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode one Set-Request-With-First-Datablock APDU."""
        return cls._read(_reader(data, ApduTag.SET_REQUEST, 2, "set-request-with-first-datablock"))

    @classmethod
    def _read(cls, reader: Reader) -> Self:
        iip = reader.invoke_id_and_priority()
        descriptor = CosemAttributeDescriptor.read(reader)
        selection = read_optional_selection(reader)
        block = DataBlockSA.read(reader)
        reader.finish("set-request-with-first-datablock")
        return cls(descriptor, block, selection, iip)


@dataclass(frozen=True, slots=True)
class SetRequestWithDatablock:
    """Set-Request-With-Datablock: a following block of the value being written."""

    datablock: DataBlockSA
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    def encode(self) -> bytes:
        """The APDU bytes (0xC1 0x03 ...)."""
        out = _start(SetRequestType.WITH_DATABLOCK, self.invoke_id_and_priority)
        self.datablock.encode_into(out)
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode one Set-Request-With-Datablock APDU."""
        return cls._read(_reader(data, ApduTag.SET_REQUEST, 3, "set-request-with-datablock"))

    @classmethod
    def _read(cls, reader: Reader) -> Self:
        iip = reader.invoke_id_and_priority()
        block = DataBlockSA.read(reader)
        reader.finish("set-request-with-datablock")
        return cls(block, iip)


@dataclass(frozen=True, slots=True)
class SetRequestWithList:
    """Set-Request-With-List: several attributes and one value each (same order)."""

    attribute_descriptor_list: tuple[CosemAttributeDescriptorWithSelection, ...]
    value_list: tuple[Data, ...]
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "attribute_descriptor_list", _with_selection(self.attribute_descriptor_list)
        )
        object.__setattr__(self, "value_list", as_data_tuple(self.value_list))

    def encode(self) -> bytes:
        """The APDU bytes (0xC1 0x04 ...)."""
        out = _start(SetRequestType.WITH_LIST, self.invoke_id_and_priority)
        write_descriptor_list(out, self.attribute_descriptor_list)
        write_data_list(out, self.value_list)
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode one Set-Request-With-List APDU."""
        return cls._read(_reader(data, ApduTag.SET_REQUEST, 4, "set-request-with-list"))

    @classmethod
    def _read(cls, reader: Reader) -> Self:
        iip = reader.invoke_id_and_priority()
        items = read_descriptor_list(reader)
        values = read_data_list(reader, "value-list")
        reader.finish("set-request-with-list")
        return cls(items, values, iip)


@dataclass(frozen=True, slots=True)
class SetRequestWithListAndFirstDatablock:
    """Set-Request-With-List-And-First-Datablock: several attributes, and the first block of
    their encoded values (a SEQUENCE OF Data, cut in blocks)."""

    attribute_descriptor_list: tuple[CosemAttributeDescriptorWithSelection, ...]
    datablock: DataBlockSA
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "attribute_descriptor_list", _with_selection(self.attribute_descriptor_list)
        )

    def encode(self) -> bytes:
        """The APDU bytes (0xC1 0x05 ...)."""
        out = _start(SetRequestType.WITH_LIST_AND_FIRST_DATABLOCK, self.invoke_id_and_priority)
        write_descriptor_list(out, self.attribute_descriptor_list)
        self.datablock.encode_into(out)
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode one Set-Request-With-List-And-First-Datablock APDU."""
        return cls._read(
            _reader(data, ApduTag.SET_REQUEST, 5, "set-request-with-list-and-first-datablock")
        )

    @classmethod
    def _read(cls, reader: Reader) -> Self:
        iip = reader.invoke_id_and_priority()
        items = read_descriptor_list(reader)
        block = DataBlockSA.read(reader)
        reader.finish("set-request-with-list-and-first-datablock")
        return cls(items, block, iip)


SetRequest = (
    SetRequestNormal
    | SetRequestWithFirstDatablock
    | SetRequestWithDatablock
    | SetRequestWithList
    | SetRequestWithListAndFirstDatablock
)

_REQUESTS: dict[int, Any] = {
    SetRequestType.NORMAL: SetRequestNormal,
    SetRequestType.WITH_FIRST_DATABLOCK: SetRequestWithFirstDatablock,
    SetRequestType.WITH_DATABLOCK: SetRequestWithDatablock,
    SetRequestType.WITH_LIST: SetRequestWithList,
    SetRequestType.WITH_LIST_AND_FIRST_DATABLOCK: SetRequestWithListAndFirstDatablock,
}


def decode_set_request(data: bytes) -> SetRequest:
    """Decode any SET-Request APDU (0xC1)."""
    reader = Reader(data)
    choice = reader.header(ApduTag.SET_REQUEST, SetRequestType)
    result: SetRequest = _REQUESTS[choice]._read(reader)
    return result


# ---------------------------------------------------------------------------------------------
# Responses


@dataclass(frozen=True, slots=True)
class SetResponseNormal:
    """Set-Response-Normal: the Data-Access-Result of one write."""

    result: DataAccessResult
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    def encode(self) -> bytes:
        """The APDU bytes (0xC5 0x01 ...)."""
        out = _start(SetResponseType.NORMAL, self.invoke_id_and_priority, ApduTag.SET_RESPONSE)
        out.append(self.result)
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode one Set-Response-Normal APDU."""
        return cls._read(_reader(data, ApduTag.SET_RESPONSE, 1, "set-response-normal"))

    @classmethod
    def _read(cls, reader: Reader) -> Self:
        iip = reader.invoke_id_and_priority()
        result = _read_result(reader)
        reader.finish("set-response-normal")
        return cls(result, iip)


@dataclass(frozen=True, slots=True)
class SetResponseDatablock:
    """Set-Response-Datablock: block ``block_number`` was received, send the next."""

    block_number: int
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    def __post_init__(self) -> None:
        _check_u32(self.block_number, "block-number")

    def encode(self) -> bytes:
        """The APDU bytes (0xC5 0x02 ...)."""
        out = _start(SetResponseType.DATABLOCK, self.invoke_id_and_priority, ApduTag.SET_RESPONSE)
        out += _U32.pack(self.block_number)
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode one Set-Response-Datablock APDU."""
        return cls._read(_reader(data, ApduTag.SET_RESPONSE, 2, "set-response-datablock"))

    @classmethod
    def _read(cls, reader: Reader) -> Self:
        iip = reader.invoke_id_and_priority()
        number = reader.u32("block-number")
        reader.finish("set-response-datablock")
        return cls(number, iip)


@dataclass(frozen=True, slots=True)
class SetResponseLastDatablock:
    """Set-Response-Last-Datablock: the result of a block-wise write, and the last block."""

    result: DataAccessResult
    block_number: int
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    def __post_init__(self) -> None:
        _check_u32(self.block_number, "block-number")

    def encode(self) -> bytes:
        """The APDU bytes (0xC5 0x03 ...)."""
        out = _start(
            SetResponseType.LAST_DATABLOCK, self.invoke_id_and_priority, ApduTag.SET_RESPONSE
        )
        out.append(self.result)
        out += _U32.pack(self.block_number)
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode one Set-Response-Last-Datablock APDU."""
        return cls._read(_reader(data, ApduTag.SET_RESPONSE, 3, "set-response-last-datablock"))

    @classmethod
    def _read(cls, reader: Reader) -> Self:
        iip = reader.invoke_id_and_priority()
        result = _read_result(reader)
        number = reader.u32("block-number")
        reader.finish("set-response-last-datablock")
        return cls(result, number, iip)


def _write_results(out: bytearray, results: Sequence[DataAccessResult]) -> None:
    out += axdr.encode_length(len(results))
    out += bytes(results)


def _read_results(reader: Reader) -> tuple[DataAccessResult, ...]:
    count = reader.count("result list", 1)
    return tuple(_read_result(reader) for _ in range(count))


@dataclass(frozen=True, slots=True)
class SetResponseLastDatablockWithList:
    """Set-Response-Last-Datablock-With-List: one result per attribute, and the last block."""

    result: tuple[DataAccessResult, ...]
    block_number: int
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    def __post_init__(self) -> None:
        _check_u32(self.block_number, "block-number")
        object.__setattr__(self, "result", tuple(self.result))

    def encode(self) -> bytes:
        """The APDU bytes (0xC5 0x04 ...)."""
        out = _start(
            SetResponseType.LAST_DATABLOCK_WITH_LIST,
            self.invoke_id_and_priority,
            ApduTag.SET_RESPONSE,
        )
        _write_results(out, self.result)
        out += _U32.pack(self.block_number)
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode one Set-Response-Last-Datablock-With-List APDU."""
        return cls._read(
            _reader(data, ApduTag.SET_RESPONSE, 4, "set-response-last-datablock-with-list")
        )

    @classmethod
    def _read(cls, reader: Reader) -> Self:
        iip = reader.invoke_id_and_priority()
        results = _read_results(reader)
        number = reader.u32("block-number")
        reader.finish("set-response-last-datablock-with-list")
        return cls(results, number, iip)


@dataclass(frozen=True, slots=True)
class SetResponseWithList:
    """Set-Response-With-List: one Data-Access-Result per attribute, in order."""

    result: tuple[DataAccessResult, ...]
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    def __post_init__(self) -> None:
        object.__setattr__(self, "result", tuple(self.result))

    def encode(self) -> bytes:
        """The APDU bytes (0xC5 0x05 ...)."""
        out = _start(SetResponseType.WITH_LIST, self.invoke_id_and_priority, ApduTag.SET_RESPONSE)
        _write_results(out, self.result)
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode one Set-Response-With-List APDU."""
        return cls._read(_reader(data, ApduTag.SET_RESPONSE, 5, "set-response-with-list"))

    @classmethod
    def _read(cls, reader: Reader) -> Self:
        iip = reader.invoke_id_and_priority()
        results = _read_results(reader)
        reader.finish("set-response-with-list")
        return cls(results, iip)


SetResponse = (
    SetResponseNormal
    | SetResponseDatablock
    | SetResponseLastDatablock
    | SetResponseLastDatablockWithList
    | SetResponseWithList
)

_RESPONSES: dict[int, Any] = {
    SetResponseType.NORMAL: SetResponseNormal,
    SetResponseType.DATABLOCK: SetResponseDatablock,
    SetResponseType.LAST_DATABLOCK: SetResponseLastDatablock,
    SetResponseType.LAST_DATABLOCK_WITH_LIST: SetResponseLastDatablockWithList,
    SetResponseType.WITH_LIST: SetResponseWithList,
}


def decode_set_response(data: bytes) -> SetResponse:
    """Decode any SET-Response APDU (0xC5)."""
    reader = Reader(data)
    choice = reader.header(ApduTag.SET_RESPONSE, SetResponseType)
    result: SetResponse = _RESPONSES[choice]._read(reader)
    return result
