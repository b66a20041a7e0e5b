"""``serial://`` and ``mbus+serial://`` listeners on a pseudo-terminal: a HAN port that only
pushes (HDLC frames, receive only) and an M-Bus customer interface (long frames with the
transport layer's segments), fed with real captures (../shared/captures) on the master end;
and the README's HAN-port example run against such a line."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import threading
import tty
from pathlib import Path
from typing import Any

import pytest

import asyncdlms
from asyncdlms import Obis
from asyncdlms.listen import KeySet

ROOT = Path(__file__).resolve().parents[2]
CAPTURES = ROOT.parent / "shared" / "captures" / "han-pushes.json"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX pseudo-terminals")


def case(case_id: str) -> dict[str, Any]:
    if not CAPTURES.exists():
        pytest.skip("../shared/captures is absent")
    cases = json.loads(CAPTURES.read_text())["cases"]
    found: dict[str, Any] = next(c for c in cases if c["id"] == case_id)
    return found


class Line:
    """A pseudo-terminal: the meter writes on the master end, the listener opens the slave."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def close(self) -> None:
        os.close(self.master)
        os.close(self.slave)


async def test_a_han_port_with_real_captures_byte_by_byte() -> None:
    pushes = [case("hassams-kaifa-ma304h4-se"), case("hassams-aidon-6534-list3")]
    line = Line()
    try:
        async with asyncdlms.listen(f"serial://{line.path}?baud=2400") as listener:
            for push in pushes:
                for byte in bytes.fromhex(push["hex"]):
                    line.send(bytes((byte,)))
                await asyncio.sleep(0.01)
            received = []
            async with asyncio.timeout(20):
                async for notification in listener:
                    received.append(notification)
                    if len(received) == 2:
                        break
    finally:
        line.close()
    assert received[0].readings()[Obis("1.0.1.7.0.255")].raw == 297
    stated = pushes[1]["expect"]["values"][1]
    assert received[1].readings()[Obis(stated["obis"])].raw == stated["value"]


async def test_an_mbus_customer_interface_with_its_published_key() -> None:
    evn = case("athombv-austria-evn-mbus")
    line = Line()
    keys = KeySet(block_cipher_key=bytes.fromhex(evn["keys"]["block_cipher_key"]))
    try:
        # M-Bus lines are 8E1 by default; a pseudo-terminal takes no parity setting
        url = f"mbus+serial://{line.path}?parity=N"
        async with asyncdlms.listen(url, keys=keys) as listener:
            line.send(bytes.fromhex(evn["hex"]))
            async with asyncio.timeout(20):
                push = await anext(aiter(listener))
    finally:
        line.close()
    assert push.system_title is not None and push.system_title.hex().upper() == "4B464D6750000009"
    plaintext = bytes.fromhex(evn["expect"]["plaintext_hex"])
    assert push.apdu.encode()[: len(plaintext)] == plaintext[: len(push.apdu.encode())]


def test_the_readme_han_port_example_runs_on_a_line(capsys: pytest.CaptureFixture[str]) -> None:
    """The README's HAN example (compiled there, as it needs a port) run against a pty fed
    with a real capture; it stops after the first push through its HAN_PUSHES variable."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Receiving pushes", 1)[1].split("\n## ", 1)[0]
    (block,) = [b for b in re.findall(r"```python\n(.*?)\n```", section, flags=re.S)
                if b.startswith("# needs a HAN port")]  # fmt: skip
    kaifa = case("hassams-kaifa-ma304h4-se")
    line = Line()
    os.environ.update(HAN_PORT=f"serial://{line.path}?baud=2400", HAN_PUSHES="1")
    stop = threading.Event()

    def meter() -> None:  # a HAN port pushes every few seconds; here every 0.2 s
        while not stop.wait(0.2):
            line.send(bytes.fromhex(kaifa["hex"]))

    pushing = threading.Thread(target=meter, daemon=True)
    pushing.start()
    try:
        exec(compile(block, "README.md", "exec"), {})
    finally:
        stop.set()
        pushing.join()
        os.environ.pop("HAN_PORT")
        os.environ.pop("HAN_PUSHES")
        line.close()
    assert "1.0.1.7.0.255 297" in capsys.readouterr().out
