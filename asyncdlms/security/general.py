"""General signing and general ciphering with explicit keys (security suites 1 and 2; Green
Book, DLMS UA 1000-2, 9.2.7.2.4 and 9.2.7.3).

* :func:`sign_apdu` wraps any APDU (plain, ciphered, or a push) in general-signing with the
  originator's ECDSA signature; :func:`verify_signed_apdu` checks it with the public key known
  for the originator's system title and refuses a replayed transaction-id.
* :func:`cipher_general` wraps any APDU in general-ciphering with AES-GCM (128 for suite 1,
  256 for suite 2) under a key named by the key-info: a global key (:class:`GlobalKey`), a
  fresh key wrapped with the master key (:class:`WrappedContentKey`), or a key agreed by ECDH
  (:class:`OnePassDiffieHellman` C(1e, 1s), :class:`StaticUnifiedModel` C(0e, 2s));
  :func:`decipher_general` reverses it with the recipient's :class:`GeneralCipheringKeys`.

The two nest both ways (signed-then-ciphered: ``cipher_general(sign_apdu(...))``;
ciphered-then-signed: ``sign_apdu(cipher_general(...))``); :func:`unprotect_general` peels
up to four layers and says which ones were there.

Ciphered content: ``SC || IC || ciphertext || tag`` with the nonce ``originator system title
|| IC`` and a 12-byte tag, as in suite 0; the security control byte names the suite (1 or 2).
The additional authenticated data is ``SC || AK || the five header fields`` (each A-XDR
encoded: transaction-id, originator- and recipient-system-title, date-time,
other-information), and for authentication only also the plaintext, so the header cannot be
changed either. ``AK`` is the authentication key when one is given, else nothing.

Counters: the invocation counter of every APDU we cipher comes from an
:class:`~asyncdlms.security.counters.InvocationCounterStore` (by default the process's),
exactly like suite 0 — a counter is never handed out twice under one key identity, so a
(key, counter) pair never repeats, even for the Static Unified Model where the key of a pair
of parties depends only on the transaction-id (which is that counter). A global key shares
its counters with the suite 0 security contexts of the same key. The transaction-id we send
is the invocation counter as 8 big-endian bytes; a signed APDU without a given transaction-id
takes the next counter of the signing key. Received counters and transaction-ids must
increase per sender and key (:class:`~asyncdlms.errors.ReplayError` otherwise), and are
recorded only once the tag or signature checked.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Final

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from ..apdu.general_protection import (
    AgreedKey,
    GeneralCiphering,
    GeneralSigning,
    IdentifiedKey,
    KeyAgreementScheme,
    KeyInfo,
    ProtectionHeader,
    SymmetricKeyId,
    WrappedKey,
)
from ..apdu.tags import ApduTag
from ..errors import (
    AuthenticationTagError,
    DecipheringError,
    DecodeError,
    EncodeError,
    SecurityPolicyError,
)
from .ciphering import SecurityControl, SecurityPolicy
from .counters import (
    CipheringKey,
    InvocationCounterStore,
    KeyIdentity,
    default_invocation_counter_store,
    key_identity,
)
from .hls import Secret
from .key_agreement import (
    derive_one_pass_diffie_hellman,
    derive_static_unified_model,
    one_pass_diffie_hellman,
    static_unified_model,
)
from .suites import (
    SecuritySuiteId,
    SuiteParameters,
    ecdsa_sign,
    ecdsa_verify,
    public_key_to_bytes,
    suite_parameters,
)

__all__ = [
    "DecipheredGeneral",
    "GeneralCipheringKeys",
    "GlobalKey",
    "OnePassDiffieHellman",
    "ProtectionLayer",
    "SignedApdu",
    "StaticUnifiedModel",
    "UnknownSignerError",
    "UnprotectedApdu",
    "WrappedContentKey",
    "cipher_general",
    "decipher_general",
    "sign_apdu",
    "unprotect_general",
    "verify_signed_apdu",
]

TAG_LENGTH: Final = 12
_HEADER_LENGTH: Final = 5
_TITLE_LENGTH: Final = 8
_GENERAL_SIGNING = int(ApduTag.GENERAL_SIGNING)
_GENERAL_CIPHERING = int(ApduTag.GENERAL_CIPHERING)
_ASYMMETRIC_SUITES: Final = (1, 2)

PublicKeyLookup = Callable[[bytes], ec.EllipticCurvePublicKey | None]
"""system title → that party's public key (None: unknown party)."""


