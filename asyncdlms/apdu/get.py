"""GET-Request and GET-Response PDUs (tags 0xC0 and 0xC4), logical-name referencing.

Values travel as :class:`~asyncdlms.apdu.descriptors.Data` (bytes and decoded value, decoded
once). A block-transfer answer (:class:`GetResponseWithDatablock`) keeps only its raw bytes:
the session concatenates the blocks and decodes the whole value once, with
:meth:`Data.from_raw`.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import axdr
from ..errors import DecodeError, EncodeError
from ..obis import Obis
from .descriptors import (
    CosemAttributeDescriptor,
    CosemAttributeDescriptorWithSelection,
    Data,
    Reader,
    SelectiveAccessDescriptor,
    read_descriptor_list,
    read_optional_selection,
    write_descriptor_list,
    write_optional_selection,
)
from .enums import DataAccessResult, GetRequestType, GetResponseType, InvokeIdAndPriority
from .enums import data_access_error as _data_access_error
from .tags import ApduTag

if TYPE_CHECKING:
    from typing import Self

__all__ = [
    "GetDataResult",
    "GetRequest",
    "GetRequestNext",
    "GetRequestNormal",
    "GetRequestWithList",
    "GetResponse",
    "GetResponseNormal",
    "GetResponseWithDatablock",
    "GetResponseWithList",
    "chunk_attribute_list",
    "decode_get_request",
    "decode_get_response",
    "read_get_data_result",
    "result_value",
    "write_get_data_result",
]

_U32 = struct.Struct(">I")

GetDataResult = Data | DataAccessResult
"""Get-Data-Result ::= CHOICE {data [0] Data, data-access-result [1] Data-Access-Result}."""


def write_get_data_result(out: bytearray, result: GetDataResult) -> None:
    """Append a Get-Data-Result."""
    if isinstance(result, DataAccessResult):
        out.append(1)
        out.append(result)
    else:
        out.append(0)
        out += result.raw


def read_get_data_result(reader: Reader) -> GetDataResult:
    """Read a Get-Data-Result."""
    pos = reader.pos
    choice = reader.u8("the Get-Data-Result CHOICE tag")
    if choice == 0:
        return reader.value()
    if choice == 1:
        pos = reader.pos
        return DataAccessResult.decode_value(reader.u8("data-access-result"), pos)
    raise DecodeError(
        f"Get-Data-Result CHOICE tag must be 0 (data) or 1 (data-access-result), got {choice}",
        pos,
    )


def result_value(result: GetDataResult) -> Any:
    """The decoded value of a Get-Data-Result; a data-access-result raises
    :class:`~asyncdlms.errors.DataAccessError` with the standard's name."""
    if isinstance(result, DataAccessResult):
        raise _data_access_error(result)
    return result.value


def _as_result(result: Any) -> GetDataResult:
    if isinstance(result, (Data, DataAccessResult)):
        return result
    return Data.of(result)


def _check_u32(value: int, what: str) -> None:
    if not 0 <= value <= 0xFFFFFFFF:
        raise EncodeError(f"{what} {value} is out of range 0..4294967295")


# ---------------------------------------------------------------------------------------------
# Requests


@dataclass(frozen=True, slots=True)
class GetRequestNormal:
    """Get-Request-Normal: one attribute, optionally with selective access."""

    cosem_attribute_descriptor: CosemAttributeDescriptor
    access_selection: SelectiveAccessDescriptor | None = None
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    def encode(self) -> bytes:
        """The APDU bytes (0xC0 0x01 ...)."""
        out = bytearray((ApduTag.GET_REQUEST, GetRequestType.NORMAL))
        out.append(self.invoke_id_and_priority.to_byte())
        self.cosem_attribute_descriptor.encode_into(out)
        write_optional_selection(out, self.access_selection)
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode one Get-Request-Normal APDU."""
        reader = Reader(data)
        reader.header(ApduTag.GET_REQUEST)
        reader.expect_choice(GetRequestType.NORMAL, "get-request-normal")
        return cls._read(reader)

    @classmethod
    def _read(cls, reader: Reader) -> Self:
        iip = reader.invoke_id_and_priority()
        descriptor = CosemAttributeDescriptor.read(reader)
        selection = read_optional_selection(reader)
        reader.finish("get-request-normal")
        return cls(descriptor, selection, iip)


@dataclass(frozen=True, slots=True)
class GetRequestNext:
    """Get-Request-Next: ask for the next block after ``block_number`` (the last received)."""

    block_number: int
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    def __post_init__(self) -> None:
        _check_u32(self.block_number, "block-number")

    def encode(self) -> bytes:
        """The APDU bytes (0xC0 0x02 ...)."""
        return bytes(
            (ApduTag.GET_REQUEST, GetRequestType.NEXT, self.invoke_id_and_priority.to_byte())
        ) + _U32.pack(self.block_number)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode one Get-Request-Next APDU."""
        reader = Reader(data)
        reader.header(ApduTag.GET_REQUEST)
        reader.expect_choice(GetRequestType.NEXT, "get-request-next")
        return cls._read(reader)

    @classmethod
    def _read(cls, reader: Reader) -> Self:
        iip = reader.invoke_id_and_priority()
        number = reader.u32("block-number")
        reader.finish("get-request-next")
        return cls(number, iip)


