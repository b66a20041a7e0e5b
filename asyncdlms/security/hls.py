"""High-level security (HLS) authentication, passes 3 and 4 (DLMS UA 1000-2, IEC 62056-5-3).

Pass 1: the client sends a challenge CtoS in the AARQ calling-authentication-value.
Pass 2: the server answers with its challenge StoC in the AARE responding-authentication-value.
Pass 3: the client proves it knows the secret by sending f(StoC) with
``reply_to_HLS_authentication`` (Association LN method 1, or the SN equivalent).
Pass 4: the server answers with f(CtoS), which the client checks.

The functions f, each verified against public implementations (see the tests):

- HIGH_MD5 (3): ``MD5(challenge || secret)``
- HIGH_SHA1 (4): ``SHA-1(challenge || secret)``
- HIGH_SHA256 (6): ``SHA-256(secret || own system title || peer system title ||
  challenge || own challenge)``: for the client in pass 3
  ``SHA-256(secret || SysT-C || SysT-S || StoC || CtoS)``, for the server in pass 4
  ``SHA-256(secret || SysT-S || SysT-C || CtoS || StoC)``.
- HIGH (2): manufacturer-specific; pass the function as ``manufacturer_function``.
- HIGH_ECDSA (7, security suites 1 and 2): an ECDSA signature ``r || s`` with the prover's
  private key over ``own system title || peer system title || peer challenge || own
  challenge``: for the client in pass 3 ``ECDSA(SysT-C || SysT-S || StoC || CtoS)``, for the
  server in pass 4 ``ECDSA(SysT-S || SysT-C || CtoS || StoC)``, each verified with the
  signer's public key (from its certificate): :func:`ecdsa_client_pass3`,
  :func:`ecdsa_server_pass4`, :func:`verify_ecdsa_client_pass3`,
  :func:`verify_ecdsa_server_pass4`. No shared secret: the keys come from a
  :class:`~asyncdlms.security.certificates.KeyStore`.

- HIGH_GMAC (5): ``SC ‖ IC ‖ GMAC(SC ‖ AK ‖ challenge)`` with the block cipher key as the
  secret, ``IV = own system title ‖ IC`` (see :mod:`asyncdlms.security.gmac`); it also needs
  the authentication key and an invocation counter (``HlsInput.authentication_key`` and
  ``invocation_counter``; to verify, the counter is read from the received value). A session
  with a :class:`~asyncdlms.security.ciphering.SecurityContext` uses its ``hls_gmac`` /
  ``verify_hls_gmac``, which take the counter from the context's store.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from cryptography.hazmat.primitives.asymmetric import ec

from ..apdu.acse import MechanismName
from ..errors import AuthenticationError
from .gmac import GMAC_AUTHENTICATION_VALUE_LENGTH, gmac_authentication_value
from .suites import SecuritySuiteId, SignatureError, ecdsa_sign, ecdsa_verify

__all__ = [
    "CIPHERING_FUNCTIONS",
    "MAX_CHALLENGE_LENGTH",
    "MIN_CHALLENGE_LENGTH",
    "STANDARD_FUNCTIONS",
    "HlsFunction",
    "HlsInput",
    "Secret",
    "client_pass3",
    "ecdsa_client_pass3",
    "ecdsa_server_pass4",
    "ecdsa_signed_data",
    "generate_challenge",
    "hls_function",
    "server_pass4",
    "verify_client_pass3",
    "verify_ecdsa_client_pass3",
    "verify_ecdsa_server_pass4",
    "verify_server_pass4",
]

MIN_CHALLENGE_LENGTH = 8
"""The shortest HLS challenge the standard allows (bytes)."""
MAX_CHALLENGE_LENGTH = 64
"""The longest HLS challenge the standard allows (bytes)."""


class Secret:
    """A password or HLS secret whose ``repr``/``str`` never show the bytes.

    Compare secrets with ``==`` (constant-time); get the bytes with :attr:`value` or
    ``bytes(secret)``.
    """

    __slots__ = ("_value",)

    def __init__(self, value: bytes | bytearray | str) -> None:
        self._value = value.encode() if isinstance(value, str) else bytes(value)

    @property
    def value(self) -> bytes:
        """The secret bytes."""
        return self._value

    def __bytes__(self) -> bytes:
        return self._value

    def __len__(self) -> int:
        return len(self._value)

    def __repr__(self) -> str:
        return "Secret(****)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            return hmac.compare_digest(self._value, other._value)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((Secret, hashlib.sha256(self._value).digest()))

    def __reduce__(self) -> tuple[type[Secret], tuple[bytes]]:
        return (Secret, (self._value,))


def generate_challenge(length: int = 16, random: Callable[[int], bytes] = os.urandom) -> bytes:
    """A random HLS challenge of ``length`` bytes (8..64) from ``random`` (``os.urandom``).

    Pass a deterministic ``random`` in tests. Raises :class:`ValueError` for a length the
    standard does not allow, or when ``random`` returns the wrong number of bytes.
    """
    if not MIN_CHALLENGE_LENGTH <= length <= MAX_CHALLENGE_LENGTH:
        raise ValueError(
            f"an HLS challenge is {MIN_CHALLENGE_LENGTH}..{MAX_CHALLENGE_LENGTH} bytes long, "
            f"not {length}"
        )
    challenge = bytes(random(length))
    if len(challenge) != length:
        raise ValueError(f"the random source gave {len(challenge)} bytes, not {length}")
    return challenge


@dataclass(frozen=True, slots=True)
class HlsInput:
    """What the party that proves itself (the *own* side) feeds into f.

    ``challenge`` is the peer's challenge being answered (StoC for the client in pass 3,
    CtoS for the server in pass 4); ``own_challenge`` the one this side sent. System titles
    are needed by HIGH_SHA256 (and GMAC/ECDSA) only. ``invocation_counter`` and
    ``authentication_key`` are needed by HIGH_GMAC only (never shown by ``repr``).
    """

    challenge: bytes
    own_challenge: bytes = b""
    own_system_title: bytes = b""
    peer_system_title: bytes = b""
    invocation_counter: int | None = None
    authentication_key: Secret | None = field(default=None, repr=False)


HlsFunction = Callable[[bytes, HlsInput], bytes]
"""f(secret, input) -> the value sent in pass 3 (client) or pass 4 (server)."""


def _md5(secret: bytes, data: HlsInput) -> bytes:
    return hashlib.md5(data.challenge + secret, usedforsecurity=False).digest()


def _sha1(secret: bytes, data: HlsInput) -> bytes:
    return hashlib.sha1(data.challenge + secret, usedforsecurity=False).digest()


def _sha256(secret: bytes, data: HlsInput) -> bytes:
    if not data.own_system_title or not data.peer_system_title:
        raise AuthenticationError(
            "HLS SHA-256 needs both system titles (client and server): the server's comes "
            "in the AARE responding-AP-title"
        )
    return hashlib.sha256(
        secret
        + data.own_system_title
        + data.peer_system_title
        + data.challenge
        + data.own_challenge
    ).digest()


def _gmac(secret: bytes, data: HlsInput) -> bytes:
    if data.invocation_counter is None or data.authentication_key is None:
        raise AuthenticationError(
            "HLS-GMAC needs the authentication key and an invocation counter besides the "
            "block cipher key (the secret); a SecurityContext provides them (hls_gmac)"
        )
    if not data.own_system_title:
        raise AuthenticationError("HLS-GMAC needs the system title of the side that answers")
    return gmac_authentication_value(
        secret,
        data.authentication_key.value,
        data.own_system_title,
        data.invocation_counter,
        data.challenge,
    )


STANDARD_FUNCTIONS: Mapping[MechanismName, HlsFunction] = MappingProxyType(
    {
        MechanismName.HIGH_MD5: _md5,
        MechanismName.HIGH_SHA1: _sha1,
        MechanismName.HIGH_SHA256: _sha256,
    }
)
"""The HLS functions defined by hashes alone (read-only)."""

CIPHERING_FUNCTIONS: Mapping[MechanismName, HlsFunction] = MappingProxyType(
    {MechanismName.HIGH_GMAC: _gmac}
)
"""The HLS functions built on the ciphering keys (read-only): HIGH_GMAC, whose secret is the
block cipher key and which also needs ``HlsInput.authentication_key`` and
``invocation_counter``."""


def hls_function(
    mechanism: MechanismName, manufacturer_function: HlsFunction | None = None
) -> HlsFunction:
    """The function f of ``mechanism``; HIGH (2) takes ``manufacturer_function``.

    Raises :class:`AuthenticationError` for a mechanism without a function here.
    """
    if mechanism == MechanismName.HIGH:
        if manufacturer_function is None:
            raise AuthenticationError(
                "HLS mechanism 2 (high) is manufacturer-specific: give the manufacturer's "
                "function (manufacturer_function)"
            )
        return manufacturer_function
    function = STANDARD_FUNCTIONS.get(mechanism) or CIPHERING_FUNCTIONS.get(mechanism)
    if function is None:
        raise AuthenticationError(
            f"no HLS pass 3/4 function for mechanism {mechanism.name.lower()} "
            f"({int(mechanism)}) here"
        )
    return function


def _secret_bytes(secret: Secret | bytes) -> bytes:
    return secret.value if isinstance(secret, Secret) else bytes(secret)


def _optional_secret(key: Secret | bytes | None) -> Secret | None:
    if key is None or isinstance(key, Secret):
        return key
    return Secret(key)


def _received_counter(
    mechanism: MechanismName, received: bytes, invocation_counter: int | None
) -> int | None:
    """HIGH_GMAC: the counter comes in the received value (``SC ‖ IC ‖ tag``)."""
    if (
        invocation_counter is None
        and mechanism == MechanismName.HIGH_GMAC
        and len(received) == GMAC_AUTHENTICATION_VALUE_LENGTH
    ):
        return int.from_bytes(received[1:5], "big")
    return invocation_counter


def client_pass3(
    mechanism: MechanismName,
    secret: Secret | bytes,
    *,
    server_challenge: bytes,
    client_challenge: bytes = b"",
    client_system_title: bytes = b"",
    server_system_title: bytes = b"",
    manufacturer_function: HlsFunction | None = None,
    invocation_counter: int | None = None,
    authentication_key: Secret | bytes | None = None,
) -> bytes:
    """f(StoC): what the client sends in pass 3 (reply_to_HLS_authentication)."""
    function = hls_function(mechanism, manufacturer_function)
    return function(
        _secret_bytes(secret),
        HlsInput(
            server_challenge,
            client_challenge,
            client_system_title,
            server_system_title,
            invocation_counter,
            _optional_secret(authentication_key),
        ),
    )


def server_pass4(
    mechanism: MechanismName,
    secret: Secret | bytes,
    *,
    client_challenge: bytes,
    server_challenge: bytes = b"",
    client_system_title: bytes = b"",
    server_system_title: bytes = b"",
    manufacturer_function: HlsFunction | None = None,
    invocation_counter: int | None = None,
    authentication_key: Secret | bytes | None = None,
) -> bytes:
    """f(CtoS): what the server answers in pass 4."""
    function = hls_function(mechanism, manufacturer_function)
    return function(
        _secret_bytes(secret),
        HlsInput(
            client_challenge,
            server_challenge,
            server_system_title,
            client_system_title,
            invocation_counter,
            _optional_secret(authentication_key),
        ),
    )


def verify_server_pass4(
    mechanism: MechanismName,
    secret: Secret | bytes,
    received: bytes,
    *,
    client_challenge: bytes,
    server_challenge: bytes = b"",
    client_system_title: bytes = b"",
    server_system_title: bytes = b"",
    manufacturer_function: HlsFunction | None = None,
    invocation_counter: int | None = None,
    authentication_key: Secret | bytes | None = None,
) -> None:
    """Check the server's f(CtoS) (pass 4) in constant time; raise
    :class:`AuthenticationError` when it does not match."""
    expected = server_pass4(
        mechanism,
        secret,
        client_challenge=client_challenge,
        server_challenge=server_challenge,
        client_system_title=client_system_title,
        server_system_title=server_system_title,
        manufacturer_function=manufacturer_function,
        invocation_counter=_received_counter(mechanism, bytes(received), invocation_counter),
        authentication_key=authentication_key,
    )
    if not hmac.compare_digest(expected, bytes(received)):
        raise AuthenticationError(
            f"HLS pass 4 failed ({mechanism.name.lower()}): the meter's answer to our "
            "challenge does not match; the meter does not know the same secret (check the "
            "HLS secret/keys), or it is not the meter we meant to reach"
        )


def verify_client_pass3(
    mechanism: MechanismName,
    secret: Secret | bytes,
    received: bytes,
    *,
    server_challenge: bytes,
    client_challenge: bytes = b"",
    client_system_title: bytes = b"",
    server_system_title: bytes = b"",
    manufacturer_function: HlsFunction | None = None,
    invocation_counter: int | None = None,
    authentication_key: Secret | bytes | None = None,
) -> None:
    """Server role: check the client's f(StoC) (pass 3) in constant time; raise
    :class:`AuthenticationError` when it does not match."""
    expected = client_pass3(
        mechanism,
        secret,
        server_challenge=server_challenge,
        client_challenge=client_challenge,
        client_system_title=client_system_title,
        server_system_title=server_system_title,
        manufacturer_function=manufacturer_function,
        invocation_counter=_received_counter(mechanism, bytes(received), invocation_counter),
        authentication_key=authentication_key,
    )
    if not hmac.compare_digest(expected, bytes(received)):
        raise AuthenticationError(
            f"HLS pass 3 failed ({mechanism.name.lower()}): the client's answer to the "
            "server challenge does not match the secret"
        )


# -- HLS-ECDSA (mechanism 7) ----------------------------------------------------------------


def ecdsa_signed_data(
    own_system_title: bytes, peer_system_title: bytes, peer_challenge: bytes, own_challenge: bytes
) -> bytes:
    """What the prover signs in HLS-ECDSA: ``own system title || peer system title || peer
    challenge || own challenge`` (the client in pass 3: ``SysT-C || SysT-S || StoC || CtoS``;
    the server in pass 4: ``SysT-S || SysT-C || CtoS || StoC``)."""
    for title, who in ((own_system_title, "own"), (peer_system_title, "peer")):
        if len(title) != 8:
            raise AuthenticationError(
                f"HLS-ECDSA needs both system titles (8 bytes); the {who} one is "
                f"{len(title)} bytes (the server's comes in the AARE responding-AP-title, "
                "the client's in the AARQ calling-AP-title)"
            )
    return bytes(own_system_title + peer_system_title + peer_challenge + own_challenge)


def ecdsa_client_pass3(
    signing_key: ec.EllipticCurvePrivateKey,
    suite: SecuritySuiteId | int,
    *,
    client_system_title: bytes,
    server_system_title: bytes,
    server_challenge: bytes,
    client_challenge: bytes,
) -> bytes:
    """The client's HLS-ECDSA pass 3: ``ECDSA(SysT-C || SysT-S || StoC || CtoS)`` as
    ``r || s`` with the client's signing key."""
    return ecdsa_sign(
        signing_key,
        ecdsa_signed_data(
            client_system_title, server_system_title, server_challenge, client_challenge
        ),
        suite,
    )


