"""examples/fleet_polling.py runs (shorter cycles) against simulated meters."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from asyncdlms.fleet import Meter
from asyncdlms.server import Simulator

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fleet_polling.py"


def load_example() -> Any:
    if not EXAMPLE.exists():
        pytest.skip("examples/ is absent")
    spec = importlib.util.spec_from_file_location("fleet_polling_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_fleet_polling_example(capsys: pytest.CaptureFixture[str]) -> None:
    example = load_example()
    async with Simulator(meters=5, shared_port=True, inactivity_timeout=5.0) as sim:
        meters = [Meter(t.url, {"server": t.server}, name=f"meter-{t.index}") for t in sim.targets]
        statistics = await example.poll(meters, example.PLAN, cycles=2, interval=0.1)
        assert sim.associations_established == 5
    assert statistics.meters_ok == 10 and statistics.meters_failed == 0
    out = capsys.readouterr().out
    assert "cycle 2 meter-4: " in out and " Wh (" in out
    assert "open associations before shutdown: 5" in out
