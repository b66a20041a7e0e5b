"""Invocation counters shared by every worker of a distributed fleet, on any machine.

Workers on several machines associate with meters under one client system title and one key:
each drawing counters from a store of its own would reuse nonces (a file store only serves
the processes of one machine). :class:`RedisInvocationCounterStore` reserves blocks of
counters in the fleet's Redis — an atomic script moves the per-(system title, key) bound, so
two workers never get overlapping blocks, and a worker that dies loses at most the rest of its
block (skipped, never reused). Like the file store, a key used for the first time continues
above every counter of its role under that system title. Redis holds only the bounds, under
``<prefix>:counters:<system title>/<key identity>`` (a key identity is a fingerprint, never
the key).

Unique is not enough: a meter refuses a counter that is not greater than the last one it
accepted from our system title, whichever worker sent it. Two workers holding the blocks
[1, 1001) and [1001, 2001) never repeat a nonce, but a meter that talked to the second
refuses the next association of the first. So a worker's jobs do not draw from the worker's
block: each meter gets a :class:`MeterInvocationCounters` view, and every job on it starts a
fresh small block above everything reserved so far (:meth:`MeterInvocationCounters.renew`).
Jobs of one meter follow one another, so each job's counters are above those of every
earlier job of that meter, on any worker. A block starts at 16 counters and doubles while
one job needs more (a long profile read), so a job skips at most as many counters as it used
(and at least 15): the price of one Redis round trip per job.

The store protocol is synchronous (a counter is reserved while an APDU is built), so a block
is reserved with a short blocking Redis call: once every ``reserve`` counters (1 000 by
default) for the store's own block, once per job (more for a long one) through a view.
Received counters (replay rejection) are kept in the worker: a meter's answers belong to the
association that asked.
"""

from __future__ import annotations

import threading
from typing import Any

from ..security.counters import MAX_INVOCATION_COUNTER, KeyIdentity, MemoryInvocationCounterStore
from ..security.exceptions import InvocationCounterExhaustedError, InvocationCounterStoreError
from .connection import RedisMissingError

__all__ = ["MeterInvocationCounters", "RedisInvocationCounterStore"]

# KEYS: the slot's bound, the role's floor; ARGV: at least, reserve, the initial counter.
# The block starts at max(bound, floor, at least, initial); both bounds move past it.
_RESERVE = """
local start = math.max(tonumber(redis.call('GET', KEYS[1]) or ARGV[3]),
                       tonumber(redis.call('GET', KEYS[2]) or ARGV[3]),
                       tonumber(ARGV[1]), tonumber(ARGV[3]))
local bound = start + tonumber(ARGV[2])
redis.call('SET', KEYS[1], bound)
if bound > tonumber(redis.call('GET', KEYS[2]) or '0') then
  redis.call('SET', KEYS[2], bound)
end
return start
"""


_Slot = tuple[bytes, KeyIdentity]


