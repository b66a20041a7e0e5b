"""Fleet firmware campaigns: ``asyncdlms poll FLEET --firmware`` against ``asyncdlms
simulate`` (three meters on one port and one meter nobody answers for), its state file and
the re-run that works only on the meters not done; :class:`FirmwareCampaign` with the
outcomes in a store (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from asyncdlms.aio.client import connect
from asyncdlms.cli import main
from asyncdlms.fleet import Meter
from asyncdlms.fleet.firmware import CampaignOutcome, FirmwareCampaign
from asyncdlms.server import Simulator
from asyncdlms.server.simulator import DEFAULT_HLS_SECRET
from asyncdlms.store import open_store
from tests.fleet.helpers import closed_port, meters_of
from tests.simulate_process import simulate

from .meter import simulator_image

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
    image.write_bytes(simulator_image(b"FLEET-2", os.urandom(2500)))
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
    image = simulator_image(b"STORED", os.urandom(1800))
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
                await meter.upgrade_firmware(simulator_image(b"OTHER", os.urandom(300)), "OTHER")
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
            meters, simulator_image(b"LINE", os.urandom(1000)), b"LINE", max_parallel=3,
            connector=counting_connect,
        ).run()  # fmt: skip
    assert [o.outcome for o in outcomes] == [CampaignOutcome.DONE] * 3
    assert peak == 1
