"""COSEM APDUs (IEC 62056-5-3): ACSE and xDLMS PDUs as immutable dataclasses.

Every PDU has ``encode() -> bytes`` and a classmethod ``decode(data)`` that raises only
:class:`asyncdlms.errors.DecodeError` on bad input. :func:`decode_apdu` picks the class from
the first byte (:class:`ApduTag`).

- association (ACSE, BER): :class:`Aarq`, :class:`Aare`, :class:`Rlrq`, :class:`Rlre`, with
  :class:`InitiateRequest`/:class:`InitiateResponse` and the :class:`Conformance` block in
  their user-information;
- logical-name services: GET, SET and ACTION requests and responses in all variants,
  :class:`GeneralBlockTransfer`;
- short-name services: :class:`ReadRequest`, :class:`WriteRequest`, their responses and
  :class:`UnconfirmedWriteRequest`;
- unsolicited: :class:`DataNotification`, :class:`EventNotificationRequest`,
  :class:`InformationReportRequest`;
- errors: :class:`ExceptionResponse`, :class:`ConfirmedServiceError`;
- the ACCESS service: :class:`AccessRequest`, :class:`AccessResponse` and their
  specifications (:mod:`.access`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import DecodeError
from .access import (
    AccessRequest,
    AccessRequestAction,
    AccessRequestGet,
    AccessRequestGetWithSelection,
    AccessRequestSet,
    AccessRequestSetWithSelection,
    AccessResponse,
    AccessResponseAction,
    AccessResponseGet,
    AccessResponseSet,
)
from .acse import (
    Aare,
    Aarq,
    AcseServiceProviderDiagnostic,
    AcseServiceUserDiagnostic,
    ApplicationContextName,
    AssociationResult,
    MechanismName,
    ReleaseRequestReason,
    ReleaseResponseReason,
    Rlre,
    Rlrq,
    decode_association_response,
    rejection_error,
)
from .action import (
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
    decode_action_request,
    decode_action_response,
)
from .block_transfer import BlockReassembler, GeneralBlockTransfer, split_blocks
from .descriptors import (
    CosemAttributeDescriptor,
    CosemAttributeDescriptorWithSelection,
    CosemMethodDescriptor,
    Data,
    SelectiveAccessDescriptor,
    capture_object_definition,
    entry_descriptor,
    range_descriptor,
)
from .enums import (
    ActionResult,
    DataAccessResult,
    InvokeIdAndPriority,
    LongInvokeIdAndPriority,
)
from .get import (
    GetRequestNext,
    GetRequestNormal,
    GetRequestWithList,
    GetResponseNormal,
    GetResponseWithDatablock,
    GetResponseWithList,
    decode_get_request,
    decode_get_response,
)
from .initiate import Conformance, InitiateRequest, InitiateResponse
from .notification import DataNotification, EventNotificationRequest, InformationReportRequest
from .service_error import ConfirmedServiceError, ExceptionResponse
from .set import (
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
    decode_set_request,
    decode_set_response,
)
from .short_name import (
    ReadRequest,
    ReadResponse,
    UnconfirmedWriteRequest,
    WriteRequest,
    WriteResponse,
    attribute_short_name,
    method_short_name,
)
from .tags import ApduTag

__all__ = [
    "Aare",
    "Aarq",
    "AccessRequest",
    "AccessRequestAction",
    "AccessRequestGet",
    "AccessRequestGetWithSelection",
    "AccessRequestSet",
    "AccessRequestSetWithSelection",
    "AccessResponse",
    "AccessResponseAction",
    "AccessResponseGet",
    "AccessResponseSet",
    "AcseServiceProviderDiagnostic",
    "AcseServiceUserDiagnostic",
    "ActionRequestNextPblock",
    "ActionRequestNormal",
    "ActionRequestWithFirstPblock",
    "ActionRequestWithList",
    "ActionRequestWithListAndFirstPblock",
    "ActionRequestWithPblock",
    "ActionResponseNextPblock",
    "ActionResponseNormal",
    "ActionResponseWithList",
    "ActionResponseWithOptionalData",
    "ActionResponseWithPblock",
    "ActionResult",
    "ApduTag",
    "ApplicationContextName",
    "AssociationResult",
    "BlockReassembler",
    "ConfirmedServiceError",
    "Conformance",
    "CosemAttributeDescriptor",
    "CosemAttributeDescriptorWithSelection",
    "CosemMethodDescriptor",
    "Data",
    "DataAccessResult",
    "DataNotification",
    "EventNotificationRequest",
    "ExceptionResponse",
    "GeneralBlockTransfer",
    "GetRequestNext",
    "GetRequestNormal",
    "GetRequestWithList",
    "GetResponseNormal",
    "GetResponseWithDatablock",
    "GetResponseWithList",
    "InformationReportRequest",
    "InitiateRequest",
    "InitiateResponse",
    "InvokeIdAndPriority",
    "LongInvokeIdAndPriority",
    "MechanismName",
    "ReadRequest",
    "ReadResponse",
    "ReleaseRequestReason",
    "ReleaseResponseReason",
    "Rlre",
    "Rlrq",
    "SelectiveAccessDescriptor",
    "SetRequestNormal",
    "SetRequestWithDatablock",
    "SetRequestWithFirstDatablock",
    "SetRequestWithList",
    "SetRequestWithListAndFirstDatablock",
    "SetResponseDatablock",
    "SetResponseLastDatablock",
    "SetResponseLastDatablockWithList",
    "SetResponseNormal",
    "SetResponseWithList",
    "UnconfirmedWriteRequest",
    "WriteRequest",
    "WriteResponse",
    "attribute_short_name",
    "capture_object_definition",
    "decode_apdu",
    "decode_association_response",
    "entry_descriptor",
    "method_short_name",
    "range_descriptor",
    "rejection_error",
    "split_blocks",
]

_DECODERS: dict[int, Callable[[bytes], Any]] = {
    ApduTag.AARQ: Aarq.decode,
    ApduTag.AARE: Aare.decode,
    ApduTag.RLRQ: Rlrq.decode,
    ApduTag.RLRE: Rlre.decode,
    ApduTag.INITIATE_REQUEST: InitiateRequest.decode,
    ApduTag.INITIATE_RESPONSE: InitiateResponse.decode,
    ApduTag.CONFIRMED_SERVICE_ERROR: ConfirmedServiceError.decode,
    ApduTag.EXCEPTION_RESPONSE: ExceptionResponse.decode,
    ApduTag.GET_REQUEST: decode_get_request,
    ApduTag.GET_RESPONSE: decode_get_response,
    ApduTag.SET_REQUEST: decode_set_request,
    ApduTag.SET_RESPONSE: decode_set_response,
    ApduTag.ACTION_REQUEST: decode_action_request,
    ApduTag.ACTION_RESPONSE: decode_action_response,
    ApduTag.DATA_NOTIFICATION: DataNotification.decode,
    ApduTag.EVENT_NOTIFICATION_REQUEST: EventNotificationRequest.decode,
    ApduTag.INFORMATION_REPORT_REQUEST: InformationReportRequest.decode,
    ApduTag.READ_REQUEST: ReadRequest.decode,
    ApduTag.READ_RESPONSE: ReadResponse.decode,
    ApduTag.WRITE_REQUEST: WriteRequest.decode,
    ApduTag.WRITE_RESPONSE: WriteResponse.decode,
    ApduTag.UNCONFIRMED_WRITE_REQUEST: UnconfirmedWriteRequest.decode,
    ApduTag.GENERAL_BLOCK_TRANSFER: GeneralBlockTransfer.decode,
    ApduTag.ACCESS_REQUEST: AccessRequest.decode,
    ApduTag.ACCESS_RESPONSE: AccessResponse.decode,
}


def decode_apdu(data: bytes | bytearray | memoryview) -> Any:
    """Decode one plain (unciphered) APDU, choosing its class from the first byte.

    Ciphered APDUs (glo-, ded-, general-ciphering) need the association's security context
    and are not decoded here: they raise :class:`DecodeError` naming the tag.
    """
    buf = bytes(data)
    if not buf:
        raise DecodeError("empty APDU: expected a tag", 0)
    decoder = _DECODERS.get(buf[0])
    if decoder is None:
        try:
            name = ApduTag(buf[0]).name.lower().replace("_", "-")
        except ValueError:
            raise DecodeError(f"unknown APDU tag 0x{buf[0]:02x}", 0) from None
        raise DecodeError(f"{name} (0x{buf[0]:02x}) cannot be decoded without security", 0)
    return decoder(buf)
