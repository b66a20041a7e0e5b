"""Retries with exponential back-off and jitter, and a per-meter circuit breaker. Both are
plain objects driven by numbers passed in (a random source, a clock reading), so tests
need no sleeping."""

from __future__ import annotations

import enum
import random as _random
from dataclasses import dataclass

from ..errors import (
    ActionError,
    AssociationRejectedError,
    AuthenticationError,
    DataAccessError,
    DlmsError,
    ServiceError,
)

__all__ = ["BreakerPolicy", "BreakerState", "CircuitBreaker", "RetryPolicy", "is_retryable"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Up to ``attempts`` tries per meter per cycle; before try n+1 wait
    ``min(max_delay, base_delay × multiplier^(n-1))``, scaled by a random factor in
    ``[1 - jitter, 1]`` ("equal jitter" for ``jitter=0.5``; 1.0 gives full jitter)."""

    attempts: int = 3
    base_delay: float = 1.0
    multiplier: float = 2.0
    max_delay: float = 60.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.multiplier < 1:
            raise ValueError("delays must not be negative and the multiplier at least 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter is a fraction (0..1)")

    def delay(self, failed_attempts: int, random: _random.Random) -> float:
        """Seconds to wait after ``failed_attempts`` failed tries (1, 2, ...)."""
        ceiling = min(self.max_delay, self.base_delay * self.multiplier ** (failed_attempts - 1))
        return ceiling * (1.0 - self.jitter * random.random())


NO_RETRY = RetryPolicy(attempts=1)


def is_retryable(error: BaseException) -> bool:
    """False for failures another try would repeat: rejected associations (wrong password,
    wrong client address, a meter that refuses), refused data access, actions and
    services, and configuration errors; True for timeouts, dropped or refused connections
    and protocol trouble on the line."""
    if isinstance(
        error, AssociationRejectedError | AuthenticationError | DataAccessError | ActionError
    ):
        return False
    if isinstance(error, ServiceError):
        return False
    # ValueError, TypeError...: a configuration or programming error
    return isinstance(error, DlmsError | OSError | EOFError)


class BreakerState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    """Open a meter's circuit after ``failure_threshold`` failed cycles in a row; after
    ``reset_timeout`` seconds let one cycle try (half-open): success closes it, failure
    opens it again for ``reset_timeout`` × ``backoff`` (up to ``max_reset_timeout``)."""

    failure_threshold: int = 5
    reset_timeout: float = 300.0
    backoff: float = 2.0
    max_reset_timeout: float = 3600.0

    def __post_init__(self) -> None:
        if self.failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if self.reset_timeout < 0 or self.backoff < 1:
            raise ValueError("reset_timeout must not be negative and backoff at least 1")


class CircuitBreaker:
    """The breaker of one meter (see :class:`BreakerPolicy`); ``now`` is any monotonic
    clock reading in seconds."""

    __slots__ = ("failures", "open_for", "opened_at", "policy", "state")

    def __init__(self, policy: BreakerPolicy) -> None:
        self.policy = policy
        self.state = BreakerState.CLOSED
        self.failures = 0
        self.opened_at = 0.0
        self.open_for = policy.reset_timeout

    def allow(self, now: float) -> bool:
        """Whether the meter may be tried now (an open breaker half-opens when due)."""
        if self.state is BreakerState.OPEN and now - self.opened_at >= self.open_for:
            self.state = BreakerState.HALF_OPEN
        return self.state is not BreakerState.OPEN

    def record_success(self) -> None:
        self.state = BreakerState.CLOSED
        self.failures = 0
        self.open_for = self.policy.reset_timeout

    def record_failure(self, now: float) -> None:
        self.failures += 1
        if self.state is BreakerState.HALF_OPEN:
            self.open_for = min(self.policy.max_reset_timeout, self.open_for * self.policy.backoff)
            self._open(now)
        elif self.failures >= self.policy.failure_threshold:
            self._open(now)

    def _open(self, now: float) -> None:
        self.state = BreakerState.OPEN
        self.opened_at = now
