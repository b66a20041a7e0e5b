"""README "Firmware upgrades": its Python example and both commands run here (the commands
against ``asyncdlms simulate``, the README's meter address replaced by the simulator's)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from asyncdlms.cli import main
from tests.simulate_process import simulate

from .conftest import image_of

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
SECTION = README.split("## Firmware upgrades", 1)[1].split("\n## ", 1)[0]


def test_the_python_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    [block] = re.findall(r"```python\n(.*?)\n```", SECTION, flags=re.S)
    exec(compile(block, "README.md", "exec"), {"__name__": "readme"})
    lines = capsys.readouterr().out.splitlines()
    blocks = lines[-1].split()[0]
    assert lines[0].startswith("0/") and lines[-2].startswith(f"{blocks}/{blocks} blocks")
    assert lines[-1].startswith(f"{blocks} blocks at ")
    assert lines[-1].endswith("b'SIM-1.0.0' -> b'SIM-2.0.0'")


def test_the_commands_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    commands = [line for block in re.findall(r"```sh\n(.*?)\n```", SECTION, flags=re.S)
                for line in block.splitlines()]  # fmt: skip
    assert [c.split()[1] for c in commands] == ["firmware", "poll"]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fw-2.0.bin").write_bytes(image_of(b"FW-2.0", 3000))
    with simulate("--meters", "2", "--shared-port") as url:
        lines = ["[defaults]", "client = 18", 'auth = "md5"', 'password = "Gurux1234567890!"']
        for server in (1, 2):
            lines += ["[[meter]]", f'name = "m{server}"', f'url = "{url}"', f"server = {server}"]
        (tmp_path / "fleet.toml").write_text("\n".join(lines) + "\n")
        argv = shlex.split(commands[0].replace("tcp://10.0.0.7:4059", url))
        assert main(argv[1:]) == 0
        one = capsys.readouterr().out
        assert main(shlex.split(commands[1])[1:]) == 0
        fleet = capsys.readouterr().out
    assert "effective rate" in one and "active firmware FW-2.0" in one
    # meter 1 (server 1) got FW-2.0 from the first command already
    outcomes = dict(line.split(": ", 1) for line in fleet.splitlines())
    assert outcomes["m1"] == "skipped: already at FW-2.0"
    assert outcomes["m2"].startswith("done: ") and "active firmware FW-2.0" in outcomes["m2"]
