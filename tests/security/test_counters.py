"""Invocation counter stores: strictly increasing sends, replay refusal, never lowered, the
file store across restarts (no nonce reused), and the frame counter helpers (behaviour 5)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asyncdlms.obis import Obis
from asyncdlms.security import (
    FRAME_COUNTER_ATTRIBUTE,
    FRAME_COUNTER_CLASS_ID,
    MAX_INVOCATION_COUNTER,
    CipheredApdu,
    CipheringKey,
    FileInvocationCounterStore,
    InvocationCounterExhaustedError,
    InvocationCounterStore,
    InvocationCounterStoreError,
    MemoryInvocationCounterStore,
    ReplayError,
    SecurityContext,
    frame_counter_obis,
    next_invocation_counter,
)

TITLE = bytes.fromhex("4D4D4D0000000001")
PEER = bytes.fromhex("4D4D4D0000BC614E")
UNICAST = CipheringKey.GLOBAL_UNICAST_ENCRYPTION
KEY = bytes(range(16))
GET = bytes.fromhex("C0010000080000010000FF0200")


def test_stores_implement_the_protocol(tmp_path: Path) -> None:
    assert isinstance(MemoryInvocationCounterStore(), InvocationCounterStore)
    assert isinstance(FileInvocationCounterStore(tmp_path / "ic.json"), InvocationCounterStore)


def test_memory_store_counts_per_title_and_key() -> None:
    store = MemoryInvocationCounterStore()
    assert [store.next_to_send(TITLE, UNICAST) for _ in range(3)] == [1, 2, 3]
    assert store.next_to_send(TITLE, CipheringKey.DEDICATED) == 1
    assert store.next_to_send(PEER, UNICAST) == 1
    assert store.peek_next(TITLE, UNICAST) == 4
    store.advance(TITLE, UNICAST, 100)
    store.advance(TITLE, UNICAST, 50)  # never lowered
    assert store.next_to_send(TITLE, UNICAST) == 100
    assert MemoryInvocationCounterStore(initial=0).next_to_send(TITLE, UNICAST) == 0
    with pytest.raises(ValueError):
        MemoryInvocationCounterStore(initial=-1)
    with pytest.raises(ValueError):
        store.advance(TITLE, UNICAST, -1)


def test_memory_store_received() -> None:
    store = MemoryInvocationCounterStore()
    assert store.last_received(PEER, UNICAST) is None
    store.accept_received(PEER, UNICAST, 5)
    store.accept_received(PEER, CipheringKey.DEDICATED, 1)  # its own sequence
    with pytest.raises(ReplayError) as raised:
        store.accept_received(PEER, UNICAST, 5)
    assert (raised.value.received, raised.value.last) == (5, 5)
    with pytest.raises(ReplayError):
        store.accept_received(PEER, UNICAST, 4)
    store.accept_received(PEER, UNICAST, 6)
    assert store.last_received(PEER, UNICAST) == 6


def test_overflow_is_a_clear_error() -> None:
    store = MemoryInvocationCounterStore()
    store.advance(TITLE, UNICAST, MAX_INVOCATION_COUNTER)
    assert store.next_to_send(TITLE, UNICAST) == MAX_INVOCATION_COUNTER
    with pytest.raises(InvocationCounterExhaustedError, match="install new keys"):
        store.next_to_send(TITLE, UNICAST)
    with pytest.raises(InvocationCounterExhaustedError):
        store.next_to_send(TITLE, UNICAST)  # stays exhausted


@settings(max_examples=30)
@given(st.lists(st.one_of(st.just(None), st.integers(0, 5000)), max_size=60))
def test_memory_store_strictly_increasing(operations: list[int | None]) -> None:
    """Any mix of sends and advances gives strictly increasing counters."""
    store = MemoryInvocationCounterStore()
    sent: list[int] = []
    for operation in operations:
        if operation is None:
            sent.append(store.next_to_send(TITLE, UNICAST))
        else:
            store.advance(TITLE, UNICAST, operation)
    assert sent == sorted(set(sent))


def test_file_store_survives_restarts_without_reuse(tmp_path: Path) -> None:
    path = tmp_path / "state" / "ic.json"
    used: list[int] = []
    for _ in range(5):  # five process lifetimes
        store = FileInvocationCounterStore(path, reserve=10)
        used += [store.next_to_send(TITLE, UNICAST) for _ in range(7)]
        del store  # no flush, no close: a crash (the lock goes as with a process exit)
    assert used == sorted(set(used))
    assert used[0] == 1 and len(used) == 35
    document = json.loads(path.read_text())
    assert document["version"] == 1
    assert f"{TITLE.hex()}/global-unicast-encryption" in document["send"]
    assert not list(path.parent.glob("*.tmp"))


@settings(max_examples=20, deadline=None)
@given(
    st.lists(st.integers(0, 25), min_size=1, max_size=8),
    st.integers(1, 12),
)
def test_file_store_never_reuses_across_restarts(
    tmp_path_factory: pytest.TempPathFactory, batches: list[int], reserve: int
) -> None:
    path = tmp_path_factory.mktemp("ic") / "ic.json"
    used: list[int] = []
    for count in batches:
        store = FileInvocationCounterStore(path, reserve=reserve)
        used += [store.next_to_send(TITLE, UNICAST) for _ in range(count)]
        del store
    assert used == sorted(set(used))


def test_file_store_advance_and_received(tmp_path: Path) -> None:
    path = tmp_path / "ic.json"
    store = FileInvocationCounterStore(path)
    store.advance(TITLE, UNICAST, 1000)  # e.g. frame counter + 1: persisted at once
    store.accept_received(PEER, UNICAST, 77)
    store.close()
    again = FileInvocationCounterStore(path)
    assert again.next_to_send(TITLE, UNICAST) == 1000
    assert again.last_received(PEER, UNICAST) == 77
    with pytest.raises(ReplayError):
        again.accept_received(PEER, UNICAST, 77)
    again.advance(TITLE, UNICAST, 5)
    assert again.peek_next(TITLE, UNICAST) == 1001
    assert "ic.json" in repr(again) and again.path == path


def test_file_store_refuses_a_damaged_file(tmp_path: Path) -> None:
    path = tmp_path / "ic.json"
    for text in (
        "{not json",
        '{"version": 2, "send": {}, "received": {}}',
        '{"version": 1, "send": {"zz/global-unicast-encryption": 5}, "received": {}}',
        '{"version": 1, "send": {"00/other": 5}, "received": {}}',
        '{"version": 1, "send": {"00/dedicated": -5}, "received": {}}',
        '{"version": 1, "send": {"00/dedicated": true}, "received": {}}',
        "[]",
    ):
        path.write_text(text)
        with pytest.raises(InvocationCounterStoreError, match="damaged"):
            FileInvocationCounterStore(path)
    with pytest.raises(ValueError):
        FileInvocationCounterStore(tmp_path / "x.json", reserve=0)


def test_file_store_unwritable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    store = FileInvocationCounterStore(blocker / "ic.json", lock=False)  # no file: empty
    blocker.write_text("")  # now the parent is a file
    with pytest.raises(InvocationCounterStoreError, match="cannot write"):
        store.next_to_send(TITLE, UNICAST)
    with pytest.raises(InvocationCounterStoreError, match="cannot read"):
        FileInvocationCounterStore(blocker / "ic.json", lock=False)
    with pytest.raises(InvocationCounterStoreError, match="cannot open the lock file"):
        FileInvocationCounterStore(blocker / "ic.json")


def test_file_store_is_for_one_store_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "ic.json"
    with FileInvocationCounterStore(path) as store:
        assert store.next_to_send(TITLE, UNICAST) == 1
        store.accept_received(PEER, UNICAST, 9)
        with pytest.raises(InvocationCounterStoreError, match="in use by another store"):
            FileInvocationCounterStore(path)
    with FileInvocationCounterStore(path) as again:  # closed: free again, state kept
        assert again.next_to_send(TITLE, UNICAST) == 101
        assert again.last_received(PEER, UNICAST) == 9
    path.write_text("{damaged")
    with pytest.raises(InvocationCounterStoreError, match="damaged"):
        FileInvocationCounterStore(path)
    path.unlink()
    FileInvocationCounterStore(path).close()  # the failed one released its lock


def test_context_counters_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "ic.json"
    counters: list[int] = []
    for _ in range(3):
        client = SecurityContext(
            system_title=TITLE,
            block_cipher_key=KEY,
            authentication_key=KEY,
            counter_store=FileInvocationCounterStore(path, reserve=4),
        )
        for _ in range(5):
            counters.append(CipheredApdu.decode(client.protect(GET)).invocation_counter)
        del client  # a crash
    assert counters == sorted(set(counters))
    server = SecurityContext(
        system_title=PEER, peer_system_title=TITLE, block_cipher_key=KEY, authentication_key=KEY
    )
    client = SecurityContext(
        system_title=TITLE,
        block_cipher_key=KEY,
        authentication_key=KEY,
        counter_store=FileInvocationCounterStore(path, reserve=4),
    )
    server.unprotect(client.protect(GET))  # the restarted client is accepted...
    old = SecurityContext(system_title=TITLE, block_cipher_key=KEY, authentication_key=KEY)
    with pytest.raises(ReplayError):  # ...a client that started over is not
        server.unprotect(old.protect(GET))


def test_frame_counter_helpers() -> None:
    assert frame_counter_obis(1) == Obis(0, 0, 43, 1, 1, 255)
    assert str(frame_counter_obis(0)) == "0.0.43.1.0.255"
    assert (FRAME_COUNTER_CLASS_ID, FRAME_COUNTER_ATTRIBUTE) == (1, 2)
    assert next_invocation_counter(0) == 1
    assert next_invocation_counter(0x1234) == 0x1235
    with pytest.raises(InvocationCounterExhaustedError):
        next_invocation_counter(MAX_INVOCATION_COUNTER)
    for bad in (-1, 1 << 32):
        with pytest.raises(ValueError):
            next_invocation_counter(bad)
    with pytest.raises(ValueError):
        next_invocation_counter(True)
    with pytest.raises(ValueError):
        frame_counter_obis(256)


def test_frame_counter_then_never_lowered() -> None:
    """Behaviour 5: continue from the meter's frame counter + 1, and never go back."""
    client = SecurityContext(system_title=TITLE, block_cipher_key=KEY, authentication_key=KEY)
    client.advance_invocation_counter(next_invocation_counter(41))
    assert CipheredApdu.decode(client.protect(GET)).invocation_counter == 42
    client.advance_invocation_counter(next_invocation_counter(10))  # a stale read
    assert CipheredApdu.decode(client.protect(GET)).invocation_counter == 43
