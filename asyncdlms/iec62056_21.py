"""The IEC 62056-21 mode E opening handshake (optical probes and direct serial lines), sans-IO.

Before HDLC can run over an optical head, the client wakes the meter at 300 baud 7E1::

    client -> meter   / ? [address] ! CR LF            request
    meter  -> client  / X X X Z [\\W] identification CR LF   identification (Z: baud character,
                                                            \\2 announces mode E, binary HDLC)
    client -> meter   ACK '2' Z '2' CR LF               acknowledgement: HDLC procedure, baud Z,
                                                            binary mode
    both switch to the baud rate of Z, 8N1, and HDLC starts.

:class:`ModeEOpener` runs that exchange without touching a serial port: it says which line
settings to apply (:class:`LineSettings` events), what to write (:meth:`data_to_send`) and when
it needs to be woken (:meth:`next_deadline` / :meth:`handle_timer`). Real meters bend the rules
(QUIRKS.md #5 and #7, behaviour 4), so it

- skips anything before ``/`` (line noise, a USB adapter's junk) and the echo of its own
  request (optical heads echo every byte sent),
- reads 7-bit characters whatever the port delivers (a parity bit in bit 7 is dropped), and
  sends its characters with the even-parity bit already in bit 7, so that 7E1 works both on a
  port set to 7E1 (the UART ignores bit 7 and adds the same parity bit) and on one that
  cannot do 7 data bits (USB adapters, pseudo-terminals), left at 8N1,
- maps baud characters ``0``-``6`` (modes C/E) and ``A``-``F`` (mode B) and any others through
  :attr:`IecSettings.extra_baud_characters`,
- proceeds whether or not the identification announces mode E (``\\2``) — some meters need
  mode E on a direct line without saying so — and never waits for the meter to confirm the
  acknowledgement,
- takes every delay from :class:`IecSettings`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from .errors import DlmsError

__all__ = [
    "BAUD_CHARACTERS",
    "EVEN_PARITY",
    "HandshakeComplete",
    "HandshakeFailed",
    "IdentificationReceived",
    "IecEvent",
    "IecHandshakeError",
    "IecResponderSettings",
    "IecSettings",
    "LineSettings",
    "ModeEOpener",
    "ModeEResponder",
]

#: Baud rate characters of IEC 62056-21: 0-6 in modes C and E, A-F in mode B.
BAUD_CHARACTERS: Mapping[str, int] = {
    "0": 300, "1": 600, "2": 1200, "3": 2400, "4": 4800, "5": 9600, "6": 19200,
    "A": 600, "B": 1200, "C": 2400, "D": 4800, "E": 9600, "F": 19200,
}  # fmt: skip
_MODE_C_CHARACTER = {rate: char for char, rate in BAUD_CHARACTERS.items() if char.isdigit()}
_MAX_IDENTIFICATION = 128  # "/" + 3 + 1 + 16 identification + escape sequences, with margin
_CR_LF = b"\r\n"
#: each 7-bit character with its even-parity bit in bit 7: 7E1 sent through an 8N1 port
EVEN_PARITY = bytes(c | (0x80 if bin(c).count("1") % 2 else 0) for c in range(128)) * 2


class IecHandshakeError(DlmsError):
    """The IEC 62056-21 opening handshake failed (no identification, unknown baud character)."""


@dataclass(frozen=True, slots=True)
class IecSettings:
    """Settings of the mode E handshake; every delay is in seconds.

    ``device_address`` goes between ``/?`` and ``!`` (empty: any meter on the line).
    ``identification_timeout`` is how long to wait for the identification after each request,
    ``request_attempts`` how many requests to send before giving up. ``acknowledgement_delay``
    is the pause between the identification and the ACK (some meters need 200-1000 ms),
    ``baud_switch_delay`` the pause after the ACK before switching the line (the 6 ACK bytes
    take 0.2 s at 300 baud). ``extra_baud_characters`` maps further characters some meters send
    (e.g. ``{"9": 9600}``); ``maximum_baud_rate`` caps the rate the meter offers.
    """

    device_address: str = ""
    identification_timeout: float = 2.0
    request_attempts: int = 3
    acknowledgement_delay: float = 0.2
    baud_switch_delay: float = 0.3
    extra_baud_characters: Mapping[str, int] = field(default_factory=dict)
    maximum_baud_rate: int | None = None

    def __post_init__(self) -> None:
        if not self.device_address.isascii() or any(c in self.device_address for c in "/?!\r\n"):
            raise ValueError("device_address must be ASCII without '/', '?', '!', CR or LF")
        if self.request_attempts < 1:
            raise ValueError("request_attempts must be at least 1")
        for name in ("identification_timeout", "acknowledgement_delay", "baud_switch_delay"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} cannot be negative")


class IecEvent:
    """Base class of the handshake's events."""

    __slots__ = ()


