"""confirmed-service-error (tag 0x0E) and exception-response (tag 0xD8), IEC 62056-5-3.

A confirmed-service-error names the service that failed (initiateError, read, write...) and a
ServiceError CHOICE (application-reference, hardware-resource, vde-state-error, service,
definition, access, initiate, load-data-set, task) whose value is an ENUMERATED. It answers an
InitiateRequest that the server refuses (in the AARE user-information) and SN read/write.

An exception-response reports a state-error and a service-error; the invocation-counter-error
alternative carries the counter the server expects (4 bytes, quirk 3), which some meters omit.

Both give a :class:`asyncdlms.errors.ServiceError` through ``to_exception()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Self

from ..errors import DecodeError, EncodeError, ServiceError
from .tags import ApduTag

__all__ = [
    "SERVICE_ERROR_ENUMS",
    "ConfirmedService",
    "ConfirmedServiceError",
    "ExceptionResponse",
    "ExceptionServiceError",
    "ExceptionStateError",
    "ServiceErrorAccess",
    "ServiceErrorApplicationReference",
    "ServiceErrorChoice",
    "ServiceErrorDefinition",
    "ServiceErrorHardwareResource",
    "ServiceErrorInitiate",
    "ServiceErrorLoadDataSet",
    "ServiceErrorService",
    "ServiceErrorTask",
    "ServiceErrorVdeState",
    "standard_name",
]


def standard_name(member: IntEnum | int) -> str:
    """The standard's spelling of an enum member.

    ``ServiceErrorInitiate.DLMS_VERSION_TOO_LOW`` gives ``dlms-version-too-low``; a plain
    integer (a value the standard does not name) gives its decimal digits.
    """
    if isinstance(member, IntEnum):
        return member.name.lower().replace("_", "-")
    return str(int(member))


class ConfirmedService(IntEnum):
    """The service a confirmed-service-error answers (the ConfirmedServiceError CHOICE tag)."""

    INITIATE_ERROR = 1
    GET_STATUS = 2
    GET_NAME_LIST = 3
    GET_VARIABLE_ATTRIBUTE = 4
    READ = 5
    WRITE = 6
    GET_DATA_SET_ATTRIBUTE = 7
    GET_TI_ATTRIBUTE = 8
    CHANGE_SCOPE = 9
    START = 10
    STOP = 11
    RESUME = 12
    MAKE_USABLE = 13
    INITIATE_LOAD = 14
    LOAD_SEGMENT = 15
    TERMINATE_LOAD = 16
    INITIATE_UP_LOAD = 17
    UP_LOAD_SEGMENT = 18
    TERMINATE_UP_LOAD = 19


class ServiceErrorChoice(IntEnum):
    """The alternatives of the ServiceError CHOICE."""

    APPLICATION_REFERENCE = 0
    HARDWARE_RESOURCE = 1
    VDE_STATE_ERROR = 2
    SERVICE = 3
    DEFINITION = 4
    ACCESS = 5
    INITIATE = 6
    LOAD_DATA_SET = 7
    CHANGE_SCOPE = 8
    TASK = 9
    OTHER = 10


class ServiceErrorApplicationReference(IntEnum):
    """ServiceError application-reference [0]."""

    OTHER = 0
    TIME_ELAPSED = 1
    APPLICATION_UNREACHABLE = 2
    APPLICATION_REFERENCE_INVALID = 3
    APPLICATION_CONTEXT_UNSUPPORTED = 4
    PROVIDER_COMMUNICATION_ERROR = 5
    DECIPHERING_ERROR = 6


class ServiceErrorHardwareResource(IntEnum):
    """ServiceError hardware-resource [1]."""

    OTHER = 0
    MEMORY_UNAVAILABLE = 1
    PROCESSOR_RESOURCE_UNAVAILABLE = 2
    MASS_STORAGE_UNAVAILABLE = 3
    OTHER_RESOURCE_UNAVAILABLE = 4


class ServiceErrorVdeState(IntEnum):
    """ServiceError vde-state-error [2]."""

    OTHER = 0
    NO_DLMS_CONTEXT = 1
    LOADING_DATA_SET = 2
    STATUS_NOCHANGE = 3
    STATUS_INOPERABLE = 4


class ServiceErrorService(IntEnum):
    """ServiceError service [3]."""

    OTHER = 0
    PDU_SIZE = 1
    SERVICE_UNSUPPORTED = 2


class ServiceErrorDefinition(IntEnum):
    """ServiceError definition [4]."""

    OTHER = 0
    OBJECT_UNDEFINED = 1
    OBJECT_CLASS_INCONSISTENT = 2
    OBJECT_ATTRIBUTE_INCONSISTENT = 3


class ServiceErrorAccess(IntEnum):
    """ServiceError access [5]."""

    OTHER = 0
    SCOPE_OF_ACCESS_VIOLATED = 1
    OBJECT_ACCESS_VIOLATED = 2
    HARDWARE_FAULT = 3
    OBJECT_UNAVAILABLE = 4


class ServiceErrorInitiate(IntEnum):
    """ServiceError initiate [6]."""

    OTHER = 0
    DLMS_VERSION_TOO_LOW = 1
    INCOMPATIBLE_CONFORMANCE = 2
    PDU_SIZE_TOO_SHORT = 3
    REFUSED_BY_THE_VDE_HANDLER = 4


class ServiceErrorLoadDataSet(IntEnum):
    """ServiceError load-data-set [7]."""

    OTHER = 0
    PRIMITIVE_OUT_OF_SEQUENCE = 1
    NOT_LOADABLE = 2
    DATASET_SIZE_TOO_LARGE = 3
    NOT_AWAITED_SEGMENT = 4
    INTERPRETATION_FAILURE = 5
    STORAGE_FAILURE = 6
    DATA_SET_NOT_READY = 7


class ServiceErrorTask(IntEnum):
    """ServiceError task [9]."""

    OTHER = 0
    NO_REMOTE_CONTROL = 1
    TI_STOPPED = 2
    TI_RUNNING = 3
    TI_UNUSABLE = 4


SERVICE_ERROR_ENUMS: dict[ServiceErrorChoice, type[IntEnum]] = {
    ServiceErrorChoice.APPLICATION_REFERENCE: ServiceErrorApplicationReference,
    ServiceErrorChoice.HARDWARE_RESOURCE: ServiceErrorHardwareResource,
    ServiceErrorChoice.VDE_STATE_ERROR: ServiceErrorVdeState,
    ServiceErrorChoice.SERVICE: ServiceErrorService,
    ServiceErrorChoice.DEFINITION: ServiceErrorDefinition,
    ServiceErrorChoice.ACCESS: ServiceErrorAccess,
    ServiceErrorChoice.INITIATE: ServiceErrorInitiate,
    ServiceErrorChoice.LOAD_DATA_SET: ServiceErrorLoadDataSet,
    ServiceErrorChoice.TASK: ServiceErrorTask,
}
"""The ENUMERATED type of each ServiceError alternative (change-scope and other: plain 0)."""


def _enum_or_int(enum: type[IntEnum] | None, value: int) -> IntEnum | int:
    if enum is None:
        return value
    try:
        return enum(value)
    except ValueError:
        return value


@dataclass(frozen=True, slots=True)
class ConfirmedServiceError:
    """confirmed-service-error: ``0E <service> <service-error choice> <enumerated value>``.

    ``error`` is the member of the alternative's enum (see :data:`SERVICE_ERROR_ENUMS`), or
    the plain integer when the value is not one the standard names.
    """

    service: ConfirmedService
    error_type: ServiceErrorChoice
    error: IntEnum | int

    def encode(self) -> bytes:
        """Encode as A-XDR."""
        value = int(self.error)
        if not 0 <= value <= 255:
            raise EncodeError(f"a ServiceError value is one byte, not {value}")
        return bytes(
            (ApduTag.CONFIRMED_SERVICE_ERROR, int(self.service), int(self.error_type), value)
        )

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode a confirmed-service-error (exactly four bytes, tag 0x0E first)."""
        data = bytes(data)
        if not data or data[0] != ApduTag.CONFIRMED_SERVICE_ERROR:
            got = f"0x{data[0]:02x}" if data else "nothing"
            raise DecodeError(f"expected confirmed-service-error (0x0E), got {got}", 0)
        if len(data) < 4:
            raise DecodeError("truncated confirmed-service-error: 4 bytes expected", len(data))
        if len(data) > 4:
            raise DecodeError(f"{len(data) - 4} bytes after the confirmed-service-error", 4)
        try:
            service = ConfirmedService(data[1])
        except ValueError:
            raise DecodeError(f"unknown confirmed-service-error service {data[1]}", 1) from None
        try:
            error_type = ServiceErrorChoice(data[2])
        except ValueError:
            raise DecodeError(f"unknown ServiceError alternative {data[2]}", 2) from None
        return cls(service, error_type, _enum_or_int(SERVICE_ERROR_ENUMS.get(error_type), data[3]))

    def describe(self) -> str:
        """The error in the standard's words, e.g.
        ``confirmed-service-error: initiate-error, initiate dlms-version-too-low``."""
        return (
            f"confirmed-service-error: {standard_name(self.service)}, "
            f"{standard_name(self.error_type)} {standard_name(self.error)}"
        )

    def to_exception(self) -> ServiceError:
        """A :class:`asyncdlms.errors.ServiceError` carrying this PDU as ``error``."""
        return ServiceError(self.describe(), self)


