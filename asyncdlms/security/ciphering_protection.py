"""General-ciphering of an association's APDUs under keys agreed by ECDH: an
:class:`~asyncdlms.session.pipeline.ApduProtection` for either role (security suites 1 and 2).

Give it to a client as ``ClientSettings(protection=...)`` (or a factory making one per
association) and to our server as ``ServerSettings(protection_factory=...)``: every xDLMS APDU
sent — the InitiateRequest/Response in the AARQ/AARE included — goes in general-ciphering
(:func:`~asyncdlms.security.general.cipher_general`) under a key agreed for that APDU alone:

* ``key_agreement="ephemeral-static"``: One-Pass Diffie-Hellman C(1e, 1s) — a fresh ephemeral
  key pair per APDU, its public key signed with our signing key; the recipient uses its static
  key agreement key and checks the signature with our signing public key;
* ``key_agreement="static-unified"``: the Static Unified Model C(0e, 2s) — both parties'
  static key agreement keys, the transaction-id (the invocation counter) in the KDF.

Every APDU received must come in general-ciphering under the same scheme and suite, from the
peer, addressed to us (or to anyone), with at least our security ``policy`` and a valid tag
(:class:`~asyncdlms.errors.AuthenticationTagError`), a valid ephemeral-key signature
(:class:`~asyncdlms.security.suites.SignatureError`), a known peer
(:class:`~asyncdlms.security.general.UnknownSignerError`) and a counter above the last one
accepted (:class:`~asyncdlms.errors.ReplayError`); a plain APDU other than the ``allow_plain``
tags is a :class:`~asyncdlms.errors.SecurityPolicyError`. ``inner``: a protection applied
first and removed last, e.g. a
:class:`~asyncdlms.security.signing_protection.GeneralSigningProtection` (signed, then
ciphered); for ciphered-then-signed, give this protection as the ``inner`` of a
:class:`~asyncdlms.security.signing_protection.GeneralSigningProtection`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Final, Literal

from cryptography.hazmat.primitives.asymmetric import ec

from ..apdu.general_protection import AgreedKey, GeneralCiphering, KeyAgreementScheme
from ..apdu.tags import ApduTag
from ..errors import DecipheringError, EncodeError, SecurityPolicyError
from .ciphering import SecurityPolicy
from .counters import InvocationCounterStore
from .general import (
    GeneralCipheringKeys,
    KeySource,
    OnePassDiffieHellman,
    PublicKeyLookup,
    StaticUnifiedModel,
    cipher_general,
    decipher_general,
    plain_or_protected,
)
from .hls import Secret
from .suites import suite_parameters

if TYPE_CHECKING:
    from ..session.pipeline import ApduProtection

__all__ = ["KEY_AGREEMENTS", "GeneralCipheringProtection", "KeyAgreementName"]

KeyAgreementName = Literal["ephemeral-static", "static-unified"]
"""How the key of each APDU is agreed (see the module documentation)."""

KEY_AGREEMENTS: Final[dict[str, KeyAgreementScheme]] = {
    "ephemeral-static": KeyAgreementScheme.ONE_PASS_DIFFIE_HELLMAN,
    "static-unified": KeyAgreementScheme.STATIC_UNIFIED_MODEL,
}
"""The ``key_agreement`` names and the schemes they select."""

_GENERAL_CIPHERING = int(ApduTag.GENERAL_CIPHERING)
_DEFAULT_PLAIN = (ApduTag.EXCEPTION_RESPONSE, ApduTag.CONFIRMED_SERVICE_ERROR)
# tag, five header octet strings (8-byte transaction-id and system titles, empty date-time and
# other-information), key-info flag, choice, key-parameters, key-ciphered-data length (<= 3),
# ciphered-content length (<= 3 below 64 KiB), security header and authentication tag
_FIXED_OVERHEAD: Final = 1 + 3 * (1 + 8) + 2 + 1 + 1 + 2 + 3 + 3 + 5 + 12


def _lookup(
    value: ec.EllipticCurvePublicKey | PublicKeyLookup | None,
) -> PublicKeyLookup | None:
    if value is None or not isinstance(value, ec.EllipticCurvePublicKey):
        return value
    fixed = value
    return lambda _title: fixed


class GeneralCipheringProtection:
    """Cipher what we send, decipher what we receive (see the module documentation).

    ``system_title``: ours; ``key_agreement_key``: our static ECDH private key (the key
    agreement key pair of the suite); ``peer_key_agreement_key``: the peer's static ECDH
    public key, or a lookup system title → public key; ``suite``: 1 or 2;
    ``key_agreement``: ``"ephemeral-static"`` (then ``signing_key``, our ECDSA private key,
    and ``peer_signing_key``, the peer's public key or a lookup, are needed) or
    ``"static-unified"``; ``peer_system_title``: the peer's (a client must give it; a server
    may leave it out and learns it from the first APDU received, the AARQ's); ``policy``:
    authenticated and encrypted (default), authenticated only or encrypted only (the security
    control byte of general-ciphering has no "none"), received APDUs must have at least it;
    ``authentication_key``: enters the additional authenticated data when given (both ends
    then need it); ``counter_store``: the invocation counters and transaction-ids (the
    process's store by default); ``allow_plain``: tags that may arrive plain.
    """

    __slots__ = (
        "_allow_plain",
        "_authentication_key",
        "_counter_store",
        "_inner",
        "_key_agreement_key",
        "_peer_key_agreement_key",
        "_peer_signing_key",
        "_peer_system_title",
        "_policy",
        "_scheme",
        "_signing_key",
        "_suite",
        "_system_title",
    )

    def __init__(
        self,
        *,
        system_title: bytes,
        key_agreement_key: ec.EllipticCurvePrivateKey,
        peer_key_agreement_key: ec.EllipticCurvePublicKey | PublicKeyLookup,
        suite: int,
        key_agreement: KeyAgreementName = "ephemeral-static",
        signing_key: ec.EllipticCurvePrivateKey | None = None,
        peer_signing_key: ec.EllipticCurvePublicKey | PublicKeyLookup | None = None,
        peer_system_title: bytes | None = None,
        policy: SecurityPolicy = SecurityPolicy.AUTHENTICATED_ENCRYPTION,
        authentication_key: Secret | bytes | None = None,
        inner: ApduProtection | None = None,
        counter_store: InvocationCounterStore | None = None,
        allow_plain: Iterable[int] = _DEFAULT_PLAIN,
    ) -> None:
        titles = [system_title] + ([] if peer_system_title is None else [peer_system_title])
        if any(len(title) != 8 for title in titles):
            raise ValueError("a system title is 8 bytes long")
        params = suite_parameters(suite)
        if not params.asymmetric:
            raise ValueError(
                f"general-ciphering with key agreement needs suite 1 or 2, not {suite}"
            )
        scheme = KEY_AGREEMENTS.get(key_agreement)
        if scheme is None:
            raise ValueError(
                f"key_agreement {key_agreement!r}: 'ephemeral-static' or 'static-unified'"
            )
        if scheme is KeyAgreementScheme.ONE_PASS_DIFFIE_HELLMAN and (
            signing_key is None or peer_signing_key is None
        ):
            raise ValueError(
                "ephemeral-static key agreement needs signing_key (ours, to sign our ephemeral "
                "keys) and peer_signing_key (to check the peer's)"
            )
        try:
            policy = SecurityPolicy(policy)
        except ValueError:
            raise ValueError(
                f"policy {policy!r}: general-ciphering authenticates, encrypts, or both"
            ) from None
        if inner is not None and not (hasattr(inner, "protect") and hasattr(inner, "unprotect")):
            raise TypeError("inner must be an ApduProtection (protect/unprotect)")
        self._suite = params.suite
        self._scheme = scheme
        self._system_title = bytes(system_title)
        self._key_agreement_key = key_agreement_key
        self._peer_key_agreement_key = _lookup(peer_key_agreement_key)
        self._signing_key = signing_key
        self._peer_signing_key = _lookup(peer_signing_key)
        self._peer_system_title = None if peer_system_title is None else bytes(peer_system_title)
        self._policy = SecurityPolicy(policy)
        self._authentication_key = (
            None
            if authentication_key is None
            else authentication_key
            if isinstance(authentication_key, Secret)
            else Secret(bytes(authentication_key))
        )
        self._inner = inner
        self._counter_store = counter_store
        self._allow_plain = frozenset(int(tag) for tag in allow_plain)

    def __repr__(self) -> str:
        peer = None if self._peer_system_title is None else self._peer_system_title.hex().upper()
        name = next(n for n, s in KEY_AGREEMENTS.items() if s is self._scheme)
        return (
            f"GeneralCipheringProtection(system_title={self._system_title.hex().upper()}, "
            f"peer_system_title={peer}, suite={int(self._suite)}, key_agreement={name}, "
            f"policy={self._policy.name}, keys=****)"
        )

    @property
    def ciphered(self) -> bool:
        """Always: the association uses an application context with ciphering."""
        return True

    @property
    def peer_system_title(self) -> bytes | None:
        """The peer's system title (given, or learnt from the first APDU received)."""
        return self._peer_system_title

    @property
    def overhead(self) -> int:
        """The most bytes :meth:`protect` adds (for APDUs below 64 KiB): the general-ciphering
        header, the agreed key-info (with the signed ephemeral public key of C(1e, 1s)), the
        security header and the tag, plus the inner protection's."""
        signature = suite_parameters(self._suite).signature_length
        ephemeral = (
            2 * signature if self._scheme is KeyAgreementScheme.ONE_PASS_DIFFIE_HELLMAN else 0
        )
        return _FIXED_OVERHEAD + ephemeral + int(getattr(self._inner, "overhead", 0))

    def _key_source(self, peer: bytes) -> KeySource:
        lookup = self._peer_key_agreement_key
        peer_key = None if lookup is None else lookup(peer)
        if peer_key is None:
            raise EncodeError(f"no key agreement public key for the peer {peer.hex().upper()}")
        if self._scheme is KeyAgreementScheme.ONE_PASS_DIFFIE_HELLMAN:
            assert self._signing_key is not None
            return OnePassDiffieHellman(peer_key, self._signing_key)
        return StaticUnifiedModel(self._key_agreement_key, peer_key)

    def protect(self, apdu: bytes) -> bytes:
        """``apdu`` (protected by the inner protection first) in general-ciphering under a key
        agreed for it."""
        peer = self._peer_system_title
        if peer is None:
            raise EncodeError(
                "general-ciphering with key agreement needs the peer's system title: give "
                "peer_system_title (a server learns it from the AARQ)"
            )
        if self._inner is not None:
            apdu = self._inner.protect(apdu)
        return cipher_general(
            apdu,
            originator_system_title=self._system_title,
            recipient_system_title=peer,
            suite=self._suite,
            key=self._key_source(peer),
            policy=self._policy,
            authentication_key=self._authentication_key,
            counter_store=self._counter_store,
        )

    def unprotect(self, apdu: bytes) -> bytes:
        """The APDU inside a received general-ciphering one (see the module documentation)."""
        data, protected = plain_or_protected(
            apdu,
            _GENERAL_CIPHERING,
            self._allow_plain,
            "not in general-ciphering: this association ciphers every APDU under an agreed key",
        )
        if not protected:
            return data
        ciphered = GeneralCiphering.decode(data)
        key_info = ciphered.key_info
        if not isinstance(key_info, AgreedKey) or key_info.scheme is not self._scheme:
            used = "no key-info" if key_info is None else type(key_info).__name__
            if isinstance(key_info, AgreedKey):
                used = f"key agreement {key_info.key_parameters.hex()}"
            raise SecurityPolicyError(
                f"a general-ciphering APDU with {used} refused: this association agrees its "
                f"keys by {self._scheme.name}",
                0,
            )
        originator = ciphered.header.originator_system_title
        peer = self._peer_system_title
        if peer is not None and originator != peer:
            raise DecipheringError(
                f"a general-ciphering APDU from {originator.hex().upper()}, not from the peer "
                f"{peer.hex().upper()}"
            )
        keys = GeneralCipheringKeys(
            system_title=self._system_title,
            authentication_key=self._authentication_key,
            key_agreement_key=self._key_agreement_key,
            signing_key_for=self._peer_signing_key,
            key_agreement_key_for=self._peer_key_agreement_key,
        )
        deciphered = decipher_general(
            data,
            keys,
            counter_store=self._counter_store,
            security_suites=(int(self._suite),),
            required_policy=self._policy,
        )
        if peer is None:
            self._peer_system_title = deciphered.originator_system_title
        if self._inner is not None:
            return self._inner.unprotect(deciphered.apdu)
        return deciphered.apdu
