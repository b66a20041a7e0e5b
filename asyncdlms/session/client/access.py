"""The ACCESS service in the client role (Green Book 9.3): GET, SET and ACTION operations in
one ACCESS-Request and one round trip, with a typed result per operation.

The operations are :class:`AccessGet`, :class:`AccessSet` and :class:`AccessAction`; the
answer is one :class:`AccessResult` each, in order. A failed operation is a result (its
``error``), not an exception; with ``break_on_error`` the meter stops at the first failure
and the operations after it come back not processed (``processed`` False). The meter must
have granted the ``access`` conformance bit (17): otherwise the request fails with
:class:`~asyncdlms.errors.ServiceNotNegotiatedError` before anything is sent.

ACCESS has no block transfer of its own: a request or answer longer than the negotiated
PDU size needs general-block-transfer. Ciphering applies as to every xDLMS APDU (ACCESS has
no glo-/ded- tag: it goes in general-glo- or general-ded-ciphering).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from ...apdu.access import (
    AccessRequest,
    AccessRequestAction,
    AccessRequestGet,
    AccessRequestGetWithSelection,
    AccessRequestSet,
    AccessRequestSetWithSelection,
    AccessRequestSpecification,
    AccessResponse,
    AccessResponseType,
)
from ...apdu.descriptors import (
    CosemAttributeDescriptor,
    CosemMethodDescriptor,
    Data,
    SelectiveAccessDescriptor,
)
from ...apdu.enums import (
    ActionResult,
    DataAccessResult,
    LongInvokeIdAndPriority,
    action_error,
    data_access_error,
)
from ...apdu.initiate import Conformance
from ...apdu.tags import ApduTag
from ...errors import (
    DecodeError,
    DlmsError,
    EncodeError,
    NotProcessedError,
    ServiceNotNegotiatedError,
)
from ...obis import Obis, ObisLike
from ...types.clock import DateTime
from ._core import _decode_response, _SessionCore, _Transaction

__all__ = ["AccessAction", "AccessGet", "AccessItem", "AccessResult", "AccessSet", "access_results"]

_NULL_DATA = Data.of(None)


@dataclass(frozen=True, slots=True)
class AccessGet:
    """Read attribute ``attribute_id`` of object ``instance_id`` (class ``class_id``),
    with optional selective access."""

    class_id: int
    instance_id: Obis
    attribute_id: int
    selective_access: SelectiveAccessDescriptor | None = None

    def __init__(
        self,
        class_id: int,
        instance_id: ObisLike,
        attribute_id: int,
        selective_access: SelectiveAccessDescriptor | None = None,
    ) -> None:
        object.__setattr__(self, "class_id", class_id)
        object.__setattr__(self, "instance_id", Obis(instance_id))
        object.__setattr__(self, "attribute_id", attribute_id)
        object.__setattr__(self, "selective_access", selective_access)

    def specification(self) -> tuple[AccessRequestSpecification, Data]:
        """The Access-Request-Specification and its Data (null-data)."""
        descriptor = CosemAttributeDescriptor(self.class_id, self.instance_id, self.attribute_id)
        if self.selective_access is None:
            return AccessRequestGet(descriptor), _NULL_DATA
        return AccessRequestGetWithSelection(descriptor, self.selective_access), _NULL_DATA

    response_type: ClassVar[AccessResponseType] = AccessResponseType.ACCESS_RESPONSE_GET


@dataclass(frozen=True, slots=True)
class AccessSet:
    """Write ``value`` (an A-XDR value, typed or plain, see :func:`asyncdlms.axdr.encode`)
    to attribute ``attribute_id`` of object ``instance_id``, with optional selective
    access."""

    class_id: int
    instance_id: Obis
    attribute_id: int
    value: Any
    selective_access: SelectiveAccessDescriptor | None = None

    def __init__(
        self,
        class_id: int,
        instance_id: ObisLike,
        attribute_id: int,
        value: Any,
        selective_access: SelectiveAccessDescriptor | None = None,
    ) -> None:
        object.__setattr__(self, "class_id", class_id)
        object.__setattr__(self, "instance_id", Obis(instance_id))
        object.__setattr__(self, "attribute_id", attribute_id)
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "selective_access", selective_access)

    def specification(self) -> tuple[AccessRequestSpecification, Data]:
        """The Access-Request-Specification and its Data (the value written)."""
        descriptor = CosemAttributeDescriptor(self.class_id, self.instance_id, self.attribute_id)
        data = Data.of(self.value)
        if self.selective_access is None:
            return AccessRequestSet(descriptor), data
        return AccessRequestSetWithSelection(descriptor, self.selective_access), data

    response_type: ClassVar[AccessResponseType] = AccessResponseType.ACCESS_RESPONSE_SET


@dataclass(frozen=True, slots=True)
class AccessAction:
    """Invoke method ``method_id`` of object ``instance_id`` with ``parameters`` (``None``:
    none, sent as null-data)."""

    class_id: int
    instance_id: Obis
    method_id: int
    parameters: Any = None

    def __init__(
        self, class_id: int, instance_id: ObisLike, method_id: int, parameters: Any = None
    ) -> None:
        object.__setattr__(self, "class_id", class_id)
        object.__setattr__(self, "instance_id", Obis(instance_id))
        object.__setattr__(self, "method_id", method_id)
        object.__setattr__(self, "parameters", parameters)

    def specification(self) -> tuple[AccessRequestSpecification, Data]:
        """The Access-Request-Specification and its Data (the parameters or null-data)."""
        descriptor = CosemMethodDescriptor(self.class_id, self.instance_id, self.method_id)
        return AccessRequestAction(descriptor), Data.of(self.parameters)

    response_type: ClassVar[AccessResponseType] = AccessResponseType.ACCESS_RESPONSE_ACTION


AccessItem = AccessGet | AccessSet | AccessAction
"""One operation of an ACCESS request."""


@dataclass(frozen=True, slots=True)
class AccessResult:
    """The outcome of one operation of an ACCESS request.

    ``result`` is the Data-Access-Result (GET, SET) or Action-Result (ACTION) the meter
    answered, ``None`` when it did not carry the operation out (break-on-error after an
    earlier failure). ``value`` is what a successful GET read or a successful ACTION
    returned (``None`` otherwise).
    """

    item: AccessItem
    result: DataAccessResult | ActionResult | None
    value: Any = None

    @property
    def processed(self) -> bool:
        """Whether the meter carried the operation out (successfully or not)."""
        return self.result is not None

    @property
    def ok(self) -> bool:
        """Whether the operation succeeded."""
        return self.result is not None and self.result == 0

    @property
    def error(self) -> DlmsError | None:
        """``None`` on success, else the typed error: :class:`DataAccessError` (GET, SET),
        :class:`ActionError` (ACTION) or :class:`NotProcessedError`."""
        if self.result is None:
            return NotProcessedError(
                f"{_describe(self.item)} was not processed: an earlier operation of the "
                "ACCESS request failed and the request asked to break on error"
            )
        if self.result == 0:
            return None
        if isinstance(self.result, ActionResult):
            return action_error(self.result)
        return data_access_error(self.result)

    def unwrap(self) -> Any:
        """The value, or raise the operation's :attr:`error`."""
        error = self.error
        if error is not None:
            raise error
        return self.value


