"""Security suites 0, 1 and 2: the algorithms each suite names, and the public-key
primitives of suites 1 and 2 (Green Book, DLMS UA 1000-2, 9.2.3).

========  ============  ==========  ==========  ===========  ============
suite     ciphering     key wrap    hash        signature    key agreement
========  ============  ==========  ==========  ===========  ============
0         AES-GCM-128   AES-128     --          --           --
1         AES-GCM-128   AES-128     SHA-256     ECDSA P-256  ECDH P-256
2         AES-GCM-256   AES-256     SHA-384     ECDSA P-384  ECDH P-384
========  ============  ==========  ==========  ===========  ============

DLMS carries the values of these algorithms in fixed-length raw forms, which this module
converts to and from the objects of the ``cryptography`` package (every computation is done
there, nothing is hand-written):

- a public key is the two affine coordinates ``X || Y`` (64 bytes for P-256, 96 for P-384),
  without the ``0x04`` prefix of the uncompressed SEC 1 point;
- an ECDSA signature is ``r || s``, each as wide as the curve order (64 / 96 bytes), not DER;
- a shared secret ``Z`` is the x coordinate of the ECDH point (32 / 48 bytes);
- keys are derived from ``Z`` with the single-step concatenation KDF of NIST SP 800-56A
  (5.8.1) over the suite's hash, ``OtherInfo`` being built by the caller.

Private keys never appear in a repr, a log or an error. AES key wrap (RFC 3394) is in
:mod:`asyncdlms.security.keys` (:func:`~asyncdlms.security.keys.wrap_key`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash

from .exceptions import DecipheringError

__all__ = [
    "SUITES",
    "SecuritySuiteId",
    "SignatureError",
    "SuiteParameters",
    "ecdh_shared_secret",
    "ecdsa_sign",
    "ecdsa_verify",
    "generate_private_key",
    "key_derivation",
    "private_key_from_bytes",
    "private_key_to_bytes",
    "public_key_from_bytes",
    "public_key_to_bytes",
    "suite_parameters",
]


class SecuritySuiteId(IntEnum):
    """The security suite numbers of the Security setup object (attribute 3)."""

    SUITE_0 = 0
    """AES-GCM-128, AES-128 key wrap."""
    SUITE_1 = 1
    """ECDH P-256, ECDSA with SHA-256, AES-GCM-128, AES-128 key wrap."""
    SUITE_2 = 2
    """ECDH P-384, ECDSA with SHA-384, AES-GCM-256, AES-256 key wrap."""


class SignatureError(DecipheringError):
    """A digital signature (ECDSA) did not verify: the data was altered, or was signed with
    another key than the one we hold for the signer (check the signer's certificate or public
    key)."""


@dataclass(frozen=True, slots=True)
class SuiteParameters:
    """The algorithms and sizes of one security suite."""

    suite: SecuritySuiteId
    key_length: int
    """Bytes of the AES-GCM and key-wrap keys (16 or 32)."""
    curve: ec.EllipticCurve | None
    """The elliptic curve of ECDSA and ECDH (None for suite 0)."""
    hash_algorithm: hashes.HashAlgorithm | None
    """The hash of ECDSA, HLS-ECDSA and the KDF (None for suite 0)."""
    coordinate_length: int
    """Bytes of one curve coordinate, of ``r``, of ``s`` and of ``Z`` (0 for suite 0)."""

    @property
    def public_key_length(self) -> int:
        """Bytes of a raw public key ``X || Y``."""
        return 2 * self.coordinate_length

    @property
    def signature_length(self) -> int:
        """Bytes of a raw ECDSA signature ``r || s``."""
        return 2 * self.coordinate_length

    @property
    def asymmetric(self) -> bool:
        """Whether the suite has public-key algorithms (suites 1 and 2)."""
        return self.curve is not None

    def _curve(self) -> ec.EllipticCurve:
        if self.curve is None:
            raise ValueError(
                f"security suite {int(self.suite)} has no public-key algorithms; "
                "use suite 1 or 2 for ECDSA and ECDH"
            )
        return self.curve

    def _hash(self) -> hashes.HashAlgorithm:
        if self.hash_algorithm is None:
            raise ValueError(f"security suite {int(self.suite)} has no hash algorithm")
        return self.hash_algorithm


SUITES: Final[dict[SecuritySuiteId, SuiteParameters]] = {
    SecuritySuiteId.SUITE_0: SuiteParameters(SecuritySuiteId.SUITE_0, 16, None, None, 0),
    SecuritySuiteId.SUITE_1: SuiteParameters(
        SecuritySuiteId.SUITE_1, 16, ec.SECP256R1(), hashes.SHA256(), 32
    ),
    SecuritySuiteId.SUITE_2: SuiteParameters(
        SecuritySuiteId.SUITE_2, 32, ec.SECP384R1(), hashes.SHA384(), 48
    ),
}


def suite_parameters(suite: SecuritySuiteId | int) -> SuiteParameters:
    """The parameters of security suite ``suite`` (0, 1 or 2)."""
    try:
        return SUITES[SecuritySuiteId(suite)]
    except ValueError:
        raise ValueError(
            f"unknown security suite {suite!r}; DLMS defines suites 0, 1 and 2"
        ) from None


def _parameters(suite: SecuritySuiteId | int | SuiteParameters) -> SuiteParameters:
    return suite if isinstance(suite, SuiteParameters) else suite_parameters(suite)


def _check_curve(
    key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey, params: SuiteParameters
) -> None:
    curve = params._curve()
    if key.curve.name != curve.name:
        raise ValueError(
            f"security suite {int(params.suite)} uses {curve.name}, "
            f"but the key is on {key.curve.name}"
        )


def generate_private_key(
    suite: SecuritySuiteId | int | SuiteParameters,
) -> ec.EllipticCurvePrivateKey:
    """A fresh private key on the suite's curve."""
    return ec.generate_private_key(_parameters(suite)._curve())