class _Blocks:
    """Send counters handed out from blocks reserved in Redis: what the store and a meter's
    view share. A subclass says how big its next block is and where it reserves it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next: dict[_Slot, int] = {}
        self._limit: dict[_Slot, int] = {}

    def _reservations(self) -> RedisInvocationCounterStore:
        raise NotImplementedError

    def _block_size(self, slot: _Slot) -> int:
        raise NotImplementedError

    def _take(self, slot: _Slot, at_least: int) -> int:
        """A new block for ``slot``, from at least ``at_least``; its first counter."""
        size = self._block_size(slot)
        start = self._reservations().reserve_block(*slot, size, at_least)
        self._next[slot] = start
        self._limit[slot] = min(start + size, MAX_INVOCATION_COUNTER + 1)
        return start

    def next_to_send(self, system_title: bytes, key: KeyIdentity) -> int:
        """See :meth:`~asyncdlms.security.InvocationCounterStore.next_to_send`."""
        slot = (system_title, key)
        with self._lock:
            counter = self._next.get(slot)
            if counter is None or counter >= self._limit[slot]:
                counter = self._take(slot, 0 if counter is None else counter)
            if counter > MAX_INVOCATION_COUNTER:
                raise InvocationCounterExhaustedError(
                    f"the invocation counter of system title {system_title.hex()} "
                    f"({key.kind.value} key) reached 2^32 - 1: install new keys"
                )
            self._next[slot] = counter + 1
            return counter

    def peek_next(self, system_title: bytes, key: KeyIdentity) -> int:
        """See :meth:`~asyncdlms.security.InvocationCounterStore.peek_next` (without a block
        in hand: the first counter above every block reserved so far, at least)."""
        slot = (system_title, key)
        with self._lock:
            counter = self._next.get(slot)
            if counter is not None and counter < self._limit[slot]:
                return counter
            return max(counter or 0, self._reservations().reserved_bound(*slot))

    def advance(self, system_title: bytes, key: KeyIdentity, next_counter: int) -> None:
        """See :meth:`~asyncdlms.security.InvocationCounterStore.advance`."""
        if next_counter < 0:
            raise ValueError("an invocation counter is not negative")
        slot = (system_title, key)
        with self._lock:
            counter = self._next.get(slot)
            if counter is not None and next_counter <= counter:
                return
            if counter is not None and next_counter < self._limit[slot]:
                self._next[slot] = next_counter
            else:
                self._take(slot, next_counter)


class RedisInvocationCounterStore(_Blocks):
    """An :class:`~asyncdlms.security.InvocationCounterStore` whose send counters come in
    blocks from Redis (see the module documentation). ``url``: the fleet's Redis
    (``redis://HOST:PORT/DB``); ``prefix``: of its keys (the queue's); ``reserve``: counters
    per block; ``timeout``: seconds a reservation may take before it fails (a
    :class:`~asyncdlms.security.exceptions.InvocationCounterStoreError`, never a reused
    counter)."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "asyncdlms",
        reserve: int = 1000,
        initial: int = 1,
        timeout: float = 5.0,
        client: Any = None,
    ) -> None:
        if reserve < 1:
            raise ValueError("reserve must be at least 1")
        if client is None:
            try:
                import redis
            except ImportError:
                raise RedisMissingError(
                    "the Redis invocation counter store needs the redis package: "
                    "pip install 'asyncdlms[redis]'"
                ) from None
            client = redis.Redis.from_url(url, socket_timeout=timeout)
        super().__init__()
        self._redis = client
        self._script = client.register_script(_RESERVE)
        self._prefix = prefix
        self._reserve = reserve
        self._initial = initial
        self._received = MemoryInvocationCounterStore(initial)

    def __repr__(self) -> str:
        return f"RedisInvocationCounterStore(prefix={self._prefix!r}, reserve={self._reserve})"

    @property
    def reserve(self) -> int:
        """Counters per block of this store's own (and the largest block of a view)."""
        return self._reserve

    def _reservations(self) -> RedisInvocationCounterStore:
        return self

    def _block_size(self, slot: _Slot) -> int:
        return self._reserve

    def _keys(self, system_title: bytes, key: KeyIdentity) -> list[str]:
        base = f"{self._prefix}:counters:{system_title.hex()}"
        return [f"{base}/{key}", f"{base}/{key.kind.value}"]

    def reserve_block(
        self, system_title: bytes, key: KeyIdentity, size: int, at_least: int = 0
    ) -> int:
        """Reserve ``size`` counters above every block handed out so far (and at least
        ``at_least``) for this system title and key; the first of them. Nobody else gets
        them; they are given up if unused."""
        try:
            return int(
                self._script(
                    keys=self._keys(system_title, key),
                    args=[max(at_least, self._initial), size, self._initial],
                )
            )
        except Exception as exc:  # redis-py's errors: no counter without a reservation
            raise InvocationCounterStoreError(
                f"cannot reserve invocation counters in Redis ({type(exc).__name__}: {exc}): "
                "no APDU is ciphered without one"
            ) from None

    def reserved_bound(self, system_title: bytes, key: KeyIdentity) -> int:
        """The first counter above every block reserved so far for this system title and
        key (and its role)."""
        try:
            values = self._redis.mget(self._keys(system_title, key))
        except Exception as exc:
            raise InvocationCounterStoreError(
                f"cannot read the invocation counter bounds in Redis ({type(exc).__name__}: {exc})"
            ) from None
        return max([self._initial, *(int(v) for v in values if v is not None)])

    def accept_received(self, system_title: bytes, key: KeyIdentity, counter: int) -> None:
        """See :meth:`~asyncdlms.security.InvocationCounterStore.accept_received`."""
        self._received.accept_received(system_title, key, counter)

    def last_received(self, system_title: bytes, key: KeyIdentity) -> int | None:
        """See :meth:`~asyncdlms.security.InvocationCounterStore.last_received`."""
        return self._received.last_received(system_title, key)

    def close(self) -> None:
        """Close the connection to Redis (the block in hand is given up)."""
        self._redis.close()


_FIRST_BLOCK = 16


class MeterInvocationCounters(_Blocks):
    """One meter's view of a :class:`RedisInvocationCounterStore`, for the jobs a worker does
    on that meter (see the module documentation): :meth:`renew` at the start of every job
    makes the next counter come from a fresh block above everything reserved so far by any
    worker, so the counters a meter receives keep increasing although workers take turns.
    Blocks start at 16 counters and double while a job needs more. Received counters are the
    store's. An :class:`~asyncdlms.security.InvocationCounterStore`.
    """

    def __init__(self, store: RedisInvocationCounterStore) -> None:
        super().__init__()
        self._store = store
        self._size: dict[_Slot, int] = {}

    def __repr__(self) -> str:
        return f"MeterInvocationCounters({self._store!r})"

    def _reservations(self) -> RedisInvocationCounterStore:
        return self._store

    def _block_size(self, slot: _Slot) -> int:
        size = self._size[slot] = min(self._size.get(slot, _FIRST_BLOCK // 2) * 2,
                                      self._store.reserve)  # fmt: skip
        return size

    def renew(self) -> None:
        """Give up the blocks in hand: the next counter of every key comes from a new block
        above all blocks reserved until then (call it before each job on the meter)."""
        with self._lock:
            self._next.clear()
            self._limit.clear()
            self._size.clear()

    def accept_received(self, system_title: bytes, key: KeyIdentity, counter: int) -> None:
        """See :meth:`~asyncdlms.security.InvocationCounterStore.accept_received`."""
        self._store.accept_received(system_title, key, counter)

    def last_received(self, system_title: bytes, key: KeyIdentity) -> int | None:
        """See :meth:`~asyncdlms.security.InvocationCounterStore.last_received`."""
        return self._store.last_received(system_title, key)