@dataclass(frozen=True, slots=True)
class GetRequestWithList:
    """Get-Request-With-List: several attributes in one request."""

    attribute_descriptor_list: tuple[CosemAttributeDescriptorWithSelection, ...]
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    def __post_init__(self) -> None:
        items = tuple(
            item
            if isinstance(item, CosemAttributeDescriptorWithSelection)
            else CosemAttributeDescriptorWithSelection(item)
            for item in self.attribute_descriptor_list
        )
        object.__setattr__(self, "attribute_descriptor_list", items)

    def encode(self) -> bytes:
        """The APDU bytes (0xC0 0x03 ...)."""
        out = bytearray((ApduTag.GET_REQUEST, GetRequestType.WITH_LIST))
        out.append(self.invoke_id_and_priority.to_byte())
        write_descriptor_list(out, self.attribute_descriptor_list)
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode one Get-Request-With-List APDU."""
        reader = Reader(data)
        reader.header(ApduTag.GET_REQUEST)
        reader.expect_choice(GetRequestType.WITH_LIST, "get-request-with-list")
        return cls._read(reader)

    @classmethod
    def _read(cls, reader: Reader) -> Self:
        iip = reader.invoke_id_and_priority()
        items = read_descriptor_list(reader)
        reader.finish("get-request-with-list")
        return cls(items, iip)


def chunk_attribute_list(
    items: Sequence[CosemAttributeDescriptorWithSelection | CosemAttributeDescriptor],
    chunk_size: int = 10,
) -> list[tuple[CosemAttributeDescriptorWithSelection, ...]]:
    """Cut a with-list request into chunks of at most ``chunk_size`` attributes (QUIRKS.md #6:
    meters cap or break long lists; 10 is what gurux-dlms sends at most)."""
    if chunk_size < 1:
        raise EncodeError(f"a chunk holds at least one attribute, not {chunk_size}")
    listed = CosemAttributeDescriptorWithSelection
    wrapped = tuple(
        [item if isinstance(item, listed) else listed(item) for item in items]
    )  # (a list built first: a generator in tuple() resumes once per item)
    if 0 < len(wrapped) <= chunk_size:
        return [wrapped]
    return [wrapped[i : i + chunk_size] for i in range(0, len(wrapped), chunk_size)]


GetRequest = GetRequestNormal | GetRequestNext | GetRequestWithList

_REQUESTS: dict[int, Any] = {
    GetRequestType.NORMAL: GetRequestNormal,
    GetRequestType.NEXT: GetRequestNext,
    GetRequestType.WITH_LIST: GetRequestWithList,
}


_U16_AT = struct.Struct(">H")


@functools.lru_cache(maxsize=4096)
def _plain_get_request(body: bytes) -> GetRequestNormal:
    """A get-request-normal without selective access from its 10 bytes after the tag and
    CHOICE (invoke-id-and-priority, descriptor): the PDUs are immutable, and a server asked
    for the same attributes every cycle decodes each once."""
    (class_id,) = _U16_AT.unpack_from(body, 1)
    attribute = body[9]
    descriptor = CosemAttributeDescriptor(
        class_id, Obis.from_bytes(body[3:9]), attribute - 256 if attribute > 127 else attribute
    )
    return GetRequestNormal(descriptor, None, InvokeIdAndPriority.from_byte(body[0]))


def decode_get_request(data: bytes) -> GetRequest:
    """Decode any GET-Request APDU (0xC0)."""
    if len(data) == 13 and data[0] == 0xC0 and data[1] == 1 and data[12] == 0:
        return _plain_get_request(bytes(data[2:12]))  # the common GET: one attribute
    reader = Reader(data)
    choice = reader.header(ApduTag.GET_REQUEST, GetRequestType)
    result: GetRequest = _REQUESTS[choice]._read(reader)
    return result


# ---------------------------------------------------------------------------------------------
# Responses


@dataclass(frozen=True, slots=True)
class GetResponseNormal:
    """Get-Response-Normal: the value (:class:`Data`, decoded once when the APDU is decoded)
    or a :class:`DataAccessResult`. :attr:`value` gives the value or raises the error."""

    result: GetDataResult
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    def __post_init__(self) -> None:
        object.__setattr__(self, "result", _as_result(self.result))

    @property
    def value(self) -> Any:
        """The decoded value; raises :class:`~asyncdlms.errors.DataAccessError` on an error."""
        return result_value(self.result)

    def encode(self) -> bytes:
        """The APDU bytes (0xC4 0x01 ...)."""
        out = bytearray((ApduTag.GET_RESPONSE, GetResponseType.NORMAL))
        out.append(self.invoke_id_and_priority.to_byte())
        write_get_data_result(out, self.result)
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode one Get-Response-Normal APDU."""
        reader = Reader(data)
        reader.header(ApduTag.GET_RESPONSE)
        reader.expect_choice(GetResponseType.NORMAL, "get-response-normal")
        return cls._read(reader)

    @classmethod
    def _read(cls, reader: Reader) -> Self:
        iip = reader.invoke_id_and_priority()
        result = read_get_data_result(reader)
        reader.finish("get-response-normal")
        return cls(result, iip)


