"""``asyncdlms simulate --suite 1|2``: the README's suite examples from a shell. HLS-GMAC and
HLS-ECDSA in suites 1 and 2 against the simulator the options build (``asyncdlms read`` in a
subprocess for HLS-ECDSA, with the certificates ``--export-certificates`` wrote), and signed
pushes (``--sign-pushes``) verified by ``listen()`` with the exported ``push-keys.toml``."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from asyncdlms.apdu.acse import MechanismName
from asyncdlms.cli.simulate import export_certificates, simulator_from_arguments
from asyncdlms.listen import Notification, TomlKeyStore, listen
from asyncdlms.security.certificates import make_certificate, private_key_to_pem
from asyncdlms.security.counters import MemoryInvocationCounterStore
from asyncdlms.security.suites import generate_private_key
from asyncdlms.server.security_setup import SimulatedSecurity
from asyncdlms.session.settings import ClientSecurity

from .test_cli_simulate import parse

ROOT = Path(__file__).resolve().parents[2]
CLIENT_TITLE = "4153590000000001"
SEED = "cli-suites-test"


def keys(suite: int) -> tuple[str, str]:
    size = 32 if suite == 2 else 16
    return bytes(range(size)).hex(), bytes(range(0x40, 0x40 + size)).hex()


@pytest.mark.parametrize("suite", [1, 2])
async def test_hls_gmac_in_suites_1_and_2(suite: int) -> None:
    block_cipher_key, auth_key = keys(suite)
    args = parse(
        "--port", "0", "--suite", str(suite), "--auth", "gmac", "--security", "ae",
        "--block-cipher-key", block_cipher_key, "--auth-key", auth_key,
    )  # fmt: skip
    simulator = simulator_from_arguments(args)
    policy = simulator.associations[18]
    assert policy.mechanism == MechanismName.HIGH_GMAC
    assert policy.security is not None and int(policy.security.suite) == suite
    security = ClientSecurity(
        bytes.fromhex(CLIENT_TITLE), block_cipher_key, auth_key, "ae", suite=suite
    )
    async with (
        simulator as sim,
        sim.connect(0, client=18, auth="gmac", security=security) as meter,
    ):
        assert await meter.get(1, "0.0.42.0.0.255", 2) == b"ADS%013d" % 10_000_000


def test_suite_options_are_checked() -> None:
    short, _ = keys(1)
    with pytest.raises(ValueError, match="64 hex digits\\) in security suite 2"):
        options = ("--suite", "2", "--auth", "gmac", "--block-cipher-key", short)
        simulator_from_arguments(parse(*options, "--auth-key", short))
    with pytest.raises(ValueError, match="--auth ecdsa needs --suite 1 or 2"):
        simulator_from_arguments(parse("--auth", "ecdsa"))
    with pytest.raises(ValueError, match="--sign-pushes needs --suite"):
        simulator_from_arguments(parse("--sign-pushes"))


@pytest.mark.parametrize("suite", [1, 2])
async def test_hls_ecdsa_with_asyncdlms_read_and_exported_certificates(
    tmp_path: Path, suite: int
) -> None:
    # our key and a certificate from the simulator's CA (the same seed: the same CA)
    ours = generate_private_key(suite)
    ca = SimulatedSecurity(suite, seed=SEED.encode())
    certificate = make_certificate(
        ours.public_key(), issuer_key=ca.ca_key, issuer=ca.ca_certificate, system_title=CLIENT_TITLE
    )
    (tmp_path / "ours.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "ours-key.pem").write_bytes(private_key_to_pem(ours))
    block_cipher_key, auth_key = keys(suite)
    args = parse(
        "--port", "0", "--suite", str(suite), "--auth", "ecdsa", "--security", "ae",
        "--block-cipher-key", block_cipher_key, "--auth-key", auth_key,
        "--security-seed", SEED, "--client-certificate", str(tmp_path / "ours.pem"),
    )  # fmt: skip
    simulator = simulator_from_arguments(args)
    async with simulator as sim:
        written = export_certificates(sim, tmp_path / "certs")
        assert {p.name for p in written} == {"ca.pem", "meter-0.pem", "push-keys.toml"}
        command = [
            sys.executable, "-m", "asyncdlms", "read", sim.targets[0].url, "1/0.0.42.0.0.255/2",
            "--client", "18", "--auth", "ecdsa", "--suite", str(suite), "--security", "ae",
            "--block-cipher-key", block_cipher_key, "--auth-key", auth_key,
            "--signing-key", str(tmp_path / "ours-key.pem"),
            "--server-certificate", str(tmp_path / "certs" / "meter-0.pem"),
            "--ca-certificate", str(tmp_path / "certs" / "ca.pem"),
            "--system-title", CLIENT_TITLE, "--json",
        ]  # fmt: skip
        environment = {**os.environ, "PYTHONPATH": str(ROOT)}
        process = await asyncio.create_subprocess_exec(
            *command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environment,
        )
        async with asyncio.timeout(60):
            out, err = await process.communicate()
        assert process.returncode == 0, err.decode()
        assert "ADS" in out.decode() or "414453" in out.decode().upper()
        assert sim.associations_established == 1


async def test_signed_pushes_from_the_options_verify_with_the_exported_keys(
    tmp_path: Path,
) -> None:
    store = MemoryInvocationCounterStore()
    async with listen("tcp://127.0.0.1:0", counter_store=store, keys={}) as probe:
        assert probe.address is not None  # a free port for the listener below
        port = probe.address[1]
    args = parse(
        "--port", "0", "--meters", "2", "--suite", "1", "--sign-pushes",
        "--push-destination", f"127.0.0.1:{port}", "--security-seed", SEED,
    )  # fmt: skip
    simulator = simulator_from_arguments(args)
    export_certificates(simulator, tmp_path)
    key_store = TomlKeyStore(tmp_path / "push-keys.toml")
    async with (
        listen(
            f"tcp://127.0.0.1:{port}", keys=key_store, counter_store=store, require_signature=True
        ) as listener,
        simulator as sim,
    ):
        await sim.push(0)
        await sim.push(1)
        got = []
        async with asyncio.timeout(20):
            async for event in listener.events():
                got.append(event)
                if len(got) == 2:
                    break
    assert all(isinstance(e, Notification) and e.signature is not None for e in got)
    signers = sorted(e.signature.signer_system_title for e in got)  # type: ignore[union-attr]
    assert signers == sorted(simulator.meter_system_title(i) for i in (0, 1))
