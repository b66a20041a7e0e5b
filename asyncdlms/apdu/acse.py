"""ACSE PDUs of the DLMS/COSEM association (IEC 62056-5-3, ISO/IEC 8650 subset): AARQ, AARE,
RLRQ and RLRE, BER-encoded.

The xDLMS APDU carried in user-information (InitiateRequest, InitiateResponse, a ciphered
glo-initiate, a confirmed-service-error) is kept here as raw bytes: which one it is, and
whether it has to be deciphered first, is the session's business.

Real meters bend the rules (QUIRKS.md 8): a rejecting AARE may lack user-information, carry
garbage there, be followed by stray bytes, or name an odd protocol version. :meth:`Aare.decode`
therefore succeeds for a rejecting AARE as soon as it has the result (and, when present, the
diagnostic), and unknown extra fields are skipped in every PDU. :func:`rejection_error` turns
a rejecting AARE into an :class:`asyncdlms.errors.AssociationRejectedError` whose message says
what to change, and :func:`decode_association_response` also turns an exception-response or a
confirmed-service-error sent in place of an AARE into one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Self, TypeVar

from ..errors import (
    AssociationRejectedError,
    AuthenticationRejectedError,
    DecodeError,
    EncodeError,
)
from . import ber
from .service_error import (
    ConfirmedServiceError,
    ExceptionResponse,
    ServiceErrorInitiate,
    standard_name,
)
from .tags import ApduTag

__all__ = [
    "Aare",
    "Aarq",
    "AcseServiceProviderDiagnostic",
    "AcseServiceUserDiagnostic",
    "ApplicationContextName",
    "AssociationResult",
    "MechanismName",
    "ReleaseRequestReason",
    "ReleaseResponseReason",
    "ResultSourceDiagnostic",
    "Rlre",
    "Rlrq",
    "decode_association_response",
    "rejection_error",
]

_DLMS_UA_OID = (2, 16, 756, 5, 8)
_E = TypeVar("_E", bound=IntEnum)
_PROTOCOL_VERSION_1 = (True,)


class ApplicationContextName(IntEnum):
    """COSEM application context names, OID 2.16.756.5.8.1.x (joint-iso-ccitt country 756
    identified-organization DLMS-UA application-context)."""

    LOGICAL_NAME = 1
    SHORT_NAME = 2
    LOGICAL_NAME_WITH_CIPHERING = 3
    SHORT_NAME_WITH_CIPHERING = 4

    @property
    def object_identifier(self) -> tuple[int, ...]:
        """The OID arcs, e.g. ``(2, 16, 756, 5, 8, 1, 1)``."""
        return (*_DLMS_UA_OID, 1, int(self))

    @property
    def ciphered(self) -> bool:
        """True for the contexts with ciphering."""
        return self in (
            ApplicationContextName.LOGICAL_NAME_WITH_CIPHERING,
            ApplicationContextName.SHORT_NAME_WITH_CIPHERING,
        )

    @property
    def logical_name_referencing(self) -> bool:
        """True for the logical-name contexts, False for the short-name ones."""
        return self in (
            ApplicationContextName.LOGICAL_NAME,
            ApplicationContextName.LOGICAL_NAME_WITH_CIPHERING,
        )


class MechanismName(IntEnum):
    """COSEM authentication mechanism names, OID 2.16.756.5.8.2.x."""

    LOWEST = 0
    """COSEM lowest level security: no authentication."""
    LOW = 1
    """Low level security (LLS): a password in calling-authentication-value."""
    HIGH = 2
    """High level security, manufacturer-specific."""
    HIGH_MD5 = 3
    HIGH_SHA1 = 4
    HIGH_GMAC = 5
    HIGH_SHA256 = 6
    HIGH_ECDSA = 7

    @property
    def object_identifier(self) -> tuple[int, ...]:
        """The OID arcs, e.g. ``(2, 16, 756, 5, 8, 2, 5)``."""
        return (*_DLMS_UA_OID, 2, int(self))

    @property
    def high_level(self) -> bool:
        """True for the HLS mechanisms (2 and above: four-pass authentication)."""
        return self >= MechanismName.HIGH


class AssociationResult(IntEnum):
    """AARE result (Association-result)."""

    ACCEPTED = 0
    REJECTED_PERMANENT = 1
    REJECTED_TRANSIENT = 2


class AcseServiceUserDiagnostic(IntEnum):
    """AARE result-source-diagnostic, acse-service-user [1] alternative."""

    NULL = 0
    NO_REASON_GIVEN = 1
    APPLICATION_CONTEXT_NAME_NOT_SUPPORTED = 2
    CALLING_AP_TITLE_NOT_RECOGNIZED = 3
    CALLING_AP_INVOCATION_IDENTIFIER_NOT_RECOGNIZED = 4
    CALLING_AE_QUALIFIER_NOT_RECOGNIZED = 5
    CALLING_AE_INVOCATION_IDENTIFIER_NOT_RECOGNIZED = 6
    CALLED_AP_TITLE_NOT_RECOGNIZED = 7
    CALLED_AP_INVOCATION_IDENTIFIER_NOT_RECOGNIZED = 8
    CALLED_AE_QUALIFIER_NOT_RECOGNIZED = 9
    CALLED_AE_INVOCATION_IDENTIFIER_NOT_RECOGNIZED = 10
    AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED = 11
    AUTHENTICATION_MECHANISM_NAME_REQUIRED = 12
    AUTHENTICATION_FAILURE = 13
    AUTHENTICATION_REQUIRED = 14


class AcseServiceProviderDiagnostic(IntEnum):
    """AARE result-source-diagnostic, acse-service-provider [2] alternative."""

    NULL = 0
    NO_REASON_GIVEN = 1
    NO_COMMON_ACSE_VERSION = 2


ResultSourceDiagnostic = AcseServiceUserDiagnostic | AcseServiceProviderDiagnostic
"""The diagnostic of an AARE; its class tells which source gave it."""


class ReleaseRequestReason(IntEnum):
    """RLRQ reason (Release-request-reason)."""

    NORMAL = 0
    URGENT = 1
    USER_DEFINED = 30


class ReleaseResponseReason(IntEnum):
    """RLRE reason (Release-response-reason)."""

    NORMAL = 0
    NOT_FINISHED = 1
    USER_DEFINED = 30


# ---------------------------------------------------------------------------------------------
# Field codecs shared by the PDUs


def _octet_string_field(tag: int, value: bytes) -> bytes:
    """``tag { OCTET STRING value }``: AP titles and AE qualifiers as DLMS sends them."""
    return ber.encode_element(tag, ber.encode_element(ber.TAG_OCTET_STRING, value))


def _integer_field(tag: int, value: int) -> bytes:
    """``tag { INTEGER value }``: explicitly tagged integers (result, invocation ids)."""
    return ber.encode_element(tag, ber.encode_element(ber.TAG_INTEGER, ber.encode_integer(value)))


def _inner(data: bytes, element: ber.Element, expected_tag: int, what: str) -> ber.Element:
    inner = ber.read_element(data, element.value_start, element.value_end)
    if inner.tag != expected_tag:
        raise DecodeError(
            f"{what}: expected tag 0x{expected_tag:02x}, got 0x{inner.tag:02x}", inner.start
        )
    if inner.value_end != element.value_end:
        raise DecodeError(f"{what}: bytes after the value", inner.value_end)
    return inner


def _decode_octet_string_field(data: bytes, element: ber.Element, what: str) -> bytes:
    return _inner(data, element, ber.TAG_OCTET_STRING, what).value(data)


def _decode_integer_field(data: bytes, element: ber.Element, what: str) -> int:
    return ber.decode_integer(data, _inner(data, element, ber.TAG_INTEGER, what))


def _decode_enum(enum: type[_E], value: int, element: ber.Element, what: str) -> _E:
    try:
        return enum(value)
    except ValueError:
        raise DecodeError(f"unknown {what} {value}", element.start) from None


def _dlms_oid_value(data: bytes, element: ber.Element, arc: int, what: str) -> int:
    arcs = ber.decode_object_identifier(data, element)
    if len(arcs) != 7 or arcs[:6] != (*_DLMS_UA_OID, arc):
        dotted = ".".join(map(str, arcs))
        raise DecodeError(
            f"{what} {dotted} is not a DLMS UA {what} (2.16.756.5.8.{arc}.x)", element.start
        )
    return arcs[6]


def _decode_context_name(data: bytes, element: ber.Element) -> ApplicationContextName:
    inner = _inner(data, element, ber.TAG_OBJECT_IDENTIFIER, "application-context-name")
    value = _dlms_oid_value(data, inner, 1, "application-context-name")
    return _decode_enum(ApplicationContextName, value, element, "application-context-name")


def _decode_mechanism(data: bytes, element: ber.Element) -> MechanismName:
    value = _dlms_oid_value(data, element, 2, "mechanism-name")
    return _decode_enum(MechanismName, value, element, "mechanism-name")


def _decode_authentication_value(data: bytes, element: ber.Element) -> bytes:
    """Authentication-value CHOICE: charstring [0] GraphicString is what DLMS uses; the
    contents of any other alternative are kept as they are."""
    inner = ber.read_element(data, element.value_start, element.value_end)
    if inner.value_end != element.value_end:
        raise DecodeError("authentication-value: bytes after the value", inner.value_end)
    return inner.value(data)


def _encode_authentication_value(tag: int, value: bytes) -> bytes:
    return ber.encode_element(tag, ber.encode_element(0x80, value))


def _encode_requirements(tag: int) -> bytes:
    """ACSE-requirements with the authentication functional unit (bit 0): ``07 80``."""
    return ber.encode_element(tag, ber.encode_bit_string((True,)))


def _decode_requirements(data: bytes, element: ber.Element) -> bool:
    bits = ber.decode_bit_string(data, element)
    return bool(bits) and bits[0]


def _encode_user_information(value: bytes) -> bytes:
    return ber.encode_element(0xBE, ber.encode_element(ber.TAG_OCTET_STRING, value))


def _decode_user_information(data: bytes, element: ber.Element) -> bytes:
    """user-information: ``BE len 04 len <xDLMS APDU>`` (association-information)."""
    return _decode_octet_string_field(data, element, "user-information")


def _outer(data: bytes, tag: ApduTag) -> tuple[int, int, DecodeError | None]:
    """Check the PDU tag and length; return the contents bounds, clipped to the input, and
    the error to raise once the fields are read (truncated PDU or bytes after it)."""
    name = tag.name
    if not data:
        raise DecodeError(f"empty input: expected {name} (0x{tag:02x})", 0)
    if data[0] != tag:
        raise DecodeError(f"expected {name} (0x{int(tag):02x}), got 0x{data[0]:02x}", 0)
    length, start = ber.decode_length(data, 1)
    end = start + length
    later: DecodeError | None = None
    if end > len(data):
        later = DecodeError(
            f"truncated {name}: declares {length} bytes, {len(data) - start} present", start
        )
        end = len(data)
    elif end < len(data):
        later = DecodeError(f"{len(data) - end} bytes after the {name}", end)
    return start, end, later


_FieldReader = Callable[[bytes, ber.Element, dict[str, Any]], None]


def _read_fields(
    data: bytes, start: int, end: int, readers: dict[int, _FieldReader], fields: dict[str, Any]
) -> None:
    """Read the elements between ``start`` and ``end`` into ``fields``; unknown tags are
    skipped (a meter may add fields of a later ACSE edition), a known one repeated is an
    error (a first result must not be overwritten by garbage that looks like one)."""
    seen: set[int] = set()
    pos = start
    while pos < end:
        element = ber.read_element(data, pos, end)
        if element.tag in _LENGTH_SLIP_TAGS:
            element = _container_extent(data, element, end)
        reader = readers.get(element.tag)
        if reader is not None:
            if element.tag in seen:
                raise DecodeError(f"field 0x{element.tag:02x} appears twice", element.start)
            seen.add(element.tag)
            reader(data, element, fields)
        pos = element.value_end


_LENGTH_SLIP_TAGS = frozenset((0xA4, 0xAA, 0xAC))
"""responding-AP-title and responding-authentication-value (AARE), calling-authentication-value
(AARQ): the explicit containers written with the length of their contents' value."""


