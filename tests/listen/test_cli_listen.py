"""``asyncdlms listen``: real HAN captures from a file and standard input (the values their
sources state), a TCP head-end in a subprocess with keys from a TOML file, and a replayed push
dropped across two runs through the durable counter store."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from asyncdlms.security import default_counter_store_path
from asyncdlms.wrapper.frames import WrapperFrame

from .helpers import GAK, GUEK, TITLE, context, notification

ROOT = Path(__file__).resolve().parents[2]
CAPTURES = ROOT.parent / "shared" / "captures" / "han-pushes.json"


def cases() -> dict[str, dict[str, Any]]:
    if not CAPTURES.exists():
        pytest.skip("../shared/captures is absent")
    document = json.loads(CAPTURES.read_text())
    return {case["id"]: case for case in document["cases"]}


def run(*argv: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "asyncdlms", "listen", *argv],
        input=stdin, capture_output=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


def test_a_capture_file_prints_the_values_its_source_states(tmp_path: Path) -> None:
    case = cases()["hassams-aidon-6534-list3"]
    path = tmp_path / "aidon.bin"
    path.write_bytes(bytes.fromhex(case["hex"]) * 2)  # decoded twice: no replay offline
    result = run(f"file://{path}?framing=hdlc", "--json-lines")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert len(records) == 2
    for expected in case["expect"]["values"]:
        reading = records[0]["readings"][expected["obis"]]
        stated = expected.get("scaled", expected["value"])
        value = reading["value"] if isinstance(reading, dict) else reading
        assert float(value) == pytest.approx(stated)


def test_standard_input_and_the_human_readable_line() -> None:
    case = cases()["hassams-kaifa-ma304h4-se"]
    result = run("-", stdin=bytes.fromhex(case["hex"]))
    assert result.returncode == 0, result.stderr
    assert "1.0.1.7.0.255=297" in result.stdout.decode()


def test_a_ciphered_capture_with_its_published_keys(tmp_path: Path) -> None:
    case = cases()["athombv-aidon-example-2-encrypted-aad"]
    keys = case["keys"]
    path = tmp_path / "aidon.bin"
    path.write_bytes(bytes.fromhex(case["hex"]))
    options = ["--block-cipher-key", keys["block_cipher_key"]]
    if keys.get("authentication_key"):
        options += ["--auth-key", keys["authentication_key"]]
    result = run(f"file://{path}?framing=hdlc", "--json-lines", *options)
    assert result.returncode == 0, result.stderr
    (record,) = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert record["system_title"] is not None and record["invocation_counter"] is not None
    power = next(v for v in case["expect"]["values"] if v["obis"] == "1.0.1.7.0.255")
    reading = record["readings"]["1.0.1.7.0.255"]
    assert float(reading["value"]) == pytest.approx(power["scaled"])
    wrong = run(f"file://{path}?framing=hdlc", "--block-cipher-key", "00" * 16)
    assert wrong.returncode == 1 and b"no notification" in wrong.stderr
    assert keys["block_cipher_key"].encode() not in wrong.stderr.lower()


def test_nothing_decodable_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "noise.bin"
    path.write_bytes(os.urandom(300).replace(b"\x7e", b"\x00"))
    result = run(f"file://{path}?framing=hdlc")
    assert result.returncode == 1 and b"no notification" in result.stderr
    assert run("udp://nowhere").returncode == 2


async def _head_end(*options: str) -> tuple[asyncio.subprocess.Process, int]:
    process, port, _ = await _head_end_saying(*options)
    return process, port


async def _head_end_saying(*options: str) -> tuple[asyncio.subprocess.Process, int, list[str]]:
    """The listener in a subprocess, its port, and what it said before listening."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "asyncdlms", "listen", "tcp://127.0.0.1:0", *options,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert process.stderr is not None
    said: list[str] = []
    while True:
        line = (await asyncio.wait_for(process.stderr.readline(), 60)).decode()
        assert line, said
        if line.startswith("listening on tcp://"):
            return process, int(line.strip().rsplit(":", 1)[1]), said
        said.append(line)


async def _push(port: int, apdu: bytes) -> None:
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(WrapperFrame(1, 0x66, apdu).encode())
    await writer.drain()
    writer.close()
    await writer.wait_closed()


async def test_a_tcp_head_end_with_a_key_file_drops_a_replay_across_runs(tmp_path: Path) -> None:
    key_file = tmp_path / "keys.toml"
    key_file.write_text(
        f'["{TITLE.hex().upper()}"]\nblock_cipher_key = "{GUEK.hex()}"\n'
        f'authentication_key = "{GAK.hex()}"\n'
    )
    meter = context()
    first, second = meter.protect(notification(1)), meter.protect(notification(2))
    outputs = []
    for pushes in ((first,), (first, second)):  # the second run sees the first push again
        process, port = await _head_end("--keys", str(key_file), "--json-lines", "--count", "1")
        for apdu in pushes:
            await _push(port, apdu)
        out, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, err
        outputs.append((out.decode(), err.decode()))
    energies = [
        json.loads(out)["readings"]["1.0.1.8.0.255"] for out, _ in outputs
    ]
    assert [e["value"] if isinstance(e, dict) else e for e in energies] == [1, 2]
    assert "ReplayError" in outputs[1][1]  # reported on standard error, not printed
    assert default_counter_store_path().exists()  # the durable store of the test's XDG dir


async def test_listen_into_a_store_then_query_it_and_scrape_the_metrics(tmp_path: Path) -> None:
    """``listen --store`` keeps each push's readings (``asyncdlms readings`` shows them);
    ``--metrics-port`` counts pushes received and rejected while it listens."""
    pytest.importorskip("prometheus_client", reason="metrics need asyncdlms[metrics]")
    import re
    import urllib.request

    store = f"sqlite:///{tmp_path / 'pushes.db'}"
    meter = context()
    process, port, said = await _head_end_saying(
        "--store", store, "--count", "2", "--keys", str(_key_file(tmp_path)),
        "--metrics-port", "0",
    )  # fmt: skip
    match = re.search(r"metrics on (http://\S+)", " ".join(said))
    assert match, said
    first = meter.protect(notification(1000))
    await _push(port, first)
    await _push(port, first)  # a replay: rejected, counted
    await asyncio.sleep(0.5)
    text = await asyncio.to_thread(
        lambda: urllib.request.urlopen(match.group(1), timeout=10).read().decode()
    )
    await _push(port, meter.protect(notification(2000)))
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err
    assert "asyncdlms_pushes_received_total 1.0" in text
    assert 'asyncdlms_pushes_rejected_total{reason="ReplayError"} 1.0' in text
    query = subprocess.run(
        [sys.executable, "-m", "asyncdlms", "readings", "--store", store, "--json"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert query.returncode == 0, query.stderr
    rows = [json.loads(line) for line in query.stdout.splitlines()]  # one object a line
    energy = sorted(row["value"] for row in rows if row["object"].endswith("/1.0.1.8.0.255/2"))
    assert energy == [1000, 2000]
    assert {row["meter"] for row in rows} == {TITLE.hex().upper()}


def _key_file(folder: Path) -> Path:
    path = folder / "keys.toml"
    path.write_text(
        f'["{TITLE.hex().upper()}"]\nblock_cipher_key = "{GUEK.hex()}"\n'
        f'authentication_key = "{GAK.hex()}"\n'
    )
    return path
