"""``asyncdlms firmware`` in a subprocess against ``asyncdlms simulate`` in another."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from asyncdlms.cli.firmware import FirmwareProgressBar, parse_activation
from asyncdlms.firmware import FirmwareProgress
from asyncdlms.store import open_store
from tests.simulate_process import ROOT, simulate

from .conftest import image_of

MANAGEMENT = ("--client", "18", "--auth", "md5", "--password", "Gurux1234567890!")


def asyncdlms(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "asyncdlms", *argv],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


def test_upgrade_from_the_command_line(tmp_path: Path) -> None:
    """Against a simulator whose meters take 0.5 s to verify and 0.3 s to activate (both
    methods answer temporary-failure, then the status is polled): the progress lines, the
    phases, the store; then a verification timeout shorter than the meter needs."""
    image = tmp_path / "fw.bin"
    image.write_bytes(image_of(b"CLI-2.0", 4000))
    store = f"sqlite:///{tmp_path / 'fw.db'}"
    with simulate("--verification-time", "0.5", "--activation-time", "0.3") as url:
        done = asyncdlms("firmware", url, str(image), "--identifier", "CLI-2.0", *MANAGEMENT,
                         "--store", store)  # fmt: skip
        assert done.returncode == 0, done.stderr
        read = asyncdlms("read", url, "1/1.0.0.2.0.255/2", *MANAGEMENT, "--json")
        status = asyncdlms("read", url, "18/0.0.44.0.0.255/6", *MANAGEMENT, "--json")
        other = tmp_path / "fw3.bin"
        other.write_bytes(image_of(b"CLI-3.0", 1000))
        slow = asyncdlms("firmware", url, str(other), "--identifier", "CLI-3.0", *MANAGEMENT,
                         "--verification-timeout", "0.2")  # fmt: skip
    assert slow.returncode == 1
    assert "FirmwareTimeoutError" in slow.stderr and "verification_timeout" in slow.stderr
    assert status.returncode == 0 and json.loads(status.stdout) == 6  # activation successful
    assert "effective rate" in done.stdout and "active firmware CLI-2.0" in done.stdout
    sent = re.search(r"^(\d+) of (\d+) blocks \((\d+\.\d) kB\) sent", done.stdout)
    assert sent is not None and sent[1] == sent[2]
    assert sent[3] == f"{image.stat().st_size / 1000:.1f}"
    blocks = int(sent[1])
    # not a terminal: plain progress lines, the last one complete, then the phases
    lines = done.stderr.splitlines()
    assert any(f"{blocks}/{blocks} blocks 100%" in line for line in lines)
    assert lines[-3:] == ["verify...", "activate...", "confirm..."]
    assert b"CLI-2.0".hex() in read.stdout
    [record] = asyncio.run(_transfers(store))
    assert record.status == "done" and record.blocks_confirmed == record.blocks == blocks
    assert record.identifier == b"CLI-2.0".hex()


async def _transfers(url: str) -> list[Any]:
    store = await open_store(url)
    try:
        return await store.firmware_transfers()  # type: ignore[attr-defined, no-any-return]
    finally:
        await store.close()


def test_activate_at_a_time_and_not_at_all(tmp_path: Path) -> None:
    """``--activate TIME`` sets the execution_time of the image activation Single action
    schedule (22/0.0.15.0.2.255/4) to that time (naive: the meter's local time) and leaves
    the image verified, not active; ``--activate no`` leaves the schedule alone."""
    image = tmp_path / "later.bin"
    image.write_bytes(image_of(b"LATER-2.0", 2000))
    with simulate() as url:
        later = asyncdlms("firmware", url, str(image), "--identifier", "LATER-2.0",
                          *MANAGEMENT, "--activate", "2030-01-02T03:04:05")  # fmt: skip
        schedule = asyncdlms("read", url, "22/0.0.15.0.2.255/4", *MANAGEMENT, "--json")
        active = asyncdlms("read", url, "1/1.0.0.2.0.255/2", *MANAGEMENT, "--json")
        status = asyncdlms("read", url, "18/0.0.44.0.0.255/6", *MANAGEMENT, "--json")
        other = tmp_path / "never.bin"
        other.write_bytes(image_of(b"NEVER-3.0", 1000))
        never = asyncdlms("firmware", url, str(other), "--identifier", "NEVER-3.0",
                          *MANAGEMENT, "--activate", "no")  # fmt: skip
        unchanged = asyncdlms("read", url, "22/0.0.15.0.2.255/4", *MANAGEMENT, "--json")
    assert later.returncode == 0, later.stderr
    assert "verified, activation scheduled; active firmware SIM-1.0.0" in later.stdout
    # time 03:04:05.00, date 2030-01-02 (a Wednesday, day 3)
    assert json.loads(schedule.stdout) == [["03040500", "07ee010203"]]
    assert bytes.fromhex(json.loads(active.stdout)) == b"SIM-1.0.0"
    assert json.loads(status.stdout) == 3  # verification successful, not yet activated
    assert never.returncode == 0, never.stderr
    assert "verified" in never.stdout and "scheduled" not in never.stdout
    assert "active firmware SIM-1.0.0" in never.stdout
    assert json.loads(unchanged.stdout) == json.loads(schedule.stdout)


def test_a_failure_is_reported_with_its_type() -> None:
    with simulate() as url:
        # the public client may not invoke methods: the meter refuses
        failed = asyncdlms("firmware", url, __file__, "--identifier", "X", "--client", "16")
    assert failed.returncode == 1
    assert failed.stderr.startswith("asyncdlms firmware: FirmwareError: 0.0.44.0.0.255: ")
    assert "associate as a client that may upgrade the firmware" in failed.stderr


def test_bad_options_exit_2(tmp_path: Path) -> None:
    missing = asyncdlms("firmware", "tcp://127.0.0.1:1", str(tmp_path / "none.bin"),
                        "--identifier", "X")  # fmt: skip
    assert missing.returncode == 2 and "none.bin" in missing.stderr
    wrong = asyncdlms("firmware", "tcp://127.0.0.1:1", __file__, "--identifier", "X",
                      "--activate", "tomorrow")  # fmt: skip
    assert wrong.returncode == 2 and "--activate wants now, no or a time" in wrong.stderr


def test_activation_choices() -> None:
    assert parse_activation("now") is True and parse_activation("no") is False
    when = parse_activation("2027-01-02T03:00")
    assert not isinstance(when, bool) and (when.year, when.hour) == (2027, 3)


@pytest.mark.parametrize("tty", [True, False])
def test_progress_bar(tty: bool, tmp_path: Path) -> None:
    path = tmp_path / "bar.txt"
    with path.open("w") as stream:
        bar = FirmwareProgressBar(stream, tty=tty)
        for done in range(0, 101, 5):
            bar(FirmwareProgress(b"ID", "transfer", 100, done, done, done * 100, 1.0 + done / 10))
        bar(FirmwareProgress(b"ID", "verify", 100, 100, 100, 10000, 12.0))
        bar.finish()
    with path.open(newline="") as stream:
        text = stream.read()
    assert "100/100 blocks 100%" in text and text.endswith("verify...\n")
    if tty:  # redrawn in place, at most every 0.1 s, the complete bar always
        assert text.count("\n") == 2 and 2 <= text.count("\r") <= 21
        assert text.split("\r")[-1].startswith("[####################] 100/100")
    else:
        assert text.count("\n") == 12  # 0, 10, ..., 100 % and the phase


def test_a_resume_with_nothing_left_to_send_says_so_instead_of_a_zero_rate() -> None:
    from asyncdlms.cli.firmware import describe_result
    from asyncdlms.firmware.plan import Activation, FirmwareUpgradeResult

    def result(sent: int) -> FirmwareUpgradeResult:
        return FirmwareUpgradeResult(
            b"FW-2", 4000, 200, 20, sent, 20 - sent, sent * 200, 2.0, sent * 100.0,
            True, Activation.NOW, b"FW-1", b"FW-2",
        )  # fmt: skip

    nothing = describe_result(result(0))
    assert "held every block already" in nothing and "rate" not in nothing
    assert "resumed from block 20" in nothing and "active firmware FW-2" in nothing
    some = describe_result(result(5))
    assert "5 of 20 blocks" in some and "effective rate" in some
