"""The shared part of a server session: state, sending, object access, the block records."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ...apdu.acse import (
    Aare,
    Aarq,
    MechanismName,
)
from ...apdu.action import ActionResponseWithOptionalData
from ...apdu.block_transfer import split_blocks
from ...apdu.descriptors import (
    CosemAttributeDescriptor,
    CosemMethodDescriptor,
    Data,
    Reader,
    SelectiveAccessDescriptor,
)
from ...apdu.enums import ActionResult, DataAccessResult, InvokeIdAndPriority
from ...apdu.initiate import Conformance
from ...apdu.service_error import (
    ExceptionResponse,
    ExceptionServiceError,
    ExceptionStateError,
)
from ...errors import DlmsError
from ...link import Link
from ...security.ciphering import SecurityContext
from ..events import SessionEvent
from ..gbt import GeneralBlockTransferChannel
from ..object_access import AssociationContext, ObjectAccess
from ..pipeline import ApduProtection, NoProtection, protection_overhead
from ._state import AssociationInput, AssociationState
from .settings import AssociationPolicy, ServerSettings


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


class _SessionCore(ABC):
    """What every service of a server session shares: its state and counters, the object
    access calls, sending (protection, General Block Transfer, blocks) and refusals. The
    services are mixins on top of it; :class:`~.session.ServerSession` puts them together."""

    def __init__(self, link: Link, settings: ServerSettings, object_access: ObjectAccess) -> None:
        self.link = link
        self.settings = settings
        self.object_access = object_access
        self.state = AssociationState.IDLE
        self.client_address: int | None = None
        #: the AARQ calling-AP-title of the association (empty: none)
        self.client_system_title = b""
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
        self._aarq = b""  # the AARQ of the current association, and the AARE that answered it
        self._aare = b""
        #: byte-exact repeats of the current association's AARQ (answered with its AARE again)
        self.duplicate_aarqs = 0
        self._counter_hint = False
        #: Ciphered APDUs refused: a bad tag or header, a plain APDU where the policy wants
        #: ciphering (answered deciphering-error) or a replayed counter (dropped, or answered
        #: invocation-counter-error with the counter expected under invocation_counter_hint).
        self.deciphering_failures = 0
        self.replayed_apdus = 0
        self._context_cache: tuple[tuple[Any, ...], AssociationContext] | None = None

    @property
    def context(self) -> AssociationContext:
        """The association context given to the object access (built again only when one
        of its fields changed: it is asked once per request)."""
        key = (
            self.client_address if self.client_address is not None else -1,
            self.mechanism,
            self.negotiated_conformance,
            self.logical_name_referencing,
            self.client_system_title,
        )
        cached = self._context_cache
        if cached is not None and cached[0] == key:
            return cached[1]
        context = AssociationContext(*key)
        self._context_cache = (key, context)
        return context

    def _forget(self) -> None:
        self._pending = None
        self._outgoing = None
        self._incoming = None
        self._protection = NoProtection()
        self._context = None
        self._gbt = GeneralBlockTransferChannel(self.settings.gbt_window_size)
        self.negotiated_conformance = Conformance(0)

    def _send_exception(
        self,
        state_error: ExceptionStateError,
        service_error: ExceptionServiceError,
        invocation_counter: int | None = None,
    ) -> None:
        self.exception_responses += 1
        self._send_plain(ExceptionResponse(state_error, service_error, invocation_counter).encode())

    def _send_plain(self, apdu: bytes) -> None:
        """Send without protection (AARE, RLRE, exception-response)."""
        self._send_link(apdu)

    def _send(self, apdu: bytes) -> None:
        """Send an xDLMS answer: protect, then General Block Transfer when in use."""
        if not self._gbt.enabled and type(self._protection) is NoProtection:
            self._send_link(apdu)  # plain, no GBT: as it is
            return
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
        # int's own AND: IntFlag's builds a flag member per call (1.3 µs, twice a request)
        return bool(int.__and__(self.negotiated_conformance, flag))

    def _service_allowed(self, flag: Conformance) -> bool:
        if self._negotiated(flag):
            return True
        self._send_exception(
            ExceptionStateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.SERVICE_NOT_SUPPORTED
        )
        return False

    def _unsupported(self) -> None:
        self._send_exception(
            ExceptionStateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.SERVICE_NOT_SUPPORTED
        )

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

    @abstractmethod
    def _transition(
        self, link_input: AssociationInput, error: DlmsError | None = None, apdu: Any = None
    ) -> None:
        """Apply the row of :data:`~._state.TRANSITIONS` for ``link_input`` (the table's
        actions are :class:`~.session.ServerSession`'s)."""
        ...
