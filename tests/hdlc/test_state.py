"""The HDLC state table: complete, consistent, and what it says about the key transitions."""

from __future__ import annotations

import pytest

from asyncdlms.hdlc import HdlcConnection
from asyncdlms.hdlc._state import (
    LOCAL_COMMANDS,
    STATES_BY_ROLE,
    TRANSITIONS,
    Action,
    LinkInput,
    LinkState,
    Role,
    Transition,
    lookup,
)

ALL_PAIRS = [
    (role, state, link_input)
    for role, states in STATES_BY_ROLE.items()
    for state in sorted(states, key=lambda s: s.value)
    for link_input in LinkInput
]


def test_every_pair_of_every_role_is_in_the_table() -> None:
    missing = [pair for pair in ALL_PAIRS if pair not in TRANSITIONS]
    assert missing == []


def test_table_has_no_pair_for_a_state_the_role_does_not_use() -> None:
    extra = [key for key in TRANSITIONS if key[1] not in STATES_BY_ROLE[key[0]]]
    assert extra == []
    assert len(TRANSITIONS) == len(ALL_PAIRS)


def test_next_states_are_states_of_the_role() -> None:
    for (role, _, _), transition in TRANSITIONS.items():
        assert transition.next_state in STATES_BY_ROLE[role]
        assert isinstance(transition, Transition)
        assert transition.actions, "every transition names at least one action"


def test_every_action_has_an_executor_and_is_used() -> None:
    used = {action for transition in TRANSITIONS.values() for action in transition.actions}
    assert used == set(Action)
    assert set(HdlcConnection._ACTIONS) == set(Action)


def test_reject_command_only_for_local_commands() -> None:
    for (_, _, link_input), transition in TRANSITIONS.items():
        if Action.REJECT_COMMAND in transition.actions:
            assert link_input in LOCAL_COMMANDS
            assert transition.actions == (Action.REJECT_COMMAND,)


def test_rejected_commands_and_ignored_frames_keep_the_state() -> None:
    for (_, state, _), transition in TRANSITIONS.items():
        if transition.actions in (
            (Action.REJECT_COMMAND,),
            (Action.IGNORE,),
            (Action.PROTOCOL_VIOLATION,),
        ):
            assert transition.next_state is state


def test_close_actions_end_the_link_and_nothing_follows_them() -> None:
    closing = {
        Action.CLOSE_ORDERLY,
        Action.CLOSE_REJECTED,
        Action.CLOSE_PEER_DISCONNECTED,
        Action.CLOSE_FRAME_REJECTED,
        Action.CLOSE_TIMED_OUT,
        Action.CLOSE_INACTIVE,
        Action.CLOSE_ADDRESS_MISMATCH,
        Action.CLOSE_FAILED,
    }
    for key, transition in TRANSITIONS.items():
        if closing & set(transition.actions):
            assert transition.actions[-1] in closing, key
            assert transition.next_state in (LinkState.DISCONNECTED, LinkState.CLOSED), key


def test_server_never_uses_client_only_actions() -> None:
    client_only = {
        Action.SEND_SNRM,
        Action.RESEND_SNRM,
        Action.ACCEPT_UA_PARAMETERS,
        Action.SEND_DISC,
        Action.RESEND_DISC,
        Action.RETRANSMIT,
        Action.CLOSE_TIMED_OUT,
        Action.CLOSE_REJECTED,
    }
    for (role, _, _), transition in TRANSITIONS.items():
        if role is Role.SERVER:
            assert not client_only & set(transition.actions)


def test_client_never_uses_server_only_actions() -> None:
    server_only = {Action.SEND_UA_WITH_PARAMETERS, Action.SEND_UA, Action.SEND_DM}
    for (role, _, _), transition in TRANSITIONS.items():
        if role is Role.CLIENT:
            assert not server_only & set(transition.actions)


