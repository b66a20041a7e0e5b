"""README "Storing readings": every command of the section runs here, in a temporary
folder (so ``sqlite:///readings.db`` lands there), the PostgreSQL ones against the
throw-away cluster (the README's URL replaced by the cluster's)."""

from __future__ import annotations

import asyncio
import re
import shlex
from pathlib import Path

import pytest

from asyncdlms.cli import main
from asyncdlms.store import open_store

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _commands() -> list[str]:
    section = README.split("## Storing readings", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)\n```", section, flags=re.S)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def _counts(url: str) -> dict[str, int]:
    async def work() -> dict[str, int]:
        store = await open_store(url)
        try:
            return await store.counts()
        finally:
            await store.close()

    return asyncio.run(work())


def test_the_section_shows_sqlite_postgresql_a_query_and_a_plot() -> None:
    commands = _commands()
    assert [c.split()[1] for c in commands] == [
        "poll", "store", "poll", "readings", "readings", "plot",
    ]  # fmt: skip
    assert "sqlite:///" in commands[0] and "postgresql://" in commands[2]


def test_every_command_of_the_section_runs(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    postgres_url: str,
) -> None:
    pytest.importorskip("matplotlib", reason="the plot command needs asyncdlms[plot]")
    monkeypatch.chdir(tmp_path)
    outputs = []
    for command in _commands():
        argv = shlex.split(command)
        assert argv[0] == "asyncdlms"
        argv = [re.sub(r"^postgresql://\S+", postgres_url, arg) for arg in argv[1:]]
        assert main(argv) == 0, command
        outputs.append(capsys.readouterr().out)
    sqlite = _counts("sqlite:///readings.db")
    postgres = _counts(postgres_url)
    for counts in (sqlite, postgres):  # 20 meters: one register, two days of 15-minute rows
        assert counts["readings"] == 20 and counts["positions"] == 20
        assert 20 * 192 <= counts["profile_rows"] <= 20 * 193
    assert outputs[0].startswith("20 meters: 20 ok, 0 failed")
    registers = outputs[3].splitlines()
    assert len(registers) == 1 and "simulated-3  3/1.0.1.8.0.255/2" in registers[0]
    assert registers[0].endswith(" Wh")
    table = outputs[4].splitlines()
    assert table[0].startswith("meter,object,capture_time") and len(table) == 5
    assert (tmp_path / "profile.png").stat().st_size > 10_000
