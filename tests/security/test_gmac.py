"""HLS-GMAC (mechanism 5): the Green Book pass 3 example, the registry entry, both passes
through a SecurityContext in either role, and wrong keys, titles or values."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from asyncdlms.apdu.acse import MechanismName
from asyncdlms.errors import AuthenticationError, EncodeError
from asyncdlms.security import (
    CIPHERING_FUNCTIONS,
    CipheredApdu,
    DecipheringError,
    HlsInput,
    Secret,
    SecurityContext,
    client_pass3,
    gmac_authentication_value,
    hls_function,
    server_pass4,
    verify_client_pass3,
    verify_gmac_authentication_value,
    verify_server_pass4,
)
from tests.conftest import vector

BLOCK_CIPHER_KEY = bytes(range(16))
AUTHENTICATION_KEY = bytes(range(0xD0, 0xE0))
CLIENT_TITLE = bytes.fromhex("4D4D4D0000000001")
SERVER_TITLE = bytes.fromhex("4D4D4D0000BC614E")
STOC = bytes.fromhex("503677524A323146")
CTOS = bytes.fromhex("4B35366956616759")


def test_green_book_pass3() -> None:
    """dlmscosem-hls-gmac-pass3-green-book: tag 1A52FE7DD3E72748973C1E28."""
    v = vector("dlmscosem-hls-gmac-pass3-green-book")
    expected = v["expected"]
    title = bytes.fromhex(expected["client_system_title"])
    counter = int(expected["client_invocation_counter"], 16)
    stoc = bytes.fromhex(expected["StoC"])
    value = gmac_authentication_value(
        bytes.fromhex(expected["encryption_key"]),
        bytes.fromhex(expected["authentication_key"]),
        title,
        counter,
        stoc,
    )
    assert value == b"\x10" + counter.to_bytes(4, "big") + bytes.fromhex(v["hex"])
    # the IV and AAD the vector states, computed by hand with AES-GCM
    raw = AESGCM(bytes.fromhex(expected["encryption_key"])).encrypt(
        bytes.fromhex(expected["iv"]), b"", bytes.fromhex(expected["aad"])
    )
    assert raw[:12] == bytes.fromhex(v["hex"])
    # through the registry and the pass 3 helper
    assert hls_function(MechanismName.HIGH_GMAC) is CIPHERING_FUNCTIONS[MechanismName.HIGH_GMAC]
    assert (
        client_pass3(
            MechanismName.HIGH_GMAC,
            Secret(BLOCK_CIPHER_KEY),
            server_challenge=stoc,
            client_system_title=title,
            server_system_title=SERVER_TITLE,
            invocation_counter=counter,
            authentication_key=Secret(AUTHENTICATION_KEY),
        )
        == value
    )
    # through a context whose next counter is the vector's
    client = SecurityContext(
        system_title=title,
        peer_system_title=SERVER_TITLE,
        block_cipher_key=BLOCK_CIPHER_KEY,
        authentication_key=AUTHENTICATION_KEY,
    )
    assert client.next_invocation_counter() == counter
    assert client.hls_gmac(stoc) == value
    assert client.next_invocation_counter() == counter + 1  # a GMAC uses up a nonce too
    server = SecurityContext(
        system_title=SERVER_TITLE,
        peer_system_title=title,
        block_cipher_key=BLOCK_CIPHER_KEY,
        authentication_key=AUTHENTICATION_KEY,
    )
    server.verify_hls_gmac(value, stoc)
    verify_client_pass3(
        MechanismName.HIGH_GMAC,
        BLOCK_CIPHER_KEY,
        value,
        server_challenge=stoc,
        client_system_title=title,
        authentication_key=AUTHENTICATION_KEY,
    )


def _contexts() -> tuple[SecurityContext, SecurityContext]:
    client = SecurityContext(
        system_title=CLIENT_TITLE,
        peer_system_title=SERVER_TITLE,
        block_cipher_key=BLOCK_CIPHER_KEY,
        authentication_key=AUTHENTICATION_KEY,
    )
    server = SecurityContext(
        system_title=SERVER_TITLE,
        peer_system_title=CLIENT_TITLE,
        block_cipher_key=BLOCK_CIPHER_KEY,
        authentication_key=AUTHENTICATION_KEY,
    )
    return client, server


def test_full_exchange_both_roles() -> None:
    client, server = _contexts()
    server.advance_invocation_counter(0x01234567)
    pass3 = client.hls_gmac(STOC)  # client: f(StoC)
    action = client.protect(bytes.fromhex("C301C1000F0000280000FF0101") + b"\x09\x11" + pass3)
    # the ACTION carrying pass 3 has the next counter (as gurux-dlms does)
    assert CipheredApdu.decode(action).invocation_counter == int.from_bytes(pass3[1:5], "big") + 1
    server.unprotect(action)
    server.verify_hls_gmac(pass3, STOC)  # server: checks f(StoC) after the ACTION's counter
    pass4 = server.hls_gmac(CTOS)  # server: f(CtoS)
    assert pass4[1:5] == (0x01234567).to_bytes(4, "big")
    client.verify_hls_gmac(pass4, CTOS)  # client: checks pass 4
    verify_server_pass4(
        MechanismName.HIGH_GMAC,
        BLOCK_CIPHER_KEY,
        pass4,
        client_challenge=CTOS,
        server_system_title=SERVER_TITLE,
        authentication_key=AUTHENTICATION_KEY,
    )
    assert pass4 == server_pass4(
        MechanismName.HIGH_GMAC,
        BLOCK_CIPHER_KEY,
        client_challenge=CTOS,
        server_system_title=SERVER_TITLE,
        invocation_counter=0x01234567,
        authentication_key=AUTHENTICATION_KEY,
    )


def test_wrong_answers_fail() -> None:
    client, server = _contexts()
    pass4 = server.hls_gmac(CTOS)
    with pytest.raises(AuthenticationError, match="authentication tag mismatch"):
        client.verify_hls_gmac(pass4, STOC)  # the answer to another challenge
    with pytest.raises(AuthenticationError, match="authentication tag mismatch"):
        client.verify_hls_gmac(client.hls_gmac(CTOS), CTOS)  # a reflection of our own title
    wrong_key = SecurityContext(
        system_title=CLIENT_TITLE,
        peer_system_title=SERVER_TITLE,
        block_cipher_key=BLOCK_CIPHER_KEY,
        authentication_key=bytes(16),
    )
    with pytest.raises(AuthenticationError, match="check the authentication key"):
        wrong_key.verify_hls_gmac(pass4, CTOS)
    for bad in (b"", pass4[:-1], b"\x30" + pass4[1:], pass4 + b"\x00"):
        with pytest.raises(AuthenticationError, match="malformed"):
            client.verify_hls_gmac(bad, CTOS)
    with pytest.raises(AuthenticationError, match="HLS pass 4 failed"):
        verify_server_pass4(
            MechanismName.HIGH_GMAC,
            bytes(16),
            pass4,
            client_challenge=CTOS,
            server_system_title=SERVER_TITLE,
            authentication_key=AUTHENTICATION_KEY,
        )
    nameless = SecurityContext(
        system_title=CLIENT_TITLE, block_cipher_key=BLOCK_CIPHER_KEY, authentication_key=bytes(16)
    )
    with pytest.raises(DecipheringError, match="peer system title"):
        nameless.verify_hls_gmac(pass4, CTOS)


def test_registry_function_needs_its_inputs() -> None:
    function = hls_function(MechanismName.HIGH_GMAC)
    with pytest.raises(AuthenticationError, match="invocation counter"):
        function(BLOCK_CIPHER_KEY, HlsInput(STOC, own_system_title=CLIENT_TITLE))
    with pytest.raises(AuthenticationError, match="system title"):
        function(
            BLOCK_CIPHER_KEY,
            HlsInput(STOC, invocation_counter=1, authentication_key=Secret(AUTHENTICATION_KEY)),
        )
    data = HlsInput(
        STOC,
        own_system_title=CLIENT_TITLE,
        invocation_counter=1,
        authentication_key=Secret(AUTHENTICATION_KEY),
    )
    assert AUTHENTICATION_KEY.hex() not in repr(data).lower()
    with pytest.raises(EncodeError):
        function(bytes(15), data)
    with pytest.raises(EncodeError):
        gmac_authentication_value(BLOCK_CIPHER_KEY, AUTHENTICATION_KEY, b"short", 1, STOC)
    with pytest.raises(EncodeError):
        gmac_authentication_value(BLOCK_CIPHER_KEY, AUTHENTICATION_KEY, CLIENT_TITLE, -1, STOC)
    value = gmac_authentication_value(
        AESGCM(BLOCK_CIPHER_KEY), AUTHENTICATION_KEY, CLIENT_TITLE, 9, STOC
    )
    assert (
        verify_gmac_authentication_value(
            BLOCK_CIPHER_KEY, AUTHENTICATION_KEY, CLIENT_TITLE, value, STOC
        )
        == 9
    )