def _container_extent(data: bytes, element: ber.Element, end: int) -> ber.Element:
    """The true extent of an explicit container whose length was written as the length of
    the value inside it: ``AA 10 80 10 <16 bytes>`` instead of ``AA 12 80 10 <16 bytes>``
    (the AARE of the gurux-dlms 1.0.203 server does this for the StoC challenge; its code
    writes the responding-AP-title ``A4 08 04 ..`` the same way). When the inner element
    (0x80 or 0x04, short length) is exactly two bytes longer than its container and fits in
    the PDU, it is taken as the container's contents: a correct encoding never looks so.
    """
    pos = element.value_start
    if element.value_end - pos < 2 or data[pos] not in (0x80, 0x04) or data[pos + 1] >= 0x80:
        return element
    inner_end = pos + 2 + data[pos + 1]
    if data[pos + 1] == element.value_end - pos and inner_end <= end:
        return ber.Element(element.tag, element.start, pos, inner_end)
    return element
    inner_end = pos + 2 + data[pos + 1]
    if data[pos + 1] == element.value_end - pos and inner_end <= end:
        return ber.Element(element.tag, element.start, pos, inner_end)
    return element


def _setter(name: str, decode: Callable[[bytes, ber.Element], Any]) -> _FieldReader:
    def read(data: bytes, element: ber.Element, fields: dict[str, Any]) -> None:
        fields[name] = decode(data, element)

    return read