def test_every_client_state_is_reachable_from_disconnected() -> None:
    reached = {LinkState.DISCONNECTED}
    frontier = [LinkState.DISCONNECTED]
    while frontier:
        state = frontier.pop()
        for link_input in LinkInput:
            following = TRANSITIONS[(Role.CLIENT, state, link_input)].next_state
            if following not in reached:
                reached.add(following)
                frontier.append(following)
    assert reached == STATES_BY_ROLE[Role.CLIENT]


@pytest.mark.parametrize(
    ("key", "actions", "next_state"),
    [
        (
            (Role.CLIENT, LinkState.DISCONNECTED, LinkInput.CONNECT),
            (Action.RESET_SEQUENCE, Action.SEND_SNRM),
            LinkState.CONNECTING,
        ),
        (
            (Role.CLIENT, LinkState.CONNECTING, LinkInput.UA),
            (Action.ACCEPT_UA_PARAMETERS, Action.EMIT_ESTABLISHED),
            LinkState.CONNECTED,
        ),
        ((Role.CLIENT, LinkState.CONNECTING, LinkInput.DM), (Action.CLOSE_REJECTED,), "closed"),
        (
            (Role.CLIENT, LinkState.CONNECTED, LinkInput.FRMR),
            (Action.CLOSE_FRAME_REJECTED,),
            "closed",
        ),
        ((Role.CLIENT, LinkState.CONNECTED, LinkInput.TIMEOUT), (Action.RETRANSMIT,), "connected"),
        (
            (Role.CLIENT, LinkState.CONNECTED, LinkInput.RETRIES_EXHAUSTED),
            (Action.CLOSE_TIMED_OUT,),
            "closed",
        ),
        (
            (Role.CLIENT, LinkState.CONNECTED, LinkInput.UI),
            (Action.DELIVER_UNSOLICITED,),
            "connected",
        ),
        (
            (Role.CLIENT, LinkState.CONNECTED, LinkInput.FOREIGN),
            (Action.DELIVER_UNSOLICITED,),
            "connected",
        ),
        ((Role.CLIENT, LinkState.CONNECTED, LinkInput.ECHO), (Action.IGNORE,), "connected"),
        (
            (Role.CLIENT, LinkState.DISCONNECTING, LinkInput.UA),
            (Action.CLOSE_ORDERLY,),
            "disconnected",
        ),
        (
            (Role.SERVER, LinkState.DISCONNECTED, LinkInput.SNRM),
            (Action.RESET_SEQUENCE, Action.SEND_UA_WITH_PARAMETERS, Action.EMIT_ESTABLISHED),
            "connected",
        ),
        (
            (Role.SERVER, LinkState.CONNECTED, LinkInput.DISC),
            (Action.SEND_UA, Action.CLOSE_ORDERLY),
            "disconnected",
        ),
        ((Role.SERVER, LinkState.DISCONNECTED, LinkInput.I), (Action.SEND_DM,), "disconnected"),
        (
            (Role.SERVER, LinkState.CONNECTED, LinkInput.INACTIVITY),
            (Action.CLOSE_INACTIVE,),
            "disconnected",
        ),
    ],
)
def test_key_transitions(
    key: tuple[Role, LinkState, LinkInput],
    actions: tuple[Action, ...],
    next_state: LinkState | str,
) -> None:
    transition = TRANSITIONS[key]
    assert transition.actions == actions
    expected = next_state if isinstance(next_state, LinkState) else LinkState(next_state)
    assert transition.next_state is expected


def test_lookup_of_a_missing_pair_is_a_protocol_violation_not_a_key_error() -> None:
    # Server role never uses CONNECTING: the table has no row for it.
    received = lookup(Role.SERVER, LinkState.CONNECTING, LinkInput.RR)
    assert received.actions == (Action.PROTOCOL_VIOLATION,)
    assert received.next_state is LinkState.CONNECTING
    command = lookup(Role.SERVER, LinkState.CONNECTING, LinkInput.SEND)
    assert command.actions == (Action.REJECT_COMMAND,)
    assert command.next_state is LinkState.CONNECTING
