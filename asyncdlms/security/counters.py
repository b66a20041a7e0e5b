"""Invocation counters: the 4-byte half of every AES-GCM nonce (IV = system title ‖ counter).

A nonce must never repeat under one key, so the counter of everything we send is strictly
increasing per (own system title, key) — across restarts too, which is what the
:class:`FileInvocationCounterStore` is for. The counters we receive must strictly increase
per (peer system title, key); anything else is a replay and is refused with
:class:`~asyncdlms.security.exceptions.ReplayError`. Counters are never lowered.

Before a ciphered association a client that has no stored counter can read the meter's
frame counter object (``0.0.43.1.x.255``, class Data, attribute 2) on the public association
and continue from value + 1 (:func:`frame_counter_obis`, :func:`next_invocation_counter`).
"""

from __future__ import annotations

import json
import os
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Protocol, runtime_checkable

from ..obis import Obis
from .exceptions import InvocationCounterExhaustedError, InvocationCounterStoreError, ReplayError

__all__ = [
    "FRAME_COUNTER_ATTRIBUTE",
    "FRAME_COUNTER_CLASS_ID",
    "MAX_INVOCATION_COUNTER",
    "CipheringKey",
    "FileInvocationCounterStore",
    "InvocationCounterStore",
    "MemoryInvocationCounterStore",
    "frame_counter_obis",
    "next_invocation_counter",
]

MAX_INVOCATION_COUNTER = 0xFFFF_FFFF
"""The largest invocation counter (4 bytes); after it the key must change."""
FRAME_COUNTER_CLASS_ID = 1
"""The frame counter object is a Data object (class id 1)..."""
FRAME_COUNTER_ATTRIBUTE = 2
"""...whose value (attribute 2) is the last invocation counter the meter accepted or used."""


class CipheringKey(StrEnum):
    """Which key a counter belongs to (each key has its own nonce space)."""

    GLOBAL_UNICAST_ENCRYPTION = "global-unicast-encryption"
    GLOBAL_BROADCAST_ENCRYPTION = "global-broadcast-encryption"
    DEDICATED = "dedicated"


def _check_title(system_title: bytes) -> None:
    if len(system_title) != 8:
        raise ValueError(f"a system title is 8 bytes long, not {len(system_title)}")


def _exhausted(system_title: bytes, key: CipheringKey) -> InvocationCounterExhaustedError:
    return InvocationCounterExhaustedError(
        f"the invocation counter of the {key.value} key of system title {system_title.hex()} "
        f"reached {MAX_INVOCATION_COUNTER} (2^32 - 1): no nonce is left under this key; "
        "install new keys (security setup global_key_transfer) before ciphering again"
    )


def _replay(system_title: bytes, key: CipheringKey, received: int, last: int) -> ReplayError:
    return ReplayError(
        f"replayed or reordered APDU: invocation counter {received} from system title "
        f"{system_title.hex()} ({key.value} key) is not greater than the last accepted one "
        f"({last})",
        received,
        last,
    )


@runtime_checkable
class InvocationCounterStore(Protocol):
    """Where the counters of one or many associations live.

    Send side (keyed by our own system title): :meth:`next_to_send` consumes a counter,
    :meth:`peek_next` shows it, :meth:`advance` moves it forward (never back). Receive side
    (keyed by the peer's system title): :meth:`accept_received` checks and records.
    """

    def next_to_send(self, system_title: bytes, key: CipheringKey) -> int:
        """Consume and return the next counter to protect an APDU with; raise
        :class:`InvocationCounterExhaustedError` when none is left."""
        ...

    def peek_next(self, system_title: bytes, key: CipheringKey) -> int:
        """The counter :meth:`next_to_send` would return, without consuming it."""
        ...

    def advance(self, system_title: bytes, key: CipheringKey, next_counter: int) -> None:
        """Make the next counter at least ``next_counter`` (a lower value changes nothing)."""
        ...

    def accept_received(self, system_title: bytes, key: CipheringKey, counter: int) -> None:
        """Record a received counter; raise :class:`ReplayError` unless it is greater than
        the last one accepted for this system title and key."""
        ...

    def last_received(self, system_title: bytes, key: CipheringKey) -> int | None:
        """The last received counter accepted for this system title and key, if any."""
        ...


