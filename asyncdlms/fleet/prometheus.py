"""Prometheus metrics of a head-end (``pip install 'asyncdlms[metrics]'``):
:class:`PrometheusMetrics` is a :class:`~asyncdlms.fleet.FleetMetrics` that counts reads,
failures by cause, read latency, open associations and circuit breaker states, plus
pushes received/rejected (for the listener) and store write latency;
:meth:`PrometheusMetrics.serve` exposes them over HTTP for Prometheus to scrape.

::

    metrics = PrometheusMetrics()
    server = metrics.serve(9464)            # http://127.0.0.1:9464/metrics
    async with FleetPoller(meters, plan, metrics=metrics) as poller: ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .metrics import KEEP_ALIVE, FleetMetrics

if TYPE_CHECKING:
    from .meters import Meter
    from .resilience import BreakerState
    from .results import MeterFailure, MeterResult

__all__ = ["LATENCY_BUCKETS", "PrometheusMetrics", "require_prometheus"]

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Histogram buckets of read and store write latencies (seconds)."""


def require_prometheus() -> Any:
    """The ``prometheus_client`` module, or ``ImportError`` saying which extra to install."""
    try:
        import prometheus_client
    except ImportError:
        raise ImportError(
            "metrics need prometheus-client: pip install 'asyncdlms[metrics]'"
        ) from None
    return prometheus_client


class PrometheusMetrics(FleetMetrics):
    """Fleet metrics in a registry of their own (``registry``, a new one by default):

    - ``asyncdlms_reads_total{result}`` — plan items read (``ok``/``failed``);
    - ``asyncdlms_keep_alives_total{result}``;
    - ``asyncdlms_read_seconds`` — read latency histogram;
    - ``asyncdlms_meters_total{result}`` — meter outcomes per cycle;
    - ``asyncdlms_failures_total{step,cause}`` — failed meters by step and error type;
    - ``asyncdlms_retries_total``;
    - ``asyncdlms_open_associations`` — associations open now;
    - ``asyncdlms_breakers{state}`` — meters whose circuit breaker is in each state;
    - ``asyncdlms_pushes_received_total`` / ``asyncdlms_pushes_rejected_total{reason}``;
    - ``asyncdlms_store_write_seconds`` histogram and ``asyncdlms_store_rows_total``.
    """

    def __init__(self, registry: Any = None) -> None:
        client = require_prometheus()
        self.registry = registry if registry is not None else client.CollectorRegistry()
        counter, gauge, histogram = client.Counter, client.Gauge, client.Histogram
        kw = {"registry": self.registry}
        self.reads = counter("asyncdlms_reads", "Plan items read", ["result"], **kw)
        self.keep_alives = counter("asyncdlms_keep_alives", "Keep-alive reads", ["result"], **kw)
        self.read_seconds = histogram("asyncdlms_read_seconds", "Read latency (seconds)",
                                      buckets=LATENCY_BUCKETS, **kw)  # fmt: skip
        self.meters = counter("asyncdlms_meters", "Meter outcomes per cycle", ["result"], **kw)
        self.failures = counter("asyncdlms_failures", "Failed meters by step and cause",
                                ["step", "cause"], **kw)  # fmt: skip
        self.retries = counter("asyncdlms_retries", "Retries scheduled", **kw)
        self.open_associations = gauge("asyncdlms_open_associations",
                                       "Associations open now", **kw)  # fmt: skip
        self.breakers = gauge("asyncdlms_breakers", "Meters by circuit breaker state",
                              ["state"], **kw)  # fmt: skip
        self.pushes_received = counter("asyncdlms_pushes_received", "Pushes received", **kw)
        self.pushes_rejected = counter("asyncdlms_pushes_rejected", "Pushes rejected",
                                       ["reason"], **kw)  # fmt: skip
        self.store_write_seconds = histogram("asyncdlms_store_write_seconds",
                                             "Store write latency per batch (seconds)",
                                             buckets=LATENCY_BUCKETS, **kw)  # fmt: skip
        self.store_rows = counter("asyncdlms_store_rows", "Rows written to the store", **kw)
        self._breaker_of: dict[str, str] = {}
        for state in ("closed", "open", "half-open"):
            self.breakers.labels(state).set(0)

    # -- FleetMetrics hooks -------------------------------------------------------------------

    def association_opened(self, meter: Meter, seconds: float) -> None:
        self.open_associations.inc()

    def association_closed(self, meter: Meter) -> None:
        self.open_associations.dec()

    def read_finished(self, meter: Meter, key: str, seconds: float, ok: bool) -> None:
        result = "ok" if ok else "failed"
        if key == KEEP_ALIVE:
            self.keep_alives.labels(result).inc()
            return
        self.reads.labels(result).inc()
        if ok:
            self.read_seconds.observe(seconds)

    def retry_scheduled(
        self, meter: Meter, attempt: int, delay: float, failure: MeterFailure
    ) -> None:
        self.retries.inc()

    def breaker_changed(self, meter: Meter, state: BreakerState) -> None:
        name = _state_name(state)
        before = self._breaker_of.get(meter.name, "closed")
        self._breaker_of[meter.name] = name
        if before != name:
            self.breakers.labels(before).dec()
            self.breakers.labels(name).inc()

    def meter_finished(self, result: MeterResult) -> None:
        if result.meter.name not in self._breaker_of:
            self._breaker_of[result.meter.name] = "closed"
            self.breakers.labels("closed").inc()
        if result.failure is None:
            self.meters.labels("ok").inc()
            return
        self.meters.labels("failed").inc()
        step = result.failure.step.split(" ")[0]
        self.failures.labels(step, type(result.failure.error).__name__).inc()

    # -- the receive side and the store -------------------------------------------------------

    def push_received(self) -> None:
        """A push (data-notification) was received and accepted."""
        self.pushes_received.inc()

    def push_rejected(self, reason: str) -> None:
        """A push was rejected (``reason``: replay, unknown-system-title, decipher...)."""
        self.pushes_rejected.labels(reason).inc()

    def store_written(self, seconds: float, rows: int) -> None:
        """A batch of ``rows`` was written to the store in ``seconds``."""
        self.store_write_seconds.observe(seconds)
        self.store_rows.inc(rows)

    # -- exposition ---------------------------------------------------------------------------

    def serve(self, port: int, host: str = "127.0.0.1") -> Any:
        """Serve ``/metrics`` on ``host:port`` from a daemon thread; returns the HTTP
        server (``shutdown()`` it to stop; port 0 picks a free one,
        ``server.server_port``)."""
        client = require_prometheus()
        server, _thread = client.start_http_server(port, addr=host, registry=self.registry)
        self.server = server
        return server

    def close(self) -> None:
        """Stop serving (when :meth:`serve` was called)."""
        server = getattr(self, "server", None)
        if server is not None:
            server.shutdown()
            server.server_close()
            self.server = None

    def exposition(self) -> bytes:
        """The metrics in the Prometheus text format."""
        data: bytes = require_prometheus().generate_latest(self.registry)
        return data


def _state_name(state: BreakerState) -> str:
    value = getattr(state, "value", state)
    return str(value).replace("_", "-").lower()
