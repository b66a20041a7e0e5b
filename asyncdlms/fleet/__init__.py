"""Fleet polling: many meters from one event loop.

>>> # from asyncdlms.fleet import FleetPoller, ReadPlan, load_fleet
>>> # fleet = load_fleet("fleet.toml")
>>> # async with FleetPoller(fleet.meters, fleet.plan, concurrency=200) as poller:
>>> #     async for result in poller.poll():
>>> #         ...

- :class:`Meter` (URL + :func:`asyncdlms.connect` keywords), :func:`load_fleet` for TOML,
  CSV and JSON fleet files (:class:`FleetFileError` names the line and field);
- :class:`ReadPlan` of attributes, registers, the clock and profiles since the last read;
- :class:`FleetPoller`: bounded concurrency (global and per shared bus), per-meter
  timeouts, retries with exponential back-off and jitter (:class:`RetryPolicy`), a per-meter
  circuit breaker (:class:`BreakerPolicy`), results as an async iterator and/or callback
  (:class:`MeterResult`, :class:`MeterFailure` naming the failed step), long-lived mode
  (associations kept open, keep-alive reads, re-association after drops, schedule);
- :class:`FleetMetrics` hooks and the :class:`FleetStatistics` collector.
"""

from __future__ import annotations

from .meters import FleetFile, FleetFileError, Meter, load_fleet, parse_fleet
from .metrics import FleetMetrics, FleetStatistics, percentile
from .plan import (
    DEFAULT_PLAN,
    PlanItem,
    ReadAttribute,
    ReadClock,
    ReadPlan,
    ReadProfile,
    ReadRegister,
    parse_plan_item,
)
from .poller import DEFAULT_BREAKER, KEEP_ALIVE_READ, FleetPoller, poll_fleet
from .resilience import BreakerPolicy, BreakerState, CircuitBreaker, RetryPolicy, is_retryable
from .results import (
    CircuitOpenError,
    MeterFailure,
    MeterResult,
    MeterTimeoutError,
    PollerClosedError,
    Reading,
    Step,
)

__all__ = [
    "DEFAULT_BREAKER",
    "DEFAULT_PLAN",
    "KEEP_ALIVE_READ",
    "BreakerPolicy",
    "BreakerState",
    "CircuitBreaker",
    "CircuitOpenError",
    "FleetFile",
    "FleetFileError",
    "FleetMetrics",
    "FleetPoller",
    "FleetStatistics",
    "Meter",
    "MeterFailure",
    "MeterResult",
    "MeterTimeoutError",
    "PlanItem",
    "PollerClosedError",
    "ReadAttribute",
    "ReadClock",
    "ReadPlan",
    "ReadProfile",
    "ReadRegister",
    "Reading",
    "RetryPolicy",
    "Step",
    "is_retryable",
    "load_fleet",
    "parse_fleet",
    "parse_plan_item",
    "percentile",
    "poll_fleet",
]