class UnknownSignerError(DecipheringError):
    """A signed APDU (or an ephemeral key) from a system title whose public key is not known:
    add the signer's signing public key or certificate for that system title."""


def _parameters(suite: SecuritySuiteId | int | SuiteParameters) -> SuiteParameters:
    params = suite if isinstance(suite, SuiteParameters) else suite_parameters(suite)
    if not params.asymmetric:
        raise EncodeError(
            f"general signing and general ciphering with key agreement need security suite 1 "
            f"or 2, not {int(params.suite)}"
        )
    return params


def _title(value: bytes, what: str) -> bytes:
    value = bytes(value)
    if len(value) != _TITLE_LENGTH:
        raise EncodeError(f"the {what} is 8 bytes long, not {len(value)}")
    return value


def _recipient(value: bytes) -> bytes:
    value = bytes(value)
    if value and len(value) != _TITLE_LENGTH:
        raise EncodeError(f"the recipient system title is 8 bytes (or empty), not {len(value)}")
    return value


def plain_or_protected(
    apdu: bytes, tag: int, allow_plain: frozenset[int], refusal: str
) -> tuple[bytes, bool]:
    """What an association protected end to end (general-signing or general-ciphering) does
    with a received APDU before unprotecting it: ``(bytes, True)`` when it starts with
    ``tag``; ``(bytes, False)`` for a plain APDU whose tag is in ``allow_plain`` (a meter
    answers an exception-response when it cannot unprotect); any other plain APDU is a
    :class:`~asyncdlms.errors.SecurityPolicyError` with ``refusal`` (the reason)."""
    data = bytes(apdu)
    if not data:
        raise DecipheringError("empty APDU")
    if data[0] == tag:
        return data, True
    if data[0] in allow_plain:
        return data, False
    raise SecurityPolicyError(f"APDU (tag 0x{data[0]:02x}) refused: {refusal}", 0)


def _received_originator(title: bytes, what: str) -> bytes:
    """The originator system title of a received general-signing/-ciphering APDU; one of
    another length than 8 bytes is refused (its sender, and so its key, cannot be known)."""
    if len(title) != _TITLE_LENGTH:
        raise DecipheringError(
            f"a {what} APDU whose originator system title is {len(title)} bytes (8 expected): "
            "its sender cannot be known"
        )
    return title


def _date_time(value: bytes | None) -> bytes:
    if value is None:
        return b""
    value = bytes(value)
    if value and len(value) != 12:
        raise EncodeError(f"a COSEM date-time is 12 bytes (or empty), not {len(value)}")
    return value


def _signing_identity(public_key: bytes) -> KeyIdentity:
    """The counter identity of the transaction-ids of one signing key."""
    return key_identity(CipheringKey.GLOBAL_UNICAST_ENCRYPTION, b"general-signing\x00" + public_key)


def _store(counter_store: InvocationCounterStore | None) -> InvocationCounterStore:
    return default_invocation_counter_store() if counter_store is None else counter_store


def _counter_of(transaction_id: bytes) -> int:
    if not transaction_id:
        raise DecipheringError(
            "a protected APDU without transaction-id: it cannot be checked for replay"
        )
    if len(transaction_id) > 16:
        raise DecipheringError(f"a transaction-id of {len(transaction_id)} bytes (16 at most)")
    return int.from_bytes(transaction_id, "big")


# -- general-signing ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignedApdu:
    """A general-signing APDU whose signature verified: the ``content`` (an APDU) and who
    signed it (``signer_system_title``), with the rest of the header."""

    content: bytes
    signer_system_title: bytes
    recipient_system_title: bytes
    transaction_id: bytes
    date_time: bytes
    other_information: bytes
    security_suite: SecuritySuiteId


