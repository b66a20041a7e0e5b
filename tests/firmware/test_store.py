"""The ``firmware_transfers`` table in SQLite and PostgreSQL: upserts by (meter, identifier,
image), queries, and what an interrupted and a resumed upgrade leave in it."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pytest

from asyncdlms.errors import DlmsError
from asyncdlms.firmware import FirmwareSettings
from asyncdlms.server import ImageTransferFaults, ImageTransferSettings, Simulator
from asyncdlms.server.simulator import DEFAULT_HLS_SECRET
from asyncdlms.store import open_store
from asyncdlms.store.firmware import (
    FirmwareTransferRecord,
    FirmwareTransferStatus,
    FirmwareTransferStore,
)

from .conftest import image_of_blocks

T0 = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)


def record(meter: str, sha: str, confirmed: int, status: str, minutes: int) -> Any:
    return FirmwareTransferRecord(meter, b"FW".hex(), sha, 128, 10, confirmed,
                                  FirmwareTransferStatus(status),
                                  T0 + dt.timedelta(minutes=minutes))  # fmt: skip


async def test_upsert_and_query(store_url: str) -> None:
    store = await open_store(store_url)
    try:
        assert isinstance(store, FirmwareTransferStore)
        await store.record_firmware_transfer(record("a", "s1", 3, "transferring", 0))
        await store.record_firmware_transfer(record("a", "s1", 10, "done", 1))  # same row
        await store.record_firmware_transfer(record("b", "s1", 0, "failed", 2))
        await store.record_firmware_transfer(record("a", "s2", 1, "transferring", 3))
        rows = await store.firmware_transfers()
        assert [(r.meter, r.image_sha256, r.blocks_confirmed, r.status) for r in rows] == [
            ("a", "s1", 10, "done"), ("a", "s2", 1, "transferring"), ("b", "s1", 0, "failed"),
        ]  # fmt: skip
        assert rows[0].updated_at == T0 + dt.timedelta(minutes=1)
        assert [r.meter for r in await store.firmware_transfers(image_sha256="s1")] == ["a", "b"]
        assert len(await store.firmware_transfers(meter="a")) == 2
        assert await store.firmware_transfers(meter="c") == []
    finally:
        await store.close()


async def test_an_interrupted_then_resumed_upgrade_is_recorded(store_url: str) -> None:
    store = await open_store(store_url)
    sim = Simulator(image_transfer=ImageTransferSettings(block_size=64))
    sim.set_image_transfer_faults(0, ImageTransferFaults(drop_connection_at_block=20))
    image = image_of_blocks(b"S", 50, 64)
    sha = hashlib.sha256(image).hexdigest()
    try:
        assert isinstance(store, FirmwareTransferStore)
        async with sim:
            login = {"client": 18, "auth": "md5", "password": DEFAULT_HLS_SECRET}
            async with sim.connect(0, **login) as meter:  # the meter drops it at block 20
                with pytest.raises((DlmsError, OSError)):
                    await meter.upgrade_firmware(
                        image, "S", store=store, meter="meter-0",
                        settings=FirmwareSettings(pipeline=False),
                    )  # fmt: skip
            [failed] = await store.firmware_transfers(meter="meter-0")
            assert failed.status == "failed" and failed.image_sha256 == sha
            assert failed.blocks_confirmed == 20 and failed.blocks == 50
            assert failed.message  # the error's type and text
            async with sim.connect(0, **login) as meter:
                result = await meter.upgrade_firmware(image, "S", store=store, meter="meter-0")
        assert result.resumed_from == 20
        [done] = await store.firmware_transfers(meter="meter-0")
        assert done.status == "done" and done.blocks_confirmed == 50 and done.message == ""
    finally:
        await store.close()