def _octets(what: str) -> Callable[[bytes, ber.Element], bytes]:
    return lambda data, element: _decode_octet_string_field(data, element, what)


def _integer(what: str) -> Callable[[bytes, ber.Element], int]:
    return lambda data, element: _decode_integer_field(data, element, what)


def _protocol_version(data: bytes, element: ber.Element) -> tuple[bool, ...]:
    return ber.decode_bit_string(data, element)


def _graphic_string(data: bytes, element: ber.Element) -> bytes:
    return element.value(data)


# ---------------------------------------------------------------------------------------------
# AARQ


@dataclass(frozen=True, slots=True)
class Aarq:
    """A-ASSOCIATE request (AARQ, ``[APPLICATION 0]``, tag 0x60).

    ``sender_acse_requirements`` sets the authentication functional unit (``8A 02 07 80``);
    clients set it whenever ``mechanism_name`` is given, LLS and HLS alike.
    ``calling_authentication_value`` is the LLS password or the HLS client-to-server
    challenge (CtoS). ``user_information`` is the raw xDLMS APDU (an encoded
    InitiateRequest, or a ciphered glo-initiateRequest). ``protocol_version`` (bits of the
    BIT STRING, version1 = ``(True,)``) is usually omitted, meaning version 1.
    """

    application_context_name: ApplicationContextName = ApplicationContextName.LOGICAL_NAME
    user_information: bytes | None = None
    sender_acse_requirements: bool = False
    mechanism_name: MechanismName | None = None
    calling_authentication_value: bytes | None = None
    calling_ap_title: bytes | None = None
    calling_ae_qualifier: bytes | None = None
    calling_ap_invocation_id: int | None = None
    calling_ae_invocation_id: int | None = None
    called_ap_title: bytes | None = None
    called_ae_qualifier: bytes | None = None
    called_ap_invocation_id: int | None = None
    called_ae_invocation_id: int | None = None
    implementation_information: bytes | None = None
    protocol_version: tuple[bool, ...] | None = None

    def encode(self) -> bytes:
        """Encode as BER, fields in the order of their tags."""
        out = bytearray()
        if self.protocol_version is not None:
            out += ber.encode_element(0x80, ber.encode_bit_string(self.protocol_version))
        out += ber.encode_element(
            0xA1,
            ber.encode_element(
                ber.TAG_OBJECT_IDENTIFIER,
                ber.encode_object_identifier(self.application_context_name.object_identifier),
            ),
        )
        for tag, octets in ((0xA2, self.called_ap_title), (0xA3, self.called_ae_qualifier)):
            if octets is not None:
                out += _octet_string_field(tag, octets)
        for tag, number in (
            (0xA4, self.called_ap_invocation_id),
            (0xA5, self.called_ae_invocation_id),
        ):
            if number is not None:
                out += _integer_field(tag, number)
        for tag, octets in ((0xA6, self.calling_ap_title), (0xA7, self.calling_ae_qualifier)):
            if octets is not None:
                out += _octet_string_field(tag, octets)
        for tag, number in (
            (0xA8, self.calling_ap_invocation_id),
            (0xA9, self.calling_ae_invocation_id),
        ):
            if number is not None:
                out += _integer_field(tag, number)
        if self.sender_acse_requirements:
            out += _encode_requirements(0x8A)
        if self.mechanism_name is not None:
            out += ber.encode_element(
                0x8B, ber.encode_object_identifier(self.mechanism_name.object_identifier)
            )
        if self.calling_authentication_value is not None:
            out += _encode_authentication_value(0xAC, self.calling_authentication_value)
        if self.implementation_information is not None:
            out += ber.encode_element(0x9D, self.implementation_information)
        if self.user_information is not None:
            out += _encode_user_information(self.user_information)
        return ber.encode_element(ApduTag.AARQ, bytes(out))

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode an AARQ (the whole input, tag 0x60 first)."""
        data = bytes(data)
        start, end, later = _outer(data, ApduTag.AARQ)
        fields: dict[str, Any] = {}
        _read_fields(data, start, end, _AARQ_READERS, fields)
        if later is not None:
            raise later
        if "application_context_name" not in fields:
            raise DecodeError("AARQ without application-context-name", start)
        return cls(**fields)


_AARQ_READERS: dict[int, _FieldReader] = {
    0x80: _setter("protocol_version", _protocol_version),
    0xA1: _setter("application_context_name", _decode_context_name),
    0xA2: _setter("called_ap_title", _octets("called-AP-title")),
    0xA3: _setter("called_ae_qualifier", _octets("called-AE-qualifier")),
    0xA4: _setter("called_ap_invocation_id", _integer("called-AP-invocation-id")),
    0xA5: _setter("called_ae_invocation_id", _integer("called-AE-invocation-id")),
    0xA6: _setter("calling_ap_title", _octets("calling-AP-title")),
    0xA7: _setter("calling_ae_qualifier", _octets("calling-AE-qualifier")),
    0xA8: _setter("calling_ap_invocation_id", _integer("calling-AP-invocation-id")),
    0xA9: _setter("calling_ae_invocation_id", _integer("calling-AE-invocation-id")),
    0x8A: _setter("sender_acse_requirements", _decode_requirements),
    0x8B: _setter("mechanism_name", _decode_mechanism),
    0xAC: _setter("calling_authentication_value", _decode_authentication_value),
    0x9D: _setter("implementation_information", _graphic_string),
    0xBE: _setter("user_information", _decode_user_information),
}


# ---------------------------------------------------------------------------------------------
# AARE


@dataclass(frozen=True, slots=True)
class Aare:
    """A-ASSOCIATE response (AARE, ``[APPLICATION 1]``, tag 0x61).

    ``result_source_diagnostic`` is an :class:`AcseServiceUserDiagnostic` or an
    :class:`AcseServiceProviderDiagnostic`, as the server sent it; ``None`` only for a
    rejecting AARE that lacked it. ``responding_authentication_value`` is the HLS
    server-to-client challenge (StoC). ``user_information`` is the raw xDLMS APDU
    (InitiateResponse, glo-initiateResponse or confirmed-service-error); ``None`` when absent,
    or, for a rejecting AARE, when it could not be read. ``application_context_name`` is
    ``None`` only for a rejecting AARE that lacked a readable one.
    """

    result: AssociationResult
    result_source_diagnostic: ResultSourceDiagnostic | None = AcseServiceUserDiagnostic.NULL
    application_context_name: ApplicationContextName | None = ApplicationContextName.LOGICAL_NAME
    user_information: bytes | None = None
    responder_acse_requirements: bool = False
    mechanism_name: MechanismName | None = None
    responding_authentication_value: bytes | None = None
    responding_ap_title: bytes | None = None
    responding_ae_qualifier: bytes | None = None
    responding_ap_invocation_id: int | None = None
    responding_ae_invocation_id: int | None = None
    implementation_information: bytes | None = None
    protocol_version: tuple[bool, ...] | None = None

    @property
    def accepted(self) -> bool:
        """True when the association is accepted."""
        return self.result == AssociationResult.ACCEPTED

    @property
    def authentication_required(self) -> bool:
        """True when the AARE asks for HLS pass 3/4 (diagnostic authentication-required)."""
        diagnostic = self.result_source_diagnostic
        return (
            isinstance(diagnostic, AcseServiceUserDiagnostic)
            and diagnostic == AcseServiceUserDiagnostic.AUTHENTICATION_REQUIRED
        )

    @property
    def hls_pending(self) -> bool:
        """True when an accepted association waits for HLS pass 3/4: the diagnostic says
        authentication-required, or (QUIRKS.md 8: meters that leave that diagnostic out) an
        HLS mechanism came with a server challenge (responding-authentication-value)."""
        if not self.accepted:
            return False
        if self.authentication_required:
            return True
        return (
            self.mechanism_name is not None
            and self.mechanism_name.high_level
            and self.responding_authentication_value is not None
        )

    def encode(self) -> bytes:
        """Encode as BER, fields in the order of their tags."""
        if self.application_context_name is None:
            raise EncodeError("an AARE needs an application-context-name")
        if self.result_source_diagnostic is None:
            raise EncodeError("an AARE needs a result-source-diagnostic")
        out = bytearray()
        if self.protocol_version is not None:
            out += ber.encode_element(0x80, ber.encode_bit_string(self.protocol_version))
        out += ber.encode_element(
            0xA1,
            ber.encode_element(
                ber.TAG_OBJECT_IDENTIFIER,
                ber.encode_object_identifier(self.application_context_name.object_identifier),
            ),
        )
        out += _integer_field(0xA2, int(self.result))
        source = (
            0xA1 if isinstance(self.result_source_diagnostic, AcseServiceUserDiagnostic) else 0xA2
        )
        out += ber.encode_element(0xA3, _integer_field(source, int(self.result_source_diagnostic)))
        if self.responding_ap_title is not None:
            out += _octet_string_field(0xA4, self.responding_ap_title)
        if self.responding_ae_qualifier is not None:
            out += _octet_string_field(0xA5, self.responding_ae_qualifier)
        if self.responding_ap_invocation_id is not None:
            out += _integer_field(0xA6, self.responding_ap_invocation_id)
        if self.responding_ae_invocation_id is not None:
            out += _integer_field(0xA7, self.responding_ae_invocation_id)
        if self.responder_acse_requirements:
            out += _encode_requirements(0x88)
        if self.mechanism_name is not None:
            out += ber.encode_element(
                0x89, ber.encode_object_identifier(self.mechanism_name.object_identifier)
            )
        if self.responding_authentication_value is not None:
            out += _encode_authentication_value(0xAA, self.responding_authentication_value)
        if self.implementation_information is not None:
            out += ber.encode_element(0x9D, self.implementation_information)
        if self.user_information is not None:
            out += _encode_user_information(self.user_information)
        return ber.encode_element(ApduTag.AARE, bytes(out))

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode an AARE (tag 0x61 first).

        An accepting AARE is decoded strictly. A rejecting one is returned as soon as its
        result is known: missing, malformed or unreadable later fields (user-information
        above all), a truncated PDU and bytes after it are then tolerated (QUIRKS.md 8), the
        unreadable fields being left at ``None``.
        """
        data = bytes(data)
        fields: dict[str, Any] = {}
        error: DecodeError | None = None
        start = 0
        try:
            start, end, later = _outer(data, ApduTag.AARE)
            _read_fields(data, start, end, _AARE_READERS, fields)
            if later is not None:
                raise later
        except DecodeError as exc:
            error = exc
        result = fields.get("result")
        rejected = result is not None and result != AssociationResult.ACCEPTED
        if error is not None and not rejected:
            raise error
        if result is None:
            raise DecodeError("AARE without result", start)
        if not rejected:
            if "result_source_diagnostic" not in fields:
                raise DecodeError("AARE without result-source-diagnostic", start)
            if "application_context_name" not in fields:
                raise DecodeError("AARE without application-context-name", start)
        else:
            fields.setdefault("result_source_diagnostic", None)
            fields.setdefault("application_context_name", None)
        return cls(**fields)

    def to_exception(self) -> AssociationRejectedError:
        """The :class:`AssociationRejectedError` for this (rejecting) AARE: see
        :func:`rejection_error`."""
        return rejection_error(self)

    def raise_for_result(self) -> None:
        """Raise :class:`AssociationRejectedError` unless the association is accepted."""
        if not self.accepted:
            raise rejection_error(self)


