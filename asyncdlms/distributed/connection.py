"""Opening Redis (the optional ``redis`` package, ``pip install asyncdlms[redis]``) and
retrying its calls with back-off while it is away."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import anyio

from ..errors import DlmsError

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = [
    "RedisBackoff",
    "RedisMissingError",
    "ensure_group",
    "open_redis",
    "redis_errors",
    "with_backoff",
]

T = TypeVar("T")


class RedisMissingError(DlmsError):
    """The ``redis`` package is not installed."""


def _redis_module() -> Any:
    try:
        import redis.asyncio
    except ImportError:
        raise RedisMissingError(
            "the distributed fleet needs the 'redis' package: pip install 'asyncdlms[redis]'"
        ) from None
    return redis.asyncio


def open_redis(url: str, *, block_seconds: float = 1.0) -> Redis:
    """A Redis client for ``url`` (``redis://HOST:PORT/DB``), text responses; its socket
    timeout leaves room for blocking reads of ``block_seconds``. It does not retry by itself:
    callers retry with :func:`with_backoff` (and count the reconnections)."""
    module = _redis_module()
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    client: Redis = module.Redis.from_url(
        url,
        decode_responses=True,
        protocol=2,  # the reply shapes this package reads (redis-py 5 and later)
        retry=Retry(NoBackoff(), 0),  # no silent retries: with_backoff() is the one policy
        socket_connect_timeout=5.0,
        socket_timeout=block_seconds + 10.0,
        health_check_interval=0,
    )
    return client


def redis_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean Redis is (for now) not reachable."""
    import redis.exceptions as errors

    return (errors.ConnectionError, errors.TimeoutError, errors.BusyLoadingError, OSError)


@dataclass(frozen=True, slots=True)
class RedisBackoff:
    """Waits between tries while Redis is away: ``first`` seconds, doubling up to
    ``longest``, each with up to ``jitter`` (a fraction) more; give up after ``give_up``
    seconds in all (None: never)."""

    first: float = 0.1
    longest: float = 5.0
    jitter: float = 0.2
    give_up: float | None = None

    def delay(self, attempt: int, rng: random.Random) -> float:
        base = min(self.longest, self.first * 2.0 ** max(attempt - 1, 0))
        return base * (1 + self.jitter * rng.random())


async def with_backoff(
    call: Callable[[], Awaitable[T]],
    backoff: RedisBackoff,
    *,
    on_retry: Callable[[int, BaseException], None] | None = None,
    rng: random.Random | None = None,
    give_up: Callable[[], bool] | None = None,
) -> T:
    """``await call()``, tried again with back-off while Redis is unreachable (the error is
    raised once ``backoff.give_up`` seconds were waited, or when ``give_up()`` says so)."""
    errors = redis_errors()
    rng = rng or random.Random()
    attempt = 0
    waited = 0.0
    while True:
        try:
            return await call()
        except errors as exc:
            attempt += 1
            delay = backoff.delay(attempt, rng)
            if backoff.give_up is not None and waited + delay > backoff.give_up:
                raise
            if give_up is not None and give_up():
                raise
            if on_retry is not None:
                on_retry(attempt, exc)
            waited += delay
            await anyio.sleep(delay)


async def ensure_group(redis: Redis, stream: str, group: str) -> None:
    """Create the consumer group (and the stream) unless it exists; a new group reads the
    stream from its start, so jobs queued before the first worker are not missed."""
    import redis.exceptions as errors

    try:
        await redis.xgroup_create(stream, group, id="0", mkstream=True)
    except errors.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise
