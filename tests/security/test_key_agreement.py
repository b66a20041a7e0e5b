"""Key agreement of suites 1 and 2 for general-ciphering (asyncdlms.security.key_agreement).

No worked example of the Green Book's C(1e, 1s) / C(0e, 2s) key agreement could be found in
the public material searched, so the derived keys are checked against an independent
computation: the published ECDH values of RFC 5903 (P-256 and P-384) and the single-step KDF
written out with hashlib (``Hash(00000001 || Z || OtherInfo)``), not with the ConcatKDF of
``cryptography`` the module uses.
"""

from __future__ import annotations

import hashlib

import pytest

from asyncdlms.apdu.general_protection import AgreedKey, KeyAgreementScheme
from asyncdlms.errors import DecipheringError, EncodeError
from asyncdlms.security.key_agreement import (
    AES_GCM_128_ALGORITHM_ID,
    AES_GCM_256_ALGORITHM_ID,
    algorithm_id,
    derive_one_pass_diffie_hellman,
    derive_static_unified_model,
    one_pass_diffie_hellman,
    other_info,
    static_unified_model,
)
from asyncdlms.security.suites import (
    SignatureError,
    generate_private_key,
    private_key_from_bytes,
    public_key_to_bytes,
)

ORIGINATOR = bytes.fromhex("4D4D4D0000BC614E")
RECIPIENT = bytes.fromhex("4D4D4D0000000001")

# RFC 5903, 8.1 (P-256) and 8.2 (P-384): private keys i, r and the shared x coordinate.
RFC5903 = {
    1: (
        "C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433",
        "C6EF9C5D78AE012A011164ACB397CE2088685D8F06BF9BE0B283AB46476BEE53",
        "D6840F6B42F6EDAFD13116E0E12565202FEF8E9ECE7DCE03812464D04B9442DE",
    ),
    2: (
        "099F3C7034D4A2C699884D73A375A67F7624EF7C6B3C0F160647B67414DCE655"
        "E35B538041E649EE3FAEF896783AB194",
        "41CB0779B4BDB85D47846725FBEC3C9430FAB46CC8DC5060855CC9BDA0AA2942"
        "E0308312916B8ED2960E4BD55A7448FC",
        "11187331C279962D93D604243FD592CB9D0A926F422E47187521287E7156C5C4"
        "D603135569B9E9D09CF5D4A270F59746",
    ),
}


def _independent_kdf(suite: int, z: bytes, info: bytes) -> bytes:
    hash_name, size = ("sha256", 16) if suite == 1 else ("sha384", 32)
    return hashlib.new(hash_name, b"\x00\x00\x00\x01" + z + info).digest()[:size]


def test_algorithm_ids() -> None:
    assert algorithm_id(1) == AES_GCM_128_ALGORITHM_ID == bytes.fromhex("60857405080300")
    assert algorithm_id(2) == AES_GCM_256_ALGORITHM_ID == bytes.fromhex("60857405080301")
    with pytest.raises(EncodeError, match="suite 1 or 2"):
        algorithm_id(0)


def test_other_info_layout() -> None:
    one_pass = other_info(KeyAgreementScheme.ONE_PASS_DIFFIE_HELLMAN, 1, ORIGINATOR, RECIPIENT)
    assert one_pass == bytes.fromhex("60857405080300") + ORIGINATOR + RECIPIENT
    static = other_info(
        KeyAgreementScheme.STATIC_UNIFIED_MODEL, 2, ORIGINATOR, RECIPIENT, bytes(7) + b"\x05"
    )
    assert static == (
        bytes.fromhex("60857405080301") + ORIGINATOR + b"\x08" + bytes(7) + b"\x05" + RECIPIENT
    )
    with pytest.raises(EncodeError, match="8 bytes"):
        other_info(KeyAgreementScheme.ONE_PASS_DIFFIE_HELLMAN, 1, b"short", RECIPIENT)


@pytest.mark.parametrize("suite", [1, 2])
def test_one_pass_diffie_hellman_against_rfc5903(suite: int) -> None:
    ephemeral_hex, static_hex, z_hex = RFC5903[suite]
    ephemeral = private_key_from_bytes(bytes.fromhex(ephemeral_hex), suite)
    recipient = private_key_from_bytes(bytes.fromhex(static_hex), suite)
    signing = generate_private_key(suite)
    result = one_pass_diffie_hellman(
        suite=suite,
        originator_system_title=ORIGINATOR,
        recipient_system_title=RECIPIENT,
        recipient_key_agreement_key=recipient.public_key(),
        signing_key=signing,
        ephemeral_key=ephemeral,
    )
    info = algorithm_id(suite) + ORIGINATOR + RECIPIENT
    expected = _independent_kdf(suite, bytes.fromhex(z_hex), info)
    assert result.key.value == expected
    assert "****" in repr(result) and expected.hex() not in repr(result)
    agreed = result.agreed_key
    assert agreed.key_parameters == b"\x01"
    size = 64 if suite == 1 else 96
    assert agreed.key_ciphered_data[:size] == public_key_to_bytes(ephemeral)
    assert len(agreed.key_ciphered_data) == 2 * size
    # the recipient derives the same key from its static private key
    derived = derive_one_pass_diffie_hellman(
        agreed,
        suite=suite,
        originator_system_title=ORIGINATOR,
        recipient_system_title=RECIPIENT,
        key_agreement_key=recipient,
        originator_signing_key=signing.public_key(),
    )
    assert derived.value == expected