def _read_result(data: bytes, element: ber.Element, fields: dict[str, Any]) -> None:
    value = _decode_integer_field(data, element, "result")
    fields["result"] = _decode_enum(AssociationResult, value, element, "association result")


def _read_diagnostic(data: bytes, element: ber.Element, fields: dict[str, Any]) -> None:
    inner = ber.read_element(data, element.value_start, element.value_end)
    enum: type[IntEnum]
    if inner.tag == 0xA1:
        enum = AcseServiceUserDiagnostic
    elif inner.tag == 0xA2:
        enum = AcseServiceProviderDiagnostic
    else:
        raise DecodeError(
            "result-source-diagnostic: expected acse-service-user (0xA1) or "
            f"acse-service-provider (0xA2), got 0x{inner.tag:02x}",
            inner.start,
        )
    value = _decode_integer_field(data, inner, "result-source-diagnostic")
    fields["result_source_diagnostic"] = _decode_enum(enum, value, inner, enum.__name__)


_AARE_READERS: dict[int, _FieldReader] = {
    0x80: _setter("protocol_version", _protocol_version),
    0xA1: _setter("application_context_name", _decode_context_name),
    0xA2: _read_result,
    0xA3: _read_diagnostic,
    0xA4: _setter("responding_ap_title", _octets("responding-AP-title")),
    0xA5: _setter("responding_ae_qualifier", _octets("responding-AE-qualifier")),
    0xA6: _setter("responding_ap_invocation_id", _integer("responding-AP-invocation-id")),
    0xA7: _setter("responding_ae_invocation_id", _integer("responding-AE-invocation-id")),
    0x88: _setter("responder_acse_requirements", _decode_requirements),
    0x89: _setter("mechanism_name", _decode_mechanism),
    0xAA: _setter("responding_authentication_value", _decode_authentication_value),
    0x9D: _setter("implementation_information", _graphic_string),
    0xBE: _setter("user_information", _decode_user_information),
}


