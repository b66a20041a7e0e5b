"""The meter side of a firmware upgrade: Image transfer (class 18, version 0), its activation
schedule (Single action schedule, class 22) and the script that activates (Script table,
class 9).

:class:`ImageTransferServer` is the sans-IO state machine of one meter's Image transfer
object (the time is passed in as ``now``; nothing here sleeps or opens anything):

- ``image_transfer_initiate(identifier, size)`` starts a transfer (status 1). Initiating the
  *same* identifier and size as the transfer in progress keeps the blocks received so far
  (a client resumes by re-initiating and reading attributes 3 and 4); another identifier or
  size, or any initiate after a failed verification, starts again from nothing.
- ``image_block_transfer(number, value)`` stores one block: every block but the last is
  exactly ``image_block_size`` bytes, the last one the rest of the image (or padded to the
  block size); receiving a block twice changes nothing.
- ``image_verify`` fails at once (status 4) while blocks are missing; otherwise it runs the
  verifier over the reassembled image, which takes ``verification_time`` seconds: meanwhile
  the method answers temporary-failure and the status stays 2, then it becomes 3 (and
  attribute 7 ``image_to_activate_info`` is filled) or 4.
- ``image_activate`` needs a verified image (an image not yet verified is verified first, as
  the Blue Book says), takes ``activation_time`` seconds (status 5, temporary-failure), then
  the image's identifier becomes the meter's active firmware identifier (status 6).
- :meth:`ImageTransferServer.schedule_activation` (the Single action schedule's
  ``execution_time``) schedules the same activation at times of the meter's clock.

Refusals, as ACTION results: parameters of the wrong shape: type-unmatched;
``image_transfer_enabled`` false: read-write-denied; no transfer initiated, a block number out
of range, a block of the wrong size, a failed verification, an image too large:
other-reason; the meter busy verifying or activating: temporary-failure.

The state belongs to the meter, not to an association: it survives associations and
connections and is lost only by a meter restart with ``restart_loses_transfer`` (see
:class:`ImageTransferFaults`). :mod:`.image_transfer_objects` maps the COSEM objects'
attributes and methods onto this state machine for the simulator.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..apdu.enums import ActionResult
from ..cosem.image_transfer import (
    ImageToActivateInfo,
    ImageTransferStatus,
    number_of_blocks,
    verify_firmware_image,
)

__all__ = [
    "ImageTransferFaults",
    "ImageTransferServer",
    "ImageTransferSettings",
    "ImageVerifier",
]

ImageVerifier = Callable[[bytes, bytes], bool]
"""``verifier(image_identifier, image) -> True when the image may be activated``: called with
the identifier ``image_transfer_initiate`` announced and the reassembled image."""

_Status = ImageTransferStatus


@dataclass(frozen=True, slots=True)
class ImageTransferSettings:
    """How every meter of a simulator receives firmware.

    - ``block_size``: ``image_block_size`` (attribute 2) in bytes; a block larger than the
      simulator's max PDU size less 48 bytes (the request around the block, ciphering
      included) does not fit one ACTION request: the client sends each block in pblocks
      (ACTION-Request-With-First-Pblock, block transfer with action);
    - ``verification_time`` / ``activation_time``: seconds of the simulator's clock that
      ``image_verify`` / ``image_activate`` take (0: done within the call);
    - ``restart_on_activation``: the meter restarts once an image is activated: its open
      connections are dropped (just after the answer that reports it);
    - ``verifier``: ``(identifier, image) -> bool``; the default,
      :func:`~asyncdlms.cosem.image_transfer.verify_firmware_image`, accepts an intact
      :func:`~asyncdlms.cosem.image_transfer.firmware_image` with that identifier;
    - ``max_image_size``: larger ``image_size`` values are refused;
    - ``firmware_identifier``: the active firmware identifier (1.0.0.2.0.255) before any
      upgrade.
    """

    block_size: int = 200
    verification_time: float = 0.0
    activation_time: float = 0.0
    restart_on_activation: bool = False
    verifier: ImageVerifier = verify_firmware_image
    max_image_size: int = 16 * 1024 * 1024
    firmware_identifier: bytes = b"SIM-1.0.0"

    def __post_init__(self) -> None:
        if not 1 <= self.block_size <= 0xFFFF:
            raise ValueError(f"block_size must be 1..65535 bytes, not {self.block_size}")
        if self.verification_time < 0 or self.activation_time < 0:
            raise ValueError("verification_time and activation_time must not be negative")
        if not 1 <= self.max_image_size <= 0xFFFFFFFF:
            raise ValueError("max_image_size must be 1..2^32-1 bytes")


@dataclass(frozen=True, slots=True)
class ImageTransferFaults:
    """Faults of one meter's image transfer, to test how a client resumes (all off by
    default; set with ``Simulator.set_image_transfer_faults``, which re-arms them):

    - ``drop_connection_at_block``: when this block number arrives (the first time after the
      faults were set), the meter closes the connection without storing or answering it, nor
      the blocks after it in the same ACTION with-list (over UDP, where there is no
      connection to close, it answers temporary-failure for them);
    - ``refuse_blocks`` / ``refusals``: these block numbers are answered temporary-failure
      (and not stored) ``refusals`` times each;
    - ``corrupt_block``: this block is stored with one bit flipped (the first time it arrives),
      so the verification fails;
    - ``restart_loses_transfer``: a meter restart (``Simulator.restart_meter``, or an
      activation with ``restart_on_activation``) forgets the transfer (status 0); by default
      the blocks are kept, as in a meter's non-volatile memory.
    """

    drop_connection_at_block: int | None = None
    refuse_blocks: frozenset[int] = field(default_factory=frozenset)
    refusals: int = 1
    corrupt_block: int | None = None
    restart_loses_transfer: bool = False

    def __post_init__(self) -> None:
        if self.refusals < 0:
            raise ValueError("refusals must not be negative")
        object.__setattr__(self, "refuse_blocks", frozenset(self.refuse_blocks))


_NO_FAULTS = ImageTransferFaults()


class ImageTransferServer:
    """One meter's Image transfer state machine (sans-IO; see the module documentation).

    Call :meth:`advance` with the time before reading the state: verification and activation
    end, and scheduled activations run, only when the state machine is told the time. An
    activation never fails here (status 7, activation failed, is not used).
    """

    __slots__ = (
        "_activating_until",
        "_blocks",
        "_corrupted",
        "_dropped",
        "_dropping",
        "_faults",
        "_first_missing",
        "_refusals_left",
        "_restart_pending",
        "_verification_passed",
        "_verified_at",
        "_verifying_until",
        "active_identifier",
        "blocks_received",
        "execution_time",
        "image_identifier",
        "image_size",
        "image_transfer_enabled",
        "image_transfer_status",
        "pending_activations",
        "settings",
    )

    def __init__(
        self,
        settings: ImageTransferSettings | None = None,
        faults: ImageTransferFaults | None = None,
    ) -> None:
        self.settings = settings or ImageTransferSettings()
        #: attribute 5 (settable): the methods are refused while it is false
        self.image_transfer_enabled = True
        #: attribute 6
        self.image_transfer_status = _Status.IMAGE_TRANSFER_NOT_INITIATED
        self.image_identifier = b""
        self.image_size = 0
        #: the identifier of the running firmware (what 1.0.0.2.0.255 shows)
        self.active_identifier = self.settings.firmware_identifier
        #: the activation times last scheduled (the Single action schedule's execution_time),
        #: and those still to run, in seconds of the meter's clock, earliest first
        self.execution_time: tuple[float, ...] = ()
        self.pending_activations: tuple[float, ...] = ()
        #: image_block_transfer calls answered success (a block received twice counts
        #: twice): a statistic that shows whether a client sent blocks the meter held
        self.blocks_received = 0
        self._blocks: dict[int, bytes] = {}
        self._first_missing = 0
        self._verifying_until: float | None = None
        self._verification_passed = False
        self._verified_at = -math.inf
        self._activating_until: float | None = None
        self._restart_pending = False
        self._faults = _NO_FAULTS
        self._dropped = False
        self._dropping = False
        self._corrupted = False
        self._refusals_left: dict[int, int] = {}
        self.set_faults(faults)

    # -- faults ---------------------------------------------------------------------------

    @property
    def faults(self) -> ImageTransferFaults:
        """The faults in force."""
        return self._faults

    def set_faults(self, faults: ImageTransferFaults | None) -> None:
        """Set (and re-arm) the faults; ``None``: none."""
        self._faults = faults or _NO_FAULTS
        self._dropped = False
        self._corrupted = False
        self._refusals_left = dict.fromkeys(self._faults.refuse_blocks, self._faults.refusals)

    # -- attributes -----------------------------------------------------------------------

    @property
    def image_block_size(self) -> int:
        """Attribute 2."""
        return self.settings.block_size

    @property
    def block_count(self) -> int:
        """Blocks of the image being transferred (0 before an initiate)."""
        if self.image_transfer_status is _Status.IMAGE_TRANSFER_NOT_INITIATED:
            return 0
        return number_of_blocks(self.image_size, self.settings.block_size)

    def transferred_blocks(self) -> tuple[bool, ...]:
        """Attribute 3 ``image_transferred_blocks_status``: one flag per block."""
        blocks = self._blocks
        return tuple(number in blocks for number in range(self.block_count))

    @property
    def first_not_transferred_block_number(self) -> int:
        """Attribute 4: the lowest block number not received (the block count once all
        were)."""
        return self._first_missing

    def image_to_activate_info(self) -> tuple[ImageToActivateInfo, ...]:
        """Attribute 7: the verified image (empty until a verification succeeded)."""
        if self.image_transfer_status not in (
            _Status.IMAGE_VERIFICATION_SUCCESSFUL,
            _Status.IMAGE_ACTIVATION_INITIATED,
            _Status.IMAGE_ACTIVATION_SUCCESSFUL,
            _Status.IMAGE_ACTIVATION_FAILED,
        ):
            return ()
        image = self.image()
        return (
            ImageToActivateInfo(len(image), self.image_identifier, hashlib.sha256(image).digest()),
        )

    def image(self) -> bytes:
        """The image reassembled from the blocks received (missing blocks left out; a padded
        last block trimmed to ``image_size``)."""
        blocks = self._blocks
        joined = b"".join(blocks[number] for number in sorted(blocks))
        return joined[: self.image_size]

    def complete(self) -> bool:
        """True when every block has arrived."""
        return self.image_transfer_status is not _Status.IMAGE_TRANSFER_NOT_INITIATED and (
            self._first_missing >= self.block_count
        )

    # -- time -----------------------------------------------------------------------------

    def advance(self, now: float, clock: float | None = None) -> None:
        """Let the time pass to ``now`` (the simulator's clock): end a verification or an
        activation that is due, and run the scheduled activations whose time has come on the
        meter's ``clock`` (``now`` when not given)."""
        self._finish(now)
        clock = now if clock is None else clock
        due = [at for at in self.pending_activations if at <= clock]
        for at in due:
            # the activation starts at its execution time, or when the image was verified
            started = max(now - (clock - at), self._verified_at)
            result = self.image_activate(started)
            still_verifying = self.image_transfer_status is _Status.IMAGE_VERIFICATION_INITIATED
            if result is ActionResult.TEMPORARY_FAILURE and still_verifying:
                break  # run again once the verification has ended
            self.pending_activations = tuple(t for t in self.pending_activations if t != at)
            self._finish(now)

    def _finish(self, now: float) -> None:
        if self._verifying_until is not None and now >= self._verifying_until:
            self._verified_at = self._verifying_until
            self._verifying_until = None
            self.image_transfer_status = (
                _Status.IMAGE_VERIFICATION_SUCCESSFUL
                if self._verification_passed
                else _Status.IMAGE_VERIFICATION_FAILED
            )
        if self._activating_until is not None and now >= self._activating_until:
            self._activating_until = None
            self._activated()

    def _activated(self) -> None:
        self.image_transfer_status = _Status.IMAGE_ACTIVATION_SUCCESSFUL
        self.active_identifier = self.image_identifier
        if self.settings.restart_on_activation:
            self._restart_pending = True

    def schedule_activation(self, execution_times: Sequence[float], clock: float) -> None:
        """The Single action schedule's ``execution_time`` was set: activate at each of these
        times of the meter's clock (seconds since the epoch); times not after ``clock`` (the
        meter's clock now) have passed and never run."""
        self.execution_time = tuple(sorted(set(execution_times)))
        self.pending_activations = tuple(at for at in self.execution_time if at > clock)

    # -- restart --------------------------------------------------------------------------

    def take_restart(self) -> bool:
        """True (once) when an activation asks for a meter restart."""
        pending, self._restart_pending = self._restart_pending, False
        return pending

    def restart(self) -> None:
        """The meter restarts: a verification or activation under way is abandoned (status
        1 or 3); with ``restart_loses_transfer`` the transfer is forgotten (status 0)."""
        if self._verifying_until is not None:
            self._verifying_until = None
            self.image_transfer_status = _Status.IMAGE_TRANSFER_INITIATED
        if self._activating_until is not None:
            self._activating_until = None
            self.image_transfer_status = _Status.IMAGE_VERIFICATION_SUCCESSFUL
        if self._faults.restart_loses_transfer:
            self._forget()

    def _forget(self) -> None:
        self.image_transfer_status = _Status.IMAGE_TRANSFER_NOT_INITIATED
        self.image_identifier = b""
        self.image_size = 0
        self._blocks = {}
        self._first_missing = 0
        self._verifying_until = None
        self._activating_until = None

    # -- methods --------------------------------------------------------------------------

    def _busy(self) -> bool:
        return self.image_transfer_status in (
            _Status.IMAGE_VERIFICATION_INITIATED,
            _Status.IMAGE_ACTIVATION_INITIATED,
        )

    def image_transfer_initiate(self, identifier: bytes, size: int, now: float) -> ActionResult:
        """Method 1."""
        self._finish(now)
        if not self.image_transfer_enabled:
            return ActionResult.READ_WRITE_DENIED
        if not 0 < size <= self.settings.max_image_size:
            return ActionResult.OTHER_REASON
        status = self.image_transfer_status
        resumable = status not in (
            _Status.IMAGE_TRANSFER_NOT_INITIATED,
            _Status.IMAGE_VERIFICATION_FAILED,
        )
        same = resumable and identifier == self.image_identifier and size == self.image_size
        if not same:
            self._forget()
            self.image_identifier = bytes(identifier)
            self.image_size = size
        self._verifying_until = None
        self._activating_until = None
        self.image_transfer_status = _Status.IMAGE_TRANSFER_INITIATED
        return ActionResult.SUCCESS

    def image_block_transfer(self, number: int, value: bytes, now: float) -> ActionResult | None:
        """Method 2; ``None``: the meter drops the connection (the
        ``drop_connection_at_block`` fault) without storing the block or answering, and the
        blocks after it (the rest of an ACTION with-list) are not stored either, until
        :meth:`connection_dropped` says the connection is gone."""
        self._finish(now)
        if not self.image_transfer_enabled:
            return ActionResult.READ_WRITE_DENIED
        if self.image_transfer_status is _Status.IMAGE_TRANSFER_NOT_INITIATED:
            return ActionResult.OTHER_REASON
        count = self.block_count
        block_size = self.settings.block_size
        if not 0 <= number < count:
            return ActionResult.OTHER_REASON
        if number < count - 1:
            if len(value) != block_size:
                return ActionResult.OTHER_REASON
        elif not self.image_size - number * block_size <= len(value) <= block_size:
            return ActionResult.OTHER_REASON
        if self._busy():
            return ActionResult.TEMPORARY_FAILURE
        if self._dropping:
            return None  # the rest of the request that was dropped: never received
        faults = self._faults
        if faults.drop_connection_at_block == number and not self._dropped:
            self._dropped = self._dropping = True
            return None
        if self._refusals_left.get(number, 0) > 0:
            self._refusals_left[number] -= 1
            return ActionResult.TEMPORARY_FAILURE
        if faults.corrupt_block == number and not self._corrupted:
            self._corrupted = True
            value = bytes((value[0] ^ 0x01,)) + value[1:]
        self.blocks_received += 1
        if self._blocks.get(number) == value:
            return ActionResult.SUCCESS  # received twice: nothing changes
        self._blocks[number] = bytes(value)
        while self._first_missing in self._blocks:
            self._first_missing += 1
        self.image_transfer_status = _Status.IMAGE_TRANSFER_INITIATED
        return ActionResult.SUCCESS

    def connection_dropped(self) -> None:
        """The connection a ``drop_connection_at_block`` fault dropped is closed: blocks are
        received again (on the next connection)."""
        self._dropping = False

    def image_verify(self, now: float) -> ActionResult:
        """Method 3."""
        self._finish(now)
        if not self.image_transfer_enabled:
            return ActionResult.READ_WRITE_DENIED
        status = self.image_transfer_status
        if status is _Status.IMAGE_TRANSFER_NOT_INITIATED:
            return ActionResult.OTHER_REASON
        if status in (_Status.IMAGE_VERIFICATION_INITIATED, _Status.IMAGE_ACTIVATION_INITIATED):
            return ActionResult.TEMPORARY_FAILURE
        if status is _Status.IMAGE_VERIFICATION_FAILED:
            return ActionResult.OTHER_REASON  # known until a block or an initiate changes it
        if status is not _Status.IMAGE_TRANSFER_INITIATED:
            return ActionResult.SUCCESS  # verified already (and maybe activated)
        if not self.complete():
            self.image_transfer_status = _Status.IMAGE_VERIFICATION_FAILED
            return ActionResult.OTHER_REASON
        self._verification_passed = bool(
            self.settings.verifier(self.image_identifier, self.image())
        )
        self.image_transfer_status = _Status.IMAGE_VERIFICATION_INITIATED
        self._verifying_until = now + self.settings.verification_time
        self._finish(now)
        return self._verification_result()

    def _verification_result(self) -> ActionResult:
        status = self.image_transfer_status
        if status is _Status.IMAGE_VERIFICATION_INITIATED:
            return ActionResult.TEMPORARY_FAILURE
        if status is _Status.IMAGE_VERIFICATION_FAILED:
            return ActionResult.OTHER_REASON
        return ActionResult.SUCCESS

    def image_activate(self, now: float) -> ActionResult:
        """Method 4 (an image not yet verified is verified first)."""
        self._finish(now)
        if not self.image_transfer_enabled:
            return ActionResult.READ_WRITE_DENIED
        status = self.image_transfer_status
        if status is _Status.IMAGE_ACTIVATION_INITIATED:
            return ActionResult.TEMPORARY_FAILURE
        if status is _Status.IMAGE_ACTIVATION_SUCCESSFUL:
            return ActionResult.SUCCESS
        if status in (_Status.IMAGE_TRANSFER_INITIATED, _Status.IMAGE_VERIFICATION_INITIATED):
            verified = self.image_verify(now)
            if verified is not ActionResult.SUCCESS:
                return verified
        elif status is not _Status.IMAGE_VERIFICATION_SUCCESSFUL:
            return ActionResult.OTHER_REASON  # nothing to activate, or verification failed
        self.image_transfer_status = _Status.IMAGE_ACTIVATION_INITIATED
        self._activating_until = now + self.settings.activation_time
        self._finish(now)
        if self.image_transfer_status is _Status.IMAGE_ACTIVATION_INITIATED:
            return ActionResult.TEMPORARY_FAILURE
        return ActionResult.SUCCESS
