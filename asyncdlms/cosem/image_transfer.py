"""Image transfer (class 18): firmware upgrade.

The client reads ``image_block_size`` (attribute 2), calls ``image_transfer_initiate``
(method 1), sends every block with ``image_block_transfer`` (method 2), checks
``image_transferred_blocks_status`` / ``image_first_not_transferred_block_number`` for
blocks to resend, then calls ``image_verify`` (3) and ``image_activate`` (4), polling
``image_transfer_status`` (attribute 6) while the meter works. This module builds the
method parameters, splits an image into blocks and reads the attributes; it does no IO.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum

from ..types.values import BitString, DoubleLongUnsigned, Integer, OctetString, Structure
from ._values import as_bytes, as_int, as_sequence, enum_or_int
from .errors import CosemValueError

__all__ = [
    "ImageBlock",
    "ImageToActivateInfo",
    "ImageTransferMethod",
    "ImageTransferStatus",
    "image_activate_parameter",
    "image_block_transfer_parameter",
    "image_transfer_initiate_parameter",
    "image_transfer_status",
    "image_verify_parameter",
    "missing_blocks",
    "number_of_blocks",
    "parse_image_to_activate_info",
    "split_image",
]


class ImageTransferMethod(IntEnum):
    """The methods of Image transfer."""

    IMAGE_TRANSFER_INITIATE = 1
    IMAGE_BLOCK_TRANSFER = 2
    IMAGE_VERIFY = 3
    IMAGE_ACTIVATE = 4


class ImageTransferStatus(IntEnum):
    """Attribute 6 ``image_transfer_status``."""

    IMAGE_TRANSFER_NOT_INITIATED = 0
    IMAGE_TRANSFER_INITIATED = 1
    IMAGE_VERIFICATION_INITIATED = 2
    IMAGE_VERIFICATION_SUCCESSFUL = 3
    IMAGE_VERIFICATION_FAILED = 4
    IMAGE_ACTIVATION_INITIATED = 5
    IMAGE_ACTIVATION_SUCCESSFUL = 6
    IMAGE_ACTIVATION_FAILED = 7


def image_transfer_status(value: object) -> ImageTransferStatus | int:
    """Attribute 6 as :class:`ImageTransferStatus` (an unknown code stays an int)."""
    return enum_or_int(ImageTransferStatus, value, "image_transfer_status")


def image_transfer_initiate_parameter(image_identifier: bytes, image_size: int) -> Structure:
    """Method 1: ``structure {image_identifier octet-string, image_size
    double-long-unsigned}``."""
    if not isinstance(image_identifier, (bytes, bytearray)):
        raise CosemValueError(f"image_identifier must be bytes, got {image_identifier!r}")
    if not 0 <= image_size <= 0xFFFFFFFF:
        raise CosemValueError(f"image_size {image_size} is outside 0..2^32-1")
    return Structure((OctetString(bytes(image_identifier)), DoubleLongUnsigned(image_size)))


def image_block_transfer_parameter(image_block_number: int, image_block_value: bytes) -> Structure:
    """Method 2: ``structure {image_block_number double-long-unsigned, image_block_value
    octet-string}``."""
    if not 0 <= image_block_number <= 0xFFFFFFFF:
        raise CosemValueError(f"image_block_number {image_block_number} is out of range")
    return Structure((DoubleLongUnsigned(image_block_number), OctetString(image_block_value)))


def image_verify_parameter() -> Integer:
    """Method 3: ``integer(0)``."""
    return Integer(0)


def image_activate_parameter() -> Integer:
    """Method 4: ``integer(0)``."""
    return Integer(0)


def number_of_blocks(image_size: int, image_block_size: int) -> int:
    """How many blocks of ``image_block_size`` bytes an image of ``image_size`` needs."""
    if image_block_size <= 0:
        raise CosemValueError(f"image_block_size must be positive, got {image_block_size}")
    return -(-image_size // image_block_size)


@dataclass(frozen=True, slots=True)
class ImageBlock:
    """One block: its number (from 0) and bytes."""

    number: int
    value: bytes

    def to_parameter(self) -> Structure:
        """The ``image_block_transfer`` parameter of this block."""
        return image_block_transfer_parameter(self.number, self.value)


def split_image(
    image: bytes, image_block_size: int, *, padding: int | None = None
) -> Iterator[ImageBlock]:
    """The blocks of ``image``, numbered from 0, each ``image_block_size`` bytes except the
    last, which is shorter unless ``padding`` (a byte value) fills it up (some meters want
    every block full)."""
    count = number_of_blocks(len(image), image_block_size)
    for number in range(count):
        block = bytes(image[number * image_block_size : (number + 1) * image_block_size])
        if padding is not None and len(block) < image_block_size:
            block += bytes((padding,)) * (image_block_size - len(block))
        yield ImageBlock(number, block)


def missing_blocks(transferred_blocks_status: object, block_count: int) -> tuple[int, ...]:
    """The numbers of the blocks not yet transferred, from attribute 3
    ``image_transferred_blocks_status`` (a bit-string, bit n set when block n arrived)."""
    if not isinstance(transferred_blocks_status, BitString):
        raise CosemValueError(
            f"image_transferred_blocks_status must be a bit-string, got "
            f"{transferred_blocks_status!r}"
        )
    bits = transferred_blocks_status.to_bools()
    return tuple(n for n in range(block_count) if n >= len(bits) or not bits[n])


@dataclass(frozen=True, slots=True)
class ImageToActivateInfo:
    """One element of attribute 7 ``image_to_activate_info``."""

    image_to_activate_size: int
    image_to_activate_identification: bytes
    image_to_activate_signature: bytes


def parse_image_to_activate_info(value: object) -> tuple[ImageToActivateInfo, ...]:
    """Attribute 7: ``array of structure {size double-long-unsigned, identification
    octet-string, signature octet-string}``."""
    items = as_sequence(value, "image_to_activate_info")
    result = []
    for item in items:
        fields = as_sequence(item, "image_to_activate_info element", 3)
        result.append(
            ImageToActivateInfo(
                as_int(fields[0], "image_to_activate_size"),
                as_bytes(fields[1], "image_to_activate_identification"),
                as_bytes(fields[2], "image_to_activate_signature"),
            )
        )
    return tuple(result)
