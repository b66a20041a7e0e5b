"""The association state machine of the client role, one table::

    (state, input) -> (action, next state)

An input the table does not expect in the current state is ignored (and counted)."""

from __future__ import annotations

import enum

__all__ = ["ASSOCIATION_TRANSITIONS", "AssociationInput", "AssociationState"]


class AssociationState(enum.Enum):
    """Where the association is."""

    IDLE = "idle"
    LINK_PENDING = "link-pending"
    AARQ_SENT = "aarq-sent"
    HLS_PENDING = "hls-pending"
    ASSOCIATED = "associated"
    RELEASE_PENDING = "release-pending"
    DISCONNECTING = "disconnecting"
    CLOSED = "closed"


class AssociationInput(enum.Enum):
    """What can happen to the association."""

    ASSOCIATE = "associate"
    LINK_UP = "link-up"
    AARE_ACCEPTED = "aare-accepted"
    AARE_HLS = "aare-hls"
    AARE_REJECTED = "aare-rejected"
    PASS4_VERIFIED = "pass4-verified"
    PASS4_FAILED = "pass4-failed"
    RELEASE = "release"
    RLRE = "rlre"
    RELEASE_UNANSWERED = "release-unanswered"
    LINK_DOWN = "link-down"


_S = AssociationState


_I = AssociationInput


ASSOCIATION_TRANSITIONS: dict[
    tuple[AssociationState, AssociationInput], tuple[str, AssociationState]
] = {
    # establishing: link first, then AARQ, then (HLS) pass 3/4
    (_S.IDLE, _I.ASSOCIATE): ("connect_link", _S.LINK_PENDING),
    (_S.CLOSED, _I.ASSOCIATE): ("connect_link", _S.LINK_PENDING),
    (_S.LINK_PENDING, _I.LINK_UP): ("send_aarq", _S.AARQ_SENT),
    (_S.AARQ_SENT, _I.AARE_ACCEPTED): ("establish", _S.ASSOCIATED),
    (_S.AARQ_SENT, _I.AARE_HLS): ("send_pass3", _S.HLS_PENDING),
    (_S.AARQ_SENT, _I.AARE_REJECTED): ("fail_association", _S.DISCONNECTING),
    (_S.HLS_PENDING, _I.PASS4_VERIFIED): ("establish", _S.ASSOCIATED),
    (_S.HLS_PENDING, _I.PASS4_FAILED): ("fail_association", _S.DISCONNECTING),
    # releasing: RLRQ, then the link; without an answer (quirk 16) the link anyway
    (_S.ASSOCIATED, _I.RELEASE): ("send_rlrq", _S.RELEASE_PENDING),
    (_S.RELEASE_PENDING, _I.RLRE): ("disconnect_link", _S.DISCONNECTING),
    (_S.RELEASE_PENDING, _I.RELEASE_UNANSWERED): ("disconnect_link", _S.DISCONNECTING),
    (_S.LINK_PENDING, _I.RELEASE): ("abandon", _S.DISCONNECTING),
    (_S.AARQ_SENT, _I.RELEASE): ("abandon", _S.DISCONNECTING),
    (_S.HLS_PENDING, _I.RELEASE): ("abandon", _S.DISCONNECTING),
    (_S.IDLE, _I.RELEASE): ("nothing", _S.IDLE),
    (_S.CLOSED, _I.RELEASE): ("nothing", _S.CLOSED),
    (_S.DISCONNECTING, _I.RELEASE): ("nothing", _S.DISCONNECTING),
    (_S.RELEASE_PENDING, _I.RELEASE): ("nothing", _S.RELEASE_PENDING),
    # the link went down
    (_S.DISCONNECTING, _I.LINK_DOWN): ("closed", _S.CLOSED),
    (_S.LINK_PENDING, _I.LINK_DOWN): ("link_lost", _S.CLOSED),
    (_S.AARQ_SENT, _I.LINK_DOWN): ("link_lost", _S.CLOSED),
    (_S.HLS_PENDING, _I.LINK_DOWN): ("link_lost", _S.CLOSED),
    (_S.ASSOCIATED, _I.LINK_DOWN): ("link_lost", _S.CLOSED),
    (_S.RELEASE_PENDING, _I.LINK_DOWN): ("closed", _S.CLOSED),
}
"""The association state machine, in one table: ``(state, input) -> (action, next state)``.
An input missing from the table for the current state is ignored (and counted in
``ClientSession.ignored_inputs``)."""
