"""``asyncdlms decode`` for pushes: M-Bus frames with the transport layer's segments joined
(the Austrian EVN example, deciphered with its published key), keys from a TOML file by
system title, and general-block-transfer blocks joined in any order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from asyncdlms.cli import main

from .helpers import gbt_blocks, notification, wrapper_frame

CAPTURES = Path(__file__).resolve().parents[2].parent / "shared" / "captures" / "han-pushes.json"


def case(case_id: str) -> dict[str, Any]:
    if not CAPTURES.exists():
        pytest.skip("../shared/captures is absent")
    cases = json.loads(CAPTURES.read_text())["cases"]
    found: dict[str, Any] = next(c for c in cases if c["id"] == case_id)
    return found


def decode(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["decode", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_mbus_frames_joined_and_deciphered(capsys: pytest.CaptureFixture[str]) -> None:
    evn = case("athombv-austria-evn-mbus")
    status, out, err = decode(capsys, evn["hex"], "--block-cipher-key",
                              evn["keys"]["block_cipher_key"])  # fmt: skip
    assert status == 0, err
    assert out.count("M-Bus long frame") == evn["expect"]["mbus_frames"]
    assert "segment 1 STSAP 1 DTSAP 103, the last" in out
    assert "deciphered (no authentication tag)" in out
    assert evn["expect"]["plaintext_hex"] in out.replace("\n", "")
    assert evn["keys"]["block_cipher_key"] not in out.lower()
    status, out, _ = decode(capsys, evn["hex"])  # without the key: shown, not deciphered
    assert status == 0 and "not deciphered: give --block-cipher-key" in out


def test_keys_from_a_file_by_system_title(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    aidon = case("athombv-aidon-example-2-encrypted-aad")
    data = bytes.fromhex(aidon["hex"])
    start = data.index(b"\xdb\x08") + 2
    title = data[start : start + 8].hex().upper()
    keys = tmp_path / "keys.toml"
    entries = "".join(f'{name} = "{value}"\n' for name, value in aidon["keys"].items() if value)
    keys.write_text(f'["{title}"]\n{entries}')
    status, out, err = decode(capsys, aidon["hex"], "--keys", str(keys))
    assert status == 0, err
    assert "authentication tag verified" in out
    other = tmp_path / "other.toml"
    other.write_text(f'["0000000000000001"]\n{entries}')
    status, out, _ = decode(capsys, aidon["hex"], "--keys", str(other))
    assert status == 0 and "not deciphered: give --block-cipher-key (or --keys" in out


@pytest.mark.parametrize("order", ["in order", "reversed"])
def test_general_block_transfer_blocks_joined(
    capsys: pytest.CaptureFixture[str], order: str
) -> None:
    apdu = notification(424242)
    blocks = gbt_blocks(apdu, 16)
    assert len(blocks) > 2
    if order == "reversed":
        blocks.reverse()
    stream = b"".join(wrapper_frame(block) for block in blocks)
    status, out, err = decode(capsys, stream.hex())
    assert status == 0, err
    assert f"blocks 1..{len(blocks)} joined: {len(apdu)} bytes" in out
    assert "DataNotification" in out and "double-long-unsigned 424242" in out
