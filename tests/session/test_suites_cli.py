"""The command line with HLS-ECDSA and suite 2: ``asyncdlms read URL ... --auth ecdsa --suite
2 --signing-key PEM --server-certificate PEM --ca-certificate PEM`` against the simulator
(run in a thread with its own event loop, since the command runs its own); a certificate
of another meter is refused in one line, and no key is printed."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from asyncdlms.cli import main
from asyncdlms.security.certificates import private_key_to_pem

from .test_suites_hls import CLIENT_TITLE, Setup, _keys, make_setup


@pytest.fixture(scope="module")
def simulated() -> Iterator[tuple[Setup, list[str], list[bytes]]]:
    setup = make_setup(2, "ae")
    ready = threading.Event()
    urls: list[str] = []
    certificates: list[bytes] = []
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def serve() -> None:
        async with setup.simulator(meters=2) as sim:
            urls.extend(sim.urls)
            certificates.extend(
                sim.meter_certificate(i).public_bytes(serialization.Encoding.PEM) for i in (0, 1)
            )
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(30)
    yield setup, urls, certificates
    loop.call_soon_threadsafe(stop.set)
    thread.join(30)
    loop.close()


def _files(tmp_path: Path, setup: Setup, certificate: bytes) -> list[str]:
    (tmp_path / "ours.pem").write_bytes(private_key_to_pem(setup.client_key, b"secret words"))
    (tmp_path / "meter.pem").write_bytes(certificate)
    (tmp_path / "ca.pem").write_bytes(
        setup.keys.ca_certificate.public_bytes(serialization.Encoding.PEM)
    )
    ek, ak = _keys(2)
    return [
        "--client", "18", "--auth", "ecdsa", "--suite", "2", "--security", "ae",
        "--system-title", CLIENT_TITLE.hex(), "--block-cipher-key", ek.hex(),
        "--auth-key", ak.hex(), "--signing-key", str(tmp_path / "ours.pem"),
        "--server-certificate", str(tmp_path / "meter.pem"),
        "--ca-certificate", str(tmp_path / "ca.pem"),
    ]  # fmt: skip


def test_read_with_hls_ecdsa_suite_2(
    simulated: tuple[Setup, list[str], list[bytes]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    setup, urls, certificates = simulated
    monkeypatch.setenv("ASYNCDLMS_SIGNING_KEY_PASSWORD", "secret words")
    options = _files(tmp_path, setup, certificates[1])
    status = main(["read", urls[1], "1/0.0.42.0.0.255/2", *options])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert "ADS" in out
    # meter 0 with meter 1's certificate: refused before pass 3, one line, no key shown
    status = main(["read", urls[0], "1/0.0.42.0.0.255/2", *options])
    out, err = capsys.readouterr()
    assert status == 1
    assert "no signing certificate" in err and len(err.strip().splitlines()) == 1
    for secret in (*_keys(2), b"secret words"):
        assert secret.hex() not in err and secret.hex().upper() not in err
    assert "secret words" not in err
