"""The HDLC link state machine as one table (IEC 62056-46 clause 6.4.4, normal response mode).

Every transition of :class:`asyncdlms.hdlc.connection.HdlcConnection` is one row of
:data:`TRANSITIONS`::

    (role, state, input) -> Transition(actions, next_state)

A reader follows the link by reading this file only: *role* is the station type (the
client is the primary station, the server the secondary station), *state* where the link
is, *input* what happened (a local command, a received frame classified by its type and
address, or a timer), *actions* what the connection does, in order, and *next_state*
where the link ends up. ``connection.py`` classifies inputs and executes actions; it never
decides a state change on its own.

Two rules keep the table small and honest:

- Sequence-number bookkeeping (N(S), N(R), windows, segments) lives inside the actions
  ``RECEIVE_INFORMATION``, ``RECEIVE_READY`` and ``RECEIVE_NOT_READY``. When one of them
  finds an unrecoverable error it does not change state itself: it reports the input
  ``FAILURE`` and the table says what happens then.
- Every pair is in the table. Local commands that make no sense in a state (sending before
  the link is up, connecting twice) map to ``REJECT_COMMAND``, which raises
  :class:`~asyncdlms.errors.LinkError` to the caller; received frames that make no sense in
  a state map to ``IGNORE`` or ``PROTOCOL_VIOLATION`` (dropped and counted, never a crash).
  :func:`lookup` still treats a missing pair as a protocol error rather than a ``KeyError``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "LOCAL_COMMANDS",
    "STATES_BY_ROLE",
    "TRANSITIONS",
    "Action",
    "LinkInput",
    "LinkState",
    "Role",
    "Transition",
    "lookup",
]


class Role(enum.Enum):
    """Station type: the client is the primary station, the server the secondary."""

    CLIENT = "client"
    SERVER = "server"


class LinkState(enum.Enum):
    """Where the link is."""

    #: No link; a client may connect, a server waits for SNRM (normal disconnected mode).
    DISCONNECTED = "disconnected"
    #: Client only: SNRM sent, waiting for UA (or DM).
    CONNECTING = "connecting"
    #: Link established (normal response mode): I, RR and RNR frames flow.
    CONNECTED = "connected"
    #: Client only: DISC sent, waiting for UA (or DM).
    DISCONNECTING = "disconnecting"
    #: Client only: the link failed (timeout, rejection, error). ``connect`` starts afresh.
    CLOSED = "closed"


class LinkInput(enum.Enum):
    """What can happen to a link."""

    # Local commands (calls of the Link API).
    CONNECT = "connect"
    SEND = "send"
    DISCONNECT = "disconnect"
    # Frames from the peer station, addressed to this station.
    SNRM = "SNRM"
    UA = "UA"
    DM = "DM"
    DISC = "DISC"
    FRMR = "FRMR"
    I = "I"  # noqa: E741 - the standard's name for an information frame
    RR = "RR"
    RNR = "RNR"
    UI = "UI"
    # Frames classified by their addresses before their type.
    #: A byte-exact copy of a frame this station sent (optical heads echo, quirk 7).
    ECHO = "echo"
    #: An I or UI frame for another client address, or from/to another station (pushes).
    FOREIGN = "foreign"
    #: A frame for this client from another server than the configured one.
    ADDRESS_MISMATCH = "address mismatch"
    # Timers.
    #: The response timer expired and retransmissions are left.
    TIMEOUT = "timeout"
    #: The response timer expired after max_retransmissions retransmissions.
    RETRIES_EXHAUSTED = "retries exhausted"
    #: Nothing was received for inactivity_timeout seconds.
    INACTIVITY = "inactivity"
    # Reported by an action.
    #: An action found an unrecoverable error (sequence numbers, bad UA, ...).
    FAILURE = "failure"


#: Inputs that come from the local user; REJECT_COMMAND raises for these.
LOCAL_COMMANDS = frozenset({LinkInput.CONNECT, LinkInput.SEND, LinkInput.DISCONNECT})


class Action(enum.Enum):
    """What the connection does; each member is executed by one method of HdlcConnection."""

    #: Do nothing (a late duplicate, a frame with no meaning here, a repeated command).
    IGNORE = "ignore"
    #: Drop the frame and count it as a protocol violation of the peer.
    PROTOCOL_VIOLATION = "protocol violation"
    #: Raise LinkError to the caller of a local command that is not valid in this state.
    REJECT_COMMAND = "reject command"
    #: V(S) = V(R) = 0, forget queued and unacknowledged frames and partial APDUs.
    RESET_SEQUENCE = "reset sequence"
    #: Client: send SNRM with the proposed parameters, start the response timer.
    SEND_SNRM = "send SNRM"
    #: Client: send the SNRM again (response timer expired).
    RESEND_SNRM = "resend SNRM"
    #: Client: take the negotiated parameters from the UA (empty UA = defaults).
    ACCEPT_UA_PARAMETERS = "accept UA parameters"
    #: Server: negotiate (minimum of both proposals) and answer the SNRM with UA.
    SEND_UA_WITH_PARAMETERS = "send UA with parameters"
    #: Server: answer DISC with UA (no information field).
    SEND_UA = "send UA"
    #: Server: answer a command with DM (we are in disconnected mode) when it polls.
    SEND_DM = "send DM"
    #: Client: send DISC and start the response timer.
    SEND_DISC = "send DISC"
    #: Client: send DISC again (response timer expired).
    RESEND_DISC = "resend DISC"
    #: Emit LinkEstablished with the negotiated max information lengths.
    EMIT_ESTABLISHED = "emit LinkEstablished"
    #: Queue an APDU (segmented as it is transmitted).
    QUEUE_APDU = "queue APDU"
    #: Accept an I-frame: check N(S)/N(R), reassemble segments, acknowledge, deliver.
    RECEIVE_INFORMATION = "receive I-frame"
    #: Accept RR: release acknowledged frames, the peer may receive again.
    RECEIVE_READY = "receive RR"
    #: Accept RNR: release acknowledged frames, the peer is busy.
    RECEIVE_NOT_READY = "receive RNR"
    #: Deliver the information field as ApduReceived(unsolicited=True) (pushes).
    DELIVER_UNSOLICITED = "deliver unsolicited"
    #: Client: the response timer expired; retransmit unacknowledged frames or poll with RR.
    RETRANSMIT = "retransmit"
    #: Emit LinkClosed(None): an orderly disconnect.
    CLOSE_ORDERLY = "close orderly"
    #: Emit LinkClosed(ConnectionRejectedError): DM in answer to SNRM.
    CLOSE_REJECTED = "close rejected"
    #: Emit LinkClosed(LinkError): DM while the link was up (the peer dropped it).
    CLOSE_PEER_DISCONNECTED = "close peer disconnected"
    #: Emit LinkClosed(FrameRejectedError): the peer sent FRMR.
    CLOSE_FRAME_REJECTED = "close frame rejected"
    #: Emit LinkClosed(LinkTimeoutError): no answer after all retransmissions.
    CLOSE_TIMED_OUT = "close timed out"
    #: Emit LinkClosed(LinkTimeoutError): inactivity timeout.
    CLOSE_INACTIVE = "close inactive"
    #: Emit LinkClosed(AddressMismatchError): a frame for us from another server.
    CLOSE_ADDRESS_MISMATCH = "close address mismatch"
    #: Emit LinkClosed(error) with the error an action reported through FAILURE.
    CLOSE_FAILED = "close failed"


@dataclass(frozen=True, slots=True)
class Transition:
    """The actions to execute, in order, and the state the link is in afterwards."""

    actions: tuple[Action, ...]
    next_state: LinkState


#: The states each role uses.
STATES_BY_ROLE: dict[Role, frozenset[LinkState]] = {
    Role.CLIENT: frozenset(LinkState),
    Role.SERVER: frozenset({LinkState.DISCONNECTED, LinkState.CONNECTED}),
}


def _t(*actions: Action, then: LinkState) -> Transition:
    return Transition(tuple(actions), then)


A = Action
C, S = Role.CLIENT, Role.SERVER
DISCONNECTED, CONNECTING, CONNECTED = (
    LinkState.DISCONNECTED,
    LinkState.CONNECTING,
    LinkState.CONNECTED,
)
DISCONNECTING, CLOSED = LinkState.DISCONNECTING, LinkState.CLOSED
In = LinkInput

#: The whole state machine: (role, state, input) -> Transition(actions, next_state).
TRANSITIONS: dict[tuple[Role, LinkState, LinkInput], Transition] = {
    # ---------------------------------------------------------------- client, DISCONNECTED
    # No link. Pushes (UI frames, I-frames for anybody) are still delivered (HAN ports).
    (C, DISCONNECTED, In.CONNECT): _t(A.RESET_SEQUENCE, A.SEND_SNRM, then=CONNECTING),
    (C, DISCONNECTED, In.SEND): _t(A.REJECT_COMMAND, then=DISCONNECTED),
    (C, DISCONNECTED, In.DISCONNECT): _t(A.IGNORE, then=DISCONNECTED),
    (C, DISCONNECTED, In.SNRM): _t(A.PROTOCOL_VIOLATION, then=DISCONNECTED),
    (C, DISCONNECTED, In.UA): _t(A.IGNORE, then=DISCONNECTED),
    (C, DISCONNECTED, In.DM): _t(A.IGNORE, then=DISCONNECTED),
    (C, DISCONNECTED, In.DISC): _t(A.PROTOCOL_VIOLATION, then=DISCONNECTED),
    (C, DISCONNECTED, In.FRMR): _t(A.IGNORE, then=DISCONNECTED),
    (C, DISCONNECTED, In.I): _t(A.DELIVER_UNSOLICITED, then=DISCONNECTED),
    (C, DISCONNECTED, In.RR): _t(A.IGNORE, then=DISCONNECTED),
    (C, DISCONNECTED, In.RNR): _t(A.IGNORE, then=DISCONNECTED),
    (C, DISCONNECTED, In.UI): _t(A.DELIVER_UNSOLICITED, then=DISCONNECTED),
    (C, DISCONNECTED, In.ECHO): _t(A.IGNORE, then=DISCONNECTED),
    (C, DISCONNECTED, In.FOREIGN): _t(A.DELIVER_UNSOLICITED, then=DISCONNECTED),
    (C, DISCONNECTED, In.ADDRESS_MISMATCH): _t(A.DELIVER_UNSOLICITED, then=DISCONNECTED),
    (C, DISCONNECTED, In.TIMEOUT): _t(A.IGNORE, then=DISCONNECTED),
    (C, DISCONNECTED, In.RETRIES_EXHAUSTED): _t(A.IGNORE, then=DISCONNECTED),
    (C, DISCONNECTED, In.INACTIVITY): _t(A.IGNORE, then=DISCONNECTED),
    (C, DISCONNECTED, In.FAILURE): _t(A.IGNORE, then=DISCONNECTED),
    # ---------------------------------------------------------------- client, CONNECTING
    # SNRM sent; the response timer runs. APDUs sent now wait for the link.
    (C, CONNECTING, In.CONNECT): _t(A.REJECT_COMMAND, then=CONNECTING),
    (C, CONNECTING, In.SEND): _t(A.QUEUE_APDU, then=CONNECTING),
    (C, CONNECTING, In.DISCONNECT): _t(A.SEND_DISC, then=DISCONNECTING),
    (C, CONNECTING, In.SNRM): _t(A.PROTOCOL_VIOLATION, then=CONNECTING),
    (C, CONNECTING, In.UA): _t(A.ACCEPT_UA_PARAMETERS, A.EMIT_ESTABLISHED, then=CONNECTED),
    (C, CONNECTING, In.DM): _t(A.CLOSE_REJECTED, then=CLOSED),
    (C, CONNECTING, In.DISC): _t(A.PROTOCOL_VIOLATION, then=CONNECTING),
    (C, CONNECTING, In.FRMR): _t(A.CLOSE_FRAME_REJECTED, then=CLOSED),
    (C, CONNECTING, In.I): _t(A.IGNORE, then=CONNECTING),  # late frame of an old link
    (C, CONNECTING, In.RR): _t(A.IGNORE, then=CONNECTING),
    (C, CONNECTING, In.RNR): _t(A.IGNORE, then=CONNECTING),
    (C, CONNECTING, In.UI): _t(A.DELIVER_UNSOLICITED, then=CONNECTING),
    (C, CONNECTING, In.ECHO): _t(A.IGNORE, then=CONNECTING),
    (C, CONNECTING, In.FOREIGN): _t(A.DELIVER_UNSOLICITED, then=CONNECTING),
    (C, CONNECTING, In.ADDRESS_MISMATCH): _t(A.CLOSE_ADDRESS_MISMATCH, then=CLOSED),
    (C, CONNECTING, In.TIMEOUT): _t(A.RESEND_SNRM, then=CONNECTING),
    (C, CONNECTING, In.RETRIES_EXHAUSTED): _t(A.CLOSE_TIMED_OUT, then=CLOSED),
    (C, CONNECTING, In.INACTIVITY): _t(A.IGNORE, then=CONNECTING),
    (C, CONNECTING, In.FAILURE): _t(A.CLOSE_FAILED, then=CLOSED),
    # ---------------------------------------------------------------- client, CONNECTED
    (C, CONNECTED, In.CONNECT): _t(A.REJECT_COMMAND, then=CONNECTED),
    (C, CONNECTED, In.SEND): _t(A.QUEUE_APDU, then=CONNECTED),
    (C, CONNECTED, In.DISCONNECT): _t(A.SEND_DISC, then=DISCONNECTING),
    (C, CONNECTED, In.SNRM): _t(A.PROTOCOL_VIOLATION, then=CONNECTED),
    (C, CONNECTED, In.UA): _t(A.IGNORE, then=CONNECTED),  # duplicate UA of a resent SNRM
    (C, CONNECTED, In.DM): _t(A.CLOSE_PEER_DISCONNECTED, then=CLOSED),
    (C, CONNECTED, In.DISC): _t(A.PROTOCOL_VIOLATION, then=CONNECTED),
    (C, CONNECTED, In.FRMR): _t(A.CLOSE_FRAME_REJECTED, then=CLOSED),
    (C, CONNECTED, In.I): _t(A.RECEIVE_INFORMATION, then=CONNECTED),
    (C, CONNECTED, In.RR): _t(A.RECEIVE_READY, then=CONNECTED),
    (C, CONNECTED, In.RNR): _t(A.RECEIVE_NOT_READY, then=CONNECTED),
    (C, CONNECTED, In.UI): _t(A.DELIVER_UNSOLICITED, then=CONNECTED),
    (C, CONNECTED, In.ECHO): _t(A.IGNORE, then=CONNECTED),
    (C, CONNECTED, In.FOREIGN): _t(A.DELIVER_UNSOLICITED, then=CONNECTED),
    (C, CONNECTED, In.ADDRESS_MISMATCH): _t(A.CLOSE_ADDRESS_MISMATCH, then=CLOSED),
    (C, CONNECTED, In.TIMEOUT): _t(A.RETRANSMIT, then=CONNECTED),
    (C, CONNECTED, In.RETRIES_EXHAUSTED): _t(A.CLOSE_TIMED_OUT, then=CLOSED),
    (C, CONNECTED, In.INACTIVITY): _t(A.CLOSE_INACTIVE, then=CLOSED),
    (C, CONNECTED, In.FAILURE): _t(A.CLOSE_FAILED, then=CLOSED),
    # ---------------------------------------------------------------- client, DISCONNECTING
    # DISC sent; the response timer runs. UA or DM both end the link in order.
    (C, DISCONNECTING, In.CONNECT): _t(A.REJECT_COMMAND, then=DISCONNECTING),
    (C, DISCONNECTING, In.SEND): _t(A.REJECT_COMMAND, then=DISCONNECTING),
    (C, DISCONNECTING, In.DISCONNECT): _t(A.IGNORE, then=DISCONNECTING),
    (C, DISCONNECTING, In.SNRM): _t(A.PROTOCOL_VIOLATION, then=DISCONNECTING),
    (C, DISCONNECTING, In.UA): _t(A.CLOSE_ORDERLY, then=DISCONNECTED),
    (C, DISCONNECTING, In.DM): _t(A.CLOSE_ORDERLY, then=DISCONNECTED),
    (C, DISCONNECTING, In.DISC): _t(A.PROTOCOL_VIOLATION, then=DISCONNECTING),
    (C, DISCONNECTING, In.FRMR): _t(A.CLOSE_FRAME_REJECTED, then=CLOSED),
    (C, DISCONNECTING, In.I): _t(A.IGNORE, then=DISCONNECTING),
    (C, DISCONNECTING, In.RR): _t(A.IGNORE, then=DISCONNECTING),
    (C, DISCONNECTING, In.RNR): _t(A.IGNORE, then=DISCONNECTING),
    (C, DISCONNECTING, In.UI): _t(A.DELIVER_UNSOLICITED, then=DISCONNECTING),
    (C, DISCONNECTING, In.ECHO): _t(A.IGNORE, then=DISCONNECTING),
    (C, DISCONNECTING, In.FOREIGN): _t(A.DELIVER_UNSOLICITED, then=DISCONNECTING),
    (C, DISCONNECTING, In.ADDRESS_MISMATCH): _t(A.CLOSE_ADDRESS_MISMATCH, then=CLOSED),
    (C, DISCONNECTING, In.TIMEOUT): _t(A.RESEND_DISC, then=DISCONNECTING),
    (C, DISCONNECTING, In.RETRIES_EXHAUSTED): _t(A.CLOSE_TIMED_OUT, then=CLOSED),
    (C, DISCONNECTING, In.INACTIVITY): _t(A.IGNORE, then=DISCONNECTING),
    (C, DISCONNECTING, In.FAILURE): _t(A.CLOSE_FAILED, then=CLOSED),
    # ---------------------------------------------------------------- client, CLOSED
    # The link failed. UI pushes and frames for other clients are still delivered, late
    # I-frames of the failed link are not; connect() starts a new link.
    (C, CLOSED, In.CONNECT): _t(A.RESET_SEQUENCE, A.SEND_SNRM, then=CONNECTING),
    (C, CLOSED, In.SEND): _t(A.REJECT_COMMAND, then=CLOSED),
    (C, CLOSED, In.DISCONNECT): _t(A.IGNORE, then=CLOSED),
    (C, CLOSED, In.SNRM): _t(A.PROTOCOL_VIOLATION, then=CLOSED),
    (C, CLOSED, In.UA): _t(A.IGNORE, then=CLOSED),
    (C, CLOSED, In.DM): _t(A.IGNORE, then=CLOSED),
    (C, CLOSED, In.DISC): _t(A.PROTOCOL_VIOLATION, then=CLOSED),
    (C, CLOSED, In.FRMR): _t(A.IGNORE, then=CLOSED),
    (C, CLOSED, In.I): _t(A.IGNORE, then=CLOSED),  # late frames of the failed link
    (C, CLOSED, In.RR): _t(A.IGNORE, then=CLOSED),
    (C, CLOSED, In.RNR): _t(A.IGNORE, then=CLOSED),
    (C, CLOSED, In.UI): _t(A.DELIVER_UNSOLICITED, then=CLOSED),
    (C, CLOSED, In.ECHO): _t(A.IGNORE, then=CLOSED),
    (C, CLOSED, In.FOREIGN): _t(A.DELIVER_UNSOLICITED, then=CLOSED),
    (C, CLOSED, In.ADDRESS_MISMATCH): _t(A.IGNORE, then=CLOSED),
    (C, CLOSED, In.TIMEOUT): _t(A.IGNORE, then=CLOSED),
    (C, CLOSED, In.RETRIES_EXHAUSTED): _t(A.IGNORE, then=CLOSED),
    (C, CLOSED, In.INACTIVITY): _t(A.IGNORE, then=CLOSED),
    (C, CLOSED, In.FAILURE): _t(A.IGNORE, then=CLOSED),
    # ---------------------------------------------------------------- server, DISCONNECTED
    # Normal disconnected mode: wait for SNRM, answer other polling commands with DM.
    (S, DISCONNECTED, In.CONNECT): _t(A.IGNORE, then=DISCONNECTED),  # a server just waits
    (S, DISCONNECTED, In.SEND): _t(A.REJECT_COMMAND, then=DISCONNECTED),
    (S, DISCONNECTED, In.DISCONNECT): _t(A.IGNORE, then=DISCONNECTED),
    (S, DISCONNECTED, In.SNRM): _t(
        A.RESET_SEQUENCE, A.SEND_UA_WITH_PARAMETERS, A.EMIT_ESTABLISHED, then=CONNECTED
    ),
    (S, DISCONNECTED, In.UA): _t(A.PROTOCOL_VIOLATION, then=DISCONNECTED),
    (S, DISCONNECTED, In.DM): _t(A.PROTOCOL_VIOLATION, then=DISCONNECTED),
    (S, DISCONNECTED, In.DISC): _t(A.SEND_DM, then=DISCONNECTED),
    (S, DISCONNECTED, In.FRMR): _t(A.PROTOCOL_VIOLATION, then=DISCONNECTED),
    (S, DISCONNECTED, In.I): _t(A.SEND_DM, then=DISCONNECTED),
    (S, DISCONNECTED, In.RR): _t(A.SEND_DM, then=DISCONNECTED),
    (S, DISCONNECTED, In.RNR): _t(A.SEND_DM, then=DISCONNECTED),
    (S, DISCONNECTED, In.UI): _t(A.DELIVER_UNSOLICITED, then=DISCONNECTED),
    (S, DISCONNECTED, In.ECHO): _t(A.IGNORE, then=DISCONNECTED),
    (S, DISCONNECTED, In.FOREIGN): _t(A.IGNORE, then=DISCONNECTED),  # for another station
    (S, DISCONNECTED, In.ADDRESS_MISMATCH): _t(A.IGNORE, then=DISCONNECTED),
    (S, DISCONNECTED, In.TIMEOUT): _t(A.IGNORE, then=DISCONNECTED),
    (S, DISCONNECTED, In.RETRIES_EXHAUSTED): _t(A.IGNORE, then=DISCONNECTED),
    (S, DISCONNECTED, In.INACTIVITY): _t(A.IGNORE, then=DISCONNECTED),
    (S, DISCONNECTED, In.FAILURE): _t(A.IGNORE, then=DISCONNECTED),
    # ---------------------------------------------------------------- server, CONNECTED
    # Normal response mode. A server never retransmits on a timer: it answers polls. A
    # failure or an inactivity timeout drops it back to disconnected mode (no frame sent).
    (S, CONNECTED, In.CONNECT): _t(A.IGNORE, then=CONNECTED),
    (S, CONNECTED, In.SEND): _t(A.QUEUE_APDU, then=CONNECTED),
    (S, CONNECTED, In.DISCONNECT): _t(A.CLOSE_ORDERLY, then=DISCONNECTED),
    (S, CONNECTED, In.SNRM): _t(  # the client restarts the link (or resends a lost UA's SNRM)
        A.RESET_SEQUENCE, A.SEND_UA_WITH_PARAMETERS, A.EMIT_ESTABLISHED, then=CONNECTED
    ),
    (S, CONNECTED, In.UA): _t(A.PROTOCOL_VIOLATION, then=CONNECTED),
    (S, CONNECTED, In.DM): _t(A.PROTOCOL_VIOLATION, then=CONNECTED),
    (S, CONNECTED, In.DISC): _t(A.SEND_UA, A.CLOSE_ORDERLY, then=DISCONNECTED),
    (S, CONNECTED, In.FRMR): _t(A.CLOSE_FRAME_REJECTED, then=DISCONNECTED),
    (S, CONNECTED, In.I): _t(A.RECEIVE_INFORMATION, then=CONNECTED),
    (S, CONNECTED, In.RR): _t(A.RECEIVE_READY, then=CONNECTED),
    (S, CONNECTED, In.RNR): _t(A.RECEIVE_NOT_READY, then=CONNECTED),
    (S, CONNECTED, In.UI): _t(A.DELIVER_UNSOLICITED, then=CONNECTED),
    (S, CONNECTED, In.ECHO): _t(A.IGNORE, then=CONNECTED),
    (S, CONNECTED, In.FOREIGN): _t(A.IGNORE, then=CONNECTED),
    (S, CONNECTED, In.ADDRESS_MISMATCH): _t(A.IGNORE, then=CONNECTED),  # another client
    (S, CONNECTED, In.TIMEOUT): _t(A.IGNORE, then=CONNECTED),
    (S, CONNECTED, In.RETRIES_EXHAUSTED): _t(A.IGNORE, then=CONNECTED),
    (S, CONNECTED, In.INACTIVITY): _t(A.CLOSE_INACTIVE, then=DISCONNECTED),
    (S, CONNECTED, In.FAILURE): _t(A.CLOSE_FAILED, then=DISCONNECTED),
}

del A, C, S, In, DISCONNECTED, CONNECTING, CONNECTED, DISCONNECTING, CLOSED


def lookup(role: Role, state: LinkState, link_input: LinkInput) -> Transition:
    """The transition for ``(role, state, link_input)``.

    A pair that is not in the table (there are none; a test checks it) is a protocol
    violation that leaves the state unchanged, never a ``KeyError``; for a local command it
    is a rejected command.
    """
    transition = TRANSITIONS.get((role, state, link_input))
    if transition is not None:
        return transition
    if link_input in LOCAL_COMMANDS:
        return Transition((Action.REJECT_COMMAND,), state)
    return Transition((Action.PROTOCOL_VIOLATION,), state)
