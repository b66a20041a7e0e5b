"""Invocation counter stores: strictly increasing sends, replay refusal, never lowered, keys
told apart by identity, the file store across restarts, threads and processes (no nonce
reused), the process's default store, and the frame counter helpers (behaviour 5)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
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
    CipheringForm,
    CipheringKey,
    FileInvocationCounterStore,
    InvocationCounterExhaustedError,
    InvocationCounterStore,
    InvocationCounterStoreError,
    KeyIdentity,
    MemoryInvocationCounterStore,
    ReplayError,
    SecurityContext,
    SharedInvocationCounterStore,
    default_invocation_counter_store,
    frame_counter_obis,
    key_identity,
    next_invocation_counter,
    set_default_invocation_counter_store,
)

TITLE = bytes.fromhex("4D4D4D0000000001")
PEER = bytes.fromhex("4D4D4D0000BC614E")
KEY = bytes(range(16))
UNICAST = key_identity(CipheringKey.GLOBAL_UNICAST_ENCRYPTION, KEY)
BROADCAST = key_identity(CipheringKey.GLOBAL_BROADCAST_ENCRYPTION, KEY)
REPO = Path(__file__).resolve().parents[2]
GET = bytes.fromhex("C0010000080000010000FF0200")


def test_stores_implement_the_protocol(tmp_path: Path) -> None:
    assert isinstance(MemoryInvocationCounterStore(), InvocationCounterStore)
    assert isinstance(FileInvocationCounterStore(tmp_path / "ic.json"), InvocationCounterStore)
    # shared by processes: told when associations begin; a memory store is one process's
    assert isinstance(
        FileInvocationCounterStore(tmp_path / "ic.json"), SharedInvocationCounterStore
    )
    assert not isinstance(MemoryInvocationCounterStore(), SharedInvocationCounterStore)


def test_file_store_association_starts_above_another_process(tmp_path: Path) -> None:
    """Two stores on one file (two processes): an association of the first, begun after the
    second reserved a block, starts above that block; a system title the other process did
    not touch keeps its block; with no other writer nothing is written."""
    path = tmp_path / "ic.json"
    first, second = FileInvocationCounterStore(path), FileInvocationCounterStore(path)
    own = first.next_to_send(TITLE, UNICAST)
    other_title = bytes.fromhex("4D4D4D0000000002")
    kept = first.next_to_send(other_title, UNICAST)
    theirs = second.next_to_send(TITLE, UNICAST)
    assert theirs >= own + 100  # the second process's block is above the first's
    first.begin_association(TITLE)
    assert first.next_to_send(TITLE, UNICAST) > theirs
    first.begin_association(other_title)
    assert first.next_to_send(other_title, UNICAST) == kept + 1
    written = path.stat().st_mtime_ns
    for _ in range(5):
        first.begin_association(TITLE)
        first.next_to_send(TITLE, UNICAST)
    assert path.stat().st_mtime_ns == written


def test_memory_store_counts_per_title_and_key() -> None:
    store = MemoryInvocationCounterStore()
    assert [store.next_to_send(TITLE, UNICAST) for _ in range(3)] == [1, 2, 3]
    assert store.next_to_send(TITLE, BROADCAST) == 1
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
    store.accept_received(PEER, BROADCAST, 1)  # its own sequence
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
    assert document["version"] == 2
    assert document["send"] == {f"{TITLE.hex()}/{UNICAST}": 51}  # five blocks of ten
    assert KEY.hex() not in path.read_text()
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
    store.advance(TITLE, UNICAST, 1000)  # e.g. frame counter + 1: reserved at once
    assert store.next_to_send(TITLE, UNICAST) == 1000
    store.accept_received(PEER, UNICAST, 77)
    store.close()
    again = FileInvocationCounterStore(path)
    assert again.next_to_send(TITLE, UNICAST) == 1100  # above the block reserved at 1000
    assert again.last_received(PEER, UNICAST) == 77
    with pytest.raises(ReplayError):
        again.accept_received(PEER, UNICAST, 77)
    again.advance(TITLE, UNICAST, 5)
    assert again.peek_next(TITLE, UNICAST) == 1101
    assert "ic.json" in repr(again) and again.path == path


def test_file_store_refuses_a_damaged_file(tmp_path: Path) -> None:
    path = tmp_path / "ic.json"
    for text in (
        "{not json",
        '{"version": 3, "send": {}, "received": {}}',
        '{"version": 2, "send": {"00/global-unicast-encryption": 5}, "received": {}}',
        '{"version": 2, "send": {"00/dedicated:zz": 5}, "received": {}}',
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
    with pytest.raises(InvocationCounterStoreError, match="cannot read"):
        store.next_to_send(TITLE, UNICAST)  # every reservation reads the file first
    with pytest.raises(InvocationCounterStoreError, match="cannot read"):
        FileInvocationCounterStore(blocker / "ic.json", lock=False)
    blocker.unlink()
    blocker.mkdir()
    (blocker / "ic.json.lock").mkdir()  # the lock file cannot be opened
    with pytest.raises(InvocationCounterStoreError, match="cannot open the lock file"):
        FileInvocationCounterStore(blocker / "ic.json").next_to_send(TITLE, UNICAST)
    untouched = tmp_path / "untouched" / "ic.json"
    FileInvocationCounterStore(untouched).close()  # nothing used: nothing created
    assert not untouched.parent.exists()


def test_two_stores_on_one_file_hand_out_disjoint_blocks(tmp_path: Path) -> None:
    """Two stores (as two processes would) share one file: the lock and the re-read at every
    reservation keep their blocks apart, and each continues above the other's."""
    path = tmp_path / "ic.json"
    first = FileInvocationCounterStore(path, reserve=5)
    second = FileInvocationCounterStore(path, reserve=5)
    used = []
    for _ in range(23):
        used.append(first.next_to_send(TITLE, UNICAST))
        used.append(second.next_to_send(TITLE, UNICAST))
        used.append(second.next_to_send(TITLE, UNICAST))
    assert len(used) == len(set(used))
    first.accept_received(PEER, UNICAST, 9)
    first.close()
    second.close()
    with FileInvocationCounterStore(path) as again:  # above both, received merged
        assert again.next_to_send(TITLE, UNICAST) > max(used)
        assert again.last_received(PEER, UNICAST) == 9
    path.write_text("{damaged")
    with pytest.raises(InvocationCounterStoreError, match="damaged"):
        FileInvocationCounterStore(path)


