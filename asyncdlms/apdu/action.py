"""ACTION-Request and ACTION-Response PDUs (tags 0xC3 and 0xC7), logical-name referencing.

Method parameters and return parameters travel as :class:`Data` (bytes and value, decoded
once); parameters or results too large for one PDU go as raw blocks (:class:`DataBlockSA`,
"pblocks").
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import axdr
from ..errors import EncodeError
from .descriptors import (
    CosemMethodDescriptor,
    Data,
    DataBlockSA,
    Reader,
    as_data_tuple,
    read_data_list,
    write_data_list,
)
from .enums import (
    ActionRequestType,
    ActionResponseType,
    ActionResult,
    DataAccessResult,
    InvokeIdAndPriority,
    action_error,
)
from .get import GetDataResult, read_get_data_result, result_value, write_get_data_result
from .tags import ApduTag

if TYPE_CHECKING:
    from typing import Self

__all__ = [
    "ActionRequest",
    "ActionRequestNextPblock",
    "ActionRequestNormal",
    "ActionRequestWithFirstPblock",
    "ActionRequestWithList",
    "ActionRequestWithListAndFirstPblock",
    "ActionRequestWithPblock",
    "ActionResponse",
    "ActionResponseNextPblock",
    "ActionResponseNormal",
    "ActionResponseWithList",
    "ActionResponseWithOptionalData",
    "ActionResponseWithPblock",
    "decode_action_request",
    "decode_action_response",
]

_U32 = struct.Struct(">I")


def _check_u32(value: int, what: str) -> None:
    if not 0 <= value <= 0xFFFFFFFF:
        raise EncodeError(f"{what} {value} is out of range 0..4294967295")


def _start(choice: int, iip: InvokeIdAndPriority, tag: ApduTag) -> bytearray:
    return bytearray((tag, choice, iip.to_byte()))


def _reader(data: bytes, tag: ApduTag, choice: int, name: str) -> Reader:
    reader = Reader(data)
    reader.header(tag)
    reader.expect_choice(choice, name)
    return reader


def _write_methods(out: bytearray, methods: Sequence[CosemMethodDescriptor]) -> None:
    out += axdr.encode_length(len(methods))
    for method in methods:
        method.encode_into(out)


def _read_methods(reader: Reader) -> tuple[CosemMethodDescriptor, ...]:
    count = reader.count("cosem-method-descriptor-list", 9)
    return tuple(CosemMethodDescriptor.read(reader) for _ in range(count))


# ---------------------------------------------------------------------------------------------
# Requests


@dataclass(frozen=True, slots=True)
class ActionRequestNormal:
    """Action-Request-Normal: invoke one method, with optional parameters (``None``: absent;
    gurux and most meters send ``Data.of(0)`` style parameters even for methods without)."""

    cosem_method_descriptor: CosemMethodDescriptor
    method_invocation_parameters: Data | None = None
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    def __post_init__(self) -> None:
        if self.method_invocation_parameters is not None:
            object.__setattr__(
                self, "method_invocation_parameters", Data.of(self.method_invocation_parameters)
            )

    def encode(self) -> bytes:
        """The APDU bytes (0xC3 0x01 ...)."""
        out = _start(ActionRequestType.NORMAL, self.invoke_id_and_priority, ApduTag.ACTION_REQUEST)
        self.cosem_method_descriptor.encode_into(out)
        if self.method_invocation_parameters is None:
            out.append(0)
        else:
            out.append(1)
            out += self.method_invocation_parameters.raw
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode one Action-Request-Normal APDU."""
        return cls._read(_reader(data, ApduTag.ACTION_REQUEST, 1, "action-request-normal"))

    @classmethod
    def _read(cls, reader: Reader) -> Self:
        iip = reader.invoke_id_and_priority()
        method = CosemMethodDescriptor.read(reader)
        parameters = reader.value() if reader.optional("method-invocation-parameters") else None
        reader.finish("action-request-normal")
        return cls(method, parameters, iip)


