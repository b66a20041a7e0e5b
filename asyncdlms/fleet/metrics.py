"""Metrics hooks of the fleet poller, with no metrics library needed.

Subclass :class:`FleetMetrics` (every method a no-op) and pass it as ``metrics=``: forward
to Prometheus, StatsD, OpenTelemetry... :class:`FleetStatistics` is a ready collector of
counts and latencies (the command line prints its summary)."""

from __future__ import annotations

import math
from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .meters import Meter
    from .resilience import BreakerState
    from .results import MeterFailure, MeterResult

__all__ = ["KEEP_ALIVE", "FleetMetrics", "FleetStatistics", "percentile"]

KEEP_ALIVE = "keep-alive"
"""The key :meth:`FleetMetrics.read_finished` gets for a keep-alive read."""


class FleetMetrics:
    """Hooks the poller calls (all no-ops here); times are seconds."""

    def association_opened(self, meter: Meter, seconds: float) -> None:
        """An association was established (``seconds`` to connect and associate)."""

    def association_closed(self, meter: Meter) -> None:
        """An association was released or dropped and its transport closed."""

    def read_finished(self, meter: Meter, key: str, seconds: float, ok: bool) -> None:
        """A plan item (or keep-alive read, key ``keep-alive``) finished."""

    def retry_scheduled(
        self, meter: Meter, attempt: int, delay: float, failure: MeterFailure
    ) -> None:
        """Try ``attempt`` failed; the next one starts after ``delay`` seconds."""

    def breaker_changed(self, meter: Meter, state: BreakerState) -> None:
        """The meter's circuit breaker changed state."""

    def meter_finished(self, result: MeterResult) -> None:
        """The meter's outcome of a cycle."""


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` 0..1) of ``values`` (NaN when empty)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


class FleetStatistics(FleetMetrics):
    """Counts and latencies: meters ok/failed, failures by step, reads of the plan,
    keep-alive reads (apart), retries, associations, read latencies and meter latencies
    (seconds, from the start of the meter's turn in the cycle, waits included)."""

    def __init__(self) -> None:
        self.meters_ok = 0
        self.meters_failed = 0
        self.failures_by_step: Counter[str] = Counter()
        self.reads_ok = 0
        self.reads_failed = 0
        self.keep_alives_ok = 0
        self.keep_alives_failed = 0
        self.retries = 0
        self.associations_opened = 0
        self.associations_closed = 0
        self.read_latencies: list[float] = []
        self.association_latencies: list[float] = []
        self.meter_latencies: list[float] = []

    def association_opened(self, meter: Meter, seconds: float) -> None:
        self.associations_opened += 1
        self.association_latencies.append(seconds)

    def association_closed(self, meter: Meter) -> None:
        self.associations_closed += 1

    def read_finished(self, meter: Meter, key: str, seconds: float, ok: bool) -> None:
        if key == KEEP_ALIVE:  # not a read of the plan: counted apart
            if ok:
                self.keep_alives_ok += 1
            else:
                self.keep_alives_failed += 1
            return
        if ok:
            self.reads_ok += 1
            self.read_latencies.append(seconds)
        else:
            self.reads_failed += 1

    def retry_scheduled(
        self, meter: Meter, attempt: int, delay: float, failure: MeterFailure
    ) -> None:
        self.retries += 1

    def meter_finished(self, result: MeterResult) -> None:
        if result.ok:
            self.meters_ok += 1
        else:
            self.meters_failed += 1
            assert result.failure is not None
            self.failures_by_step[result.failure.step.split(" ")[0]] += 1
        self.meter_latencies.append(result.elapsed)

    def summary(self, seconds: float) -> str:
        """One line: meters ok/failed, reads per second over ``seconds``, p50/p95 read
        latency."""
        rate = self.reads_ok / seconds if seconds > 0 else math.nan
        p50 = percentile(self.read_latencies, 0.5) * 1000
        p95 = percentile(self.read_latencies, 0.95) * 1000
        text = (
            f"{self.meters_ok + self.meters_failed} meters: {self.meters_ok} ok, "
            f"{self.meters_failed} failed; {self.reads_ok} reads in {seconds:.2f} s "
            f"({rate:.0f} reads/s); read latency p50 {p50:.1f} ms, p95 {p95:.1f} ms"
        )
        if self.failures_by_step:
            steps = ", ".join(
                f"{step} {count}" for step, count in sorted(self.failures_by_step.items())
            )
            text += f"; failed at: {steps}"
        return text
