"""Fleet firmware campaigns: ``asyncdlms poll FLEET --firmware`` against ``asyncdlms
simulate`` (three meters on one port and one meter nobody answers for), its state file and
the re-run that works only on the meters not done; :class:`FirmwareCampaign` with the
outcomes in a store (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from asyncdlms.aio.connect import connect
from asyncdlms.cli import main
from asyncdlms.fleet import Meter
from asyncdlms.fleet.firmware import CampaignOutcome, FirmwareCampaign
from asyncdlms.server import ImageTransferFaults, ImageTransferSettings, Simulator
from asyncdlms.server.simulator import DEFAULT_HLS_SECRET
from asyncdlms.store import open_store
from tests.fleet.helpers import closed_port, meters_of
from tests.simulate_process import simulate

from .conftest import image_of, image_of_blocks

MANAGEMENT = {"client": 18, "auth": "md5", "password": DEFAULT_HLS_SECRET.decode()}


def fleet_file(path: Path, url: str, dead: int) -> Path:
    lines = ['[defaults]', 'client = 18', 'auth = "md5"',
             f'password = "{DEFAULT_HLS_SECRET.decode()}"', 'timeout = 5']  # fmt: skip
    for server in (1, 2, 3):
        lines += ["[[meter]]", f'name = "m{server}"', f'url = "{url}"', f"server = {server}"]
    lines += ["[[meter]]", 'name = "dead"', f'url = "tcp://127.0.0.1:{dead}"']
    path.write_text("\n".join(lines) + "\n")
    return path


def test_campaign_from_the_command_line_and_its_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = tmp_path / "fw.bin"
    image.write_bytes(image_of(b"FLEET-2", 2500))
    with simulate("--meters", "3", "--shared-port") as url:
        fleet = fleet_file(tmp_path / "fleet.toml", url, closed_port())
        argv = ["poll", str(fleet), "--firmware", str(image), "--identifier", "FLEET-2",
                "--max-parallel", "2"]  # fmt: skip
        first = main(argv)
        out, err = capsys.readouterr()
        second = main(argv)
        again, _err2 = capsys.readouterr()
        store = f"sqlite:///{tmp_path / 'fw.db'}"
        third = main([*argv, "--store", store])
        with_store, _ = capsys.readouterr()
    assert first == 1  # the dead meter failed
    lines = dict(line.split(": ", 1) for line in out.splitlines())
    assert sorted(lines) == ["dead", "m1", "m2", "m3"]
    for name in ("m1", "m2", "m3"):
        assert lines[name].startswith("done: ") and "effective rate" in lines[name]
        assert "active firmware FLEET-2" in lines[name]
    assert lines["dead"].startswith("failed: ") and "Error" in lines["dead"]
    assert "3 done, 0 skipped, 1 failed of 4 meters" in err
    state = next(tmp_path.glob("fleet.toml.firmware-*.json"))
    assert f"campaign state: {state}" in err
    saved = json.loads(state.read_text())["meters"]
    assert {name: entry["outcome"] for name, entry in saved.items()} == {
        "m1": "done", "m2": "done", "m3": "done", "dead": "failed",
    }  # fmt: skip
    # the re-run contacts only the meter not done
    assert second == 1
    again_lines = dict(line.split(": ", 1) for line in again.splitlines())
    assert again_lines["m1"] == again_lines["m2"] == again_lines["m3"] == "done (earlier run)"
    assert again_lines["dead"].startswith("failed: ")
    # a store knows nothing of that run: the meters are asked, and they run FLEET-2 already
    assert third == 1
    store_lines = dict(line.split(": ", 1) for line in with_store.splitlines())
    assert store_lines["m1"] == "skipped: already at FLEET-2"


async def test_campaign_outcomes_in_a_store(store_url: str) -> None:
    image = image_of(b"STORED", 1800)
    store = await open_store(store_url)
    try:
        async with Simulator(meters=3) as sim:
            meters = meters_of(sim, **MANAGEMENT)
            dead = Meter(f"tcp://127.0.0.1:{closed_port()}", {"timeout": 2}, name="dead")
            campaign = FirmwareCampaign([*meters, dead], image, b"STORED", max_parallel=2,
                                        store=store)  # type: ignore[arg-type]  # fmt: skip
            first = await campaign.run()
            assert [o.outcome for o in first] == [CampaignOutcome.DONE] * 3 + [
                CampaignOutcome.FAILED
            ]
            records = await store.firmware_transfers()  # type: ignore[attr-defined]
            assert sorted(r.meter for r in records) == ["m0", "m1", "m2"]
            assert all(r.status == "done" and r.blocks_confirmed == r.blocks for r in records)
            # meter 1 gets a newer image by hand: the store still says done for it
            async with sim.connect(1, **MANAGEMENT) as meter:
                await meter.upgrade_firmware(image_of(b"OTHER", 300), "OTHER")
            second = await FirmwareCampaign(
                [*meters, dead], image, b"STORED", store=store  # type: ignore[arg-type]
            ).run()
            assert [(o.outcome, o.earlier) for o in second] == [
                (CampaignOutcome.DONE, True), (CampaignOutcome.DONE, True),
                (CampaignOutcome.DONE, True), (CampaignOutcome.FAILED, False),
            ]  # fmt: skip
            assert sim.meters[1].firmware == b"OTHER"
    finally:
        await store.close()


async def test_meters_on_one_line_are_upgraded_one_at_a_time() -> None:
    """Three meters behind one HDLC gateway (one host:port, physical addresses 16..18) share
    a line: the campaign upgrades them one after the other, whatever max_parallel says."""
    open_now = peak = 0

    async def counting_connect(url: str, **options: Any) -> Any:
        nonlocal open_now, peak
        client = await connect(url, **options)
        open_now += 1
        peak = max(peak, open_now)
        close = client.close

        async def counted_close(**kwargs: Any) -> None:
            nonlocal open_now
            open_now -= 1
            await close(**kwargs)

        client.close = counted_close
        return client

    async with Simulator(meters=3, interface="hdlc", shared_port=True) as sim:
        meters = [
            Meter(t.url, {"physical_address": t.physical_address, **MANAGEMENT},
                  name=f"m{t.index}")
            for t in sim.targets
        ]
        assert len({m.bus_key for m in meters}) == 1
        outcomes = await FirmwareCampaign(
            meters, image_of(b"LINE", 1000), b"LINE", max_parallel=3,
            connector=counting_connect,
        ).run()  # fmt: skip
    assert [o.outcome for o in outcomes] == [CampaignOutcome.DONE] * 3
    assert peak == 1


@contextmanager
def served_in_a_thread(sim: Simulator) -> Iterator[Simulator]:
    """``sim`` serving on its own event loop in a thread, for the synchronous ``main`` of
    the command line (which runs its own loop) until the block ends."""
    started = threading.Event()
    loop = asyncio.new_event_loop()
    stop = loop.create_future()

    async def serve() -> None:
        async with sim:
            started.set()
            await stop

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    try:
        assert started.wait(10), "the simulator did not start"
        yield sim
    finally:
        loop.call_soon_threadsafe(stop.set_result, None)
        thread.join(10)
        loop.close()


def test_a_campaign_resumes_a_meter_that_dropped_the_connection(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Meter m2 (index 1) closes the connection when block 12 of 20 arrives (in the middle
    of an ACTION with-list; the blocks before it in the list are stored): the first
    ``asyncdlms poll FLEET --firmware`` run reports it failed, the re-run resumes it from the
    blocks it holds and sends only the rest."""
    block_size = 128
    image = tmp_path / "fw.bin"
    image.write_bytes(image_of_blocks(b"DROP-2", 20, block_size))
    sim = Simulator(meters=3, shared_port=True,
                    image_transfer=ImageTransferSettings(block_size=block_size))  # fmt: skip
    sim.set_image_transfer_faults(1, ImageTransferFaults(drop_connection_at_block=12))
    with served_in_a_thread(sim):
        fleet = fleet_file(tmp_path / "fleet.toml", sim.targets[0].url, closed_port())
        argv = ["poll", str(fleet), "--firmware", str(image), "--identifier", "DROP-2"]
        first = main(argv)
        out, _err = capsys.readouterr()
        second = main(argv)
        again, _err = capsys.readouterr()
        held = sim.meters[1].image_transfer_now().blocks_received
    lines = dict(line.split(": ", 1) for line in out.splitlines())
    assert first == 1 and lines["m2"].startswith("failed: ")
    assert lines["m1"].startswith("done: ") and lines["m3"].startswith("done: ")
    assert sim.meters[0].firmware == sim.meters[2].firmware == b"DROP-2"
    again_lines = dict(line.split(": ", 1) for line in again.splitlines())
    assert second == 1  # the dead meter still fails
    assert again_lines["m1"] == again_lines["m3"] == "done (earlier run)"
    assert again_lines["m2"].startswith("done: ")
    assert "resumed from block 12" in again_lines["m2"]
    assert "active firmware DROP-2" in again_lines["m2"]
    assert sim.meters[1].firmware == b"DROP-2"
    assert held == 20  # blocks 0..11, then 12..19: none twice