def sign_apdu(
    apdu: bytes,
    originator_system_title: bytes,
    recipient_system_title: bytes,
    signing_key: ec.EllipticCurvePrivateKey,
    suite: SecuritySuiteId | int,
    transaction_id: bytes | None = None,
    date_time: bytes | None = None,
    *,
    other_information: bytes = b"",
    counter_store: InvocationCounterStore | None = None,
) -> bytes:
    """``apdu`` wrapped in general-signing, signed by ``signing_key`` (ECDSA with the suite's
    curve and hash, the signature ``r || s``).

    ``transaction_id``: by default the next counter of this signing key in ``counter_store``
    (the process's store by default), 8 bytes big-endian, so the recipient can refuse a
    replay. ``recipient_system_title`` may be empty (a push to whoever listens);
    ``date_time`` is a 12-byte COSEM date-time or None.
    """
    params = _parameters(suite)
    originator = _title(originator_system_title, "originator system title")
    if not apdu:
        raise EncodeError("cannot sign an empty APDU")
    if transaction_id is None:
        identity = _signing_identity(public_key_to_bytes(signing_key))
        counter = _store(counter_store).next_to_send(originator, identity)
        transaction_id = counter.to_bytes(8, "big")
    header = ProtectionHeader(
        bytes(transaction_id),
        originator,
        _recipient(recipient_system_title),
        _date_time(date_time),
        bytes(other_information),
    )
    unsigned = GeneralSigning(header, bytes(apdu), b"")
    signature = ecdsa_sign(signing_key, unsigned.signed_data(), params)
    return GeneralSigning(header, bytes(apdu), signature).encode()


def verify_signed_apdu(
    data: bytes,
    public_key_for: PublicKeyLookup,
    suite: SecuritySuiteId | int,
    *,
    recipient_system_title: bytes | None = None,
    counter_store: InvocationCounterStore | None = None,
    check_replay: bool = True,
) -> SignedApdu:
    """Check a general-signing APDU and return its content and signer.

    ``public_key_for(originator system title)`` gives the signer's public key (None: unknown,
    :class:`UnknownSignerError`). Raises :class:`~asyncdlms.security.suites.SignatureError`
    for a signature that does not verify, :class:`DecipheringError` for an APDU addressed to
    another recipient than ``recipient_system_title`` (when given; an empty recipient is
    anyone), :class:`~asyncdlms.errors.ReplayError` for a transaction-id not greater than the
    last one accepted from this signer (``counter_store``, the process's by default; the
    transaction-id is recorded only after the signature verified) and
    :class:`~asyncdlms.errors.DecodeError` for malformed bytes.
    """
    params = _parameters(suite)
    signed = GeneralSigning.decode(data)
    header = signed.header
    originator = _received_originator(header.originator_system_title, "general-signing")
    public_key = public_key_for(originator)
    if public_key is None:
        raise UnknownSignerError(
            f"no signing public key for system title {originator.hex().upper()}: add its "
            "public key or certificate"
        )
    ecdsa_verify(public_key, signed.signed_data(), signed.signature, params)
    recipient = header.recipient_system_title
    if recipient_system_title is not None and recipient and recipient != recipient_system_title:
        raise DecipheringError(
            f"the signed APDU is addressed to {recipient.hex().upper()}, not to us "
            f"({bytes(recipient_system_title).hex().upper()})"
        )
    if not signed.content:
        raise DecipheringError("a general-signing APDU with empty content")
    if check_replay:
        counter = _counter_of(header.transaction_id)
        identity = _signing_identity(public_key_to_bytes(public_key))
        _store(counter_store).accept_received(originator, identity, counter)
    return SignedApdu(
        signed.content,
        originator,
        recipient,
        header.transaction_id,
        header.date_time,
        header.other_information,
        params.suite,
    )


# -- general-ciphering: how the originator names the key -------------------------------------


@dataclass(frozen=True, slots=True, repr=False)
class GlobalKey:
    """Cipher with a global key the recipient holds (identified-key: ``key_id``); with
    ``send_key_info=False`` the key-info is left out (the recipient then assumes the global
    unicast encryption key)."""

    key: Secret | bytes
    key_id: SymmetricKeyId = SymmetricKeyId.GLOBAL_UNICAST_ENCRYPTION_KEY
    send_key_info: bool = True

    def __repr__(self) -> str:
        return f"GlobalKey(key=****, key_id={self.key_id.name})"


@dataclass(frozen=True, slots=True, repr=False)
class WrappedContentKey:
    """Cipher with a fresh random key sent wrapped (RFC 3394) with the ``master_key`` (KEK)."""

    master_key: Secret | bytes

    def __repr__(self) -> str:
        return "WrappedContentKey(master_key=****)"


@dataclass(frozen=True, slots=True, repr=False)
class OnePassDiffieHellman:
    """Cipher with a key agreed by C(1e, 1s): a fresh ephemeral key of ours, the recipient's
    static key agreement public key, the ephemeral public key signed with our
    ``signing_key``."""

    recipient_key_agreement_key: ec.EllipticCurvePublicKey
    signing_key: ec.EllipticCurvePrivateKey

    def __repr__(self) -> str:
        return "OnePassDiffieHellman(signing_key=****)"


