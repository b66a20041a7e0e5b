"""docs/receiving-pushes.md stays true: its Python examples run and print what they say."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "receiving-pushes.md"


def test_python_examples_run(capsys: pytest.CaptureFixture[str]) -> None:
    text = DOC.read_text()
    blocks = re.findall(r"```python\n(.*?)\n```", text, flags=re.S)
    assert len(blocks) == 2
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert out[:3] == ["1362 W", "230.1 V", "10049930 Wh"]
    assert out[3] == "4b464d1020304050 1 True"
    assert out[4].startswith("push rejected from 4B464D1020304050 (apdu): ReplayError:")


def test_toml_example_is_a_valid_key_file(tmp_path: Path) -> None:
    from asyncdlms.listen import TomlKeyStore

    (block,) = re.findall(r"```toml\n(.*?)\n```", DOC.read_text(), flags=re.S)
    tomllib.loads(block)
    path = tmp_path / "keys.toml"
    path.write_text(block)
    store = TomlKeyStore(path)
    assert store.keys_for(bytes.fromhex("4B464D6750000009")) is not None
