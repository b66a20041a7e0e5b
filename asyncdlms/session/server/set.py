"""SET in the server role: normal, with-list, and requests arriving in datablocks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...apdu.descriptors import DataBlockSA
from ...apdu.enums import DataAccessResult, InvokeIdAndPriority
from ...apdu.initiate import Conformance
from ...apdu.service_error import (
    ExceptionServiceError,
    ExceptionStateError,
)
from ...apdu.set import (
    SetRequestNormal,
    SetRequestWithFirstDatablock,
    SetRequestWithList,
    SetRequestWithListAndFirstDatablock,
    SetResponseDatablock,
    SetResponseLastDatablock,
    SetResponseLastDatablockWithList,
    SetResponseNormal,
    SetResponseWithList,
)
from ._core import _IncomingBlocks, _SessionCore


class _SetService(_SessionCore):
    """SET-Request-Normal, -With-List and the datablock variants."""

    def _serve_set(self, request: Any) -> None:
        iip = request.invoke_id_and_priority
        if isinstance(request, SetRequestNormal):
            result = self._set_value(
                request.cosem_attribute_descriptor, request.access_selection, request.value.value
            )
            self._send(SetResponseNormal(result, iip).encode())
        elif isinstance(request, SetRequestWithList):
            items = request.attribute_descriptor_list
            if len(items) != len(request.value_list):
                self._send_exception(
                    ExceptionStateError.SERVICE_NOT_ALLOWED,
                    ExceptionServiceError.OPERATION_NOT_POSSIBLE,
                )
                return
            if len(items) > 1 and not self._service_allowed(Conformance.MULTIPLE_REFERENCES):
                return
            results = tuple(
                self._set_value(item.cosem_attribute_descriptor, item.access_selection, v.value)
                for item, v in zip(items, request.value_list, strict=True)
            )
            self._send(SetResponseWithList(results, iip).encode())
        elif isinstance(
            request, (SetRequestWithFirstDatablock, SetRequestWithListAndFirstDatablock)
        ):
            if not self._negotiated(Conformance.BLOCK_TRANSFER_WITH_SET_OR_WRITE):
                self._unsupported()
                return
            if isinstance(request, SetRequestWithFirstDatablock):
                targets: Sequence[Any] = (request.cosem_attribute_descriptor,)
                selection = request.access_selection
                with_list = False
            else:
                targets = request.attribute_descriptor_list
                selection = None
                with_list = True
            self._incoming = _IncomingBlocks(
                "set", targets, with_list, selection, bytearray(), request.datablock.block_number
            )
            self._accept_set_block(request.datablock, iip, first=True)
        else:
            self._accept_set_block(request.datablock, iip, first=False)

    def _accept_set_block(self, block: DataBlockSA, iip: InvokeIdAndPriority, first: bool) -> None:
        transfer = self._incoming
        if transfer is None or transfer.kind != "set":
            self._send(
                SetResponseLastDatablock(
                    DataAccessResult.NO_LONG_SET_IN_PROGRESS, block.block_number, iip
                ).encode()
            )
            return
        if not first and block.block_number != transfer.block_number + 1:
            self._incoming = None
            self._send(
                SetResponseLastDatablock(
                    DataAccessResult.DATA_BLOCK_NUMBER_INVALID, block.block_number, iip
                ).encode()
            )
            return
        transfer.block_number = block.block_number
        transfer.buffer += block.raw_data
        self.blocks_received += 1
        if len(transfer.buffer) > self.settings.max_request_length:
            self._incoming = None
            self._send(
                SetResponseLastDatablock(
                    DataAccessResult.LONG_SET_ABORTED, block.block_number, iip
                ).encode()
            )
            return
        if not block.last_block:
            self._send(SetResponseDatablock(block.block_number, iip).encode())
            return
        self._incoming = None
        values = self._decode_values(bytes(transfer.buffer), transfer.with_list)
        if transfer.with_list:
            results: tuple[DataAccessResult, ...]
            if values is None or len(values) != len(transfer.targets):
                results = tuple(DataAccessResult.TYPE_UNMATCHED for _ in transfer.targets)
            else:
                results = tuple(
                    self._set_value(t.cosem_attribute_descriptor, t.access_selection, v.value)
                    for t, v in zip(transfer.targets, values, strict=True)
                )
            self._send(SetResponseLastDatablockWithList(results, block.block_number, iip).encode())
            return
        if values is None:
            result = DataAccessResult.TYPE_UNMATCHED
        else:
            result = self._set_value(
                transfer.targets[0], transfer.selective_access, values[0].value
            )
        self._send(SetResponseLastDatablock(result, block.block_number, iip).encode())
