"""Errors of security suite 0 ciphering and invocation counters.

Each one derives from the closest class of :mod:`asyncdlms.errors`, so code that catches
:class:`~asyncdlms.errors.DecodeError`, :class:`~asyncdlms.errors.EncodeError` or
:class:`~asyncdlms.errors.DlmsError` keeps catching them. Messages never contain key bytes.
"""

from __future__ import annotations

from ..errors import AuthenticationError, DecodeError, DlmsError, EncodeError

__all__ = [
    "AuthenticationTagError",
    "DecipheringError",
    "InvocationCounterExhaustedError",
    "InvocationCounterStoreError",
    "ReplayError",
    "SecurityPolicyError",
]


class DecipheringError(DecodeError):
    """A ciphered APDU that cannot be turned back into a plain one: truncated security
    header, unknown or unexpected tag, missing key, unsupported compression..."""


class SecurityPolicyError(DecipheringError):
    """A received APDU protected less than the security policy requires (a plain APDU, or a
    security control byte without the authentication or encryption bit the policy asks
    for, or for another security suite)."""


class AuthenticationTagError(DecipheringError, AuthenticationError):
    """The GMAC authentication tag does not match: wrong authentication key, block cipher
    key or system title, or the APDU was changed on the way. No plaintext is returned."""


class ReplayError(DecipheringError):
    """A received invocation counter that is not greater than the last one accepted from
    the same system title and key: a replayed (or reordered) APDU.

    ``received`` is the counter in the APDU, ``last`` the last accepted one.
    """

    def __init__(self, message: str, received: int, last: int) -> None:
        super().__init__(message)
        self.received = received
        self.last = last


class InvocationCounterExhaustedError(EncodeError):
    """The invocation counter of a key reached 2^32 - 1: no fresh nonce is left, the key
    must be changed (security setup key transfer) before anything else is protected."""


class InvocationCounterStoreError(DlmsError):
    """A persisted invocation counter store that cannot be read or written. Ciphering stops
    rather than risk reusing a nonce."""
