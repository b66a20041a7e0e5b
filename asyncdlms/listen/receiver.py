"""The sans-IO push receiver: bytes in, events out, time passed in, no IO.

:class:`PushReceiver` is the core of every push listener (TCP, UDP, HAN serial, M-Bus line,
a capture file). The caller feeds whatever bytes arrived, naming where they came from::

    receiver = PushReceiver("hdlc", keys=MemoryKeyStore.for_everyone(guek, gak))
    receiver.receive_data(chunk, now=time.monotonic(), source="/dev/ttyUSB0")
    for event in receiver.events():
        if isinstance(event, Notification):
            print(event.system_title, event.readings())
        else:                       # PushRejected / PushIgnored: report, carry on
            log.warning("%s", event)

and calls :meth:`PushReceiver.expire` now and then (at :meth:`PushReceiver.next_deadline`)
so that a half-received APDU whose rest never comes is dropped and reported.

Framings (one per receiver):

* ``"wrapper"`` — IEC 62056-47 wrapper frames (TCP stream or UDP datagrams);
* ``"hdlc"`` — HDLC frames received only (a HAN port: no SNRM, no acknowledgements); the
  segments of one APDU (segmentation bit) are joined per pair of addresses, the LLC header
  ``E6 E7 00`` (or ``E6 E6 00``) is removed; a frame starting with an LLC header while
  segments are pending starts a new APDU (the incomplete one is reported: a segment was
  lost);
* ``"mbus"`` — M-Bus long frames carrying the DLMS/COSEM transport layer's segmentation
  (:mod:`asyncdlms.listen.mbus`), segments joined per M-Bus address;
* ``"apdu"`` — every :meth:`~PushReceiver.receive_data` call is one whole APDU (a datagram,
  a line of a capture file).

Then, per APDU: general-block-transfer blocks are reassembled (in any order: blocks may
arrive out of order or twice; the transfer completes once the blocks from the first (1, or
0 when one arrives) to the one flagged last are all there), ciphered APDUs are deciphered
(glo-, ded-, general-glo-, general-ded-ciphering; security suites 0 and 1 with AES-GCM-128
and 16-byte keys, suite 2 with AES-GCM-256 and 32-byte keys) with the sender's keys from the
:class:`~asyncdlms.listen.keys.KeyStore`, the
authentication tag is checked, the invocation counter must be greater than the last one
accepted from that sender and key (``counter_store``, by default the process's
:func:`~asyncdlms.security.default_invocation_counter_store`), and the APDU is decoded.
Security suites 1 and 2: general-signing pushes are verified with the signer's public key
(and their transaction-id must be fresh), general-ciphering pushes are deciphered with the
sender's global keys or a key agreed by ECDH (:mod:`asyncdlms.security.general`); the two
may nest.

Guarantees: the same bytes fed in any chunking give the same events (for the ``"apdu"``
framing a chunk is an APDU by definition; a wrapper stream cannot resynchronise after a bad
header, so there the bytes buffered are dropped, reported, and the next chunk starts afresh —
a TCP listener should close such a connection); bytes from different sources (and, within a
source, from different link addresses) are never mixed; malformed input never raises —
it becomes a :class:`~asyncdlms.listen.notification.PushRejected` event — and memory is
bounded (``max_apdu_length``, ``max_sources``, one partial APDU per link address).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from cryptography.hazmat.primitives.asymmetric import ec

from ..apdu import decode_apdu
from ..apdu.block_transfer import GeneralBlockTransfer
from ..apdu.general_protection import (
    AgreedKey,
    GeneralCiphering,
    GeneralSigning,
    IdentifiedKey,
    KeyAgreementScheme,
    WrappedKey,
)
from ..apdu.notification import (
    DataNotification,
    EventNotificationRequest,
    InformationReportRequest,
)
from ..apdu.tags import ApduTag
from ..errors import (
    AuthenticationTagError,
    BlockTransferError,
    DecipheringError,
    DecodeError,
    DlmsError,
    LinkError,
    ReplayError,
    SecurityPolicyError,
    WrapperError,
)
from ..hdlc import FrameSplitter, FrameType
from ..hdlc.frames import LLC_REQUEST, LLC_RESPONSE, strip_llc_header
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
from ..security.counters import (
    CipheringKey,
    InvocationCounterStore,
    default_invocation_counter_store,
    key_identity,
)
from ..security.general import (
    GeneralCipheringKeys,
    UnknownSignerError,
    decipher_general,
    verify_signed_apdu,
)
from ..security.hls import Secret
from ..security.suites import SignatureError
from ..wrapper.frames import WrapperSplitter
from .errors import (
    MBusFrameError,
    NotANotificationError,
    ReassemblyTimeoutError,
    UnknownSenderError,
    UnsupportedSecuritySuiteError,
)
from .keys import KeySet, KeyStore, MemoryKeyStore, parse_system_title
from .mbus import MBusFrame, MBusSplitter
from .notification import (
    AppliedSecurity,
    CipheredForm,
    LinkAddress,
    Notification,
    NotificationApdu,
    PushEvent,
    PushIgnored,
    PushRejected,
    PushSignature,
)

__all__ = ["Framing", "PushReceiver"]

logger = logging.getLogger("asyncdlms.listen")

Framing = Literal["wrapper", "hdlc", "mbus", "apdu"]
_FRAMINGS = ("wrapper", "hdlc", "mbus", "apdu")

_NOTIFICATION_DECODERS: Mapping[int, Callable[[bytes], NotificationApdu]] = {
    ApduTag.DATA_NOTIFICATION: DataNotification.decode,
    ApduTag.EVENT_NOTIFICATION_REQUEST: EventNotificationRequest.decode,
    ApduTag.INFORMATION_REPORT_REQUEST: InformationReportRequest.decode,
}
_GLOBAL_FORMS = frozenset(GLOBAL_TAGS.values())
_DEDICATED_FORMS = frozenset(DEDICATED_TAGS.values())
_GENERAL_GLO = int(ApduTag.GENERAL_GLO_CIPHERING)
_GENERAL_DED = int(ApduTag.GENERAL_DED_CIPHERING)
_GBT = int(ApduTag.GENERAL_BLOCK_TRANSFER)
_CIPHERED_TAGS = _GLOBAL_FORMS | _DEDICATED_FORMS | {_GENERAL_GLO, _GENERAL_DED}
_SUPPORTED_SUITES = (0, 1, 2)  # AES-GCM-128 (0, 1, 16-byte keys) and AES-GCM-256 (2, 32 bytes)
_SUITE_KEY_LENGTHS = {0: 16, 1: 16, 2: 32}
_AUTHENTICATION = 0x10
_ENCRYPTION = 0x20
_BROADCAST = 0x40
_COMPRESSION = 0x80
# decipher() wants an authentication key even where the policy (encryption only) uses none
_UNUSED_AUTHENTICATION_KEYS = {length: Secret(bytes(length)) for length in (16, 32)}
_MAX_GBT_BLOCKS = 4096
_GENERAL_SIGNING = int(ApduTag.GENERAL_SIGNING)
_GENERAL_CIPHERING = int(ApduTag.GENERAL_CIPHERING)
_GENERAL_TAGS = frozenset({_GENERAL_SIGNING, _GENERAL_CIPHERING})
_MAX_GENERAL_LAYERS = 4


@dataclass(frozen=True, slots=True)
class _Fixed:
    """A public key lookup that answers one key (the one of the key set already found)."""

    key: ec.EllipticCurvePublicKey

    def __call__(self, system_title: bytes) -> ec.EllipticCurvePublicKey:
        return self.key


def _general_originator(apdu: bytes) -> bytes | None:
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


def _tag_name(tag: int) -> str:
    try:
        return f"{ApduTag(tag).name.lower().replace('_', '-')} (0x{tag:02x})"
    except ValueError:
        return f"tag 0x{tag:02x}"


@dataclass(slots=True)
class _Segments:
    """Parts of one APDU arriving in link-layer segments."""

    started_at: float
    parts: list[bytes] = field(default_factory=list)
    size: int = 0
    next_sequence: int = 0


@dataclass(slots=True)
class _BlockTransfer:
    """The blocks of one general-block-transfer push, possibly out of order."""

    started_at: float
    blocks: dict[int, bytes] = field(default_factory=dict)
    size: int = 0
    last_number: int | None = None


@dataclass(slots=True)
class _Stream:
    """Everything kept for one source."""

    hdlc: FrameSplitter | None = None
    wrapper: WrapperSplitter | None = None
    mbus: MBusSplitter | None = None
    segments: dict[Hashable, _Segments] = field(default_factory=dict)
    transfers: dict[Hashable, _BlockTransfer] = field(default_factory=dict)
    dropped_frames: int = 0


@dataclass(frozen=True, slots=True)
class _Deciphered:
    plaintext: bytes
    system_title: bytes
    security: AppliedSecurity


class PushReceiver:
    """Decode the pushes of any number of meters from the bytes their link delivers.

    ``framing``: see the module documentation. ``keys``: where the keys of ciphered pushes
    come from (default: none, so every ciphered push is rejected as from an unknown
    sender). ``counter_store``: the received invocation counters, for replay rejection
    (default: the process's store). ``system_titles``: the system title of a source, for
    senders whose ciphered pushes do not carry it (glo-/ded-ciphering; one title, bytes or
    hex, for every source) — otherwise the
    title seen in an earlier general-glo-ciphered push from the same source is used.
    ``require_ciphering``: reject plain pushes. ``reassembly_timeout``: seconds a partial
    APDU (segments, GBT blocks) may wait for its rest. ``max_apdu_length``: the largest APDU
    reassembled. ``max_sources``: sources kept at once (the least recently heard one is
    forgotten beyond that).

    ``unsafe_skip_tag_check``: for users whose operator gave them only the encryption key:
    an authenticated push of a sender whose key set has no authentication key is deciphered
    **without checking its tag** (anyone who knows the encryption key can then forge it).
    It never applies when the authentication key is known. A warning is logged when the
    receiver is made, and once per sender when it happens; the notification's
    ``security.tag_verified`` is ``False``.

    Security suites 1 and 2: a general-signing push is accepted only when its ECDSA signature
    verifies with the ``signing_public_key`` of its originator's key set (and its
    transaction-id is fresh); the notification's ``signature`` says who signed. Otherwise it
    is rejected (:class:`~asyncdlms.security.general.UnknownSignerError`,
    :class:`~asyncdlms.security.suites.SignatureError`, a replay) and nothing is delivered.
    A general-ciphering push is deciphered with the sender's global keys (identified key)
    or, for an agreed key, with ``key_agreement_key`` (our static private key) and the
    sender's ``signing_public_key`` (C(1e, 1s)) or ``key_agreement_public_key`` (C(0e, 2s)).
    ``recipient_system_title``: ours; pushes addressed to another recipient are refused.
    ``require_signature``: reject pushes that are not signed.
    """

    def __init__(
        self,
        framing: Framing = "wrapper",
        *,
        keys: KeyStore | None = None,
        counter_store: InvocationCounterStore | None = None,
        system_titles: Mapping[object, bytes | str] | bytes | str | None = None,
        require_ciphering: bool = False,
        unsafe_skip_tag_check: bool = False,
        reassembly_timeout: float = 30.0,
        max_apdu_length: int = 1024 * 1024,
        max_sources: int = 10_000,
        key_agreement_key: ec.EllipticCurvePrivateKey | None = None,
        recipient_system_title: bytes | str | None = None,
        require_signature: bool = False,
    ) -> None:
        if framing not in _FRAMINGS:
            raise ValueError(f"framing must be one of {', '.join(_FRAMINGS)}, not {framing!r}")
        if reassembly_timeout <= 0:
            raise ValueError("reassembly_timeout must be positive")
        if max_apdu_length < 16 or max_sources < 1:
            raise ValueError("max_apdu_length must be at least 16 and max_sources at least 1")
        self.framing: Framing = framing
        self.keys: KeyStore = keys if keys is not None else MemoryKeyStore()
        self.counter_store = (
            counter_store if counter_store is not None else default_invocation_counter_store()
        )
        self.require_ciphering = require_ciphering
        self.require_signature = require_signature
        self.key_agreement_key = key_agreement_key
        self.recipient_system_title = (
            None if recipient_system_title is None else parse_system_title(recipient_system_title)
        )
        self.unsafe_skip_tag_check = unsafe_skip_tag_check
        self.reassembly_timeout = float(reassembly_timeout)
        self.max_apdu_length = max_apdu_length
        self.max_sources = max_sources
        self._default_title: bytes | None = None
        if isinstance(system_titles, bytes | str):  # one title for every source
            self._default_title = parse_system_title(system_titles)
            system_titles = None
        self._configured_titles = {
            source: parse_system_title(title) for source, title in (system_titles or {}).items()
        }
        self._learned_titles: dict[object, bytes] = {}
        self._streams: dict[object, _Stream] = {}
        self._events: list[PushEvent] = []
        self._warned_unverified: set[bytes] = set()
        # when the oldest partial APDU started (may be stale-early: expire() recomputes it)
        self._oldest_partial: float | None = None
        if unsafe_skip_tag_check:
            logger.warning(
                "push receiver made with unsafe_skip_tag_check=True: authenticated pushes of "
                "senders without an authentication key are accepted WITHOUT checking their "
                "tag; anyone with the encryption key can forge them"
            )

    def __repr__(self) -> str:
        return f"PushReceiver({self.framing!r}, {len(self._streams)} sources, keys={self.keys!r})"

    # -- input ------------------------------------------------------------------------------

    def receive_data(
        self, data: bytes | bytearray | memoryview, now: float, source: object = None
    ) -> None:
        """Take bytes received from ``source`` (any hashable name: a peer address, a port)
        at time ``now`` (seconds, any monotonic clock); the events they complete are queued
        for :meth:`events`. Never raises for bad input."""
        data = bytes(data)
        stream = self._stream(source)
        if (
            self._oldest_partial is not None
            and self._oldest_partial < now - self.reassembly_timeout
        ):
            self.expire(now)
        if self.framing == "apdu":
            if data:
                self._receive_apdu(data, stream, source, LinkAddress("apdu"), ("apdu",), now)
        elif self.framing == "wrapper":
            self._receive_wrapper(data, stream, source, now)
        elif self.framing == "hdlc":
            self._receive_hdlc(data, stream, source, now)
        else:
            self._receive_mbus(data, stream, source, now)

    def events(self) -> list[PushEvent]:
        """The events completed since the last call, in order (the queue is emptied)."""
        events, self._events = self._events, []
        return events

    def expire(self, now: float) -> None:
        """Drop partial APDUs older than ``reassembly_timeout`` (each reported as a
        :class:`PushRejected` with a :class:`ReassemblyTimeoutError`)."""
        limit = now - self.reassembly_timeout
        self._oldest_partial = None
        for source, stream in self._streams.items():
            for key, partial in list(stream.segments.items()):
                if partial.started_at >= limit:
                    self._note_partial(partial.started_at)
                else:
                    del stream.segments[key]
                    self._reject(
                        ReassemblyTimeoutError(
                            f"{len(partial.parts)} link-layer segments ({partial.size} bytes) "
                            f"of an APDU waited {self.reassembly_timeout:g} s for the rest"
                        ),
                        source,
                        None,
                        None,
                        b"",
                        now,
                    )
            for key, transfer in list(stream.transfers.items()):
                if transfer.started_at >= limit:
                    self._note_partial(transfer.started_at)
                else:
                    del stream.transfers[key]
                    self._reject(
                        ReassemblyTimeoutError(
                            f"{len(transfer.blocks)} general-block-transfer blocks "
                            f"({transfer.size} bytes) of a push waited "
                            f"{self.reassembly_timeout:g} s for the rest"
                        ),
                        source,
                        None,
                        None,
                        b"",
                        now,
                    )

    def _note_partial(self, started_at: float) -> None:
        oldest = self._oldest_partial
        self._oldest_partial = started_at if oldest is None else min(oldest, started_at)

    def _new_segments(self, now: float) -> _Segments:
        self._note_partial(now)
        return _Segments(now)

    def next_deadline(self) -> float | None:
        """When :meth:`expire` next has something to drop (``None``: nothing pending)."""
        starts = [
            partial.started_at
            for stream in self._streams.values()
            for partial in stream.segments.values()
        ] + [
            transfer.started_at
            for stream in self._streams.values()
            for transfer in stream.transfers.values()
        ]
        return min(starts) + self.reassembly_timeout if starts else None

    def _title_of(self, source: object) -> bytes | None:
        """The system title configured for ``source``, else the one learned from it."""
        return self._configured_titles.get(source, self._default_title) or (
            self._learned_titles.get(source)
        )

    def close_source(self, source: object) -> None:
        """Forget everything kept for ``source`` (its connection closed): partial frames and
        APDUs are dropped silently."""
        self._streams.pop(source, None)
        self._learned_titles.pop(source, None)

    # -- framing ------------------------------------------------------------------------------

    def _stream(self, source: object) -> _Stream:
        stream = self._streams.pop(source, None)
        if stream is None:
            stream = _Stream()
            if self.framing == "hdlc":
                stream.hdlc = FrameSplitter()
            elif self.framing == "wrapper":
                stream.wrapper = WrapperSplitter(min(self.max_apdu_length, 0xFFFF))
            elif self.framing == "mbus":
                stream.mbus = MBusSplitter()
            while len(self._streams) >= self.max_sources:
                forgotten = next(iter(self._streams))
                self.close_source(forgotten)
        self._streams[source] = stream  # most recently heard last
        return stream

    def _receive_wrapper(self, data: bytes, stream: _Stream, source: object, now: float) -> None:
        splitter = stream.wrapper
        assert splitter is not None
        try:
            frames = splitter.feed(data)
            error: WrapperError | None = None
        except WrapperError as exc:
            frames = list(getattr(exc, "frames", []))
            error = exc
            splitter.reset()  # the rest of this stream cannot be trusted: start afresh
        for frame in frames:
            address = LinkAddress("wrapper", frame.source_wport, frame.destination_wport)
            key = ("wrapper", frame.source_wport, frame.destination_wport)
            self._receive_apdu(frame.apdu, stream, source, address, key, now)
        if error is not None:
            self._reject(
                WrapperError(f"{error} (the bytes buffered from this source were dropped)"),
                source,
                None,
                None,
                b"",
                now,
            )

    def _receive_hdlc(self, data: bytes, stream: _Stream, source: object, now: float) -> None:
        splitter = stream.hdlc
        assert splitter is not None
        frames = splitter.feed(data)
        for frame in frames:
            if frame.frame_type not in (FrameType.I, FrameType.UI):
                continue  # RR, SNRM, UA... carry no push
            address = LinkAddress("hdlc", frame.source, frame.destination)
            key = ("hdlc", frame.source, frame.destination)
            partial = stream.segments.get(key)
            if partial is not None and frame.information[:3] in (LLC_RESPONSE, LLC_REQUEST):
                # a new APDU starts (LLC header) while segments of the last one are missing:
                # the meter moved on (one segment was lost); report the incomplete one
                del stream.segments[key]
                self._reject(
                    BlockTransferError(
                        f"{len(partial.parts)} HDLC segments ({partial.size} bytes) of an APDU "
                        "dropped: a new APDU started before its last segment"
                    ),
                    source,
                    address,
                    None,
                    b"",
                    now,
                )
                partial = None
            if partial is None:
                try:
                    information = strip_llc_header(frame.information)
                except DecodeError as exc:
                    self._reject(exc, source, address, None, frame.information, now)
                    continue
                partial = self._new_segments(now)
            else:
                information = frame.information
            partial.parts.append(information)
            partial.size += len(information)
            if partial.size > self.max_apdu_length:
                stream.segments.pop(key, None)
                self._reject(
                    BlockTransferError(
                        f"HDLC segments exceed the largest APDU ({self.max_apdu_length} bytes)"
                    ),
                    source,
                    address,
                    None,
                    b"",
                    now,
                )
                continue
            if frame.segmented:
                stream.segments[key] = partial
                continue
            stream.segments.pop(key, None)
            self._receive_apdu(b"".join(partial.parts), stream, source, address, key, now)
        dropped = splitter.dropped_frames - stream.dropped_frames
        stream.dropped_frames = splitter.dropped_frames
        for _ in range(dropped):
            self._reject(
                LinkError(
                    "HDLC frame dropped: bad HCS/FCS, address or control field (corrupted "
                    "on the line, or altered)"
                ),
                source,
                None,
                None,
                b"",
                now,
            )

    def _receive_mbus(self, data: bytes, stream: _Stream, source: object, now: float) -> None:
        splitter = stream.mbus
        assert splitter is not None
        for frame in splitter.feed(data):
            self._receive_mbus_frame(frame, stream, source, now)
        dropped = splitter.dropped_frames - stream.dropped_frames
        stream.dropped_frames = splitter.dropped_frames
        for _ in range(dropped):
            self._reject(
                LinkError("M-Bus frame dropped: bad checksum or stop byte"),
                source,
                None,
                None,
                b"",
                now,
            )

    def _receive_mbus_frame(
        self, frame: MBusFrame, stream: _Stream, source: object, now: float
    ) -> None:
        key = ("mbus", frame.address)
        raw = frame.encode()
        if not frame.is_transport_segment or len(frame.data) < 2:
            self._reject(
                MBusFrameError(
                    f"M-Bus frame with CI 0x{frame.control_information:02x} and "
                    f"{len(frame.data)} data bytes is no DLMS/COSEM transport-layer segment "
                    "(CI 0x00..0x1F, then source and destination TSAP)"
                ),
                source,
                LinkAddress("mbus", frame.address),
                None,
                raw,
                now,
            )
            return
        address = LinkAddress("mbus", frame.address, None, frame.data[0], frame.data[1])
        partial = stream.segments.get(key)
        sequence = frame.sequence_number
        if partial is not None and sequence != partial.next_sequence:
            stream.segments.pop(key, None)
            self._reject(
                MBusFrameError(
                    f"M-Bus segment {sequence} arrived, {partial.next_sequence} expected: the "
                    f"{len(partial.parts)} segments before it were dropped"
                ),
                source,
                address,
                None,
                b"",
                now,
            )
            partial = None
        if partial is None:
            if sequence != 0:
                self._reject(
                    MBusFrameError(
                        f"M-Bus segment {sequence} without the segments before it (a "
                        "transport-layer APDU starts with segment 0)"
                    ),
                    source,
                    address,
                    None,
                    raw,
                    now,
                )
                return
            partial = self._new_segments(now)
        partial.parts.append(frame.data[2:])
        partial.size += len(frame.data) - 2
        partial.next_sequence = (sequence + 1) & 0x0F
        if partial.size > self.max_apdu_length:
            stream.segments.pop(key, None)
            self._reject(
                MBusFrameError(
                    f"M-Bus segments exceed the largest APDU ({self.max_apdu_length} bytes)"
                ),
                source,
                address,
                None,
                b"",
                now,
            )
            return
        if not frame.final_segment:
            stream.segments[key] = partial
            return
        stream.segments.pop(key, None)
        self._receive_apdu(b"".join(partial.parts), stream, source, address, key, now)

    # -- APDUs --------------------------------------------------------------------------------

    def _receive_apdu(
        self,
        apdu: bytes,
        stream: _Stream,
        source: object,
        address: LinkAddress,
        key: Hashable,
        now: float,
    ) -> None:
        if not apdu:
            self._reject(DecodeError("empty APDU"), source, address, None, apdu, now)
            return
        if apdu[0] == _GBT:
            try:
                complete = self._receive_block(apdu, stream, key, now)
            except DlmsError as exc:
                self._reject(exc, source, address, None, apdu, now)
                return
            if complete is None:
                return
            if not complete:
                self._reject(
                    BlockTransferError("general-block-transfer blocks carrying no data"),
                    source,
                    address,
                    None,
                    b"",
                    now,
                )
                return
            if complete[0] == _GBT:
                self._reject(
                    BlockTransferError("a general-block-transfer inside general-block-transfer"),
                    source,
                    address,
                    None,
                    complete,
                    now,
                )
                return
            apdu = complete
        title: bytes | None = None
        security: AppliedSecurity | None = None
        signature: PushSignature | None = None
        plaintext = apdu
        if apdu[0] in _GENERAL_TAGS:
            try:
                plaintext, title, security, signature = self._open_general(apdu)
            except DlmsError as exc:
                self._reject(exc, source, address, _general_originator(apdu), apdu, now)
                return
            if not plaintext:
                self._reject(
                    NotANotificationError("nothing inside the general protection"),
                    source,
                    address,
                    title,
                    apdu,
                    now,
                )
                return
        if plaintext[0] in _CIPHERED_TAGS:
            try:
                deciphered = self._decipher(plaintext, source)
            except DlmsError as exc:
                self._reject(exc, source, address, self._title_in(plaintext, source), apdu, now)
                return
            plaintext = deciphered.plaintext
            title = deciphered.system_title
            security = deciphered.security
        elif security is None:
            if title is None:
                title = self._configured_titles.get(source, self._default_title)
            if self.require_ciphering:
                what = "signed" if signature is not None else "plain"
                self._reject(
                    SecurityPolicyError(
                        f"{what} {_tag_name(plaintext[0])} refused: this receiver requires "
                        "ciphered pushes (require_ciphering=True)"
                    ),
                    source,
                    address,
                    title,
                    apdu,
                    now,
                )
                return
        if self.require_signature and signature is None:
            self._reject(
                SecurityPolicyError(
                    f"unsigned {_tag_name(apdu[0])} refused: this receiver requires signed "
                    "pushes (general-signing, require_signature=True)"
                ),
                source,
                address,
                title,
                apdu,
                now,
            )
            return
        self._decode(plaintext, source, address, title, security, now, signature)

    def _open_general(
        self, apdu: bytes
    ) -> tuple[bytes, bytes | None, AppliedSecurity | None, PushSignature | None]:
        """Peel general-signing / general-ciphering layers (suites 1 and 2): the APDU inside,
        the originator's system title, how it was ciphered and who signed it."""
        security: AppliedSecurity | None = None
        signature: PushSignature | None = None
        title: bytes | None = None
        current = apdu
        for _ in range(_MAX_GENERAL_LAYERS):
            if not current or current[0] not in _GENERAL_TAGS:
                return current, title, security, signature
            originator = _general_originator(current)
            if originator is None:
                raise DecipheringError(
                    f"{_tag_name(current[0])} whose originator system title is not 8 bytes: "
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
                suite = 1 if signing_key.curve.name == "secp256r1" else 2
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

    def _decode(
        self,
        apdu: bytes,
        source: object,
        address: LinkAddress,
        title: bytes | None,
        security: AppliedSecurity | None,
        now: float,
        signature: PushSignature | None = None,
    ) -> None:
        decoder = _NOTIFICATION_DECODERS.get(apdu[0]) if apdu else None
        if decoder is None:
            reason: str | None = None
            if apdu:
                try:
                    decode_apdu(apdu)
                    reason = f"{_tag_name(apdu[0])} is not a push"
                except DlmsError:
                    if security is not None:
                        reason = (
                            f"the deciphered payload is not an xDLMS APDU (first byte "
                            f"0x{apdu[0]:02x})"
                        )
            if reason is None:
                tag = _tag_name(apdu[0]) if apdu else "nothing"
                self._reject(
                    NotANotificationError(f"{tag} is not a push (nor a well-formed APDU)"),
                    source,
                    address,
                    title,
                    apdu,
                    now,
                )
                return
            self._emit(PushIgnored(apdu, reason, source, address, title, security, now))
            return
        try:
            pdu = decoder(apdu)
        except DlmsError as exc:
            self._reject(exc, source, address, title, apdu, now)
            return
        except (ValueError, TypeError, IndexError, OverflowError) as exc:  # a decoder bug
            self._reject(DecodeError(f"malformed push: {exc}"), source, address, title, apdu, now)
            return
        self._emit(Notification(pdu, source, address, title, security, now, signature))

    def _receive_block(
        self, apdu: bytes, stream: _Stream, key: Hashable, now: float
    ) -> bytes | None:
        """Add one GBT block; the whole APDU when it completes the transfer."""
        try:
            block = GeneralBlockTransfer.decode(apdu)
        except DecodeError as exc:
            raise BlockTransferError(f"malformed general-block-transfer: {exc}") from exc
        transfer = stream.transfers.get(key)
        if transfer is None:
            if not block.block_data and block.last_block:
                return None  # an acknowledgement with nothing to reassemble
            transfer = stream.transfers[key] = _BlockTransfer(now)
            self._note_partial(now)
        number = block.block_number
        if number in transfer.blocks:
            return None  # a duplicate
        if transfer.last_number is not None and number > transfer.last_number:
            stream.transfers.pop(key, None)
            raise BlockTransferError(
                f"general-block-transfer block {number} after the last block "
                f"{transfer.last_number}: the transfer was dropped"
            )
        if block.last_block:
            if any(existing > number for existing in transfer.blocks):
                stream.transfers.pop(key, None)
                raise BlockTransferError(
                    f"general-block-transfer last block {number} below a block already "
                    "received: the transfer was dropped"
                )
            transfer.last_number = number
        transfer.size += len(block.block_data)
        if transfer.size > self.max_apdu_length or len(transfer.blocks) >= _MAX_GBT_BLOCKS:
            stream.transfers.pop(key, None)
            raise BlockTransferError(
                f"general-block-transfer push exceeds {self.max_apdu_length} bytes or "
                f"{_MAX_GBT_BLOCKS} blocks: the transfer was dropped"
            )
        transfer.blocks[number] = block.block_data
        last = transfer.last_number
        if last is None:
            return None
        first = 0 if 0 in transfer.blocks else 1
        if len(transfer.blocks) != last - first + 1 or last < first:
            return None
        stream.transfers.pop(key, None)
        return b"".join(transfer.blocks[n] for n in range(first, last + 1))

    # -- security -----------------------------------------------------------------------------

    def _title_in(self, apdu: bytes, source: object) -> bytes | None:
        """The sender's title as far as it can be told without deciphering."""
        if (
            apdu[0] in (_GENERAL_GLO, _GENERAL_DED)
            and len(apdu) >= 2 + SYSTEM_TITLE_LENGTH
            and apdu[1] == SYSTEM_TITLE_LENGTH
        ):
            return apdu[2 : 2 + SYSTEM_TITLE_LENGTH]
        return self._title_of(source)

    def _decipher(self, apdu: bytes, source: object) -> _Deciphered:
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
            title = self._title_of(source)
        if title is None:
            raise UnknownSenderError(
                f"{_tag_name(tag)} from {source!r} carries no system title and none is known "
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
            raise DecipheringError(f"{_tag_name(tag)} must contain {_tag_name(ciphered.plain_tag)}")
        # the counter is recorded only once the tag checked (a forgery never advances it)
        self.counter_store.accept_received(title, key_identity(kind, cipher_key.value), counter)
        if ciphered.system_title:
            self._learned_titles[source] = title
        security = AppliedSecurity(SecurityControl.from_byte(sc), counter, form, kind, tag_verified)
        return _Deciphered(plaintext, title, security)

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

    # -- events -------------------------------------------------------------------------------

    def _emit(self, event: PushEvent) -> None:
        self._events.append(event)

    def _reject(
        self,
        cause: DlmsError,
        source: object,
        address: LinkAddress | None,
        title: bytes | None,
        data: bytes,
        now: float,
    ) -> None:
        event = PushRejected(cause, source, address, title, bytes(data), now)
        if isinstance(
            cause,
            (
                UnknownSenderError,
                UnknownSignerError,
                SignatureError,
                AuthenticationTagError,
                ReplayError,
            ),
        ):
            logger.warning("%s", event)
        else:
            logger.debug("%s", event)
        self._events.append(event)