def ecdsa_server_pass4(
    signing_key: ec.EllipticCurvePrivateKey,
    suite: SecuritySuiteId | int,
    *,
    client_system_title: bytes,
    server_system_title: bytes,
    server_challenge: bytes,
    client_challenge: bytes,
) -> bytes:
    """The server's HLS-ECDSA pass 4: ``ECDSA(SysT-S || SysT-C || CtoS || StoC)``."""
    return ecdsa_sign(
        signing_key,
        ecdsa_signed_data(
            server_system_title, client_system_title, client_challenge, server_challenge
        ),
        suite,
    )


def _verify_ecdsa(
    public_key: ec.EllipticCurvePublicKey,
    suite: SecuritySuiteId | int,
    received: bytes,
    data: bytes,
    failure: str,
) -> None:
    try:
        ecdsa_verify(public_key, data, bytes(received), suite)
    except SignatureError as exc:
        raise AuthenticationError(f"{failure}: {exc}") from exc
    except ValueError as exc:  # a key on another curve than the suite's
        raise AuthenticationError(f"{failure}: {exc}") from exc


def verify_ecdsa_client_pass3(
    public_key: ec.EllipticCurvePublicKey,
    suite: SecuritySuiteId | int,
    received: bytes,
    *,
    client_system_title: bytes,
    server_system_title: bytes,
    server_challenge: bytes,
    client_challenge: bytes,
) -> None:
    """Server role: check the client's HLS-ECDSA signature (pass 3) with the client's public
    key; raise :class:`AuthenticationError` when it does not verify."""
    _verify_ecdsa(
        public_key,
        suite,
        received,
        ecdsa_signed_data(
            client_system_title, server_system_title, server_challenge, client_challenge
        ),
        "HLS-ECDSA pass 3 failed: the client's signature does not verify with the public "
        f"key of its system title {client_system_title.hex().upper()}",
    )


def verify_ecdsa_server_pass4(
    public_key: ec.EllipticCurvePublicKey,
    suite: SecuritySuiteId | int,
    received: bytes,
    *,
    client_system_title: bytes,
    server_system_title: bytes,
    server_challenge: bytes,
    client_challenge: bytes,
) -> None:
    """Client role: check the meter's HLS-ECDSA signature (pass 4) with the meter's public
    key; raise :class:`AuthenticationError` when it does not verify (the meter does not
    hold the private key of the certificate we have for it)."""
    _verify_ecdsa(
        public_key,
        suite,
        received,
        ecdsa_signed_data(
            server_system_title, client_system_title, client_challenge, server_challenge
        ),
        "HLS-ECDSA pass 4 failed: the meter's signature does not verify with the public key "
        f"of its system title {server_system_title.hex().upper()} (wrong certificate, or "
        "not the meter we meant to reach)",
    )