class ExceptionStateError(IntEnum):
    """exception-response state-error."""

    SERVICE_NOT_ALLOWED = 1
    SERVICE_UNKNOWN = 2


class ExceptionServiceError(IntEnum):
    """exception-response service-error (a CHOICE; the last carries the expected counter)."""

    OPERATION_NOT_POSSIBLE = 1
    SERVICE_NOT_SUPPORTED = 2
    OTHER_REASON = 3
    PDU_TOO_LONG = 4
    DECIPHERING_ERROR = 5
    INVOCATION_COUNTER_ERROR = 6


@dataclass(frozen=True, slots=True)
class ExceptionResponse:
    """exception-response: ``D8 <state-error> <service-error> [invocation counter]``.

    ``invocation_counter`` is the counter the server expects, sent by some meters after
    invocation-counter-error (quirk 3); ``None`` when absent.
    """

    state_error: ExceptionStateError | int
    service_error: ExceptionServiceError | int
    invocation_counter: int | None = None

    def encode(self) -> bytes:
        """Encode as A-XDR."""
        fields = (("state_error", self.state_error), ("service_error", self.service_error))
        for name, value in fields:
            if not 0 <= int(value) <= 255:
                raise EncodeError(f"{name} is one byte, not {int(value)}")
        out = bytes((ApduTag.EXCEPTION_RESPONSE, int(self.state_error), int(self.service_error)))
        if self.invocation_counter is not None:
            if self.service_error != ExceptionServiceError.INVOCATION_COUNTER_ERROR:
                raise EncodeError("only invocation-counter-error carries an invocation counter")
            if not 0 <= self.invocation_counter <= 0xFFFFFFFF:
                raise EncodeError(f"an invocation counter has 32 bits: {self.invocation_counter}")
            out += self.invocation_counter.to_bytes(4, "big")
        return out

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode an exception-response (tag 0xD8 first).

        Unknown state-error or service-error values are kept as integers: an error report
        should reach the user even when its reason is not one the standard names.
        """
        data = bytes(data)
        if not data or data[0] != ApduTag.EXCEPTION_RESPONSE:
            got = f"0x{data[0]:02x}" if data else "nothing"
            raise DecodeError(f"expected exception-response (0xD8), got {got}", 0)
        if len(data) < 3:
            raise DecodeError("truncated exception-response: 3 bytes expected", len(data))
        state_error = _enum_or_int(ExceptionStateError, data[1])
        service_error = _enum_or_int(ExceptionServiceError, data[2])
        counter: int | None = None
        if service_error == ExceptionServiceError.INVOCATION_COUNTER_ERROR and len(data) > 3:
            if len(data) != 7:
                raise DecodeError(
                    f"invocation-counter-error with {len(data) - 3} counter bytes (4 expected)", 3
                )
            counter = int.from_bytes(data[3:7], "big")
        elif len(data) > 3:
            raise DecodeError(f"{len(data) - 3} bytes after the exception-response", 3)
        return cls(state_error, service_error, counter)

    def describe(self) -> str:
        """The error in the standard's words, e.g. ``exception-response: service-not-allowed,
        service-error invocation-counter-error (meter expects counter 1234)``."""
        text = (
            f"exception-response: state-error {standard_name(self.state_error)}, "
            f"service-error {standard_name(self.service_error)}"
        )
        if self.invocation_counter is not None:
            text += f" (meter expects counter {self.invocation_counter})"
        return text

    def to_exception(self) -> ServiceError:
        """A :class:`asyncdlms.errors.ServiceError` carrying this PDU as ``error``."""
        return ServiceError(self.describe(), self)
