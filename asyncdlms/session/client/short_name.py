"""Short-name services in the client role: Read (one or several variables, with block
transfer), Write (one or several variables) and UnconfirmedWrite."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...apdu.block_transfer import BlockReassembler
from ...apdu.descriptors import (
    Data,
    Reader,
)
from ...apdu.enums import (
    DataAccessResult,
    data_access_error,
)
from ...apdu.initiate import Conformance
from ...apdu.short_name import (
    BlockNumberAccess,
    DataBlockResult,
    ParameterizedAccess,
    ReadRequest,
    ReadResponse,
    UnconfirmedWriteRequest,
    VariableName,
    WriteRequest,
    WriteResponse,
)
from ...apdu.tags import ApduTag
from ...errors import (
    BlockTransferError,
    DataAccessError,
    DecodeError,
    DlmsError,
    UnexpectedApduError,
)
from ._core import _decode_response, _FallBack, _falls_back, _SessionCore, _Transaction
from .set import _check_set_result, _set_result_or_error


def _read_blocks_value(raw: bytes) -> Any:
    """The value of an SN read answered in data-block-results: the raw-data joined is the
    encoded list of Read-Results (count, then CHOICE data [0] / data-access-error [1]), as
    gurux-dlms and our server send it; a bare encoded Data is accepted too."""
    try:
        reader = Reader(raw)
        count = reader.count("read-response result", 2)
        if count != 1:
            raise DecodeError(f"{count} results in the blocks of one read")
        pos = reader.pos
        choice = reader.u8("the Read-Result CHOICE tag")
        if choice == 0:
            data = reader.value()
            reader.finish("read-response blocks")
            return data.value
        if choice == 1:
            result = DataAccessResult.decode_value(reader.u8("data-access-error"), reader.pos)
            reader.finish("read-response blocks")
            raise data_access_error(result)
        raise DecodeError(f"Read-Result CHOICE {choice} inside blocks", pos)
    except DecodeError:
        return Data.from_raw(raw).value


def _read_results(raw: bytes) -> tuple[Data | DataAccessResult, ...]:
    """The Read-Results of an SN read of several variables answered in data-block-results:
    the raw-data joined is the count, then CHOICE data [0] / data-access-error [1] each."""
    reader = Reader(raw)
    count = reader.count("read-response result", 2)
    results: list[Data | DataAccessResult] = []
    for _ in range(count):
        pos = reader.pos
        choice = reader.u8("the Read-Result CHOICE tag")
        if choice == 0:
            results.append(reader.value())
        elif choice == 1:
            results.append(
                DataAccessResult.decode_value(reader.u8("data-access-error"), reader.pos)
            )
        else:
            raise DecodeError(f"Read-Result CHOICE {choice} inside blocks", pos)
    reader.finish("read-response blocks")
    return tuple(results)


class _ShortNameService(_SessionCore):
    """Read, Write and UnconfirmedWrite (short-name referencing)."""

    def read(
        self,
        short_name: int,
        *,
        selector: int | None = None,
        parameter: Any = None,
        now: float | None = None,
    ) -> int:
        """SN ReadRequest of one variable (with parameterized access when ``selector`` is
        given: selective access, or a method that returns data)."""
        spec: VariableName | ParameterizedAccess
        if selector is None:
            spec = VariableName(short_name)
        else:
            spec = ParameterizedAccess(short_name, selector, Data.of(parameter))
        return self._submit(self._read_transaction(spec), now)

    def read_list(
        self,
        items: Sequence[VariableName | ParameterizedAccess],
        *,
        now: float | None = None,
    ) -> int:
        """SN ReadRequest of several variables (multiple-references), in chunks of
        ``with_list_chunk_size``; a chunk the meter refuses is read again one variable at a
        time (as GET with-list, behaviour 10). The result has one entry per item: its value or
        its :class:`DataAccessError`."""
        return self._submit(self._read_list_transaction(tuple(items)), now)

    def write(self, short_name: int, value: Any, *, now: float | None = None) -> int:
        """SN WriteRequest of one variable."""
        return self._submit(self._write_transaction(short_name, value), now)

    def write_list(self, items: Sequence[tuple[int, Any]], *, now: float | None = None) -> int:
        """SN WriteRequest of several variables (multiple-references): ``items`` are (short
        name, value) pairs, sent in as few WriteRequests as fit the meter's max receive PDU,
        at most ``with_list_chunk_size`` variables each. A request the meter refuses as a
        whole (an exception-response or confirmed-service-error, scope-of-access-violated
        for every variable, an answer that does not fit the request) is sent again one
        variable at a time, as are all of them when multiple-references was not granted.
        The result has one entry per item: ``None`` (written) or its
        :class:`DataAccessError`."""
        return self._submit(self._write_list_transaction(tuple(items)), now)

    def unconfirmed_write(self, short_name: int, value: Any, *, now: float | None = None) -> int:
        """SN UnconfirmedWriteRequest: sent, completed at once (no answer comes)."""
        return self._submit(self._unconfirmed_write_transaction(short_name, value), now)

    def _read_transaction(self, spec: VariableName | ParameterizedAccess) -> _Transaction:
        answer = yield (ReadRequest((spec,)).encode(), None)
        reassembler: BlockReassembler | None = None
        while True:
            pdu = _decode_response(answer, ApduTag.READ_RESPONSE, ReadResponse.decode)
            if len(pdu.results) != 1:
                raise DecodeError(f"{len(pdu.results)} results answered one read")
            result = pdu.results[0]
            if isinstance(result, DataAccessResult):
                raise data_access_error(result)
            if isinstance(result, Data):
                if reassembler is not None:
                    raise BlockTransferError("data came in the middle of a read block transfer")
                return result.value
            if not isinstance(result, DataBlockResult):
                raise UnexpectedApduError("a block-number answered a read request")
            if reassembler is None:
                reassembler = BlockReassembler(max_length=self.settings.max_response_length)
            if reassembler.add(result.block_number, result.raw_data, result.last_block):
                return _read_blocks_value(reassembler.data)
            number = reassembler.last_block_number
            assert number is not None
            answer = yield (ReadRequest((BlockNumberAccess(number),)).encode(), None)

    def _read_list_transaction(
        self, items: tuple[VariableName | ParameterizedAccess, ...]
    ) -> _Transaction:
        results: list[Any] = []
        negotiated = self.negotiated
        multiple = negotiated is None or bool(
            negotiated.conformance & Conformance.MULTIPLE_REFERENCES
        )
        size = self.settings.with_list_chunk_size
        for start in range(0, len(items), size):
            chunk = items[start : start + size]
            if len(chunk) > 1 and multiple:
                try:
                    results.extend((yield from self._read_chunk(chunk)))
                    continue
                except DlmsError as exc:
                    if not _falls_back(exc):
                        raise
                    self.with_list_fallbacks += 1
            for item in chunk:
                try:
                    results.append((yield from self._read_transaction(item)))
                except DataAccessError as exc:
                    results.append(exc)
        return results

    def _read_chunk(self, chunk: tuple[VariableName | ParameterizedAccess, ...]) -> _Transaction:
        answer = yield (ReadRequest(chunk).encode(), None)
        reassembler: BlockReassembler | None = None
        while True:
            pdu = _decode_response(answer, ApduTag.READ_RESPONSE, ReadResponse.decode)
            block = pdu.results[0] if len(pdu.results) == 1 else None
            if not isinstance(block, DataBlockResult):
                if reassembler is not None:
                    raise BlockTransferError("results came in the middle of a read block transfer")
                results = pdu.results
                break
            if reassembler is None:
                reassembler = BlockReassembler(max_length=self.settings.max_response_length)
            if reassembler.add(block.block_number, block.raw_data, block.last_block):
                results = _read_results(reassembler.data)
                break
            number = reassembler.last_block_number
            assert number is not None
            answer = yield (ReadRequest((BlockNumberAccess(number),)).encode(), None)
        if len(results) != len(chunk):
            raise _FallBack(f"{len(results)} results answered {len(chunk)} variables")
        if all(r == DataAccessResult.SCOPE_OF_ACCESS_VIOLATED for r in results):
            raise _FallBack("every variable of the list: scope-of-access-violated")
        values: list[Any] = []
        for result in results:
            if isinstance(result, DataAccessResult):
                values.append(data_access_error(result))
            elif isinstance(result, Data):
                values.append(result.value)
            else:
                raise UnexpectedApduError("a block-number answered a read of several variables")
        return values

    def _write_transaction(self, short_name: int, value: Any) -> _Transaction:
        request = WriteRequest((VariableName(short_name),), (Data.of(value),))
        answer = yield (request.encode(), None)
        pdu = _decode_response(answer, ApduTag.WRITE_RESPONSE, WriteResponse.decode)
        if len(pdu.results) != 1:
            raise DecodeError(f"{len(pdu.results)} results answered one write")
        result = pdu.results[0]
        if isinstance(result, DataAccessResult):
            _check_set_result(result)
            return None
        raise UnexpectedApduError("a block-number answered a write request")

    def _write_list_transaction(self, items: tuple[tuple[int, Any], ...]) -> _Transaction:
        variables = [(VariableName(name), Data.of(value)) for name, value in items]
        negotiated = self.negotiated
        multiple = negotiated is None or bool(
            negotiated.conformance & Conformance.MULTIPLE_REFERENCES
        )
        results: list[DataAccessError | None] = []
        for chunk in self._write_chunks(variables) if multiple else [[v] for v in variables]:
            if len(chunk) > 1:
                try:
                    results.extend((yield from self._write_chunk(chunk)))
                    continue
                except DlmsError as exc:
                    if not _falls_back(exc):
                        raise
                    self.with_list_fallbacks += 1
            for name, data in chunk:
                try:
                    yield from self._write_transaction(name.variable_name, data)
                    results.append(None)
                except DataAccessError as exc:
                    results.append(exc)
        return results

    def _write_chunks(
        self, variables: list[tuple[VariableName, Data]]
    ) -> list[list[tuple[VariableName, Data]]]:
        """The variables in order, cut into WriteRequests that fit the meter's max receive
        PDU and hold at most ``with_list_chunk_size`` variables (a variable too long to fit
        even alone is a chunk of its own)."""
        size = self.settings.with_list_chunk_size
        chunks: list[list[tuple[VariableName, Data]]] = []
        chunk: list[tuple[VariableName, Data]] = []
        for variable in variables:
            if chunk and (len(chunk) >= size or not self._fits(_write_request(*chunk, variable))):
                chunks.append(chunk)
                chunk = []
            chunk.append(variable)
        if chunk:
            chunks.append(chunk)
        return chunks

    def _write_chunk(self, chunk: list[tuple[VariableName, Data]]) -> _Transaction:
        answer = yield (_write_request(*chunk), None)
        pdu = _decode_response(answer, ApduTag.WRITE_RESPONSE, WriteResponse.decode)
        if len(pdu.results) != len(chunk):
            raise _FallBack(f"{len(pdu.results)} results answered {len(chunk)} variables")
        if all(r == DataAccessResult.SCOPE_OF_ACCESS_VIOLATED for r in pdu.results):
            raise _FallBack("every variable of the list: scope-of-access-violated")
        results: list[DataAccessError | None] = []
        for result in pdu.results:
            if not isinstance(result, DataAccessResult):
                raise UnexpectedApduError("a block-number answered a write of several variables")
            results.append(_set_result_or_error(result))
        return results

    def _unconfirmed_write_transaction(self, short_name: int, value: Any) -> _Transaction:
        request = UnconfirmedWriteRequest((VariableName(short_name),), (Data.of(value),))
        self._send_service(request.encode())
        yield (b"", None)
        return None


def _write_request(*variables: tuple[VariableName, Data]) -> bytes:
    """The WriteRequest APDU of these (variable, value) pairs."""
    return WriteRequest(
        tuple(name for name, _ in variables), tuple(data for _, data in variables)
    ).encode()