@dataclass(frozen=True, slots=True)
class GetResponseWithDatablock:
    """Get-Response-With-Datablock (DataBlock-G): one block of a long GET answer.

    ``result`` is the block's raw bytes (a slice of the encoded value; concatenate the blocks
    and decode once) or a :class:`DataAccessResult` that ends the transfer.
    """

    last_block: bool
    block_number: int
    result: bytes | DataAccessResult
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    def __post_init__(self) -> None:
        _check_u32(self.block_number, "block-number")
        if not isinstance(self.result, (bytes, DataAccessResult)):
            object.__setattr__(self, "result", bytes(self.result))

    @property
    def raw_data(self) -> bytes:
        """The block's bytes; raises :class:`~asyncdlms.errors.DataAccessError` on an error."""
        if isinstance(self.result, DataAccessResult):
            raise _data_access_error(self.result)
        return self.result

    def encode(self) -> bytes:
        """The APDU bytes (0xC4 0x02 ...)."""
        out = bytearray((ApduTag.GET_RESPONSE, GetResponseType.WITH_DATABLOCK))
        out.append(self.invoke_id_and_priority.to_byte())
        out.append(1 if self.last_block else 0)
        out += _U32.pack(self.block_number)
        if isinstance(self.result, DataAccessResult):
            out += bytes((1, self.result))
        else:
            out.append(0)
            out += axdr.encode_length(len(self.result))
            out += self.result
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode one Get-Response-With-Datablock APDU."""
        reader = Reader(data)
        reader.header(ApduTag.GET_RESPONSE)
        reader.expect_choice(GetResponseType.WITH_DATABLOCK, "get-response-with-datablock")
        return cls._read(reader)

    @classmethod
    def _read(cls, reader: Reader) -> Self:
        iip = reader.invoke_id_and_priority()
        last = reader.boolean("last-block")
        number = reader.u32("block-number")
        pos = reader.pos
        choice = reader.u8("the DataBlock-G result CHOICE tag")
        result: bytes | DataAccessResult
        if choice == 0:
            result = reader.octet_string("raw-data")
        elif choice == 1:
            pos = reader.pos
            result = DataAccessResult.decode_value(reader.u8("data-access-result"), pos)
        else:
            raise DecodeError(
                f"DataBlock-G result must be 0 (raw-data) or 1 (data-access-result), got {choice}",
                pos,
            )
        reader.finish("get-response-with-datablock")
        return cls(last, number, result, iip)


@dataclass(frozen=True, slots=True)
class GetResponseWithList:
    """Get-Response-With-List: one Get-Data-Result per requested attribute, in order."""

    result: tuple[GetDataResult, ...]
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    def __post_init__(self) -> None:
        object.__setattr__(self, "result", tuple(_as_result(r) for r in self.result))

    @property
    def values(self) -> list[Any]:
        """The decoded values; the first data-access-result raises its DataAccessError."""
        return [result_value(r) for r in self.result]

    def encode(self) -> bytes:
        """The APDU bytes (0xC4 0x03 ...)."""
        out = bytearray((ApduTag.GET_RESPONSE, GetResponseType.WITH_LIST))
        out.append(self.invoke_id_and_priority.to_byte())
        out += axdr.encode_length(len(self.result))
        for item in self.result:
            write_get_data_result(out, item)
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode one Get-Response-With-List APDU."""
        reader = Reader(data)
        reader.header(ApduTag.GET_RESPONSE)
        reader.expect_choice(GetResponseType.WITH_LIST, "get-response-with-list")
        return cls._read(reader)

    @classmethod
    def _read(cls, reader: Reader) -> Self:
        iip = reader.invoke_id_and_priority()
        count = reader.count("get-response-with-list result", 2)
        results = tuple(read_get_data_result(reader) for _ in range(count))
        reader.finish("get-response-with-list")
        return cls(results, iip)


GetResponse = GetResponseNormal | GetResponseWithDatablock | GetResponseWithList

_RESPONSES: dict[int, Any] = {
    GetResponseType.NORMAL: GetResponseNormal,
    GetResponseType.WITH_DATABLOCK: GetResponseWithDatablock,
    GetResponseType.WITH_LIST: GetResponseWithList,
}


def decode_get_response(data: bytes) -> GetResponse:
    """Decode any GET-Response APDU (0xC4)."""
    reader = Reader(data)
    choice = reader.header(ApduTag.GET_RESPONSE, GetResponseType)
    result: GetResponse = _RESPONSES[choice]._read(reader)
    return result