class Parity(enum.Enum):
    """Serial parity."""

    NONE = "N"
    EVEN = "E"


@dataclass(frozen=True, slots=True)
class LineSettings(IecEvent):
    """Apply these settings to the serial port now (before writing what follows)."""

    baud_rate: int
    data_bits: int
    parity: Parity
    stop_bits: int = 1


@dataclass(frozen=True, slots=True)
class IdentificationReceived(IecEvent):
    """The meter identified itself: ``/``, three manufacturer letters, the baud character
    ``Z``, escape sequences such as ``\\2`` (mode E), the identification."""

    manufacturer: str
    baud_character: str
    baud_rate: int
    mode_e: bool
    identification: str


@dataclass(frozen=True, slots=True)
class HandshakeComplete(IecEvent):
    """The line runs at ``baud_rate`` 8N1 now: start HDLC."""

    baud_rate: int


@dataclass(frozen=True, slots=True)
class HandshakeFailed(IecEvent):
    """The handshake gave up; ``error`` says why."""

    error: IecHandshakeError


class _State(enum.Enum):
    IDLE = "idle"
    AWAIT_IDENTIFICATION = "await identification"
    AWAIT_ACKNOWLEDGEMENT_DELAY = "await acknowledgement delay"
    AWAIT_BAUD_SWITCH = "await baud switch"
    DONE = "done"
    FAILED = "failed"