@dataclass(frozen=True, slots=True)
class ActionRequestNextPblock:
    """Action-Request-Next-Pblock: the client received result block ``block_number``."""

    block_number: int
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    def __post_init__(self) -> None:
        _check_u32(self.block_number, "block-number")

    def encode(self) -> bytes:
        """The APDU bytes (0xC3 0x02 ...)."""
        out = _start(
            ActionRequestType.NEXT_PBLOCK, self.invoke_id_and_priority, ApduTag.ACTION_REQUEST
        )
        out += _U32.pack(self.block_number)
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode one Action-Request-Next-Pblock APDU."""
        return cls._read(_reader(data, ApduTag.ACTION_REQUEST, 2, "action-request-next-pblock"))

    @classmethod
    def _read(cls, reader: Reader) -> Self:
        iip = reader.invoke_id_and_priority()
        number = reader.u32("block-number")
        reader.finish("action-request-next-pblock")
        return cls(number, iip)


@dataclass(frozen=True, slots=True)
class ActionRequestWithList:
    """Action-Request-With-List: several methods and one parameter each (null-data when the
    method takes none)."""

    cosem_method_descriptor_list: tuple[CosemMethodDescriptor, ...]
    method_invocation_parameters: tuple[Data, ...]
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "cosem_method_descriptor_list", tuple(self.cosem_method_descriptor_list)
        )
        object.__setattr__(
            self, "method_invocation_parameters", as_data_tuple(self.method_invocation_parameters)
        )

    def encode(self) -> bytes:
        """The APDU bytes (0xC3 0x03 ...)."""
        out = _start(
            ActionRequestType.WITH_LIST, self.invoke_id_and_priority, ApduTag.ACTION_REQUEST
        )
        _write_methods(out, self.cosem_method_descriptor_list)
        write_data_list(out, self.method_invocation_parameters)
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode one Action-Request-With-List APDU."""
        return cls._read(_reader(data, ApduTag.ACTION_REQUEST, 3, "action-request-with-list"))

    @classmethod
    def _read(cls, reader: Reader) -> Self:
        iip = reader.invoke_id_and_priority()
        methods = _read_methods(reader)
        parameters = read_data_list(reader, "method-invocation-parameters")
        reader.finish("action-request-with-list")
        return cls(methods, parameters, iip)


@dataclass(frozen=True, slots=True)
class ActionRequestWithFirstPblock:
    """Action-Request-With-First-Pblock: one method and the first block of its parameters."""

    cosem_method_descriptor: CosemMethodDescriptor
    pblock: DataBlockSA
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    def encode(self) -> bytes:
        """The APDU bytes (0xC3 0x04 ...)."""
        out = _start(
            ActionRequestType.WITH_FIRST_PBLOCK, self.invoke_id_and_priority, ApduTag.ACTION_REQUEST
        )
        self.cosem_method_descriptor.encode_into(out)
        self.pblock.encode_into(out)
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode one Action-Request-With-First-Pblock APDU."""
        return cls._read(
            _reader(data, ApduTag.ACTION_REQUEST, 4, "action-request-with-first-pblock")
        )

    @classmethod
    def _read(cls, reader: Reader) -> Self:
        iip = reader.invoke_id_and_priority()
        method = CosemMethodDescriptor.read(reader)
        block = DataBlockSA.read(reader)
        reader.finish("action-request-with-first-pblock")
        return cls(method, block, iip)


@dataclass(frozen=True, slots=True)
class ActionRequestWithListAndFirstPblock:
    """Action-Request-With-List-And-First-Pblock: several methods and the first block of
    their parameters."""

    cosem_method_descriptor_list: tuple[CosemMethodDescriptor, ...]
    pblock: DataBlockSA
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "cosem_method_descriptor_list", tuple(self.cosem_method_descriptor_list)
        )

    def encode(self) -> bytes:
        """The APDU bytes (0xC3 0x05 ...)."""
        out = _start(
            ActionRequestType.WITH_LIST_AND_FIRST_PBLOCK,
            self.invoke_id_and_priority,
            ApduTag.ACTION_REQUEST,
        )
        _write_methods(out, self.cosem_method_descriptor_list)
        self.pblock.encode_into(out)
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode one Action-Request-With-List-And-First-Pblock APDU."""
        return cls._read(
            _reader(data, ApduTag.ACTION_REQUEST, 5, "action-request-with-list-and-first-pblock")
        )

    @classmethod
    def _read(cls, reader: Reader) -> Self:
        iip = reader.invoke_id_and_priority()
        methods = _read_methods(reader)
        block = DataBlockSA.read(reader)
        reader.finish("action-request-with-list-and-first-pblock")
        return cls(methods, block, iip)