def test_keys_are_told_apart_by_identity(tmp_path: Path) -> None:
    """A changed key gets counters of its own, starting above the old key's (meters that keep
    one frame counter across key changes accept them); a peer's new key may start over. The
    identity shows a fingerprint, never the key."""
    other = key_identity(CipheringKey.GLOBAL_UNICAST_ENCRYPTION, bytes(16))
    assert other != UNICAST and other.kind is UNICAST.kind
    assert key_identity(CipheringKey.GLOBAL_UNICAST_ENCRYPTION, KEY) == UNICAST
    assert KEY.hex() not in str(UNICAST) and KEY.hex() not in repr(UNICAST)
    assert KeyIdentity.parse(str(UNICAST)) == UNICAST
    for bad in ("global-unicast-encryption", "dedicated:12", "other:0011223344556677"):
        with pytest.raises(ValueError):
            KeyIdentity.parse(bad)
    with FileInvocationCounterStore(tmp_path / "ic.json") as store:
        store.advance(TITLE, UNICAST, 500)
        assert store.next_to_send(TITLE, other) == 600  # above the block reserved at 500
        store.accept_received(PEER, UNICAST, 40)
        store.accept_received(PEER, other, 2)  # a meter with a new key starts over
        assert store.next_to_send(TITLE, UNICAST) == 500
        assert store.next_to_send(TITLE, BROADCAST) == 1  # another role
    memory = MemoryInvocationCounterStore()
    memory.advance(TITLE, UNICAST, 77)
    assert memory.peek_next(TITLE, other) == 77 == memory.next_to_send(TITLE, other)
    assert memory.next_to_send(TITLE, UNICAST) == 77  # each key never repeats itself


def test_a_version_1_file_is_a_floor_for_every_key(tmp_path: Path) -> None:
    """Files written before keys were told apart hold one bound per system title and role:
    every key of that role continues above it."""
    path = tmp_path / "ic.json"
    path.write_text(json.dumps({
        "version": 1,
        "send": {f"{TITLE.hex()}/global-unicast-encryption": 700},
        "received": {f"{PEER.hex()}/global-unicast-encryption": 3},
    }))  # fmt: skip
    with FileInvocationCounterStore(path) as store:
        assert store.peek_next(TITLE, UNICAST) == 700
        assert store.next_to_send(TITLE, UNICAST) == 700
        assert store.next_to_send(TITLE, BROADCAST) == 1  # another role
    with FileInvocationCounterStore(path) as store:  # rewritten as version 2, floor kept
        assert json.loads(path.read_text())["version"] == 2
        other = key_identity(CipheringKey.GLOBAL_UNICAST_ENCRYPTION, bytes(16))
        assert store.next_to_send(TITLE, other) >= 700