def _describe(item: AccessItem) -> str:
    if isinstance(item, AccessAction):
        return f"ACTION {item.class_id}/{item.instance_id}/{item.method_id}"
    verb = "GET" if isinstance(item, AccessGet) else "SET"
    return f"{verb} {item.class_id}/{item.instance_id}/{item.attribute_id}"


def _date_time_bytes(value: DateTime | bytes | None) -> bytes:
    if value is None:
        return b""
    if isinstance(value, DateTime):
        return value.to_bytes()
    return bytes(value)


def access_results(items: Sequence[AccessItem], response: AccessResponse) -> list[AccessResult]:
    """Pair each operation with its answer in ``response``; operations beyond the answered
    ones (break-on-error) come back not processed. Raises :class:`DecodeError` for an answer
    that cannot belong to the request (more answers than operations, lists of different
    lengths, a GET answered as a SET...)."""
    values = response.access_response_list_of_data
    answers = response.access_response_specification
    if len(values) != len(answers):
        raise DecodeError(
            f"the access-response has {len(values)} data and {len(answers)} results: "
            "one of each per operation expected"
        )
    if len(answers) > len(items):
        raise DecodeError(
            f"the access-response answers {len(answers)} operations, {len(items)} were asked"
        )
    results: list[AccessResult] = []
    for index, item in enumerate(items):
        if index >= len(answers):
            results.append(AccessResult(item, None))
            continue
        answer = answers[index]
        if answer.choice != item.response_type:
            raise DecodeError(
                f"operation {index + 1} ({_describe(item)}) answered as "
                f"{answer.choice.standard_name}"
            )
        value = values[index].value if answer.result == 0 else None
        results.append(AccessResult(item, answer.result, value))
    return results


class _AccessService(_SessionCore):
    """ACCESS-Request: several GET/SET/ACTION operations in one request."""

    def access(
        self,
        items: Sequence[AccessItem],
        *,
        break_on_error: bool = False,
        date_time: DateTime | bytes | None = None,
        now: float | None = None,
    ) -> int:
        """ACCESS: the operations in one request; the result is one :class:`AccessResult`
        per item. ``break_on_error`` asks the meter to stop at the first failure;
        ``date_time`` (a :class:`DateTime` or its 12 bytes) is sent as the request's time."""
        return self._submit(
            self._access_transaction(tuple(items), break_on_error, _date_time_bytes(date_time)),
            now,
        )

    def _access_transaction(
        self, items: tuple[AccessItem, ...], break_on_error: bool, date_time: bytes
    ) -> _Transaction:
        negotiated = self.negotiated
        if negotiated is None or not negotiated.conformance & Conformance.ACCESS:
            raise ServiceNotNegotiatedError(
                "the meter did not grant the ACCESS service (conformance bit 17 'access') in "
                "its AARE: use get/set/action or their with-list forms instead",
                Conformance.ACCESS,
            )
        pairs = [item.specification() for item in items]
        invoke_id = self._next_invoke()
        iip = LongInvokeIdAndPriority(
            invoke_id,
            confirmed=True,
            high_priority=self.settings.high_priority,
            break_on_error=break_on_error,
        )
        apdu = AccessRequest(
            tuple(s for s, _ in pairs), tuple(d for _, d in pairs), iip, date_time
        ).encode()
        if not self._fits(apdu):
            raise EncodeError(
                f"an ACCESS request of {len(apdu)} bytes does not fit the meter's max PDU size "
                f"{self._max_pdu_tx}; ACCESS has no block transfer of its own: send fewer "
                "operations or negotiate general-block-transfer"
            )
        answer = yield (apdu, invoke_id)
        response = _decode_response(answer, ApduTag.ACCESS_RESPONSE, AccessResponse.decode)
        return access_results(items, response)
