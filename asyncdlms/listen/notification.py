"""The events a :class:`~asyncdlms.listen.PushReceiver` hands up.

* :class:`Notification` — a push that decoded (and, when ciphered, whose tag checked and
  whose invocation counter was fresh): a data-notification, an event-notification-request
  or an information-report-request, with who sent it and how it was protected;
* :class:`PushRejected` — bytes that did not make a push, with the cause as a typed
  asyncdlms error (unknown sender, tag mismatch, replay, malformed frame or APDU,
  reassembly timeout). Never carries a key;
* :class:`PushIgnored` — a well-formed APDU that is not a push (an AARE, a GET response...)
  or a deciphered payload that is not an xDLMS APDU (e.g. a DSMR text telegram in
  general-glo-ciphering): kept for whoever wants it, never handed up as a notification.

A listener reports the last two and carries on: none of them is raised.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from ..apdu.enums import LongInvokeIdAndPriority
from ..apdu.notification import DataNotification, EventNotificationRequest, InformationReportRequest
from ..cosem.profile import CaptureObject
from ..cosem.units import ScalerUnit
from ..errors import DlmsError
from ..hdlc.addresses import HdlcAddress
from ..obis import Obis
from ..security.ciphering import SecurityControl
from ..security.counters import CipheringKey
from ..types.clock import DateTime, InvalidDateTimeError
from .readings import PositionalLayout, Reading, readings

__all__ = [
    "AppliedSecurity",
    "LinkAddress",
    "Notification",
    "NotificationApdu",
    "PushEvent",
    "PushIgnored",
    "PushRejected",
    "PushSignature",
]

NotificationApdu = DataNotification | EventNotificationRequest | InformationReportRequest
"""The APDUs a push is made of."""

CipheredForm = Literal["glo", "ded", "general-glo", "general-ded", "general-ciphering"]


@dataclass(frozen=True, slots=True)
class LinkAddress:
    """Where on the link a push came from, as the framing tells it.

    ``framing`` is ``"hdlc"`` (``source``/``destination`` are the HDLC addresses),
    ``"wrapper"`` (the wPorts), ``"mbus"`` (``source`` is the M-Bus primary address, and the
    transport layer's source/destination TSAPs are ``source_tsap``/``destination_tsap``) or
    ``"apdu"`` (nothing).
    """

    framing: str
    source: HdlcAddress | int | None = None
    destination: HdlcAddress | int | None = None
    source_tsap: int | None = None
    destination_tsap: int | None = None

    def __str__(self) -> str:
        if self.source is None:
            return self.framing
        if self.destination is None:
            text = f"{self.framing} {self.source}"
        else:
            text = f"{self.framing} {self.source}->{self.destination}"
        if self.source_tsap is not None:
            text += f" (TSAP {self.source_tsap}->{self.destination_tsap})"
        return text


@dataclass(frozen=True, slots=True)
class AppliedSecurity:
    """How a ciphered push was protected: the security control byte (policy, key set,
    suite), the invocation counter, the ciphered APDU form, the key it was ciphered with, and
    whether its authentication tag was checked (``False`` only for encryption-only pushes,
    which carry no tag, and behind ``unsafe_skip_tag_check``). A general-ciphering push
    (suites 1 and 2) names its ``key_info``: ``"identified-key"``, ``"wrapped-key"``,
    ``"ephemeral-static"`` (key agreement C(1e, 1s)) or ``"static-unified"`` (C(0e, 2s));
    None for the other forms."""

    security_control: SecurityControl
    invocation_counter: int
    form: CipheredForm
    key: CipheringKey
    tag_verified: bool
    key_info: str | None = None

    @property
    def security_suite(self) -> int:
        """The security suite id of the security control byte (0 or 1 here)."""
        return self.security_control.security_suite


@dataclass(frozen=True, slots=True)
class PushSignature:
    """A general-signing push whose ECDSA signature verified with the public key known for
    its signer: who signed (``signer_system_title``), the ``transaction_id`` (checked
    against replay), the ``security_suite`` (1: P-256, 2: P-384) and the ``date_time`` octets
    of the general-signing header (empty when absent)."""

    signer_system_title: bytes
    transaction_id: bytes
    security_suite: int
    date_time: bytes = b""

    def __str__(self) -> str:
        return f"signed by {self.signer_system_title.hex().upper()} (suite {self.security_suite})"


@dataclass(frozen=True, slots=True)
class Notification:
    """One push, decoded.

    ``apdu`` is the decoded APDU; ``source`` the peer as the caller of
    :meth:`~asyncdlms.listen.PushReceiver.receive_data` named it (a socket address, a port
    name...); ``link_address`` where on the link it came from; ``system_title`` the sender's
    (from general-glo-/general-ded-ciphering, or as configured for the source; ``None`` for
    a plain push of an unknown sender); ``security`` how it was protected (``None``: plain);
    ``received_at`` the ``now`` of the call that completed it; ``signature`` who signed it
    when it came in general-signing (its signature verified; ``None``: not signed).
    """

    apdu: NotificationApdu
    source: object
    link_address: LinkAddress
    system_title: bytes | None
    security: AppliedSecurity | None
    received_at: float
    signature: PushSignature | None = None

    @property
    def signed(self) -> bool:
        """Whether the push came signed (general-signing) and its signature verified."""
        return self.signature is not None

    @property
    def invocation_counter(self) -> int | None:
        """The invocation counter of a ciphered push."""
        return None if self.security is None else self.security.invocation_counter

    @property
    def security_control(self) -> SecurityControl | None:
        """The security control byte of a ciphered push."""
        return None if self.security is None else self.security.security_control

    @property
    def long_invoke_id_and_priority(self) -> LongInvokeIdAndPriority | None:
        """Long-invoke-id and priority (data-notification only)."""
        if isinstance(self.apdu, DataNotification):
            return self.apdu.long_invoke_id_and_priority
        return None

    @property
    def date_time(self) -> DateTime | None:
        """The notification's date-time when it sent a valid 12-byte one, else ``None``."""
        try:
            return self.apdu.to_date_time()
        except (InvalidDateTimeError, DlmsError, ValueError):
            return None

    @property
    def body(self) -> object:
        """The decoded A-XDR value pushed: the notification-body of a data-notification,
        the attribute value of an event-notification, the list of data (a tuple) of an
        information report."""
        apdu = self.apdu
        if isinstance(apdu, DataNotification):
            return apdu.notification_body.value
        if isinstance(apdu, EventNotificationRequest):
            return apdu.attribute_value.value
        return tuple(item.value for item in apdu.list_of_data)

    def readings(
        self,
        *,
        push_object_list: Sequence[CaptureObject] | None = None,
        scalers: Mapping[Obis, ScalerUnit] | None = None,
        layouts: Iterable[PositionalLayout] | None = None,
    ) -> dict[Obis, Reading]:
        """OBIS code → :class:`~asyncdlms.listen.readings.Reading` (scaled where the layout
        gives a scaler and unit); see :func:`asyncdlms.listen.readings.readings`. An
        event-notification gives its one attribute (class, OBIS, attribute from the APDU).
        Empty when no layout applies."""
        apdu = self.apdu
        if isinstance(apdu, EventNotificationRequest):
            descriptor = apdu.cosem_attribute_descriptor
            column = CaptureObject(
                descriptor.class_id, descriptor.instance_id, max(descriptor.attribute_id, 0)
            )
            return readings(
                (apdu.attribute_value.value,), push_object_list=(column,), scalers=scalers
            )
        return readings(
            self.body, push_object_list=push_object_list, scalers=scalers, layouts=layouts
        )


@dataclass(frozen=True, slots=True)
class PushRejected:
    """Bytes that did not make a push; ``cause`` says why (a typed asyncdlms error:
    :class:`~asyncdlms.listen.errors.UnknownSenderError`,
    :class:`~asyncdlms.errors.AuthenticationTagError`, :class:`~asyncdlms.errors.ReplayError`,
    :class:`~asyncdlms.errors.DecodeError`, :class:`~asyncdlms.errors.LinkError`,
    :class:`~asyncdlms.listen.errors.ReassemblyTimeoutError`...). ``data`` is what was
    refused (a frame's or APDU's bytes, possibly empty), ``system_title`` the sender's when
    known."""

    cause: DlmsError
    source: object
    link_address: LinkAddress | None
    system_title: bytes | None
    data: bytes
    received_at: float

    def __str__(self) -> str:
        who = f" from {self.system_title.hex().upper()}" if self.system_title else ""
        where = f" ({self.link_address})" if self.link_address is not None else ""
        return f"push rejected{who}{where}: {type(self.cause).__name__}: {self.cause}"


@dataclass(frozen=True, slots=True)
class PushIgnored:
    """A well-formed APDU that is not a push, or a deciphered payload that is not an xDLMS
    APDU. ``apdu`` holds its (deciphered) bytes, ``reason`` says what it is, ``security``
    how it was protected when it came ciphered (its tag was checked like any push's)."""

    apdu: bytes
    reason: str
    source: object
    link_address: LinkAddress | None
    system_title: bytes | None
    security: AppliedSecurity | None
    received_at: float


PushEvent = Notification | PushRejected | PushIgnored
"""What :meth:`~asyncdlms.listen.PushReceiver.events` yields."""
