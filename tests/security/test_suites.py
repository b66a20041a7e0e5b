"""Public-key primitives of security suites 1 and 2 (asyncdlms.security.suites)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncdlms.security.suites import (
    SecuritySuiteId,
    SignatureError,
    ecdh_shared_secret,
    ecdsa_sign,
    ecdsa_verify,
    generate_private_key,
    key_derivation,
    private_key_from_bytes,
    private_key_to_bytes,
    public_key_from_bytes,
    public_key_to_bytes,
    suite_parameters,
)

ASYMMETRIC = [SecuritySuiteId.SUITE_1, SecuritySuiteId.SUITE_2]

# RFC 5903, 8.1: ECDH over P-256 (an independent published vector).
RFC5903_I = "C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433"
RFC5903_GI = (
    "DAD0B65394221CF9B051E1FECA5787D098DFE637FC90B9EF945D0C3772581180"
    "5271A0461CDB8252D61F1C456FA3E59AB1F45B33ACCF5F58389E0577B8990BB3"
)
RFC5903_R = "C6EF9C5D78AE012A011164ACB397CE2088685D8F06BF9BE0B283AB46476BEE53"
RFC5903_GR = (
    "D12DFB5289C8D4F81208B70270398C342296970A0BCCB74C736FC7554494BF63"
    "56FBF3CA366CC23E8157854C13C58D6AAC23F046ADA30F8353E74F33039872AB"
)
RFC5903_GIR = "D6840F6B42F6EDAFD13116E0E12565202FEF8E9ECE7DCE03812464D04B9442DE"


def test_suite_table() -> None:
    assert suite_parameters(0).key_length == 16 and not suite_parameters(0).asymmetric
    one, two = suite_parameters(1), suite_parameters(2)
    assert (one.key_length, one.public_key_length, one.signature_length) == (16, 64, 64)
    assert (two.key_length, two.public_key_length, two.signature_length) == (32, 96, 96)
    with pytest.raises(ValueError, match="suites 0, 1 and 2"):
        suite_parameters(3)
    with pytest.raises(ValueError, match="no public-key"):
        generate_private_key(0)


def test_rfc5903_p256_key_agreement() -> None:
    initiator = private_key_from_bytes(bytes.fromhex(RFC5903_I), 1)
    responder = private_key_from_bytes(bytes.fromhex(RFC5903_R), 1)
    assert public_key_to_bytes(initiator).hex().upper() == RFC5903_GI
    assert public_key_to_bytes(responder).hex().upper() == RFC5903_GR
    peer = public_key_from_bytes(bytes.fromhex(RFC5903_GR), 1)
    assert ecdh_shared_secret(initiator, peer, 1).hex().upper() == RFC5903_GIR
    back = public_key_from_bytes(bytes.fromhex(RFC5903_GI), 1)
    assert ecdh_shared_secret(responder, back, 1).hex().upper() == RFC5903_GIR


@pytest.mark.parametrize("suite", ASYMMETRIC)
def test_sign_verify_and_tamper(suite: SecuritySuiteId) -> None:
    key = generate_private_key(suite)
    public = public_key_from_bytes(public_key_to_bytes(key), suite)
    signature = ecdsa_sign(key, b"data to sign", suite)
    assert len(signature) == suite_parameters(suite).signature_length
    ecdsa_verify(public, b"data to sign", signature, suite)
    with pytest.raises(SignatureError, match="does not verify"):
        ecdsa_verify(public, b"data to sigN", signature, suite)
    flipped = bytes([signature[0] ^ 1]) + signature[1:]
    with pytest.raises(SignatureError):
        ecdsa_verify(public, b"data to sign", flipped, suite)
    with pytest.raises(SignatureError, match="bytes"):
        ecdsa_verify(public, b"data to sign", signature[:-1], suite)
    other = generate_private_key(suite)
    with pytest.raises(SignatureError):
        ecdsa_verify(other.public_key(), b"data to sign", signature, suite)


def test_keys_of_another_suite_are_refused() -> None:
    key = generate_private_key(1)
    with pytest.raises(ValueError, match="secp384r1"):
        ecdsa_sign(key, b"x", 2)
    with pytest.raises(ValueError, match="96 bytes"):
        public_key_from_bytes(public_key_to_bytes(key), 2)


def test_points_off_the_curve_are_refused() -> None:
    raw = bytearray(bytes.fromhex(RFC5903_GI))
    raw[-1] ^= 1
    with pytest.raises(ValueError, match="not a point"):
        public_key_from_bytes(bytes(raw), 1)


@pytest.mark.parametrize("suite", ASYMMETRIC)
def test_private_key_round_trip_and_sec1_prefix(suite: SecuritySuiteId) -> None:
    key = generate_private_key(suite)
    raw = private_key_to_bytes(key)
    assert private_key_to_bytes(private_key_from_bytes(raw, suite)) == raw
    public = public_key_to_bytes(key)
    assert public_key_to_bytes(public_key_from_bytes(b"\x04" + public, suite)) == public


@pytest.mark.parametrize("suite", ASYMMETRIC)
@given(z=st.binary(min_size=1, max_size=64), other_info=st.binary(max_size=64))
def test_kdf_is_the_sp800_56a_concatenation(
    suite: SecuritySuiteId, z: bytes, other_info: bytes
) -> None:
    name = "sha256" if suite == SecuritySuiteId.SUITE_1 else "sha384"
    expected = hashlib.new(name, b"\x00\x00\x00\x01" + z + other_info).digest()
    length = suite_parameters(suite).key_length
    assert key_derivation(z, other_info, suite) == expected[:length]
