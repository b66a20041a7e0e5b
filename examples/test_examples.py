"""The examples run, each against simulated meters (the web ones through test clients)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))


async def test_read_meter() -> None:
    read_meter = importlib.import_module("read_meter")
    lines = await read_meter.main([])
    assert lines[0].startswith("energy: ") and lines[0].endswith(" Wh")
    assert lines[1].startswith("clock:  20")
    assert len(lines) >= 6  # two hours of 15-minute rows, then the object list
    assert lines[-1].split()[1] == "objects,"


def test_fastapi_app() -> None:
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    from fastapi.testclient import TestClient

    fastapi_app = importlib.import_module("fastapi_app")
    with TestClient(fastapi_app.app) as client:
        energy = client.get("/meters/2/energy")
        assert energy.status_code == 200 and energy.json()["unit"] == "Wh"
        assert float(energy.json()["value"]) > 0
        assert client.get("/meters/0/clock").json()["clock"].startswith("20")
        assert client.get("/meters/9/energy").status_code == 404
        # the simulated meters were polled into a temporary store at start-up
        meters = client.get("/stored/meters").json()["meters"]
        assert meters == [f"meter-{i}" for i in range(5)]
        stored = client.get("/stored/readings", params={"meter": "meter-3"}).json()
        objects = {r["object"] for r in stored["readings"]}
        assert objects == {"3/1.0.1.8.0.255/2", "8/0.0.1.0.0.255/2"}
        energy_stored = next(r for r in stored["readings"] if r["object"].startswith("3/"))
        assert energy_stored["unit"] == "Wh" and energy_stored["value"] > 0
        profile = client.get(
            "/stored/readings", params={"meter": "meter-3", "obis": "1.0.99.1.0.255"}
        ).json()["profile_rows"]
        assert 96 <= len(profile) <= 97  # a day of 15-minute rows
        assert client.get("/stored/readings", params={"obis": "nonsense"}).status_code == 400


async def test_aiohttp_app() -> None:
    pytest.importorskip("aiohttp")
    from aiohttp.test_utils import TestClient, TestServer

    aiohttp_app = importlib.import_module("aiohttp_app")
    async with TestClient(TestServer(aiohttp_app.make_app())) as client:
        energy = await client.get("/meters/1/energy")
        assert energy.status == 200 and (await energy.json())["unit"] == "Wh"
        clock = await client.get("/meters/4/clock")
        assert (await clock.json())["clock"].startswith("20")
        assert (await client.get("/meters/5/clock")).status == 404


async def test_serial_iec_through_a_simulated_optical_port() -> None:
    if sys.platform == "win32":
        pytest.skip("needs POSIX pseudo-terminals")
    serial_iec = importlib.import_module("serial_iec")
    lines = await serial_iec.main([])
    assert lines[0] == "logical device name: ADS0000010000000"
    assert lines[1].startswith("energy: ") and lines[1].endswith(" Wh")


def test_push_service() -> None:
    """Meters push to the service's listener over TCP; the web API serves the latest."""
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    import os
    import socket
    import time

    from fastapi.testclient import TestClient

    from asyncdlms.apdu.enums import LongInvokeIdAndPriority
    from asyncdlms.apdu.notification import DataNotification
    from asyncdlms.types import DoubleLongUnsigned, OctetString, Structure
    from asyncdlms.wrapper.frames import WrapperFrame

    os.environ["LISTEN"] = "tcp://127.0.0.1:0"
    try:
        push_service = importlib.import_module("push_service")
        with TestClient(push_service.app) as client:
            host, port = push_service.app.state.listener.address
            energy_obis = OctetString(bytes((1, 0, 1, 8, 0, 255)))
            with socket.create_connection((host, port)) as sock:  # one meter, one connection
                for number, energy in enumerate((100, 250)):  # the second push is the latest
                    body = Structure((energy_obis, DoubleLongUnsigned(energy)))
                    apdu = DataNotification(body, LongInvokeIdAndPriority(number + 1)).encode()
                    sock.sendall(WrapperFrame(1, 0x66, apdu).encode())
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:  # while the meter is still connected
                    if client.get("/statistics").json()["notifications"] == 2:
                        break
                    time.sleep(0.05)
            (name,) = client.get("/meters").json()
            assert client.get(f"/meters/{name}").json()["readings"] == {"1.0.1.8.0.255": 250}
            assert client.get("/statistics").json()["notifications"] == 2
            assert client.get("/meters/nobody").status_code == 404
    finally:
        os.environ.pop("LISTEN", None)
