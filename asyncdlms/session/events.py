"""Events of the application layer (one association), for the client and the server role.

A session is sans-IO like the link layers below it: bytes in through ``receive_data``, bytes
out through ``data_to_send``, and what happened out of ``events()`` as these values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import DlmsError

__all__ = [
    "AssociationEstablished",
    "AssociationReleased",
    "NotificationReceived",
    "RequestCompleted",
    "RequestFailed",
    "SessionEvent",
]


class SessionEvent:
    """Base class of the events a session emits."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class AssociationEstablished(SessionEvent):
    """The association is up (after HLS pass 3/4 where the mechanism needs it).

    ``negotiated_conformance`` is the conformance block both sides agreed on
    (:class:`asyncdlms.apdu.initiate.Conformance`), ``max_pdu_size_tx`` the largest APDU the
    peer accepts (its max receive PDU size; 0 means unlimited, QUIRKS.md 19),
    ``max_pdu_size_rx`` the largest this side accepts, ``client_address`` the client SAP in the
    server role (``None`` in the client role).
    """

    negotiated_conformance: Any
    max_pdu_size_tx: int
    max_pdu_size_rx: int
    dlms_version: int
    logical_name_referencing: bool
    mechanism: Any
    client_address: int | None = None


@dataclass(frozen=True, slots=True)
class AssociationReleased(SessionEvent):
    """The association ended: ``error`` is ``None`` after an orderly release (RLRQ/RLRE or
    link disconnect), else why it ended (link failure, rejected AARQ, failed HLS...)."""

    error: DlmsError | None = None


@dataclass(frozen=True, slots=True)
class RequestCompleted(SessionEvent):
    """A request the user made finished; ``result`` is what the service returns (a decoded
    value, a list of values or errors for with-list services, ``None`` for SET...)."""

    request_id: int
    result: Any = None


_new_event = object.__new__
_set_request_id, _set_result = (
    vars(RequestCompleted)[name].__set__ for name in ("request_id", "result")
)


def request_completed(request_id: int, result: Any) -> RequestCompleted:
    """``RequestCompleted(request_id, result)`` built through its slots: one per request (a
    frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``, nearly
    twice as slow)."""
    event: RequestCompleted = _new_event(RequestCompleted)
    _set_request_id(event, request_id)
    _set_result(event, result)
    return event


@dataclass(frozen=True, slots=True)
class RequestFailed(SessionEvent):
    """A request the user made failed with a typed error (DataAccessError, ActionError,
    ServiceError, BlockTransferError, AssociationReleased before the answer...)."""

    request_id: int
    error: DlmsError


@dataclass(frozen=True, slots=True)
class NotificationReceived(SessionEvent):
    """An unsolicited APDU: data-notification, event-notification or information-report,
    decoded; never mistaken for the answer to a request. ``source``/``destination`` are the
    link addresses it came with (HDLC address or wPort), for routing pushes."""

    notification: Any
    source: int | None = None
    destination: int | None = None