class ModeEOpener:
    """The client side of the IEC 62056-21 mode E opening, as a sans-IO state machine."""

    def __init__(self, settings: IecSettings | None = None) -> None:
        self.settings = settings or IecSettings()
        self._state = _State.IDLE
        self._deadline: float | None = None
        self._outgoing = bytearray()
        self._events: list[IecEvent] = []
        self._line = bytearray()
        self._request = b"/?" + self.settings.device_address.encode("ascii") + b"!\r\n"
        self._attempts = 0
        self._baud_rate = 300
        self._baud_character = "0"
        #: bytes skipped before a '/' and lines discarded (echoes, noise)
        self.discarded_bytes = 0

    @property
    def complete(self) -> bool:
        """True once the line has been switched to the negotiated baud rate."""
        return self._state is _State.DONE

    def start(self, now: float) -> None:
        """Begin: 300 baud 7E1, send the request, wait for the identification."""
        if self._state is not _State.IDLE:
            raise IecHandshakeError(f"the handshake is already {self._state.value}")
        self._events.append(LineSettings(300, 7, Parity.EVEN))
        self._send_request(now)

    def _send_request(self, now: float) -> None:
        self._attempts += 1
        self._outgoing += self._request
        self._line.clear()
        self._state = _State.AWAIT_IDENTIFICATION
        self._deadline = now + self.settings.identification_timeout

    def receive_data(self, data: bytes, now: float) -> None:
        """Feed bytes read from the port (any slicing)."""
        if self._state is not _State.AWAIT_IDENTIFICATION:
            # After the identification the meter may confirm the ACK or send nothing; after
            # the switch the bytes belong to HDLC: the caller routes them there.
            self.discarded_bytes += len(data)
            return
        for byte in data:
            char = byte & 0x7F  # 7E1 read as 8N1 leaves the parity bit in bit 7
            if char == 0x2F:  # '/' starts a message and occurs nowhere inside one
                self.discarded_bytes += len(self._line)
                self._line.clear()
            elif not self._line:  # noise before the start of a message
                self.discarded_bytes += 1
                continue
            elif len(self._line) >= _MAX_IDENTIFICATION:
                self.discarded_bytes += len(self._line)
                self._line.clear()
                continue
            self._line.append(char)
            if self._line.endswith(_CR_LF):
                line = bytes(self._line)
                self._line.clear()
                if line == self._request:  # the optical head's echo of our request
                    self.discarded_bytes += len(line)
                    continue
                self._identification(line, now)
                if self._state is not _State.AWAIT_IDENTIFICATION:
                    return

    def _identification(self, line: bytes, now: float) -> None:
        text = line[:-2].decode("ascii", "replace")
        if len(text) < 5:
            self.discarded_bytes += len(line)
            return
        manufacturer, character = text[1:4], text[4]
        rest = text[5:]
        mode_e = rest.startswith("\\2")
        while len(rest) >= 2 and rest[0] == "\\":  # escape sequences \W
            rest = rest[2:]
        baud_rate = self.settings.extra_baud_characters.get(character) or BAUD_CHARACTERS.get(
            character
        )
        if baud_rate is None:
            self._fail(
                f"the meter ({manufacturer}) offers baud character {character!r}, which is "
                "not one of 0-6 or A-F; map it with IecSettings.extra_baud_characters"
            )
            return
        if self.settings.maximum_baud_rate is not None:
            baud_rate = min(baud_rate, self.settings.maximum_baud_rate)
        self._baud_rate = baud_rate
        self._baud_character = _MODE_C_CHARACTER.get(baud_rate, character)
        self._events.append(
            IdentificationReceived(manufacturer, character, baud_rate, mode_e, rest)
        )
        self._state = _State.AWAIT_ACKNOWLEDGEMENT_DELAY
        self._deadline = now + self.settings.acknowledgement_delay
        if self.settings.acknowledgement_delay == 0:
            self.handle_timer(now)

    def _fail(self, message: str) -> None:
        self._state = _State.FAILED
        self._deadline = None
        self._events.append(HandshakeFailed(IecHandshakeError(message)))

    def handle_timer(self, now: float) -> None:
        """Act on an expired delay or timeout."""
        if self._deadline is None or now < self._deadline:
            return
        if self._state is _State.AWAIT_IDENTIFICATION:
            if self._attempts < self.settings.request_attempts:
                self._send_request(now)
            else:
                self._fail(
                    f"no identification after {self._attempts} requests "
                    f"({self.settings.identification_timeout} s each): check the optical "
                    "head's position and cable, the port, and the device address"
                )
        elif self._state is _State.AWAIT_ACKNOWLEDGEMENT_DELAY:
            self._outgoing += b"\x062" + self._baud_character.encode("ascii") + b"2\r\n"
            self._state = _State.AWAIT_BAUD_SWITCH
            self._deadline = now + self.settings.baud_switch_delay
            if self.settings.baud_switch_delay == 0:
                self.handle_timer(now)
        elif self._state is _State.AWAIT_BAUD_SWITCH:
            self._state = _State.DONE
            self._deadline = None
            self._events.append(LineSettings(self._baud_rate, 8, Parity.NONE))
            self._events.append(HandshakeComplete(self._baud_rate))

    def next_deadline(self) -> float | None:
        """When :meth:`handle_timer` must be called next, if at all."""
        return self._deadline

    def data_to_send(self) -> bytes:
        """Bytes to write now (under the line settings announced before them), with the
        even-parity bit in bit 7 (see the module documentation)."""
        out = bytes(self._outgoing).translate(EVEN_PARITY)
        self._outgoing.clear()
        return out

    def events(self) -> list[IecEvent]:
        """Events since the last call, in order; LineSettings come before the bytes they
        apply to."""
        events, self._events = self._events, []
        return events


# ---------------------------------------------------------------------------------------------
# The meter side (simulators, test peers)


