"""What a poll cycle gives for each meter: a :class:`MeterResult` with the values read
(each a :class:`Reading` with its timestamp) or a :class:`MeterFailure` naming the step
that failed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import DlmsError, RequestTimeoutError

if TYPE_CHECKING:
    from .meters import Meter

__all__ = [
    "CircuitOpenError",
    "MeterFailure",
    "MeterResult",
    "MeterTimeoutError",
    "PollerClosedError",
    "Reading",
    "Step",
]


class Step:
    """Names of the steps a failure can name (``read KEY`` for a plan item)."""

    CONNECT = "connect"
    ASSOCIATE = "associate"
    RELEASE = "release"
    CIRCUIT_OPEN = "circuit-open"
    SHUTDOWN = "shutdown"
    INTERNAL = "internal"

    @staticmethod
    def read(key: str) -> str:
        return f"read {key}"


class MeterTimeoutError(RequestTimeoutError):
    """One attempt on a meter took longer than its overall time limit."""


class CircuitOpenError(DlmsError):
    """The meter failed too many cycles in a row: it is left alone until its circuit
    breaker half-opens."""


class PollerClosedError(DlmsError):
    """The poller was closed before this meter was polled in the cycle."""


@dataclass(frozen=True, slots=True)
class Reading:
    """One plan item's value and when it arrived (UTC)."""

    key: str
    value: Any
    timestamp: dt.datetime


_new_reading = object.__new__
_set_key, _set_value, _set_timestamp = (
    vars(Reading)[name].__set__ for name in ("key", "value", "timestamp")
)


def make_reading(key: str, value: Any, timestamp: dt.datetime) -> Reading:
    """``Reading(key, value, timestamp)`` built through its slots (the poller makes one per
    value read; a frozen dataclass's ``__init__`` goes through ``object.__setattr__``)."""
    reading: Reading = _new_reading(Reading)
    _set_key(reading, key)
    _set_value(reading, value)
    _set_timestamp(reading, timestamp)
    return reading


@dataclass(frozen=True, slots=True)
class MeterFailure:
    """Why a meter gave no (complete) result: the ``step`` that failed (``connect``,
    ``associate``, ``read KEY``, ``release``, ``circuit-open``, ``shutdown``), the typed
    ``error`` it raised, and whether a retry could help."""

    step: str
    error: BaseException
    retryable: bool

    @property
    def message(self) -> str:
        text = str(self.error) or type(self.error).__name__
        return f"{self.step}: {type(self.error).__name__}: {text}"


@dataclass(frozen=True, slots=True)
class MeterResult:
    """The outcome of one meter in one cycle (exactly one per meter per cycle).

    ``readings`` holds what was read (also the items read before a failure); ``failure``
    is ``None`` when every item was read. ``attempts`` counts tries (0 when the circuit
    breaker was open), ``elapsed`` the seconds from the first try to the outcome, and
    ``reassociated`` whether a kept association had dropped and was opened again."""

    meter: Meter
    cycle: int
    readings: tuple[Reading, ...]
    failure: MeterFailure | None
    attempts: int
    elapsed: float
    reassociated: bool = False

    @property
    def ok(self) -> bool:
        return self.failure is None

    def values(self) -> dict[str, Any]:
        """The values read, by plan item key."""
        return {reading.key: reading.value for reading in self.readings}


(
    _set_meter,
    _set_cycle,
    _set_readings,
    _set_failure,
    _set_attempts,
    _set_elapsed,
    _set_reassociated,
) = (
    vars(MeterResult)[name].__set__
    for name in ("meter", "cycle", "readings", "failure", "attempts", "elapsed", "reassociated")
)


def make_meter_result(
    meter: Meter,
    cycle: int,
    readings: tuple[Reading, ...],
    failure: MeterFailure | None,
    attempts: int,
    elapsed: float,
    reassociated: bool = False,
) -> MeterResult:
    """``MeterResult(...)`` built through its slots (one per meter and cycle; a frozen
    dataclass's ``__init__`` sets its seven fields through ``object.__setattr__``)."""
    result: MeterResult = _new_reading(MeterResult)
    _set_meter(result, meter)
    _set_cycle(result, cycle)
    _set_readings(result, readings)
    _set_failure(result, failure)
    _set_attempts(result, attempts)
    _set_elapsed(result, elapsed)
    _set_reassociated(result, reassociated)
    return result
