"""How a :class:`~asyncdlms.server.endpoint.DlmsServer` defends itself against bad peers.

:class:`ServerLimits` gathers the settings (all on by default, each one switched off by
``None``):

- ``first_byte_timeout``: a TCP connection that sends nothing for this long after it was
  accepted is closed (30 s);
- ``frame_timeout``: a frame (HDLC frame, wrapper header and APDU) whose first byte has
  arrived must be complete within this many seconds, however slowly its bytes trickle in: the
  deadline is set by the first byte of the frame and is not moved by the next ones (10 s);
- ``max_protocol_errors``: a TCP connection is closed after this many protocol errors in a row
  (HDLC frames with a bad check sequence, address or control field, each 1 KiB of bytes that
  belong to no frame, undecodable APDUs); a wrapper stream error (wrong version, a length
  above the APDU limit) closes it at once (10);
- ``apdu_margin``: a wrapper APDU may be at most the server's max receive PDU size plus this
  margin (ciphering headers); a longer length in a wrapper header closes the connection before
  a byte of the APDU is buffered (64);
- ``max_connections`` and ``max_connections_per_peer``: concurrent TCP connections, in all and
  from one peer address; a connection over the cap is closed at once and logged (4096, 256).
  The count is a :class:`ConnectionBudget`, one per server or shared by several (the
  simulator's ports share one);
- ``work_chunk`` and ``max_queued``: fair scheduling. A connection has at most ``work_chunk``
  bytes handled per turn of the event loop, the rest waits its turn; beyond ``max_queued``
  waiting bytes the connection stops being read until it has caught up (4 KiB, 64 KiB);
- ``password_backoff`` and ``password_backoff_max``: after a rejected association of a client
  SAP that needs a secret (a wrong LLS password, a failed HLS pass 3) the answers to the next
  association attempts of that client address on that device, and of that peer address, are
  held back: 0.1 s after the first failure, doubling with each failure in a row up to 10 s,
  reset by a success (see :class:`FailureBackoff`).

A serial line is never closed by these limits (line noise is normal there), but its work
per turn of the event loop is bounded all the same.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

__all__ = ["ConnectionBudget", "FailureBackoff", "ServerLimits"]


def _positive(name: str, value: float | None) -> None:
    if value is not None and value <= 0:
        raise ValueError(f"{name} must be positive or None (off), not {value}")


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """The limits a :class:`~asyncdlms.server.endpoint.DlmsServer` puts on its peers (see the
    module documentation for what each one does); ``None`` switches a limit off."""

    first_byte_timeout: float | None = 30.0
    frame_timeout: float | None = 10.0
    max_protocol_errors: int | None = 10
    apdu_margin: int = 64
    max_connections: int | None = 4096
    max_connections_per_peer: int | None = 256
    work_chunk: int = 4096
    max_queued: int = 65536
    password_backoff: float | None = 0.1
    password_backoff_max: float = 10.0

    def __post_init__(self) -> None:
        _positive("first_byte_timeout", self.first_byte_timeout)
        _positive("frame_timeout", self.frame_timeout)
        _positive("max_protocol_errors", self.max_protocol_errors)
        _positive("max_connections", self.max_connections)
        _positive("max_connections_per_peer", self.max_connections_per_peer)
        _positive("password_backoff", self.password_backoff)
        if self.apdu_margin < 0:
            raise ValueError(f"apdu_margin must not be negative, not {self.apdu_margin}")
        if self.work_chunk < 64:
            raise ValueError(f"work_chunk must be at least 64 bytes, not {self.work_chunk}")
        if self.max_queued < self.work_chunk:
            raise ValueError("max_queued must be at least work_chunk")
        if self.password_backoff is not None and self.password_backoff_max < self.password_backoff:
            raise ValueError("password_backoff_max must be at least password_backoff")

    @classmethod
    def off(cls) -> ServerLimits:
        """No limit at all (the behaviour of a trusting server; for tests and benchmarks)."""
        return cls(None, None, None, 0xFFFF, None, None, 0x40000, 0x40000, None)

    def backoff(self) -> FailureBackoff | None:
        """A fresh :class:`FailureBackoff` as these limits say (``None`` when off)."""
        if self.password_backoff is None:
            return None
        return FailureBackoff(self.password_backoff, self.password_backoff_max)

    def apdu_limit(self, server_max_receive_pdu_size: int) -> int:
        """The longest APDU accepted in a wrapper frame for a server of this max PDU size
        (0: no limit but the wrapper's 65535)."""
        if not server_max_receive_pdu_size:
            return 0xFFFF
        return min(server_max_receive_pdu_size + self.apdu_margin, 0xFFFF)


class FailureBackoff:
    """Failures in a row per key, and until when answers for a key are held back.

    Sans-IO (``now`` is passed in). After the n-th failure in a row for a key, the key is
    held for ``min(initial * 2 ** (n - 1), maximum)`` seconds more, counted from when the
    previous hold ends (so parallel attempts queue up rather than share one delay); a
    success resets the count. At most ``max_keys`` keys are remembered (the least recently
    failed are forgotten first).
    """

    __slots__ = ("_entries", "initial", "max_keys", "maximum")

    def __init__(self, initial: float, maximum: float, max_keys: int = 100_000) -> None:
        if initial <= 0 or maximum < initial:
            raise ValueError("the back-off needs 0 < initial <= maximum")
        self.initial = initial
        self.maximum = maximum
        self.max_keys = max_keys
        # key -> [failures in a row, held until]
        self._entries: OrderedDict[Hashable, list[float]] = OrderedDict()

    def delay(self, failures: int) -> float:
        """The hold added by the ``failures``-th failure in a row."""
        if failures <= 0:
            return 0.0
        return min(self.initial * 2.0 ** min(failures - 1, 64), self.maximum)

    def failures(self, key: Hashable) -> int:
        """Failures in a row for ``key``."""
        entry = self._entries.get(key)
        return int(entry[0]) if entry is not None else 0

    def held_until(self, keys: Iterable[Hashable], now: float) -> float:
        """When answers for any of ``keys`` may go out (``now`` when none is held)."""
        until = now
        for key in keys:
            entry = self._entries.get(key)
            if entry is not None and entry[1] > until:
                until = entry[1]
        return until

    def failed(self, keys: Iterable[Hashable], now: float) -> float:
        """Count a failure for each of ``keys``; when the answer to it may go out."""
        until = now
        entries = self._entries
        for key in keys:
            entry = entries.pop(key, None)
            if entry is None:
                entry = [0.0, now]
            entry[0] += 1
            entry[1] = max(entry[1], now) + self.delay(int(entry[0]))
            entries[key] = entry
            until = max(until, entry[1])
        while len(entries) > self.max_keys:
            entries.popitem(last=False)
        return until

    def succeeded(self, keys: Iterable[Hashable]) -> None:
        """A success: forget the failures of ``keys``."""
        for key in keys:
            self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)