@dataclass(frozen=True, slots=True)
class IecResponderSettings:
    """The meter side of the mode E opening: what it identifies itself as and which baud
    rate it offers (``baud_character``, ``5`` = 9600). ``device_address``: answer only
    requests for this address (empty: any). ``acknowledgement_timeout``: seconds to wait for
    the ACK before going back to waiting for a request."""

    manufacturer: str = "ADL"
    identification: str = "asyncdlms"
    baud_character: str = "5"
    device_address: str = ""
    acknowledgement_timeout: float = 5.0

    def __post_init__(self) -> None:
        if len(self.manufacturer) != 3 or not self.manufacturer.isascii():
            raise ValueError("manufacturer is three ASCII letters (the FLAG id)")
        if self.baud_character not in BAUD_CHARACTERS:
            raise ValueError(f"baud_character must be one of {''.join(BAUD_CHARACTERS)}")
        if any(c in self.identification for c in "/!\r\n") or not self.identification.isascii():
            raise ValueError("identification is ASCII without '/', '!', CR or LF")


class ModeEResponder:
    """The meter side of the IEC 62056-21 mode E opening, sans-IO: waits for ``/?!`` at
    300 baud, identifies itself with mode E (``\\2``), and on the client's ``ACK 2 Z 2``
    switches to the baud rate of Z, 8N1 (:class:`LineSettings`, then
    :class:`HandshakeComplete`). Anything else (noise, a data readout request) is ignored and
    the responder keeps waiting, as a meter does."""

    def __init__(self, settings: IecResponderSettings | None = None) -> None:
        self.settings = settings or IecResponderSettings()
        self._line = bytearray()
        self._outgoing = bytearray()
        self._events: list[IecEvent] = []
        self._awaiting_ack_until: float | None = None
        self._complete = False

    @property
    def complete(self) -> bool:
        """True once the line runs at the agreed baud rate."""
        return self._complete

    def receive_data(self, data: bytes, now: float) -> None:
        """Feed bytes read from the line at 300 baud (7E1 or 8N1 with the parity bit)."""
        if self._complete:
            return
        for byte in data:
            char = byte & 0x7F
            if char in (0x2F, 0x06):  # '/' starts a request, ACK an acknowledgement
                self._line = bytearray((char,))
                continue
            if not self._line:
                continue
            self._line.append(char)
            if len(self._line) > _MAX_IDENTIFICATION:
                self._line.clear()
            elif self._line.endswith(_CR_LF):
                line = bytes(self._line)
                self._line.clear()
                self._handle(line, now)
                if self._complete:
                    return

    def _handle(self, line: bytes, now: float) -> None:
        address = self.settings.device_address.encode("ascii")
        if line.startswith(b"/?") and line.endswith(b"!\r\n"):
            if line[2:-3] in (b"", address) or not address:
                self._outgoing += (
                    f"/{self.settings.manufacturer}{self.settings.baud_character}\\2"
                    f"{self.settings.identification}\r\n"
                ).encode("ascii")
                self._awaiting_ack_until = now + self.settings.acknowledgement_timeout
            return
        if (
            self._awaiting_ack_until is not None
            and len(line) == 6
            and line[0] == 0x06
            and line[1:2] == b"2"
            and line[3:4] == b"2"
        ):
            character = chr(line[2])
            baud_rate = BAUD_CHARACTERS.get(character)
            if baud_rate is None:
                return
            self._awaiting_ack_until = None
            self._complete = True
            self._events.append(LineSettings(baud_rate, 8, Parity.NONE))
            self._events.append(HandshakeComplete(baud_rate))

    def handle_timer(self, now: float) -> None:
        """Give up waiting for the ACK: back to waiting for a request."""
        if self._awaiting_ack_until is not None and now >= self._awaiting_ack_until:
            self._awaiting_ack_until = None

    def next_deadline(self) -> float | None:
        """When :meth:`handle_timer` must be called next, if at all."""
        return self._awaiting_ack_until

    def data_to_send(self) -> bytes:
        """Bytes to write now, 7E1 as 8-bit characters with the parity bit."""
        out = bytes(self._outgoing).translate(EVEN_PARITY)
        self._outgoing.clear()
        return out

    def events(self) -> list[IecEvent]:
        """Events since the last call."""
        events, self._events = self._events, []
        return events
