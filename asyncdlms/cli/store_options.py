"""Options shared by the commands that keep what they read (``poll``, and ``listen``):
``--store URL`` (:func:`add_store_option`, :func:`opened_store`) and ``--metrics-port PORT``
(:func:`add_metrics_option`, :func:`metrics_for`), and the ``--history`` of the first
profile read (:func:`add_history_option`)."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from ..fleet.metrics import FleetMetrics
from ..store import ReadingStore, open_store, redact_url

if TYPE_CHECKING:
    from ..fleet import Meter, MeterFailure, MeterResult
    from ..fleet.prometheus import PrometheusMetrics
    from ..fleet.resilience import BreakerState

__all__ = [
    "FanOutMetrics",
    "add_history_option",
    "add_metrics_option",
    "add_store_option",
    "metrics_for",
    "opened_store",
    "temporary_store_url",
]


def add_store_option(parser: argparse.ArgumentParser) -> None:
    """``--store URL`` (default: the ``ASYNCDLMS_STORE`` environment variable)."""
    parser.add_argument(
        "--store",
        default=os.environ.get("ASYNCDLMS_STORE"),
        metavar="URL",
        help="keep what is read in a store: sqlite:///readings.db or "
        "postgresql://user:password@host/db (needs asyncdlms[postgres]); default "
        "ASYNCDLMS_STORE",
    )


def add_metrics_option(parser: argparse.ArgumentParser) -> None:
    """``--metrics-port PORT`` (and ``--metrics-host``)."""
    parser.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="serve Prometheus metrics on http://HOST:PORT/metrics (needs asyncdlms[metrics])",
    )
    parser.add_argument(
        "--metrics-host",
        default="127.0.0.1",
        metavar="HOST",
        help="address the metrics are served on (default 127.0.0.1)",
    )


def add_history_option(parser: argparse.ArgumentParser) -> None:
    """``--history DURATION``: how far back a meter's first profile read goes."""
    parser.add_argument(
        "--history",
        metavar="DURATION",
        help="the first profile read of a meter goes back this far (2d, 12h, 90m; default "
        "the fleet file's plan.history or 1d); later reads continue from the stored position",
    )


def temporary_store_url() -> str:
    """A new SQLite file in the temporary folder, as a store URL."""
    handle, path = tempfile.mkstemp(prefix="asyncdlms-readings-", suffix=".db")
    os.close(handle)
    return f"sqlite:///{path}"


@asynccontextmanager
async def opened_store(url: str | None) -> AsyncIterator[ReadingStore | None]:
    """The store at ``url`` (tables created when needed), closed at the end; ``None``
    for none."""
    if url is None:
        yield None
        return
    store = await open_store(url)
    try:
        yield store
    finally:
        await store.close()


class FanOutMetrics(FleetMetrics):
    """Every hook passed on to each of ``targets``."""

    def __init__(self, *targets: FleetMetrics) -> None:
        self.targets = targets

    def association_opened(self, meter: Meter, seconds: float) -> None:
        for target in self.targets:
            target.association_opened(meter, seconds)

    def association_closed(self, meter: Meter) -> None:
        for target in self.targets:
            target.association_closed(meter)

    def read_finished(self, meter: Meter, key: str, seconds: float, ok: bool) -> None:
        for target in self.targets:
            target.read_finished(meter, key, seconds, ok)

    def retry_scheduled(
        self, meter: Meter, attempt: int, delay: float, failure: MeterFailure
    ) -> None:
        for target in self.targets:
            target.retry_scheduled(meter, attempt, delay, failure)

    def breaker_changed(self, meter: Meter, state: BreakerState) -> None:
        for target in self.targets:
            target.breaker_changed(meter, state)

    def meter_finished(self, result: MeterResult) -> None:
        for target in self.targets:
            target.meter_finished(result)


def metrics_for(args: argparse.Namespace) -> PrometheusMetrics | None:
    """With ``--metrics-port``: Prometheus metrics served on it (the address printed to
    standard error); else ``None``. ``ImportError`` names the extra to install."""
    port: int | None = getattr(args, "metrics_port", None)
    if port is None:
        return None
    from ..fleet.prometheus import PrometheusMetrics

    metrics = PrometheusMetrics()
    server: Any = metrics.serve(port, args.metrics_host)
    print(f"metrics on http://{args.metrics_host}:{server.server_port}/metrics", file=sys.stderr)
    return metrics


def describe_store(url: str) -> str:
    """``url`` as it may be printed (no password)."""
    return redact_url(url)
