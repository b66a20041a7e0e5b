"""``asyncdlms poll``: simulated meters, fleet files, outputs and exit codes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from asyncdlms.cli import main

from .helpers import closed_port


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_poll_simulated_meters_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "poll", "--simulate", "20", "--json-lines")
    assert status == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert sorted(line["meter"] for line in lines) == sorted(f"simulated-{i}" for i in range(1, 21))
    assert all(line["ok"] and line["cycle"] == 1 for line in lines)
    energy = lines[0]["values"]["register:1.0.1.8.0.255"]
    assert energy["unit"] == "Wh" and energy["value"] > 0
    assert set(lines[0]["timestamps"]) == set(lines[0]["values"])
    assert "20 meters: 20 ok, 0 failed; 100 reads in" in err  # the summary on stderr
    assert "reads/s" in err and "p50" in err and "p95" in err


def test_poll_simulated_summary_and_progress(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "poll", "--simulate", "5", "--interface", "hdlc", "--progress")
    assert status == 0
    assert out.startswith("5 meters: 5 ok, 0 failed; 25 reads in")
    assert "[##############################] 5/5 ok 5 failed 0" in err


def test_poll_fleet_file_with_failures_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fleet = tmp_path / "fleet.csv"
    fleet.write_text(f"name,url,timeout\ngone,tcp://127.0.0.1:{closed_port()},1\n")
    table = tmp_path / "out.csv"
    status, out, _ = run(
        capsys, "poll", str(fleet), "--attempts", "1", "--csv", str(table), "--read", "clock"
    )
    assert status == 1
    assert "1 meters: 0 ok, 1 failed" in out and "failed at: connect 1" in out
    rows = list(csv.DictReader(table.open()))
    assert [(r["meter"], r["ok"], r["step"]) for r in rows] == [("gone", "False", "connect")]
    assert "ConnectionRefusedError" in rows[0]["error"]


def test_poll_csv_rows_per_value(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = tmp_path / "out.csv"
    status, _, _ = run(capsys, "poll", "--simulate", "3", "--csv", str(table),
                       "--read", "register:1.0.1.8.0.255", "--read", "clock")  # fmt: skip
    assert status == 0
    rows = list(csv.DictReader(table.open()))
    assert len(rows) == 6
    energy = [r for r in rows if r["key"] == "register:1.0.1.8.0.255"]
    assert len(energy) == 3 and all(r["unit"] == "Wh" and float(r["value"]) > 0 for r in energy)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["poll"], "give a FLEET_FILE or --simulate N"),
        (["poll", "fleet.toml", "--simulate", "3"], "give a FLEET_FILE or --simulate N"),
        (["poll", "/nonexistent/fleet.toml"], "cannot read"),
        (["poll", "--simulate", "0"], "at least 1"),
        (["poll", "--simulate", "2", "--read", "bogus"], "not a plan item"),
    ],
)
def test_poll_bad_input_exits_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    status, _, err = run(capsys, *argv)
    assert status == 2
    assert message in err
