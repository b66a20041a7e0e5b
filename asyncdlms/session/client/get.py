"""GET in the client role: normal (with block transfer), with-list in chunks that fit the
negotiated PDU, falling back to single GETs where a meter refuses (behaviour 10)."""

from __future__ import annotations

import struct
from collections.abc import Generator, Iterable, Sequence
from types import TracebackType
from typing import Any, cast

from ... import axdr
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

_pack_get_request_normal = struct.Struct(">BBBH6BbB").pack
"""get-request-normal: tag, choice 1, invoke-id-and-priority, class-id, the six OBIS
bytes, attribute-id (Integer8), no selective access."""

_GET_RESPONSE_NORMAL = bytes((ApduTag.GET_RESPONSE, 1))
"""The first two bytes of a get-response-normal."""


def get_response_normal_value(apdu: bytes) -> tuple[bool, Any]:
    """``(True, value)`` when ``apdu`` is an ordinary get-response-normal carrying data that
    decodes exactly; ``(False, None)`` for anything else (an error result, blocks, another
    APDU, undecodable bytes), which the general decoder then reads and reports."""
    if apdu[:2] == _GET_RESPONSE_NORMAL and len(apdu) > 4 and apdu[3] == 0:
        try:  # invoke-id-and-priority at 2, the choice data (0) at 3, the value from 4
            value, end = axdr.decode_from(apdu, 4)
        except DlmsError:
            return False, None
        if end == len(apdu):
            return True, value
    return False, None


def _get_request_normal(invoke_byte: int, descriptor: CosemAttributeDescriptor) -> bytes:
    """A get-request-normal without selective access, encoded directly (the same bytes as
    :class:`GetRequestNormal`'s encoder gives)."""
    return _pack_get_request_normal(
        ApduTag.GET_REQUEST,
        1,
        invoke_byte,
        descriptor.class_id,
        *descriptor.instance_id,
        descriptor.attribute_id,
        0,
    )


class _GetNormal(Generator[_Send, bytes, Any]):
    """One GET-Request-Normal without selective access as a transaction object instead of
    a generator: the common read, encoded and its get-response-normal decoded without the
    general machinery. Any other answer (blocks, an error, an exception-response...) goes
    to the general transaction from the point where the answer came (``_get_answered``), so
    the behaviour is the general one; only the ordinary answer is taken the short way."""

    __slots__ = ("_descriptor", "_invoke_id", "_rest", "_session")

    def __init__(self, session: _GetService, descriptor: CosemAttributeDescriptor) -> None:
        self._session = session
        self._descriptor = descriptor
        self._invoke_id = 0
        self._rest: _Transaction | None = None

    def send(self, answer: bytes | None) -> _Send:
        rest = self._rest
        if rest is not None:
            return rest.send(answer)  # type: ignore[arg-type]
        if answer is None:  # started: the request
            invoke_id, byte = self._session._invoke_byte()
            self._invoke_id = invoke_id
            return (_get_request_normal(byte, self._descriptor), invoke_id)
        ordinary, value = get_response_normal_value(answer)
        if ordinary:
            raise StopIteration(value)
        invoke_id = self._invoke_id
        iip = InvokeIdAndPriority(
            invoke_id, self._session.settings.confirmed, self._session.settings.high_priority
        )
        self._rest = rest = self._session._get_answered(answer, invoke_id, iip)
        return next(rest)

    def throw(
        self,
        typ: type[BaseException] | BaseException,
        value: object = None,
        traceback: TracebackType | None = None,
    ) -> _Send:
        if self._rest is not None:
            return self._rest.throw(typ if isinstance(typ, BaseException) else typ())
        raise typ if isinstance(typ, BaseException) else typ()

    def close(self) -> None:
        if self._rest is not None:
            self._rest.close()


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
        if selective_access is None:
            return self._submit(_GetNormal(self, descriptor), now)
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
        answer = yield (GetRequestNormal(descriptor, selection, iip).encode(), invoke_id)
        return (yield from self._get_answered(answer, invoke_id, iip))

    def _get_answered(
        self, answer: bytes, invoke_id: int, iip: InvokeIdAndPriority
    ) -> _Transaction:
        """The rest of a GET-Request-Normal transaction once its first answer came."""
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
            answer = yield (GetRequestNext(number, iip).encode(), invoke_id)
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
            int.__and__(negotiated.conformance, Conformance.MULTIPLE_REFERENCES)
        )
        size = self.settings.with_list_chunk_size
        singles = size == 1 or not with_list  # (no chunks to cut then: the items as they are)
        chunks: Iterable[Sequence[CosemAttributeDescriptor | CosemAttributeDescriptorWithSelection]]
        chunks = (items,) if singles else chunk_attribute_list(items, size)
        for chunk in chunks:
            if singles or len(chunk) == 1:
                # one attribute, or a meter that did not grant multiple-references: single GETs
                for item in chunk:
                    if isinstance(item, CosemAttributeDescriptor):
                        descriptor = item
                    elif item.access_selection is None:
                        descriptor = item.cosem_attribute_descriptor
                    else:
                        results.append((yield from self._get_or_error(item)))
                        continue
                    # the common read inline (no generator layer per GET): the request
                    # encoded directly, the ordinary answer decoded the short way, any other
                    # answer given to the general transaction (_get_answered)
                    invoke_id, byte = self._invoke_byte()
                    answer = yield _get_request_normal(byte, descriptor), invoke_id
                    ordinary, value = get_response_normal_value(answer)
                    if ordinary:
                        results.append(value)
                        continue
                    iip = InvokeIdAndPriority(
                        invoke_id, self.settings.confirmed, self.settings.high_priority
                    )
                    try:
                        results.append((yield from self._get_answered(answer, invoke_id, iip)))
                    except DataAccessError as exc:
                        results.append(exc)
                continue
            listed = cast(tuple[CosemAttributeDescriptorWithSelection, ...], chunk)  # (a cut one)
            try:
                results.extend((yield from self._get_chunk(listed)))
            except DlmsError as exc:
                if not _falls_back(exc):
                    raise
                self.with_list_fallbacks += 1
                for listed_item in listed:
                    results.append((yield from self._get_or_error(listed_item)))
        return results

    def _get_or_error(self, item: CosemAttributeDescriptorWithSelection) -> _Transaction:
        try:
            if item.access_selection is None:
                return (yield from _GetNormal(self, item.cosem_attribute_descriptor))
            return (
                yield from self._get_transaction(
                    item.cosem_attribute_descriptor, item.access_selection
                )
            )
        except DataAccessError as exc:
            return exc

    def _get_chunk(self, chunk: tuple[CosemAttributeDescriptorWithSelection, ...]) -> _Transaction:
        invoke_id, iip = self._invoke()
        answer = yield (GetRequestWithList(chunk, iip).encode(), invoke_id)
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
