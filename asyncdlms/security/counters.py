"""Invocation counters: the 4-byte half of every AES-GCM nonce (IV = system title ‖ counter).

A nonce must never repeat under one key, so the counter of everything we send is strictly
increasing per (own system title, key) — across associations, processes and restarts. Stores
key their counters by system title and :class:`KeyIdentity` (which key: its role and a
fingerprint of the key itself, never the key), never by connection: every association of a
process draws from one store (:func:`default_invocation_counter_store`), and the
:class:`FileInvocationCounterStore` carries them across restarts and between processes. The
counters we receive must strictly increase per (peer system title, key); anything else is a
replay and is refused with :class:`~asyncdlms.security.exceptions.ReplayError`. Counters are
never lowered.

A dedicated key lives for one association and is never used again, so its counters start
afresh with it and live in the association's security context, not in a store (Green Book:
the invocation counter belongs to the key).

Before a ciphered association a client that has no stored counter can read the meter's
frame counter object (``0.0.43.1.x.255``, class Data, attribute 2) on the public association
and continue from value + 1 (:func:`frame_counter_obis`, :func:`next_invocation_counter`).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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
    "KeyIdentity",
    "MemoryInvocationCounterStore",
    "SharedInvocationCounterStore",
    "default_counter_store_path",
    "default_invocation_counter_store",
    "frame_counter_obis",
    "key_identity",
    "next_invocation_counter",
    "set_default_invocation_counter_store",
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


_FINGERPRINT_DOMAIN = b"asyncdlms invocation counter key identity\x00"


@dataclass(frozen=True, slots=True, order=True)
class KeyIdentity:
    """Which key a counter belongs to: its role (``kind``) and a ``fingerprint`` of the key
    (the first 8 bytes of a domain-separated SHA-256 of it, in hex). The fingerprint tells
    two keys apart, so a changed key gets counters of its own, and it reveals nothing usable
    of a random 16-byte key; the key itself is never stored or printed."""

    kind: CipheringKey
    fingerprint: str

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.fingerprint}"

    @classmethod
    def parse(cls, text: str) -> KeyIdentity:
        """The identity :meth:`__str__` wrote; raises :class:`ValueError` otherwise."""
        kind, separator, fingerprint = text.partition(":")
        if not separator or len(fingerprint) != 16:
            raise ValueError(f"{text!r} is no key identity")
        bytes.fromhex(fingerprint)
        return cls(CipheringKey(kind), fingerprint)


def key_identity(kind: CipheringKey, key: bytes) -> KeyIdentity:
    """The :class:`KeyIdentity` of ``key`` (its bytes) used as ``kind``."""
    digest = hashlib.sha256(_FINGERPRINT_DOMAIN + bytes(key)).digest()
    return KeyIdentity(CipheringKey(kind), digest[:8].hex())


def _check_title(system_title: bytes) -> None:
    if len(system_title) != 8:
        raise ValueError(f"a system title is 8 bytes long, not {len(system_title)}")


def _exhausted(system_title: bytes, key: KeyIdentity) -> InvocationCounterExhaustedError:
    return InvocationCounterExhaustedError(
        f"the invocation counter of the {key.kind.value} key {key.fingerprint} of system title "
        f"{system_title.hex()} reached {MAX_INVOCATION_COUNTER} (2^32 - 1): no nonce is left "
        "under this key; install new keys (security setup global_key_transfer) before "
        "ciphering again"
    )


def _replay(system_title: bytes, key: KeyIdentity, received: int, last: int) -> ReplayError:
    return ReplayError(
        f"replayed or reordered APDU: invocation counter {received} from system title "
        f"{system_title.hex()} ({key.kind.value} key) is not greater than the last accepted one "
        f"({last})",
        received,
        last,
    )


@runtime_checkable
class InvocationCounterStore(Protocol):
    """Where the counters of every association of a process live.

    Send side (keyed by our own system title and the key): :meth:`next_to_send` reserves a
    counter — it must never hand the same one out twice, whatever the concurrency (threads,
    tasks, other processes sharing the store) — :meth:`peek_next` shows it, :meth:`advance`
    moves it forward (never back). A key used for the first time starts above every
    counter sent under any other key of the same role and system title: changing keys never
    needs a reset, and meters that keep one frame counter across key changes accept it.
    Receive side (keyed by the peer's system title and the key): :meth:`accept_received`
    checks and records; a peer's new key has a sequence of its own. A store for a database
    implements the same five methods, each one atomic; a store that persists must persist a
    counter before handing it out (or reserve ahead), so that no restart ever hands it out
    again.
    """

    def next_to_send(self, system_title: bytes, key: KeyIdentity) -> int:
        """Reserve and return the next counter to protect an APDU with; raise
        :class:`InvocationCounterExhaustedError` when none is left."""
        ...

    def peek_next(self, system_title: bytes, key: KeyIdentity) -> int:
        """The counter :meth:`next_to_send` would return, without consuming it."""
        ...

    def advance(self, system_title: bytes, key: KeyIdentity, next_counter: int) -> None:
        """Make the next counter at least ``next_counter`` (a lower value changes nothing)."""
        ...

    def accept_received(self, system_title: bytes, key: KeyIdentity, counter: int) -> None:
        """Record a received counter; raise :class:`ReplayError` unless it is greater than
        the last one accepted for this system title and key."""
        ...

    def last_received(self, system_title: bytes, key: KeyIdentity) -> int | None:
        """The last received counter accepted for this system title and key, if any."""
        ...


@runtime_checkable
class SharedInvocationCounterStore(InvocationCounterStore, Protocol):
    """A store several processes or machines draw from at once, each holding a block of
    counters: unique counters are not enough there. A meter refuses a counter that is not
    greater than the last one it accepted from our system title, so when another process has
    used a higher block with a meter, the next association with that meter must start above
    it. The client calls :meth:`begin_association` each time an association begins (before
    its AARQ); a store of one process does not need it.
    """

    def begin_association(self, system_title: bytes) -> None:
        """An association under ``system_title`` begins: from now on, hand out counters above
        every counter any other user of the store may have handed out before now."""
        ...


_Slot = tuple[bytes, KeyIdentity]


def _check_initial(initial: int) -> None:
    if not 0 <= initial <= MAX_INVOCATION_COUNTER:
        raise ValueError(f"an invocation counter is 0..{MAX_INVOCATION_COUNTER}")


class MemoryInvocationCounterStore:
    """Counters in memory, safe to share between threads and tasks: enough for a process whose
    meters all continue from their frame counter, for the keys of one association (dedicated
    keys) and for tests. ``initial`` is the first counter to send."""

    __slots__ = ("_initial", "_lock", "_next", "_received")

    def __init__(self, initial: int = 1) -> None:
        _check_initial(initial)
        self._initial = initial
        self._lock = threading.Lock()
        self._next: dict[_Slot, int] = {}
        self._received: dict[_Slot, int] = {}

    def __repr__(self) -> str:
        return (
            f"MemoryInvocationCounterStore({len(self._next)} send, {len(self._received)} received)"
        )

    def _start(self, system_title: bytes, key: KeyIdentity) -> int:
        """Where a key not used yet starts: above every counter of its role under this
        system title (see :class:`InvocationCounterStore`)."""
        return max(
            (
                counter
                for (title, identity), counter in self._next.items()
                if title == system_title and identity.kind is key.kind
            ),
            default=self._initial,
        )

    def next_to_send(self, system_title: bytes, key: KeyIdentity) -> int:
        """See :meth:`InvocationCounterStore.next_to_send`."""
        slot = (system_title, key)
        with self._lock:
            counter = self._next.get(slot)
            if counter is None:
                counter = self._start(system_title, key)
            if counter > MAX_INVOCATION_COUNTER:
                raise _exhausted(system_title, key)
            self._next[slot] = counter + 1
        return counter

    def peek_next(self, system_title: bytes, key: KeyIdentity) -> int:
        """See :meth:`InvocationCounterStore.peek_next`."""
        with self._lock:
            counter = self._next.get((system_title, key))
            return self._start(system_title, key) if counter is None else counter

    def advance(self, system_title: bytes, key: KeyIdentity, next_counter: int) -> None:
        """See :meth:`InvocationCounterStore.advance`."""
        if next_counter < 0:
            raise ValueError("an invocation counter is not negative")
        slot = (system_title, key)
        with self._lock:
            counter = self._next.get(slot)
            if next_counter > (self._start(system_title, key) if counter is None else counter):
                self._next[slot] = next_counter

    def accept_received(self, system_title: bytes, key: KeyIdentity, counter: int) -> None:
        """See :meth:`InvocationCounterStore.accept_received`."""
        slot = (system_title, key)
        with self._lock:
            last = self._received.get(slot)
            if last is not None and counter <= last:
                raise _replay(system_title, key, counter, last)
            self._received[slot] = counter

    def last_received(self, system_title: bytes, key: KeyIdentity) -> int | None:
        """See :meth:`InvocationCounterStore.last_received`."""
        return self._received.get((system_title, key))


def _slot_name(system_title: bytes, key: KeyIdentity) -> str:
    return f"{system_title.hex()}/{key}"


def _parse_slot(name: str) -> _Slot:
    title, _, key = name.partition("/")
    return bytes.fromhex(title), KeyIdentity.parse(key)


def _floor_name(system_title: bytes, kind: CipheringKey) -> str:
    return f"{system_title.hex()}/{kind.value}"


def _parse_floor(name: str) -> tuple[bytes, CipheringKey]:
    title, _, kind = name.partition("/")
    return bytes.fromhex(title), CipheringKey(kind)


@dataclass(slots=True)
class _Document:
    """What the file holds: the send bounds (no counter at or above a bound was handed out;
    every counter below it may have been), the received counters, and the floors of files
    written before keys were told apart (version 1: one bound per system title and role)."""

    send: dict[_Slot, int]
    received: dict[_Slot, int]
    floors: dict[tuple[bytes, CipheringKey], int]


class FileInvocationCounterStore:
    """Counters persisted in one JSON file, shared safely by threads, tasks and processes, so
    no restart and no second process ever reuses a nonce.

    Sending reserves ahead: when a key's counters run out of the block this store reserved,
    it takes the file's lock (an advisory ``flock`` on ``<path>.lock``), reads the file,
    reserves the next ``reserve`` counters above everything any process reserved, writes the
    new bound (temporary file, fsync, atomic rename, fsync of the directory) and lets go of
    the lock — one write per ``reserve`` APDUs. Two processes on one file therefore hand out
    disjoint blocks, and a process that restarts (or crashed) continues above every block any
    earlier process reserved: up to ``reserve - 1`` values are skipped, none is reused.
    Received counters are kept in memory, merged with the file's (the highest wins) at every
    write and by :meth:`flush` / :meth:`close`. Nothing is created before the first
    reservation or received counter. A missing file starts empty (at ``initial``);
    an unreadable or damaged one raises :class:`InvocationCounterStoreError` rather than
    start over. ``lock=False`` skips the file lock (one process only, or no POSIX ``flock``).
    """

    __slots__ = (
        "_dirty",
        "_document",
        "_initial",
        "_limit",
        "_lock",
        "_locking",
        "_next",
        "_path",
        "_received",
        "_reserve",
        "_seen",
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
        _check_initial(initial)
        self._path = Path(path)
        self._reserve = reserve
        self._initial = initial
        self._locking = lock
        self._lock = threading.RLock()
        self._next: dict[_Slot, int] = {}
        self._limit: dict[_Slot, int] = {}
        self._received: dict[_Slot, int] = {}
        self._dirty = False
        self._seen: tuple[int, int, int] | None = None
        self._document = self._read()  # a rename replaces the file whole: no lock to read
        self._received.update(self._document.received)

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

    def close(self) -> None:
        """Write the received counters; the reserved counters not handed out are given up."""
        self.flush()

    def flush(self) -> None:
        """Merge this store's received counters into the file now (nothing is written when
        nothing was received since the last write)."""
        with self._lock:
            if not self._dirty:
                return
            with self._file_locked():
                self._document = self._read()
                self._write()

    # -- the file -------------------------------------------------------------------------

    @contextmanager
    def _file_locked(self) -> Iterator[None]:
        if not self._locking:
            yield
            return
        try:
            import fcntl
        except ImportError:  # not POSIX: no advisory lock
            yield
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
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield
        finally:
            os.close(handle)  # closing the descriptor releases the flock

    def _stat(self) -> tuple[int, int, int] | None:
        """What tells one version of the file from another (every write renames a new file
        into place), None when there is no file."""
        try:
            status = os.stat(self._path)
        except OSError:
            return None
        return status.st_ino, status.st_mtime_ns, status.st_size

    def _read(self) -> _Document:
        document = _Document({}, {}, {})
        self._seen = self._stat()  # before reading: a later write is seen as a change
        try:
            text = self._path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return document
        except OSError as error:
            raise InvocationCounterStoreError(
                f"cannot read the invocation counter file {self._path}: {error.strerror}"
            ) from error
        try:
            content = json.loads(text)
            version = content.get("version")
            if version == 1:  # one bound per system title and role: floors for every key
                for name, value in content["send"].items():
                    document.floors[_parse_floor(name)] = _checked_int(value)
            elif version == 2:
                for name, value in content["send"].items():
                    document.send[_parse_slot(name)] = _checked_int(value)
                for name, value in content["received"].items():
                    document.received[_parse_slot(name)] = _checked_int(value)
                for name, value in content.get("floors", {}).items():
                    document.floors[_parse_floor(name)] = _checked_int(value)
            else:
                raise ValueError(f"unknown version {version!r}")
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise InvocationCounterStoreError(
                f"the invocation counter file {self._path} is damaged ({error}); refusing to "
                "start the counters over, which could reuse nonces: restore the file or read "
                "the meters' frame counters"
            ) from None
        return document

    def _write(self) -> None:
        """Write the file's document merged with this store's bounds and received counters
        (the caller holds both locks)."""
        document = self._document
        for slot, limit in self._limit.items():
            if limit > document.send.get(slot, -1):
                document.send[slot] = limit
        for slot, counter in self._received.items():
            if counter > document.received.get(slot, -1):
                document.received[slot] = counter
        content = {
            "version": 2,
            "send": {_slot_name(*slot): document.send[slot] for slot in sorted(document.send)},
            "received": {
                _slot_name(*slot): document.received[slot] for slot in sorted(document.received)
            },
        }
        if document.floors:
            content["floors"] = {
                _floor_name(*slot): document.floors[slot] for slot in sorted(document.floors)
            }
        directory = self._path.parent
        try:
            directory.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(
                prefix=f".{self._path.name}.", suffix=".tmp", dir=directory
            )
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as file:
                    json.dump(content, file, indent=1)
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
        self._dirty = False
        self._seen = self._stat()

    def _file_bound(self, slot: _Slot) -> int:
        """The lowest counter no process has reserved under ``slot`` as last read: above
        every block of its role under its system title, whichever the key (see
        :class:`InvocationCounterStore`)."""
        document = self._document
        title, key = slot
        return max(
            max(
                (
                    bound
                    for (other_title, other), bound in document.send.items()
                    if other_title == title and other.kind is key.kind
                ),
                default=self._initial,
            ),
            document.floors.get((title, key.kind), self._initial),
            self._initial,
        )

    def _reserve_from(self, slot: _Slot, start: int) -> int:
        """Reserve a block at ``start`` or above everything reserved in the file; the first
        counter of the block (the caller holds the thread lock)."""
        with self._file_locked():
            self._document = self._read()
            first = max(start, self._file_bound(slot))
            if first <= MAX_INVOCATION_COUNTER:
                self._limit[slot] = min(first + self._reserve, MAX_INVOCATION_COUNTER + 1)
                self._write()
        self._next[slot] = first
        return first

    # -- the store protocol ---------------------------------------------------------------

    def begin_association(self, system_title: bytes) -> None:
        """See :meth:`SharedInvocationCounterStore.begin_association`: when another process
        reserved counters of ``system_title`` above the blocks this store holds, those blocks
        are given up, so the association's first counter comes from a new block above
        everything reserved (one file write). Costs a ``stat`` when the file did not change
        since this store last read or wrote it."""
        with self._lock:
            held = [slot for slot in self._limit if slot[0] == system_title]
            if not held or self._stat() == self._seen:
                return
            self._document = self._read()  # a rename replaces the file whole: no lock to read
            for slot in held:
                if self._file_bound(slot) > self._limit[slot]:
                    del self._limit[slot]  # the next counter reserves above the file's bound

    def next_to_send(self, system_title: bytes, key: KeyIdentity) -> int:
        """See :meth:`InvocationCounterStore.next_to_send`; reserves a new block (one file
        write) every ``reserve`` counters."""
        slot = (system_title, key)
        with self._lock:
            counter = self._next.get(slot)
            if counter is None or counter >= self._limit.get(slot, 0):
                counter = self._reserve_from(slot, self._initial if counter is None else counter)
            if counter > MAX_INVOCATION_COUNTER:
                raise _exhausted(system_title, key)
            self._next[slot] = counter + 1
        return counter

    def peek_next(self, system_title: bytes, key: KeyIdentity) -> int:
        """See :meth:`InvocationCounterStore.peek_next` (another process may take it first:
        then the next counter handed out is higher)."""
        slot = (system_title, key)
        with self._lock:
            counter = self._next.get(slot)
            if counter is not None and counter < self._limit.get(slot, 0):
                return counter
            return max(counter or self._initial, self._file_bound(slot))

    def advance(self, system_title: bytes, key: KeyIdentity, next_counter: int) -> None:
        """See :meth:`InvocationCounterStore.advance`; a counter beyond the reserved block is
        reserved (written) at once, so a restart continues from it too."""
        if next_counter < 0:
            raise ValueError("an invocation counter is not negative")
        slot = (system_title, key)
        with self._lock:
            if next_counter <= self.peek_next(system_title, key):
                return
            if next_counter < self._limit.get(slot, 0):
                self._next[slot] = next_counter
            else:
                self._reserve_from(slot, next_counter)

    def accept_received(self, system_title: bytes, key: KeyIdentity, counter: int) -> None:
        """See :meth:`InvocationCounterStore.accept_received` (kept in memory until the next
        write)."""
        slot = (system_title, key)
        with self._lock:
            last = self._received.get(slot)
            if last is not None and counter <= last:
                raise _replay(system_title, key, counter, last)
            self._received[slot] = counter
            self._dirty = True

    def last_received(self, system_title: bytes, key: KeyIdentity) -> int | None:
        """See :meth:`InvocationCounterStore.last_received`."""
        return self._received.get((system_title, key))


def _checked_int(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{value!r} is not a counter")
    if not 0 <= value <= MAX_INVOCATION_COUNTER + 1:
        raise ValueError(f"counter {value} out of range")
    return value


# -- the process's store ----------------------------------------------------------------------

_default_store: InvocationCounterStore | None = None
_default_lock = threading.Lock()


def default_invocation_counter_store() -> InvocationCounterStore:
    """The store every association of this process draws its counters from unless it is given
    another one (:func:`asyncdlms.connect`, :class:`~asyncdlms.session.ClientSecurity`, the
    fleet, the listener): in memory until :func:`set_default_invocation_counter_store` installs
    a durable one, as the command line does. One store per process, so two associations with
    the same keys never draw the same counter."""
    global _default_store
    with _default_lock:
        if _default_store is None:
            _default_store = MemoryInvocationCounterStore()
        return _default_store


def set_default_invocation_counter_store(
    store: InvocationCounterStore | None,
) -> InvocationCounterStore | None:
    """Install ``store`` as the process's store (``None``: a fresh in-memory one when next
    asked for); returns the previous one. Install it before the first association: one that
    already drew counters from the old store keeps it."""
    global _default_store
    with _default_lock:
        previous, _default_store = _default_store, store
    return previous


def default_counter_store_path() -> Path:
    """Where the command line keeps its counters: ``$XDG_STATE_HOME/asyncdlms/
    invocation-counters.json``, else ``~/.local/state/asyncdlms/invocation-counters.json``."""
    state = os.environ.get("XDG_STATE_HOME")
    base = Path(state) if state else Path.home() / ".local" / "state"
    return base / "asyncdlms" / "invocation-counters.json"


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
