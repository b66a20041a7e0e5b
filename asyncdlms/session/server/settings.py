"""The server role's settings: the ciphering of a client SAP (:class:`ServerSecurity`), how
the server associates with it (:class:`AssociationPolicy`) and everything else of a server
session (:class:`ServerSettings`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ...apdu.acse import (
    Aarq,
    ApplicationContextName,
    MechanismName,
)
from ...apdu.initiate import Conformance
from ...obis import Obis
from ...security.certificates import KeyStore, KeyUsage
from ...security.ciphering import (
    SecurityContext,
    SecurityPolicy,
    suite_key_length,
)
from ...security.counters import (
    InvocationCounterStore,
    default_invocation_counter_store,
)
from ...security.hls import (
    MAX_CHALLENGE_LENGTH,
    MIN_CHALLENGE_LENGTH,
    HlsFunction,
    Secret,
)
from ...security.suites import SecuritySuiteId
from ..pipeline import ApduProtection, NoProtection

__all__ = [
    "ASSOCIATION_LN",
    "DEFAULT_SERVER_CONFORMANCE",
    "AssociationPolicy",
    "ServerSecurity",
    "ServerSettings",
]


ASSOCIATION_LN = Obis("0.0.40.0.0.255")
"""The current Association LN object; method 1 is reply_to_HLS_authentication."""
_ASSOCIATION_LN_CLASS = 15
_ASSOCIATION_SN_CLASS = 12
_REPLY_TO_HLS_LN_METHOD = 1
_REPLY_TO_HLS_SN_OFFSET = 0x20 + (8 - 1) * 8
"""Association SN method 8 (reply_to_HLS_authentication) from the base name (vaa-name)."""
DEFAULT_SERVER_CONFORMANCE = (
    Conformance.GET
    | Conformance.SET
    | Conformance.ACTION
    | Conformance.SELECTIVE_ACCESS
    | Conformance.MULTIPLE_REFERENCES
    | Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ
    | Conformance.BLOCK_TRANSFER_WITH_SET_OR_WRITE
    | Conformance.BLOCK_TRANSFER_WITH_ACTION
    | Conformance.PRIORITY_MGMT_SUPPORTED
    | Conformance.DATA_NOTIFICATION
    | Conformance.EVENT_NOTIFICATION
)
"""What a logical-name server offers by default (no GBT until it is negotiable here)."""
_SN_CONFORMANCE = (
    Conformance.READ
    | Conformance.WRITE
    | Conformance.UNCONFIRMED_WRITE
    | Conformance.PARAMETERIZED_ACCESS
    | Conformance.MULTIPLE_REFERENCES
    | Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ
    | Conformance.INFORMATION_REPORT
)


def _server_key(value: Secret | bytes, what: str, suite: int = 0) -> Secret:
    key = value if isinstance(value, Secret) else Secret(bytes(value))
    length = suite_key_length(suite)
    if len(key) != length:
        raise ValueError(
            f"the {what} of security suite {suite} is {length} bytes long, not {len(key)}"
        )
    return key


@dataclass(frozen=True, slots=True)
class ServerSecurity:
    """The ciphering of the associations of one client SAP (security setup of a meter).

    - ``policy``: what every xDLMS APDU must carry (plain ones are refused with
      exception-response deciphering-error); None: plain APDUs, the keys only serve
      HLS-GMAC.
    - ``block_cipher_key``, ``authentication_key``, optional ``broadcast_key``: 16 bytes
      (32 with suite 2), kept as :class:`Secret`; they may be left out with a policy of
      none (HLS-ECDSA alone).
    - ``counter_store``: our invocation counters and the last counter accepted from each
      client system title; it outlives associations, so a replayed APDU of an earlier
      association is refused too (the process's store by default).
    - ``system_title``: ours for this SAP; None takes :attr:`ServerSettings.system_title`.
    - ``invocation_counter_hint``: answer a reused or lower client counter with
      exception-response invocation-counter-error carrying the counter expected (in place of
      the AARE too), as some meters do; off by default: the AARQ is rejected and any other
      such APDU dropped unanswered, as the standard has it.
    - ``suite``: the security suite (0, 1 or 2): keys of 16 bytes (0, 1) or 32 (2, AES-GCM-256);
      a received APDU naming another suite is refused.
    - ``key_store``: HLS-ECDSA (suites 1 and 2): our signing key of the suite and the
      clients' certificates or public keys by system title (AARQ calling-AP-title).
    """

    block_cipher_key: Secret | None = field(default=None, repr=False)
    authentication_key: Secret | None = field(default=None, repr=False)
    policy: SecurityPolicy | None = SecurityPolicy.AUTHENTICATED_ENCRYPTION
    broadcast_key: Secret | None = field(default=None, repr=False)
    counter_store: InvocationCounterStore = field(
        default_factory=default_invocation_counter_store, repr=False, compare=False
    )
    system_title: bytes | None = None
    invocation_counter_hint: bool = False
    suite: SecuritySuiteId = SecuritySuiteId.SUITE_0
    key_store: KeyStore | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "suite", SecuritySuiteId(self.suite))
        except ValueError:
            raise ValueError(f"unknown security suite {self.suite!r}; use 0, 1 or 2") from None
        suite = int(self.suite)
        if self.block_cipher_key is None or self.authentication_key is None:
            if self.policy is not None or self.block_cipher_key or self.authentication_key:
                raise ValueError(
                    "ciphering needs both the block cipher key and the authentication key "
                    "(only a security policy of none goes without them)"
                )
        else:
            object.__setattr__(
                self,
                "block_cipher_key",
                _server_key(self.block_cipher_key, "block cipher key", suite),
            )
            object.__setattr__(
                self,
                "authentication_key",
                _server_key(self.authentication_key, "authentication key", suite),
            )
        if self.broadcast_key is not None:
            object.__setattr__(
                self, "broadcast_key", _server_key(self.broadcast_key, "broadcast key", suite)
            )
        if self.policy is not None:
            object.__setattr__(self, "policy", SecurityPolicy(self.policy))
        if self.system_title is not None and len(self.system_title) != 8:
            raise ValueError("a system title is 8 bytes long")

    @property
    def has_keys(self) -> bool:
        """Whether the ciphering keys are given (without them nothing is ciphered and
        HLS-GMAC is impossible; HLS-ECDSA needs only ``key_store``)."""
        return self.block_cipher_key is not None and self.authentication_key is not None

    def make_context(self, system_title: bytes | None) -> SecurityContext:
        """A fresh security context for one association, with our ``system_title`` (this
        object's own when set)."""
        if self.block_cipher_key is None or self.authentication_key is None:
            raise ValueError("a security context needs the block cipher and authentication keys")
        title = self.system_title or system_title
        if title is None:
            raise ValueError("ciphering needs the server system title (ServerSettings)")
        return SecurityContext(
            system_title=title,
            block_cipher_key=self.block_cipher_key,
            authentication_key=self.authentication_key,
            policy=self.policy or SecurityPolicy.AUTHENTICATED_ENCRYPTION,
            broadcast_key=self.broadcast_key,
            counter_store=self.counter_store,
            suite=self.suite,
        )


_CIPHERED_CONTEXT = {
    ApplicationContextName.LOGICAL_NAME: ApplicationContextName.LOGICAL_NAME_WITH_CIPHERING,
    ApplicationContextName.SHORT_NAME: ApplicationContextName.SHORT_NAME_WITH_CIPHERING,
}


@dataclass(frozen=True, slots=True)
class AssociationPolicy:
    """How the server associates with one client SAP (an Association LN/SN object of a real
    meter): the application context it accepts, the authentication mechanism it requires
    (``LOWEST``, ``LOW`` with ``secret`` as password, an HLS mechanism with ``secret`` as
    the HLS key; HLS-GMAC with the keys of ``security``), the conformance it offers, the
    length of its HLS challenge, and its ciphering (``security``; a ciphering policy turns
    the application context into its "with ciphering" form)."""

    mechanism: MechanismName = MechanismName.LOWEST
    secret: Secret | None = field(default=None, repr=False)
    application_context_name: ApplicationContextName = ApplicationContextName.LOGICAL_NAME
    conformance: Conformance = DEFAULT_SERVER_CONFORMANCE
    challenge_length: int = 16
    security: ServerSecurity | None = None

    def __post_init__(self) -> None:
        if self.mechanism == MechanismName.HIGH_GMAC:
            if self.security is None or not self.security.has_keys:
                raise ValueError("HLS-GMAC needs the ciphering keys: give security=")
        elif self.mechanism == MechanismName.HIGH_ECDSA:
            security = self.security
            if security is None or security.suite == SecuritySuiteId.SUITE_0:
                raise ValueError(
                    "HLS-ECDSA needs security=ServerSecurity(suite=1 or 2, key_store=...)"
                )
            if security.key_store is None or not security.key_store.has_private_key(
                security.suite, KeyUsage.DIGITAL_SIGNATURE
            ):
                raise ValueError(
                    f"HLS-ECDSA needs the server's signing key of suite {int(security.suite)} "
                    "in security.key_store"
                )
        elif self.mechanism != MechanismName.LOWEST and self.secret is None:
            raise ValueError(f"mechanism {self.mechanism.name.lower()} needs a secret")
        if not MIN_CHALLENGE_LENGTH <= self.challenge_length <= MAX_CHALLENGE_LENGTH:
            raise ValueError(f"challenge_length must be 8..64, not {self.challenge_length}")
        if self.security is not None and self.security.policy is not None:
            name = _CIPHERED_CONTEXT.get(self.application_context_name)
            if name is not None:
                object.__setattr__(self, "application_context_name", name)


def _default_policies() -> Mapping[int, AssociationPolicy]:
    return {16: AssociationPolicy()}


def _no_protection(policy: AssociationPolicy, aarq: Aarq) -> ApduProtection:
    return NoProtection()


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """Configuration of a :class:`ServerSession`.

    - ``policies``: client SAP -> :class:`AssociationPolicy` (e.g. 16 public without
      authentication, 17 LLS, 18 HLS, as real meters). An AARQ from a client SAP not
      listed is rejected with authentication-failure, as meters do (quirk 1).
    - ``server_max_receive_pdu_size``: sent in the InitiateResponse; longer requests are
      refused with exception-response pdu-too-long (0: no limit).
    - ``vaa_name``: the InitiateResponse vaa-name; ``None`` gives 0x0007 for LN and
      0xFA00 for SN associations.
    - ``system_title``: the server system title, sent as responding-AP-title (HLS SHA-256
      needs it).
    - ``random``: the random source for HLS challenges (inject a deterministic one in tests).
    - ``manufacturer_function``: f of HLS mechanism 2 (manufacturer-specific).
    - ``protection_factory``: gives the :class:`ApduProtection` of an association from its
      policy and AARQ (ciphering plugs in here; default :class:`NoProtection`).
    - ``max_request_length``: bound of a request reassembled from SET/ACTION blocks.
    - ``min_client_pdu_size``: a smaller non-zero client max receive PDU size is refused
      (initiate pdu-size-too-short).
    - ``gbt_window_size``: our General Block Transfer receive window, used when a policy
      offers general-block-transfer and the client proposes it.
    """

    policies: Mapping[int, AssociationPolicy] = field(default_factory=_default_policies)
    server_max_receive_pdu_size: int = 1024
    vaa_name: int | None = None
    system_title: bytes | None = None
    random: Callable[[int], bytes] = os.urandom
    manufacturer_function: HlsFunction | None = None
    protection_factory: Callable[[AssociationPolicy, Aarq], ApduProtection] = _no_protection
    max_request_length: int = 0x10000
    min_client_pdu_size: int = 12
    gbt_window_size: int = 1

    def __post_init__(self) -> None:
        if not 0 <= self.server_max_receive_pdu_size <= 0xFFFF:
            raise ValueError("server_max_receive_pdu_size must be 0..65535")
        if self.max_request_length < 1:
            raise ValueError("max_request_length must be positive")