@dataclass(frozen=True, slots=True, repr=False)
class StaticUnifiedModel:
    """Cipher with a key agreed by C(0e, 2s): our static key agreement private key and the
    recipient's static public key."""

    key_agreement_key: ec.EllipticCurvePrivateKey
    recipient_key_agreement_key: ec.EllipticCurvePublicKey

    def __repr__(self) -> str:
        return "StaticUnifiedModel(key_agreement_key=****)"


KeySource = GlobalKey | WrappedContentKey | OnePassDiffieHellman | StaticUnifiedModel


def _secret(value: Secret | bytes, length: int, what: str) -> bytes:
    raw = value.value if isinstance(value, Secret) else bytes(value)
    if len(raw) != length:
        raise EncodeError(f"the {what} of this suite is {length} bytes long, not {len(raw)}")
    return raw


def _aad(sc: int, authentication_key: bytes, header: ProtectionHeader) -> bytes:
    return bytes((sc,)) + authentication_key + header.encode()


def _seal(
    sc: int,
    key: bytes,
    authentication_key: bytes,
    originator: bytes,
    counter: int,
    header: ProtectionHeader,
    plaintext: bytes,
) -> bytes:
    iv = originator + counter.to_bytes(4, "big")
    gcm = AESGCM(key)
    head = bytes((sc,)) + counter.to_bytes(4, "big")
    bits = sc & 0x30
    if bits == 0x30:
        sealed = gcm.encrypt(iv, plaintext, _aad(sc, authentication_key, header))
        return head + sealed[:-16] + sealed[-16 : -16 + TAG_LENGTH]
    if bits == 0x10:
        tag = gcm.encrypt(iv, b"", _aad(sc, authentication_key, header) + plaintext)
        return head + plaintext + tag[:TAG_LENGTH]
    return head + gcm.encrypt(iv, plaintext, None)[:-16]


def _open(
    sc: int,
    key: bytes,
    authentication_key: bytes,
    originator: bytes,
    counter: int,
    header: ProtectionHeader,
    payload: bytes,
) -> bytes | None:
    iv = originator + counter.to_bytes(4, "big")
    gcm = AESGCM(key)
    bits = sc & 0x30
    if bits == 0x20:
        return gcm.encrypt(iv, payload, None)[:-16]
    if len(payload) < TAG_LENGTH:
        raise DecipheringError(
            f"ciphered content too short for its {TAG_LENGTH}-byte authentication tag"
        )
    body, received = payload[:-TAG_LENGTH], payload[-TAG_LENGTH:]
    if bits == 0x30:
        plaintext = gcm.encrypt(iv, body, None)[:-16]
        expected = gcm.encrypt(iv, plaintext, _aad(sc, authentication_key, header))[
            -16 : -16 + TAG_LENGTH
        ]
    else:
        plaintext = body
        expected = gcm.encrypt(iv, b"", _aad(sc, authentication_key, header) + plaintext)[
            :TAG_LENGTH
        ]
    if not hmac.compare_digest(expected, received):
        return None
    return plaintext


def _agreed_identity(scheme: KeyAgreementScheme, *public_keys: bytes) -> KeyIdentity:
    material = b"general-ciphering agreed key\x00" + bytes((int(scheme),)) + b"".join(public_keys)
    return key_identity(CipheringKey.GLOBAL_UNICAST_ENCRYPTION, material)


def _wrapped_identity(master_key: bytes) -> KeyIdentity:
    return key_identity(
        CipheringKey.GLOBAL_UNICAST_ENCRYPTION, b"general-ciphering wrapped key\x00" + master_key
    )


def _global_kind(key_id: SymmetricKeyId) -> CipheringKey:
    if key_id is SymmetricKeyId.GLOBAL_BROADCAST_ENCRYPTION_KEY:
        return CipheringKey.GLOBAL_BROADCAST_ENCRYPTION
    return CipheringKey.GLOBAL_UNICAST_ENCRYPTION


