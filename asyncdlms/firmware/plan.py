"""The sans-IO half of a firmware upgrade: settings, progress and result values, which blocks
to send and how to pack them, the verification back-off and the execution time of a
scheduled activation. Nothing here awaits or touches a meter (:mod:`.flow` does).

The process is the Green Book's image transfer process on the Blue Book's Image transfer
interface class (class 18, version 0):

1. ``image_transfer_enabled`` (attribute 5) must be TRUE; ``image_block_size`` (2) is read;
2. ``image_transfer_initiate`` (method 1) with the image identifier and size; a meter that
   already holds part of that same image keeps it, so ``image_transferred_blocks_status``
   (3) and ``image_first_not_transferred_block_number`` (4) tell which blocks are missing
   (this is the resume);
3. ``image_block_transfer`` (method 2) for each missing block;
4. attribute 3 read again, missing blocks sent again;
5. ``image_verify`` (method 3); a meter that needs time answers temporary-failure and
   ``image_transfer_status`` (6) is polled until verification successful (3) or failed (4);
6. ``image_activate`` (method 4) the same way (5 → 6 or 7), or the execution time of the
   image activation Single action schedule (class 22, 0.0.15.0.2.255, attribute 4) set;
7. the active firmware identifier read to confirm.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from ..cosem.image_transfer import missing_blocks, number_of_blocks
from ..obis import Obis
from ..types.clock import Date, Time
from ..types.values import Array, BitString, OctetString, Structure

__all__ = [
    "IMAGE_ACTIVATION_SCHEDULE",
    "IMAGE_TRANSFER",
    "IMAGE_TRANSFER_CLASS_ID",
    "SINGLE_ACTION_SCHEDULE_CLASS_ID",
    "Activation",
    "FirmwareProgress",
    "FirmwareSettings",
    "FirmwareUpgradeResult",
    "ImagePlan",
    "backoff_delays",
    "execution_time_value",
    "image_identifier",
    "load_image",
    "pack",
]

IMAGE_TRANSFER_CLASS_ID = 18
SINGLE_ACTION_SCHEDULE_CLASS_ID = 22
IMAGE_TRANSFER = Obis("0.0.44.0.0.255")
"""The Image transfer object of the management logical device."""
IMAGE_ACTIVATION_SCHEDULE = Obis("0.0.15.0.2.255")
"""The Single action schedule that activates a transferred image at a set time."""
ACTIVE_FIRMWARE_IDENTIFIER = Obis("1.0.0.2.0.255")
"""Data (class 1) holding the active firmware identifier of an electricity meter."""

T = TypeVar("T")


class Activation(enum.Enum):
    """How the image was activated: at once, by the Single action schedule, or not."""

    NOW = "now"
    SCHEDULED = "scheduled"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class FirmwareSettings:
    """What an upgrade may do and how long it may wait (every wait bounded).

    - ``instance``: the Image transfer object; ``firmware_identifier``: the object whose
      attribute 2 is the active firmware identifier (class ``firmware_identifier_class``);
      ``activation_schedule``: the Single action schedule for a scheduled activation;
    - ``enable_transfer``: SET ``image_transfer_enabled`` to TRUE when it is FALSE (else a
      :class:`~.errors.ImageTransferDisabledError`);
    - ``pipeline``: several ``image_block_transfer`` invocations in one ACTION with-list
      when the association granted multiple-references (as many as fit the negotiated
      PDU, at most ``max_blocks_per_request``);
    - ``block_attempts``: sends of one block the meter refuses before giving up;
      ``completion_rounds``: re-reads of attribute 3 (and resends) after the transfer;
    - ``first_poll`` doubling up to ``max_poll`` seconds between reads of
      ``image_transfer_status`` while the meter verifies or activates, for at most
      ``verification_timeout`` / ``activation_timeout`` seconds;
    - ``reconnect_attempts``: associations tried after an activation dropped the old one
      (the meter restarts), ``reconnect_delay`` seconds apart;
    - ``padding``: a byte value filling the last block up to the block size (meters that
      want every block full), ``None`` to send it short.
    """

    instance: Obis = IMAGE_TRANSFER
    firmware_identifier: Obis = ACTIVE_FIRMWARE_IDENTIFIER
    firmware_identifier_class: int = 1
    activation_schedule: Obis = IMAGE_ACTIVATION_SCHEDULE
    enable_transfer: bool = True
    pipeline: bool = True
    max_blocks_per_request: int = 32
    block_attempts: int = 3
    completion_rounds: int = 3
    first_poll: float = 0.5
    max_poll: float = 8.0
    verification_timeout: float = 300.0
    activation_timeout: float = 300.0
    reconnect_attempts: int = 5
    reconnect_delay: float = 1.0
    padding: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "instance", Obis(self.instance))
        object.__setattr__(self, "firmware_identifier", Obis(self.firmware_identifier))
        object.__setattr__(self, "activation_schedule", Obis(self.activation_schedule))
        if self.max_blocks_per_request < 1 or self.block_attempts < 1:
            raise ValueError("max_blocks_per_request and block_attempts must be at least 1")
        if self.first_poll <= 0 or self.max_poll < self.first_poll:
            raise ValueError("first_poll must be positive and max_poll not below it")
        if self.verification_timeout <= 0 or self.activation_timeout <= 0:
            raise ValueError("verification_timeout and activation_timeout must be positive")
        if self.padding is not None and not 0 <= self.padding <= 255:
            raise ValueError(f"padding is a byte value, not {self.padding}")


@dataclass(frozen=True, slots=True)
class FirmwareProgress:
    """Where an upgrade is, given to the ``progress`` callback after every request.

    ``phase``: ``"transfer"``, ``"verify"``, ``"activate"`` or ``"confirm"``;
    ``blocks_done``: blocks the meter holds (resumed ones included); ``blocks_sent`` and
    ``bytes_sent``: what this call sent; ``seconds`` since the transfer began."""

    identifier: bytes
    phase: str
    blocks: int
    blocks_done: int
    blocks_sent: int
    bytes_sent: int
    seconds: float

    @property
    def fraction(self) -> float:
        """Blocks done over blocks (1.0 for an empty image)."""
        return 1.0 if self.blocks == 0 else self.blocks_done / self.blocks

    @property
    def rate(self) -> float:
        """Bytes sent per second so far (0 before the first second's worth)."""
        return self.bytes_sent / self.seconds if self.seconds > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the current block rate (None before a block went)."""
        if self.blocks_sent == 0 or self.seconds <= 0:
            return None
        return (self.blocks - self.blocks_done) * self.seconds / self.blocks_sent


@dataclass(frozen=True, slots=True)
class FirmwareUpgradeResult:
    """What an upgrade did. ``resumed_from``: blocks the meter already held when this call
    began (0 for a fresh transfer); ``rate``: bytes sent per second over the transfer."""

    identifier: bytes
    image_size: int
    block_size: int
    blocks: int
    blocks_sent: int
    resumed_from: int
    bytes_sent: int
    seconds: float
    rate: float
    verified: bool
    activation: Activation
    firmware_before: bytes | None
    firmware_after: bytes | None


def image_identifier(identifier: bytes | str) -> bytes:
    """The image identifier as the octet-string sent (a ``str`` in UTF-8)."""
    if isinstance(identifier, str):
        identifier = identifier.encode("utf-8")
    if not identifier:
        raise ValueError("the image identifier must not be empty")
    return bytes(identifier)


def load_image(image: bytes | bytearray | memoryview | str | os.PathLike[str]) -> bytes:
    """The image bytes: given, or read from a file path."""
    if isinstance(image, (bytes, bytearray, memoryview)):
        data = bytes(image)
    else:
        try:
            data = Path(image).read_bytes()
        except OSError as exc:
            raise ValueError(f"{image}: cannot read the image: {exc.strerror or exc}") from None
    if not data:
        raise ValueError("the image is empty")
    if len(data) > 0xFFFFFFFF:
        raise ValueError("an image is at most 2^32 - 1 bytes (image_size)")
    return data


@dataclass(frozen=True, slots=True)
class ImagePlan:
    """One image cut in blocks of the meter's ``image_block_size``."""

    image: bytes
    identifier: bytes
    block_size: int
    padding: int | None = None

    @property
    def size(self) -> int:
        return len(self.image)

    @property
    def blocks(self) -> int:
        return number_of_blocks(len(self.image), self.block_size)

    @property
    def sha256(self) -> str:
        """The image's SHA-256 in hex (how a store recognises the same image)."""
        return hashlib.sha256(self.image).hexdigest()

    def block(self, number: int) -> bytes:
        """Block ``number`` (from 0), the last one padded when ``padding`` is set."""
        if not 0 <= number < self.blocks:
            raise IndexError(f"block {number} is outside 0..{self.blocks - 1}")
        value = self.image[number * self.block_size : (number + 1) * self.block_size]
        if self.padding is not None and len(value) < self.block_size:
            value += bytes((self.padding,)) * (self.block_size - len(value))
        return value

    def missing(self, transferred_blocks_status: object, first_not_transferred: int) -> list[int]:
        """The blocks to send: those whose bit is clear in attribute 3; when the meter gives
        no usable bit-string, every block from attribute 4 on."""
        if isinstance(transferred_blocks_status, BitString):
            return list(missing_blocks(transferred_blocks_status, self.blocks))
        return list(range(max(0, first_not_transferred), self.blocks))


def pack(
    numbers: Sequence[int], fits: Callable[[Sequence[int]], bool], limit: int
) -> Iterator[list[int]]:
    """``numbers`` in consecutive groups of at most ``limit``, each as long as ``fits`` says
    one request can carry (a group of one always goes: the session splits it in pblocks)."""
    group: list[int] = []
    for number in numbers:
        if group and (len(group) >= limit or not fits([*group, number])):
            yield group
            group = []
        group.append(number)
    if group:
        yield group


def backoff_delays(first: float, maximum: float) -> Iterator[float]:
    """``first``, doubled every time, never above ``maximum`` (endless)."""
    delay = first
    while True:
        yield delay
        delay = min(delay * 2, maximum)


def execution_time_value(when: dt.datetime) -> Array:
    """Single action schedule attribute 4 ``execution_time`` for one moment: ``array of
    structure {time octet-string(4), date octet-string(5)}``. An aware ``when`` is
    converted to UTC (the meter's clock zone is not known here: give a naive local time
    for a meter on local time); seconds are kept, hundredths not specified."""
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC).replace(tzinfo=None)
    time = Time(hour=when.hour, minute=when.minute, second=when.second)
    date = Date(
        year=when.year, month=when.month, day_of_month=when.day, day_of_week=when.isoweekday()
    )
    return Array((Structure((OctetString(time.to_bytes()), OctetString(date.to_bytes()))),))