# ---------------------------------------------------------------------------------------------
# RLRQ / RLRE


def _encode_release(tag: ApduTag, reason: IntEnum | None, user_information: bytes | None) -> bytes:
    out = b""
    if reason is not None:
        out += ber.encode_element(0x80, ber.encode_integer(int(reason)))
    if user_information is not None:
        out += _encode_user_information(user_information)
    return ber.encode_element(tag, out)


def _decode_release(data: bytes, tag: ApduTag, enum: type[_E]) -> tuple[_E | None, bytes | None]:
    data = bytes(data)
    start, end, later = _outer(data, tag)
    fields: dict[str, Any] = {}

    def read_reason(data: bytes, element: ber.Element, fields: dict[str, Any]) -> None:
        value = ber.decode_integer(data, element)
        fields["reason"] = _decode_enum(enum, value, element, f"{tag.name} reason")

    _read_fields(
        data,
        start,
        end,
        {0x80: read_reason, 0xBE: _setter("user_information", _decode_user_information)},
        fields,
    )
    if later is not None:
        raise later
    return fields.get("reason"), fields.get("user_information")


@dataclass(frozen=True, slots=True)
class Rlrq:
    """A-RELEASE request (RLRQ, ``[APPLICATION 2]``, tag 0x62): ``62 03 80 01 00`` for a
    normal release; ``user_information`` carries an InitiateRequest (usually ciphered) when
    the release is protected."""

    reason: ReleaseRequestReason | None = ReleaseRequestReason.NORMAL
    user_information: bytes | None = None

    def encode(self) -> bytes:
        """Encode as BER."""
        return _encode_release(ApduTag.RLRQ, self.reason, self.user_information)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode an RLRQ (the whole input, tag 0x62 first)."""
        reason, user_information = _decode_release(data, ApduTag.RLRQ, ReleaseRequestReason)
        return cls(reason, user_information)


@dataclass(frozen=True, slots=True)
class Rlre:
    """A-RELEASE response (RLRE, ``[APPLICATION 3]``, tag 0x63); ``user_information``
    carries an InitiateResponse (usually ciphered) when the release is protected."""

    reason: ReleaseResponseReason | None = ReleaseResponseReason.NORMAL
    user_information: bytes | None = None

    def encode(self) -> bytes:
        """Encode as BER."""
        return _encode_release(ApduTag.RLRE, self.reason, self.user_information)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode an RLRE (the whole input, tag 0x63 first)."""
        reason, user_information = _decode_release(data, ApduTag.RLRE, ReleaseResponseReason)
        return cls(reason, user_information)


