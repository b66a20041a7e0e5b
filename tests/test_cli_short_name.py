"""The CLI with short-name referencing: ``asyncdlms read/write/action/objects/profile
--referencing sn`` against ``asyncdlms simulate --referencing sn`` (a subprocess)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from asyncdlms.cli import main
from asyncdlms.cli.meter import ShortNameReference, parse_target_reference
from tests.simulate_process import simulate

ROOT = Path(__file__).resolve().parents[1]
SN = ("--referencing", "sn")
LLS = ("--client", "17", "--auth", "low", "--password", "12345678")
HLS = ("--client", "18", "--auth", "md5", "--password", "Gurux1234567890!")


@pytest.fixture(scope="module")
def meter_url() -> Iterator[str]:
    with simulate("--referencing", "sn") as url:
        yield url


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_the_short_name_target_syntax() -> None:
    assert parse_target_reference("sn:0xFA08") == ShortNameReference(0xFA08)
    assert parse_target_reference("SN:264") == ShortNameReference(0x108)
    assert str(ShortNameReference(0x108)) == "sn:0x0108"
    for bad in ("sn:0x10000", "sn:x"):
        with pytest.raises(Exception, match="short name"):
            parse_target_reference(bad)


def test_help_documents_the_short_names(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["read", "--help"])
    out = capsys.readouterr().out
    assert "--referencing {ln,sn}" in out and "sn:0x0108" in out


def test_objects_lists_the_base_names(meter_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "objects", meter_url, *SN, "--json")
    assert status == 0
    rows = json.loads(out)["objects"]
    by_name = {r["logical_name"]: r for r in rows}
    assert by_name["0.0.40.0.0.255"] == {
        "base_name": "0xFA00", "class_id": 12, "version": 2, "class": "Association SN",
        "logical_name": "0.0.40.0.0.255",
    }  # fmt: skip
    assert by_name["1.0.1.8.0.255"]["base_name"] == "0x0500"
    status, out, _ = run(capsys, "objects", meter_url, *SN)
    assert status == 0
    assert re.search(r"^0x0500\s+3 v0\s+Register\s+1\.0\.1\.8\.0\.255$", out, re.M)


def test_read_by_short_name_and_by_obis(meter_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "read", meter_url, *SN, "sn:0x0108", "1/0.0.42.0.0.255/2",
                         "sn:0x7770", "3/1.0.1.8.0.255/3", "--json")  # fmt: skip
    assert status == 0
    values = json.loads(out)
    assert values["sn:0x0108"] == values["1/0.0.42.0.0.255/2"] == b"ADS0000010000000".hex()
    assert values["sn:0x7770"] == {"error": "object-undefined"}
    assert values["3/1.0.1.8.0.255/3"] == [0, 30]
    status, _, err = run(capsys, "read", meter_url, *SN, "sn:0x7770")
    assert status == 1
    assert "ShortNameError" in err and "0x7770" in err and "object-undefined" in err
    assert len(err.strip().splitlines()) == 1


def test_write_unconfirmed_write_and_read_back(
    meter_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(capsys, "write", meter_url, *SN, *LLS, "sn:0x0408",
                         "dt:2030-01-02T03:04:05+00:00")  # fmt: skip
    assert (status, out) == (0, "sn:0x0408: written\n")
    status, out, _ = run(capsys, "read", meter_url, *SN, *LLS, "8/0.0.1.0.0.255/2", "--json")
    assert status == 0
    read_back = dt.datetime.fromisoformat(json.loads(out))
    assert dt.timedelta(0) <= read_back - dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC) < (
        dt.timedelta(minutes=5)
    )
    status, out, _ = run(capsys, "write", meter_url, *SN, *LLS, "--unconfirmed", "sn:0x0408",
                         "dt:2031-01-02T03:04:05+00:00")  # fmt: skip
    assert (status, out) == (0, "sn:0x0408: written\n")
    status, out, _ = run(capsys, "read", meter_url, *SN, *LLS, "sn:0x0408", "--json")
    assert json.loads(out).startswith("2031-01-02T03:0")
    status, _, err = run(capsys, "write", meter_url, *SN, "--unconfirmed", "8/0.0.1.0.0.255/2",
                         "dt:2031-01-02T03:04:05+00:00")  # fmt: skip
    assert status == 1 and "sn:0x" in err
    # the public client may not write: a typed error naming the short name and the result
    status, _, err = run(capsys, "write", meter_url, *SN, "8/0.0.1.0.0.255/2",
                         "dt:2031-01-02T03:04:05+00:00")  # fmt: skip
    assert status == 1 and "0x0408" in err and "read-write-denied" in err
    now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    assert run(capsys, "write", meter_url, *SN, *LLS, "8/0.0.1.0.0.255/2", f"dt:{now}")[0] == 0


def test_action_by_short_name_and_by_obis(
    meter_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # disconnect control 0x0F00: remote_disconnect at 0x0F20, remote_reconnect at 0x0F28
    status, out, _ = run(capsys, "action", meter_url, *SN, *HLS, "sn:0x0F20", "i8:0")
    assert (status, out) == (0, "sn:0x0F20: done\n")
    status, out, _ = run(capsys, "read", meter_url, *SN, *LLS, "70/0.0.96.3.10.255/2", "--json")
    assert (status, json.loads(out)) == (0, False)
    status, out, _ = run(capsys, "action", meter_url, *SN, *HLS, "70/0.0.96.3.10.255/2", "i8:0")
    assert (status, out) == (0, "70/0.0.96.3.10.255/2: done\n")
    status, out, _ = run(capsys, "read", meter_url, *SN, *LLS, "sn:0x0F08", "--json")
    assert (status, json.loads(out)) == (0, True)


def test_profile_on_an_sn_meter(meter_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "profile", meter_url, "1.0.99.1.0.255", "--entries", "1:3",
                         *SN, *LLS, "--json")  # fmt: skip
    assert status == 0
    rows = json.loads(out)
    assert len(rows) == 3
    first, second = (dt.datetime.fromisoformat(r["8/0.0.1.0.0.255/2"]) for r in rows[:2])
    assert second - first == dt.timedelta(minutes=15)
    assert rows[1]["3/1.0.1.8.0.255/2"] >= rows[0]["3/1.0.1.8.0.255/2"]
