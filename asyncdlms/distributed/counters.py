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

The store protocol is synchronous (a counter is reserved while an APDU is built), so a block
is reserved with a short blocking Redis call, once every ``reserve`` counters (1 000 by
default: about one round trip per thousand ciphered APDUs). Received counters (replay
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


class RedisInvocationCounterStore:
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
        self._redis = client
        self._script = client.register_script(_RESERVE)
        self._prefix = prefix
        self._reserve = reserve
        self._initial = initial
        self._lock = threading.Lock()
        self._next: dict[tuple[bytes, KeyIdentity], int] = {}
        self._limit: dict[tuple[bytes, KeyIdentity], int] = {}
        self._received = MemoryInvocationCounterStore(initial)

    def __repr__(self) -> str:
        return f"RedisInvocationCounterStore(prefix={self._prefix!r}, reserve={self._reserve})"

    def _keys(self, system_title: bytes, key: KeyIdentity) -> list[str]:
        base = f"{self._prefix}:counters:{system_title.hex()}"
        return [f"{base}/{key}", f"{base}/{key.kind.value}"]

    def _reserve_from(self, slot: tuple[bytes, KeyIdentity], at_least: int) -> int:
        try:
            start = int(
                self._script(
                    keys=self._keys(*slot), args=[at_least, self._reserve, self._initial]
                )
            )
        except Exception as exc:  # redis-py's errors: no counter without a reservation
            raise InvocationCounterStoreError(
                f"cannot reserve invocation counters in Redis ({type(exc).__name__}: {exc}): "
                "no APDU is ciphered without one"
            ) from None
        self._next[slot] = start
        self._limit[slot] = min(start + self._reserve, MAX_INVOCATION_COUNTER + 1)
        return start

    def next_to_send(self, system_title: bytes, key: KeyIdentity) -> int:
        """See :meth:`~asyncdlms.security.InvocationCounterStore.next_to_send`."""
        slot = (system_title, key)
        with self._lock:
            counter = self._next.get(slot)
            if counter is None or counter >= self._limit.get(slot, 0):
                counter = self._reserve_from(slot, self._initial if counter is None else counter)
            if counter > MAX_INVOCATION_COUNTER:
                raise InvocationCounterExhaustedError(
                    f"the invocation counter of system title {system_title.hex()} "
                    f"({key.kind.value} key) reached 2^32 - 1: install new keys"
                )
            self._next[slot] = counter + 1
            return counter

    def peek_next(self, system_title: bytes, key: KeyIdentity) -> int:
        """See :meth:`~asyncdlms.security.InvocationCounterStore.peek_next` (without a block
        in hand: the next counter of this worker's next block, at least)."""
        slot = (system_title, key)
        with self._lock:
            counter = self._next.get(slot)
            if counter is not None and counter < self._limit.get(slot, 0):
                return counter
            values = self._redis.mget(self._keys(*slot))
            bounds = [int(v) for v in values if v is not None]
            return max([counter or self._initial, self._initial, *bounds])

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
                self._reserve_from(slot, next_counter)

    def accept_received(self, system_title: bytes, key: KeyIdentity, counter: int) -> None:
        """See :meth:`~asyncdlms.security.InvocationCounterStore.accept_received`."""
        self._received.accept_received(system_title, key, counter)

    def last_received(self, system_title: bytes, key: KeyIdentity) -> int | None:
        """See :meth:`~asyncdlms.security.InvocationCounterStore.last_received`."""
        return self._received.last_received(system_title, key)

    def close(self) -> None:
        """Close the connection to Redis (the block in hand is given up)."""
        self._redis.close()
