"""A FastAPI service that listens for what meters push and serves the latest readings.

    python3 -m pip install fastapi uvicorn
    uvicorn examples.push_service:app                      # listens on tcp://0.0.0.0:4059
    LISTEN="udp://0.0.0.0:4059" KEYS=keys.toml uvicorn examples.push_service:app

The listener runs beside the web server in the same event loop: every notification updates
``latest`` (by system title, else by where it came from). GET /meters lists the meters heard
so far, GET /meters/{meter} their latest readings (OBIS → value and unit), GET /statistics
what the listener has counted (rejected pushes included).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, HTTPException

import asyncdlms
from asyncdlms.cli.listen import notification_to_json
from asyncdlms.listen import Listener, Notification, TomlKeyStore


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    keys = os.environ.get("KEYS")
    listener = asyncdlms.listen(
        os.environ.get("LISTEN", "tcp://0.0.0.0:4059"),
        keys=None if keys is None else TomlKeyStore(keys),
    )
    app.state.latest = {}
    async with listener:
        app.state.listener = listener
        task = asyncio.create_task(_keep_latest(listener, app.state.latest))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _keep_latest(listener: Listener, latest: dict[str, dict[str, Any]]) -> None:
    push: Notification
    async for push in listener:
        record = notification_to_json(push)
        latest[record["system_title"] or record["source"]] = record


app = FastAPI(title="asyncdlms pushes", lifespan=lifespan)


@app.get("/meters")
async def meters() -> list[str]:
    return sorted(app.state.latest)


@app.get("/meters/{meter}")
async def latest(meter: str) -> dict[str, Any]:
    record: dict[str, Any] | None = app.state.latest.get(meter)
    if record is None:
        raise HTTPException(404, f"nothing heard from {meter} yet")
    return record


@app.get("/statistics")
async def statistics() -> dict[str, Any]:
    listener: Listener = app.state.listener
    counted = listener.statistics
    return {"url": listener.url, "notifications": counted.notifications,
            "rejected": counted.rejected, "connections": counted.connections}  # fmt: skip