# ---------------------------------------------------------------------------------------------
# Rejections as exceptions

_ADDRESS_ADVICE = (
    "and the client address: a wrong client address also gives an authentication error "
    "(if the server address were wrong the meter would not answer at all)"
)

_USER_ADVICE: dict[AcseServiceUserDiagnostic, str] = {
    AcseServiceUserDiagnostic.NULL: (
        "the meter gave no diagnostic: check the client address, the authentication "
        "mechanism and password/keys, and the proposed conformance and PDU size"
    ),
    AcseServiceUserDiagnostic.NO_REASON_GIVEN: (
        "the meter gave no reason: check the client address, the authentication mechanism "
        "and password/keys, and the proposed conformance and PDU size"
    ),
    AcseServiceUserDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED: (
        "application-context-name-not-supported: check referencing (logical name or short "
        "name) and the ciphering setting (the meter may require or refuse ciphering)"
    ),
    AcseServiceUserDiagnostic.CALLING_AP_TITLE_NOT_RECOGNIZED: (
        "calling-AP-title-not-recognized: check the client system title"
    ),
    AcseServiceUserDiagnostic.CALLING_AP_INVOCATION_IDENTIFIER_NOT_RECOGNIZED: (
        "calling-AP-invocation-identifier-not-recognized: check the calling AP invocation id"
    ),
    AcseServiceUserDiagnostic.CALLING_AE_QUALIFIER_NOT_RECOGNIZED: (
        "calling-AE-qualifier-not-recognized: check the client certificate (AE qualifier)"
    ),
    AcseServiceUserDiagnostic.CALLING_AE_INVOCATION_IDENTIFIER_NOT_RECOGNIZED: (
        "calling-AE-invocation-identifier-not-recognized: check the calling AE invocation id"
    ),
    AcseServiceUserDiagnostic.CALLED_AP_TITLE_NOT_RECOGNIZED: (
        "called-AP-title-not-recognized: check the server system title given to the client"
    ),
    AcseServiceUserDiagnostic.CALLED_AP_INVOCATION_IDENTIFIER_NOT_RECOGNIZED: (
        "called-AP-invocation-identifier-not-recognized: check the called AP invocation id"
    ),
    AcseServiceUserDiagnostic.CALLED_AE_QUALIFIER_NOT_RECOGNIZED: (
        "called-AE-qualifier-not-recognized: check the server certificate (AE qualifier)"
    ),
    AcseServiceUserDiagnostic.CALLED_AE_INVOCATION_IDENTIFIER_NOT_RECOGNIZED: (
        "called-AE-invocation-identifier-not-recognized: check the called AE invocation id"
    ),
    AcseServiceUserDiagnostic.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED: (
        "authentication-mechanism-name-not-recognised: the meter does not offer this "
        "authentication mechanism for this client address; choose another level "
        f"(none, low, high...) {_ADDRESS_ADVICE}"
    ),
    AcseServiceUserDiagnostic.AUTHENTICATION_MECHANISM_NAME_REQUIRED: (
        "authentication-mechanism-name-required: this client address needs authentication; "
        f"set an authentication level and password/keys, {_ADDRESS_ADVICE}"
    ),
    AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE: (
        f"authentication failed: check the password/keys — {_ADDRESS_ADVICE}"
    ),
    AcseServiceUserDiagnostic.AUTHENTICATION_REQUIRED: (
        "authentication-required: this client address needs authentication; set an "
        f"authentication level and password/keys, {_ADDRESS_ADVICE}"
    ),
}

