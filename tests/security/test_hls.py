"""HLS pass 3/4 (MD5, SHA-1, SHA-256, manufacturer), challenges and Secret.

Known values: f(StoC) computed by gurux-dlms 1.0.203 (GXDLMSClient.getApplicationAssociationRequest
→ GXSecure.secure, used as an oracle only) for the secret "12345678", StoC 41..50 (16 bytes),
CtoS 01..10, client system title 4D4D4D0000000001, server system title 4D4D4D0000BC614E;
tests/interop/test_gurux_acse.py recomputes them with gurux at test time. The MD5 formula
MD5(challenge || secret) is also the one of jDLMS HlsProcessorMd5 (openmuc, IEC 62056-62).
"""

from __future__ import annotations

import hashlib
import pickle
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncdlms.apdu.acse import MechanismName
from asyncdlms.errors import AuthenticationError
from asyncdlms.security import (
    STANDARD_FUNCTIONS,
    HlsInput,
    Secret,
    client_pass3,
    generate_challenge,
    hls_function,
    server_pass4,
    verify_client_pass3,
    verify_server_pass4,
)

SECRET = b"12345678"
STOC = bytes(range(0x41, 0x51))
CTOS = bytes(range(0x01, 0x11))
CLIENT_TITLE = bytes.fromhex("4d4d4d0000000001")
SERVER_TITLE = bytes.fromhex("4d4d4d0000bc614e")

GURUX_PASS3 = {
    MechanismName.HIGH_MD5: "57b613748f57289f7e54c6c32b2e63be",
    MechanismName.HIGH_SHA1: "dd66153cbe542a372a2e86e535d26e4448b270eb",
    MechanismName.HIGH_SHA256: "53c6de1962b2cfeb705d63c7c6a24bb241004ae3d3f85d9d81103db4e260ab7e",
}


def _pass3(mechanism: MechanismName, secret: Secret | bytes = SECRET) -> bytes:
    return client_pass3(
        mechanism,
        secret,
        server_challenge=STOC,
        client_challenge=CTOS,
        client_system_title=CLIENT_TITLE,
        server_system_title=SERVER_TITLE,
    )


def _pass4(mechanism: MechanismName, secret: Secret | bytes = SECRET) -> bytes:
    return server_pass4(
        mechanism,
        secret,
        client_challenge=CTOS,
        server_challenge=STOC,
        client_system_title=CLIENT_TITLE,
        server_system_title=SERVER_TITLE,
    )


@pytest.mark.parametrize("mechanism", list(GURUX_PASS3))
def test_pass3_equals_gurux(mechanism: MechanismName) -> None:
    assert _pass3(mechanism).hex() == GURUX_PASS3[mechanism]
    assert _pass3(mechanism, Secret(SECRET)).hex() == GURUX_PASS3[mechanism]


def test_pass3_green_book_challenge_values() -> None:
    # StoC "P6wRJ21F" of the Green Book HLS example (dlmscosem-apdu-aare-hls-gmac-challenge),
    # secret "12345678"; values from gurux-dlms 1.0.203 GXSecure.secure
    stoc = b"P6wRJ21F"
    md5 = client_pass3(MechanismName.HIGH_MD5, SECRET, server_challenge=stoc)
    sha1 = client_pass3(MechanismName.HIGH_SHA1, SECRET, server_challenge=stoc)
    assert md5.hex() == "53d4537e37dab4ff089629e25557af9f"
    assert sha1.hex() == "6dbd949d1b1efdd6fe5f9ea627877e986e8708cb"


def test_formulas() -> None:
    # MD5/SHA-1: H(challenge || secret); pass 4 answers the client's challenge
    assert _pass3(MechanismName.HIGH_MD5) == hashlib.md5(STOC + SECRET).digest()
    assert _pass4(MechanismName.HIGH_MD5) == hashlib.md5(CTOS + SECRET).digest()
    assert _pass4(MechanismName.HIGH_SHA1) == hashlib.sha1(CTOS + SECRET).digest()
    # SHA-256: the proving side puts its own system title and its own challenge last
    assert (
        _pass3(MechanismName.HIGH_SHA256)
        == hashlib.sha256(SECRET + CLIENT_TITLE + SERVER_TITLE + STOC + CTOS).digest()
    )
    assert (
        _pass4(MechanismName.HIGH_SHA256)
        == hashlib.sha256(SECRET + SERVER_TITLE + CLIENT_TITLE + CTOS + STOC).digest()
    )
    assert len(_pass3(MechanismName.HIGH_SHA256)) == 32