def cipher_general(
    apdu: bytes,
    *,
    originator_system_title: bytes,
    recipient_system_title: bytes,
    suite: SecuritySuiteId | int,
    key: KeySource,
    policy: SecurityPolicy = SecurityPolicy.AUTHENTICATED_ENCRYPTION,
    authentication_key: Secret | bytes | None = None,
    counter_store: InvocationCounterStore | None = None,
    date_time: bytes | None = None,
    other_information: bytes = b"",
    random: Callable[[int], bytes] = os.urandom,
) -> bytes:
    """``apdu`` wrapped in general-ciphering, protected with ``policy`` under the key
    ``key`` names (see :class:`GlobalKey`, :class:`WrappedContentKey`,
    :class:`OnePassDiffieHellman`, :class:`StaticUnifiedModel`).

    The invocation counter comes from ``counter_store`` (the process's store by default) and
    is also the transaction-id (8 bytes). ``authentication_key`` (the suite's key length)
    enters the additional authenticated data when given; the recipient must give the same.
    """
    params = _parameters(suite)
    if not apdu:
        raise EncodeError("cannot cipher an empty APDU")
    originator = _title(originator_system_title, "originator system title")
    recipient = _recipient(recipient_system_title)
    ak = (
        b""
        if authentication_key is None
        else _secret(authentication_key, params.key_length, "authentication key")
    )
    store = _store(counter_store)
    key_info: KeyInfo | None
    if isinstance(key, GlobalKey):
        content_key = _secret(key.key, params.key_length, "global encryption key")
        identity = key_identity(_global_kind(key.key_id), content_key)
        counter = store.next_to_send(originator, identity)
        key_info = IdentifiedKey(key.key_id) if key.send_key_info else None
    elif isinstance(key, WrappedContentKey):
        master = _secret(key.master_key, params.key_length, "master key (KEK)")
        content_key = bytes(random(params.key_length))
        if len(content_key) != params.key_length:
            raise ValueError("the random source gave a key of the wrong length")
        counter = store.next_to_send(originator, _wrapped_identity(master))
        key_info = WrappedKey(aes_key_wrap(master, content_key))
    elif isinstance(key, OnePassDiffieHellman):
        if len(recipient) != _TITLE_LENGTH:
            raise EncodeError("key agreement needs the recipient system title")
        identity = _agreed_identity(
            KeyAgreementScheme.ONE_PASS_DIFFIE_HELLMAN,
            recipient,
            public_key_to_bytes(key.recipient_key_agreement_key),
        )
        counter = store.next_to_send(originator, identity)
        result = one_pass_diffie_hellman(
            suite=params.suite,
            originator_system_title=originator,
            recipient_system_title=recipient,
            recipient_key_agreement_key=key.recipient_key_agreement_key,
            signing_key=key.signing_key,
        )
        content_key, key_info = result.key.value, result.agreed_key
    elif isinstance(key, StaticUnifiedModel):
        if len(recipient) != _TITLE_LENGTH:
            raise EncodeError("key agreement needs the recipient system title")
        identity = _agreed_identity(
            KeyAgreementScheme.STATIC_UNIFIED_MODEL,
            public_key_to_bytes(key.key_agreement_key),
            public_key_to_bytes(key.recipient_key_agreement_key),
        )
        counter = store.next_to_send(originator, identity)
        result = static_unified_model(
            suite=params.suite,
            originator_system_title=originator,
            recipient_system_title=recipient,
            transaction_id=counter.to_bytes(8, "big"),
            key_agreement_key=key.key_agreement_key,
            peer_key_agreement_key=key.recipient_key_agreement_key,
        )
        content_key, key_info = result.key.value, result.agreed_key
    else:
        raise TypeError(f"unknown key source {type(key).__name__}")
    header = ProtectionHeader(
        counter.to_bytes(8, "big"),
        originator,
        recipient,
        _date_time(date_time),
        bytes(other_information),
    )
    sc = int(SecurityPolicy(policy)) | int(params.suite)
    if isinstance(key, GlobalKey) and key.key_id is SymmetricKeyId.GLOBAL_BROADCAST_ENCRYPTION_KEY:
        sc |= 0x40  # the key set bit: the global broadcast key
    content = _seal(sc, content_key, ak, originator, counter, header, bytes(apdu))
    return GeneralCiphering(header, key_info, content).encode()


# -- general-ciphering: the recipient --------------------------------------------------------


