"""ACTION in the client role: normal, with-list, long parameters in pblocks and long answers
reassembled."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

from ...apdu.action import (
    ActionRequestNextPblock,
    ActionRequestNormal,
    ActionRequestWithFirstPblock,
    ActionRequestWithList,
    ActionRequestWithPblock,
    ActionResponseNextPblock,
    ActionResponseNormal,
    ActionResponseWithList,
    ActionResponseWithOptionalData,
    ActionResponseWithPblock,
    decode_action_response,
)
from ...apdu.block_transfer import BlockReassembler, split_blocks
from ...apdu.descriptors import (
    CosemMethodDescriptor,
    Data,
    DataBlockSA,
    Reader,
)
from ...apdu.enums import InvokeIdAndPriority
from ...apdu.tags import ApduTag
from ...errors import (
    ActionError,
    BlockTransferError,
    DataAccessError,
    DecodeError,
    UnexpectedApduError,
)
from ._core import _decode_response, _Send, _SessionCore, _Transaction


def _action_value(raw: bytes) -> Any:
    """The return parameters of a long ACTION answer, reassembled from pblocks: the encoded
    Data; also read as an encoded Action-Response-With-Optional-Data (result first)."""
    try:
        return Data.from_raw(raw).value
    except DecodeError:
        reader = Reader(raw)
        response = ActionResponseWithOptionalData.read(reader)
        reader.finish("action-response-with-pblock raw-data")
        return response.value


class _ActionService(_SessionCore):
    """ACTION-Request-Normal, -With-List and the pblock variants."""

    def action(
        self,
        method_descriptor: CosemMethodDescriptor,
        parameters: Any = None,
        *,
        now: float | None = None,
    ) -> int:
        """ACTION (invoke a method); pblocks for long parameters and long results."""
        return self._submit(self._action_transaction(method_descriptor, parameters), now)

    def action_with_list(
        self,
        items: Sequence[tuple[CosemMethodDescriptor, Any]],
        *,
        now: float | None = None,
    ) -> int:
        """ACTION with-list; the result has one entry per item: its value (``None`` when it
        returned nothing) or its :class:`ActionError`."""
        return self._submit(self._action_list_transaction(items), now)

    def action_with_list_fits(self, items: Sequence[tuple[CosemMethodDescriptor, Any]]) -> bool:
        """Whether an ACTION with-list of ``items`` goes out in one APDU of the negotiated
        size (ciphering overhead included; always with general-block-transfer), so a caller
        can pack as many invocations as fit (e.g. image blocks)."""
        methods = tuple(m for m, _ in items)
        parameters = tuple(Data.of(p) for _, p in items)
        apdu = ActionRequestWithList(methods, parameters, InvokeIdAndPriority()).encode()
        return self._fits(apdu)

    def _action_transaction(self, method: CosemMethodDescriptor, parameters: Any) -> _Transaction:
        data = None if parameters is None else Data.of(parameters)
        invoke_id, iip = self._invoke()
        apdu = ActionRequestNormal(method, data, iip).encode()
        if data is None or self._fits(apdu):
            answer = yield (apdu, invoke_id)
        else:
            header = len(
                ActionRequestWithFirstPblock(method, DataBlockSA(False, 1, b""), iip).encode()
            )
            size = self._block_size(header)
            raw = data.raw
            chunks = split_blocks(raw, size)
            answer = b""
            for number, chunk in enumerate(chunks, start=1):
                last = number == len(chunks)
                block = DataBlockSA(last, number, chunk)
                if number == 1:
                    apdu = ActionRequestWithFirstPblock(method, block, iip).encode()
                else:
                    apdu = ActionRequestWithPblock(block, iip).encode()
                answer = yield (apdu, invoke_id)
                if last:
                    break
                pdu = _decode_response(answer, ApduTag.ACTION_RESPONSE, decode_action_response)
                if isinstance(pdu, ActionResponseNormal):
                    pdu.value  # noqa: B018 - an error ends the transfer
                    raise BlockTransferError("the server ended the ACTION pblock transfer early")
                if not isinstance(pdu, ActionResponseNextPblock):
                    raise UnexpectedApduError(f"{type(pdu).__name__} answered an ACTION pblock")
                if pdu.block_number != number:
                    raise BlockTransferError(
                        f"the server acknowledged ACTION pblock {pdu.block_number}, "
                        f"we sent {number}"
                    )
        return (yield from self._action_answer(answer, invoke_id, iip))

    def _action_answer(
        self, answer: bytes, invoke_id: int, iip: InvokeIdAndPriority
    ) -> Generator[_Send, bytes, Any]:
        pdu = _decode_response(answer, ApduTag.ACTION_RESPONSE, decode_action_response)
        if isinstance(pdu, ActionResponseNormal):
            return pdu.value
        if not isinstance(pdu, ActionResponseWithPblock):
            raise UnexpectedApduError(f"{type(pdu).__name__} answered an ACTION")
        reassembler = BlockReassembler(max_length=self.settings.max_response_length)
        while not reassembler.add(
            pdu.pblock.block_number, pdu.pblock.raw_data, pdu.pblock.last_block
        ):
            number = reassembler.last_block_number
            assert number is not None
            answer = yield (ActionRequestNextPblock(number, iip).encode(), invoke_id)
            next_pdu = _decode_response(answer, ApduTag.ACTION_RESPONSE, decode_action_response)
            if isinstance(next_pdu, ActionResponseNormal):
                next_pdu.value  # noqa: B018 - an error ends the transfer
                raise BlockTransferError("an action-response-normal came in the middle of pblocks")
            if not isinstance(next_pdu, ActionResponseWithPblock):
                raise UnexpectedApduError(
                    f"{type(next_pdu).__name__} came in the middle of pblocks"
                )
            pdu = next_pdu
        return _action_value(reassembler.data)

    def _action_list_transaction(
        self, items: Sequence[tuple[CosemMethodDescriptor, Any]]
    ) -> _Transaction:
        methods = tuple(m for m, _ in items)
        parameters = tuple(Data.of(p) for _, p in items)
        invoke_id, iip = self._invoke()
        answer = yield (ActionRequestWithList(methods, parameters, iip).encode(), invoke_id)
        pdu = _decode_response(answer, ApduTag.ACTION_RESPONSE, decode_action_response)
        if not isinstance(pdu, ActionResponseWithList):
            if isinstance(pdu, ActionResponseNormal):
                pdu.value  # noqa: B018
            raise UnexpectedApduError(f"{type(pdu).__name__} answered an ACTION with-list")
        if len(pdu.list_of_responses) != len(items):
            raise DecodeError(f"{len(pdu.list_of_responses)} results answered {len(items)} methods")
        results: list[Any] = []
        for response in pdu.list_of_responses:
            try:
                results.append(response.value)
            except (ActionError, DataAccessError) as exc:
                results.append(exc)
        return results
