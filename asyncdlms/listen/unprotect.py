"""Opening protected pushes: glo-/ded-/general-glo-/general-ded-ciphering (security suites
0, 1 and 2) and the general-signing / general-ciphering layers of suites 1 and 2, for the
sans-IO :class:`~asyncdlms.listen.receiver.PushReceiver` (which owns the framing, the
reassembly and the events; this module owns the keys, the counters and the checks).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec

from ..apdu.general_protection import (
    AgreedKey,
    GeneralCiphering,
    GeneralSigning,
    IdentifiedKey,
    KeyAgreementScheme,
    WrappedKey,
)
from ..apdu.tags import ApduTag
from ..errors import DecipheringError, DecodeError, SecurityPolicyError
from ..security.certificates import suite_of_key
from ..security.ciphering import (
    AUTHENTICATION_TAG_LENGTH,
    DEDICATED_TAGS,
    GLOBAL_TAGS,
    SECURITY_HEADER_LENGTH,
    SYSTEM_TITLE_LENGTH,
    CipheredApdu,
    SecurityControl,
    decipher,
)
from ..security.counters import CipheringKey, InvocationCounterStore, key_identity
from ..security.general import (
    GeneralCipheringKeys,
    UnknownSignerError,
    decipher_general,
    verify_signed_apdu,
)
from ..security.hls import Secret
from .errors import UnknownSenderError, UnsupportedSecuritySuiteError
from .keys import KeySet, KeyStore
from .notification import AppliedSecurity, CipheredForm, PushSignature

__all__ = [
    "CIPHERED_TAGS",
    "GENERAL_TAGS",
    "Deciphered",
    "PushUnprotection",
    "general_originator",
    "tag_name",
]

logger = logging.getLogger("asyncdlms.listen")

_GLOBAL_FORMS = frozenset(GLOBAL_TAGS.values())
_DEDICATED_FORMS = frozenset(DEDICATED_TAGS.values())
_GENERAL_GLO = int(ApduTag.GENERAL_GLO_CIPHERING)
_GENERAL_DED = int(ApduTag.GENERAL_DED_CIPHERING)
CIPHERED_TAGS = _GLOBAL_FORMS | _DEDICATED_FORMS | {_GENERAL_GLO, _GENERAL_DED}
"""The tags of the suite 0-style ciphered APDUs (glo-, ded-, general-glo-, general-ded-)."""
_SUPPORTED_SUITES = (0, 1, 2)  # AES-GCM-128 (0, 1, 16-byte keys) and AES-GCM-256 (2, 32 bytes)
_SUITE_KEY_LENGTHS = {0: 16, 1: 16, 2: 32}
_AUTHENTICATION = 0x10
_ENCRYPTION = 0x20
_BROADCAST = 0x40
_COMPRESSION = 0x80
# decipher() wants an authentication key even where the policy (encryption only) uses none
_UNUSED_AUTHENTICATION_KEYS = {length: Secret(bytes(length)) for length in (16, 32)}
_GENERAL_SIGNING = int(ApduTag.GENERAL_SIGNING)
_GENERAL_CIPHERING = int(ApduTag.GENERAL_CIPHERING)
GENERAL_TAGS = frozenset({_GENERAL_SIGNING, _GENERAL_CIPHERING})
"""The tags of the suite 1/2 protection layers (general-signing, general-ciphering)."""
_MAX_GENERAL_LAYERS = 4


@dataclass(frozen=True, slots=True)
class _Fixed:
    """A public key lookup that answers one key (the one of the key set already found)."""

    key: ec.EllipticCurvePublicKey

    def __call__(self, system_title: bytes) -> ec.EllipticCurvePublicKey:
        return self.key


def general_originator(apdu: bytes) -> bytes | None:
    """The originator system title of a general-signing / general-ciphering APDU, when it
    can be read and is 8 bytes."""
    try:
        if apdu[:1] == bytes((_GENERAL_SIGNING,)):
            title = GeneralSigning.decode(apdu).header.originator_system_title
        else:
            title = GeneralCiphering.decode(apdu).header.originator_system_title
    except DecodeError:
        return None
    return title if len(title) == SYSTEM_TITLE_LENGTH else None


def tag_name(tag: int) -> str:
    try:
        return f"{ApduTag(tag).name.lower().replace('_', '-')} (0x{tag:02x})"
    except ValueError:
        return f"tag 0x{tag:02x}"


@dataclass(frozen=True, slots=True)
class Deciphered:
    """A deciphered push: the APDU inside, its sender and how it was protected."""

    plaintext: bytes
    system_title: bytes
    security: AppliedSecurity
    title_carried: bool
    """Whether the ciphered APDU carried the system title (general-glo/general-ded)."""


class PushUnprotection:
    """What a push receiver needs to open protected pushes: the senders' keys, the received
    counters (replays), and for suites 1 and 2 our key agreement key and system title.
    See :class:`~asyncdlms.listen.receiver.PushReceiver` for the meaning of each."""

    def __init__(
        self,
        keys: KeyStore,
        counter_store: InvocationCounterStore,
        *,
        unsafe_skip_tag_check: bool = False,
        key_agreement_key: ec.EllipticCurvePrivateKey | None = None,
        recipient_system_title: bytes | None = None,
    ) -> None:
        self.keys = keys
        self.counter_store = counter_store
        self.unsafe_skip_tag_check = unsafe_skip_tag_check
        self.key_agreement_key = key_agreement_key
        self.recipient_system_title = recipient_system_title
        self._warned_unverified: set[bytes] = set()

    def open_general(
        self, apdu: bytes
    ) -> tuple[bytes, bytes | None, AppliedSecurity | None, PushSignature | None]:
        """Peel general-signing / general-ciphering layers (suites 1 and 2): the APDU inside,
        the originator's system title, how it was ciphered and who signed it."""
        security: AppliedSecurity | None = None
        signature: PushSignature | None = None
        title: bytes | None = None
        current = apdu
        for _ in range(_MAX_GENERAL_LAYERS):
            if not current or current[0] not in GENERAL_TAGS:
                return current, title, security, signature
            originator = general_originator(current)
            if originator is None:
                raise DecipheringError(
                    f"{tag_name(current[0])} whose originator system title is not 8 bytes: "
                    "its sender cannot be known"
                )
            key_set = self.keys.keys_for(originator)
            if title is None:
                title = originator
            if current[0] == _GENERAL_SIGNING:
                signing_key = None if key_set is None else key_set.signing_public_key
                if signing_key is None:
                    raise UnknownSignerError(
                        f"a signed push from {originator.hex().upper()}, whose signing public "
                        "key or certificate is not in the key store: add signing_public_key"
                    )
                suite = suite_of_key(signing_key)
                signed = verify_signed_apdu(
                    current,
                    _Fixed(signing_key),
                    suite,
                    recipient_system_title=self.recipient_system_title,
                    counter_store=self.counter_store,
                )
                if signature is None:  # the outermost signature names the push's signer
                    signature = PushSignature(
                        signed.signer_system_title,
                        signed.transaction_id,
                        int(signed.security_suite),
                        signed.date_time,
                    )
                current = signed.content
                continue
            deciphered = decipher_general(
                current,
                self._general_keys(current, key_set),
                counter_store=self.counter_store,
            )
            control = deciphered.security_control
            info = deciphered.key_info
            key_info = (
                "identified-key"
                if info is None or isinstance(info, IdentifiedKey)
                else "wrapped-key"
                if isinstance(info, WrappedKey)
                else "ephemeral-static"
                if deciphered.key_agreement is KeyAgreementScheme.ONE_PASS_DIFFIE_HELLMAN
                else "static-unified"
            )
            kind = (
                CipheringKey.GLOBAL_BROADCAST_ENCRYPTION
                if control.broadcast_key
                else CipheringKey.GLOBAL_UNICAST_ENCRYPTION
            )
            security = AppliedSecurity(
                control,
                deciphered.invocation_counter,
                "general-ciphering",
                kind,
                control.authentication,
                key_info,
            )
            current = deciphered.apdu
        raise DecipheringError(f"more than {_MAX_GENERAL_LAYERS} nested protection layers")

    def _general_keys(self, apdu: bytes, key_set: KeySet | None) -> GeneralCipheringKeys:
        """The recipient's keys for one general-ciphering APDU of the sender ``key_set``.
        The sender's authentication key enters the additional authenticated data with its
        global keys (identified key); an agreed key is authenticated by the key agreement."""
        agreed = isinstance(GeneralCiphering.decode(apdu).key_info, AgreedKey)

        def signing_key_for(title: bytes) -> ec.EllipticCurvePublicKey | None:
            found = self.keys.keys_for(title)
            return None if found is None else found.signing_public_key

        def key_agreement_key_for(title: bytes) -> ec.EllipticCurvePublicKey | None:
            found = self.keys.keys_for(title)
            return None if found is None else found.key_agreement_public_key

        return GeneralCipheringKeys(
            system_title=self.recipient_system_title,
            block_cipher_key=None if key_set is None else key_set.block_cipher_key,
            broadcast_key=None if key_set is None else key_set.broadcast_key,
            authentication_key=None if key_set is None or agreed else key_set.authentication_key,
            key_agreement_key=self.key_agreement_key,
            signing_key_for=signing_key_for,
            key_agreement_key_for=key_agreement_key_for,
        )

    def decipher(self, apdu: bytes, source: object, known_title: bytes | None) -> Deciphered:
        """Decipher a glo-/ded-/general-glo-/general-ded-ciphered push of ``source``
        (named in errors); ``known_title``: the sender's system title when the APDU does not
        carry it. The invocation counter is recorded only once the tag checked."""
        ciphered = CipheredApdu.decode(apdu)
        tag = ciphered.tag
        form: CipheredForm
        if tag == _GENERAL_GLO:
            form = "general-glo"
        elif tag == _GENERAL_DED:
            form = "general-ded"
        else:
            form = "ded" if ciphered.dedicated else "glo"
        title = ciphered.system_title or None
        if title is None:
            title = known_title
        if title is None:
            raise UnknownSenderError(
                f"{tag_name(tag)} from {source!r} carries no system title and none is known "
                "for this source: give the receiver system_titles={source: TITLE}"
            )
        key_set = self.keys.keys_for(title)
        if key_set is None:
            raise UnknownSenderError(
                f"no keys for the sender with system title {title.hex().upper()}: add it to "
                "the key store"
            )
        content = ciphered.ciphered_content
        sc = content[0]
        counter = int.from_bytes(content[1:SECURITY_HEADER_LENGTH], "big")
        suite = sc & 0x0F
        if sc & _COMPRESSION:
            raise DecipheringError(
                f"security control 0x{sc:02x} asks for compression, which is not supported"
            )
        if suite not in _SUPPORTED_SUITES:
            raise UnsupportedSecuritySuiteError(
                f"security control 0x{sc:02x} names security suite {suite} (not a defined "
                "security suite); suites 0 and 1 (AES-GCM-128) and 2 (AES-GCM-256) are accepted"
            )
        if not sc & (_AUTHENTICATION | _ENCRYPTION):
            raise SecurityPolicyError(
                f"security control 0x{sc:02x} neither authenticates nor encrypts the APDU"
            )
        if sc & _BROADCAST:
            if ciphered.dedicated:
                raise DecipheringError("a ded- APDU cannot use the broadcast key (SC 0x40)")
            kind = CipheringKey.GLOBAL_BROADCAST_ENCRYPTION
            cipher_key = key_set.broadcast_key
        elif ciphered.dedicated:
            kind = CipheringKey.DEDICATED
            cipher_key = key_set.dedicated_key
        else:
            kind = CipheringKey.GLOBAL_UNICAST_ENCRYPTION
            cipher_key = key_set.block_cipher_key
        if cipher_key is None:
            raise DecipheringError(
                f"the key store has no {kind.value} key for system title "
                f"{title.hex().upper()}, which this push needs"
            )
        length = _SUITE_KEY_LENGTHS[suite]
        if len(cipher_key) != length:
            cipher = "AES-GCM-256" if suite == 2 else "AES-GCM-128"
            raise UnsupportedSecuritySuiteError(
                f"security control 0x{sc:02x} names security suite {suite} ({cipher}, "
                f"{length}-byte keys), but the key store holds {len(cipher_key)}-byte keys for "
                f"system title {title.hex().upper()}: give it the keys of suite {suite}"
            )
        authentication_key = key_set.authentication_key
        tag_verified = bool(sc & _AUTHENTICATION)
        if sc & _AUTHENTICATION and authentication_key is None:
            if not self.unsafe_skip_tag_check:
                raise DecipheringError(
                    f"security control 0x{sc:02x} authenticates the push but the key store "
                    f"has no authentication key for system title {title.hex().upper()}: add "
                    "it (or, knowing the risk, unsafe_skip_tag_check=True)"
                )
            plaintext = self._open_unverified(content, sc, title, cipher_key, suite)
            tag_verified = False
            if title not in self._warned_unverified and len(self._warned_unverified) < 10_000:
                self._warned_unverified.add(title)
                logger.warning(
                    "pushes of %s accepted WITHOUT checking their authentication tag "
                    "(unsafe_skip_tag_check=True, no authentication key)",
                    title.hex().upper(),
                )
        else:
            plaintext = decipher(
                content,
                system_title=title,
                block_cipher_key=cipher_key,
                authentication_key=authentication_key or _UNUSED_AUTHENTICATION_KEYS[length],
                security_suites=_SUPPORTED_SUITES,
            )
        if ciphered.plain_tag is not None and (not plaintext or plaintext[0] != ciphered.plain_tag):
            raise DecipheringError(f"{tag_name(tag)} must contain {tag_name(ciphered.plain_tag)}")
        # the counter is recorded only once the tag checked (a forgery never advances it)
        self.counter_store.accept_received(title, key_identity(kind, cipher_key.value), counter)
        security = AppliedSecurity(SecurityControl.from_byte(sc), counter, form, kind, tag_verified)
        return Deciphered(plaintext, title, security, bool(ciphered.system_title))

    @staticmethod
    def _open_unverified(
        content: bytes, sc: int, title: bytes, cipher_key: Secret, suite: int
    ) -> bytes:
        """The plaintext of an authenticated ciphered content without checking its tag."""
        if len(content) < SECURITY_HEADER_LENGTH + AUTHENTICATION_TAG_LENGTH:
            raise DecipheringError("ciphered content too short for its 12-byte authentication tag")
        body = content[SECURITY_HEADER_LENGTH:-AUTHENTICATION_TAG_LENGTH]
        if not sc & _ENCRYPTION:
            return body  # authentication only: the payload is the plaintext
        # the encryption of authenticated encryption is the one of encryption only (GCM's
        # counter mode); only the tag, left unchecked here, differs
        header = bytes((_ENCRYPTION | suite,)) + content[1:SECURITY_HEADER_LENGTH]
        return decipher(
            header + body,
            system_title=title,
            block_cipher_key=cipher_key,
            authentication_key=_UNUSED_AUTHENTICATION_KEYS[len(cipher_key)],
            security_suites=_SUPPORTED_SUITES,
        )
