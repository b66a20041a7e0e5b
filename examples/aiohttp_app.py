"""An aiohttp service that keeps associations open and serves readings over HTTP.

    python3 -m pip install aiohttp
    python3 examples/aiohttp_app.py                 # 5 simulated meters, http://127.0.0.1:8080
    METERS="tcp://10.0.0.7:4059" python3 examples/aiohttp_app.py

GET /meters/{index}/energy and /meters/{index}/clock, as in fastapi_app.py. The associations
live in the application's cleanup context: opened at start-up, released at shutdown.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator

from aiohttp import web

import asyncdlms
from asyncdlms.errors import DlmsError
from asyncdlms.server import Simulator

METERS = web.AppKey("meters", list)


async def associations(app: web.Application) -> AsyncIterator[None]:
    async with contextlib.AsyncExitStack() as stack:
        urls = [u for u in os.environ.get("METERS", "").split(",") if u]
        if not urls:
            urls = (await stack.enter_async_context(Simulator(meters=5))).urls
        app[METERS] = [
            await stack.enter_async_context(asyncdlms.connect(url, timeout=10)) for url in urls
        ]
        yield


def _meter(request: web.Request) -> asyncdlms.Client:
    meters: list[asyncdlms.Client] = request.app[METERS]
    index = int(request.match_info["index"])
    if not 0 <= index < len(meters):
        raise web.HTTPNotFound(text=f"no meter {index}")
    return meters[index]


async def energy(request: web.Request) -> web.Response:
    try:
        quantity = await _meter(request).read_register("1.0.1.8.0.255")
    except DlmsError as exc:
        raise web.HTTPBadGateway(text=f"{type(exc).__name__}: {exc}") from exc
    return web.json_response(
        {"value": str(quantity.value), "unit": quantity.unit.symbol, "text": str(quantity)}
    )


async def clock(request: web.Request) -> web.Response:
    try:
        now = await _meter(request).read_clock()
    except DlmsError as exc:
        raise web.HTTPBadGateway(text=f"{type(exc).__name__}: {exc}") from exc
    return web.json_response({"clock": None if now is None else now.isoformat()})


def make_app() -> web.Application:
    app = web.Application()
    app.cleanup_ctx.append(associations)
    app.add_routes(
        [web.get("/meters/{index}/energy", energy), web.get("/meters/{index}/clock", clock)]
    )
    return app


if __name__ == "__main__":
    web.run_app(make_app(), host="127.0.0.1", port=8080)
