"""The store on the command line: poll --store (SQLite and PostgreSQL), store init,
readings (table, JSON, CSV, filters), plot (a PNG that is not blank), poll --simulate's
temporary store, and Prometheus metrics scraped over HTTP."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import json
import re
import urllib.request
from pathlib import Path

import pytest

from asyncdlms.cli import main
from asyncdlms.fleet import FleetPoller, ReadPlan
from asyncdlms.fleet.prometheus import PrometheusMetrics
from asyncdlms.server import Simulator
from asyncdlms.store import ReadingQuery, open_store

from ..fleet.helpers import meters_of

PROFILE = "1.0.99.1.0.255"


def _counts(url: str) -> dict[str, int]:
    async def work() -> dict[str, int]:
        store = await open_store(url)
        try:
            return await store.counts()
        finally:
            await store.close()

    return asyncio.run(work())


def _poll(url: str, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    status = main(["poll", "--simulate", "3", "--store", url, "--read", f"profile:{PROFILE}",
                   "--read", "register:1.0.1.8.0.255", "--history", "1d", *extra])  # fmt: skip
    out = capsys.readouterr().out
    assert status == 0, out
    return out


def test_poll_into_a_store_twice_and_query_it(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["store", "init", store_url]) == 0
    assert "schema version 1" in capsys.readouterr().out
    out = _poll(store_url, capsys)
    stored = int(re.search(r"stored (\d+) rows", out).group(1))  # type: ignore[union-attr]
    counts = _counts(store_url)
    # 3 meters × (a day of 15-minute rows + 1 register): 96 or 97 rows each by the second
    assert counts["readings"] == 3 and 3 * 96 <= counts["profile_rows"] <= 3 * 97
    assert stored == counts["readings"] + counts["profile_rows"]
    assert counts["positions"] == 3
    _poll(store_url, capsys)  # again: positions continue, registers upserted in the slot
    again = _counts(store_url)
    assert again["profile_rows"] - counts["profile_rows"] in (0, 3)
    assert again["readings"] in (3, 6)  # 6 only if a 15-minute boundary passed between

    assert main(["readings", "--store", store_url, "--meter", "simulated-2",
                 "--obis", "1.0.1.8.0.255", "--json"]) == 0  # fmt: skip
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines and {line["meter"] for line in lines} == {"simulated-2"}
    assert {line["object"] for line in lines} == {"3/1.0.1.8.0.255/2"}
    assert all(line["unit"] == "Wh" and line["value"] > 0 for line in lines)

    rows = _profile_rows(store_url, "simulated-1")
    start, end = rows[10].capture_time.isoformat(), rows[13].capture_time.isoformat()
    assert main(["readings", "--store", store_url, "--meter", "simulated-1", "--obis", PROFILE,
                 "--from", start, "--to", end, "--csv"]) == 0  # fmt: skip
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [row["capture_time"] for row in table] == [
        r.capture_time.isoformat() for r in rows[10:14]
    ]
    assert json.loads(table[0]["value"])["3/1.0.1.8.0.255/2"] == rows[10].values[1]

    assert main(["readings", "--store", store_url, "--meter", "nobody"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "0 stored values" in captured.err


def _profile_rows(url: str, meter: str) -> list:  # type: ignore[type-arg]
    async def work() -> list:  # type: ignore[type-arg]
        store = await open_store(url)
        try:
            return await store.profile_rows(ReadingQuery(meter=meter, objects=[PROFILE]))
        finally:
            await store.close()

    return asyncio.run(work())


def test_plot_draws_a_png_that_is_not_blank(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = pytest.importorskip("matplotlib.image", reason="plot needs asyncdlms[plot]")
    url = f"sqlite:///{tmp_path / 'r.db'}"
    _poll(url, capsys)
    for obis, name in ((PROFILE, "profile.png"), ("1.0.1.8.0.255", "register.png")):
        output = tmp_path / name
        assert main(["plot", "--store", url, "--meter", "simulated-1", "--obis", obis,
                     "-o", str(output)]) == 0  # fmt: skip
        assert output.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        pixels = image.imread(str(output))
        assert pixels.shape[:2] == (450, 1000)
        colours = {tuple(p) for p in pixels.reshape(-1, pixels.shape[2])[::7].tolist()}
        assert len(colours) > 20  # lines, axes, text: not one flat colour
        assert pixels.std() > 0.05
    assert "4 series" in capsys.readouterr().out
    assert main(["plot", "--store", url, "--meter", "nobody", "--obis", PROFILE,
                 "-o", str(tmp_path / "x.png")]) == 1  # fmt: skip


def test_poll_simulate_without_store_uses_a_temporary_sqlite_file(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["poll", "--simulate", "4"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("4 meters: 4 ok, 0 failed; 20 reads in")
    url = re.search(r"stored 20 rows in (sqlite:///\S+)", out).group(1)  # type: ignore[union-attr]
    assert _counts(url)["readings"] == 20
    Path(url[len("sqlite:///") :]).unlink()


def test_store_errors_are_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["store", "init", "mysql://x/y"]) == 2
    assert "unknown store" in capsys.readouterr().err
    assert main(["poll", "--simulate", "1", "--store", "postgresql://u:pw@127.0.0.1:1/x"]) == 2
    err = capsys.readouterr().err
    assert "cannot connect" in err and ":pw@" not in err
    assert main(["readings"]) == 2


async def test_prometheus_metrics_are_scraped_over_http() -> None:
    pytest.importorskip("prometheus_client", reason="metrics need asyncdlms[metrics]")
    metrics = PrometheusMetrics()
    server = metrics.serve(0)
    try:
        async with Simulator(meters=3, shared_port=True) as sim:
            meters = meters_of(sim, client=17, auth="low", password="12345678", timeout=5)
            wrong = meters_of(sim, client=17, auth="low", password="wrong")[0]
            meters.append(dataclasses.replace(wrong, name="wrong-password"))
            async with FleetPoller(meters, ReadPlan.of("clock", "register:1.0.1.8.0.255"),
                                   metrics=metrics) as poller:  # fmt: skip
                results = [r async for r in poller.poll()]
        metrics.store_written(0.004, 120)
        metrics.push_received()
        metrics.push_rejected("replay")
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        text = await asyncio.to_thread(
            lambda: urllib.request.urlopen(url, timeout=10).read().decode()
        )
    finally:
        metrics.close()
    assert sum(r.ok for r in results) == 3
    assert 'asyncdlms_reads_total{result="ok"} 6.0' in text
    assert "asyncdlms_read_seconds_count 6.0" in text
    assert 'asyncdlms_meters_total{result="failed"} 1.0' in text
    assert re.search(r'asyncdlms_failures_total\{cause="\w+Error",step="associate"\} 1\.0', text)
    assert "asyncdlms_open_associations 0.0" in text
    assert 'asyncdlms_breakers{state="closed"} 4.0' in text
    assert "asyncdlms_pushes_received_total 1.0" in text
    assert 'asyncdlms_pushes_rejected_total{reason="replay"} 1.0' in text
    assert "asyncdlms_store_write_seconds_count 1.0" in text
    assert "asyncdlms_store_rows_total 120.0" in text


def test_poll_serves_metrics_while_it_runs(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("prometheus_client", reason="metrics need asyncdlms[metrics]")
    assert main(["poll", "--simulate", "2", "--metrics-port", "0"]) == 0
    assert re.search(r"metrics on http://127\.0\.0\.1:\d+/metrics", capsys.readouterr().err)


def test_base_install_needs_no_extra(tmp_path: Path) -> None:
    """Without asyncpg, matplotlib and prometheus-client, poll --simulate still works (into
    SQLite) and the commands that need an extra say which one."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    code = (
        "import sys\n"
        "for name in ('asyncpg', 'matplotlib', 'prometheus_client'):\n"
        "    sys.modules[name] = None\n"
        "from asyncdlms.cli import main\n"
        "codes = [main(['poll', '--simulate', '3']),\n"
        "         main(['poll', '--simulate', '1', '--metrics-port', '0']),\n"
        f"         main(['plot', '--store', 'sqlite:///{tmp_path}/x.db', '--meter', 'm',\n"
        "               '--obis', '1.0.99.1.0.255', '-o', 'x.png']),\n"
        "         main(['store', 'init', 'postgresql://u@127.0.0.1:1/x'])]\n"
        "print(codes)\n"
    )
    environment = {"PYTHONPATH": str(root), "PATH": "", "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=tmp_path, env=environment, timeout=120)  # fmt: skip
    assert result.stdout.splitlines()[-1] == "[0, 2, 2, 2]", result.stderr
    assert result.stdout.startswith("3 meters: 3 ok, 0 failed")
    assert "pip install 'asyncdlms[metrics]'" in result.stderr
    assert "pip install 'asyncdlms[plot]'" in result.stderr
    assert "pip install 'asyncdlms[postgres]'" in result.stderr
