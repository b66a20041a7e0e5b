"""HLS-GMAC (authentication mechanism 5, security suite 0) pass 3 and pass 4 values.

The party that proves itself answers the peer's challenge with
``f(challenge) = SC ‖ IC ‖ GMAC``, where SC is 0x10 (authentication only, suite 0), IC a fresh
invocation counter of its global unicast key, and GMAC the first 12 bytes of the AES-GCM tag
with the block cipher key over an empty plaintext, ``IV = own system title ‖ IC`` and
``AAD = SC ‖ authentication key ‖ challenge`` (Green Book example: client system title
4D4D4D0000000001, IC 1, StoC 503677524A323146 → tag 1A52FE7DD3E72748973C1E28).

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
    "verify_gmac_authentication_value",
]

GMAC_SECURITY_CONTROL = 0x10
"""Security control of an HLS-GMAC value: authentication only, security suite 0."""
GMAC_AUTHENTICATION_VALUE_LENGTH = 17
"""SC (1) + IC (4) + GMAC tag (12)."""
_TAG_LENGTH = 12


def _cipher(key: AESGCM | bytes) -> AESGCM:
    if isinstance(key, AESGCM):
        return key
    if len(key) != 16:
        raise EncodeError(f"the block cipher key of security suite 0 is 16 bytes, not {len(key)}")
    return AESGCM(bytes(key))


def _gmac(
    cipher: AESGCM, authentication_key: bytes, system_title: bytes, counter: int, challenge: bytes
) -> bytes:
    if len(system_title) != 8:
        raise EncodeError(f"HLS-GMAC needs an 8-byte system title, not {len(system_title)} bytes")
    if not 0 <= counter <= 0xFFFF_FFFF:
        raise EncodeError(f"an invocation counter is 0..2^32-1, not {counter}")
    header = bytes((GMAC_SECURITY_CONTROL,)) + counter.to_bytes(4, "big")
    aad = header[:1] + bytes(authentication_key) + bytes(challenge)
    tag = cipher.encrypt(bytes(system_title) + header[1:], b"", aad)[:_TAG_LENGTH]
    return header + tag


def gmac_authentication_value(
    block_cipher_key: AESGCM | bytes,
    authentication_key: bytes,
    system_title: bytes,
    invocation_counter: int,
    challenge: bytes,
) -> bytes:
    """``SC ‖ IC ‖ GMAC(SC ‖ AK ‖ challenge)`` with ``IV = system_title ‖ IC``: the prover's
    answer to ``challenge`` (its own system title and a fresh counter of its own)."""
    return _gmac(
        _cipher(block_cipher_key), authentication_key, system_title, invocation_counter, challenge
    )


def verify_gmac_authentication_value(
    block_cipher_key: AESGCM | bytes,
    authentication_key: bytes,
    peer_system_title: bytes,
    received: bytes,
    challenge: bytes,
) -> int:
    """Check a peer's HLS-GMAC answer to our ``challenge`` in constant time and return the
    invocation counter it carries; raise :class:`AuthenticationError` when it does not match
    (wrong keys or system title) or is not 17 bytes ``10 ‖ IC ‖ tag``."""
    received = bytes(received)
    if len(received) != GMAC_AUTHENTICATION_VALUE_LENGTH or received[0] != GMAC_SECURITY_CONTROL:
        raise AuthenticationError(
            "HLS-GMAC answer malformed: expected 17 bytes, security control 0x10 (authentication "
            f"only, suite 0) ‖ invocation counter ‖ 12-byte tag; got {len(received)} bytes"
            + (f" starting 0x{received[0]:02x}" if received else "")
        )
    counter = int.from_bytes(received[1:5], "big")
    expected = _gmac(
        _cipher(block_cipher_key), authentication_key, peer_system_title, counter, challenge
    )
    if not hmac.compare_digest(expected, received):
        title = bytes(peer_system_title).hex().upper()
        raise AuthenticationError(
            "HLS-GMAC failed: authentication tag mismatch — check the authentication key / "
            f"block cipher key / system title (peer system title {title}, "
            f"invocation counter {counter})"
        )
    return counter
