"""The ACCESS service in the server role (Green Book 9.3): each operation of an ACCESS-Request
goes to the same object access GET, SET and ACTION use, in order, and one ACCESS-Response
answers them all.

Processing option: with continue-on-error every operation is carried out and answered; with
break-on-error the server stops at the first that fails and answers the operations carried
out, the failing one last (the two lists of the response are shorter than the request's: an
operation never carried out has no result to report). A self-descriptive request gets its
specifications echoed in the response.
"""

from __future__ import annotations

from ...apdu.access import (
    AccessRequest,
    AccessRequestAction,
    AccessRequestGet,
    AccessRequestGetWithSelection,
    AccessRequestSet,
    AccessRequestSetWithSelection,
    AccessRequestSpecification,
    AccessResponse,
    AccessResponseAction,
    AccessResponseGet,
    AccessResponseSet,
    AccessResponseSpecification,
)
from ...apdu.descriptors import Data
from ...apdu.enums import ActionResult, DataAccessResult
from ...apdu.service_error import ExceptionServiceError, ExceptionStateError
from ._core import _SessionCore

_NULL_DATA = Data.of(None)


class _AccessService(_SessionCore):
    """ACCESS-Request: GET, SET and ACTION operations in one request."""

    def _serve_access(self, request: AccessRequest) -> None:
        specifications = request.access_request_specification
        values = request.access_request_list_of_data
        if len(specifications) != len(values):
            # one Data per operation, or the request means nothing
            self._send_exception(
                ExceptionStateError.SERVICE_NOT_ALLOWED,
                ExceptionServiceError.OPERATION_NOT_POSSIBLE,
            )
            return
        iip = request.long_invoke_id_and_priority
        answers: list[Data] = []
        results: list[AccessResponseSpecification] = []
        for specification, value in zip(specifications, values, strict=True):
            answer, result = self._access_one(specification, value)
            answers.append(answer)
            results.append(result)
            if iip.break_on_error and result.result != 0:
                break
        response = AccessResponse(
            tuple(answers),
            tuple(results),
            iip,
            b"",
            specifications if iip.self_descriptive else None,
        ).encode()
        if not self._fits(len(response)):
            # ACCESS has no service-specific blocks: a longer answer needs general block
            # transfer, which the client did not negotiate
            self._send_exception(
                ExceptionStateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.PDU_TOO_LONG
            )
            return
        self._send(response)

    def _access_one(
        self, specification: AccessRequestSpecification, value: Data
    ) -> tuple[Data, AccessResponseSpecification]:
        """Carry out one operation: the Data and the result to answer."""
        if isinstance(specification, (AccessRequestGet, AccessRequestGetWithSelection)):
            selection = (
                specification.access_selection
                if isinstance(specification, AccessRequestGetWithSelection)
                else None
            )
            read = self._get_value(specification.cosem_attribute_descriptor, selection)
            if isinstance(read, DataAccessResult):
                return _NULL_DATA, AccessResponseGet(read)
            return read, AccessResponseGet(DataAccessResult.SUCCESS)
        if isinstance(specification, (AccessRequestSet, AccessRequestSetWithSelection)):
            selection = (
                specification.access_selection
                if isinstance(specification, AccessRequestSetWithSelection)
                else None
            )
            written = self._set_value(
                specification.cosem_attribute_descriptor, selection, value.value
            )
            return _NULL_DATA, AccessResponseSet(written)
        assert isinstance(specification, AccessRequestAction)
        response = self._invoke(specification.cosem_method_descriptor, value)
        returned = response.return_parameters
        answer = returned if isinstance(returned, Data) else _NULL_DATA
        return answer, AccessResponseAction(ActionResult(response.result))
