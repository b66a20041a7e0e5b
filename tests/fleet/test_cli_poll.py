"""``asyncdlms poll``: simulated meters, fleet files, outputs and exit codes."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from asyncdlms.cli import main
from tests.simulate_process import simulate

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
        (["poll", "--simulate", "2", "--security", "ae"], "need --block-cipher-key"),
        (["poll", "--simulate", "2", "--auth", "gmac", "--block-cipher-key", "00" * 16],
         "need --auth-key"),
    ],
)
def test_poll_bad_input_exits_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    status, _, err = run(capsys, *argv)
    assert status == 2
    assert message in err


PROFILE = "profile:1.0.99.1.0.255"
KEYS = ("--block-cipher-key", "000102030405060708090A0B0C0D0E0F",
        "--auth-key", "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")  # fmt: skip


def profile_rows(out: str) -> dict[str, list[dict[str, object]]]:
    """Meter name -> the profile rows it gave (every meter ok)."""
    lines = [json.loads(line) for line in out.splitlines()]
    assert all(line["ok"] for line in lines), [line.get("failure") for line in lines]
    return {line["meter"]: line["values"][PROFILE] for line in lines}


def test_poll_simulated_profile_reads_rows_for_every_meter(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 12, defect 3: the public client may not read the profile; --simulate reads as a
    client that may."""
    status, out, err = run(capsys, "poll", "--simulate", "5", "--read", PROFILE, "--json-lines")
    assert status == 0, err
    rows = profile_rows(out)
    assert sorted(rows) == [f"simulated-{i}" for i in range(1, 6)]
    for meter_rows in rows.values():
        assert len(meter_rows) > 1
        assert all(len(row["values"]) == 5 for row in meter_rows)  # type: ignore[arg-type]
        stamps = [row["timestamp"] for row in meter_rows]
        assert stamps == sorted(stamps)


@pytest.mark.parametrize(
    "association",
    [
        ("--auth", "low", "--password", "an-LLS-password"),
        ("--client", "18", "--auth", "sha1", "--password", "a 16-byte secret"),
        ("--auth", "sha256", "--password", "a 16-byte secret", "--system-title",
         "4D4D4D0000000001"),
        ("--auth", "gmac", "--security", "ae", "--system-title", "4D4D4D0000000001", *KEYS),
    ],
    ids=["low", "sha1", "sha256", "gmac-ae"],
)
def test_poll_simulated_meters_accept_the_association_options(
    capsys: pytest.CaptureFixture[str], association: tuple[str, ...]
) -> None:
    status, out, err = run(capsys, "poll", "--simulate", "3", "--read", PROFILE,
                           "--json-lines", *association)  # fmt: skip
    assert status == 0, err
    assert len(profile_rows(out)) == 3


@pytest.fixture(scope="module")
def simulated_port() -> Iterator[str]:
    """``asyncdlms simulate`` with 3 meters on one port (wPort 1..3), LLS password
    'fleet-password' for client 17; its URL."""
    with simulate("--meters", "3", "--shared-port", "--password", "fleet-password") as url:
        yield url


def test_poll_fleet_file_takes_the_association_options_where_it_says_nothing(
    simulated_port: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fleet = tmp_path / "fleet.csv"
    fleet.write_text(
        "name,url,server,client,auth\n"
        f"one,{simulated_port},1,,\n"
        f"two,{simulated_port},2,,\n"
        f"public,{simulated_port},3,16,none\n"  # says otherwise: the public client
    )
    status, out, _ = run(capsys, "poll", str(fleet), "--read", PROFILE, "--json-lines",
                         "--attempts", "1", "--client", "17", "--auth", "low",
                         "--password", "fleet-password")  # fmt: skip
    results = {line["meter"]: line for line in map(json.loads, out.splitlines())}
    assert status == 1
    assert results["one"]["ok"] and results["two"]["ok"]
    assert len(results["one"]["values"][PROFILE]) > 1
    public = results["public"]
    assert not public["ok"] and public["failure"]["step"] == f"read {PROFILE}"