class ConnectionBudget:
    """Open TCP connections, in all and per peer address, counted for the connection caps;
    servers that share one share the caps (the :class:`~asyncdlms.server.Simulator` gives
    one to all its ports)."""

    __slots__ = ("_per_peer", "open")

    def __init__(self) -> None:
        self.open = 0
        self._per_peer: dict[str | None, int] = {}

    def from_peer(self, peer: str | None) -> int:
        """Connections open from ``peer``."""
        return self._per_peer.get(peer, 0)

    def refusal(self, peer: str | None, limits: ServerLimits) -> str | None:
        """Why one more connection from ``peer`` is refused (``None``: it is admitted)."""
        total = limits.max_connections
        if total is not None and self.open >= total:
            return f"{self.open} connections open (max_connections {total})"
        per_peer = limits.max_connections_per_peer
        if per_peer is not None and self.from_peer(peer) >= per_peer:
            return (
                f"{self.from_peer(peer)} connections open from this address "
                f"(max_connections_per_peer {per_peer})"
            )
        return None

    def admit(self, peer: str | None) -> None:
        """Count a connection from ``peer``."""
        self.open += 1
        self._per_peer[peer] = self._per_peer.get(peer, 0) + 1

    def release(self, peer: str | None) -> None:
        """A connection from ``peer`` closed."""
        self.open -= 1
        count = self._per_peer.get(peer, 0) - 1
        if count > 0:
            self._per_peer[peer] = count
        else:
            self._per_peer.pop(peer, None)
