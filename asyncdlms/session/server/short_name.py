"""Short-name services in the server role: Read (with block transfer), Write and
UnconfirmedWrite, mapped to attributes and methods through the object access."""

from __future__ import annotations

from typing import Any

from ...apdu.descriptors import (
    Data,
    SelectiveAccessDescriptor,
)
from ...apdu.enums import ActionResult, DataAccessResult
from ...apdu.initiate import Conformance
from ...apdu.short_name import (
    BlockNumberAccess,
    DataBlockResult,
    ParameterizedAccess,
    ReadRequest,
    ReadResponse,
    ReadResult,
    VariableName,
    WriteRequest,
    WriteResult,
)
from ...errors import DlmsError
from ..object_access import ShortNameKind
from ._core import _DEFAULT_IIP, _action_to_access_result, _SessionCore


class _ShortNameService(_SessionCore):
    """Read, Write and UnconfirmedWrite (short-name referencing)."""

    def _read_one(self, spec: Any) -> ReadResult:
        if isinstance(spec, VariableName):
            name, selection, parameters = spec.variable_name, None, None
        elif isinstance(spec, ParameterizedAccess):
            name = spec.variable_name
            selection = SelectiveAccessDescriptor(spec.selector, spec.parameter)
            parameters = spec.parameter
        else:
            return DataAccessResult.OBJECT_UNAVAILABLE
        try:
            target = self.object_access.resolve_short_name(self.context, name)
        except Exception:  # the object access must not take the session down
            return DataAccessResult.OTHER_REASON
        if target is None:
            return DataAccessResult.OBJECT_UNDEFINED
        if target.kind is ShortNameKind.ATTRIBUTE:
            if isinstance(spec, ParameterizedAccess) and not self._negotiated(
                Conformance.PARAMETERIZED_ACCESS
            ):
                return DataAccessResult.SCOPE_OF_ACCESS_VIOLATED
            try:
                value = self.object_access.get(
                    self.context, target.attribute_descriptor(), selection
                )
            except Exception:  # the object access must not take the session down
                return DataAccessResult.OTHER_REASON
            if isinstance(value, DataAccessResult):
                return value
            try:
                return Data.of(value)
            except DlmsError:
                return DataAccessResult.OTHER_REASON
        response = self._invoke(target.method_descriptor(), parameters)
        if response.result != ActionResult.SUCCESS:
            return _action_to_access_result(response.result)
        returned = response.return_parameters
        if returned is None:
            return Data.of(None)
        return returned

    def _serve_read(self, request: ReadRequest) -> None:
        specs = request.variable_access_specification
        if _is_block_request(request):
            assert isinstance(specs[0], BlockNumberAccess)
            transfer = self._outgoing
            # the number of the last block received (as in GET) or of the next one wanted
            # (as gurux-dlms sends it): both name the same next block
            if (
                transfer is None
                or transfer.kind != "read"
                or specs[0].block_number not in (transfer.sent, transfer.sent + 1)
            ):
                self._outgoing = None
                self._send(ReadResponse((DataAccessResult.NO_LONG_GET_IN_PROGRESS,)).encode())
                return
            self._send_read_block()
            return
        if len(specs) > 1 and not self._service_allowed(Conformance.MULTIPLE_REFERENCES):
            return
        results = tuple(self._read_one(spec) for spec in specs)
        answer = ReadResponse(results).encode()
        if self._fits(len(answer)):
            self._send(answer)
            return
        if not self._negotiated(Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ):
            self._send(ReadResponse(tuple(DataAccessResult.OTHER_REASON for _ in results)).encode())
            return
        outgoing = self._outgoing_blocks("read", _DEFAULT_IIP, answer[1:], header=7)
        if len(outgoing.blocks) > 0xFFFF:  # SN block numbers are Unsigned16
            self._send(ReadResponse(tuple(DataAccessResult.OTHER_REASON for _ in results)).encode())
            return
        self._outgoing = outgoing
        self._send_read_block()

    def _send_read_block(self) -> None:
        last, number, data, _ = self._next_block()
        self._send(ReadResponse((DataBlockResult(last, number, data),)).encode())

    def _write_one(self, spec: Any, value: Data) -> WriteResult:
        if not isinstance(spec, VariableName):
            return DataAccessResult.OBJECT_UNAVAILABLE
        try:
            target = self.object_access.resolve_short_name(self.context, spec.variable_name)
        except Exception:  # the object access must not take the session down
            return DataAccessResult.OTHER_REASON
        if target is None:
            return DataAccessResult.OBJECT_UNDEFINED
        if target.kind is ShortNameKind.ATTRIBUTE:
            return self._set_value(target.attribute_descriptor(), None, value.value)
        response = self._invoke(target.method_descriptor(), value)
        return _action_to_access_result(response.result)

    def _write_results(self, request: WriteRequest) -> tuple[WriteResult, ...]:
        specs = request.variable_access_specification
        if len(specs) != len(request.list_of_data):
            return tuple(DataAccessResult.TYPE_UNMATCHED for _ in specs)
        return tuple(
            self._write_one(spec, value)
            for spec, value in zip(specs, request.list_of_data, strict=True)
        )


def _is_block_request(request: ReadRequest) -> bool:
    specs = request.variable_access_specification
    return len(specs) == 1 and isinstance(specs[0], BlockNumberAccess)
