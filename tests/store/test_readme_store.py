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
        "poll", "listen", "store", "poll", "listen", "readings", "readings", "plot",
    ]  # fmt: skip
    assert "sqlite:///" in commands[0] and "postgresql://" in commands[3]


def test_every_command_of_the_section_runs(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    postgres_url: str,
) -> None:
    pytest.importorskip("matplotlib", reason="the plot command needs asyncdlms[plot]")
    monkeypatch.chdir(tmp_path)
    _captured_pushes(tmp_path / "pushes.bin")
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
        # and 3 pushing meters: two readings each
        assert counts["readings"] == 20 + 3 * 2 and counts["positions"] == 20
        assert 20 * 192 <= counts["profile_rows"] <= 20 * 193
    assert outputs[0].startswith("20 meters: 20 ok, 0 failed")
    assert len(outputs[1].splitlines()) == 3  # the pushes, one line each
    registers = outputs[5].splitlines()
    assert len(registers) == 1 and "simulated-3  3/1.0.1.8.0.255/2" in registers[0]
    assert registers[0].endswith(" Wh")
    table = outputs[6].splitlines()
    assert table[0].startswith("meter,object,capture_time") and len(table) == 5
    assert (tmp_path / "profile.png").stat().st_size > 10_000


def _captured_pushes(path: Path) -> None:
    """What the README's ``listen`` reads: three meters' general-glo-ciphered pushes (keys as
    in the README), wrapper-framed, one after another."""
    from asyncdlms.apdu.enums import LongInvokeIdAndPriority
    from asyncdlms.apdu.notification import DataNotification
    from asyncdlms.security.ciphering import CipheringForm, SecurityContext
    from asyncdlms.security.counters import MemoryInvocationCounterStore
    from asyncdlms.types import Array, DoubleLongUnsigned, Enum, Integer, OctetString, Structure
    from asyncdlms.wrapper.frames import WrapperFrame

    frames = []
    for meter in range(3):
        context = SecurityContext(
            system_title=bytes.fromhex(f"4B464D00000000{meter + 1:02X}"),
            block_cipher_key=bytes.fromhex("000102030405060708090A0B0C0D0E0F"),
            authentication_key=bytes.fromhex("101112131415161718191A1B1C1D1E1F"),
            form=CipheringForm.GENERAL_GLOBAL,
            counter_store=MemoryInvocationCounterStore(),
        )
        body = Array(tuple(
            Structure((OctetString(bytes(obis)), DoubleLongUnsigned(value),
                       Structure((Integer(0), Enum(unit)))))
            for obis, value, unit in (((1, 0, 1, 8, 0, 255), 1000 + meter, 30),
                                      ((1, 0, 1, 7, 0, 255), 200 + meter, 27))
        ))  # fmt: skip
        apdu = DataNotification(body, LongInvokeIdAndPriority(1)).encode()
        frames.append(WrapperFrame(1, 0x66, context.protect(apdu)).encode())
    path.write_bytes(b"".join(frames))
