"""HLS-SHA256 without ciphering (issue 12, defect 1): the client's system title goes out as
calling-AP-title through :func:`asyncdlms.connect`, the CLI and ``asyncdlms simulate``.

gurux-dlms fails HLS-SHA256 itself, so the peer is our simulator, checked on the wire against
an independent computation (hashlib) with the system titles of the Green Book HLS example
(``dlmscosem-hls-gmac-pass3-green-book`` in ../shared/vectors)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from asyncdlms import connect
from asyncdlms.apdu import Aare, Aarq, ActionRequestNormal, ActionResponseNormal, decode_apdu
from asyncdlms.apdu.acse import MechanismName
from asyncdlms.cli import main
from asyncdlms.server import Simulator
from asyncdlms.server.simulator import default_associations
from tests.conftest import vector
from tests.simulate_process import simulate

ROOT = Path(__file__).resolve().parents[1]
SECRET = "SHA256-secret-16"
WRAPPER_HEADER = 8


@pytest.fixture(scope="module")
def titles() -> tuple[bytes, bytes]:
    """(client, server) system titles of the Green Book HLS example."""
    expected = vector("dlmscosem-hls-gmac-pass3-green-book")["expected"]
    client = bytes.fromhex(expected["client_system_title"])
    server = bytes.fromhex(expected["commented_server_values"]["server_system_title"])
    return client, server


def _sha256_simulator(server_title: bytes) -> Simulator:
    associations = default_associations(
        hls_mechanism=MechanismName.HIGH_SHA256, hls_secret=SECRET.encode()
    )
    return Simulator(1, associations=associations, system_title=server_title)


async def test_connect_sha256_without_ciphering_sends_the_system_title(
    titles: tuple[bytes, bytes],
) -> None:
    client_title, server_title = titles
    apdus: list[tuple[str, bytes]] = []

    def trace(direction: str, data: bytes, now: float) -> None:
        apdus.append((direction, data[WRAPPER_HEADER:]))

    async with (
        _sha256_simulator(server_title) as simulator,
        simulator.connect(
            0, client=18, auth="sha256", password=SECRET, system_title=client_title.hex(),
            trace=trace,
        ) as meter,
    ):  # fmt: skip
        serial = simulator.meters[0].serial_number
        assert await meter.get(1, "0.0.42.0.0.255", 2) == b"ADS%013d" % serial
    decoded = [decode_apdu(apdu) for _, apdu in apdus]
    aarq = next(pdu for pdu in decoded if isinstance(pdu, Aarq))
    aare = next(pdu for pdu in decoded if isinstance(pdu, Aare))
    assert aarq.calling_ap_title == client_title
    assert aare.responding_ap_title == server_title
    challenge_to_server = aarq.calling_authentication_value
    challenge_to_client = aare.responding_authentication_value
    assert challenge_to_server and challenge_to_client
    # pass 3 and pass 4 on the wire, as the Green Book defines them for mechanism 6
    reply = next(pdu for pdu in decoded if isinstance(pdu, ActionRequestNormal))
    assert reply.method_invocation_parameters is not None
    assert reply.method_invocation_parameters.value == hashlib.sha256(
        SECRET.encode() + client_title + server_title + challenge_to_client + challenge_to_server
    ).digest()
    answer = next(pdu for pdu in decoded if isinstance(pdu, ActionResponseNormal))
    assert answer.value == hashlib.sha256(
        SECRET.encode() + server_title + client_title + challenge_to_server + challenge_to_client
    ).digest()


async def test_connect_sha256_without_a_system_title_says_so() -> None:
    with pytest.raises(ValueError, match="system_title"):
        await connect(
            "tcp://127.0.0.1:1", client=18, auth="sha256", password=SECRET
        )


@pytest.fixture(scope="module")
def simulate_sha256(titles: tuple[bytes, bytes]) -> Iterator[str]:
    """``asyncdlms simulate`` configured for HLS-SHA256 with its own system title; its URL."""
    with simulate(
        "--client", "18", "--auth", "sha256", "--secret", SECRET,
        "--system-title", titles[1].hex(), duration=60,
    ) as url:  # fmt: skip
        yield url


def test_cli_read_with_sha256(
    simulate_sha256: str, titles: tuple[bytes, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["read", simulate_sha256, "1/0.0.42.0.0.255/2", "--client", "18",
                   "--auth", "sha256", "--password", SECRET,
                   "--system-title", titles[0].hex(), "--json"])  # fmt: skip
    out, err = capsys.readouterr()
    assert (status, err) == (0, "")
    assert bytes.fromhex(json.loads(out)).startswith(b"ADS")  # the logical device name


def test_cli_read_with_sha256_and_a_wrong_secret_fails(
    simulate_sha256: str, titles: tuple[bytes, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["read", simulate_sha256, "1/0.0.42.0.0.255/2", "--client", "18",
                   "--auth", "sha256", "--password", "not-the-secret!!",
                   "--system-title", titles[0].hex()])  # fmt: skip
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("asyncdlms read: AuthenticationError: HLS pass 3 was refused")
    assert err.count("\n") == 1 and "not-the-secret" not in err
