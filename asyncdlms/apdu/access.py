"""ACCESS-Request and ACCESS-Response PDUs (tags 0xD9 and 0xDA), the ACCESS service of
DLMS UA 1000-2 (Green Book) 9.3: several GET, SET and ACTION operations in one exchange.

The ASN.1 (Green Book, xDLMS APDUs), encoded in A-XDR::

    Access-Request ::= SEQUENCE {
        long-invoke-id-and-priority   Long-Invoke-Id-And-Priority,
        date-time                     OCTET STRING,
        access-request-body           Access-Request-Body }
    Access-Request-Body ::= SEQUENCE {
        access-request-specification  SEQUENCE OF Access-Request-Specification,
        access-request-list-of-data   SEQUENCE OF Data }
    Access-Request-Specification ::= CHOICE {
        access-request-get                 [1] Cosem-Attribute-Descriptor,
        access-request-set                 [2] Cosem-Attribute-Descriptor,
        access-request-action              [3] Cosem-Method-Descriptor,
        access-request-get-with-selection  [4] Cosem-Attribute-Descriptor,
                                               Selective-Access-Descriptor,
        access-request-set-with-selection  [5] Cosem-Attribute-Descriptor,
                                               Selective-Access-Descriptor }

    Access-Response ::= SEQUENCE {
        long-invoke-id-and-priority   Long-Invoke-Id-And-Priority,
        date-time                     OCTET STRING,
        access-response-body          Access-Response-Body }
    Access-Response-Body ::= SEQUENCE {
        access-request-specification  [0] SEQUENCE OF Access-Request-Specification OPTIONAL,
        access-response-list-of-data  SEQUENCE OF Data,
        access-response-specification SEQUENCE OF Access-Response-Specification }
    Access-Response-Specification ::= CHOICE {
        access-response-get     [1] Data-Access-Result,
        access-response-set     [2] Data-Access-Result,
        access-response-action  [3] Action-Result }

The request carries one Data per specification: null-data for a GET, the value of a SET, the
method invocation parameters of an ACTION (null-data when it has none). The response carries
one Data per answered specification (the value read, the return parameters, null-data
otherwise) and one result each. ``date-time`` is empty or a 12-byte COSEM date-time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from .. import axdr
from ..errors import DecodeError, EncodeError
from ..types.clock import DateTime
from .descriptors import (
    CosemAttributeDescriptor,
    CosemMethodDescriptor,
    Data,
    Reader,
    SelectiveAccessDescriptor,
    as_data_tuple,
    read_data_list,
    write_data_list,
)
from .enums import (
    AccessRequestType,
    AccessResponseType,
    ActionResult,
    DataAccessResult,
    LongInvokeIdAndPriority,
)
from .tags import ApduTag

if TYPE_CHECKING:
    from typing import Self

__all__ = [
    "AccessRequest",
    "AccessRequestAction",
    "AccessRequestGet",
    "AccessRequestGetWithSelection",
    "AccessRequestSet",
    "AccessRequestSetWithSelection",
    "AccessRequestSpecification",
    "AccessRequestType",
    "AccessResponse",
    "AccessResponseAction",
    "AccessResponseGet",
    "AccessResponseSet",
    "AccessResponseSpecification",
    "AccessResponseType",
]


# ---------------------------------------------------------------------------------------------
# Access-Request-Specification


@dataclass(frozen=True, slots=True)
class AccessRequestGet:
    """access-request-get: read one attribute."""

    cosem_attribute_descriptor: CosemAttributeDescriptor

    choice: ClassVar[AccessRequestType] = AccessRequestType.ACCESS_REQUEST_GET

    def encode_into(self, out: bytearray) -> None:
        """Append the CHOICE tag and the descriptor."""
        out.append(self.choice)
        self.cosem_attribute_descriptor.encode_into(out)


@dataclass(frozen=True, slots=True)
class AccessRequestSet:
    """access-request-set: write one attribute (its value is in the list of data)."""

    cosem_attribute_descriptor: CosemAttributeDescriptor

    choice: ClassVar[AccessRequestType] = AccessRequestType.ACCESS_REQUEST_SET

    def encode_into(self, out: bytearray) -> None:
        """Append the CHOICE tag and the descriptor."""
        out.append(self.choice)
        self.cosem_attribute_descriptor.encode_into(out)


@dataclass(frozen=True, slots=True)
class AccessRequestAction:
    """access-request-action: invoke one method (its parameters are in the list of data)."""

    cosem_method_descriptor: CosemMethodDescriptor

    choice: ClassVar[AccessRequestType] = AccessRequestType.ACCESS_REQUEST_ACTION

    def encode_into(self, out: bytearray) -> None:
        """Append the CHOICE tag and the descriptor."""
        out.append(self.choice)
        self.cosem_method_descriptor.encode_into(out)


@dataclass(frozen=True, slots=True)
class AccessRequestGetWithSelection:
    """access-request-get-with-selection: read one attribute with selective access."""

    cosem_attribute_descriptor: CosemAttributeDescriptor
    access_selection: SelectiveAccessDescriptor

    choice: ClassVar[AccessRequestType] = AccessRequestType.ACCESS_REQUEST_GET_WITH_SELECTION

    def encode_into(self, out: bytearray) -> None:
        """Append the CHOICE tag, the descriptor and the selection (not OPTIONAL here)."""
        out.append(self.choice)
        self.cosem_attribute_descriptor.encode_into(out)
        self.access_selection.encode_into(out)


@dataclass(frozen=True, slots=True)
class AccessRequestSetWithSelection:
    """access-request-set-with-selection: write part of one attribute (selective access)."""

    cosem_attribute_descriptor: CosemAttributeDescriptor
    access_selection: SelectiveAccessDescriptor

    choice: ClassVar[AccessRequestType] = AccessRequestType.ACCESS_REQUEST_SET_WITH_SELECTION

    def encode_into(self, out: bytearray) -> None:
        """Append the CHOICE tag, the descriptor and the selection (not OPTIONAL here)."""
        out.append(self.choice)
        self.cosem_attribute_descriptor.encode_into(out)
        self.access_selection.encode_into(out)


AccessRequestSpecification = (
    AccessRequestGet
    | AccessRequestSet
    | AccessRequestAction
    | AccessRequestGetWithSelection
    | AccessRequestSetWithSelection
)

_SPECIFICATION_SIZE = 10
"""The fewest bytes of one Access-Request-Specification (tag, class-id, OBIS, id)."""


def _read_request_specification(reader: Reader) -> AccessRequestSpecification:
    pos = reader.pos
    choice = AccessRequestType.decode_value(reader.u8("access-request-specification"), pos)
    if choice is AccessRequestType.ACCESS_REQUEST_ACTION:
        return AccessRequestAction(CosemMethodDescriptor.read(reader))
    descriptor = CosemAttributeDescriptor.read(reader)
    if choice is AccessRequestType.ACCESS_REQUEST_GET:
        return AccessRequestGet(descriptor)
    if choice is AccessRequestType.ACCESS_REQUEST_SET:
        return AccessRequestSet(descriptor)
    selection = SelectiveAccessDescriptor.read(reader)
    if choice is AccessRequestType.ACCESS_REQUEST_GET_WITH_SELECTION:
        return AccessRequestGetWithSelection(descriptor, selection)
    return AccessRequestSetWithSelection(descriptor, selection)


def _write_request_specifications(
    out: bytearray, specifications: Sequence[AccessRequestSpecification]
) -> None:
    out += axdr.encode_length(len(specifications))
    for specification in specifications:
        specification.encode_into(out)


def _read_request_specifications(reader: Reader) -> tuple[AccessRequestSpecification, ...]:
    count = reader.count("access-request-specification", _SPECIFICATION_SIZE)
    return tuple(_read_request_specification(reader) for _ in range(count))


# ---------------------------------------------------------------------------------------------
# Access-Response-Specification


@dataclass(frozen=True, slots=True)
class AccessResponseGet:
    """access-response-get: the Data-Access-Result of one GET."""

    result: DataAccessResult

    choice: ClassVar[AccessResponseType] = AccessResponseType.ACCESS_RESPONSE_GET

    def encode_into(self, out: bytearray) -> None:
        """Append the CHOICE tag and the result."""
        out.append(self.choice)
        out.append(self.result)


@dataclass(frozen=True, slots=True)
class AccessResponseSet:
    """access-response-set: the Data-Access-Result of one SET."""

    result: DataAccessResult

    choice: ClassVar[AccessResponseType] = AccessResponseType.ACCESS_RESPONSE_SET

    def encode_into(self, out: bytearray) -> None:
        """Append the CHOICE tag and the result."""
        out.append(self.choice)
        out.append(self.result)


@dataclass(frozen=True, slots=True)
class AccessResponseAction:
    """access-response-action: the Action-Result of one ACTION."""

    result: ActionResult

    choice: ClassVar[AccessResponseType] = AccessResponseType.ACCESS_RESPONSE_ACTION

    def encode_into(self, out: bytearray) -> None:
        """Append the CHOICE tag and the result."""
        out.append(self.choice)
        out.append(self.result)


AccessResponseSpecification = AccessResponseGet | AccessResponseSet | AccessResponseAction


def _read_response_specification(reader: Reader) -> AccessResponseSpecification:
    pos = reader.pos
    choice = AccessResponseType.decode_value(reader.u8("access-response-specification"), pos)
    pos = reader.pos
    code = reader.u8("the result of an access-response-specification")
    if choice is AccessResponseType.ACCESS_RESPONSE_ACTION:
        return AccessResponseAction(ActionResult.decode_value(code, pos))
    result = DataAccessResult.decode_value(code, pos)
    if choice is AccessResponseType.ACCESS_RESPONSE_GET:
        return AccessResponseGet(result)
    return AccessResponseSet(result)


# ---------------------------------------------------------------------------------------------
# The PDUs


def _check_date_time(value: bytes) -> bytes:
    value = bytes(value)
    if len(value) not in (0, 12):
        raise EncodeError(
            f"the date-time of an ACCESS PDU is empty or 12 bytes, not {len(value)} bytes"
        )
    return value


def _read_date_time(reader: Reader) -> bytes:
    # Lenient: a meter may send a 4-byte time or 5-byte date here; any length that fits is
    # kept as it came (:meth:`to_date_time` only converts 12 bytes).
    return reader.octet_string("date-time")


def _write_date_time(out: bytearray, value: bytes) -> None:
    out += axdr.encode_length(len(value))
    out += value


def _date_time(value: bytes) -> DateTime | None:
    return DateTime.from_bytes(value) if len(value) == 12 else None


def _header(reader: Reader, tag: ApduTag) -> tuple[LongInvokeIdAndPriority, bytes]:
    reader.header(tag)
    iip = LongInvokeIdAndPriority.from_int(reader.u32("long-invoke-id-and-priority"))
    return iip, _read_date_time(reader)


@dataclass(frozen=True, slots=True)
class AccessRequest:
    """ACCESS-Request (0xD9): a list of GET/SET/ACTION operations and one Data for each.

    ``long_invoke_id_and_priority`` carries the processing option (``break_on_error``) and
    ``self_descriptive`` (the server echoes the specifications in its answer).
    ``date_time`` is empty or 12 bytes (a COSEM date-time: when the request was made).
    """

    access_request_specification: tuple[AccessRequestSpecification, ...]
    access_request_list_of_data: tuple[Data, ...]
    long_invoke_id_and_priority: LongInvokeIdAndPriority = field(
        default_factory=LongInvokeIdAndPriority
    )
    date_time: bytes = b""

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "access_request_specification", tuple(self.access_request_specification)
        )
        object.__setattr__(
            self, "access_request_list_of_data", as_data_tuple(self.access_request_list_of_data)
        )
        object.__setattr__(self, "date_time", bytes(self.date_time))

    def to_date_time(self) -> DateTime | None:
        """The date-time as a :class:`DateTime` when 12 bytes were sent, else ``None``."""
        return _date_time(self.date_time)

    def encode(self) -> bytes:
        """The APDU bytes (0xD9 ...)."""
        out = bytearray((ApduTag.ACCESS_REQUEST,))
        out += self.long_invoke_id_and_priority.encode()
        _write_date_time(out, _check_date_time(self.date_time))
        _write_request_specifications(out, self.access_request_specification)
        write_data_list(out, self.access_request_list_of_data)
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode one ACCESS-Request APDU; only :class:`DecodeError` escapes."""
        reader = Reader(data)
        iip, date_time = _header(reader, ApduTag.ACCESS_REQUEST)
        specifications = _read_request_specifications(reader)
        values = read_data_list(reader, "access-request-list-of-data")
        reader.finish("access-request")
        return cls(specifications, values, iip, date_time)