@pytest.mark.parametrize("mechanism", list(STANDARD_FUNCTIONS))
def test_verify_both_directions(mechanism: MechanismName) -> None:
    kwargs: dict[str, Any] = {
        "client_challenge": CTOS,
        "server_challenge": STOC,
        "client_system_title": CLIENT_TITLE,
        "server_system_title": SERVER_TITLE,
    }
    verify_server_pass4(mechanism, SECRET, _pass4(mechanism), **kwargs)
    verify_client_pass3(mechanism, SECRET, _pass3(mechanism), **kwargs)
    with pytest.raises(AuthenticationError, match="HLS pass 4 failed"):
        verify_server_pass4(mechanism, b"87654321", _pass4(mechanism), **kwargs)
    with pytest.raises(AuthenticationError, match="HLS pass 4 failed"):
        verify_server_pass4(mechanism, SECRET, _pass3(mechanism), **kwargs)  # a reflection
    with pytest.raises(AuthenticationError, match="HLS pass 3 failed"):
        verify_client_pass3(mechanism, SECRET, _pass3(mechanism)[:-1], **kwargs)


def test_sha256_needs_system_titles() -> None:
    with pytest.raises(AuthenticationError, match="system titles"):
        client_pass3(MechanismName.HIGH_SHA256, SECRET, server_challenge=STOC)


def test_manufacturer_function_is_pluggable() -> None:
    calls: list[tuple[bytes, HlsInput]] = []

    def xor_function(secret: bytes, data: HlsInput) -> bytes:
        calls.append((secret, data))
        return bytes(a ^ b for a, b in zip(data.challenge, secret * 4, strict=False))

    value = client_pass3(
        MechanismName.HIGH,
        Secret(SECRET),
        server_challenge=STOC,
        manufacturer_function=xor_function,
    )
    assert value == bytes(a ^ b for a, b in zip(STOC, SECRET * 2, strict=True))
    assert calls[0][0] == SECRET and calls[0][1].challenge == STOC
    verify_server_pass4(
        MechanismName.HIGH,
        SECRET,
        bytes(a ^ b for a, b in zip(CTOS, SECRET * 2, strict=True)),
        client_challenge=CTOS,
        manufacturer_function=xor_function,
    )
    with pytest.raises(AuthenticationError, match="manufacturer-specific"):
        hls_function(MechanismName.HIGH)


@pytest.mark.parametrize("mechanism", [MechanismName.LOWEST, MechanismName.LOW])
def test_mechanisms_without_a_function_here(mechanism: MechanismName) -> None:
    with pytest.raises(AuthenticationError, match="no HLS pass 3/4 function"):
        hls_function(mechanism)


def test_generate_challenge_with_injected_random() -> None:
    def counter(n: int) -> bytes:
        return bytes(range(n))

    assert generate_challenge(8, random=counter) == bytes(range(8))
    assert generate_challenge(random=counter) == bytes(range(16))
    assert len(generate_challenge(64)) == 64
    assert generate_challenge(32) != generate_challenge(32)  # os.urandom by default
    for bad in (7, 65, 0):
        with pytest.raises(ValueError, match=r"8\.\.64"):
            generate_challenge(bad)
    with pytest.raises(ValueError, match="random source"):
        generate_challenge(8, random=lambda n: b"\x00")


def test_secret_never_shows_its_bytes() -> None:
    secret = Secret("12345678")
    assert repr(secret) == "Secret(****)" == str(secret) == f"{secret}"
    assert "1234" not in repr([secret]) and "1234" not in repr({"k": secret})
    assert secret.value == SECRET == bytes(secret)
    assert len(secret) == 8
    assert secret == Secret(SECRET) and secret != Secret(b"other") and secret != SECRET
    assert hash(secret) == hash(Secret(SECRET))
    assert pickle.loads(pickle.dumps(secret)) == secret
    with pytest.raises(AttributeError):
        secret.other = 1  # type: ignore[attr-defined]


@given(
    st.sampled_from(list(STANDARD_FUNCTIONS)),
    st.binary(min_size=1, max_size=32),
    st.binary(min_size=8, max_size=64),
    st.binary(min_size=8, max_size=64),
)
def test_pass4_checks_what_the_server_computes(
    mechanism: MechanismName, secret: bytes, ctos: bytes, stoc: bytes
) -> None:
    titles: dict[str, Any] = {
        "client_system_title": CLIENT_TITLE,
        "server_system_title": SERVER_TITLE,
    }
    answer = server_pass4(mechanism, secret, client_challenge=ctos, server_challenge=stoc, **titles)
    verify_server_pass4(
        mechanism, secret, answer, client_challenge=ctos, server_challenge=stoc, **titles
    )
