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
refuses the next association of the first. So the store is a
:class:`~asyncdlms.security.SharedInvocationCounterStore`: each association begins with
:meth:`~RedisInvocationCounterStore.begin_association`, which gives up the blocks in hand for
our system title, and the association's first counter comes from a new block above
everything any worker reserved. Associations with one meter follow one another, so each is
above every earlier one, on any worker. Blocks start at 16 counters and double (up to
``reserve``) while no association begins, so an association skips at most about as many
counters as it used: the price is one Redis round trip per association.

The store protocol is synchronous (a counter is reserved while an APDU is built), so a block
is reserved with a short blocking Redis call: once per association, and once every
``reserve`` counters (1 000 by default) in a long one. Received counters (replay
rejection) are kept in the worker: a meter's answers belong to the association that asked.
"""

from __future__ import annotations

import threading
from typing import Any

from ..security.counters import MAX_INVOCATION_COUNTER, KeyIdentity, MemoryInvocationCounterStore
from ..security.exceptions import InvocationCounterExhaustedError, InvocationCounterStoreError
from .connection import RedisMissingError

__all__ = ["RedisInvocationCounterStore"]

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
_FIRST_BLOCK = 16


class RedisInvocationCounterStore:
    """A :class:`~asyncdlms.security.SharedInvocationCounterStore` whose send counters come
    in blocks from Redis (see the module documentation). ``url``: the fleet's Redis
    (``redis://HOST:PORT/DB``); ``prefix``: of its keys (the queue's); ``reserve``: the
    largest block; ``timeout``: seconds a reservation may take before it fails (a
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
        self._redis = client
        self._script = client.register_script(_RESERVE)
        self._prefix = prefix
        self._reserve = reserve
        self._initial = initial
        self._lock = threading.Lock()
        self._next: dict[_Slot, int] = {}
        self._limit: dict[_Slot, int] = {}
        self._size: dict[_Slot, int] = {}
        self._received = MemoryInvocationCounterStore(initial)

    def __repr__(self) -> str:
        return f"RedisInvocationCounterStore(prefix={self._prefix!r}, reserve={self._reserve})"

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

    def _take(self, slot: _Slot, at_least: int) -> int:
        """A new block for ``slot`` (twice the last one, 16 to ``reserve`` counters), from
        at least ``at_least``; its first counter (the caller holds the lock)."""
        size = self._size[slot] = min(self._size.get(slot, _FIRST_BLOCK // 2) * 2, self._reserve)
        start = self.reserve_block(*slot, size, at_least)
        self._next[slot] = start
        self._limit[slot] = min(start + size, MAX_INVOCATION_COUNTER + 1)
        return start

    def begin_association(self, system_title: bytes) -> None:
        """See :meth:`~asyncdlms.security.SharedInvocationCounterStore.begin_association`:
        the blocks in hand for ``system_title`` are given up, so the next counter comes from a
        new (small) block above every block any worker reserved."""
        with self._lock:
            for slot in [slot for slot in self._limit if slot[0] == system_title]:
                del self._limit[slot]
                self._size.pop(slot, None)

    def next_to_send(self, system_title: bytes, key: KeyIdentity) -> int:
        """See :meth:`~asyncdlms.security.InvocationCounterStore.next_to_send`."""
        slot = (system_title, key)
        with self._lock:
            counter = self._next.get(slot)
            if counter is None or counter >= self._limit.get(slot, 0):
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
            if counter is not None and counter < self._limit.get(slot, 0):
                return counter
            return max(counter or 0, self.reserved_bound(*slot))

    def advance(self, system_title: bytes, key: KeyIdentity, next_counter: int) -> None:
        """See :meth:`~asyncdlms.security.InvocationCounterStore.advance`."""
        if next_counter < 0:
            raise ValueError("an invocation counter is not negative")
        slot = (system_title, key)
        with self._lock:
            counter = self._next.get(slot)
            if counter is not None and next_counter <= counter:
                return
            if counter is not None and next_counter < self._limit.get(slot, 0):
                self._next[slot] = next_counter
            else:
                self._take(slot, next_counter)

    def accept_received(self, system_title: bytes, key: KeyIdentity, counter: int) -> None:
        """See :meth:`~asyncdlms.security.InvocationCounterStore.accept_received`."""
        self._received.accept_received(system_title, key, counter)

    def last_received(self, system_title: bytes, key: KeyIdentity) -> int | None:
        """See :meth:`~asyncdlms.security.InvocationCounterStore.last_received`."""
        return self._received.last_received(system_title, key)

    def close(self) -> None:
        """Close the connection to Redis (the block in hand is given up)."""
        self._redis.close()
