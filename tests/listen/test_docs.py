"""README "Receiving pushes" stays true: its Python examples run and print what they say
(tests/test_readme.py runs every README example; this checks what these ones print)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def section() -> str:
    text = README.read_text()
    return text.split("## Receiving pushes", 1)[1].split("\n## ", 1)[0]


def test_python_examples_print_what_they_say(capsys: pytest.CaptureFixture[str]) -> None:
    blocks = re.findall(r"```python\n(.*?)\n```", section(), flags=re.S)
    runnable = [block for block in blocks if not block.startswith("# needs ")]
    assert len(runnable) == 3
    for block in runnable:
        exec(compile(block, str(README), "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert sorted(out[:3]) == [f"ADS{10_000_000 + i:013d} True" for i in range(3)]
    assert out[3:6] == ["1362 W", "230.1 V", "10049930 Wh"]
    assert out[6] == "4b464d1020304050 1 True"
    assert out[7].startswith("push rejected from 4B464D1020304050 (apdu): ReplayError:")


def test_toml_example_is_a_valid_key_file(tmp_path: Path) -> None:
    from asyncdlms.listen import TomlKeyStore

    (block,) = re.findall(r"```toml\n(.*?)\n```", section(), flags=re.S)
    tomllib.loads(block)
    path = tmp_path / "keys.toml"
    path.write_text(block)
    store = TomlKeyStore(path)
    assert store.keys_for(bytes.fromhex("4B464D6750000009")) is not None
