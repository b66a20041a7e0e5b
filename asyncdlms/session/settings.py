"""What a client association proposes and how it behaves: :class:`ClientSettings`.

The defaults make the same AARQ as the gurux-dlms client (conformance ``40 1E 5D`` for
logical-name referencing, ``1C 03 20`` for short names, max receive PDU 0xFFFF, DLMS version
6, invoke-id-and-priority ``0xC1``) so that a meter that talks to Gurux talks to us.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..apdu.acse import MechanismName
from ..apdu.initiate import Conformance
from ..errors import ReplayError
from ..security.certificates import KeyStore, KeyUsage
from ..security.ciphering import (
    SYSTEM_TITLE_LENGTH,
    SecurityContext,
    SecurityPolicy,
    suite_key_length,
)
from ..security.counters import (
    InvocationCounterStore,
    KeyIdentity,
    SharedInvocationCounterStore,
    default_invocation_counter_store,
)
from ..security.hls import MAX_CHALLENGE_LENGTH, MIN_CHALLENGE_LENGTH, HlsFunction, Secret
from ..security.suites import SecuritySuiteId
from ..types.clock import DeviationSign
from .pipeline import ApduProtection, NoProtection

__all__ = [
    "DEFAULT_LN_CONFORMANCE",
    "DEFAULT_SN_CONFORMANCE",
    "REFERENCING_NAMES",
    "SECURITY_POLICY_NAMES",
    "SN_CONFORMANCE",
    "ClientSecurity",
    "ClientSettings",
    "security_policy",
]

SECURITY_POLICY_NAMES: dict[str, SecurityPolicy | None] = {
    "none": None,
    "auth": SecurityPolicy.AUTHENTICATION_ONLY,
    "enc": SecurityPolicy.ENCRYPTION_ONLY,
    "ae": SecurityPolicy.AUTHENTICATED_ENCRYPTION,
}
"""The short names of the security policies (``none`` = no ciphered APDUs)."""


def security_policy(value: str | SecurityPolicy | None) -> SecurityPolicy | None:
    """A security policy from its short name (``none``, ``auth``, ``enc``, ``ae``), the
    enum itself, or None (no ciphering)."""
    if value is None or isinstance(value, SecurityPolicy):
        return value
    try:
        return SECURITY_POLICY_NAMES[value.lower()]
    except KeyError:
        raise ValueError(
            f"unknown security {value!r}; use one of {', '.join(SECURITY_POLICY_NAMES)}"
        ) from None


def _key(value: Secret | bytes | str, what: str, suite: int = 0) -> Secret:
    if isinstance(value, str):
        try:
            value = bytes.fromhex(value)
        except ValueError:
            raise ValueError(f"the {what} is not hexadecimal") from None
    key = value if isinstance(value, Secret) else Secret(bytes(value))
    length = suite_key_length(suite)
    if len(key) != length:
        raise ValueError(
            f"the {what} of security suite {suite} is {length} bytes long, not {len(key)}"
        )
    return key


class _RepeatTolerantStore:
    """A counter store that also accepts a received counter *equal* to the last one accepted
    (quirk 14: servers that do not increment theirs, gurux-dlms's among them); a lower one is
    still a replay. Everything else goes to the wrapped store."""

    __slots__ = ("_store",)

    def __init__(self, store: InvocationCounterStore) -> None:
        self._store = store

    def __repr__(self) -> str:
        return f"_RepeatTolerantStore({self._store!r})"

    def next_to_send(self, system_title: bytes, key: KeyIdentity) -> int:
        return self._store.next_to_send(system_title, key)

    def peek_next(self, system_title: bytes, key: KeyIdentity) -> int:
        return self._store.peek_next(system_title, key)

    def advance(self, system_title: bytes, key: KeyIdentity, next_counter: int) -> None:
        self._store.advance(system_title, key, next_counter)

    def accept_received(self, system_title: bytes, key: KeyIdentity, counter: int) -> None:
        try:
            self._store.accept_received(system_title, key, counter)
        except ReplayError as exc:
            if exc.received != exc.last:
                raise

    def last_received(self, system_title: bytes, key: KeyIdentity) -> int | None:
        return self._store.last_received(system_title, key)


@dataclass(frozen=True, slots=True)
class ClientSecurity:
    """The ciphering side of a client association, in one place; it makes a fresh
    :class:`~asyncdlms.security.ciphering.SecurityContext` for each association
    (:meth:`make_context`).

    - ``policy``: what protects every xDLMS APDU, a :class:`SecurityPolicy` or its short name
      ``"auth"`` (authentication only), ``"enc"`` (encryption only), ``"ae"`` (authenticated
      encryption); ``"none"``/None: APDUs go plain (the keys then only serve HLS-GMAC).
    - ``system_title``: ours (8 bytes; sent as the AARQ calling-AP-title).
    - ``block_cipher_key`` (global unicast encryption key), ``authentication_key`` and the
      optional ``broadcast_key``: 16 bytes each (32 with suite 2), as bytes, hex strings or
      :class:`Secret`; kept as :class:`Secret`, so no repr, log or exception shows them.
      Needed by a ciphering policy and HLS-GMAC; without them (policy none) no APDU is
      ciphered (HLS-ECDSA needs only ``system_title`` and ``key_store``).
    - ``counter_store``: where our invocation counters live; it outlives associations. By
      default the process's store (:func:`~asyncdlms.security.default_invocation_counter_store`,
      shared by every association of the process, in memory unless a durable one was
      installed); a :class:`~asyncdlms.security.counters.FileInvocationCounterStore` makes a
      restarted process continue above every counter it used. A store shared by processes
      (:class:`~asyncdlms.security.counters.SharedInvocationCounterStore`) is told when each
      association begins, so a meter never sees our counters go down.
    - ``use_dedicated_key``: propose a fresh dedicated key (drawn from the settings' random
      source) in the InitiateRequest and use the ded- APDUs once associated.
    - ``read_frame_counter`` / ``frame_counter_instance``: before associating, read the
      meter's frame counter ``0.0.43.1.<instance>.255`` over a short public association
      (client SAP ``public_client``, 16 by default; no authentication, no ciphering) and
      continue from it + 1; after an association failure an out-of-sync counter may cause,
      read it again and retry once (QUIRKS.md 3, behaviour 5). Done by
      :func:`asyncdlms.connect`, which owns the transport.
    - ``allow_repeated_counters``: accept an answer whose invocation counter *equals* the
      last one received (a lower one is still refused as a replay). Off by default: only for
      servers that never increment their counter (quirk 14; gurux-dlms's server sends 0
      every time), at the cost of accepting a repeated answer.
    - ``suite``: the security suite (0, 1 or 2; :class:`SecuritySuiteId`): its id goes into
      every security control byte, and the keys are 16 bytes (suites 0 and 1) or 32 bytes
      (suite 2, AES-GCM-256).
    - ``key_store``: for HLS-ECDSA (``mechanism=HIGH_ECDSA``, suites 1 and 2): our signing
      key of the suite and the meters' certificates (or public keys) by system title
      (:class:`~asyncdlms.security.certificates.KeyStore`); the meter's signature in pass 4
      is verified with the key filed under the AARE responding-AP-title.
    """

    system_title: bytes
    block_cipher_key: Secret | None = field(default=None, repr=False)
    authentication_key: Secret | None = field(default=None, repr=False)
    policy: SecurityPolicy | None = SecurityPolicy.AUTHENTICATED_ENCRYPTION
    broadcast_key: Secret | None = field(default=None, repr=False)
    counter_store: InvocationCounterStore = field(
        default_factory=default_invocation_counter_store, repr=False, compare=False
    )
    use_dedicated_key: bool = False
    read_frame_counter: bool = False
    frame_counter_instance: int = 0
    public_client: int = 16
    allow_repeated_counters: bool = False
    suite: SecuritySuiteId = SecuritySuiteId.SUITE_0
    key_store: KeyStore | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "suite", SecuritySuiteId(self.suite))
        except ValueError:
            raise ValueError(f"unknown security suite {self.suite!r}; use 0, 1 or 2") from None
        suite = int(self.suite)
        title = self.system_title
        if isinstance(title, str):
            try:
                title = bytes.fromhex(title)
            except ValueError:
                raise ValueError("the system title is not hexadecimal") from None
        title = bytes(title)
        if len(title) != SYSTEM_TITLE_LENGTH:
            raise ValueError(f"a system title is 8 bytes long, not {len(title)}")
        object.__setattr__(self, "system_title", title)
        object.__setattr__(self, "policy", security_policy(self.policy))
        if self.block_cipher_key is None or self.authentication_key is None:
            if (
                self.policy is not None
                or self.read_frame_counter
                or self.block_cipher_key
                or self.authentication_key
            ):
                raise ValueError(
                    "ciphering needs both the block cipher key and the authentication key "
                    "(only a security policy of none, without read_frame_counter, goes "
                    "without them)"
                )
        else:
            object.__setattr__(
                self, "block_cipher_key", _key(self.block_cipher_key, "block cipher key", suite)
            )
            object.__setattr__(
                self,
                "authentication_key",
                _key(self.authentication_key, "authentication key", suite),
            )
        if self.broadcast_key is not None:
            object.__setattr__(
                self, "broadcast_key", _key(self.broadcast_key, "broadcast key", suite)
            )
        if self.use_dedicated_key and self.policy not in (
            SecurityPolicy.ENCRYPTION_ONLY,
            SecurityPolicy.AUTHENTICATED_ENCRYPTION,
        ):
            raise ValueError(
                "a dedicated key travels in the InitiateRequest: it needs an encrypting "
                "security policy (enc or ae)"
            )
        if not 0 <= self.frame_counter_instance <= 255:
            raise ValueError(f"frame_counter_instance is 0..255, not {self.frame_counter_instance}")
        if not 1 <= self.public_client <= 0x7F:
            raise ValueError(f"public_client is a client SAP, 1..127, not {self.public_client}")

    @property
    def ciphered(self) -> bool:
        """Whether xDLMS APDUs are ciphered (a policy other than none)."""
        return self.policy is not None

    @property
    def has_keys(self) -> bool:
        """Whether the ciphering keys are given (else nothing is ciphered)."""
        return self.block_cipher_key is not None and self.authentication_key is not None

    def make_context(self) -> SecurityContext:
        """A fresh security context for one association (counters from ``counter_store``);
        :class:`ValueError` without keys."""
        if self.block_cipher_key is None or self.authentication_key is None:
            raise ValueError("a security context needs the block cipher and authentication keys")
        store: InvocationCounterStore = self.counter_store
        if isinstance(store, SharedInvocationCounterStore):  # other processes draw from it
            store.begin_association(self.system_title)
        if self.allow_repeated_counters:
            store = _RepeatTolerantStore(store)
        return SecurityContext(
            system_title=self.system_title,
            block_cipher_key=self.block_cipher_key,
            authentication_key=self.authentication_key,
            policy=self.policy or SecurityPolicy.AUTHENTICATED_ENCRYPTION,
            broadcast_key=self.broadcast_key,
            counter_store=store,
            suite=self.suite,
        )

    def signing_key_store(self) -> KeyStore:
        """The key store for HLS-ECDSA, checked: it has our signing key of the suite (the
        suite must be 1 or 2). Raises :class:`ValueError` naming what is missing."""
        if self.suite == SecuritySuiteId.SUITE_0:
            raise ValueError(
                "HLS-ECDSA needs security suite 1 (P-256) or 2 (P-384): give "
                "ClientSecurity(suite=1 or 2)"
            )
        if self.key_store is None or not self.key_store.has_private_key(
            self.suite, KeyUsage.DIGITAL_SIGNATURE
        ):
            raise ValueError(
                f"HLS-ECDSA needs our signing key of security suite {int(self.suite)}: give "
                "ClientSecurity(key_store=KeyStore(...)) with set_private_key(key)"
            )
        return self.key_store


DEFAULT_LN_CONFORMANCE = Conformance(0x401E5D)
"""What gurux-dlms proposes with logical-name referencing: general-protection,
block-transfer with GET/SET/ACTION, multiple-references, access, GET, SET, selective-access
and ACTION (no general-block-transfer, event-notification or attribute0-supported-with-GET)."""

DEFAULT_SN_CONFORMANCE = Conformance(0x1C0320)
"""What gurux-dlms proposes with short-name referencing: read, write, unconfirmed-write,
multiple-references, information-report, parameterized-access."""

SN_CONFORMANCE = DEFAULT_SN_CONFORMANCE | Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ
"""What :meth:`ClientSettings.for_referencing` proposes for short names: the above and
block transfer with read (long object lists and profiles)."""

REFERENCING_NAMES = ("ln", "sn")
"""The names :meth:`ClientSettings.for_referencing` (and ``--referencing`` of the command
line, ``referencing`` of fleet files) accept: logical names or short names."""


ProtectionFactory = Callable[[], ApduProtection]
"""Makes a fresh :class:`ApduProtection` for each association."""


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """How a :class:`~asyncdlms.session.client.ClientSession` associates and talks.

    - ``logical_name_referencing``: LN (``True``) or SN referencing;
      :meth:`for_referencing` makes settings for ``"ln"`` or ``"sn"`` with the conformance
      that goes with it.
    - ``mechanism`` and ``secret``: the authentication mechanism (lowest, low, HLS...) and
      the LLS password or HLS secret (kept as a :class:`Secret`, never printed).
    - ``challenge_length``: bytes of the HLS client-to-server challenge (8..64), drawn from
      ``random`` (``os.urandom``; pass a fixed function in tests).
    - ``proposed_conformance``: ``None`` for the defaults above; general-block-transfer is
      added when ``use_general_block_transfer`` is set (and only then, behaviour 7).
    - ``client_max_receive_pdu_size``: the max receive PDU size we propose (0xFFFF, as
      Gurux; 0 means unlimited).
    - ``invoke_id``: the first invoke-id (they rotate 0..15), with ``high_priority`` and
      ``confirmed`` the rest of the invoke-id-and-priority byte (0xC1 by default).
    - ``strict_invoke_id``: drop an answer whose invoke-id differs from the request's. Off by
      default: with one request in flight, an answer that is not the late answer of a
      cancelled request is this request's, and some meters (servers built on gurux-dlms)
      answer errors with invoke-id 1 whatever was asked.
    - ``with_list_chunk_size``: GET with-list, and SN Read and Write of several variables, in
      chunks of this many attributes (10; 1 for meters whose with-list is broken, behaviour 10).
    - ``pdu_size_margin``: an APDU up to the negotiated max PDU + this many bytes is accepted
      (50; behaviour 7, quirk 19).
    - ``max_response_length``: bound on the data reassembled from blocks.
    - ``gbt_window_size``: our general-block-transfer receive window.
    - ``gbt_timeout``: seconds of silence in the middle of a GBT transfer after which the
      session asks for the missing blocks again (or sends its own again), at most
      ``gbt_retries`` times before the request fails; ``None`` leaves recovery to the link
      (HDLC and TCP do not lose blocks; UDP does).
    - ``release_timeout``: seconds to wait for the RLRE before disconnecting anyway
      (quirk 16: meters that never answer an RLRQ).
    - ``late_response_timeout``: seconds a cancelled in-flight request keeps the association
      busy waiting for its late answer before the next request goes out.
    - ``protection``: an :class:`ApduProtection` (or a factory making one per association)
      where ciphering plugs in; :class:`NoProtection` by default.
    - ``security``: a :class:`ClientSecurity` (ciphering policy, keys, system title,
      counters, dedicated key): the easy way to cipher; it makes the protection of each
      association (a :class:`~asyncdlms.security.ciphering.SecurityContext`), used for
      HLS-GMAC too. ``protection`` and ``security`` exclude each other.
    - ``deviation_sign``: the meter's clock deviation convention, used by the typed reads
      of :func:`asyncdlms.connect`'s client (``read_clock``, ``set_clock``, profile
      timestamps), not by the session: ``DeviationSign.INVERTED`` for meters that send it
      the other way round (QUIRKS.md 4).
    """

    logical_name_referencing: bool = True
    mechanism: MechanismName = MechanismName.LOWEST
    secret: Secret | None = field(default=None, repr=False)
    challenge_length: int = 16
    proposed_conformance: Conformance | None = None
    client_max_receive_pdu_size: int = 0xFFFF
    dlms_version: int = 6
    client_system_title: bytes | None = None
    invoke_id: int = 1
    high_priority: bool = True
    confirmed: bool = True
    strict_invoke_id: bool = False
    with_list_chunk_size: int = 10
    pdu_size_margin: int = 50
    max_response_length: int = 16 * 1024 * 1024
    use_general_block_transfer: bool = False
    gbt_window_size: int = 1
    gbt_timeout: float | None = None
    gbt_retries: int = 3
    release_timeout: float = 5.0
    late_response_timeout: float = 5.0
    random: Callable[[int], bytes] = field(default=os.urandom, repr=False)
    manufacturer_hls_function: HlsFunction | None = field(default=None, repr=False)
    protection: ApduProtection | ProtectionFactory | None = field(default=None, repr=False)
    security: ClientSecurity | None = None
    deviation_sign: DeviationSign = DeviationSign.STANDARD

    def __post_init__(self) -> None:
        if self.deviation_sign not in (DeviationSign.STANDARD, DeviationSign.INVERTED):
            raise ValueError(
                f"deviation_sign is DeviationSign.STANDARD or INVERTED, not {self.deviation_sign!r}"
            )
        object.__setattr__(self, "deviation_sign", DeviationSign(self.deviation_sign))
        if self.security is not None and self.protection is not None:
            raise ValueError("give either protection or security, not both")
        if self.secret is not None and not isinstance(self.secret, Secret):
            object.__setattr__(self, "secret", Secret(self.secret))
        if not MIN_CHALLENGE_LENGTH <= self.challenge_length <= MAX_CHALLENGE_LENGTH:
            raise ValueError(
                f"challenge_length must be {MIN_CHALLENGE_LENGTH}..{MAX_CHALLENGE_LENGTH}, "
                f"not {self.challenge_length}"
            )
        if not 0 <= self.client_max_receive_pdu_size <= 0xFFFF:
            raise ValueError("client_max_receive_pdu_size must be 0..65535")
        if not 0 <= self.invoke_id <= 15:
            raise ValueError(f"invoke_id must be 0..15, not {self.invoke_id}")
        if self.with_list_chunk_size < 1:
            raise ValueError("with_list_chunk_size must be 1 or more")
        if self.pdu_size_margin < 0 or self.max_response_length < 1:
            raise ValueError("pdu_size_margin must be >= 0 and max_response_length >= 1")
        if self.gbt_timeout is not None and self.gbt_timeout <= 0:
            raise ValueError(f"gbt_timeout must be positive or None, not {self.gbt_timeout}")
        if not 1 <= self.gbt_window_size <= 63:
            raise ValueError(f"gbt_window_size must be 1..63, not {self.gbt_window_size}")
        if self.mechanism in (MechanismName.LOW,) or self.mechanism.high_level:
            needs_secret = self.mechanism not in (
                MechanismName.HIGH_GMAC,
                MechanismName.HIGH_ECDSA,
            )
            if needs_secret and self.secret is None:
                raise ValueError(
                    f"authentication {self.mechanism.name.lower()} needs a secret (password)"
                )
        if self.client_system_title is not None and len(self.client_system_title) != 8:
            raise ValueError("a system title is 8 bytes long")
        if self.mechanism == MechanismName.HIGH_ECDSA:
            if self.security is None:
                raise ValueError(
                    "HLS-ECDSA needs security=ClientSecurity(suite=1 or 2, key_store=...) "
                    "(our system title, signing key and the meters' certificates)"
                )
            self.security.signing_key_store()
        if (
            self.mechanism == MechanismName.HIGH_GMAC
            and self.security is not None
            and not self.security.has_keys
        ):
            raise ValueError(
                "HLS-GMAC needs the ciphering keys: security=ClientSecurity(...) with "
                "block_cipher_key and authentication_key"
            )

    @classmethod
    def for_referencing(cls, referencing: str, **fields: Any) -> ClientSettings:
        """Settings for ``"ln"`` (logical names, the default) or ``"sn"`` (short names: the
        short-name application context, proposing :data:`SN_CONFORMANCE` unless ``fields``
        give a ``proposed_conformance``), with the other ``fields`` as given, e.g.
        ``ClientSettings.for_referencing("sn", with_list_chunk_size=1)``."""
        name = referencing.lower()
        if name not in REFERENCING_NAMES:
            raise ValueError(
                f"unknown referencing {referencing!r}: use 'ln' (logical names) or 'sn' "
                "(short names)"
            )
        if name == "sn":
            fields.setdefault("proposed_conformance", SN_CONFORMANCE)
        return cls(logical_name_referencing=name == "ln", **fields)

    @property
    def calling_ap_title(self) -> bytes | None:
        """The AARQ calling-AP-title: the security's system title, else
        ``client_system_title``."""
        if self.security is not None:
            return self.security.system_title
        return self.client_system_title

    @property
    def conformance(self) -> Conformance:
        """The conformance block proposed in the InitiateRequest."""
        if self.proposed_conformance is not None:
            value = self.proposed_conformance
        elif self.logical_name_referencing:
            value = DEFAULT_LN_CONFORMANCE
        else:
            value = DEFAULT_SN_CONFORMANCE
        if self.use_general_block_transfer:
            value |= Conformance.GENERAL_BLOCK_TRANSFER
        return value

    def make_protection(self) -> ApduProtection:
        """The protection step for a new association (with ``security``, a fresh
        :class:`SecurityContext`, also when its policy is none: the session then keeps it
        for HLS-GMAC and sends APDUs plain)."""
        if self.security is not None and self.security.has_keys:
            return self.security.make_context()
        if self.protection is None:
            return NoProtection()
        if not isinstance(self.protection, type) and isinstance(self.protection, ApduProtection):
            return self.protection
        return self.protection()
