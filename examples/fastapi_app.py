"""A FastAPI service that keeps associations open and serves readings over HTTP.

    python3 -m pip install fastapi uvicorn
    uvicorn examples.fastapi_app:app            # against 5 simulated meters (the default)
    METERS="tcp://10.0.0.7:4059,tcp://10.0.0.8:4059" uvicorn examples.fastapi_app:app

    STORE="sqlite:///readings.db" uvicorn examples.fastapi_app:app   # serve a reading store

GET /meters/{index}/energy returns the active import energy as a quantity with its unit,
GET /meters/{index}/clock the meter's time. One association per meter is opened at start-up
and shared by all requests: the client serialises requests per association, so concurrent
HTTP requests to one meter are safe; a DLMS error becomes an HTTP error naming it.

GET /stored/meters lists the meters of the reading store (``STORE``, as filled by
``asyncdlms poll --store``), GET /stored/readings?meter=&obis=&start=&end=&limit= what it
holds (registers, and profile rows when ``obis`` names a profile). Without ``STORE`` the
simulated meters are polled once at start-up into a temporary SQLite store.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException

import asyncdlms
from asyncdlms.errors import DlmsError
from asyncdlms.fleet import FleetPoller, Meter, ReadPlan
from asyncdlms.fleet.positions import StorePositions, StoreWriter
from asyncdlms.fleet.schedule import AlignedSchedule
from asyncdlms.server import Simulator
from asyncdlms.store import ReadingQuery, ReadingStore, StoreError, open_store, utc

STORED_PLAN = ReadPlan.of("register:1.0.1.8.0.255", "clock", "profile:1.0.99.1.0.255")


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with contextlib.AsyncExitStack() as stack:
        urls = [u for u in os.environ.get("METERS", "").split(",") if u]
        store_url = os.environ.get("STORE")
        simulator: Simulator | None = None
        if not urls:  # no meters given: serve simulated ones
            simulator = await stack.enter_async_context(Simulator(meters=5))
            urls = simulator.urls
        if store_url is None and simulator is not None:
            folder = stack.enter_context(tempfile.TemporaryDirectory())
            store_url = f"sqlite:///{Path(folder) / 'readings.db'}"
        store: ReadingStore | None = None
        if store_url is not None:
            store = await open_store(store_url)
            stack.push_async_callback(store.close)
            if simulator is not None and not os.environ.get("STORE"):
                await _poll_once(simulator, store)
        app.state.store = store
        app.state.meters = [
            await stack.enter_async_context(asyncdlms.connect(url, timeout=10)) for url in urls
        ]
        yield


async def _poll_once(simulator: Simulator, store: ReadingStore) -> None:
    """Read the simulated meters once into ``store``, as ``asyncdlms poll --store`` does."""
    meters = [
        Meter(url, {"client": 17, "auth": "low", "password": "12345678"}, name=f"meter-{i}")
        for i, url in enumerate(simulator.urls)
    ]
    schedule = AlignedSchedule(900)
    writer = StoreWriter(store, capture_time=schedule.capture_time, meters_per_cycle=len(meters))
    positions = StorePositions(store, STORED_PLAN)
    async with FleetPoller(meters, STORED_PLAN, positions=positions) as poller:
        async for result in schedule.run(poller, cycles=1):
            await writer.add(result)
    await writer.flush()


app = FastAPI(title="asyncdlms readings", lifespan=lifespan)


def _meter(index: int) -> asyncdlms.Client:
    meters: list[asyncdlms.Client] = app.state.meters
    if not 0 <= index < len(meters):
        raise HTTPException(404, f"no meter {index}")
    return meters[index]


@app.get("/meters/{index}/energy")
async def energy(index: int) -> dict[str, Any]:
    try:
        quantity = await _meter(index).read_register("1.0.1.8.0.255")
    except DlmsError as exc:
        raise HTTPException(502, f"{type(exc).__name__}: {exc}") from exc
    return {"value": str(quantity.value), "unit": quantity.unit.symbol, "text": str(quantity)}


@app.get("/meters/{index}/clock")
async def clock(index: int) -> dict[str, Any]:
    try:
        now = await _meter(index).read_clock()
    except DlmsError as exc:
        raise HTTPException(502, f"{type(exc).__name__}: {exc}") from exc
    return {"clock": None if now is None else now.isoformat()}


def _store() -> ReadingStore:
    store: ReadingStore | None = app.state.store
    if store is None:
        raise HTTPException(404, "no reading store: start the service with STORE=URL")
    return store


@app.get("/stored/meters")
async def stored_meters() -> dict[str, Any]:
    return {"meters": await _store().meters()}


@app.get("/stored/readings")
async def stored_readings(
    meter: str | None = None,
    obis: str | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    limit: int = 1000,
) -> dict[str, Any]:
    query = ReadingQuery(meter, (obis,) if obis else (), start, end, limit)
    try:
        readings = await _store().readings(query)
        rows = await _store().profile_rows(query)
    except (StoreError, ValueError) as exc:
        raise HTTPException(400, str(exc)) from exc
    return {
        "readings": [
            {"meter": r.meter, "object": r.object, "capture_time": utc(r.capture_time),
             "value": r.value, "unit": r.unit, "source": str(r.source)}
            for r in readings
        ],
        "profile_rows": [
            {"meter": r.meter, "profile": r.profile, "capture_time": utc(r.capture_time),
             "values": dict(zip(r.columns, r.values, strict=False))}
            for r in rows
        ],
    }
