"""Key agreement through the Security setup object (class 64 version 1, method 3
``key_agreement``), with the ephemeral unified model C(2e, 0s) of NIST SP 800-56A: each side
makes an ephemeral key pair, sends its public key signed with its static signing key, checks
the other side's signature, and both derive the new key from the ECDH secret of the two
ephemeral keys.

``key_ciphered_data`` of one key (both directions) is ``Q || signature``: the ephemeral public
key ``X || Y`` and the ECDSA signature ``r || s`` over ``key_id || X || Y`` (``key_id``: 0 global
unicast encryption key, 1 global broadcast encryption key, 2 authentication key). The key is
``KDF(Z, OtherInfo)`` (single-step concatenation KDF with the suite's hash), ``OtherInfo =
AlgorithmID || PartyUInfo || PartyVInfo`` with AlgorithmID the OID value of the cipher of the
suite (AES-GCM-128 ``60 85 74 05 08 03 00``, AES-GCM-256 ``... 01``), PartyUInfo the client's
system title and PartyVInfo the server's (Green Book 9.2.3.4.6.5 as we read it; no published
test vector was found to check these bytes against).
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec

from .hls import Secret
from .suites import (
    SecuritySuiteId,
    ecdh_shared_secret,
    ecdsa_sign,
    ecdsa_verify,
    generate_private_key,
    key_derivation,
    public_key_from_bytes,
    public_key_to_bytes,
    suite_parameters,
)

__all__ = [
    "algorithm_id",
    "derive_key",
    "make_offer",
    "other_info",
    "read_offer",
]

_AES_GCM_OID_PREFIX = bytes.fromhex("608574050803")


def algorithm_id(suite: SecuritySuiteId | int) -> bytes:
    """The AlgorithmID of OtherInfo: AES-GCM-128 (suite 1) or AES-GCM-256 (suite 2)."""
    return _AES_GCM_OID_PREFIX + bytes((0 if suite_parameters(suite).key_length == 16 else 1,))


def other_info(
    suite: SecuritySuiteId | int, client_system_title: bytes, server_system_title: bytes
) -> bytes:
    """``AlgorithmID || PartyUInfo (client) || PartyVInfo (server)``."""
    return algorithm_id(suite) + bytes(client_system_title) + bytes(server_system_title)


def make_offer(
    signing_key: ec.EllipticCurvePrivateKey, key_id: int, suite: SecuritySuiteId | int
) -> tuple[ec.EllipticCurvePrivateKey, bytes]:
    """A fresh ephemeral key pair and its ``key_ciphered_data`` (``Q || signature``)."""
    ephemeral = generate_private_key(suite)
    public = public_key_to_bytes(ephemeral)
    return ephemeral, public + ecdsa_sign(signing_key, bytes((key_id,)) + public, suite)


def read_offer(
    data: bytes,
    key_id: int,
    signer: ec.EllipticCurvePublicKey,
    suite: SecuritySuiteId | int,
) -> ec.EllipticCurvePublicKey:
    """The peer's ephemeral public key from its ``key_ciphered_data``, its signature checked
    with ``signer`` (:class:`~asyncdlms.security.suites.SignatureError` when it does not
    verify, :class:`ValueError` for a wrong length or a point off the curve)."""
    parameters = suite_parameters(suite)
    size = parameters.public_key_length
    if len(data) != size + parameters.signature_length:
        raise ValueError(
            f"key_ciphered_data of suite {int(parameters.suite)} is "
            f"{size + parameters.signature_length} bytes (Q || signature), not {len(data)}"
        )
    public, signature = bytes(data[:size]), bytes(data[size:])
    ecdsa_verify(signer, bytes((key_id,)) + public, signature, suite)
    return public_key_from_bytes(public, suite)


def derive_key(
    ephemeral: ec.EllipticCurvePrivateKey,
    peer_ephemeral: ec.EllipticCurvePublicKey,
    suite: SecuritySuiteId | int,
    client_system_title: bytes,
    server_system_title: bytes,
) -> Secret:
    """The agreed key (16 or 32 bytes, the suite's AES key length)."""
    shared = ecdh_shared_secret(ephemeral, peer_ephemeral, suite)
    return Secret(
        key_derivation(shared, other_info(suite, client_system_title, server_system_title), suite)
    )