@dataclass(frozen=True, slots=True, repr=False)
class GeneralCipheringKeys:
    """What the recipient of general-ciphering APDUs holds.

    ``system_title``: ours (an APDU addressed to another recipient is refused; an empty
    recipient is anyone). ``block_cipher_key``/``broadcast_key``: the global keys
    (identified-key, or no key-info); ``master_key``: the KEK of wrapped keys;
    ``key_agreement_key``: our static key agreement private key (agreed keys);
    ``signing_key_for``/``key_agreement_key_for``: the originator's signing public key
    (C(1e, 1s): it signed its ephemeral key) and static key agreement public key
    (C(0e, 2s)) by system title. ``authentication_key``: as the originator gave it.
    """

    system_title: bytes | None = None
    block_cipher_key: Secret | None = None
    broadcast_key: Secret | None = None
    master_key: Secret | None = None
    authentication_key: Secret | None = None
    key_agreement_key: ec.EllipticCurvePrivateKey | None = None
    signing_key_for: PublicKeyLookup | None = None
    key_agreement_key_for: PublicKeyLookup | None = None

    def __repr__(self) -> str:
        present = [
            name
            for name in (
                "block_cipher_key",
                "broadcast_key",
                "master_key",
                "authentication_key",
                "key_agreement_key",
            )
            if getattr(self, name) is not None
        ]
        title = None if self.system_title is None else self.system_title.hex().upper()
        keys = ", ".join(f"{name}=****" for name in present)
        return f"GeneralCipheringKeys(system_title={title}, {keys})"


@dataclass(frozen=True, slots=True)
class DecipheredGeneral:
    """A general-ciphering APDU after :func:`decipher_general`: the plain ``apdu``, the
    header, the key-info (None: absent), the security control byte and the counter."""

    apdu: bytes
    header: ProtectionHeader
    key_info: KeyInfo | None
    security_control: SecurityControl
    invocation_counter: int

    @property
    def originator_system_title(self) -> bytes:
        """The sender's system title."""
        return self.header.originator_system_title

    @property
    def key_agreement(self) -> KeyAgreementScheme | None:
        """The key agreement scheme of an agreed key, else None."""
        return self.key_info.scheme if isinstance(self.key_info, AgreedKey) else None


def _need(value: object, what: str) -> None:
    if value is None:
        raise DecipheringError(f"this general-ciphering APDU needs {what}, which is not given")


def decipher_general(
    data: bytes,
    keys: GeneralCipheringKeys,
    *,
    counter_store: InvocationCounterStore | None = None,
    security_suites: Collection[int] = _ASYMMETRIC_SUITES,
    required_policy: SecurityPolicy | None = None,
) -> DecipheredGeneral:
    """Decipher a general-ciphering APDU with the recipient's ``keys``.

    Raises :class:`~asyncdlms.errors.AuthenticationTagError` (tag mismatch — no plaintext),
    :class:`~asyncdlms.security.suites.SignatureError` (a C(1e, 1s) ephemeral key whose
    signature does not verify), :class:`UnknownSignerError` (no public key for the
    originator), :class:`~asyncdlms.errors.ReplayError` (an invocation counter not greater
    than the last one accepted from the originator under that key), :class:`SecurityPolicyError`
    (another suite, or less protection than ``required_policy``) and
    :class:`DecipheringError`/:class:`DecodeError` for anything malformed or missing.
    """
    apdu = GeneralCiphering.decode(data)
    header = apdu.header
    originator = _received_originator(header.originator_system_title, "general-ciphering")
    recipient = header.recipient_system_title
    if keys.system_title is not None and recipient and recipient != keys.system_title:
        raise DecipheringError(
            f"the APDU is addressed to {recipient.hex().upper()}, not to us "
            f"({keys.system_title.hex().upper()})"
        )
    content = apdu.ciphered_content
    if len(content) < _HEADER_LENGTH:
        raise DecipheringError(
            f"ciphered content of {len(content)} bytes cannot hold the 5-byte security header"
        )
    sc = content[0]
    control = SecurityControl.from_byte(sc)
    if control.compression:
        raise DecipheringError(f"security control 0x{sc:02x} asks for compression (unsupported)")
    if control.security_suite not in security_suites or control.security_suite not in (1, 2):
        raise SecurityPolicyError(
            f"security control 0x{sc:02x} names security suite {control.security_suite}; "
            f"accepted: {', '.join(str(s) for s in sorted(security_suites))}"
        )
    if control.policy is None:
        raise SecurityPolicyError(f"security control 0x{sc:02x} neither authenticates nor encrypts")
    if required_policy is not None and sc & int(required_policy) != int(required_policy):
        raise SecurityPolicyError(
            f"security control 0x{sc:02x} protects less than required "
            f"({SecurityPolicy(required_policy).name.lower()})"
        )
    params = suite_parameters(control.security_suite)
    counter = int.from_bytes(content[1:_HEADER_LENGTH], "big")
    key_info = apdu.key_info
    content_key: bytes
    identity: KeyIdentity
    broadcast = SymmetricKeyId.GLOBAL_BROADCAST_ENCRYPTION_KEY
    if key_info is None or isinstance(key_info, IdentifiedKey):
        if key_info is None:  # the key set bit of the security control byte says which
            key_id = broadcast if control.broadcast_key else SymmetricKeyId(0)
        else:
            key_id = key_info.key_id
            if (key_id is broadcast) != control.broadcast_key:
                raise DecipheringError(
                    f"the key-info names the {key_id.name.lower().replace('_', ' ')} but the "
                    f"security control byte 0x{sc:02x} the other global key"
                )
        secret = keys.broadcast_key if key_id is broadcast else keys.block_cipher_key
        _need(secret, f"the {key_id.name.lower().replace('_', ' ')}")
        assert secret is not None
        content_key = _received_key(secret, params, "global encryption key")
        identity = key_identity(_global_kind(key_id), content_key)
    elif control.broadcast_key:
        raise DecipheringError(
            f"security control 0x{sc:02x} names the broadcast key, but the key-info "
            "carries a wrapped or agreed key"
        )
    elif isinstance(key_info, WrappedKey):
        _need(keys.master_key, "the master key (KEK)")
        assert keys.master_key is not None
        master = _received_key(keys.master_key, params, "master key (KEK)")
        try:
            content_key = aes_key_unwrap(master, bytes(key_info.key_ciphered_data))
        except (InvalidUnwrap, ValueError):
            raise DecipheringError(
                "AES key unwrap failed: check the master key (KEK), or the wrapped key is damaged"
            ) from None
        if len(content_key) != params.key_length:
            raise DecipheringError("the wrapped key is not a key of this suite")
        identity = _wrapped_identity(master)
    else:
        content_key, identity = _agreed_key(key_info, keys, params, header, recipient)
    ak = (
        b""
        if keys.authentication_key is None
        else _received_key(keys.authentication_key, params, "authentication key")
    )
    plaintext = _open(sc, content_key, ak, originator, counter, header, content[_HEADER_LENGTH:])
    if plaintext is None:
        raise AuthenticationTagError(
            "authentication tag mismatch in general-ciphering — check the keys, the "
            f"authentication key and the key agreement keys (security control 0x{sc:02x}, "
            f"invocation counter {counter}, originator {originator.hex().upper()})"
        )
    if not plaintext:
        raise DecipheringError("a general-ciphering APDU with nothing inside")
    _store(counter_store).accept_received(originator, identity, counter)
    return DecipheredGeneral(plaintext, header, key_info, control, counter)


