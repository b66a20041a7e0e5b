"""HLS-ECDSA pass 3/4 (mechanism 7) and the ciphering of suites 1 and 2, checked against
``cryptography`` used directly: the signed concatenations (client: SysT-C || SysT-S || StoC ||
CtoS; server: SysT-S || SysT-C || CtoS || StoC, as in the Green Book and gurux's GXSecure),
raw ``r || s`` signatures, the suite id in the security control byte, AES-GCM-256 with 32-byte
keys, and the refusal of APDUs of another suite."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from asyncdlms.errors import AuthenticationError, EncodeError, SecurityPolicyError
from asyncdlms.security.ciphering import (
    SecurityContext,
    cipher,
    decipher,
    suite_key_length,
)
from asyncdlms.security.counters import CipheringKey, key_identity
from asyncdlms.security.hls import (
    ecdsa_client_pass3,
    ecdsa_server_pass4,
    verify_ecdsa_client_pass3,
    verify_ecdsa_server_pass4,
)
from asyncdlms.session.server import ServerSecurity
from asyncdlms.session.settings import ClientSecurity

from .pki import HASHES, key

CLIENT_TITLE = bytes.fromhex("4142430000000001")
SERVER_TITLE = bytes.fromhex("4D4D4D0000BC614E")
CTOS = bytes.fromhex("2A5B6C7D8E9F0A1B2C3D4E5F60718293")
STOC = bytes.fromhex("0102030405060708090A0B0C0D0E0F1011121314151617181920212223242526")
TITLES = {"client_system_title": CLIENT_TITLE, "server_system_title": SERVER_TITLE}
CHALLENGES = {"server_challenge": STOC, "client_challenge": CTOS}


def _verify_raw(
    public: ec.EllipticCurvePublicKey, signature: bytes, data: bytes, suite: int
) -> None:
    size = len(signature) // 2
    der = encode_dss_signature(
        int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
    )
    public.verify(der, data, ec.ECDSA(HASHES[suite]()))


@pytest.mark.parametrize("suite", [1, 2])
def test_pass3_and_pass4_sign_the_green_book_concatenations(suite: int) -> None:
    client_key, server_key = key(suite), key(suite)
    pass3 = ecdsa_client_pass3(client_key, suite, **TITLES, **CHALLENGES)
    pass4 = ecdsa_server_pass4(server_key, suite, **TITLES, **CHALLENGES)
    assert len(pass3) == len(pass4) == {1: 64, 2: 96}[suite]
    _verify_raw(client_key.public_key(), pass3, CLIENT_TITLE + SERVER_TITLE + STOC + CTOS, suite)
    _verify_raw(server_key.public_key(), pass4, SERVER_TITLE + CLIENT_TITLE + CTOS + STOC, suite)
    verify_ecdsa_client_pass3(client_key.public_key(), suite, pass3, **TITLES, **CHALLENGES)
    verify_ecdsa_server_pass4(server_key.public_key(), suite, pass4, **TITLES, **CHALLENGES)


@pytest.mark.parametrize("suite", [1, 2])
def test_a_signature_made_by_cryptography_is_accepted(suite: int) -> None:
    """Interoperability the other way: a signature made outside asyncdlms (DER from
    cryptography, turned into r || s here) verifies."""
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    client_key = key(suite)
    der = client_key.sign(CLIENT_TITLE + SERVER_TITLE + STOC + CTOS, ec.ECDSA(HASHES[suite]()))
    r, s = decode_dss_signature(der)
    size = {1: 32, 2: 48}[suite]
    raw = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    verify_ecdsa_client_pass3(client_key.public_key(), suite, raw, **TITLES, **CHALLENGES)


def test_tampered_swapped_or_foreign_signatures_are_refused() -> None:
    client_key = key(1)
    pass3 = ecdsa_client_pass3(client_key, 1, **TITLES, **CHALLENGES)
    tampered = bytes([pass3[0] ^ 1]) + pass3[1:]
    with pytest.raises(AuthenticationError, match="pass 3 failed"):
        verify_ecdsa_client_pass3(client_key.public_key(), 1, tampered, **TITLES, **CHALLENGES)
    with pytest.raises(AuthenticationError, match="pass 3 failed"):
        verify_ecdsa_client_pass3(key(1).public_key(), 1, pass3, **TITLES, **CHALLENGES)
    # the server's concatenation is another one: the client's signature is no pass 4
    with pytest.raises(AuthenticationError, match="pass 4 failed"):
        verify_ecdsa_server_pass4(client_key.public_key(), 1, pass3, **TITLES, **CHALLENGES)
    swapped = {"server_challenge": CTOS, "client_challenge": STOC}
    with pytest.raises(AuthenticationError):
        verify_ecdsa_client_pass3(client_key.public_key(), 1, pass3, **TITLES, **swapped)
    with pytest.raises(AuthenticationError, match="96 bytes"):
        verify_ecdsa_client_pass3(key(2).public_key(), 2, pass3, **TITLES, **CHALLENGES)
    with pytest.raises(AuthenticationError, match="secp384r1"):
        verify_ecdsa_client_pass3(key(2).public_key(), 1, pass3, **TITLES, **CHALLENGES)
    with pytest.raises(AuthenticationError, match="both system titles"):
        ecdsa_client_pass3(
            client_key, 1, client_system_title=CLIENT_TITLE, server_system_title=b"",
            **CHALLENGES,
        )  # fmt: skip


# -- suites 1 and 2 ciphering ----------------------------------------------------------------

KEYS = {
    1: (bytes(range(16)), bytes(range(16, 32))),
    2: (bytes(range(32)), bytes(range(32, 64))),
}


@pytest.mark.parametrize("suite", [0, 1, 2])
def test_the_security_control_byte_names_the_suite_and_aes_gcm_matches(suite: int) -> None:
    ek, ak = KEYS.get(suite, KEYS[1])
    assert suite_key_length(suite) == len(ek)
    sender = SecurityContext(
        system_title=CLIENT_TITLE, block_cipher_key=ek, authentication_key=ak, suite=suite
    )
    apdu = bytes.fromhex("C001C100080000010000FF0200")
    protected = sender.protect(apdu)
    assert protected[0] == 0xC8
    content = protected[2:]
    assert content[0] == 0x30 | suite
    counter = content[1:5]
    # AES-GCM-128/256 by cryptography directly: IV = title || IC, AAD = SC || AK, 12-byte tag
    sealed = AESGCM(ek).encrypt(CLIENT_TITLE + counter, apdu, bytes([0x30 | suite]) + ak)
    assert content[5:] == sealed[:-16] + sealed[-16:-4]
    receiver = SecurityContext(
        system_title=SERVER_TITLE,
        block_cipher_key=ek,
        authentication_key=ak,
        peer_system_title=CLIENT_TITLE,
        suite=suite,
    )
    assert receiver.unprotect(protected) == apdu


@settings(max_examples=30, deadline=None)
@given(
    plaintext=st.binary(min_size=1, max_size=300),
    policy=st.sampled_from([0x10, 0x20, 0x30]),
    counter=st.integers(0, 0xFFFF_FFFF),
)
def test_suite_2_one_shot_cipher_round_trips(plaintext: bytes, policy: int, counter: int) -> None:
    ek, ak = KEYS[2]
    content = cipher(
        plaintext,
        security_control=policy | 2,
        system_title=SERVER_TITLE,
        invocation_counter=counter,
        block_cipher_key=ek,
        authentication_key=ak,
    )
    assert content[0] == policy | 2
    assert (
        decipher(
            content,
            system_title=SERVER_TITLE,
            block_cipher_key=ek,
            authentication_key=ak,
            security_suites=(2,),
        )
        == plaintext
    )


def test_an_apdu_of_another_suite_is_refused_naming_the_suite_expected() -> None:
    ek, ak = KEYS[1]
    suite_0 = SecurityContext(system_title=CLIENT_TITLE, block_cipher_key=ek, authentication_key=ak)
    suite_1 = SecurityContext(
        system_title=SERVER_TITLE,
        block_cipher_key=ek,
        authentication_key=ak,
        peer_system_title=CLIENT_TITLE,
        suite=1,
    )
    expected = "names security suite 0; this context uses suite 1"
    with pytest.raises(SecurityPolicyError, match=expected):
        suite_1.unprotect(suite_0.protect(bytes.fromhex("C001C100080000010000FF0200")))


def test_key_lengths_are_checked_against_the_suite() -> None:
    ek16, ak16 = KEYS[1]
    ek32, ak32 = KEYS[2]
    with pytest.raises(EncodeError, match="security suite 2 is 32 bytes long, not 16"):
        SecurityContext(
            system_title=CLIENT_TITLE, block_cipher_key=ek16, authentication_key=ak16, suite=2
        )
    with pytest.raises(ValueError, match="security suite 2 is 32 bytes long, not 16"):
        ClientSecurity(CLIENT_TITLE, ek16, ak16, suite=2)
    with pytest.raises(ValueError, match="security suite 1 is 16 bytes long, not 32"):
        ServerSecurity(ek32, ak32, suite=1)
    with pytest.raises(ValueError, match="unknown security suite 3"):
        ClientSecurity(CLIENT_TITLE, ek16, ak16, suite=3)  # type: ignore[arg-type]
    security = ClientSecurity(CLIENT_TITLE, ek32, ak32, "ae", suite=2)
    assert "0001020304" not in repr(security)
    context = security.make_context()
    assert context.suite == 2 and "suite=2" in repr(context)


def test_counter_identities_fingerprint_32_byte_keys() -> None:
    ek32 = KEYS[2][0]
    one = key_identity(CipheringKey.GLOBAL_UNICAST_ENCRYPTION, ek32)
    other = key_identity(CipheringKey.GLOBAL_UNICAST_ENCRYPTION, ek32[:-1] + b"\x00")
    prefix = key_identity(CipheringKey.GLOBAL_UNICAST_ENCRYPTION, ek32[:16])
    assert len({one, other, prefix}) == 3
    assert ek32.hex() not in repr(one)


@pytest.mark.parametrize("suite", [1, 2])
def test_security_setup_key_agreement_c2e0s(suite: int) -> None:
    """Both sides derive the same key: Hash(00000001 || Z || AlgorithmID || SysT-C ||
    SysT-S) truncated to the suite's key length, Z the x coordinate of the ephemeral ECDH
    (computed here with hashlib and cryptography directly); a tampered offer is refused."""
    import hashlib

    from asyncdlms.security.setup_key_agreement import derive_key, make_offer, read_offer
    from asyncdlms.security.suites import SignatureError

    client_signing, server_signing = key(suite), key(suite)
    client_ephemeral, client_offer = make_offer(client_signing, 2, suite)
    server_ephemeral, server_offer = make_offer(server_signing, 2, suite)
    client_public = read_offer(client_offer, 2, client_signing.public_key(), suite)
    server_public = read_offer(server_offer, 2, server_signing.public_key(), suite)
    at_client = derive_key(client_ephemeral, server_public, suite, CLIENT_TITLE, SERVER_TITLE)
    at_server = derive_key(server_ephemeral, client_public, suite, CLIENT_TITLE, SERVER_TITLE)
    assert at_client == at_server
    shared = client_ephemeral.exchange(ec.ECDH(), server_ephemeral.public_key())
    digest = {1: hashlib.sha256, 2: hashlib.sha384}[suite]
    algorithm = bytes.fromhex("60857405080300" if suite == 1 else "60857405080301")
    expected = digest(b"\x00\x00\x00\x01" + shared + algorithm + CLIENT_TITLE + SERVER_TITLE)
    assert at_client.value == expected.digest()[: {1: 16, 2: 32}[suite]]
    with pytest.raises(SignatureError):  # the offer was for another key id
        read_offer(client_offer, 0, client_signing.public_key(), suite)
    with pytest.raises(SignatureError):
        read_offer(client_offer, 2, server_signing.public_key(), suite)
