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
from ..apdu.notification import (
    DataNotification,
    EventNotificationRequest,
    InformationReportRequest,
)
from ..apdu.tags import ApduTag
from ..errors import (
    AuthenticationTagError,
    BlockTransferError,
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
    SYSTEM_TITLE_LENGTH,
)
from ..security.counters import (
    InvocationCounterStore,
    default_invocation_counter_store,
)
from ..security.general import (
    UnknownSignerError,
)
from ..security.suites import SignatureError
from ..wrapper.frames import WrapperSplitter
from .errors import (
    MBusFrameError,
    NotANotificationError,
    ReassemblyTimeoutError,
    UnknownSenderError,
)
from .keys import KeyStore, MemoryKeyStore, parse_system_title
from .mbus import MBusFrame, MBusSplitter
from .notification import (
    AppliedSecurity,
    LinkAddress,
    Notification,
    NotificationApdu,
    PushEvent,
    PushIgnored,
    PushRejected,
    PushSignature,
)
from .unprotect import (
    CIPHERED_TAGS,
    GENERAL_TAGS,
    PushUnprotection,
    general_originator,
    tag_name,
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
_GBT = int(ApduTag.GENERAL_BLOCK_TRANSFER)
_GENERAL_GLO = int(ApduTag.GENERAL_GLO_CIPHERING)
_GENERAL_DED = int(ApduTag.GENERAL_DED_CIPHERING)
_MAX_GBT_BLOCKS = 4096


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
        self._unprotection = PushUnprotection(
            keys if keys is not None else MemoryKeyStore(),
            counter_store if counter_store is not None else default_invocation_counter_store(),
            unsafe_skip_tag_check=unsafe_skip_tag_check,
            key_agreement_key=key_agreement_key,
            recipient_system_title=(
                None
                if recipient_system_title is None
                else parse_system_title(recipient_system_title)
            ),
        )
        self.require_ciphering = require_ciphering
        self.require_signature = require_signature
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
        # when the oldest partial APDU started (may be stale-early: expire() recomputes it)
        self._oldest_partial: float | None = None
        if unsafe_skip_tag_check:
            logger.warning(
                "push receiver made with unsafe_skip_tag_check=True: authenticated pushes of "
                "senders without an authentication key are accepted WITHOUT checking their "
                "tag; anyone with the encryption key can forge them"
            )

    @property
    def keys(self) -> KeyStore:
        """Where the senders' keys come from."""
        return self._unprotection.keys

    @property
    def counter_store(self) -> InvocationCounterStore:
        """The invocation counters received (replay rejection)."""
        return self._unprotection.counter_store

    @property
    def unsafe_skip_tag_check(self) -> bool:
        """See the class documentation (never set unless asked for)."""
        return self._unprotection.unsafe_skip_tag_check

    @property
    def key_agreement_key(self) -> ec.EllipticCurvePrivateKey | None:
        """Our static key agreement private key (general-ciphering with agreed keys)."""
        return self._unprotection.key_agreement_key

    @property
    def recipient_system_title(self) -> bytes | None:
        """Our system title: general-protected pushes to another recipient are refused."""
        return self._unprotection.recipient_system_title

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
        if apdu[0] in GENERAL_TAGS:
            try:
                plaintext, title, security, signature = self._unprotection.open_general(apdu)
            except DlmsError as exc:
                self._reject(exc, source, address, general_originator(apdu), apdu, now)
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
        if plaintext[0] in CIPHERED_TAGS:
            try:
                deciphered = self._unprotection.decipher(plaintext, source, self._title_of(source))
            except DlmsError as exc:
                self._reject(exc, source, address, self._title_in(plaintext, source), apdu, now)
                return
            if deciphered.title_carried:
                self._learned_titles[source] = deciphered.system_title
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
                        f"{what} {tag_name(plaintext[0])} refused: this receiver requires "
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
                    f"unsigned {tag_name(apdu[0])} refused: this receiver requires signed "
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
                    reason = f"{tag_name(apdu[0])} is not a push"
                except DlmsError:
                    if security is not None:
                        reason = (
                            f"the deciphered payload is not an xDLMS APDU (first byte "
                            f"0x{apdu[0]:02x})"
                        )
            if reason is None:
                tag = tag_name(apdu[0]) if apdu else "nothing"
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