def _received_key(secret: Secret, params: SuiteParameters, what: str) -> bytes:
    raw = secret.value
    if len(raw) != params.key_length:
        raise DecipheringError(
            f"the {what} is {len(raw)} bytes; security suite {int(params.suite)} uses "
            f"{params.key_length}-byte keys"
        )
    return raw


def _agreed_key(
    key_info: AgreedKey,
    keys: GeneralCipheringKeys,
    params: SuiteParameters,
    header: ProtectionHeader,
    recipient: bytes,
) -> tuple[bytes, KeyIdentity]:
    scheme = key_info.scheme
    if scheme is None:
        raise DecipheringError(
            f"unknown key agreement key-parameters {key_info.key_parameters.hex()} "
            "(0x01 C(1e, 1s), 0x02 C(0e, 2s))"
        )
    _need(keys.key_agreement_key, "our key agreement private key")
    assert keys.key_agreement_key is not None
    our_title = recipient or keys.system_title
    if our_title is None or len(our_title) != _TITLE_LENGTH:
        raise DecipheringError("key agreement needs the recipient system title")
    originator = header.originator_system_title
    own_public = public_key_to_bytes(keys.key_agreement_key)
    try:
        if scheme is KeyAgreementScheme.ONE_PASS_DIFFIE_HELLMAN:
            lookup = keys.signing_key_for
            signer = None if lookup is None else lookup(originator)
            if signer is None:
                raise UnknownSignerError(
                    f"no signing public key for system title {originator.hex().upper()}: its "
                    "ephemeral key cannot be checked"
                )
            key = derive_one_pass_diffie_hellman(
                key_info,
                suite=params.suite,
                originator_system_title=originator,
                recipient_system_title=our_title,
                key_agreement_key=keys.key_agreement_key,
                originator_signing_key=signer,
            )
            return key.value, _agreed_identity(scheme, our_title, own_public)
        if key_info.key_ciphered_data:
            raise DecipheringError("a C(0e, 2s) agreed key carries no key-ciphered-data")
        lookup = keys.key_agreement_key_for
        peer = None if lookup is None else lookup(originator)
        if peer is None:
            raise UnknownSignerError(
                f"no key agreement public key for system title {originator.hex().upper()}"
            )
        key = derive_static_unified_model(
            suite=params.suite,
            originator_system_title=originator,
            recipient_system_title=our_title,
            transaction_id=header.transaction_id,
            key_agreement_key=keys.key_agreement_key,
            originator_key_agreement_key=peer,
        )
        return key.value, _agreed_identity(scheme, public_key_to_bytes(peer), own_public)
    except ValueError as exc:
        if isinstance(exc, DecodeError):
            raise
        raise DecipheringError(f"key agreement failed: {exc}") from None