@dataclass(frozen=True, slots=True)
class AccessResponse:
    """ACCESS-Response (0xDA): one Data and one result per operation answered, in order.

    ``access_request_specification`` is the request's list echoed by the server (``None``:
    absent; a server sends it when the request was self-descriptive).
    """

    access_response_list_of_data: tuple[Data, ...]
    access_response_specification: tuple[AccessResponseSpecification, ...]
    long_invoke_id_and_priority: LongInvokeIdAndPriority = field(
        default_factory=LongInvokeIdAndPriority
    )
    date_time: bytes = b""
    access_request_specification: tuple[AccessRequestSpecification, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "access_response_list_of_data", as_data_tuple(self.access_response_list_of_data)
        )
        object.__setattr__(
            self, "access_response_specification", tuple(self.access_response_specification)
        )
        if self.access_request_specification is not None:
            object.__setattr__(
                self, "access_request_specification", tuple(self.access_request_specification)
            )
        object.__setattr__(self, "date_time", bytes(self.date_time))

    def to_date_time(self) -> DateTime | None:
        """The date-time as a :class:`DateTime` when 12 bytes were sent, else ``None``."""
        return _date_time(self.date_time)

    def encode(self) -> bytes:
        """The APDU bytes (0xDA ...)."""
        out = bytearray((ApduTag.ACCESS_RESPONSE,))
        out += self.long_invoke_id_and_priority.encode()
        _write_date_time(out, _check_date_time(self.date_time))
        if self.access_request_specification is None:
            out.append(0)
        else:
            out.append(1)
            _write_request_specifications(out, self.access_request_specification)
        write_data_list(out, self.access_response_list_of_data)
        out += axdr.encode_length(len(self.access_response_specification))
        for specification in self.access_response_specification:
            specification.encode_into(out)
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode one ACCESS-Response APDU; only :class:`DecodeError` escapes."""
        reader = Reader(data)
        iip, date_time = _header(reader, ApduTag.ACCESS_RESPONSE)
        echoed = None
        if reader.optional("access-request-specification"):
            echoed = _read_request_specifications(reader)
        values = read_data_list(reader, "access-response-list-of-data")
        count = reader.count("access-response-specification", 2)
        results = tuple(_read_response_specification(reader) for _ in range(count))
        reader.finish("access-response")
        return cls(values, results, iip, date_time, echoed)


def decode_access_apdu(data: bytes) -> AccessRequest | AccessResponse:
    """Decode an ACCESS-Request or ACCESS-Response by its tag."""
    if data[:1] == bytes((ApduTag.ACCESS_REQUEST,)):
        return AccessRequest.decode(data)
    if data[:1] == bytes((ApduTag.ACCESS_RESPONSE,)):
        return AccessResponse.decode(data)
    raise DecodeError("expected an access-request (0xD9) or access-response (0xDA)", 0)
