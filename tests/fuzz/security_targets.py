"""Fuzz targets of the ACCESS service and of general-signing / general-ciphering (security
suites 1 and 2): the decoders, and the verification/deciphering functions on random input
with fixed keys (a signature or tag that passes on bytes not made with the key is a finding,
like any exception other than a :class:`~asyncdlms.errors.DlmsError`)."""

from __future__ import annotations

import contextlib
import functools

from cryptography.hazmat.primitives.asymmetric import ec

from asyncdlms.apdu.access import AccessRequest, AccessResponse, decode_access_apdu
from asyncdlms.apdu.general_protection import AgreedKey, GeneralCiphering, GeneralSigning
from asyncdlms.errors import DlmsError
from asyncdlms.security.counters import MemoryInvocationCounterStore
from asyncdlms.security.general import (
    GeneralCipheringKeys,
    GlobalKey,
    OnePassDiffieHellman,
    cipher_general,
    decipher_general,
    sign_apdu,
    verify_signed_apdu,
)
from asyncdlms.security.hls import Secret

__all__ = ["ACCESS_SEEDS", "fuzz_access", "fuzz_general", "general_seeds"]

_ORIGINATOR = bytes.fromhex("4D4D4D0000BC614E")
_RECIPIENT = bytes.fromhex("4142434445464748")
_GUEK = bytes(range(16))
_GAK = bytes(range(16, 32))


@functools.cache
def _keys() -> tuple[ec.EllipticCurvePrivateKey, ec.EllipticCurvePrivateKey]:
    """The originator's signing key and the recipient's key agreement key (P-256, fixed
    scalars: the same seeds every run)."""
    curve = ec.SECP256R1()
    return ec.derive_private_key(0x1234567, curve), ec.derive_private_key(0x7654321, curve)


def _recipient_keys(apdu: bytes) -> GeneralCipheringKeys:
    """The recipient's keys; the authentication key enters the AAD with a global key only
    (an agreed key is authenticated by the key agreement), as asyncdlms.listen does."""
    signing, agreement = _keys()
    try:
        agreed = isinstance(GeneralCiphering.decode(apdu).key_info, AgreedKey)
    except DlmsError:
        agreed = False
    return GeneralCipheringKeys(
        system_title=_RECIPIENT,
        block_cipher_key=Secret(_GUEK),
        authentication_key=None if agreed else Secret(_GAK),
        key_agreement_key=agreement,
        signing_key_for=lambda title: signing.public_key() if title == _ORIGINATOR else None,
    )


def _flip(data: bytes, mode: int) -> bytes:
    position = (mode * 37) % len(data)
    flipped = bytearray(data)
    flipped[position] ^= 1 << (mode % 8)
    return bytes(flipped)


def fuzz_access(data: bytes) -> object:
    """ACCESS-Request / -Response decoding; what decodes encodes and decodes the same."""
    decoded = decode_access_apdu(data)
    again: AccessRequest | AccessResponse = type(decoded).decode(decoded.encode())
    assert again == decoded, "ACCESS APDU changed through encode/decode"
    return decoded


def fuzz_general(data: bytes) -> object:
    """General-signing and general-ciphering with fixed suite 1 keys.

    Mode 0: the input is a received general-signing APDU (decode, verify).
    Mode 1: the input is a received general-ciphering APDU (decode, decipher).
    Mode 2: the input is signed, verified (the content comes back), one bit flipped: refused.
    Mode 3: the input is ciphered under the global key and under a One-Pass Diffie-Hellman
    agreed key, deciphered (the plaintext comes back), one bit flipped: refused.
    """
    if not data:
        return None
    mode, rest = data[0], data[1:]
    signing, agreement = _keys()
    store = MemoryInvocationCounterStore()
    if mode % 4 == 0:
        with contextlib.suppress(DlmsError):
            GeneralSigning.decode(rest)
        return verify_signed_apdu(
            rest, lambda title: signing.public_key(), 1, counter_store=store, check_replay=False
        )
    if mode % 4 == 1:
        with contextlib.suppress(DlmsError):
            GeneralCiphering.decode(rest)
        return decipher_general(rest, _recipient_keys(rest), counter_store=store)
    if not rest:
        return None
    if mode % 4 == 2:
        signed = sign_apdu(rest, _ORIGINATOR, _RECIPIENT, signing, 1, counter_store=store)
        verified = verify_signed_apdu(
            signed, lambda title: signing.public_key(), 1, counter_store=store
        )
        assert verified.content == rest, "the signed content did not come back"
        try:
            forged = verify_signed_apdu(
                _flip(signed, mode),
                lambda title: signing.public_key(),
                1,
                counter_store=MemoryInvocationCounterStore(),
            )
        except DlmsError:
            return verified
        raise AssertionError(f"a general-signing APDU with a flipped bit verified: {forged!r}")
    sources = (
        GlobalKey(_GUEK),
        OnePassDiffieHellman(agreement.public_key(), signing),
    )
    key = sources[(mode >> 2) % 2]
    ciphered = cipher_general(
        rest,
        originator_system_title=_ORIGINATOR,
        recipient_system_title=_RECIPIENT,
        suite=1,
        key=key,
        authentication_key=_GAK if isinstance(key, GlobalKey) else None,
        counter_store=store,
    )
    plain = decipher_general(
        ciphered, _recipient_keys(ciphered), counter_store=MemoryInvocationCounterStore()
    )
    assert plain.apdu == rest, "deciphering did not give back the plaintext"
    try:
        flipped = _flip(ciphered, mode)
        forged_plain = decipher_general(
            flipped, _recipient_keys(flipped), counter_store=MemoryInvocationCounterStore()
        )
    except DlmsError:
        return plain
    raise AssertionError(
        f"a general-ciphering APDU with a flipped bit deciphered: {forged_plain!r}"
    )


def general_seeds() -> tuple[bytes, ...]:
    """Valid general-signing and general-ciphering APDUs (the mode byte in front) and
    plaintexts for the round-trip modes."""
    signing, agreement = _keys()
    notification = bytes.fromhex("0F00000001001107")
    signed = sign_apdu(notification, _ORIGINATOR, _RECIPIENT, signing, 1, transaction_id=bytes(8))
    ciphered = [
        cipher_general(
            notification,
            originator_system_title=_ORIGINATOR,
            recipient_system_title=_RECIPIENT,
            suite=1,
            key=key,
            authentication_key=_GAK if isinstance(key, GlobalKey) else None,
            counter_store=MemoryInvocationCounterStore(),
            random=lambda n: bytes(range(n)),
        )
        for key in (GlobalKey(_GUEK), OnePassDiffieHellman(agreement.public_key(), signing))
    ]
    return (
        b"\x00" + signed,
        *(b"\x01" + c for c in ciphered),
        b"\x02" + notification,
        b"\x03" + notification,
        b"\x07" + notification,
    )


ACCESS_SEEDS: tuple[bytes, ...] = (
    # ACCESS-Request: long-invoke-id, no date-time, get of 3/1.0.1.8.0.255/2, no data
    bytes.fromhex("D9 40000001 00 01 01 0003 0100010800FF 02 00"),
    # ACCESS-Response: no date-time, one value, one get result success
    bytes.fromhex("DA 40000001 00 00 01 0600000001 01 01 00"),
)