# -- both, nested ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProtectionLayer:
    """One layer peeled by :func:`unprotect_general`: ``kind`` is ``"general-signing"`` or
    ``"general-ciphering"``, ``originator_system_title`` who applied it, and ``signed``/
    ``deciphered`` the details of that layer."""

    kind: str
    originator_system_title: bytes
    signed: SignedApdu | None = None
    deciphered: DecipheredGeneral | None = None


@dataclass(frozen=True, slots=True)
class UnprotectedApdu:
    """The APDU inside general-signing/general-ciphering layers, and the layers, outermost
    first."""

    apdu: bytes
    layers: tuple[ProtectionLayer, ...] = field(default_factory=tuple)

    @property
    def signer_system_title(self) -> bytes | None:
        """Who signed (the innermost signature), or None when nothing was signed."""
        for layer in reversed(self.layers):
            if layer.signed is not None:
                return layer.signed.signer_system_title
        return None

    @property
    def signed(self) -> bool:
        """Whether a verified signature covered the APDU."""
        return any(layer.signed is not None for layer in self.layers)


def unprotect_general(
    data: bytes,
    *,
    signing_key_for: PublicKeyLookup | None = None,
    keys: GeneralCipheringKeys | None = None,
    suites: Collection[int] = _ASYMMETRIC_SUITES,
    counter_store: InvocationCounterStore | None = None,
    max_layers: int = 4,
) -> UnprotectedApdu:
    """Peel general-signing and general-ciphering layers, in whatever order they nest, until
    an APDU of another kind remains. A signature is checked with ``signing_key_for`` and
    the suite named by ``suites`` whose signature length matches (an APDU that verifies
    under neither is refused); ciphering with ``keys``. More than ``max_layers`` layers are
    refused (:class:`DecipheringError`)."""
    layers: list[ProtectionLayer] = []
    current = bytes(data)
    lookup = signing_key_for
    if lookup is None and keys is not None:
        lookup = keys.signing_key_for
    while current and current[0] in (_GENERAL_SIGNING, _GENERAL_CIPHERING):
        if len(layers) >= max_layers:
            raise DecipheringError(f"more than {max_layers} nested protection layers")
        if current[0] == _GENERAL_SIGNING:
            if lookup is None:
                raise UnknownSignerError("a general-signing APDU, and no signing keys are given")
            suite = _suite_of_signature(current, suites)
            signed = verify_signed_apdu(
                current,
                lookup,
                suite,
                recipient_system_title=None if keys is None else keys.system_title,
                counter_store=counter_store,
            )
            layers.append(
                ProtectionLayer("general-signing", signed.signer_system_title, signed=signed)
            )
            current = signed.content
        else:
            if keys is None:
                raise DecipheringError("a general-ciphering APDU, and no keys are given")
            deciphered = decipher_general(
                current, keys, counter_store=counter_store, security_suites=suites
            )
            layers.append(
                ProtectionLayer(
                    "general-ciphering", deciphered.originator_system_title, deciphered=deciphered
                )
            )
            current = deciphered.apdu
    return UnprotectedApdu(current, tuple(layers))


def _suite_of_signature(data: bytes, suites: Collection[int]) -> SecuritySuiteId:
    """The suite whose signature length the general-signing APDU carries."""
    signature = GeneralSigning.decode(data).signature
    for suite in sorted(suites):
        if suite in _ASYMMETRIC_SUITES and suite_parameters(suite).signature_length == len(
            signature
        ):
            return SecuritySuiteId(suite)
    raise DecipheringError(
        f"a signature of {len(signature)} bytes fits none of the accepted suites "
        f"({', '.join(str(s) for s in sorted(suites))}: 64 bytes for suite 1, 96 for suite 2)"
    )
