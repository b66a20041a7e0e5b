"""SET in the client role: normal, with-list, and long values sent in datablocks."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

from ... import axdr
from ...apdu.block_transfer import split_blocks
from ...apdu.descriptors import (
    CosemAttributeDescriptor,
    CosemAttributeDescriptorWithSelection,
    Data,
    DataBlockSA,
    SelectiveAccessDescriptor,
)
from ...apdu.enums import (
    DataAccessResult,
    InvokeIdAndPriority,
    data_access_error,
)
from ...apdu.set import (
    SetRequestNormal,
    SetRequestWithDatablock,
    SetRequestWithFirstDatablock,
    SetRequestWithList,
    SetRequestWithListAndFirstDatablock,
    SetResponseDatablock,
    SetResponseLastDatablock,
    SetResponseLastDatablockWithList,
    SetResponseNormal,
    SetResponseWithList,
    decode_set_response,
)
from ...apdu.tags import ApduTag
from ...errors import (
    BlockTransferError,
    DataAccessError,
    DecodeError,
    UnexpectedApduError,
)
from ._core import _decode_response, _Send, _SessionCore, _Transaction


def _check_set_result(result: DataAccessResult) -> None:
    if result != DataAccessResult.SUCCESS:
        raise data_access_error(result)


def _set_result_or_error(result: DataAccessResult) -> DataAccessError | None:
    return None if result == DataAccessResult.SUCCESS else data_access_error(result)


class _SetService(_SessionCore):
    """SET-Request-Normal, -With-List and the datablock variants."""

    def set(
        self,
        descriptor: CosemAttributeDescriptor,
        value: Any,
        selective_access: SelectiveAccessDescriptor | None = None,
        *,
        now: float | None = None,
    ) -> int:
        """SET one attribute (datablocks when the request exceeds the server's max PDU)."""
        return self._submit(self._set_transaction(descriptor, value, selective_access), now)

    def set_with_list(
        self,
        items: Sequence[
            tuple[CosemAttributeDescriptor | CosemAttributeDescriptorWithSelection, Any]
        ],
        *,
        now: float | None = None,
    ) -> int:
        """SET several attributes in one request; the result has one entry per item:
        ``None`` or its :class:`DataAccessError`."""
        return self._submit(self._set_list_transaction(items), now)

    def _set_transaction(
        self,
        descriptor: CosemAttributeDescriptor,
        value: Any,
        selection: SelectiveAccessDescriptor | None,
    ) -> _Transaction:
        data = Data.of(value)
        invoke_id, iip = self._invoke()
        apdu = SetRequestNormal(descriptor, data, selection, iip).encode()
        if self._fits(apdu):
            answer = yield (apdu, invoke_id)
            pdu = _decode_response(answer, ApduTag.SET_RESPONSE, decode_set_response)
            if not isinstance(pdu, (SetResponseNormal, SetResponseLastDatablock)):
                raise UnexpectedApduError(f"{type(pdu).__name__} answered a set-request-normal")
            _check_set_result(pdu.result)
            return None
        header = len(
            SetRequestWithFirstDatablock(
                descriptor, DataBlockSA(False, 1, b""), selection, iip
            ).encode()
        )

        def first(block: DataBlockSA) -> bytes:
            return SetRequestWithFirstDatablock(descriptor, block, selection, iip).encode()

        pdu = yield from self._set_blocks(data.raw, header, first, invoke_id, iip)
        if isinstance(pdu, (SetResponseLastDatablock, SetResponseNormal)):
            _check_set_result(pdu.result)
            return None
        raise UnexpectedApduError(f"{type(pdu).__name__} answered the last SET datablock")

    def _set_blocks(
        self,
        raw: bytes,
        header: int,
        first: Any,
        invoke_id: int,
        iip: InvokeIdAndPriority,
    ) -> Generator[_Send, bytes, Any]:
        size = self._block_size(header)
        chunks = split_blocks(raw, size)
        for number, chunk in enumerate(chunks, start=1):
            last = number == len(chunks)
            block = DataBlockSA(last, number, chunk)
            apdu = first(block) if number == 1 else SetRequestWithDatablock(block, iip).encode()
            answer = yield (apdu, invoke_id)
            pdu = _decode_response(answer, ApduTag.SET_RESPONSE, decode_set_response)
            if last:
                return pdu
            if isinstance(pdu, SetResponseNormal):
                _check_set_result(pdu.result)
                raise BlockTransferError("the server ended the SET block transfer early")
            if not isinstance(pdu, SetResponseDatablock):
                raise UnexpectedApduError(f"{type(pdu).__name__} answered a SET datablock")
            if pdu.block_number != number:
                raise BlockTransferError(
                    f"the server acknowledged SET block {pdu.block_number}, we sent {number}"
                )
        raise AssertionError("unreachable")  # pragma: no cover

    def _set_list_transaction(
        self,
        items: Sequence[
            tuple[CosemAttributeDescriptor | CosemAttributeDescriptorWithSelection, Any]
        ],
    ) -> _Transaction:
        descriptors = tuple(
            d
            if isinstance(d, CosemAttributeDescriptorWithSelection)
            else CosemAttributeDescriptorWithSelection(d)
            for d, _ in items
        )
        values = tuple(Data.of(v) for _, v in items)
        invoke_id, iip = self._invoke()
        apdu = SetRequestWithList(descriptors, values, iip).encode()
        if self._fits(apdu):
            answer = yield (apdu, invoke_id)
            pdu = _decode_response(answer, ApduTag.SET_RESPONSE, decode_set_response)
        else:
            raw = axdr.encode_length(len(values)) + b"".join(v.raw for v in values)
            header = len(
                SetRequestWithListAndFirstDatablock(
                    descriptors, DataBlockSA(False, 1, b""), iip
                ).encode()
            )

            def first(block: DataBlockSA) -> bytes:
                return SetRequestWithListAndFirstDatablock(descriptors, block, iip).encode()

            pdu = yield from self._set_blocks(raw, header, first, invoke_id, iip)
        if isinstance(pdu, (SetResponseWithList, SetResponseLastDatablockWithList)):
            if len(pdu.result) != len(items):
                raise DecodeError(f"{len(pdu.result)} results answered {len(items)} attributes")
            return [_set_result_or_error(r) for r in pdu.result]
        if isinstance(pdu, SetResponseNormal):
            _check_set_result(pdu.result)
        raise UnexpectedApduError(f"{type(pdu).__name__} answered a SET with-list")