def public_key_to_bytes(key: ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey) -> bytes:
    """The raw DLMS form ``X || Y`` of a public key (of a private key's public key)."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        key = key.public_key()
    numbers = key.public_numbers()
    size = (key.curve.key_size + 7) // 8
    return numbers.x.to_bytes(size, "big") + numbers.y.to_bytes(size, "big")


def public_key_from_bytes(
    data: bytes, suite: SecuritySuiteId | int | SuiteParameters
) -> ec.EllipticCurvePublicKey:
    """A public key from its raw DLMS form ``X || Y`` (also accepted: the SEC 1 uncompressed
    point with its ``0x04`` prefix). A point that is not on the suite's curve is refused
    (``ValueError``): an invalid-curve point must never reach ECDH."""
    params = _parameters(suite)
    curve = params._curve()
    data = bytes(data)
    if len(data) == params.public_key_length + 1 and data[0] == 0x04:
        data = data[1:]
    if len(data) != params.public_key_length:
        raise ValueError(
            f"a suite {int(params.suite)} public key is {params.public_key_length} bytes "
            f"(X || Y), not {len(data)}"
        )
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(curve, b"\x04" + data)
    except ValueError:
        raise ValueError(
            f"the public key is not a point of {curve.name} (corrupted or from another suite)"
        ) from None


def private_key_to_bytes(key: ec.EllipticCurvePrivateKey) -> bytes:
    """The private scalar as a big-endian integer as wide as the curve order."""
    size = (key.curve.key_size + 7) // 8
    return key.private_numbers().private_value.to_bytes(size, "big")


def private_key_from_bytes(
    data: bytes, suite: SecuritySuiteId | int | SuiteParameters
) -> ec.EllipticCurvePrivateKey:
    """A private key from its big-endian scalar (as in the Green Book examples)."""
    params = _parameters(suite)
    if len(data) != params.coordinate_length:
        raise ValueError(
            f"a suite {int(params.suite)} private key is {params.coordinate_length} bytes, "
            f"not {len(data)}"
        )
    try:
        return ec.derive_private_key(int.from_bytes(data, "big"), params._curve())
    except ValueError:
        raise ValueError("the private key is out of the curve order's range") from None


def ecdsa_sign(
    key: ec.EllipticCurvePrivateKey,
    data: bytes,
    suite: SecuritySuiteId | int | SuiteParameters,
) -> bytes:
    """The ECDSA signature ``r || s`` of ``data`` with the suite's hash."""
    params = _parameters(suite)
    _check_curve(key, params)
    der = key.sign(bytes(data), ec.ECDSA(params._hash()))
    r, s = decode_dss_signature(der)
    size = params.coordinate_length
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def ecdsa_verify(
    key: ec.EllipticCurvePublicKey,
    data: bytes,
    signature: bytes,
    suite: SecuritySuiteId | int | SuiteParameters,
) -> None:
    """Check the raw ECDSA signature ``r || s`` of ``data``; raise :class:`SignatureError`
    when it does not verify (a wrong length included)."""
    params = _parameters(suite)
    _check_curve(key, params)
    size = params.coordinate_length
    if len(signature) != 2 * size:
        raise SignatureError(
            f"a suite {int(params.suite)} signature is {2 * size} bytes (r || s), "
            f"not {len(signature)}"
        )
    r = int.from_bytes(signature[:size], "big")
    s = int.from_bytes(signature[size:], "big")
    if r == 0 or s == 0:
        raise SignatureError("the signature does not verify (r or s is zero)")
    try:
        key.verify(encode_dss_signature(r, s), bytes(data), ec.ECDSA(params._hash()))
    except InvalidSignature:
        raise SignatureError(
            "the signature does not verify: the data was altered or signed with another key"
        ) from None


def ecdh_shared_secret(
    private_key: ec.EllipticCurvePrivateKey,
    peer_public_key: ec.EllipticCurvePublicKey,
    suite: SecuritySuiteId | int | SuiteParameters,
) -> bytes:
    """The ECDH shared secret ``Z`` (the x coordinate, as wide as the curve)."""
    params = _parameters(suite)
    _check_curve(private_key, params)
    _check_curve(peer_public_key, params)
    return private_key.exchange(ec.ECDH(), peer_public_key)


def key_derivation(
    shared_secret: bytes,
    other_info: bytes,
    suite: SecuritySuiteId | int | SuiteParameters,
    length: int | None = None,
) -> bytes:
    """The single-step concatenation KDF (NIST SP 800-56A 5.8.1) with the suite's hash:
    ``Hash(00000001 || Z || OtherInfo)`` truncated to ``length`` bytes (by default the
    suite's AES key length). The caller builds ``OtherInfo`` (AlgorithmID || PartyUInfo ||
    PartyVInfo || SuppPubInfo || SuppPrivInfo, as the Green Book defines for each scheme)."""
    params = _parameters(suite)
    kdf = ConcatKDFHash(
        algorithm=params._hash(),
        length=params.key_length if length is None else length,
        otherinfo=bytes(other_info),
    )
    return kdf.derive(bytes(shared_secret))
