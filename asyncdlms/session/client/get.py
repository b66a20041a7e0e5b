"""GET in the client role: normal (with block transfer), with-list in chunks that fit the
negotiated PDU, falling back to single GETs where a meter refuses (behaviour 10)."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

from ...apdu.block_transfer import BlockReassembler
from ...apdu.descriptors import (
    CosemAttributeDescriptor,
    CosemAttributeDescriptorWithSelection,
    Data,
    Reader,
    SelectiveAccessDescriptor,
)
from ...apdu.enums import (
    DataAccessResult,
    InvokeIdAndPriority,
    data_access_error,
)
from ...apdu.get import (
    GetDataResult,
    GetRequestNext,
    GetRequestNormal,
    GetRequestWithList,
    GetResponseNormal,
    GetResponseWithDatablock,
    GetResponseWithList,
    chunk_attribute_list,
    decode_get_response,
    read_get_data_result,
)
from ...apdu.initiate import Conformance
from ...apdu.tags import ApduTag
from ...errors import (
    BlockTransferError,
    DataAccessError,
    DlmsError,
    UnexpectedApduError,
)
from ._core import _decode_response, _FallBack, _falls_back, _Send, _SessionCore, _Transaction


def _get_result_or_error(result: GetDataResult) -> Any:
    if isinstance(result, DataAccessResult):
        return data_access_error(result)
    return result.value


class _GetService(_SessionCore):
    """GET-Request-Normal (and -Next for the blocks) and -With-List."""

    def get(
        self,
        descriptor: CosemAttributeDescriptor,
        selective_access: SelectiveAccessDescriptor | None = None,
        *,
        now: float | None = None,
    ) -> int:
        """GET one attribute (block transfer as the server needs); returns the request id."""
        return self._submit(self._get_transaction(descriptor, selective_access), now)

    def get_with_list(
        self,
        items: Sequence[CosemAttributeDescriptor | CosemAttributeDescriptorWithSelection],
        *,
        now: float | None = None,
    ) -> int:
        """GET several attributes, in chunks of ``with_list_chunk_size``; a chunk the meter
        refuses is retried as single GETs (behaviour 10). The result has one entry per item:
        its value or its :class:`DataAccessError`."""
        return self._submit(self._get_list_transaction(items), now)

    def _get_transaction(
        self, descriptor: CosemAttributeDescriptor, selection: SelectiveAccessDescriptor | None
    ) -> _Transaction:
        invoke_id, iip = self._invoke()
        answer = yield _Send(GetRequestNormal(descriptor, selection, iip).encode(), invoke_id)
        pdu = _decode_response(answer, ApduTag.GET_RESPONSE, decode_get_response)
        if isinstance(pdu, GetResponseNormal):
            return pdu.value
        if isinstance(pdu, GetResponseWithDatablock):
            raw = yield from self._get_blocks(pdu, invoke_id, iip)
            return Data.from_raw(raw).value
        raise UnexpectedApduError("a get-response-with-list answered a single GET")

    def _get_blocks(
        self, pdu: GetResponseWithDatablock, invoke_id: int, iip: InvokeIdAndPriority
    ) -> Generator[_Send, bytes, bytes]:
        """Collect a long GET answer: get-request-next until the last block (behaviour 7:
        any first block number; duplicates dropped; a gap is a BlockTransferError)."""
        reassembler = BlockReassembler(max_length=self.settings.max_response_length)
        while True:
            if reassembler.add(pdu.block_number, pdu.raw_data, pdu.last_block):
                return reassembler.data
            number = reassembler.last_block_number
            assert number is not None
            answer = yield _Send(GetRequestNext(number, iip).encode(), invoke_id)
            next_pdu = _decode_response(answer, ApduTag.GET_RESPONSE, decode_get_response)
            if isinstance(next_pdu, GetResponseNormal):
                next_pdu.value  # noqa: B018 - raises the data-access-result that ended it
                raise BlockTransferError("a get-response-normal came in the middle of blocks")
            if not isinstance(next_pdu, GetResponseWithDatablock):
                raise BlockTransferError("a get-response-with-list came in the middle of blocks")
            pdu = next_pdu

    def _get_list_transaction(
        self, items: Sequence[CosemAttributeDescriptor | CosemAttributeDescriptorWithSelection]
    ) -> _Transaction:
        results: list[Any] = []
        negotiated = self.negotiated
        with_list = negotiated is None or bool(
            negotiated.conformance & Conformance.MULTIPLE_REFERENCES
        )
        for chunk in chunk_attribute_list(items, self.settings.with_list_chunk_size):
            if len(chunk) == 1 or not with_list:
                # one attribute, or a meter that did not grant multiple-references: single GETs
                for item in chunk:
                    results.append((yield from self._get_or_error(item)))
                continue
            try:
                results.extend((yield from self._get_chunk(chunk)))
            except DlmsError as exc:
                if not _falls_back(exc):
                    raise
                self.with_list_fallbacks += 1
                for item in chunk:
                    results.append((yield from self._get_or_error(item)))
        return results

    def _get_or_error(self, item: CosemAttributeDescriptorWithSelection) -> _Transaction:
        try:
            return (
                yield from self._get_transaction(
                    item.cosem_attribute_descriptor, item.access_selection
                )
            )
        except DataAccessError as exc:
            return exc

    def _get_chunk(self, chunk: tuple[CosemAttributeDescriptorWithSelection, ...]) -> _Transaction:
        invoke_id, iip = self._invoke()
        answer = yield _Send(GetRequestWithList(chunk, iip).encode(), invoke_id)
        pdu = _decode_response(answer, ApduTag.GET_RESPONSE, decode_get_response)
        results: tuple[GetDataResult, ...]
        if isinstance(pdu, GetResponseWithList):
            results = pdu.result
        elif isinstance(pdu, GetResponseWithDatablock):
            raw = yield from self._get_blocks(pdu, invoke_id, iip)
            reader = Reader(raw)
            count = reader.count("get-response-with-list result", 2)
            results = tuple(read_get_data_result(reader) for _ in range(count))
            reader.finish("get-response-with-list (from blocks)")
        else:
            pdu.value  # noqa: B018 - a data-access-result for the whole list raises here
            raise _FallBack("a get-response-normal answered a GET with-list")
        if len(results) != len(chunk):
            raise _FallBack(f"{len(results)} results answered {len(chunk)} attributes")
        if all(r == DataAccessResult.SCOPE_OF_ACCESS_VIOLATED for r in results):
            raise _FallBack("every attribute of the list: scope-of-access-violated")
        return [_get_result_or_error(r) for r in results]