class MemoryInvocationCounterStore:
    """Counters in memory (the default): enough when the meter's frame counter is read before
    every association, or for tests. ``initial`` is the first counter to send."""

    __slots__ = ("_initial", "_next", "_received")

    def __init__(self, initial: int = 1) -> None:
        if not 0 <= initial <= MAX_INVOCATION_COUNTER:
            raise ValueError(f"an invocation counter is 0..{MAX_INVOCATION_COUNTER}")
        self._initial = initial
        self._next: dict[tuple[bytes, CipheringKey], int] = {}
        self._received: dict[tuple[bytes, CipheringKey], int] = {}

    def __repr__(self) -> str:
        return (
            f"MemoryInvocationCounterStore({len(self._next)} send, {len(self._received)} received)"
        )

    def next_to_send(self, system_title: bytes, key: CipheringKey) -> int:
        """See :meth:`InvocationCounterStore.next_to_send`."""
        slot = (system_title, key)
        counter = self._next.get(slot, self._initial)
        if counter > MAX_INVOCATION_COUNTER:
            raise _exhausted(system_title, key)
        self._next[slot] = counter + 1
        return counter

    def peek_next(self, system_title: bytes, key: CipheringKey) -> int:
        """See :meth:`InvocationCounterStore.peek_next`."""
        return self._next.get((system_title, key), self._initial)

    def advance(self, system_title: bytes, key: CipheringKey, next_counter: int) -> None:
        """See :meth:`InvocationCounterStore.advance`."""
        if next_counter < 0:
            raise ValueError("an invocation counter is not negative")
        slot = (system_title, key)
        if next_counter > self._next.get(slot, self._initial):
            self._next[slot] = next_counter

    def accept_received(self, system_title: bytes, key: CipheringKey, counter: int) -> None:
        """See :meth:`InvocationCounterStore.accept_received`."""
        slot = (system_title, key)
        last = self._received.get(slot)
        if last is not None and counter <= last:
            raise _replay(system_title, key, counter, last)
        self._received[slot] = counter

    def last_received(self, system_title: bytes, key: CipheringKey) -> int | None:
        """See :meth:`InvocationCounterStore.last_received`."""
        return self._received.get((system_title, key))


def _slot_name(system_title: bytes, key: CipheringKey) -> str:
    return f"{system_title.hex()}/{key.value}"


def _parse_slot(name: str) -> tuple[bytes, CipheringKey]:
    title, _, key = name.partition("/")
    return bytes.fromhex(title), CipheringKey(key)


