"""The asyncio client over real loopback TCP against the gurux-based meter of
../shared/peers/gurux_meter.py (a peer nobody here wrote): wrapper and HDLC, no / low / HLS
authentication, reads, SET and read back, profile by entry, concurrency, cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

import asyncdlms
from asyncdlms.apdu.descriptors import entry_descriptor
from asyncdlms.errors import AuthenticationError, DataAccessError, RequestTimeoutError
from asyncdlms.types import OctetString, Structure
from tests.conftest import load_gurux_meter

pytest.importorskip("gurux_dlms")

PASSWORD = "Gurux"
CLIENT_FOR = {"none": 16, "low": 17, "md5": 18, "sha1": 18}


@pytest.fixture(scope="module")
def gurux_meter() -> ModuleType:
    module: ModuleType = load_gurux_meter()
    return module


@pytest.fixture
def meter_server(gurux_meter: ModuleType) -> Iterator[Any]:
    servers: list[Any] = []

    def start(iface: str, auth: str, rows: int = 10) -> int:
        password = None if auth == "none" else PASSWORD
        server, port = gurux_meter.serve_in_thread(
            host="127.0.0.1", iface=iface, auth=auth, password=password, rows=rows
        )
        servers.append(server)
        return int(port)

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _url(iface: str, port: int) -> str:
    return f"{'tcp' if iface == 'WRAPPER' else 'hdlc+tcp'}://127.0.0.1:{port}"


@pytest.mark.parametrize("iface", ["WRAPPER", "HDLC"])
@pytest.mark.parametrize("auth", ["none", "low", "md5", "sha1"])
async def test_read_write_and_profile(meter_server: Any, iface: str, auth: str) -> None:
    port = meter_server(iface, auth)
    password = None if auth == "none" else PASSWORD
    async with asyncdlms.connect(
        _url(iface, port), client=CLIENT_FOR[auth], server=1, auth=auth, password=password,
        timeout=10,
    ) as meter:  # fmt: skip
        assert await meter.get(3, "1.0.1.8.0.255", 2) == 123456
        scaler_unit = await meter.get(3, "1.0.1.8.0.255", 3)
        assert isinstance(scaler_unit, Structure) and scaler_unit[0] == -1
        name = await meter.get(1, "0.0.42.0.0.255", 2)
        assert bytes(name) == b"GRX0000000001"
        clock = await meter.get(8, "0.0.1.0.0.255", 2)
        assert isinstance(clock, OctetString) and len(clock) == 12
        await meter.set(1, "0.0.42.0.0.255", 2, OctetString(b"ASYNCDLMS-001"))
        assert bytes(await meter.get(1, "0.0.42.0.0.255", 2)) == b"ASYNCDLMS-001"
        rows = await meter.get(
            7, "1.0.99.1.0.255", 2, selective_access=entry_descriptor(2, 4)
        )
        assert [row[1] for row in rows] == [1001, 1002, 1003]
        # gurux answers this with-list with a truncated result for the unknown object: the
        # chunk falls back to single GETs (QUIRKS behaviour 10), and gurux answers the error
        # with invoke-id 1 whatever was asked (taken: one request is in flight)
        many = await meter.get_many(
            [(3, "1.0.1.8.0.255", 2), (1, "0.0.42.0.0.255", 2), (3, "9.9.9.9.9.9", 2)]
        )
        assert many[0] == 123456 and bytes(many[1]) == b"ASYNCDLMS-001"
        assert isinstance(many[2], DataAccessError) and "object-undefined" in str(many[2])
        with pytest.raises(DataAccessError, match="object-undefined"):
            await meter.get(3, "9.9.9.9.9.9", 2)
        # ACTION: Register reset (method 1, data index 0), accepted without return data
        from asyncdlms.types import Integer

        assert await meter.action(3, "1.0.1.8.0.255", 1, Integer(0)) is None
        assert meter.negotiated is not None


async def test_many_tasks_share_one_association(meter_server: Any) -> None:
    port = meter_server("WRAPPER", "none")
    async with asyncdlms.connect(_url("WRAPPER", port), timeout=10) as meter:
        results = await asyncio.gather(
            *(meter.get(3, "1.0.1.8.0.255", 2) for _ in range(20)),
            *(meter.get(1, "0.0.42.0.0.255", 2) for _ in range(20)),
        )
        assert results[:20] == [123456] * 20
        assert {bytes(r) for r in results[20:]} == {b"GRX0000000001"}


async def test_a_cancelled_call_leaves_the_association_usable(meter_server: Any) -> None:
    port = meter_server("HDLC", "none", rows=300)
    async with asyncdlms.connect(_url("HDLC", port), timeout=10) as meter:
        slow = asyncio.ensure_future(meter.get(7, "1.0.99.1.0.255", 2))  # a long buffer
        await asyncio.sleep(0)  # sent, not answered yet
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        # the next call gets its own answer, not the late buffer
        assert await meter.get(3, "1.0.1.8.0.255", 2) == 123456
        assert bytes(await meter.get(1, "0.0.42.0.0.255", 2)) == b"GRX0000000001"


async def test_wrong_password_is_an_authentication_error(meter_server: Any) -> None:
    port = meter_server("WRAPPER", "low")
    with pytest.raises(AuthenticationError, match="client address"):
        async with asyncdlms.connect(
            _url("WRAPPER", port), client=17, auth="low", password="wrong", timeout=10
        ):
            pass


async def test_silence_is_a_timeout_that_names_the_server_address() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1000)
        await asyncio.sleep(5)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        with pytest.raises(RequestTimeoutError, match="server address"):
            await asyncdlms.connect(f"tcp://127.0.0.1:{port}", timeout=0.3)


@pytest.mark.parametrize("iface", ["WRAPPER", "HDLC"])
async def test_typed_reads_of_register_clock_profile_and_object_list(
    meter_server: Any, iface: str
) -> None:
    import datetime as dt
    from decimal import Decimal

    from asyncdlms.cosem import Unit

    port = meter_server(iface, "none", rows=10)
    utc = dt.UTC
    async with asyncdlms.connect(_url(iface, port), timeout=10) as meter:
        energy = await meter.read_register("1.0.1.8.0.255")
        assert (energy.value, energy.unit, str(energy)) == (Decimal("12345.6"), Unit.WATT_HOUR,
                                                            "12345.6 Wh")  # fmt: skip
        before = await meter.read_clock()
        assert before is not None and before.tzinfo is not None
        assert abs((before - dt.datetime.now(utc)).total_seconds()) < 3600
        await meter.set_clock(dt.datetime(2025, 5, 5, 12, 0, tzinfo=utc))
        assert await meter.read_clock() == dt.datetime(2025, 5, 5, 12, 0, tzinfo=utc)

        settings = await meter.read_profile_settings("1.0.99.1.0.255")
        assert [str(c) for c in settings.capture_objects] == [
            "8/0.0.1.0.0.255/2", "3/1.0.1.8.0.255/2",
        ]  # fmt: skip
        assert settings.capture_period == 900
        by_entry = await meter.read_profile("1.0.99.1.0.255", entries=(2, 4), settings=settings)
        assert [row["3/1.0.1.8.0.255/2"] for row in by_entry] == [1001, 1002, 1003]
        assert [row.timestamp for row in by_entry] == [
            dt.datetime(2024, 1, 1, 0, minute, tzinfo=utc) for minute in (15, 30, 45)
        ]
        by_range = await meter.read_profile(
            "1.0.99.1.0.255",
            start=dt.datetime(2024, 1, 1, 0, 30, tzinfo=utc),
            end=dt.datetime(2024, 1, 1, 1, 0, tzinfo=utc),
        )
        assert [row.timestamp.minute for row in by_range if row.timestamp] == [30, 45, 0]
        whole = await meter.read_profile("1.0.99.1.0.255")
        assert len(whole) == 10 and whole[0]["3/1.0.1.8.0.255/2"] == 1000

        objects = await meter.read_object_list()
        assert objects.skipped == 0
        assert {(e.class_id, str(e.logical_name)) for e in objects.entries} == {
            (8, "0.0.1.0.0.255"), (3, "1.0.1.8.0.255"), (1, "0.0.42.0.0.255"),
            (7, "1.0.99.1.0.255"), (15, "0.0.40.0.0.255"),
        }  # fmt: skip
