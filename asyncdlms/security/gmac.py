"""HLS-GMAC (authentication mechanism 5) pass 3 and pass 4 values, security suites 0, 1, 2.

The party that proves itself answers the peer's challenge with
``f(challenge) = SC ‖ IC ‖ GMAC``, where SC is 0x10 | suite id (authentication only: 0x10 in
suite 0, 0x11 in suite 1, 0x12 in suite 2; Green Book 9.2.7.4), IC a fresh
invocation counter of its global unicast key, and GMAC the first 12 bytes of the AES-GCM tag
with the block cipher key over an empty plaintext, ``IV = own system title ‖ IC`` and
``AAD = SC ‖ authentication key ‖ challenge`` (Green Book example: client system title
4D4D4D0000000001, IC 1, StoC 503677524A323146 → tag 1A52FE7DD3E72748973C1E28). Suites 0
and 1 use AES-GCM-128 with 16-byte keys, suite 2 AES-GCM-256 with 32-byte keys; the suite id
in SC is authenticated (it is the first byte of the AAD), so a value of another suite fails.

The client sends f(StoC) in pass 3 (reply_to_HLS_authentication) and checks the server's
f(CtoS) in pass 4 with the server's system title and the counter the server put in it.
"""

from __future__ import annotations

import hmac

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import AuthenticationError, EncodeError

__all__ = [
    "GMAC_AUTHENTICATION_VALUE_LENGTH",
    "GMAC_SECURITY_CONTROL",
    "gmac_authentication_value",
    "gmac_security_control",
    "verify_gmac_authentication_value",
]

GMAC_SECURITY_CONTROL = 0x10
"""Security control of an HLS-GMAC value: authentication only, security suite 0 (the suite id
is or-ed in for suites 1 and 2, :func:`gmac_security_control`)."""
GMAC_AUTHENTICATION_VALUE_LENGTH = 17
"""SC (1) + IC (4) + GMAC tag (12)."""
_TAG_LENGTH = 12


_SUITE_KEY_LENGTHS = {0: 16, 1: 16, 2: 32}


def gmac_security_control(security_suite: int = 0) -> int:
    """The security control byte of an HLS-GMAC value in ``security_suite`` (0, 1 or 2):
    authentication only (0x10) with the suite id in the low bits."""
    if security_suite not in _SUITE_KEY_LENGTHS:
        raise EncodeError(f"security suite {security_suite} does not exist (suites 0, 1 and 2)")
    return GMAC_SECURITY_CONTROL | security_suite


def _cipher(key: AESGCM | bytes, security_suite: int) -> AESGCM:
    length = _SUITE_KEY_LENGTHS[security_suite]
    if isinstance(key, AESGCM):
        return key
    if len(key) != length:
        raise EncodeError(
            f"the block cipher key of security suite {security_suite} is {length} bytes, "
            f"not {len(key)}"
        )
    return AESGCM(bytes(key))


def _check_authentication_key(key: bytes, security_suite: int) -> None:
    length = _SUITE_KEY_LENGTHS[security_suite]
    if len(key) != length:
        raise EncodeError(
            f"the authentication key of security suite {security_suite} is {length} bytes, "
            f"not {len(key)}"
        )


def _gmac(
    cipher: AESGCM,
    authentication_key: bytes,
    system_title: bytes,
    counter: int,
    challenge: bytes,
    security_suite: int,
) -> bytes:
    if len(system_title) != 8:
        raise EncodeError(f"HLS-GMAC needs an 8-byte system title, not {len(system_title)} bytes")
    if not 0 <= counter <= 0xFFFF_FFFF:
        raise EncodeError(f"an invocation counter is 0..2^32-1, not {counter}")
    _check_authentication_key(bytes(authentication_key), security_suite)
    header = bytes((gmac_security_control(security_suite),)) + counter.to_bytes(4, "big")
    aad = header[:1] + bytes(authentication_key) + bytes(challenge)
    tag = cipher.encrypt(bytes(system_title) + header[1:], b"", aad)[:_TAG_LENGTH]
    return header + tag


def gmac_authentication_value(
    block_cipher_key: AESGCM | bytes,
    authentication_key: bytes,
    system_title: bytes,
    invocation_counter: int,
    challenge: bytes,
    security_suite: int = 0,
) -> bytes:
    """``SC ‖ IC ‖ GMAC(SC ‖ AK ‖ challenge)`` with ``IV = system_title ‖ IC``: the prover's
    answer to ``challenge`` (its own system title and a fresh counter of its own).
    ``security_suite`` 0 or 1 takes 16-byte keys, 2 takes 32-byte keys (AES-GCM-256)."""
    gmac_security_control(security_suite)
    return _gmac(
        _cipher(block_cipher_key, security_suite),
        authentication_key,
        system_title,
        invocation_counter,
        challenge,
        security_suite,
    )


def verify_gmac_authentication_value(
    block_cipher_key: AESGCM | bytes,
    authentication_key: bytes,
    peer_system_title: bytes,
    received: bytes,
    challenge: bytes,
    security_suite: int = 0,
) -> int:
    """Check a peer's HLS-GMAC answer to our ``challenge`` in constant time and return the
    invocation counter it carries; raise :class:`AuthenticationError` when it does not match
    (wrong keys or system title) or is not 17 bytes ``SC ‖ IC ‖ tag`` with SC 0x10 | suite."""
    received = bytes(received)
    sc = gmac_security_control(security_suite)
    if len(received) != GMAC_AUTHENTICATION_VALUE_LENGTH or received[0] != sc:
        raise AuthenticationError(
            f"HLS-GMAC answer malformed: expected 17 bytes, security control 0x{sc:02x} "
            f"(authentication only, suite {security_suite}) ‖ invocation counter ‖ 12-byte "
            f"tag; got {len(received)} bytes"
            + (f" starting 0x{received[0]:02x}" if received else "")
            + (
                " (the peer uses another security suite)"
                if len(received) == GMAC_AUTHENTICATION_VALUE_LENGTH and received[0] & 0xF0 == 0x10
                else ""
            )
        )
    counter = int.from_bytes(received[1:5], "big")
    expected = _gmac(
        _cipher(block_cipher_key, security_suite),
        authentication_key,
        peer_system_title,
        counter,
        challenge,
        security_suite,
    )
    if not hmac.compare_digest(expected, received):
        title = bytes(peer_system_title).hex().upper()
        raise AuthenticationError(
            "HLS-GMAC failed: authentication tag mismatch — check the authentication key / "
            f"block cipher key / system title (peer system title {title}, "
            f"invocation counter {counter})"
        )
    return counter