@dataclass(frozen=True, slots=True)
class ActionRequestWithPblock:
    """Action-Request-With-Pblock: a following block of the parameters."""

    pblock: DataBlockSA
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    def encode(self) -> bytes:
        """The APDU bytes (0xC3 0x06 ...)."""
        out = _start(
            ActionRequestType.WITH_PBLOCK, self.invoke_id_and_priority, ApduTag.ACTION_REQUEST
        )
        self.pblock.encode_into(out)
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode one Action-Request-With-Pblock APDU."""
        return cls._read(_reader(data, ApduTag.ACTION_REQUEST, 6, "action-request-with-pblock"))

    @classmethod
    def _read(cls, reader: Reader) -> Self:
        iip = reader.invoke_id_and_priority()
        block = DataBlockSA.read(reader)
        reader.finish("action-request-with-pblock")
        return cls(block, iip)


ActionRequest = (
    ActionRequestNormal
    | ActionRequestNextPblock
    | ActionRequestWithList
    | ActionRequestWithFirstPblock
    | ActionRequestWithListAndFirstPblock
    | ActionRequestWithPblock
)

_REQUESTS: dict[int, Any] = {
    ActionRequestType.NORMAL: ActionRequestNormal,
    ActionRequestType.NEXT_PBLOCK: ActionRequestNextPblock,
    ActionRequestType.WITH_LIST: ActionRequestWithList,
    ActionRequestType.WITH_FIRST_PBLOCK: ActionRequestWithFirstPblock,
    ActionRequestType.WITH_LIST_AND_FIRST_PBLOCK: ActionRequestWithListAndFirstPblock,
    ActionRequestType.WITH_PBLOCK: ActionRequestWithPblock,
}


def decode_action_request(data: bytes) -> ActionRequest:
    """Decode any ACTION-Request APDU (0xC3)."""
    reader = Reader(data)
    choice = reader.header(ApduTag.ACTION_REQUEST, ActionRequestType)
    result: ActionRequest = _REQUESTS[choice]._read(reader)
    return result


# ---------------------------------------------------------------------------------------------
# Responses


@dataclass(frozen=True, slots=True)
class ActionResponseWithOptionalData:
    """Action-Response-With-Optional-Data: the action-result and optional return parameters
    (a Get-Data-Result: :class:`Data` or a :class:`DataAccessResult`)."""

    result: ActionResult
    return_parameters: GetDataResult | None = None

    def __post_init__(self) -> None:
        if self.return_parameters is not None and not isinstance(
            self.return_parameters, (Data, DataAccessResult)
        ):
            object.__setattr__(self, "return_parameters", Data.of(self.return_parameters))

    @property
    def value(self) -> Any:
        """The returned value (``None`` when absent); raises :class:`ActionError` for a failed
        action and :class:`DataAccessError` for a data-access-result in the return parameters."""
        if self.result != ActionResult.SUCCESS:
            raise action_error(self.result)
        if self.return_parameters is None:
            return None
        return result_value(self.return_parameters)

    def encode_into(self, out: bytearray) -> None:
        """Append the encoding."""
        out.append(self.result)
        if self.return_parameters is None:
            out.append(0)
        else:
            out.append(1)
            write_get_data_result(out, self.return_parameters)

    @classmethod
    def read(cls, reader: Reader) -> Self:
        """Read one element at the reader's position."""
        pos = reader.pos
        result = ActionResult.decode_value(reader.u8("action-result"), pos)
        if reader.pos == reader.end:
            # the APDU ends at the result, without the presence flag of return-parameters:
            # gurux-dlms based servers answer every failed ACTION so (C7 01 C1 01), read as
            # no return parameters rather than refused as truncated
            return cls(result)
        parameters = read_get_data_result(reader) if reader.optional("return-parameters") else None
        return cls(result, parameters)