_PROVIDER_ADVICE: dict[AcseServiceProviderDiagnostic, str] = {
    AcseServiceProviderDiagnostic.NULL: "the ACSE service provider gave no diagnostic",
    AcseServiceProviderDiagnostic.NO_REASON_GIVEN: "the ACSE service provider gave no reason",
    AcseServiceProviderDiagnostic.NO_COMMON_ACSE_VERSION: (
        "no-common-acse-version: the meter does not support the proposed ACSE protocol version"
    ),
}

_INITIATE_ADVICE: dict[ServiceErrorInitiate, str] = {
    ServiceErrorInitiate.DLMS_VERSION_TOO_LOW: "propose DLMS version 6",
    ServiceErrorInitiate.INCOMPATIBLE_CONFORMANCE: (
        "propose a conformance block with services the meter supports"
    ),
    ServiceErrorInitiate.PDU_SIZE_TOO_SHORT: "propose a larger client max receive PDU size",
    ServiceErrorInitiate.REFUSED_BY_THE_VDE_HANDLER: "the meter refused the InitiateRequest",
}


def _user_information_note(user_information: bytes | None) -> str:
    if not user_information or user_information[0] != ApduTag.CONFIRMED_SERVICE_ERROR:
        return ""
    try:
        error = ConfirmedServiceError.decode(user_information)
    except DecodeError:
        return ""
    note = f"; user-information: {error.describe()}"
    if isinstance(error.error, ServiceErrorInitiate) and error.error in _INITIATE_ADVICE:
        note += f" ({_INITIATE_ADVICE[error.error]})"
    return note


