"""The fuzz targets in the normal test run: every kept finding and every seed replayed, a
proof that the harness catches an amplifier, and a short fuzzing run per target
(``ASYNCDLMS_FUZZ_SECONDS`` each, 10 by default; 0 skips it)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from asyncdlms import axdr

from .engine import run
from .harness import REGRESSIONS, TARGETS, Finding, check, seeds, shared_seed_files_present

FUZZ_SECONDS = int(os.environ.get("ASYNCDLMS_FUZZ_SECONDS", "10"))


def _regression_files() -> list[Path]:
    return sorted(REGRESSIONS.glob("*/*.bin")) if REGRESSIONS.is_dir() else []


@pytest.mark.parametrize("path", _regression_files(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_kept_finding_stays_fixed(path: Path) -> None:
    check(TARGETS[path.parent.name], path.read_bytes())


def test_every_regression_folder_names_a_target() -> None:
    assert {path.parent.name for path in _regression_files()} <= set(TARGETS)


@pytest.mark.parametrize("name", list(TARGETS))
def test_seeds_pass(name: str) -> None:
    target = TARGETS[name]
    found = seeds(target)
    if not found:
        pytest.skip("no seeds: ../shared/vectors and ../shared/captures are absent")
    for data in found:
        check(target, data)


def test_seeds_come_from_shared_when_present() -> None:
    if not shared_seed_files_present():
        pytest.skip("../shared/vectors and ../shared/captures are absent")
    assert len(seeds(TARGETS["apdu"])) > 20


def test_the_harness_catches_an_amplifier(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the compact-array value budget switched off, the 11-byte amplifier of issue 13 is
    a finding (allocation out of proportion), so the fuzzer would have found it."""
    amplifier = bytes.fromhex("13020201ffff0200030100")
    check(TARGETS["axdr"], amplifier)  # refused with a DecodeError: passes
    monkeypatch.setattr(axdr, "MAX_VALUES_PER_BYTE", 10**12)
    with pytest.raises(Finding, match=r"allocated|took"):
        check(TARGETS["axdr"], amplifier)


def test_an_unexpected_exception_is_a_finding() -> None:
    def broken(data: bytes) -> None:
        raise IndexError("deep inside")

    target = TARGETS["axdr"]
    with pytest.raises(Finding, match="IndexError"):
        check(type(target)("broken", broken, ()), b"\x00")


@pytest.mark.skipif(FUZZ_SECONDS <= 0, reason="ASYNCDLMS_FUZZ_SECONDS=0")
@pytest.mark.parametrize("name", list(TARGETS))
def test_short_fuzzing_run_finds_nothing(name: str) -> None:
    result = run(name, FUZZ_SECONDS, keep=False)
    assert result.runs > 0
    assert not result.findings, "\n".join(message for _, message in result.findings)
