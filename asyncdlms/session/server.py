"""The server role of the application layer: one association, sans-IO.

A :class:`ServerSession` sits on a server-role link (:class:`asyncdlms.hdlc.HdlcConnection`
with ``Role.SERVER`` or :class:`asyncdlms.wrapper.WrapperConnection` with ``role="server"``)
and answers what a client sends through it:

- the AARQ, validated against the :class:`AssociationPolicy` of the client SAP it came from
  (application context, authentication mechanism, LLS password, HLS challenges, the xDLMS
  InitiateRequest) and answered by an AARE that accepts or rejects it;
- HLS pass 3 (``reply_to_HLS_authentication``, Association LN method 1 or Association SN
  method 8), checked, answered with pass 4;
- GET/SET/ACTION in every variant and SN Read/Write/UnconfirmedWrite, answered through an
  :class:`~.object_access.ObjectAccess`; long answers go out with-datablock/with-pblock;
- RLRQ, answered with RLRE.

With ciphering (``AssociationPolicy.security``, a :class:`ServerSecurity`) each association
gets a fresh :class:`~asyncdlms.security.ciphering.SecurityContext`: the AARQ's
calling-AP-title is the peer system title, the glo-initiate is deciphered (its dedicated
key installed), answers go ciphered in the form the request came in; a plain or undecipherable
request is answered with exception-response deciphering-error, a replayed counter with
invocation-counter-error and the counter expected (also in place of the AARE); HLS-GMAC
pass 3 is checked and pass 4 made through the context.

Bytes in through :meth:`ServerSession.receive_data`, bytes out through
:meth:`~ServerSession.data_to_send`, what happened out of :meth:`~ServerSession.events`;
time is passed in (``now``), never read. No input makes it raise: malformed APDUs are
answered with an exception-response and counted.

The association states and what each input does form one table, :data:`TRANSITIONS`::

    (state, input) -> (action, next state)
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .. import axdr
from ..apdu.acse import (
    Aare,
    Aarq,
    AcseServiceUserDiagnostic,
    ApplicationContextName,
    AssociationResult,
    MechanismName,
    ReleaseResponseReason,
    Rlre,
    Rlrq,
)
from ..apdu.action import (
    ActionRequestNextPblock,
    ActionRequestNormal,
    ActionRequestWithFirstPblock,
    ActionRequestWithList,
    ActionRequestWithListAndFirstPblock,
    ActionRequestWithPblock,
    ActionResponseNextPblock,
    ActionResponseNormal,
    ActionResponseWithList,
    ActionResponseWithOptionalData,
    ActionResponseWithPblock,
    decode_action_request,
)
from ..apdu.block_transfer import split_blocks
from ..apdu.descriptors import (
    CosemAttributeDescriptor,
    CosemMethodDescriptor,
    Data,
    DataBlockSA,
    Reader,
    SelectiveAccessDescriptor,
)
from ..apdu.enums import ActionResult, DataAccessResult, InvokeIdAndPriority
from ..apdu.get import (
    GetRequestNext,
    GetRequestNormal,
    GetRequestWithList,
    GetResponseNormal,
    GetResponseWithDatablock,
    GetResponseWithList,
    decode_get_request,
    write_get_data_result,
)
from ..apdu.initiate import (
    LN_VAA_NAME,
    SN_VAA_NAME,
    Conformance,
    InitiateRequest,
    InitiateResponse,
)
from ..apdu.notification import DataNotification, EventNotificationRequest
from ..apdu.service_error import (
    ConfirmedService,
    ConfirmedServiceError,
    ExceptionResponse,
    ExceptionServiceError,
    ExceptionStateError,
    ServiceErrorChoice,
    ServiceErrorInitiate,
    ServiceErrorVdeState,
)
from ..apdu.set import (
    SetRequestNormal,
    SetRequestWithDatablock,
    SetRequestWithFirstDatablock,
    SetRequestWithList,
    SetRequestWithListAndFirstDatablock,
    SetResponseDatablock,
    SetResponseLastDatablock,
    SetResponseLastDatablockWithList,
    SetResponseNormal,
    SetResponseWithList,
    decode_set_request,
)
from ..apdu.short_name import (
    BlockNumberAccess,
    DataBlockResult,
    ParameterizedAccess,
    ReadRequest,
    ReadResponse,
    ReadResult,
    UnconfirmedWriteRequest,
    VariableName,
    WriteRequest,
    WriteResponse,
    WriteResult,
)
from ..apdu.tags import ApduTag
from ..errors import AuthenticationError, DlmsError, ReplayError
from ..link import ApduReceived, Link, LinkClosed, LinkEstablished
from ..obis import Obis
from ..security.ciphering import (
    KEY_LENGTH,
    CipheringForm,
    SecurityContext,
    SecurityPolicy,
)
from ..security.counters import (
    CipheringKey,
    InvocationCounterStore,
    MemoryInvocationCounterStore,
)
from ..security.hls import (
    MAX_CHALLENGE_LENGTH,
    MIN_CHALLENGE_LENGTH,
    HlsFunction,
    Secret,
    generate_challenge,
    server_pass4,
    verify_client_pass3,
)
from .events import AssociationEstablished, AssociationReleased, SessionEvent
from .gbt import GeneralBlockTransferChannel
from .object_access import AssociationContext, ObjectAccess, ShortNameKind
from .pipeline import ApduProtection, NoProtection, protection_overhead

__all__ = [
    "ASSOCIATION_LN",
    "DEFAULT_SERVER_CONFORMANCE",
    "TRANSITIONS",
    "AssociationAction",
    "AssociationInput",
    "AssociationPolicy",
    "AssociationState",
    "ServerSecurity",
    "ServerSession",
    "ServerSettings",
    "Transition",
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


# ---------------------------------------------------------------------------------------------
# Settings


def _server_key(value: Secret | bytes, what: str) -> Secret:
    key = value if isinstance(value, Secret) else Secret(bytes(value))
    if len(key) != KEY_LENGTH:
        raise ValueError(f"the {what} is {KEY_LENGTH} bytes long, not {len(key)}")
    return key


@dataclass(frozen=True, slots=True)
class ServerSecurity:
    """The ciphering of the associations of one client SAP (security setup of a meter).

    - ``policy``: what every xDLMS APDU must carry (plain ones are refused with
      exception-response deciphering-error); None: plain APDUs, the keys only serve
      HLS-GMAC.
    - ``block_cipher_key``, ``authentication_key``, optional ``broadcast_key``: 16 bytes,
      kept as :class:`Secret`.
    - ``counter_store``: our invocation counters and the last counter accepted from each
      client system title; it outlives associations, so a replayed APDU of an earlier
      association is refused too.
    - ``system_title``: ours for this SAP; None takes :attr:`ServerSettings.system_title`.
    """

    block_cipher_key: Secret = field(repr=False)
    authentication_key: Secret = field(repr=False)
    policy: SecurityPolicy | None = SecurityPolicy.AUTHENTICATED_ENCRYPTION
    broadcast_key: Secret | None = field(default=None, repr=False)
    counter_store: InvocationCounterStore = field(
        default_factory=MemoryInvocationCounterStore, repr=False, compare=False
    )
    system_title: bytes | None = None

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "block_cipher_key", _server_key(self.block_cipher_key, "block cipher key")
        )
        object.__setattr__(
            self,
            "authentication_key",
            _server_key(self.authentication_key, "authentication key"),
        )
        if self.broadcast_key is not None:
            object.__setattr__(
                self, "broadcast_key", _server_key(self.broadcast_key, "broadcast key")
            )
        if self.policy is not None:
            object.__setattr__(self, "policy", SecurityPolicy(self.policy))
        if self.system_title is not None and len(self.system_title) != 8:
            raise ValueError("a system title is 8 bytes long")

    def make_context(self, system_title: bytes | None) -> SecurityContext:
        """A fresh security context for one association, with our ``system_title`` (this
        object's own when set)."""
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
            if self.security is None:
                raise ValueError("HLS-GMAC needs the ciphering keys: give security=")
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


# ---------------------------------------------------------------------------------------------
# The association state machine


class AssociationState(Enum):
    """Where the association of a server session is."""

    IDLE = "idle"
    """No association (the link may be up): only an AARQ (or RLRQ) makes sense."""
    AWAITING_PASS3 = "awaiting-pass3"
    """HLS accepted in the AARE; only reply_to_HLS_authentication is served."""
    ASSOCIATED = "associated"
    """The association is established: every negotiated service is served."""


class AssociationInput(Enum):
    """What happened, as seen by the association state machine."""

    AARQ_ACCEPTABLE = "aarq-acceptable"
    AARQ_NEEDS_HLS = "aarq-needs-hls"
    AARQ_REJECTED = "aarq-rejected"
    PASS3_VALID = "pass3-valid"
    PASS3_INVALID = "pass3-invalid"
    SERVICE_REQUEST = "service-request"
    RLRQ = "rlrq"
    MALFORMED = "malformed"
    LINK_ESTABLISHED = "link-established"
    LINK_CLOSED = "link-closed"


class AssociationAction(Enum):
    """What the session does for a transition."""

    ACCEPT = "accept"
    """Send the accepting AARE; the association is up (event AssociationEstablished)."""
    ACCEPT_PENDING_HLS = "accept-pending-hls"
    """Send the accepting AARE with authentication-required and the StoC challenge."""
    REJECT = "reject"
    """Send the rejecting AARE."""
    REJECT_ALREADY_ASSOCIATED = "reject-already-associated"
    """An AARQ while associated: rejected-transient, the association stays."""
    SEND_PASS4 = "send-pass4"
    """Answer pass 3 with f(CtoS); the association is up (event AssociationEstablished)."""
    DENY_PASS3 = "deny-pass3"
    """Answer pass 3 with read-write-denied; no association (event AssociationReleased)."""
    SERVE = "serve"
    """Answer the request through the object access."""
    DENY_PENDING_HLS = "deny-pending-hls"
    """A request before pass 3: answered with read-write-denied."""
    REFUSE_NO_ASSOCIATION = "refuse-no-association"
    """A request outside an association: exception-response / confirmed-service-error."""
    RELEASE = "release"
    """Send RLRE; end the association (event AssociationReleased when there was one)."""
    ANSWER_EXCEPTION = "answer-exception"
    """Answer with exception-response (unknown or malformed APDU)."""
    DROP = "drop"
    """Forget the association silently (event AssociationReleased when there was one)."""
    NOTHING = "nothing"


@dataclass(frozen=True, slots=True)
class Transition:
    """One row of :data:`TRANSITIONS`."""

    action: AssociationAction
    next_state: AssociationState


_S = AssociationState
_I = AssociationInput
_A = AssociationAction

TRANSITIONS: Mapping[tuple[AssociationState, AssociationInput], Transition] = {
    (_S.IDLE, _I.AARQ_ACCEPTABLE): Transition(_A.ACCEPT, _S.ASSOCIATED),
    (_S.IDLE, _I.AARQ_NEEDS_HLS): Transition(_A.ACCEPT_PENDING_HLS, _S.AWAITING_PASS3),
    (_S.IDLE, _I.AARQ_REJECTED): Transition(_A.REJECT, _S.IDLE),
    (_S.IDLE, _I.SERVICE_REQUEST): Transition(_A.REFUSE_NO_ASSOCIATION, _S.IDLE),
    (_S.IDLE, _I.RLRQ): Transition(_A.RELEASE, _S.IDLE),
    (_S.IDLE, _I.MALFORMED): Transition(_A.ANSWER_EXCEPTION, _S.IDLE),
    (_S.IDLE, _I.LINK_ESTABLISHED): Transition(_A.NOTHING, _S.IDLE),
    (_S.IDLE, _I.LINK_CLOSED): Transition(_A.NOTHING, _S.IDLE),
    (_S.AWAITING_PASS3, _I.AARQ_ACCEPTABLE): Transition(_A.ACCEPT, _S.ASSOCIATED),
    (_S.AWAITING_PASS3, _I.AARQ_NEEDS_HLS): Transition(_A.ACCEPT_PENDING_HLS, _S.AWAITING_PASS3),
    (_S.AWAITING_PASS3, _I.AARQ_REJECTED): Transition(_A.REJECT, _S.IDLE),
    (_S.AWAITING_PASS3, _I.PASS3_VALID): Transition(_A.SEND_PASS4, _S.ASSOCIATED),
    (_S.AWAITING_PASS3, _I.PASS3_INVALID): Transition(_A.DENY_PASS3, _S.IDLE),
    (_S.AWAITING_PASS3, _I.SERVICE_REQUEST): Transition(_A.DENY_PENDING_HLS, _S.AWAITING_PASS3),
    (_S.AWAITING_PASS3, _I.RLRQ): Transition(_A.RELEASE, _S.IDLE),
    (_S.AWAITING_PASS3, _I.MALFORMED): Transition(_A.ANSWER_EXCEPTION, _S.AWAITING_PASS3),
    (_S.AWAITING_PASS3, _I.LINK_ESTABLISHED): Transition(_A.DROP, _S.IDLE),
    (_S.AWAITING_PASS3, _I.LINK_CLOSED): Transition(_A.DROP, _S.IDLE),
    (_S.ASSOCIATED, _I.AARQ_ACCEPTABLE): Transition(_A.REJECT_ALREADY_ASSOCIATED, _S.ASSOCIATED),
    (_S.ASSOCIATED, _I.AARQ_NEEDS_HLS): Transition(_A.REJECT_ALREADY_ASSOCIATED, _S.ASSOCIATED),
    (_S.ASSOCIATED, _I.AARQ_REJECTED): Transition(_A.REJECT_ALREADY_ASSOCIATED, _S.ASSOCIATED),
    (_S.ASSOCIATED, _I.SERVICE_REQUEST): Transition(_A.SERVE, _S.ASSOCIATED),
    (_S.ASSOCIATED, _I.RLRQ): Transition(_A.RELEASE, _S.IDLE),
    (_S.ASSOCIATED, _I.MALFORMED): Transition(_A.ANSWER_EXCEPTION, _S.ASSOCIATED),
    (_S.ASSOCIATED, _I.LINK_ESTABLISHED): Transition(_A.DROP, _S.IDLE),
    (_S.ASSOCIATED, _I.LINK_CLOSED): Transition(_A.DROP, _S.IDLE),
}
"""The association state machine of the server role. Inputs that a state cannot receive
(pass 3 outside AWAITING_PASS3 is classified as a plain SERVICE_REQUEST) are absent."""


# ---------------------------------------------------------------------------------------------
# Internal records


@dataclass(slots=True)
class _Negotiated:
    """What the AARQ evaluation decided (for an acceptable AARQ)."""

    policy: AssociationPolicy
    aarq: Aarq
    conformance: Conformance
    client_max_receive_pdu_size: int
    client_challenge: bytes = b""
    server_challenge: bytes = b""
    protection: ApduProtection = field(default_factory=NoProtection)
    context: SecurityContext | None = None


@dataclass(slots=True)
class _OutgoingBlocks:
    """A long answer being sent block by block (GET datablocks, ACTION pblocks, SN read)."""

    kind: str
    invoke_id_and_priority: InvokeIdAndPriority
    blocks: list[bytes]
    sent: int = 0


@dataclass(slots=True)
class _IncomingBlocks:
    """A long request arriving block by block (SET datablocks, ACTION pblocks)."""

    kind: str
    targets: Sequence[Any]
    with_list: bool
    selective_access: SelectiveAccessDescriptor | None
    buffer: bytearray
    block_number: int


_DEFAULT_IIP = InvokeIdAndPriority()


def _access_to_action_result(result: DataAccessResult) -> ActionResult:
    try:
        return ActionResult(int(result))
    except ValueError:
        return ActionResult.OTHER_REASON


def _action_to_access_result(result: ActionResult) -> DataAccessResult:
    try:
        return DataAccessResult(int(result))
    except ValueError:
        return DataAccessResult.OTHER_REASON


class ServerSession:
    """One association in the server role over a server-role :class:`~asyncdlms.link.Link`.

    Counters for diagnostics: ``malformed_apdus`` (undecodable or unknown APDUs answered
    with exception-response), ``exception_responses`` (every exception-response sent),
    ``rejected_associations`` (rejecting AAREs and failed pass 3), ``requests_served``,
    ``unsolicited_dropped`` (APDUs for another address), ``blocks_sent`` and
    ``blocks_received``, ``send_failures`` (answers the link could not take: it was down).
    """

    def __init__(self, link: Link, settings: ServerSettings, object_access: ObjectAccess) -> None:
        self.link = link
        self.settings = settings
        self.object_access = object_access
        self.state = AssociationState.IDLE
        self.client_address: int | None = None
        self.negotiated_conformance = Conformance(0)
        self.client_max_receive_pdu_size = 0
        #: The largest APDU sent to the client: the smaller of the client's and the server's
        #: max receive PDU sizes (0 in one of them means no limit from that side).
        self.max_pdu_size_tx = 0
        self.mechanism = MechanismName.LOWEST
        self.logical_name_referencing = True
        self.malformed_apdus = 0
        self.exception_responses = 0
        self.rejected_associations = 0
        self.requests_served = 0
        self.unsolicited_dropped = 0
        self.blocks_sent = 0
        self.blocks_received = 0
        self.send_failures = 0
        self._apdus_sent = 0
        self._events: list[SessionEvent] = []
        self._now = 0.0
        self._started = False
        self._pending: _Negotiated | None = None
        self._protection: ApduProtection = NoProtection()
        self._context: SecurityContext | None = None
        self._gbt = GeneralBlockTransferChannel(settings.gbt_window_size)
        self._outgoing: _OutgoingBlocks | None = None
        self._incoming: _IncomingBlocks | None = None
        self._rejection: Aare | None = None
        self._rejection_apdu: bytes | None = None
        #: Ciphered APDUs refused: a bad tag or header, a plain APDU where the policy wants
        #: ciphering (answered deciphering-error) or a replayed counter (answered
        #: invocation-counter-error with the counter expected).
        self.deciphering_failures = 0
        self.replayed_apdus = 0

    # -- sans-IO surface ------------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> None:
        """Feed bytes received from the transport (any slicing). Never raises for bad input."""
        self._now = now
        self._start(now)
        self.link.receive_data(data, now)
        self._pump()

    def data_to_send(self) -> bytes:
        """The bytes the transport must write now."""
        return self.link.data_to_send()

    def datagrams_to_send(self) -> list[bytes]:
        """What to write, one element per frame or datagram."""
        return self.link.datagrams_to_send()

    def events(self) -> list[SessionEvent]:
        """The events since the last call (AssociationEstablished, AssociationReleased)."""
        events, self._events = self._events, []
        return events

    def next_deadline(self) -> float | None:
        """When :meth:`handle_timer` must be called next (the link's timers)."""
        return self.link.next_deadline()

    def handle_timer(self, now: float) -> None:
        """Let the link's expired timers act (e.g. the HDLC inactivity timeout)."""
        self._now = now
        self.link.handle_timer(now)
        self._pump()

    def push(
        self, notification: DataNotification | EventNotificationRequest | bytes, now: float
    ) -> None:
        """Send an unsolicited data-notification or event-notification (Push setup) to the
        client of this link. Raises :class:`~asyncdlms.errors.LinkError` when the link
        cannot carry it."""
        self._now = now
        self._start(now)
        apdu = notification if isinstance(notification, bytes) else notification.encode()
        self.link.send_apdu(self._protection.protect(apdu), now)

    @property
    def security_context(self) -> SecurityContext | None:
        """The security context of the current association (None without ciphering)."""
        return self._context

    @property
    def context(self) -> AssociationContext:
        """The association context given to the object access."""
        return AssociationContext(
            self.client_address if self.client_address is not None else -1,
            self.mechanism,
            self.negotiated_conformance,
            self.logical_name_referencing,
        )

    # -- link events ----------------------------------------------------------------------

    def _start(self, now: float) -> None:
        if not self._started:
            self._started = True
            self.link.connect(now)

    def _pump(self) -> None:
        for event in self.link.events():
            if isinstance(event, ApduReceived):
                if event.unsolicited:
                    self.unsolicited_dropped += 1
                    continue
                sent = self._apdus_sent
                self._on_apdu(event.apdu, event.source)
                if self._apdus_sent == sent:
                    # nothing answers it (unconfirmed write, a GBT acknowledgement...):
                    # an HDLC server must give the poll back all the same
                    self.link.no_reply(self._now)
            elif isinstance(event, LinkEstablished):
                self._transition(AssociationInput.LINK_ESTABLISHED)
            elif isinstance(event, LinkClosed):
                self._transition(AssociationInput.LINK_CLOSED, event.error)

    def _transition(
        self, link_input: AssociationInput, error: DlmsError | None = None, apdu: Any = None
    ) -> None:
        transition = TRANSITIONS[(self.state, link_input)]
        previous = self.state
        self.state = transition.next_state
        action = transition.action
        if action is AssociationAction.ACCEPT:
            self._accept(apdu)
        elif action is AssociationAction.ACCEPT_PENDING_HLS:
            self._accept_pending_hls(apdu)
        elif action is AssociationAction.REJECT:
            self._reject(previous)
        elif action is AssociationAction.REJECT_ALREADY_ASSOCIATED:
            self._reject_already_associated()
        elif action is AssociationAction.SEND_PASS4:
            self._send_pass4(apdu)
        elif action is AssociationAction.DENY_PASS3:
            self._deny_pass3(apdu)
        elif action is AssociationAction.SERVE:
            self._serve(apdu)
        elif action is AssociationAction.DENY_PENDING_HLS:
            self._deny_pending(apdu)
        elif action is AssociationAction.REFUSE_NO_ASSOCIATION:
            self._refuse_no_association(apdu)
        elif action is AssociationAction.RELEASE:
            self._release(previous, apdu)
        elif action is AssociationAction.ANSWER_EXCEPTION:
            self._send_exception(*apdu)
        elif action is AssociationAction.DROP:
            self._forget()
            self._events.append(AssociationReleased(error))

    # -- classification -------------------------------------------------------------------

    def _on_apdu(self, raw: bytes, source: int | None) -> None:
        if not raw:
            self.malformed_apdus += 1
            self._transition(
                AssociationInput.MALFORMED,
                apdu=(ExceptionStateError.SERVICE_UNKNOWN, ExceptionServiceError.OTHER_REASON),
            )
            return
        tag = raw[0]
        if tag == ApduTag.AARQ:
            self._on_aarq(raw, source)
            return
        if tag == ApduTag.RLRQ:
            try:
                request = Rlrq.decode(raw)
            except DlmsError:
                request = Rlrq()
            self._transition(AssociationInput.RLRQ, apdu=request)
            return
        if self.state is not AssociationState.IDLE:
            limit = self.settings.server_max_receive_pdu_size
            if limit and len(raw) > limit:
                self.malformed_apdus += 1
                self._transition(
                    AssociationInput.MALFORMED,
                    apdu=(
                        ExceptionStateError.SERVICE_NOT_ALLOWED,
                        ExceptionServiceError.PDU_TOO_LONG,
                    ),
                )
                return
            try:
                received = self._gbt.receive(raw)
            except DlmsError:
                self.malformed_apdus += 1
                self._gbt.reset()
                self._transition(
                    AssociationInput.MALFORMED,
                    apdu=(
                        ExceptionStateError.SERVICE_NOT_ALLOWED,
                        ExceptionServiceError.OPERATION_NOT_POSSIBLE,
                    ),
                )
                return
            for piece in received.to_send:
                self._send_link(piece)
            if received.apdu is None:
                return
            raw = received.apdu
            if not raw:
                return
            try:
                raw = self._unprotect(raw)
            except ReplayError as exc:
                self.malformed_apdus += 1
                self.replayed_apdus += 1
                self._transition(
                    AssociationInput.MALFORMED,
                    apdu=(
                        ExceptionStateError.SERVICE_NOT_ALLOWED,
                        ExceptionServiceError.INVOCATION_COUNTER_ERROR,
                        exc.last + 1 if exc.last < 0xFFFF_FFFF else None,
                    ),
                )
                return
            except DlmsError:
                self.malformed_apdus += 1
                self.deciphering_failures += 1
                self._transition(
                    AssociationInput.MALFORMED,
                    apdu=(
                        ExceptionStateError.SERVICE_NOT_ALLOWED,
                        ExceptionServiceError.DECIPHERING_ERROR,
                    ),
                )
                return
        try:
            request = self._decode_request(raw)
        except _Unknown:
            self.malformed_apdus += 1
            self._transition(
                AssociationInput.MALFORMED,
                apdu=(
                    ExceptionStateError.SERVICE_UNKNOWN,
                    ExceptionServiceError.OPERATION_NOT_POSSIBLE,
                ),
            )
            return
        except DlmsError:
            self.malformed_apdus += 1
            self._transition(
                AssociationInput.MALFORMED,
                apdu=(
                    ExceptionStateError.SERVICE_NOT_ALLOWED,
                    ExceptionServiceError.OPERATION_NOT_POSSIBLE,
                ),
            )
            return
        if self.state is AssociationState.AWAITING_PASS3:
            reply = self._hls_reply(request)
            if reply is not None:
                valid = self._check_pass3(reply)
                self._transition(
                    AssociationInput.PASS3_VALID if valid else AssociationInput.PASS3_INVALID,
                    apdu=request,
                )
                return
        self._transition(AssociationInput.SERVICE_REQUEST, apdu=request)

    def _unprotect(self, raw: bytes) -> bytes:
        """Decipher a request; with a security context, answer in the form it came in
        (ded- for ded-, glo- for glo-, the general forms likewise)."""
        context = self._context
        if context is None or self._protection is not context:
            return self._protection.unprotect(raw)
        received = context.unprotect_apdu(raw)
        if received.invocation_counter >= 0:
            general = raw[0] in (ApduTag.GENERAL_GLO_CIPHERING, ApduTag.GENERAL_DED_CIPHERING)
            dedicated = received.key is CipheringKey.DEDICATED
            if general:
                form = (
                    CipheringForm.GENERAL_DEDICATED if dedicated else CipheringForm.GENERAL_GLOBAL
                )
            else:
                form = CipheringForm.DEDICATED if dedicated else CipheringForm.GLOBAL
            context.use_form(form)
        return received.apdu

    def _decode_request(self, raw: bytes) -> Any:
        tag = raw[0]
        if tag == ApduTag.GET_REQUEST:
            return decode_get_request(raw)
        if tag == ApduTag.SET_REQUEST:
            return decode_set_request(raw)
        if tag == ApduTag.ACTION_REQUEST:
            return decode_action_request(raw)
        if tag == ApduTag.READ_REQUEST:
            return ReadRequest.decode(raw)
        if tag == ApduTag.WRITE_REQUEST:
            return WriteRequest.decode(raw)
        if tag == ApduTag.UNCONFIRMED_WRITE_REQUEST:
            return UnconfirmedWriteRequest.decode(raw)
        raise _Unknown()

    # -- association ----------------------------------------------------------------------

    def _on_aarq(self, raw: bytes, source: int | None) -> None:
        try:
            aarq = Aarq.decode(raw)
        except DlmsError:
            self._rejection = Aare(
                AssociationResult.REJECTED_PERMANENT, AcseServiceUserDiagnostic.NO_REASON_GIVEN
            )
            self._transition(AssociationInput.AARQ_REJECTED)
            return
        self._rejection_apdu = None
        outcome = self._evaluate_aarq(aarq, source)
        if isinstance(outcome, Aare):
            self._rejection = outcome
            self._transition(AssociationInput.AARQ_REJECTED)
        elif outcome.policy.mechanism.high_level:
            self._transition(AssociationInput.AARQ_NEEDS_HLS, apdu=(outcome, source))
        else:
            self._transition(AssociationInput.AARQ_ACCEPTABLE, apdu=(outcome, source))

    def _rejecting_aare(
        self,
        aarq: Aarq,
        diagnostic: AcseServiceUserDiagnostic,
        user_information: bytes | None = None,
    ) -> Aare:
        return Aare(
            AssociationResult.REJECTED_PERMANENT,
            diagnostic,
            application_context_name=aarq.application_context_name,
            user_information=user_information,
        )

    def _evaluate_aarq(self, aarq: Aarq, source: int | None) -> _Negotiated | Aare:
        """Check an AARQ against the policy of its client SAP: an acceptable association, or
        the rejecting AARE."""
        diagnostic = AcseServiceUserDiagnostic
        policy = self.settings.policies.get(source) if source is not None else None
        if policy is None:
            return self._rejecting_aare(aarq, diagnostic.AUTHENTICATION_FAILURE)
        if aarq.application_context_name != policy.application_context_name:
            return self._rejecting_aare(aarq, diagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED)
        requested = aarq.mechanism_name
        if requested is None or requested == MechanismName.LOWEST:
            if policy.mechanism != MechanismName.LOWEST:
                return self._rejecting_aare(aarq, diagnostic.AUTHENTICATION_MECHANISM_NAME_REQUIRED)
        elif requested != policy.mechanism:
            return self._rejecting_aare(
                aarq, diagnostic.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED
            )
        client_challenge = b""
        if policy.mechanism == MechanismName.LOW:
            assert policy.secret is not None
            password = aarq.calling_authentication_value or b""
            if not hmac.compare_digest(password, policy.secret.value):
                return self._rejecting_aare(aarq, diagnostic.AUTHENTICATION_FAILURE)
        elif policy.mechanism.high_level:
            client_challenge = aarq.calling_authentication_value or b""
            if not MIN_CHALLENGE_LENGTH <= len(client_challenge) <= MAX_CHALLENGE_LENGTH:
                return self._rejecting_aare(aarq, diagnostic.AUTHENTICATION_FAILURE)
            if policy.mechanism == MechanismName.HIGH_SHA256 and not aarq.calling_ap_title:
                return self._rejecting_aare(aarq, diagnostic.CALLING_AP_TITLE_NOT_RECOGNIZED)
            if (
                policy.mechanism == MechanismName.HIGH
                and self.settings.manufacturer_function is None
            ):
                return self._rejecting_aare(
                    aarq, diagnostic.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED
                )
        if policy.security is not None and self.settings.protection_factory is _no_protection:
            protection: ApduProtection = policy.security.make_context(self.settings.system_title)
        else:
            protection = self.settings.protection_factory(policy, aarq)
        context = protection if isinstance(protection, SecurityContext) else None
        if context is not None:
            if not aarq.calling_ap_title or len(aarq.calling_ap_title) != 8:
                return self._rejecting_aare(aarq, diagnostic.CALLING_AP_TITLE_NOT_RECOGNIZED)
            context.peer_system_title = aarq.calling_ap_title
            if policy.security is not None and policy.security.policy is None:
                protection = NoProtection()  # the keys serve HLS-GMAC only
        if policy.mechanism == MechanismName.HIGH_GMAC and context is None:
            return self._rejecting_aare(
                aarq, diagnostic.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED
            )
        if aarq.user_information is None:
            return self._rejecting_aare(aarq, diagnostic.NO_REASON_GIVEN)
        try:
            initiate = InitiateRequest.decode(protection.unprotect(aarq.user_information))
        except ReplayError as exc:
            # quirk 3, as meters do: the counter the client must continue from
            self._rejection_apdu = ExceptionResponse(
                ExceptionStateError.SERVICE_NOT_ALLOWED,
                ExceptionServiceError.INVOCATION_COUNTER_ERROR,
                exc.last + 1 if exc.last < 0xFFFF_FFFF else None,
            ).encode()
            return self._rejecting_aare(aarq, diagnostic.NO_REASON_GIVEN)
        except DlmsError:
            return self._rejecting_aare(aarq, diagnostic.NO_REASON_GIVEN)
        if initiate.dedicated_key is not None:
            if context is None or protection is not context:
                return self._rejecting_aare(aarq, diagnostic.NO_REASON_GIVEN)
            try:
                context.set_dedicated_key(initiate.dedicated_key)
            except DlmsError:
                return self._rejecting_aare(aarq, diagnostic.NO_REASON_GIVEN)
        initiate_error: ServiceErrorInitiate | None = None
        conformance = initiate.proposed_conformance & policy.conformance
        client_pdu = initiate.client_max_receive_pdu_size
        if initiate.proposed_dlms_version_number < 6:
            initiate_error = ServiceErrorInitiate.DLMS_VERSION_TOO_LOW
        elif not conformance:
            initiate_error = ServiceErrorInitiate.INCOMPATIBLE_CONFORMANCE
        elif client_pdu and client_pdu < self.settings.min_client_pdu_size:
            initiate_error = ServiceErrorInitiate.PDU_SIZE_TOO_SHORT
        if initiate_error is not None:
            error = ConfirmedServiceError(
                ConfirmedService.INITIATE_ERROR, ServiceErrorChoice.INITIATE, initiate_error
            )
            return self._rejecting_aare(aarq, diagnostic.NO_REASON_GIVEN, error.encode())
        server_challenge = b""
        if policy.mechanism.high_level:
            server_challenge = generate_challenge(policy.challenge_length, self.settings.random)
        return _Negotiated(
            policy,
            aarq,
            Conformance(conformance),
            client_pdu,
            client_challenge,
            server_challenge,
            protection,
            context,
        )

    def _accepting_aare(self, negotiated: _Negotiated, pending_hls: bool) -> Aare:
        policy = negotiated.policy
        ln = policy.application_context_name.logical_name_referencing
        vaa_name = self.settings.vaa_name
        if vaa_name is None:
            vaa_name = LN_VAA_NAME if ln else SN_VAA_NAME
        response = InitiateResponse(
            negotiated_conformance=negotiated.conformance,
            server_max_receive_pdu_size=self.settings.server_max_receive_pdu_size,
            negotiated_dlms_version_number=6,
            vaa_name=vaa_name,
        )
        authenticated = policy.mechanism != MechanismName.LOWEST
        return Aare(
            AssociationResult.ACCEPTED,
            AcseServiceUserDiagnostic.AUTHENTICATION_REQUIRED
            if pending_hls
            else AcseServiceUserDiagnostic.NULL,
            application_context_name=policy.application_context_name,
            user_information=negotiated.protection.protect(response.encode()),
            responder_acse_requirements=authenticated,
            mechanism_name=policy.mechanism if authenticated else None,
            responding_authentication_value=negotiated.server_challenge if pending_hls else None,
            responding_ap_title=self.settings.system_title,
        )

    def _adopt(self, negotiated: _Negotiated, source: int | None) -> None:
        self._forget()
        self.client_address = source
        self.negotiated_conformance = negotiated.conformance
        self.client_max_receive_pdu_size = negotiated.client_max_receive_pdu_size
        sizes = [
            size
            for size in (
                self.client_max_receive_pdu_size,
                self.settings.server_max_receive_pdu_size,
            )
            if size
        ]
        self.max_pdu_size_tx = min(sizes) if sizes else 0
        self.mechanism = negotiated.policy.mechanism
        self.logical_name_referencing = (
            negotiated.policy.application_context_name.logical_name_referencing
        )
        self._protection = negotiated.protection
        self._context = negotiated.context
        self._gbt = GeneralBlockTransferChannel(
            self.settings.gbt_window_size,
            self.settings.max_request_length,
            enabled=bool(negotiated.conformance & Conformance.GENERAL_BLOCK_TRANSFER),
        )

    def _established(self) -> None:
        self._events.append(
            AssociationEstablished(
                negotiated_conformance=self.negotiated_conformance,
                max_pdu_size_tx=self.max_pdu_size_tx,
                max_pdu_size_rx=self.settings.server_max_receive_pdu_size,
                dlms_version=6,
                logical_name_referencing=self.logical_name_referencing,
                mechanism=self.mechanism,
                client_address=self.client_address,
            )
        )

    def _accept(self, apdu: tuple[_Negotiated, int | None]) -> None:
        negotiated, source = apdu
        self._adopt(negotiated, source)
        self._send_plain(self._accepting_aare(negotiated, False).encode())
        self._established()

    def _accept_pending_hls(self, apdu: tuple[_Negotiated, int | None]) -> None:
        negotiated, source = apdu
        self._adopt(negotiated, source)
        self._pending = negotiated
        self._send_plain(self._accepting_aare(negotiated, True).encode())

    def _reject(self, previous: AssociationState) -> None:
        self.rejected_associations += 1
        if previous is AssociationState.AWAITING_PASS3:
            self._forget()
            self._events.append(AssociationReleased(None))
        rejection = self._rejection or Aare(
            AssociationResult.REJECTED_PERMANENT, AcseServiceUserDiagnostic.NO_REASON_GIVEN
        )
        self._rejection = None
        answer, self._rejection_apdu = self._rejection_apdu, None
        if answer is not None:  # an exception-response in place of the AARE (quirk 3)
            self.exception_responses += 1
            self._send_plain(answer)
            return
        self._send_plain(rejection.encode())

    def _reject_already_associated(self) -> None:
        self.rejected_associations += 1
        self._rejection = None
        aare = Aare(
            AssociationResult.REJECTED_TRANSIENT,
            AcseServiceUserDiagnostic.NO_REASON_GIVEN,
            application_context_name=(
                ApplicationContextName.LOGICAL_NAME
                if self.logical_name_referencing
                else ApplicationContextName.SHORT_NAME
            ),
        )
        self._send_plain(aare.encode())

    def _hls_reply(self, request: Any) -> bytes | None:
        """The pass 3 value when ``request`` is reply_to_HLS_authentication, else None."""
        if isinstance(request, ActionRequestNormal):
            descriptor = request.cosem_method_descriptor
            if (
                descriptor.class_id == _ASSOCIATION_LN_CLASS
                and descriptor.instance_id == ASSOCIATION_LN
                and descriptor.method_id == _REPLY_TO_HLS_LN_METHOD
            ):
                parameters = request.method_invocation_parameters
                value = parameters.value if parameters is not None else b""
                return bytes(value) if isinstance(value, bytes) else b""
        if isinstance(request, (ReadRequest, WriteRequest)):
            specs = request.variable_access_specification
            name = self._sn_hls_name()
            if len(specs) == 1:
                spec = specs[0]
                if isinstance(spec, ParameterizedAccess) and spec.variable_name == name:
                    value = spec.parameter.value
                    return bytes(value) if isinstance(value, bytes) else b""
                if (
                    isinstance(request, WriteRequest)
                    and isinstance(spec, VariableName)
                    and spec.variable_name == name
                    and len(request.list_of_data) == 1
                ):
                    value = request.list_of_data[0].value
                    return bytes(value) if isinstance(value, bytes) else b""
        return None

    def _sn_hls_name(self) -> int:
        base = self.settings.vaa_name if self.settings.vaa_name is not None else SN_VAA_NAME
        return base + _REPLY_TO_HLS_SN_OFFSET

    def _hls_arguments(self, negotiated: _Negotiated) -> dict[str, Any]:
        return {
            "client_challenge": negotiated.client_challenge,
            "server_challenge": negotiated.server_challenge,
            "client_system_title": negotiated.aarq.calling_ap_title or b"",
            "server_system_title": self.settings.system_title or b"",
            "manufacturer_function": self.settings.manufacturer_function,
        }

    def _check_pass3(self, reply: bytes) -> bool:
        negotiated = self._pending
        if negotiated is None:
            return False
        if negotiated.policy.mechanism == MechanismName.HIGH_GMAC:
            if negotiated.context is None:
                return False
            try:
                negotiated.context.verify_hls_gmac(reply, negotiated.server_challenge)
            except DlmsError:
                return False
            return True
        if negotiated.policy.secret is None:
            return False
        try:
            verify_client_pass3(
                negotiated.policy.mechanism,
                negotiated.policy.secret,
                reply,
                **self._hls_arguments(negotiated),
            )
        except AuthenticationError:
            return False
        return True

    def _send_pass4(self, request: Any) -> None:
        negotiated = self._pending
        assert negotiated is not None
        self._pending = None
        if negotiated.policy.mechanism == MechanismName.HIGH_GMAC:
            assert negotiated.context is not None
            value = negotiated.context.hls_gmac(negotiated.client_challenge)
        else:
            assert negotiated.policy.secret is not None
            value = server_pass4(
                negotiated.policy.mechanism,
                negotiated.policy.secret,
                **self._hls_arguments(negotiated),
            )
        self._answer_hls(request, value, None)
        self._established()

    def _deny_pass3(self, request: Any) -> None:
        self.rejected_associations += 1
        self._answer_hls(request, None, DataAccessResult.READ_WRITE_DENIED)
        self._forget()
        self._events.append(
            AssociationReleased(AuthenticationError("HLS pass 3 failed: wrong client answer"))
        )

    def _answer_hls(
        self, request: Any, value: bytes | None, error: DataAccessResult | None
    ) -> None:
        if isinstance(request, ActionRequestNormal):
            if error is None:
                single = ActionResponseWithOptionalData(ActionResult.SUCCESS, Data.of(value))
            else:
                single = ActionResponseWithOptionalData(_access_to_action_result(error))
            self._send(ActionResponseNormal(single, request.invoke_id_and_priority).encode())
        elif isinstance(request, ReadRequest):
            result: ReadResult = Data.of(value) if error is None else error
            self._send(ReadResponse((result,)).encode())
        else:
            written: WriteResult = DataAccessResult.SUCCESS if error is None else error
            self._send(WriteResponse((written,)).encode())

    def _release(self, previous: AssociationState, request: Rlrq) -> None:
        self._send_plain(Rlre(ReleaseResponseReason.NORMAL).encode())
        if previous is not AssociationState.IDLE:
            self._forget()
            self._events.append(AssociationReleased(None))

    def _forget(self) -> None:
        self._pending = None
        self._outgoing = None
        self._incoming = None
        self._protection = NoProtection()
        self._context = None
        self._gbt = GeneralBlockTransferChannel(self.settings.gbt_window_size)
        self.negotiated_conformance = Conformance(0)

    # -- refusals -------------------------------------------------------------------------

    def _send_exception(
        self,
        state_error: ExceptionStateError,
        service_error: ExceptionServiceError,
        invocation_counter: int | None = None,
    ) -> None:
        self.exception_responses += 1
        self._send_plain(ExceptionResponse(state_error, service_error, invocation_counter).encode())

    def _refuse_no_association(self, request: Any) -> None:
        if isinstance(request, UnconfirmedWriteRequest):
            return
        if isinstance(request, (ReadRequest, WriteRequest)):
            service = (
                ConfirmedService.READ
                if isinstance(request, ReadRequest)
                else ConfirmedService.WRITE
            )
            error = ConfirmedServiceError(
                service, ServiceErrorChoice.VDE_STATE_ERROR, ServiceErrorVdeState.NO_DLMS_CONTEXT
            )
            self._send_plain(error.encode())
            return
        self._send_exception(
            ExceptionStateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.OPERATION_NOT_POSSIBLE
        )

    def _deny_pending(self, request: Any) -> None:
        """Before pass 3 every service is denied (read-write-denied in the service's answer)."""
        denied = DataAccessResult.READ_WRITE_DENIED
        iip = getattr(request, "invoke_id_and_priority", _DEFAULT_IIP)
        if isinstance(request, GetRequestWithList):
            answer = GetResponseWithList(
                tuple(denied for _ in request.attribute_descriptor_list), iip
            ).encode()
        elif isinstance(request, (GetRequestNormal, GetRequestNext)):
            answer = GetResponseNormal(denied, iip).encode()
        elif isinstance(request, SetRequestWithList):
            answer = SetResponseWithList(
                tuple(denied for _ in request.attribute_descriptor_list), iip
            ).encode()
        elif isinstance(
            request,
            (
                SetRequestNormal,
                SetRequestWithFirstDatablock,
                SetRequestWithDatablock,
                SetRequestWithListAndFirstDatablock,
            ),
        ):
            answer = SetResponseNormal(denied, iip).encode()
        elif isinstance(request, ActionRequestWithList):
            answer = ActionResponseWithList(
                tuple(
                    ActionResponseWithOptionalData(ActionResult.READ_WRITE_DENIED)
                    for _ in request.cosem_method_descriptor_list
                ),
                iip,
            ).encode()
        elif isinstance(request, (ReadRequest, WriteRequest)):
            count = len(request.variable_access_specification)
            if isinstance(request, UnconfirmedWriteRequest):
                return
            if isinstance(request, ReadRequest):
                answer = ReadResponse(tuple(denied for _ in range(count))).encode()
            else:
                answer = WriteResponse(tuple(denied for _ in range(count))).encode()
        else:
            single = ActionResponseWithOptionalData(ActionResult.READ_WRITE_DENIED)
            answer = ActionResponseNormal(single, iip).encode()
        self._send(answer)

    # -- sending --------------------------------------------------------------------------

    def _send_plain(self, apdu: bytes) -> None:
        """Send without protection (AARE, RLRE, exception-response)."""
        self._send_link(apdu)

    def _send(self, apdu: bytes) -> None:
        """Send an xDLMS answer: protect, then General Block Transfer when in use."""
        protected = self._protection.protect(apdu)
        for piece in self._gbt.send(protected, self.max_pdu_size_tx):
            self._send_link(piece)

    def _send_link(self, apdu: bytes) -> None:
        """Hand one APDU to the link (counted; a link that refuses it is counted too)."""
        self._apdus_sent += 1
        try:
            self.link.send_apdu(apdu, self._now)
        except DlmsError:
            self.send_failures += 1

    def _fits(self, size: int) -> bool:
        if self._gbt.enabled:
            return True  # GBT splits any answer; no service-specific blocks then
        limit = self.max_pdu_size_tx
        return limit == 0 or size + protection_overhead(self._protection) <= limit

    def _block_payload_size(self, header: int) -> int:
        """Raw bytes per block with ``header`` bytes before the length of the raw data."""
        limit = self.max_pdu_size_tx or 0xFFFF
        return max(1, limit - header - 3 - protection_overhead(self._protection))

    def _negotiated(self, flag: Conformance) -> bool:
        return bool(self.negotiated_conformance & flag)

    # -- services -------------------------------------------------------------------------

    def _serve(self, request: Any) -> None:
        self.requests_served += 1
        try:
            self._dispatch(request)
        except DlmsError:
            self._send_exception(
                ExceptionStateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.OTHER_REASON
            )

    def _service_allowed(self, flag: Conformance) -> bool:
        if self._negotiated(flag):
            return True
        self._send_exception(
            ExceptionStateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.SERVICE_NOT_SUPPORTED
        )
        return False

    def _dispatch(self, request: Any) -> None:
        if not isinstance(request, (GetRequestNext, ActionRequestNextPblock)) and not (
            isinstance(request, ReadRequest) and _is_block_request(request)
        ):
            self._outgoing = None
        if not isinstance(request, (SetRequestWithDatablock, ActionRequestWithPblock)):
            self._incoming = None
        if isinstance(request, (GetRequestNormal, GetRequestWithList, GetRequestNext)):
            if self.logical_name_referencing and self._service_allowed(Conformance.GET):
                self._serve_get(request)
            elif not self.logical_name_referencing:
                self._unsupported()
        elif isinstance(
            request,
            (
                SetRequestNormal,
                SetRequestWithList,
                SetRequestWithDatablock,
                SetRequestWithFirstDatablock,
                SetRequestWithListAndFirstDatablock,
            ),
        ):
            if self.logical_name_referencing and self._service_allowed(Conformance.SET):
                self._serve_set(request)
            elif not self.logical_name_referencing:
                self._unsupported()
        elif isinstance(
            request,
            (
                ActionRequestNormal,
                ActionRequestWithList,
                ActionRequestNextPblock,
                ActionRequestWithFirstPblock,
                ActionRequestWithListAndFirstPblock,
                ActionRequestWithPblock,
            ),
        ):
            if self.logical_name_referencing and self._service_allowed(Conformance.ACTION):
                self._serve_action(request)
            elif not self.logical_name_referencing:
                self._unsupported()
        elif isinstance(request, ReadRequest):
            if not self.logical_name_referencing and self._service_allowed(Conformance.READ):
                self._serve_read(request)
            elif self.logical_name_referencing:
                self._unsupported()
        elif isinstance(request, UnconfirmedWriteRequest):
            if not self.logical_name_referencing and self._negotiated(
                Conformance.UNCONFIRMED_WRITE
            ):
                self._write_results(request)
        elif isinstance(request, WriteRequest):
            if not self.logical_name_referencing and self._service_allowed(Conformance.WRITE):
                self._send(WriteResponse(self._write_results(request)).encode())
            elif self.logical_name_referencing:
                self._unsupported()

    def _unsupported(self) -> None:
        self._send_exception(
            ExceptionStateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.SERVICE_NOT_SUPPORTED
        )

    # GET ----------------------------------------------------------------------------------

    def _get_value(
        self, descriptor: CosemAttributeDescriptor, selection: SelectiveAccessDescriptor | None
    ) -> Data | DataAccessResult:
        if selection is not None and not self._negotiated(Conformance.SELECTIVE_ACCESS):
            return DataAccessResult.SCOPE_OF_ACCESS_VIOLATED
        try:
            value = self.object_access.get(self.context, descriptor, selection)
            if isinstance(value, DataAccessResult):
                return value
            return Data.of(value)
        except Exception:  # the object access must not take the session down
            return DataAccessResult.OTHER_REASON

    def _serve_get(self, request: GetRequestNormal | GetRequestWithList | GetRequestNext) -> None:
        iip = request.invoke_id_and_priority
        if isinstance(request, GetRequestNext):
            self._get_next(request)
            return
        if isinstance(request, GetRequestNormal):
            result = self._get_value(request.cosem_attribute_descriptor, request.access_selection)
            answer = GetResponseNormal(result, iip).encode()
            if self._fits(len(answer)) or isinstance(result, DataAccessResult):
                self._send(answer)
                return
            raw = result.raw
        else:
            if len(request.attribute_descriptor_list) > 1 and not self._service_allowed(
                Conformance.MULTIPLE_REFERENCES
            ):
                return
            results = tuple(
                self._get_value(item.cosem_attribute_descriptor, item.access_selection)
                for item in request.attribute_descriptor_list
            )
            answer = GetResponseWithList(results, iip).encode()
            if self._fits(len(answer)):
                self._send(answer)
                return
            body = bytearray(axdr.encode_length(len(results)))
            for item in results:
                write_get_data_result(body, item)
            raw = bytes(body)
        if not self._negotiated(Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ):
            self._send(GetResponseNormal(DataAccessResult.OTHER_REASON, iip).encode())
            return
        self._outgoing = self._outgoing_blocks("get", iip, raw, header=9)
        self._send_get_block()

    def _outgoing_blocks(
        self, kind: str, iip: InvokeIdAndPriority, raw: bytes, *, header: int
    ) -> _OutgoingBlocks:
        """A long answer cut into blocks that fit the client's PDU after ``header`` bytes."""
        return _OutgoingBlocks(kind, iip, split_blocks(raw, self._block_payload_size(header)))

    def _next_block(self) -> tuple[bool, int, bytes, InvokeIdAndPriority]:
        """The next block of the answer being sent: (last, block number, data, iip); the
        transfer is forgotten once its last block is out."""
        transfer = self._outgoing
        assert transfer is not None
        index = transfer.sent
        last = index == len(transfer.blocks) - 1
        transfer.sent += 1
        self.blocks_sent += 1
        if last:
            self._outgoing = None
        return last, index + 1, transfer.blocks[index], transfer.invoke_id_and_priority

    def _send_get_block(self) -> None:
        last, number, data, iip = self._next_block()
        self._send(GetResponseWithDatablock(last, number, data, iip).encode())

    def _get_next(self, request: GetRequestNext) -> None:
        transfer = self._outgoing
        iip = request.invoke_id_and_priority
        if transfer is None or transfer.kind != "get":
            self._outgoing = None
            self._send(
                GetResponseWithDatablock(
                    True, request.block_number, DataAccessResult.NO_LONG_GET_IN_PROGRESS, iip
                ).encode()
            )
            return
        if request.block_number != transfer.sent:
            self._outgoing = None
            self._send(
                GetResponseWithDatablock(
                    True, request.block_number, DataAccessResult.DATA_BLOCK_NUMBER_INVALID, iip
                ).encode()
            )
            return
        self._send_get_block()

    # SET ----------------------------------------------------------------------------------

    def _set_value(
        self,
        descriptor: CosemAttributeDescriptor,
        selection: SelectiveAccessDescriptor | None,
        value: Any,
    ) -> DataAccessResult:
        if selection is not None and not self._negotiated(Conformance.SELECTIVE_ACCESS):
            return DataAccessResult.SCOPE_OF_ACCESS_VIOLATED
        try:
            result = self.object_access.set(self.context, descriptor, value, selection)
        except Exception:  # the object access must not take the session down
            return DataAccessResult.OTHER_REASON
        return result if isinstance(result, DataAccessResult) else DataAccessResult.OTHER_REASON

    def _serve_set(self, request: Any) -> None:
        iip = request.invoke_id_and_priority
        if isinstance(request, SetRequestNormal):
            result = self._set_value(
                request.cosem_attribute_descriptor, request.access_selection, request.value.value
            )
            self._send(SetResponseNormal(result, iip).encode())
        elif isinstance(request, SetRequestWithList):
            items = request.attribute_descriptor_list
            if len(items) != len(request.value_list):
                self._send_exception(
                    ExceptionStateError.SERVICE_NOT_ALLOWED,
                    ExceptionServiceError.OPERATION_NOT_POSSIBLE,
                )
                return
            if len(items) > 1 and not self._service_allowed(Conformance.MULTIPLE_REFERENCES):
                return
            results = tuple(
                self._set_value(item.cosem_attribute_descriptor, item.access_selection, v.value)
                for item, v in zip(items, request.value_list, strict=True)
            )
            self._send(SetResponseWithList(results, iip).encode())
        elif isinstance(
            request, (SetRequestWithFirstDatablock, SetRequestWithListAndFirstDatablock)
        ):
            if not self._negotiated(Conformance.BLOCK_TRANSFER_WITH_SET_OR_WRITE):
                self._unsupported()
                return
            if isinstance(request, SetRequestWithFirstDatablock):
                targets: Sequence[Any] = (request.cosem_attribute_descriptor,)
                selection = request.access_selection
                with_list = False
            else:
                targets = request.attribute_descriptor_list
                selection = None
                with_list = True
            self._incoming = _IncomingBlocks(
                "set", targets, with_list, selection, bytearray(), request.datablock.block_number
            )
            self._accept_set_block(request.datablock, iip, first=True)
        else:
            self._accept_set_block(request.datablock, iip, first=False)

    def _accept_set_block(self, block: DataBlockSA, iip: InvokeIdAndPriority, first: bool) -> None:
        transfer = self._incoming
        if transfer is None or transfer.kind != "set":
            self._send(
                SetResponseLastDatablock(
                    DataAccessResult.NO_LONG_SET_IN_PROGRESS, block.block_number, iip
                ).encode()
            )
            return
        if not first and block.block_number != transfer.block_number + 1:
            self._incoming = None
            self._send(
                SetResponseLastDatablock(
                    DataAccessResult.DATA_BLOCK_NUMBER_INVALID, block.block_number, iip
                ).encode()
            )
            return
        transfer.block_number = block.block_number
        transfer.buffer += block.raw_data
        self.blocks_received += 1
        if len(transfer.buffer) > self.settings.max_request_length:
            self._incoming = None
            self._send(
                SetResponseLastDatablock(
                    DataAccessResult.LONG_SET_ABORTED, block.block_number, iip
                ).encode()
            )
            return
        if not block.last_block:
            self._send(SetResponseDatablock(block.block_number, iip).encode())
            return
        self._incoming = None
        values = self._decode_values(bytes(transfer.buffer), transfer.with_list)
        if transfer.with_list:
            results: tuple[DataAccessResult, ...]
            if values is None or len(values) != len(transfer.targets):
                results = tuple(DataAccessResult.TYPE_UNMATCHED for _ in transfer.targets)
            else:
                results = tuple(
                    self._set_value(t.cosem_attribute_descriptor, t.access_selection, v.value)
                    for t, v in zip(transfer.targets, values, strict=True)
                )
            self._send(SetResponseLastDatablockWithList(results, block.block_number, iip).encode())
            return
        if values is None:
            result = DataAccessResult.TYPE_UNMATCHED
        else:
            result = self._set_value(
                transfer.targets[0], transfer.selective_access, values[0].value
            )
        self._send(SetResponseLastDatablock(result, block.block_number, iip).encode())

    @staticmethod
    def _decode_values(raw: bytes, with_list: bool) -> tuple[Data, ...] | None:
        """One Data value, or (with_list) a SEQUENCE OF Data; None when malformed."""
        try:
            if not with_list:
                return (Data.from_raw(raw),)
            reader = Reader(raw)
            count = reader.count("list of values", 1)
            values = tuple(reader.value() for _ in range(count))
            reader.finish("list of values")
            return values
        except DlmsError:
            return None

    # ACTION -------------------------------------------------------------------------------

    def _invoke(
        self, descriptor: CosemMethodDescriptor, parameters: Data | None
    ) -> ActionResponseWithOptionalData:
        try:
            result, value = self.object_access.action(
                self.context, descriptor, None if parameters is None else parameters.value
            )
            if not isinstance(result, ActionResult):
                result = ActionResult.OTHER_REASON
            if value is None or result != ActionResult.SUCCESS:
                return ActionResponseWithOptionalData(result)
            return ActionResponseWithOptionalData(result, Data.of(value))
        except Exception:  # the object access must not take the session down
            return ActionResponseWithOptionalData(ActionResult.OTHER_REASON)

    def _serve_action(self, request: Any) -> None:
        iip = request.invoke_id_and_priority
        if isinstance(request, ActionRequestNormal):
            single = self._invoke(
                request.cosem_method_descriptor, request.method_invocation_parameters
            )
            self._send_action_response(single, iip)
        elif isinstance(request, ActionRequestWithList):
            methods = request.cosem_method_descriptor_list
            if len(methods) != len(request.method_invocation_parameters):
                self._send_exception(
                    ExceptionStateError.SERVICE_NOT_ALLOWED,
                    ExceptionServiceError.OPERATION_NOT_POSSIBLE,
                )
                return
            if len(methods) > 1 and not self._service_allowed(Conformance.MULTIPLE_REFERENCES):
                return
            responses = tuple(
                self._invoke(m, p)
                for m, p in zip(methods, request.method_invocation_parameters, strict=True)
            )
            self._send(ActionResponseWithList(responses, iip).encode())
        elif isinstance(request, ActionRequestNextPblock):
            transfer = self._outgoing
            if (
                transfer is None
                or transfer.kind != "action"
                or request.block_number != transfer.sent
            ):
                self._outgoing = None
                failed = ActionResponseWithOptionalData(ActionResult.NO_LONG_ACTION_IN_PROGRESS)
                self._send(ActionResponseNormal(failed, iip).encode())
                return
            self._send_action_block()
        elif isinstance(
            request, (ActionRequestWithFirstPblock, ActionRequestWithListAndFirstPblock)
        ):
            if not self._negotiated(Conformance.BLOCK_TRANSFER_WITH_ACTION):
                self._unsupported()
                return
            if isinstance(request, ActionRequestWithFirstPblock):
                targets: Sequence[Any] = (request.cosem_method_descriptor,)
                with_list = False
            else:
                targets = request.cosem_method_descriptor_list
                with_list = True
            self._incoming = _IncomingBlocks(
                "action", targets, with_list, None, bytearray(), request.pblock.block_number
            )
            self._accept_action_block(request.pblock, iip, first=True)
        elif isinstance(request, ActionRequestWithPblock):
            self._accept_action_block(request.pblock, iip, first=False)

    def _send_action_response(
        self, single: ActionResponseWithOptionalData, iip: InvokeIdAndPriority
    ) -> None:
        answer = ActionResponseNormal(single, iip).encode()
        parameters = single.return_parameters
        if self._fits(len(answer)) or not isinstance(parameters, Data):
            self._send(answer)
            return
        if not self._negotiated(Conformance.BLOCK_TRANSFER_WITH_ACTION):
            failed = ActionResponseWithOptionalData(ActionResult.OTHER_REASON)
            self._send(ActionResponseNormal(failed, iip).encode())
            return
        self._outgoing = self._outgoing_blocks("action", iip, parameters.raw, header=8)
        self._send_action_block()

    def _send_action_block(self) -> None:
        last, number, data, iip = self._next_block()
        self._send(ActionResponseWithPblock(DataBlockSA(last, number, data), iip).encode())

    def _accept_action_block(
        self, block: DataBlockSA, iip: InvokeIdAndPriority, first: bool
    ) -> None:
        transfer = self._incoming
        if (
            transfer is None
            or transfer.kind != "action"
            or (not first and block.block_number != transfer.block_number + 1)
        ):
            self._incoming = None
            failed = ActionResponseWithOptionalData(ActionResult.NO_LONG_ACTION_IN_PROGRESS)
            self._send(ActionResponseNormal(failed, iip).encode())
            return
        transfer.block_number = block.block_number
        transfer.buffer += block.raw_data
        self.blocks_received += 1
        if len(transfer.buffer) > self.settings.max_request_length:
            self._incoming = None
            failed = ActionResponseWithOptionalData(ActionResult.LONG_ACTION_ABORTED)
            self._send(ActionResponseNormal(failed, iip).encode())
            return
        if not block.last_block:
            self._send(ActionResponseNextPblock(block.block_number, iip).encode())
            return
        self._incoming = None
        values = self._decode_values(bytes(transfer.buffer), transfer.with_list)
        if transfer.with_list:
            if values is None or len(values) != len(transfer.targets):
                responses = tuple(
                    ActionResponseWithOptionalData(ActionResult.TYPE_UNMATCHED)
                    for _ in transfer.targets
                )
            else:
                responses = tuple(
                    self._invoke(m, p) for m, p in zip(transfer.targets, values, strict=True)
                )
            self._send(ActionResponseWithList(responses, iip).encode())
            return
        if values is None:
            single = ActionResponseWithOptionalData(ActionResult.TYPE_UNMATCHED)
        else:
            single = self._invoke(transfer.targets[0], values[0])
        self._send_action_response(single, iip)

    # Short names --------------------------------------------------------------------------

    def _read_one(self, spec: Any) -> ReadResult:
        if isinstance(spec, VariableName):
            name, selection, parameters = spec.variable_name, None, None
        elif isinstance(spec, ParameterizedAccess):
            name = spec.variable_name
            selection = SelectiveAccessDescriptor(spec.selector, spec.parameter)
            parameters = spec.parameter
        else:
            return DataAccessResult.OBJECT_UNAVAILABLE
        try:
            target = self.object_access.resolve_short_name(self.context, name)
        except Exception:  # the object access must not take the session down
            return DataAccessResult.OTHER_REASON
        if target is None:
            return DataAccessResult.OBJECT_UNDEFINED
        if target.kind is ShortNameKind.ATTRIBUTE:
            if isinstance(spec, ParameterizedAccess) and not self._negotiated(
                Conformance.PARAMETERIZED_ACCESS
            ):
                return DataAccessResult.SCOPE_OF_ACCESS_VIOLATED
            try:
                value = self.object_access.get(
                    self.context, target.attribute_descriptor(), selection
                )
            except Exception:  # the object access must not take the session down
                return DataAccessResult.OTHER_REASON
            if isinstance(value, DataAccessResult):
                return value
            try:
                return Data.of(value)
            except DlmsError:
                return DataAccessResult.OTHER_REASON
        response = self._invoke(target.method_descriptor(), parameters)
        if response.result != ActionResult.SUCCESS:
            return _action_to_access_result(response.result)
        returned = response.return_parameters
        if returned is None:
            return Data.of(None)
        return returned

    def _serve_read(self, request: ReadRequest) -> None:
        specs = request.variable_access_specification
        if _is_block_request(request):
            assert isinstance(specs[0], BlockNumberAccess)
            transfer = self._outgoing
            # the number of the last block received (as in GET) or of the next one wanted
            # (as gurux-dlms sends it): both name the same next block
            if (
                transfer is None
                or transfer.kind != "read"
                or specs[0].block_number not in (transfer.sent, transfer.sent + 1)
            ):
                self._outgoing = None
                self._send(ReadResponse((DataAccessResult.NO_LONG_GET_IN_PROGRESS,)).encode())
                return
            self._send_read_block()
            return
        if len(specs) > 1 and not self._service_allowed(Conformance.MULTIPLE_REFERENCES):
            return
        results = tuple(self._read_one(spec) for spec in specs)
        answer = ReadResponse(results).encode()
        if self._fits(len(answer)):
            self._send(answer)
            return
        if not self._negotiated(Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ):
            self._send(ReadResponse(tuple(DataAccessResult.OTHER_REASON for _ in results)).encode())
            return
        outgoing = self._outgoing_blocks("read", _DEFAULT_IIP, answer[1:], header=7)
        if len(outgoing.blocks) > 0xFFFF:  # SN block numbers are Unsigned16
            self._send(ReadResponse(tuple(DataAccessResult.OTHER_REASON for _ in results)).encode())
            return
        self._outgoing = outgoing
        self._send_read_block()

    def _send_read_block(self) -> None:
        last, number, data, _ = self._next_block()
        self._send(ReadResponse((DataBlockResult(last, number, data),)).encode())

    def _write_one(self, spec: Any, value: Data) -> WriteResult:
        if not isinstance(spec, VariableName):
            return DataAccessResult.OBJECT_UNAVAILABLE
        try:
            target = self.object_access.resolve_short_name(self.context, spec.variable_name)
        except Exception:  # the object access must not take the session down
            return DataAccessResult.OTHER_REASON
        if target is None:
            return DataAccessResult.OBJECT_UNDEFINED
        if target.kind is ShortNameKind.ATTRIBUTE:
            return self._set_value(target.attribute_descriptor(), None, value.value)
        response = self._invoke(target.method_descriptor(), value)
        return _action_to_access_result(response.result)

    def _write_results(self, request: WriteRequest) -> tuple[WriteResult, ...]:
        specs = request.variable_access_specification
        if len(specs) != len(request.list_of_data):
            return tuple(DataAccessResult.TYPE_UNMATCHED for _ in specs)
        return tuple(
            self._write_one(spec, value)
            for spec, value in zip(specs, request.list_of_data, strict=True)
        )


def _is_block_request(request: ReadRequest) -> bool:
    specs = request.variable_access_specification
    return len(specs) == 1 and isinstance(specs[0], BlockNumberAccess)


class _Unknown(Exception):
    """An APDU tag the server does not serve."""