def rejection_error(aare: Aare) -> AssociationRejectedError:
    """An :class:`AssociationRejectedError` for a rejecting AARE, with ``result`` and
    ``diagnostic`` set and a message that says what to change.

    A confirmed-service-error in user-information (e.g. initiate dlms-version-too-low) is
    named in the message too.
    """
    diagnostic = aare.result_source_diagnostic
    if isinstance(diagnostic, AcseServiceUserDiagnostic):
        advice = _USER_ADVICE[diagnostic]
    elif isinstance(diagnostic, AcseServiceProviderDiagnostic):
        advice = _PROVIDER_ADVICE[diagnostic]
    else:
        advice = (
            "the meter gave no diagnostic: check the client address, the authentication "
            "mechanism and password/keys"
        )
    if aare.accepted:
        message = "association accepted (no rejection)"
    else:
        message = f"association {standard_name(aare.result)}: {advice}"
        message += _user_information_note(aare.user_information)
        if aare.result == AssociationResult.REJECTED_TRANSIENT:
            message += " (rejected-transient: a later attempt may succeed)"
    if diagnostic in (
        AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE,
        AcseServiceUserDiagnostic.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED,
        AcseServiceUserDiagnostic.AUTHENTICATION_MECHANISM_NAME_REQUIRED,
        AcseServiceUserDiagnostic.AUTHENTICATION_REQUIRED,
    ):
        return AuthenticationRejectedError(message, aare.result, diagnostic)
    return AssociationRejectedError(message, aare.result, diagnostic)


def decode_association_response(data: bytes, *, raise_on_rejection: bool = True) -> Aare:
    """Decode what a server answered to an AARQ.

    An exception-response (0xD8) or a confirmed-service-error (0x0E) sent in place of an
    AARE (QUIRKS.md 8) raises :class:`AssociationRejectedError` with the decoded PDU as
    ``diagnostic``; a rejecting AARE raises it too unless ``raise_on_rejection`` is false.
    Anything else that is not an AARE raises :class:`DecodeError`.
    """
    data = bytes(data)
    if data and data[0] in (ApduTag.EXCEPTION_RESPONSE, ApduTag.CONFIRMED_SERVICE_ERROR):
        pdu: ExceptionResponse | ConfirmedServiceError
        if data[0] == ApduTag.EXCEPTION_RESPONSE:
            pdu = ExceptionResponse.decode(data)
        else:
            pdu = ConfirmedServiceError.decode(data)
        raise AssociationRejectedError(
            f"the meter answered the AARQ with {pdu.describe()} instead of an AARE: check the "
            "client address, the referencing (LN/SN) and the ciphering settings",
            None,
            pdu,
        )
    aare = Aare.decode(data)
    if raise_on_rejection:
        aare.raise_for_result()
    return aare
