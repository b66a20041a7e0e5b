"""A FastAPI service that keeps associations open and serves readings over HTTP.

    python3 -m pip install fastapi uvicorn
    uvicorn examples.fastapi_app:app            # against 5 simulated meters (the default)
    METERS="tcp://10.0.0.7:4059,tcp://10.0.0.8:4059" uvicorn examples.fastapi_app:app

GET /meters/{index}/energy returns the active import energy as a quantity with its unit,
GET /meters/{index}/clock the meter's time. One association per meter is opened at start-up
and shared by all requests: the client serialises requests per association, so concurrent
HTTP requests to one meter are safe; a DLMS error becomes an HTTP error naming it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, HTTPException

import asyncdlms
from asyncdlms.errors import DlmsError
from asyncdlms.server import Simulator


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with contextlib.AsyncExitStack() as stack:
        urls = [u for u in os.environ.get("METERS", "").split(",") if u]
        if not urls:  # no meters given: serve simulated ones
            simulator = await stack.enter_async_context(Simulator(meters=5))
            urls = simulator.urls
        app.state.meters = [
            await stack.enter_async_context(asyncdlms.connect(url, timeout=10)) for url in urls
        ]
        yield


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
