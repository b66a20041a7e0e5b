"""ACTION in the server role: normal, with-list, and requests and answers in pblocks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...apdu.action import (
    ActionRequestNextPblock,
    ActionRequestNormal,
    ActionRequestWithFirstPblock,
    ActionRequestWithList,
    ActionRequestWithListAndFirstPblock,
    ActionRequestWithPblock,
    ActionResponseNextPblock,
    ActionResponseNormal,
    ActionResponseWithList,
    ActionResponseWithOptionalData,
    ActionResponseWithPblock,
)
from ...apdu.descriptors import (
    Data,
    DataBlockSA,
)
from ...apdu.enums import ActionResult, InvokeIdAndPriority
from ...apdu.initiate import Conformance
from ...apdu.service_error import (
    ExceptionServiceError,
    ExceptionStateError,
)
from ._core import _IncomingBlocks, _SessionCore


class _ActionService(_SessionCore):
    """ACTION-Request-Normal, -With-List, -Next-Pblock and the pblock variants."""

    def _serve_action(self, request: Any) -> None:
        iip = request.invoke_id_and_priority
        if isinstance(request, ActionRequestNormal):
            single = self._invoke(
                request.cosem_method_descriptor, request.method_invocation_parameters
            )
            self._send_action_response(single, iip)
        elif isinstance(request, ActionRequestWithList):
            methods = request.cosem_method_descriptor_list
            if len(methods) != len(request.method_invocation_parameters):
                self._send_exception(
                    ExceptionStateError.SERVICE_NOT_ALLOWED,
                    ExceptionServiceError.OPERATION_NOT_POSSIBLE,
                )
                return
            if len(methods) > 1 and not self._service_allowed(Conformance.MULTIPLE_REFERENCES):
                return
            responses = tuple(
                self._invoke(m, p)
                for m, p in zip(methods, request.method_invocation_parameters, strict=True)
            )
            self._send(ActionResponseWithList(responses, iip).encode())
        elif isinstance(request, ActionRequestNextPblock):
            transfer = self._outgoing
            if (
                transfer is None
                or transfer.kind != "action"
                or request.block_number != transfer.sent
            ):
                self._outgoing = None
                failed = ActionResponseWithOptionalData(ActionResult.NO_LONG_ACTION_IN_PROGRESS)
                self._send(ActionResponseNormal(failed, iip).encode())
                return
            self._send_action_block()
        elif isinstance(
            request, (ActionRequestWithFirstPblock, ActionRequestWithListAndFirstPblock)
        ):
            if not self._negotiated(Conformance.BLOCK_TRANSFER_WITH_ACTION):
                self._unsupported()
                return
            if isinstance(request, ActionRequestWithFirstPblock):
                targets: Sequence[Any] = (request.cosem_method_descriptor,)
                with_list = False
            else:
                targets = request.cosem_method_descriptor_list
                with_list = True
            self._incoming = _IncomingBlocks(
                "action", targets, with_list, None, bytearray(), request.pblock.block_number
            )
            self._accept_action_block(request.pblock, iip, first=True)
        elif isinstance(request, ActionRequestWithPblock):
            self._accept_action_block(request.pblock, iip, first=False)

    def _send_action_response(
        self, single: ActionResponseWithOptionalData, iip: InvokeIdAndPriority
    ) -> None:
        answer = ActionResponseNormal(single, iip).encode()
        parameters = single.return_parameters
        if self._fits(len(answer)) or not isinstance(parameters, Data):
            self._send(answer)
            return
        if not self._negotiated(Conformance.BLOCK_TRANSFER_WITH_ACTION):
            failed = ActionResponseWithOptionalData(ActionResult.OTHER_REASON)
            self._send(ActionResponseNormal(failed, iip).encode())
            return
        self._outgoing = self._outgoing_blocks("action", iip, parameters.raw, header=8)
        self._send_action_block()

    def _send_action_block(self) -> None:
        last, number, data, iip = self._next_block()
        self._send(ActionResponseWithPblock(DataBlockSA(last, number, data), iip).encode())

    def _accept_action_block(
        self, block: DataBlockSA, iip: InvokeIdAndPriority, first: bool
    ) -> None:
        transfer = self._incoming
        if (
            transfer is None
            or transfer.kind != "action"
            or (not first and block.block_number != transfer.block_number + 1)
        ):
            self._incoming = None
            failed = ActionResponseWithOptionalData(ActionResult.NO_LONG_ACTION_IN_PROGRESS)
            self._send(ActionResponseNormal(failed, iip).encode())
            return
        transfer.block_number = block.block_number
        transfer.buffer += block.raw_data
        self.blocks_received += 1
        if len(transfer.buffer) > self.settings.max_request_length:
            self._incoming = None
            failed = ActionResponseWithOptionalData(ActionResult.LONG_ACTION_ABORTED)
            self._send(ActionResponseNormal(failed, iip).encode())
            return
        if not block.last_block:
            self._send(ActionResponseNextPblock(block.block_number, iip).encode())
            return
        self._incoming = None
        values = self._decode_values(bytes(transfer.buffer), transfer.with_list)
        if transfer.with_list:
            if values is None or len(values) != len(transfer.targets):
                responses = tuple(
                    ActionResponseWithOptionalData(ActionResult.TYPE_UNMATCHED)
                    for _ in transfer.targets
                )
            else:
                responses = tuple(
                    self._invoke(m, p) for m, p in zip(transfer.targets, values, strict=True)
                )
            self._send(ActionResponseWithList(responses, iip).encode())
            return
        if values is None:
            single = ActionResponseWithOptionalData(ActionResult.TYPE_UNMATCHED)
        else:
            single = self._invoke(transfer.targets[0], values[0])
        self._send_action_response(single, iip)