class FileInvocationCounterStore:
    """Counters persisted in one JSON file, so a restarted process never reuses a nonce.

    Sending reserves ahead: before handing out counter ``n`` when ``n`` reaches the persisted
    bound, the bound ``n + reserve`` is written (write to a temporary file, fsync, atomic
    rename), so at most one write per ``reserve`` APDUs. After a restart every counter
    continues from its persisted bound: up to ``reserve - 1`` values are skipped, none is
    reused. Received counters are kept in memory and written with every reservation and by
    :meth:`flush` / :meth:`close` (or leaving a ``with`` block). A missing file starts empty
    (at ``initial``); an unreadable one raises :class:`InvocationCounterStoreError` rather
    than start over.

    One file serves one process: two processes counting from the same file would reuse each
    other's nonces. With ``lock`` (the default, POSIX) the store takes an exclusive advisory
    lock on ``<path>.lock`` and a second store on the same file raises
    :class:`InvocationCounterStoreError` until :meth:`close`. Within one process share one
    store object between sessions.
    """

    __slots__ = (
        "_initial",
        "_limit",
        "_lock_handle",
        "_next",
        "_path",
        "_received",
        "_reserve",
    )

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        reserve: int = 100,
        initial: int = 1,
        lock: bool = True,
    ) -> None:
        if reserve < 1:
            raise ValueError("reserve must be at least 1")
        if not 0 <= initial <= MAX_INVOCATION_COUNTER:
            raise ValueError(f"an invocation counter is 0..{MAX_INVOCATION_COUNTER}")
        self._path = Path(path)
        self._reserve = reserve
        self._initial = initial
        self._limit: dict[tuple[bytes, CipheringKey], int] = {}
        self._received: dict[tuple[bytes, CipheringKey], int] = {}
        self._lock_handle: int | None = None
        if lock:
            self._lock()
        try:
            self._load()
        except BaseException:
            self._unlock()
            raise
        self._next = dict(self._limit)

    def _lock(self) -> None:
        try:
            import fcntl
        except ImportError:  # not POSIX: no advisory lock
            return
        lock_path = self._path.with_name(self._path.name + ".lock")
        try:
            lock_path.parent.mkdir(parents=True, exist_ok=True)
            handle = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as error:
            raise InvocationCounterStoreError(
                f"cannot open the lock file {lock_path}: {error.strerror}"
            ) from error
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(handle)
            raise InvocationCounterStoreError(
                f"the invocation counter file {self._path} is in use by another store (another "
                "process, or an unclosed store in this one): sharing it would reuse nonces"
            ) from None
        self._lock_handle = handle

    def _unlock(self) -> None:
        handle = getattr(self, "_lock_handle", None)
        self._lock_handle = None
        if handle is not None:
            os.close(handle)  # closing the descriptor releases the flock

    def close(self) -> None:
        """Write the received counters and release the lock; the store is not used after."""
        try:
            self.flush()
        finally:
            self._unlock()

    def __del__(self) -> None:
        # like a process exit: the lock goes, nothing is written
        self._unlock()

    def __enter__(self) -> FileInvocationCounterStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"FileInvocationCounterStore({str(self._path)!r}, reserve={self._reserve})"

    @property
    def path(self) -> Path:
        """The JSON file."""
        return self._path

    def _load(self) -> None:
        try:
            text = self._path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except OSError as error:
            raise InvocationCounterStoreError(
                f"cannot read the invocation counter file {self._path}: {error.strerror}"
            ) from error
        try:
            document = json.loads(text)
            if document.get("version") != 1:
                raise ValueError("unknown version")
            for name, value in document["send"].items():
                self._limit[_parse_slot(name)] = _checked_int(value)
            for name, value in document["received"].items():
                self._received[_parse_slot(name)] = _checked_int(value)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise InvocationCounterStoreError(
                f"the invocation counter file {self._path} is damaged ({error}); refusing to "
                "start the counters over, which could reuse nonces: restore the file or read "
                "the meters' frame counters"
            ) from None

    def flush(self) -> None:
        """Write the file now: the send bounds and the received counters."""
        document = {
            "version": 1,
            "send": {
                _slot_name(*slot): value for slot, value in sorted(self._limit.items(), key=_order)
            },
            "received": {
                _slot_name(*slot): value
                for slot, value in sorted(self._received.items(), key=_order)
            },
        }
        directory = self._path.parent
        try:
            directory.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(
                prefix=f".{self._path.name}.", suffix=".tmp", dir=directory
            )
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as file:
                    json.dump(document, file, indent=1)
                    file.flush()
                    os.fsync(file.fileno())
                os.replace(temporary, self._path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
            if hasattr(os, "O_DIRECTORY"):
                directory_handle = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
                try:
                    os.fsync(directory_handle)
                finally:
                    os.close(directory_handle)
        except OSError as error:
            raise InvocationCounterStoreError(
                f"cannot write the invocation counter file {self._path}: {error.strerror}"
            ) from error

    def next_to_send(self, system_title: bytes, key: CipheringKey) -> int:
        """See :meth:`InvocationCounterStore.next_to_send`; persists a new bound every
        ``reserve`` counters."""
        slot = (system_title, key)
        counter = self._next.get(slot, self._initial)
        if counter > MAX_INVOCATION_COUNTER:
            raise _exhausted(system_title, key)
        if counter >= self._limit.get(slot, self._initial):
            self._limit[slot] = min(counter + self._reserve, MAX_INVOCATION_COUNTER + 1)
            self.flush()
        self._next[slot] = counter + 1
        return counter

    def peek_next(self, system_title: bytes, key: CipheringKey) -> int:
        """See :meth:`InvocationCounterStore.peek_next`."""
        return self._next.get((system_title, key), self._initial)

    def advance(self, system_title: bytes, key: CipheringKey, next_counter: int) -> None:
        """See :meth:`InvocationCounterStore.advance`; persisted at once."""
        if next_counter < 0:
            raise ValueError("an invocation counter is not negative")
        slot = (system_title, key)
        if next_counter > self._next.get(slot, self._initial):
            self._next[slot] = next_counter
            if next_counter > self._limit.get(slot, self._initial):
                self._limit[slot] = min(next_counter, MAX_INVOCATION_COUNTER + 1)
                self.flush()

    def accept_received(self, system_title: bytes, key: CipheringKey, counter: int) -> None:
        """See :meth:`InvocationCounterStore.accept_received` (kept in memory until the next
        write)."""
        slot = (system_title, key)
        last = self._received.get(slot)
        if last is not None and counter <= last:
            raise _replay(system_title, key, counter, last)
        self._received[slot] = counter

    def last_received(self, system_title: bytes, key: CipheringKey) -> int | None:
        """See :meth:`InvocationCounterStore.last_received`."""
        return self._received.get((system_title, key))


def _order(item: tuple[tuple[bytes, CipheringKey], int]) -> tuple[bytes, str]:
    return item[0][0], item[0][1].value


def _checked_int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{value!r} is not a counter")
    if not 0 <= value <= MAX_INVOCATION_COUNTER + 1:
        raise ValueError(f"counter {value} out of range")
    return value


def frame_counter_obis(instance: int) -> Obis:
    """The frame counter object ``0.0.43.1.<instance>.255`` (class Data, attribute 2):
    ``instance`` is the client's key / association instance (e.g. 1 for the management client
    of many IDIS meters; see the meter's documentation)."""
    if not 0 <= instance <= 255:
        raise ValueError(f"an OBIS value group is 0..255, not {instance}")
    return Obis(0, 0, 43, 1, instance, 255)


def next_invocation_counter(frame_counter: int) -> int:
    """The invocation counter to continue with after reading the frame counter: value + 1.

    Give the result to ``SecurityContext.advance_invocation_counter`` (it never lowers the
    counter). Raises :class:`InvocationCounterExhaustedError` when the read value is already
    2^32 - 1 and :class:`ValueError` for a value that is no counter.
    """
    if isinstance(frame_counter, bool) or not isinstance(frame_counter, int):
        raise ValueError(f"a frame counter is an integer, not {type(frame_counter).__name__}")
    if not 0 <= frame_counter <= MAX_INVOCATION_COUNTER:
        raise ValueError(f"a frame counter is 0..{MAX_INVOCATION_COUNTER}, not {frame_counter}")
    if frame_counter == MAX_INVOCATION_COUNTER:
        raise InvocationCounterExhaustedError(
            "the meter's frame counter is 2^32 - 1: no nonce is left under this key; "
            "install new keys before ciphering"
        )
    return frame_counter + 1