@pytest.mark.parametrize("kind", ["memory", "file"])
def test_threads_never_get_one_counter_twice(tmp_path: Path, kind: str) -> None:
    store = (
        MemoryInvocationCounterStore()
        if kind == "memory"
        else FileInvocationCounterStore(tmp_path / "ic.json", reserve=13)
    )
    results: list[list[int]] = [[] for _ in range(8)]

    def take(out: list[int]) -> None:
        for _ in range(400):
            out.append(store.next_to_send(TITLE, UNICAST))

    threads = [threading.Thread(target=take, args=(out,)) for out in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    used = [counter for out in results for counter in out]
    assert len(used) == 3200 == len(set(used))
    assert all(out == sorted(out) for out in results)


_TAKER = """
import sys
from asyncdlms.security import CipheringKey, FileInvocationCounterStore, key_identity
store = FileInvocationCounterStore(sys.argv[1], reserve=int(sys.argv[3]))
key = key_identity(CipheringKey.GLOBAL_UNICAST_ENCRYPTION, bytes(range(16)))
for _ in range(int(sys.argv[2])):
    print(store.next_to_send(bytes.fromhex("4D4D4D0000000001"), key), flush=True)
"""


def _taker(path: Path, count: int, reserve: int) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-c", _TAKER, str(path), str(count), str(reserve)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_processes_sharing_one_file_never_hand_out_one_counter_twice(tmp_path: Path) -> None:
    path = tmp_path / "ic.json"
    takers = [_taker(path, 300, 7) for _ in range(4)]
    used: list[int] = []
    for taker in takers:
        out, _ = taker.communicate(timeout=120)
        assert taker.returncode == 0
        used += [int(line) for line in out.split()]
    assert len(used) == 1200 == len(set(used))
    later = _taker(path, 1, 7)  # a process started afterwards continues above them all
    out, _ = later.communicate(timeout=60)
    assert int(out) > max(used)


def test_a_killed_process_leaves_nothing_to_reuse(tmp_path: Path) -> None:
    """SIGKILL in the middle of handing out counters: the next process continues above every
    counter the killed one used (reserved ahead, fsynced before use)."""
    path = tmp_path / "ic.json"
    taker = _taker(path, 10_000_000, 50)
    assert taker.stdout is not None
    used = [int(taker.stdout.readline()) for _ in range(777)]
    taker.send_signal(signal.SIGKILL)
    rest, _ = taker.communicate(timeout=60)
    used += [int(line) for line in rest.split()]  # whatever it printed before dying
    later = _taker(path, 1, 50)
    out, _ = later.communicate(timeout=60)
    assert int(out) > max(used)


def test_the_process_store_is_one_object_until_replaced() -> None:
    store = default_invocation_counter_store()
    assert default_invocation_counter_store() is store
    mine = MemoryInvocationCounterStore()
    assert set_default_invocation_counter_store(mine) is store
    assert default_invocation_counter_store() is mine
    set_default_invocation_counter_store(None)
    assert default_invocation_counter_store() not in (store, mine)


def test_a_dedicated_key_counts_on_its_own_and_is_never_stored() -> None:
    """Green Book: the counter belongs to the key. Each new dedicated key starts at 1 (both
    ways), nothing of it reaches the store, and the global key's counter goes on."""
    store = MemoryInvocationCounterStore()
    client = SecurityContext(
        system_title=TITLE, block_cipher_key=KEY, authentication_key=KEY, counter_store=store
    )
    server = SecurityContext(
        system_title=PEER, peer_system_title=TITLE, block_cipher_key=KEY, authentication_key=KEY
    )
    client.protect(GET)
    for dedicated in (bytes(range(0x40, 0x50)), bytes(range(0x50, 0x60))):
        client.set_dedicated_key(dedicated)
        server.set_dedicated_key(dedicated)
        client.use_form(CipheringForm.DEDICATED)
        counters = [CipheredApdu.decode(client.protect(GET)).invocation_counter for _ in range(3)]
        assert counters == [1, 2, 3]
        replayed = client.protect(GET)
        server.unprotect(replayed)
        with pytest.raises(ReplayError):
            server.unprotect(replayed)
        client.use_form(CipheringForm.GLOBAL)
    assert CipheredApdu.decode(client.protect(GET)).invocation_counter == 2
    assert all(identity.kind is not CipheringKey.DEDICATED for _, identity in store._next)


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