@dataclass(frozen=True, slots=True)
class ActionResponseNormal:
    """Action-Response-Normal: the single response of one method invocation."""

    single_response: ActionResponseWithOptionalData
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    @property
    def result(self) -> ActionResult:
        """The action-result."""
        return self.single_response.result

    @property
    def value(self) -> Any:
        """The returned value or ``None``; raises on a failure (see
        :attr:`ActionResponseWithOptionalData.value`)."""
        return self.single_response.value

    def encode(self) -> bytes:
        """The APDU bytes (0xC7 0x01 ...)."""
        out = _start(
            ActionResponseType.NORMAL, self.invoke_id_and_priority, ApduTag.ACTION_RESPONSE
        )
        self.single_response.encode_into(out)
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode one Action-Response-Normal APDU."""
        return cls._read(_reader(data, ApduTag.ACTION_RESPONSE, 1, "action-response-normal"))

    @classmethod
    def _read(cls, reader: Reader) -> Self:
        iip = reader.invoke_id_and_priority()
        single = ActionResponseWithOptionalData.read(reader)
        reader.finish("action-response-normal")
        return cls(single, iip)


@dataclass(frozen=True, slots=True)
class ActionResponseWithPblock:
    """Action-Response-With-Pblock: one block of long return parameters."""

    pblock: DataBlockSA
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    def encode(self) -> bytes:
        """The APDU bytes (0xC7 0x02 ...)."""
        out = _start(
            ActionResponseType.WITH_PBLOCK, self.invoke_id_and_priority, ApduTag.ACTION_RESPONSE
        )
        self.pblock.encode_into(out)
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode one Action-Response-With-Pblock APDU."""
        return cls._read(_reader(data, ApduTag.ACTION_RESPONSE, 2, "action-response-with-pblock"))

    @classmethod
    def _read(cls, reader: Reader) -> Self:
        iip = reader.invoke_id_and_priority()
        block = DataBlockSA.read(reader)
        reader.finish("action-response-with-pblock")
        return cls(block, iip)


@dataclass(frozen=True, slots=True)
class ActionResponseWithList:
    """Action-Response-With-List: one response per method, in order."""

    list_of_responses: tuple[ActionResponseWithOptionalData, ...]
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    def __post_init__(self) -> None:
        object.__setattr__(self, "list_of_responses", tuple(self.list_of_responses))

    def encode(self) -> bytes:
        """The APDU bytes (0xC7 0x03 ...)."""
        out = _start(
            ActionResponseType.WITH_LIST, self.invoke_id_and_priority, ApduTag.ACTION_RESPONSE
        )
        out += axdr.encode_length(len(self.list_of_responses))
        for response in self.list_of_responses:
            response.encode_into(out)
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode one Action-Response-With-List APDU."""
        return cls._read(_reader(data, ApduTag.ACTION_RESPONSE, 3, "action-response-with-list"))

    @classmethod
    def _read(cls, reader: Reader) -> Self:
        iip = reader.invoke_id_and_priority()
        count = reader.count("list-of-responses", 2)
        responses = tuple(ActionResponseWithOptionalData.read(reader) for _ in range(count))
        reader.finish("action-response-with-list")
        return cls(responses, iip)


@dataclass(frozen=True, slots=True)
class ActionResponseNextPblock:
    """Action-Response-Next-Pblock: the server received parameter block ``block_number``."""

    block_number: int
    invoke_id_and_priority: InvokeIdAndPriority = field(default_factory=InvokeIdAndPriority)

    def __post_init__(self) -> None:
        _check_u32(self.block_number, "block-number")

    def encode(self) -> bytes:
        """The APDU bytes (0xC7 0x04 ...)."""
        out = _start(
            ActionResponseType.NEXT_PBLOCK, self.invoke_id_and_priority, ApduTag.ACTION_RESPONSE
        )
        out += _U32.pack(self.block_number)
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode one Action-Response-Next-Pblock APDU."""
        return cls._read(_reader(data, ApduTag.ACTION_RESPONSE, 4, "action-response-next-pblock"))

    @classmethod
    def _read(cls, reader: Reader) -> Self:
        iip = reader.invoke_id_and_priority()
        number = reader.u32("block-number")
        reader.finish("action-response-next-pblock")
        return cls(number, iip)


ActionResponse = (
    ActionResponseNormal
    | ActionResponseWithPblock
    | ActionResponseWithList
    | ActionResponseNextPblock
)

_RESPONSES: dict[int, Any] = {
    ActionResponseType.NORMAL: ActionResponseNormal,
    ActionResponseType.WITH_PBLOCK: ActionResponseWithPblock,
    ActionResponseType.WITH_LIST: ActionResponseWithList,
    ActionResponseType.NEXT_PBLOCK: ActionResponseNextPblock,
}


def decode_action_response(data: bytes) -> ActionResponse:
    """Decode any ACTION-Response APDU (0xC7)."""
    reader = Reader(data)
    choice = reader.header(ApduTag.ACTION_RESPONSE, ActionResponseType)
    result: ActionResponse = _RESPONSES[choice]._read(reader)
    return result
