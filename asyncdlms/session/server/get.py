"""GET in the server role: normal, with-list and next (answers with datablocks)."""

from __future__ import annotations

from ... import axdr
from ...apdu.enums import DataAccessResult, GetResponseType
from ...apdu.get import (
    GetRequestNext,
    GetRequestNormal,
    GetRequestWithList,
    GetResponseNormal,
    GetResponseWithDatablock,
    GetResponseWithList,
    write_get_data_result,
)
from ...apdu.initiate import Conformance
from ...apdu.tags import ApduTag
from ._core import _SessionCore

_NORMAL_HEADER = tuple(
    bytes((ApduTag.GET_RESPONSE, GetResponseType.NORMAL, iip, 0)) for iip in range(256)
)
"""The four bytes before the value of a successful get-response-normal, by
invoke-id-and-priority byte."""


class _GetService(_SessionCore):
    """GET-Request-Normal, -With-List and -Next."""

    def _serve_get(self, request: GetRequestNormal | GetRequestWithList | GetRequestNext) -> None:
        iip = request.invoke_id_and_priority
        if isinstance(request, GetRequestNext):
            self._get_next(request)
            return
        if isinstance(request, GetRequestNormal):
            result = self._get_value(request.cosem_attribute_descriptor, request.access_selection)
            # GetResponseNormal(result, iip).encode(), without building the PDU
            if isinstance(result, DataAccessResult):
                answer = bytes(
                    (ApduTag.GET_RESPONSE, GetResponseType.NORMAL, iip.to_byte(), 1, result)
                )
            else:
                answer = _NORMAL_HEADER[iip.to_byte()] + result.raw
            if self._fits(len(answer)) or isinstance(result, DataAccessResult):
                self._send(answer)
                return
            raw = result.raw
        else:
            if len(request.attribute_descriptor_list) > 1 and not self._service_allowed(
                Conformance.MULTIPLE_REFERENCES
            ):
                return
            results = tuple(
                self._get_value(item.cosem_attribute_descriptor, item.access_selection)
                for item in request.attribute_descriptor_list
            )
            answer = GetResponseWithList(results, iip).encode()
            if self._fits(len(answer)):
                self._send(answer)
                return
            body = bytearray(axdr.encode_length(len(results)))
            for item in results:
                write_get_data_result(body, item)
            raw = bytes(body)
        if not self._negotiated(Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ):
            self._send(GetResponseNormal(DataAccessResult.OTHER_REASON, iip).encode())
            return
        self._outgoing = self._outgoing_blocks("get", iip, raw, header=9)
        self._send_get_block()

    def _send_get_block(self) -> None:
        last, number, data, iip = self._next_block()
        self._send(GetResponseWithDatablock(last, number, data, iip).encode())

    def _get_next(self, request: GetRequestNext) -> None:
        transfer = self._outgoing
        iip = request.invoke_id_and_priority
        if transfer is None or transfer.kind != "get":
            self._outgoing = None
            self._send(
                GetResponseWithDatablock(
                    True, request.block_number, DataAccessResult.NO_LONG_GET_IN_PROGRESS, iip
                ).encode()
            )
            return
        if request.block_number != transfer.sent:
            self._outgoing = None
            self._send(
                GetResponseWithDatablock(
                    True, request.block_number, DataAccessResult.DATA_BLOCK_NUMBER_INVALID, iip
                ).encode()
            )
            return
        self._send_get_block()
