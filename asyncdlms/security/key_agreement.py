"""Key agreement of security suites 1 and 2 for general-ciphering (Green Book, DLMS UA 1000-2,
9.2.3.4.6: NIST SP 800-56A schemes with ECC CDH and the single-step concatenation KDF).

Two schemes derive the key that ciphers one general-ciphering APDU:

* **One-Pass Diffie-Hellman C(1e, 1s)** — the originator (party U) makes an ephemeral key
  pair for the APDU; ``Z`` is ECDH of its ephemeral private key and the recipient's (party V)
  static key agreement public key. The ephemeral public key travels in the agreed-key's
  key-ciphered-data, followed by its ECDSA signature with the originator's signing key (the
  signed data is the key-parameters octet 0x01 followed by ``X || Y``), so the recipient knows
  who sent it.
* **Static Unified Model C(0e, 2s)** — ``Z`` is ECDH of the two parties' static key agreement
  keys; the transaction-id makes the derived key fresh.

The KDF input ``OtherInfo = AlgorithmID || PartyUInfo || PartyVInfo`` is:

==============  ==================================================================
AlgorithmID     the DLMS object identifier of the suite's AES-GCM algorithm,
                2.16.756.5.8.3.0 (AES-GCM-128, suite 1) or 2.16.756.5.8.3.1
                (AES-GCM-256, suite 2), BER content octets ``60 85 74 05 08 03 0x``
PartyUInfo      the originator's system title (8 bytes)
PartyVInfo      C(1e, 1s): the recipient's system title; C(0e, 2s): the
                transaction-id as an A-XDR octet string (length, value) followed by
                the recipient's system title
==============  ==================================================================

(the layout of the peers met in the field, Gurux's among them). The derived key is as long as
the suite's AES key (16 bytes for suite 1, 32 for suite 2). All computation is in
:mod:`asyncdlms.security.suites` over ``cryptography``.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec

from ..apdu.general_protection import AgreedKey, KeyAgreementScheme
from ..axdr import encode_length
from ..errors import DecipheringError, EncodeError
from .hls import Secret
from .suites import (
    SecuritySuiteId,
    SuiteParameters,
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
    "AES_GCM_128_ALGORITHM_ID",
    "AES_GCM_256_ALGORITHM_ID",
    "AgreedKeyResult",
    "algorithm_id",
    "derive_one_pass_diffie_hellman",
    "derive_static_unified_model",
    "one_pass_diffie_hellman",
    "other_info",
    "static_unified_model",
]

AES_GCM_128_ALGORITHM_ID = bytes.fromhex("60857405080300")
"""2.16.756.5.8.3.0, the AES-GCM-128 algorithm of the DLMS UA (suite 1)."""
AES_GCM_256_ALGORITHM_ID = bytes.fromhex("60857405080301")
"""2.16.756.5.8.3.1, the AES-GCM-256 algorithm of the DLMS UA (suite 2)."""

_SYSTEM_TITLE_LENGTH = 8


def _params(suite: SecuritySuiteId | int | SuiteParameters) -> SuiteParameters:
    params = suite if isinstance(suite, SuiteParameters) else suite_parameters(suite)
    if not params.asymmetric:
        raise EncodeError(
            f"security suite {int(params.suite)} has no key agreement; use suite 1 or 2"
        )
    return params


def algorithm_id(suite: SecuritySuiteId | int | SuiteParameters) -> bytes:
    """The AlgorithmID of the KDF for ``suite`` (its AES-GCM algorithm)."""
    params = _params(suite)
    return AES_GCM_128_ALGORITHM_ID if params.key_length == 16 else AES_GCM_256_ALGORITHM_ID


def _title(value: bytes, what: str) -> bytes:
    value = bytes(value)
    if len(value) != _SYSTEM_TITLE_LENGTH:
        raise EncodeError(f"the {what} is 8 bytes long, not {len(value)}")
    return value


def other_info(
    scheme: KeyAgreementScheme,
    suite: SecuritySuiteId | int | SuiteParameters,
    originator_system_title: bytes,
    recipient_system_title: bytes,
    transaction_id: bytes = b"",
) -> bytes:
    """``OtherInfo`` of the KDF (see the module documentation)."""
    party_u = _title(originator_system_title, "originator system title")
    party_v = _title(recipient_system_title, "recipient system title")
    if KeyAgreementScheme(scheme) is KeyAgreementScheme.STATIC_UNIFIED_MODEL:
        party_v = encode_length(len(transaction_id)) + bytes(transaction_id) + party_v
    return algorithm_id(suite) + party_u + party_v


@dataclass(frozen=True, slots=True, repr=False)
class AgreedKeyResult:
    """What the originator gets from a key agreement: the ``key`` to cipher with (a
    :class:`Secret`) and the ``agreed_key`` Key-Info to put in the APDU."""

    key: Secret
    agreed_key: AgreedKey

    def __repr__(self) -> str:
        return f"AgreedKeyResult(key=****, scheme={self.agreed_key.scheme!r})"


def _ephemeral_signed_data(public_key: bytes) -> bytes:
    return bytes((KeyAgreementScheme.ONE_PASS_DIFFIE_HELLMAN,)) + public_key


def one_pass_diffie_hellman(
    *,
    suite: SecuritySuiteId | int,
    originator_system_title: bytes,
    recipient_system_title: bytes,
    recipient_key_agreement_key: ec.EllipticCurvePublicKey,
    signing_key: ec.EllipticCurvePrivateKey,
    ephemeral_key: ec.EllipticCurvePrivateKey | None = None,
) -> AgreedKeyResult:
    """Originator side of C(1e, 1s): a fresh ephemeral key (or ``ephemeral_key``, for test
    vectors — never reuse one), ``Z`` with the recipient's static key agreement public key,
    the derived key, and the agreed-key carrying the ephemeral public key signed with
    ``signing_key``."""
    params = _params(suite)
    ephemeral = generate_private_key(params) if ephemeral_key is None else ephemeral_key
    shared = ecdh_shared_secret(ephemeral, recipient_key_agreement_key, params)
    info = other_info(
        KeyAgreementScheme.ONE_PASS_DIFFIE_HELLMAN,
        params,
        originator_system_title,
        recipient_system_title,
    )
    key = Secret(key_derivation(shared, info, params))
    public = public_key_to_bytes(ephemeral)
    signature = ecdsa_sign(signing_key, _ephemeral_signed_data(public), params)
    agreed = AgreedKey.for_scheme(KeyAgreementScheme.ONE_PASS_DIFFIE_HELLMAN, public + signature)
    return AgreedKeyResult(key, agreed)


def derive_one_pass_diffie_hellman(
    agreed_key: AgreedKey,
    *,
    suite: SecuritySuiteId | int,
    originator_system_title: bytes,
    recipient_system_title: bytes,
    key_agreement_key: ec.EllipticCurvePrivateKey,
    originator_signing_key: ec.EllipticCurvePublicKey,
) -> Secret:
    """Recipient side of C(1e, 1s): check the signature of the ephemeral public key with the
    originator's signing public key (:class:`~asyncdlms.security.suites.SignatureError`
    otherwise), then derive the key with our static ``key_agreement_key``."""
    params = _params(suite)
    data = bytes(agreed_key.key_ciphered_data)
    size = params.public_key_length
    if len(data) != size + params.signature_length:
        raise DecipheringError(
            f"a suite {int(params.suite)} C(1e, 1s) key-ciphered-data is the ephemeral public "
            f"key and its signature ({size + params.signature_length} bytes), not {len(data)}"
        )
    public, signature = data[:size], data[size:]
    try:
        ephemeral = public_key_from_bytes(public, params)
    except ValueError as exc:
        raise DecipheringError(f"the ephemeral public key is unusable: {exc}") from None
    ecdsa_verify(originator_signing_key, _ephemeral_signed_data(public), signature, params)
    shared = ecdh_shared_secret(key_agreement_key, ephemeral, params)
    info = other_info(
        KeyAgreementScheme.ONE_PASS_DIFFIE_HELLMAN,
        params,
        originator_system_title,
        recipient_system_title,
    )
    return Secret(key_derivation(shared, info, params))


def static_unified_model(
    *,
    suite: SecuritySuiteId | int,
    originator_system_title: bytes,
    recipient_system_title: bytes,
    transaction_id: bytes,
    key_agreement_key: ec.EllipticCurvePrivateKey,
    peer_key_agreement_key: ec.EllipticCurvePublicKey,
) -> AgreedKeyResult:
    """Originator side of C(0e, 2s): ``Z`` of our static key agreement private key and the
    recipient's static public key; the transaction-id (which must never repeat between the
    two parties) makes the key fresh."""
    params = _params(suite)
    if not transaction_id:
        raise EncodeError("the Static Unified Model needs a transaction-id (its freshness)")
    key = _static_key(
        params,
        key_agreement_key,
        peer_key_agreement_key,
        originator_system_title,
        recipient_system_title,
        transaction_id,
    )
    return AgreedKeyResult(key, AgreedKey.for_scheme(KeyAgreementScheme.STATIC_UNIFIED_MODEL))


def derive_static_unified_model(
    *,
    suite: SecuritySuiteId | int,
    originator_system_title: bytes,
    recipient_system_title: bytes,
    transaction_id: bytes,
    key_agreement_key: ec.EllipticCurvePrivateKey,
    originator_key_agreement_key: ec.EllipticCurvePublicKey,
) -> Secret:
    """Recipient side of C(0e, 2s): the same key, from our static private key and the
    originator's static public key."""
    params = _params(suite)
    if not transaction_id:
        raise DecipheringError("a Static Unified Model APDU without a transaction-id")
    return _static_key(
        params,
        key_agreement_key,
        originator_key_agreement_key,
        originator_system_title,
        recipient_system_title,
        transaction_id,
    )


def _static_key(
    params: SuiteParameters,
    private_key: ec.EllipticCurvePrivateKey,
    public_key: ec.EllipticCurvePublicKey,
    originator_system_title: bytes,
    recipient_system_title: bytes,
    transaction_id: bytes,
) -> Secret:
    shared = ecdh_shared_secret(private_key, public_key, params)
    info = other_info(
        KeyAgreementScheme.STATIC_UNIFIED_MODEL,
        params,
        originator_system_title,
        recipient_system_title,
        transaction_id,
    )
    return Secret(key_derivation(shared, info, params))