@pytest.mark.parametrize("suite", [1, 2])
def test_ephemeral_key_signature_is_checked(suite: int) -> None:
    recipient = generate_private_key(suite)
    signing = generate_private_key(suite)
    result = one_pass_diffie_hellman(
        suite=suite,
        originator_system_title=ORIGINATOR,
        recipient_system_title=RECIPIENT,
        recipient_key_agreement_key=recipient.public_key(),
        signing_key=signing,
    )
    data = result.agreed_key.key_ciphered_data
    # an attacker's ephemeral key with the genuine signature, the genuine key signed by
    # someone else, a truncated field
    attacker = public_key_to_bytes(generate_private_key(suite))
    size = len(attacker)
    for tampered, error in (
        (attacker + data[size:], SignatureError),
        (data[:size] + bytes([data[size] ^ 1]) + data[size + 1 :], SignatureError),
        (data[:-1], DecipheringError),
    ):
        with pytest.raises(error):
            derive_one_pass_diffie_hellman(
                AgreedKey(b"\x01", tampered),
                suite=suite,
                originator_system_title=ORIGINATOR,
                recipient_system_title=RECIPIENT,
                key_agreement_key=recipient,
                originator_signing_key=signing.public_key(),
            )
    with pytest.raises(SignatureError):
        derive_one_pass_diffie_hellman(
            result.agreed_key,
            suite=suite,
            originator_system_title=ORIGINATOR,
            recipient_system_title=RECIPIENT,
            key_agreement_key=recipient,
            originator_signing_key=generate_private_key(suite).public_key(),
        )


@pytest.mark.parametrize("suite", [1, 2])
def test_static_unified_model_against_rfc5903(suite: int) -> None:
    originator_hex, recipient_hex, z_hex = RFC5903[suite]
    originator = private_key_from_bytes(bytes.fromhex(originator_hex), suite)
    recipient = private_key_from_bytes(bytes.fromhex(recipient_hex), suite)
    transaction_id = (0x1234).to_bytes(8, "big")
    result = static_unified_model(
        suite=suite,
        originator_system_title=ORIGINATOR,
        recipient_system_title=RECIPIENT,
        transaction_id=transaction_id,
        key_agreement_key=originator,
        peer_key_agreement_key=recipient.public_key(),
    )
    info = algorithm_id(suite) + ORIGINATOR + b"\x08" + transaction_id + RECIPIENT
    expected = _independent_kdf(suite, bytes.fromhex(z_hex), info)
    assert result.key.value == expected
    assert result.agreed_key == AgreedKey(b"\x02", b"")
    derived = derive_static_unified_model(
        suite=suite,
        originator_system_title=ORIGINATOR,
        recipient_system_title=RECIPIENT,
        transaction_id=transaction_id,
        key_agreement_key=recipient,
        originator_key_agreement_key=originator.public_key(),
    )
    assert derived.value == expected
    # another transaction-id gives another key
    other = derive_static_unified_model(
        suite=suite,
        originator_system_title=ORIGINATOR,
        recipient_system_title=RECIPIENT,
        transaction_id=(0x1235).to_bytes(8, "big"),
        key_agreement_key=recipient,
        originator_key_agreement_key=originator.public_key(),
    )
    assert other.value != expected
    with pytest.raises(EncodeError, match="transaction-id"):
        static_unified_model(
            suite=suite,
            originator_system_title=ORIGINATOR,
            recipient_system_title=RECIPIENT,
            transaction_id=b"",
            key_agreement_key=originator,
            peer_key_agreement_key=recipient.public_key(),
        )


def test_keys_of_another_curve_are_refused() -> None:
    with pytest.raises(ValueError, match=r"uses secp256r1"):
        static_unified_model(
            suite=1,
            originator_system_title=ORIGINATOR,
            recipient_system_title=RECIPIENT,
            transaction_id=b"\x01",
            key_agreement_key=generate_private_key(2),
            peer_key_agreement_key=generate_private_key(1).public_key(),
        )
