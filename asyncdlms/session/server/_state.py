"""The association state machine of the server role, one table::

    (state, input) -> (action, next state)

:class:`~.session.ServerSession` looks every input up in :data:`TRANSITIONS` and does the
action; nothing else changes its state."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

__all__ = ["TRANSITIONS", "AssociationAction", "AssociationInput", "AssociationState", "Transition"]


class AssociationState(Enum):
    """Where the association of a server session is."""

    IDLE = "idle"
    """No association (the link may be up): only an AARQ (or RLRQ) makes sense."""
    AWAITING_PASS3 = "awaiting-pass3"
    """HLS accepted in the AARE; only reply_to_HLS_authentication is served."""
    ASSOCIATED = "associated"
    """The association is established: every negotiated service is served."""


class AssociationInput(Enum):
    """What happened, as seen by the association state machine."""

    AARQ_ACCEPTABLE = "aarq-acceptable"
    AARQ_NEEDS_HLS = "aarq-needs-hls"
    AARQ_REJECTED = "aarq-rejected"
    PASS3_VALID = "pass3-valid"
    PASS3_INVALID = "pass3-invalid"
    SERVICE_REQUEST = "service-request"
    RLRQ = "rlrq"
    MALFORMED = "malformed"
    LINK_ESTABLISHED = "link-established"
    LINK_CLOSED = "link-closed"


class AssociationAction(Enum):
    """What the session does for a transition."""

    ACCEPT = "accept"
    """Send the accepting AARE; the association is up (event AssociationEstablished)."""
    ACCEPT_PENDING_HLS = "accept-pending-hls"
    """Send the accepting AARE with authentication-required and the StoC challenge."""
    REJECT = "reject"
    """Send the rejecting AARE."""
    REJECT_ALREADY_ASSOCIATED = "reject-already-associated"
    """An AARQ while associated: rejected-transient, the association stays."""
    SEND_PASS4 = "send-pass4"
    """Answer pass 3 with f(CtoS); the association is up (event AssociationEstablished)."""
    DENY_PASS3 = "deny-pass3"
    """Answer pass 3 with read-write-denied; no association (event AssociationReleased)."""
    SERVE = "serve"
    """Answer the request through the object access."""
    DENY_PENDING_HLS = "deny-pending-hls"
    """A request before pass 3: answered with read-write-denied."""
    REFUSE_NO_ASSOCIATION = "refuse-no-association"
    """A request outside an association: exception-response / confirmed-service-error."""
    RELEASE = "release"
    """Send RLRE; end the association (event AssociationReleased when there was one)."""
    ANSWER_EXCEPTION = "answer-exception"
    """Answer with exception-response (unknown or malformed APDU)."""
    DROP = "drop"
    """Forget the association silently (event AssociationReleased when there was one)."""
    NOTHING = "nothing"


@dataclass(frozen=True, slots=True)
class Transition:
    """One row of :data:`TRANSITIONS`."""

    action: AssociationAction
    next_state: AssociationState


_S = AssociationState
_I = AssociationInput
_A = AssociationAction

TRANSITIONS: Mapping[tuple[AssociationState, AssociationInput], Transition] = {
    (_S.IDLE, _I.AARQ_ACCEPTABLE): Transition(_A.ACCEPT, _S.ASSOCIATED),
    (_S.IDLE, _I.AARQ_NEEDS_HLS): Transition(_A.ACCEPT_PENDING_HLS, _S.AWAITING_PASS3),
    (_S.IDLE, _I.AARQ_REJECTED): Transition(_A.REJECT, _S.IDLE),
    (_S.IDLE, _I.SERVICE_REQUEST): Transition(_A.REFUSE_NO_ASSOCIATION, _S.IDLE),
    (_S.IDLE, _I.RLRQ): Transition(_A.RELEASE, _S.IDLE),
    (_S.IDLE, _I.MALFORMED): Transition(_A.ANSWER_EXCEPTION, _S.IDLE),
    (_S.IDLE, _I.LINK_ESTABLISHED): Transition(_A.NOTHING, _S.IDLE),
    (_S.IDLE, _I.LINK_CLOSED): Transition(_A.NOTHING, _S.IDLE),
    (_S.AWAITING_PASS3, _I.AARQ_ACCEPTABLE): Transition(_A.ACCEPT, _S.ASSOCIATED),
    (_S.AWAITING_PASS3, _I.AARQ_NEEDS_HLS): Transition(_A.ACCEPT_PENDING_HLS, _S.AWAITING_PASS3),
    (_S.AWAITING_PASS3, _I.AARQ_REJECTED): Transition(_A.REJECT, _S.IDLE),
    (_S.AWAITING_PASS3, _I.PASS3_VALID): Transition(_A.SEND_PASS4, _S.ASSOCIATED),
    (_S.AWAITING_PASS3, _I.PASS3_INVALID): Transition(_A.DENY_PASS3, _S.IDLE),
    (_S.AWAITING_PASS3, _I.SERVICE_REQUEST): Transition(_A.DENY_PENDING_HLS, _S.AWAITING_PASS3),
    (_S.AWAITING_PASS3, _I.RLRQ): Transition(_A.RELEASE, _S.IDLE),
    (_S.AWAITING_PASS3, _I.MALFORMED): Transition(_A.ANSWER_EXCEPTION, _S.AWAITING_PASS3),
    (_S.AWAITING_PASS3, _I.LINK_ESTABLISHED): Transition(_A.DROP, _S.IDLE),
    (_S.AWAITING_PASS3, _I.LINK_CLOSED): Transition(_A.DROP, _S.IDLE),
    (_S.ASSOCIATED, _I.AARQ_ACCEPTABLE): Transition(_A.REJECT_ALREADY_ASSOCIATED, _S.ASSOCIATED),
    (_S.ASSOCIATED, _I.AARQ_NEEDS_HLS): Transition(_A.REJECT_ALREADY_ASSOCIATED, _S.ASSOCIATED),
    (_S.ASSOCIATED, _I.AARQ_REJECTED): Transition(_A.REJECT_ALREADY_ASSOCIATED, _S.ASSOCIATED),
    (_S.ASSOCIATED, _I.SERVICE_REQUEST): Transition(_A.SERVE, _S.ASSOCIATED),
    (_S.ASSOCIATED, _I.RLRQ): Transition(_A.RELEASE, _S.IDLE),
    (_S.ASSOCIATED, _I.MALFORMED): Transition(_A.ANSWER_EXCEPTION, _S.ASSOCIATED),
    (_S.ASSOCIATED, _I.LINK_ESTABLISHED): Transition(_A.DROP, _S.IDLE),
    (_S.ASSOCIATED, _I.LINK_CLOSED): Transition(_A.DROP, _S.IDLE),
}
"""The association state machine of the server role. Inputs that a state cannot receive
(pass 3 outside AWAITING_PASS3 is classified as a plain SERVICE_REQUEST) are absent."""
