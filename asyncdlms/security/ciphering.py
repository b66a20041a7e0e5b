"""Ciphering of xDLMS APDUs with AES-GCM (DLMS UA 1000-2 Green Book, 9.2.7): security suites
0 and 1 (AES-GCM-128, 16-byte keys) and 2 (AES-GCM-256, 32-byte keys). The suite id is in the
low bits of the security control byte; a context ciphers with its own suite and refuses an APDU
naming another one.

Every protected APDU carries a *security header*: the security control byte (SC) and the
4-byte invocation counter (IC). The nonce is ``IV = system title (8 bytes) ‖ IC (4 bytes)``
of the sender; the tag is the first 12 bytes of the GCM tag (the forms and the header
themselves: :mod:`asyncdlms.security.ciphered_apdu`). What the key protects depends on
the security policy in SC:

===========================  ============================  =======================================
policy (SC bits)             additional authenticated data  ciphered content
===========================  ============================  =======================================
authentication only (0x10)   SC ‖ AK ‖ plaintext            SC ‖ IC ‖ plaintext ‖ tag
encryption only (0x20)       —                              SC ‖ IC ‖ ciphertext
authenticated encr. (0x30)   SC ‖ AK                        SC ‖ IC ‖ ciphertext ‖ tag
===========================  ============================  =======================================

(AK = authentication key; the encryption key is the global unicast key, the global broadcast
key when SC has 0x40, or the dedicated key for the ded- forms.)

The ciphered APDU forms: *glo-* (global key) and *ded-* (dedicated key) service-specific
tags, ``tag ‖ length ‖ ciphered content`` — e.g. get-request 0xC0 becomes glo-get-request 0xC8
or ded-get-request 0xD0, initiate-request 0x01 becomes glo-initiate-request 0x21 — and the
general forms general-glo-ciphering (0xDB) / general-ded-ciphering (0xDC), ``tag ‖ system
title (octet-string) ‖ ciphered content (octet-string)``, which can wrap any APDU (a
data-notification, which has no service-specific form, always goes this way).

All AES work is done by ``cryptography``'s AES-GCM (OpenSSL). A received 12-byte tag is
checked by running GCM over the received ciphertext (recovering the plaintext, since GCM's
encryption is a counter-mode XOR) and then over that plaintext again, comparing the first 12
bytes of the recomputed tag in constant time; no plaintext leaves this module before that.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..apdu.tags import ApduTag
from ..axdr import encode_length
from ..errors import EncodeError
from .ciphered_apdu import (
    _BROADCAST_KEY,
    _CIPHERED,
    _COMPRESSION,
    _GENERAL_DED,
    _GENERAL_GLO,
    _SECURITY_SUITE,
    _SUITE_MASK,
    AUTHENTICATION_TAG_LENGTH,
    DEDICATED_TAGS,
    GLOBAL_TAGS,
    KEY_LENGTH,
    SECURITY_HEADER_LENGTH,
    SYSTEM_TITLE_LENGTH,
    CipheredApdu,
    CipheringForm,
    SecurityControl,
    SecurityPolicy,
)
from .counters import (
    CipheringKey,
    InvocationCounterStore,
    KeyIdentity,
    MemoryInvocationCounterStore,
    key_identity,
)
from .exceptions import AuthenticationTagError, DecipheringError, SecurityPolicyError
from .gmac import gmac_authentication_value, verify_gmac_authentication_value
from .hls import Secret
from .suites import SecuritySuiteId, suite_parameters

__all__ = [
    "AUTHENTICATION_TAG_LENGTH",
    "DEDICATED_TAGS",
    "GLOBAL_TAGS",
    "KEY_LENGTH",
    "SECURITY_HEADER_LENGTH",
    "SYSTEM_TITLE_LENGTH",
    "CipheredApdu",
    "CipheringForm",
    "DecipheredApdu",
    "SecurityContext",
    "SecurityControl",
    "SecurityPolicy",
    "cipher",
    "decipher",
    "generate_dedicated_key",
    "initialization_vector",
    "suite_key_length",
]

_INITIATE = frozenset((ApduTag.INITIATE_REQUEST, ApduTag.INITIATE_RESPONSE))
# Tags that are never wrapped: ACSE, GBT (it carries protected APDUs), the ciphered forms.
_NOT_WRAPPABLE = frozenset(
    {int(ApduTag.AARQ), int(ApduTag.AARE), int(ApduTag.RLRQ), int(ApduTag.RLRE)}
    | {int(ApduTag.GENERAL_BLOCK_TRANSFER), int(ApduTag.GENERAL_CIPHERING)}
    | {int(ApduTag.GENERAL_SIGNING), _GENERAL_GLO, _GENERAL_DED}
    | set(GLOBAL_TAGS.values())
    | set(DEDICATED_TAGS.values())
)
_KEY_NAMES = {
    CipheringKey.GLOBAL_UNICAST_ENCRYPTION: "global unicast encryption key (block cipher key)",
    CipheringKey.GLOBAL_BROADCAST_ENCRYPTION: "global broadcast encryption key",
    CipheringKey.DEDICATED: "dedicated key",
}


_DEDICATED_IDENTITY = KeyIdentity(CipheringKey.DEDICATED, "0" * 16)
"""The one identity of the dedicated key in its own per-key counter store."""


def initialization_vector(system_title: bytes, invocation_counter: int) -> bytes:
    """IV = system title (8 bytes) ‖ invocation counter (4 bytes, big-endian)."""
    if len(system_title) != SYSTEM_TITLE_LENGTH:
        raise EncodeError(f"a system title is 8 bytes long, not {len(system_title)}")
    if not 0 <= invocation_counter <= 0xFFFF_FFFF:
        raise EncodeError(f"an invocation counter is 0..2^32-1, not {invocation_counter}")
    return bytes(system_title) + invocation_counter.to_bytes(4, "big")


def suite_key_length(suite: SecuritySuiteId | int) -> int:
    """Bytes of the AES keys (block cipher, authentication, broadcast, dedicated) of security
    suite ``suite``: 16 for suites 0 and 1, 32 for suite 2."""
    return suite_parameters(suite).key_length


def _key_bytes(key: Secret | bytes, what: str, suite: int = _SECURITY_SUITE) -> bytes:
    value = key.value if isinstance(key, Secret) else bytes(key)
    length = suite_key_length(suite)
    if len(value) != length:
        raise EncodeError(
            f"the {what} of security suite {suite} is {length} bytes long, not {len(value)}"
        )
    return value


def _seal(
    security_control: int,
    iv: bytes,
    cipher_key: AESGCM,
    authentication_key: bytes,
    plaintext: bytes,
) -> bytes:
    """SC ‖ IC ‖ protected payload (the ciphered content) for one APDU."""
    header = bytes((security_control,)) + iv[8:]
    bits = security_control & 0x30
    if bits == 0x30:
        sealed = cipher_key.encrypt(iv, plaintext, header[:1] + authentication_key)
        return header + sealed[:-16] + sealed[-16:-4]
    if bits == 0x10:
        tag = cipher_key.encrypt(iv, b"", header[:1] + authentication_key + plaintext)
        return header + plaintext + tag[:AUTHENTICATION_TAG_LENGTH]
    if bits == 0x20:
        return header + cipher_key.encrypt(iv, plaintext, None)[:-16]
    raise EncodeError(
        f"security control 0x{security_control:02x} neither authenticates nor encrypts"
    )


def _open(
    security_control: int,
    iv: bytes,
    cipher_key: AESGCM,
    authentication_key: bytes,
    payload: bytes,
) -> bytes | None:
    """The plaintext of a ciphered content's payload (after SC ‖ IC), or None when the tag
    does not match. Raises DecipheringError for a payload too short for its tag."""
    bits = security_control & 0x30
    if bits == 0x20:
        return cipher_key.encrypt(iv, payload, None)[:-16]
    if len(payload) < AUTHENTICATION_TAG_LENGTH:
        raise DecipheringError(
            f"ciphered content too short for its {AUTHENTICATION_TAG_LENGTH}-byte "
            f"authentication tag ({len(payload)} bytes after the security header)"
        )
    body = payload[:-AUTHENTICATION_TAG_LENGTH]
    received_tag = payload[-AUTHENTICATION_TAG_LENGTH:]
    if bits == 0x30:
        plaintext = cipher_key.encrypt(iv, body, None)[:-16]
        aad = bytes((security_control,)) + authentication_key
        expected = cipher_key.encrypt(iv, plaintext, aad)[-16:-4]
    else:  # 0x10, authentication only: the payload is the plaintext
        plaintext = body
        aad = bytes((security_control,)) + authentication_key + plaintext
        expected = cipher_key.encrypt(iv, b"", aad)[:AUTHENTICATION_TAG_LENGTH]
    if not hmac.compare_digest(expected, received_tag):
        return None
    return plaintext


def cipher(
    plaintext: bytes,
    *,
    security_control: SecurityControl | int,
    system_title: bytes,
    invocation_counter: int,
    block_cipher_key: Secret | bytes,
    authentication_key: Secret | bytes,
) -> bytes:
    """The ciphered content ``SC ‖ IC ‖ ...`` of ``plaintext`` (no APDU tag or length).

    ``block_cipher_key`` is the encryption key in use (global unicast, broadcast or
    dedicated), 16 bytes for suites 0 and 1, 32 for suite 2 (the suite id of
    ``security_control``). A one-shot helper for tests and tools; sessions use
    :class:`SecurityContext`.
    """
    sc = int(security_control)
    _check_security_control(sc)
    suite = sc & _SUITE_MASK
    return _seal(
        sc,
        initialization_vector(system_title, invocation_counter),
        AESGCM(_key_bytes(block_cipher_key, "block cipher key", suite)),
        _key_bytes(authentication_key, "authentication key", suite),
        bytes(plaintext),
    )


def decipher(
    ciphered_content: bytes,
    *,
    system_title: bytes,
    block_cipher_key: Secret | bytes,
    authentication_key: Secret | bytes,
    security_suites: Collection[int] = (_SECURITY_SUITE,),
) -> bytes:
    """The plaintext of a ciphered content ``SC ‖ IC ‖ ...`` sent by ``system_title``.

    Raises :class:`AuthenticationTagError` when the tag does not match and
    :class:`DecipheringError` for a truncated or unsupported header. No counter checks: see
    :class:`SecurityContext` for those. ``security_suites``: the suite ids the security
    control byte may name; give ``(0, 1)`` to accept suite 1, which ciphers APDUs with the
    same AES-GCM-128 as suite 0 (a push receiver does: Austrian Kaifa meters send SC 0x21),
    ``(2,)`` for suite 2 (AES-GCM-256, 32-byte keys).
    """
    content = bytes(ciphered_content)
    if len(content) < SECURITY_HEADER_LENGTH:
        raise DecipheringError(
            f"truncated security header: {len(content)} bytes (5 expected: security control, "
            "invocation counter)"
        )
    sc = content[0]
    _check_received_security_control(sc, security_suites)
    ic = int.from_bytes(content[1:5], "big")
    suite = sc & _SUITE_MASK
    plaintext = _open(
        sc,
        initialization_vector(system_title, ic),
        AESGCM(_key_bytes(block_cipher_key, "block cipher key", suite)),
        _key_bytes(authentication_key, "authentication key", suite),
        content[5:],
    )
    if plaintext is None:
        raise _tag_mismatch(sc, ic, system_title, CipheringKey.GLOBAL_UNICAST_ENCRYPTION)
    return plaintext


def _check_security_control(sc: int) -> None:
    if sc & _COMPRESSION:
        raise EncodeError("compression (security control 0x80) is not supported")
    if sc & _SUITE_MASK > int(SecuritySuiteId.SUITE_2):
        raise EncodeError(
            f"security suite {sc & _SUITE_MASK} does not exist (security suites 0, 1 and 2)"
        )
    if not sc & 0x30:
        raise EncodeError(
            f"security control 0x{sc:02x} neither authenticates nor encrypts (0x10/0x20/0x30)"
        )


def _check_received_security_control(
    sc: int, security_suites: Collection[int] = (_SECURITY_SUITE,)
) -> None:
    if sc & _COMPRESSION:
        raise DecipheringError(
            f"security control 0x{sc:02x} asks for compression, which is not supported"
        )
    if sc & _SUITE_MASK not in security_suites:
        expected = " or ".join(str(suite) for suite in security_suites)
        raise SecurityPolicyError(
            f"security control 0x{sc:02x} names security suite {sc & _SUITE_MASK}; this "
            f"context uses suite {expected} (check the security suite of both sides)"
        )
    if not sc & 0x30:
        raise SecurityPolicyError(
            f"security control 0x{sc:02x} neither authenticates nor encrypts the APDU"
        )


def _tag_mismatch(
    sc: int, ic: int, system_title: bytes, key: CipheringKey
) -> AuthenticationTagError:
    return AuthenticationTagError(
        "authentication tag mismatch — check the authentication key / block cipher key / "
        f"system title (security control 0x{sc:02x}, invocation counter {ic}, sender system "
        f"title {system_title.hex().upper()}, {_KEY_NAMES[key]})"
    )


def generate_dedicated_key(
    random: Callable[[int], bytes] = os.urandom, length: int = KEY_LENGTH
) -> Secret:
    """A fresh random dedicated key of ``length`` bytes (16; 32 for suite 2) from ``random``
    (``os.urandom``), to propose in the InitiateRequest of a ciphered association and then
    give to :meth:`SecurityContext.set_dedicated_key`."""
    key = bytes(random(length))
    if len(key) != length:
        raise ValueError(f"the random source gave {len(key)} bytes, not {length}")
    return Secret(key)


@dataclass(frozen=True, slots=True)
class DecipheredApdu:
    """A received APDU after :meth:`SecurityContext.unprotect_apdu`: the plain APDU and the
    security header it came with (``system_title`` is the sender's)."""

    apdu: bytes
    security_control: SecurityControl
    invocation_counter: int
    system_title: bytes
    key: CipheringKey


class SecurityContext:
    """The ciphering state of one association (or of one push listener), either role.

    Implements :class:`asyncdlms.session.pipeline.ApduProtection`: :meth:`protect` ciphers
    every outgoing xDLMS APDU with the next invocation counter of its key, :meth:`unprotect`
    deciphers a received one, checks its tag and that its counter increases (replay), and
    refuses a plain APDU or one protected less than ``policy`` requires (``allow_plain``:
    the tags that may come plain, by default exception-response and confirmed-service-error,
    which a meter sends when it cannot decipher).

    Keys are :class:`Secret` (bytes are wrapped): ``block_cipher_key`` is the global unicast
    encryption key (GUEK), ``authentication_key`` the GAK, ``broadcast_key`` the global
    broadcast encryption key (GBEK, for pushes). ``system_title`` is ours (client: the AARQ
    calling-AP-title); ``peer_system_title`` the other side's (client: the AARE
    responding-AP-title; may be set later, and may stay None for a push listener that takes
    the title from general-glo-ciphering). The counters of the global keys come from
    ``counter_store``, keyed by system title and :class:`KeyIdentity`: give every context of
    a process the same store (:func:`default_invocation_counter_store`, as
    :class:`~asyncdlms.session.ClientSecurity` and :class:`~asyncdlms.session.ServerSecurity`
    do by default), so that two associations never use one counter; the default here is a
    fresh in-memory store, for tests and one-off tools. The counters of a dedicated key start
    afresh with each key and live here, since the key is never used again after the
    association. Nothing here prints a key.
    """

    __slots__ = (
        "_allow_plain",
        "_authentication_key",
        "_broadcast",
        "_broadcast_notifications",
        "_ciphers",
        "_dedicated",
        "_dedicated_counters",
        "_form",
        "_key_identities",
        "_peer_system_title",
        "_policy",
        "_store",
        "_suite",
        "_system_title",
        "_unicast",
    )

    def __init__(
        self,
        *,
        system_title: bytes,
        block_cipher_key: Secret | bytes,
        authentication_key: Secret | bytes,
        peer_system_title: bytes | None = None,
        policy: SecurityPolicy = SecurityPolicy.AUTHENTICATED_ENCRYPTION,
        form: CipheringForm = CipheringForm.GLOBAL,
        broadcast_key: Secret | bytes | None = None,
        dedicated_key: Secret | bytes | None = None,
        counter_store: InvocationCounterStore | None = None,
        broadcast_notifications: bool = False,
        allow_plain: Iterable[int] = (
            ApduTag.EXCEPTION_RESPONSE,
            ApduTag.CONFIRMED_SERVICE_ERROR,
        ),
        suite: SecuritySuiteId | int = SecuritySuiteId.SUITE_0,
    ) -> None:
        self._suite = suite_parameters(suite).suite
        self._system_title = _title(system_title, "system_title")
        self._peer_system_title = (
            None if peer_system_title is None else _title(peer_system_title, "peer_system_title")
        )
        self._policy = SecurityPolicy(policy)
        self._form = CipheringForm(form)
        self._authentication_key = _key_bytes(authentication_key, "authentication key", self._suite)
        unicast = _key_bytes(block_cipher_key, "block cipher key", self._suite)
        self._unicast = AESGCM(unicast)
        self._key_identities = {
            CipheringKey.GLOBAL_UNICAST_ENCRYPTION: key_identity(
                CipheringKey.GLOBAL_UNICAST_ENCRYPTION, unicast
            )
        }
        self._broadcast: AESGCM | None = None
        if broadcast_key is not None:
            broadcast = _key_bytes(broadcast_key, "global broadcast encryption key", self._suite)
            self._broadcast = AESGCM(broadcast)
            self._key_identities[CipheringKey.GLOBAL_BROADCAST_ENCRYPTION] = key_identity(
                CipheringKey.GLOBAL_BROADCAST_ENCRYPTION, broadcast
            )
        self._dedicated: AESGCM | None = None
        self._dedicated_counters: MemoryInvocationCounterStore | None = None
        self._ciphers: dict[CipheringKey, AESGCM | None] = {}
        self._store: InvocationCounterStore = (
            MemoryInvocationCounterStore() if counter_store is None else counter_store
        )
        self._broadcast_notifications = broadcast_notifications
        self._allow_plain = frozenset(int(tag) for tag in allow_plain)
        self._update_ciphers()
        if dedicated_key is not None:
            self.set_dedicated_key(dedicated_key)

    def _update_ciphers(self) -> None:
        self._ciphers = {
            CipheringKey.GLOBAL_UNICAST_ENCRYPTION: self._unicast,
            CipheringKey.GLOBAL_BROADCAST_ENCRYPTION: self._broadcast,
            CipheringKey.DEDICATED: self._dedicated,
        }

    def __repr__(self) -> str:
        peer = None if self._peer_system_title is None else self._peer_system_title.hex().upper()
        return (
            f"SecurityContext(suite={int(self._suite)}, "
            f"system_title={self._system_title.hex().upper()}, "
            f"peer_system_title={peer}, policy={self._policy.name}, form={self._form.name}, "
            f"dedicated_key={'set' if self._dedicated else 'none'}, keys=****)"
        )

    __str__ = __repr__

    # -- settings -----------------------------------------------------------------------------

    @property
    def system_title(self) -> bytes:
        """Our system title."""
        return self._system_title

    @property
    def peer_system_title(self) -> bytes | None:
        """The peer's system title (None until known)."""
        return self._peer_system_title

    @peer_system_title.setter
    def peer_system_title(self, value: bytes | None) -> None:
        self._peer_system_title = None if value is None else _title(value, "peer_system_title")

    @property
    def suite(self) -> SecuritySuiteId:
        """The security suite: its id goes into every security control byte we send, and a
        received APDU naming another suite is refused (:class:`SecurityPolicyError`)."""
        return self._suite

    @property
    def policy(self) -> SecurityPolicy:
        """The security policy applied to what we send and required of what we receive."""
        return self._policy

    @property
    def form(self) -> CipheringForm:
        """The ciphered APDU form :meth:`protect` produces."""
        return self._form

    @property
    def ciphered(self) -> bool:
        """Always True: an association protected by a security context uses a ciphered
        application context (the optional ``ciphered`` member of the APDU pipeline)."""
        return True

    @property
    def overhead(self) -> int:
        """The most bytes :meth:`protect` adds to an APDU in the current form: tag, a length
        of up to 3 bytes, the security header and the 12-byte tag (and the system title of
        the general forms); the session keeps block transfer below the max PDU with it."""
        size = 1 + 3 + SECURITY_HEADER_LENGTH + AUTHENTICATION_TAG_LENGTH
        if self._form in (CipheringForm.GENERAL_GLOBAL, CipheringForm.GENERAL_DEDICATED):
            size += 1 + SYSTEM_TITLE_LENGTH
        return size

    @property
    def counter_store(self) -> InvocationCounterStore:
        """Where the invocation counters of the global keys live."""
        return self._store

    def key_identity(
        self, key: CipheringKey = CipheringKey.GLOBAL_UNICAST_ENCRYPTION
    ) -> KeyIdentity:
        """The identity the counters of global ``key`` are kept under in
        :attr:`counter_store`; raises :class:`KeyError` for a key this context does not have
        (and for the dedicated key, whose counters are never stored)."""
        return self._key_identities[key]

    def _counters(self, key: CipheringKey) -> tuple[InvocationCounterStore, KeyIdentity]:
        """Where the counters of ``key`` live and under which identity."""
        if key is CipheringKey.DEDICATED:
            if self._dedicated_counters is None:
                raise EncodeError(
                    "no dedicated key in this security context (a dedicated key exists only "
                    "after an association that proposed one)"
                )
            return self._dedicated_counters, _DEDICATED_IDENTITY
        identity = self._key_identities.get(key)
        if identity is None:
            raise EncodeError(f"no {_KEY_NAMES[key]} in this security context")
        return self._store, identity

    @property
    def has_dedicated_key(self) -> bool:
        """Whether a dedicated key is in place (after a ciphered association proposing one)."""
        return self._dedicated is not None

    def set_dedicated_key(self, key: Secret | bytes | None) -> None:
        """Install (or, with None, drop at release) the dedicated key of the association."""
        self._dedicated = (
            None if key is None else AESGCM(_key_bytes(key, "dedicated key", self._suite))
        )
        # a new dedicated key starts counters of its own, both ways (Green Book: the counter
        # belongs to the key); they go with the key
        self._dedicated_counters = None if key is None else MemoryInvocationCounterStore()
        self._update_ciphers()

    def use_form(self, form: CipheringForm) -> None:
        """Switch the ciphered APDU form (e.g. to DEDICATED once the association is up)."""
        self._form = CipheringForm(form)

    # -- invocation counters ------------------------------------------------------------------

    def next_invocation_counter(
        self, key: CipheringKey = CipheringKey.GLOBAL_UNICAST_ENCRYPTION
    ) -> int:
        """The counter the next APDU protected with ``key`` will carry."""
        store, identity = self._counters(key)
        return store.peek_next(self._system_title, identity)

    def advance_invocation_counter(
        self,
        next_counter: int,
        key: CipheringKey = CipheringKey.GLOBAL_UNICAST_ENCRYPTION,
    ) -> None:
        """Continue from at least ``next_counter`` (e.g. the meter's frame counter + 1, or the
        counter an invocation-counter-error exception-response expects); never lowers it."""
        store, identity = self._counters(key)
        store.advance(self._system_title, identity, next_counter)

    # -- protection ---------------------------------------------------------------------------

    def protect(self, apdu: bytes, *, broadcast: bool | None = None) -> bytes:
        """The ciphered APDU to send in place of the plain xDLMS ``apdu``.

        ``broadcast`` protects with the global broadcast key (SC 0x40); by default only
        data- and event-notifications do, and only with ``broadcast_notifications``.
        """
        if not apdu:
            raise EncodeError("cannot protect an empty APDU")
        plain_tag = apdu[0]
        if plain_tag in _NOT_WRAPPABLE:
            raise EncodeError(
                f"APDU tag 0x{plain_tag:02x} is not ciphered with security suite 0 "
                "(ACSE, general-block-transfer and already ciphered APDUs pass as they are)"
            )
        form = self._form
        if plain_tag in _INITIATE:
            form = (
                CipheringForm.GLOBAL
                if form in (CipheringForm.GLOBAL, CipheringForm.DEDICATED)
                else CipheringForm.GENERAL_GLOBAL
            )
        if broadcast is None:
            broadcast = self._broadcast_notifications and plain_tag in (
                ApduTag.DATA_NOTIFICATION,
                ApduTag.EVENT_NOTIFICATION_REQUEST,
            )
        dedicated = form in (CipheringForm.DEDICATED, CipheringForm.GENERAL_DEDICATED)
        if broadcast:
            if dedicated:  # the broadcast key is a global key: the matching global form
                dedicated = False
                form = (
                    CipheringForm.GLOBAL
                    if form is CipheringForm.DEDICATED
                    else CipheringForm.GENERAL_GLOBAL
                )
            key = CipheringKey.GLOBAL_BROADCAST_ENCRYPTION
        elif dedicated:
            key = CipheringKey.DEDICATED
        else:
            key = CipheringKey.GLOBAL_UNICAST_ENCRYPTION
        cipher_key = self._ciphers[key]
        if cipher_key is None:
            raise EncodeError(
                f"no {_KEY_NAMES[key]} in this security context"
                + (
                    " (a dedicated key exists only after an association that proposed one)"
                    if key is CipheringKey.DEDICATED
                    else ""
                )
            )
        store, identity = self._counters(key)
        counter = store.next_to_send(self._system_title, identity)
        sc = int(self._policy) | self._suite | (_BROADCAST_KEY if broadcast else 0)
        content = _seal(
            sc,
            self._system_title + counter.to_bytes(4, "big"),
            cipher_key,
            self._authentication_key,
            bytes(apdu),
        )
        if form is CipheringForm.GLOBAL or form is CipheringForm.DEDICATED:
            tag = (DEDICATED_TAGS if dedicated else GLOBAL_TAGS).get(plain_tag)
            if tag is not None:
                return bytes((tag,)) + encode_length(len(content)) + content
        return (
            bytes((_GENERAL_DED if dedicated else _GENERAL_GLO, SYSTEM_TITLE_LENGTH))
            + self._system_title
            + encode_length(len(content))
            + content
        )

    def unprotect(self, apdu: bytes) -> bytes:
        """The plain APDU inside a received ciphered one (see :meth:`unprotect_apdu`)."""
        return self._unprotect(bytes(apdu))[0]

    def unprotect_apdu(self, apdu: bytes) -> DecipheredApdu:
        """Decipher a received APDU and return it with its security header and sender.

        Raises :class:`SecurityPolicyError` for a plain APDU not in ``allow_plain`` or one
        protected less than the policy requires, :class:`DecipheringError` for an unknown
        tag, a truncated header or a missing key, :class:`AuthenticationTagError` for a tag
        that does not match (never a plaintext), :class:`ReplayError` for an invocation
        counter that does not increase. A plain APDU in ``allow_plain`` comes back as it is,
        with security control 0 and counter -1.
        """
        data = bytes(apdu)
        plaintext, sc, counter, title, key = self._unprotect(data)
        if sc < 0:
            return DecipheredApdu(plaintext, SecurityControl(), -1, title, key)
        return DecipheredApdu(plaintext, SecurityControl.from_byte(sc), counter, title, key)

    def _unprotect(self, data: bytes) -> tuple[bytes, int, int, bytes, CipheringKey]:
        """(plaintext, SC or -1 for an allowed plain APDU, IC, sender title, key)."""
        if not data:
            raise DecipheringError("empty APDU")
        tag = data[0]
        form = _CIPHERED.get(tag)
        if form is None:
            if tag in self._allow_plain:
                return (
                    data,
                    -1,
                    -1,
                    self._peer_system_title or b"",
                    CipheringKey.GLOBAL_UNICAST_ENCRYPTION,
                )
            if tag in _NOT_WRAPPABLE or tag == ApduTag.GENERAL_CIPHERING:
                raise DecipheringError(f"APDU tag 0x{tag:02x} is not a suite 0 ciphered APDU", 0)
            raise SecurityPolicyError(
                f"plain APDU (tag 0x{tag:02x}) refused: the security policy "
                f"({self._policy.name.lower().replace('_', ' ')}) requires ciphered APDUs",
                0,
            )
        dedicated, plain_tag = form
        title: bytes | None = None
        size = len(data) - 2
        if plain_tag is not None and SECURITY_HEADER_LENGTH <= size < 0x80 and data[1] == size:
            content = data[2:]  # the usual short service-specific form, checked in place
        else:
            ciphered = CipheredApdu.decode(data)
            content = ciphered.ciphered_content
            title = ciphered.system_title
        sc = content[0]
        if sc != self._policy | self._suite:  # anything but the policy's own bits: check all
            _check_received_security_control(sc, (self._suite,))
            required = int(self._policy)
            if sc & required != required:
                raise SecurityPolicyError(
                    f"security control 0x{sc:02x} protects less than the security policy "
                    f"requires ({self._policy.name.lower().replace('_', ' ')}, "
                    f"0x{required:02x})"
                )
        if sc & _BROADCAST_KEY:
            if dedicated:
                raise DecipheringError("a ded- APDU cannot use the broadcast key (SC 0x40)")
            key = CipheringKey.GLOBAL_BROADCAST_ENCRYPTION
        elif dedicated:
            key = CipheringKey.DEDICATED
        else:
            key = CipheringKey.GLOBAL_UNICAST_ENCRYPTION
        cipher_key = self._ciphers[key]
        if cipher_key is None:
            raise DecipheringError(
                f"received an APDU ciphered with the {_KEY_NAMES[key]}, "
                "which this security context does not have"
            )
        if title:
            if self._peer_system_title is not None and title != self._peer_system_title:
                raise DecipheringError(
                    f"system title mismatch: the APDU comes from {title.hex().upper()}, "
                    f"the peer is {self._peer_system_title.hex().upper()}"
                )
        else:
            if self._peer_system_title is None:
                raise DecipheringError(
                    "the peer system title is unknown (a client gets it from the AARE "
                    "responding-AP-title): cannot decipher"
                )
            title = self._peer_system_title
        counter_bytes = content[1:5]
        plaintext = _open(
            sc, title + counter_bytes, cipher_key, self._authentication_key, content[5:]
        )
        counter = int.from_bytes(counter_bytes, "big")
        if plaintext is None:
            raise _tag_mismatch(sc, counter, title, key)
        if plain_tag is not None and (not plaintext or plaintext[0] != plain_tag):
            inner = f"0x{plaintext[0]:02x}" if plaintext else "nothing"
            raise DecipheringError(
                f"APDU tag 0x{tag:02x} must contain tag 0x{plain_tag:02x}, found {inner}"
            )
        store, identity = self._counters(key)
        store.accept_received(title, identity, counter)
        return plaintext, sc, counter, title, key

    # -- HLS-GMAC (mechanism 5) ---------------------------------------------------------------

    def hls_gmac(self, challenge: bytes) -> bytes:
        """Our HLS-GMAC answer to the peer's challenge: ``SC ‖ IC ‖ GMAC`` with a fresh
        invocation counter of the global unicast key and our system title.

        Client: pass 3, ``hls_gmac(StoC)``, sent with reply_to_HLS_authentication.
        Server: pass 4, ``hls_gmac(CtoS)``, returned in the action response.
        """
        counter = self._store.next_to_send(
            self._system_title, self._key_identities[CipheringKey.GLOBAL_UNICAST_ENCRYPTION]
        )
        return gmac_authentication_value(
            self._unicast,
            self._authentication_key,
            self._system_title,
            counter,
            challenge,
            int(self._suite),
        )

    def verify_hls_gmac(self, received: bytes, challenge: bytes) -> None:
        """Check the peer's HLS-GMAC answer to our ``challenge`` (client: pass 4 with CtoS;
        server: pass 3 with StoC) with the peer's system title; raise
        :class:`~asyncdlms.errors.AuthenticationError` when it does not match.

        The answer's freshness comes from our fresh challenge, so its invocation counter is
        not checked against the APDU counters (the client's pass 3 counter precedes the one of
        the glo-action-request carrying it).
        """
        if self._peer_system_title is None:
            raise DecipheringError(
                "the peer system title is unknown: HLS-GMAC needs it (AARQ calling-AP-title / "
                "AARE responding-AP-title)"
            )
        verify_gmac_authentication_value(
            self._unicast,
            self._authentication_key,
            self._peer_system_title,
            received,
            challenge,
            int(self._suite),
        )


def _title(value: bytes, what: str) -> bytes:
    value = bytes(value)
    if len(value) != SYSTEM_TITLE_LENGTH:
        raise EncodeError(f"{what} is 8 bytes long, not {len(value)}")
    return value
