"""Image transfer (class 18): firmware upgrade.

The client reads ``image_block_size`` (attribute 2), calls ``image_transfer_initiate``
(method 1), sends every block with ``image_block_transfer`` (method 2), checks
``image_transferred_blocks_status`` / ``image_first_not_transferred_block_number`` for
blocks to resend, then calls ``image_verify`` (3) and ``image_activate`` (4), polling
``image_transfer_status`` (attribute 6) while the meter works. This module builds the
method parameters, splits an image into blocks and reads the attributes; it does no IO.

:func:`firmware_image` builds a self-checking image (a small header with the identifier, the
payload length and a SHA-256 digest, then the payload) that the simulator's default verifier
(:func:`verify_firmware_image`) accepts; any flipped byte makes its verification fail.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum

from ..types.values import BitString, DoubleLongUnsigned, Integer, OctetString, Structure
from ._values import as_bytes, as_int, as_sequence, enum_or_int
from .errors import CosemValueError

__all__ = [
    "FIRMWARE_IMAGE_MAGIC",
    "FirmwareImage",
    "ImageBlock",
    "ImageToActivateInfo",
    "ImageTransferMethod",
    "ImageTransferStatus",
    "firmware_image",
    "image_activate_parameter",
    "image_block_transfer_parameter",
    "image_transfer_initiate_parameter",
    "image_transfer_status",
    "image_verify_parameter",
    "missing_blocks",
    "number_of_blocks",
    "parse_firmware_image",
    "parse_image_to_activate_info",
    "split_image",
    "verify_firmware_image",
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


# ---------------------------------------------------------------------------------------------
# A self-checking image format (the simulator's, for tests and demonstrations)

FIRMWARE_IMAGE_MAGIC = b"ADFW"
"""The first four bytes of a :func:`firmware_image`."""

_DIGEST_SIZE = 32


@dataclass(frozen=True, slots=True)
class FirmwareImage:
    """A parsed :func:`firmware_image`: its identifier, payload and stored digest."""

    identifier: bytes
    payload: bytes
    digest: bytes

    def intact(self) -> bool:
        """True when the stored digest is the SHA-256 of the header and payload."""
        return hmac.compare_digest(self.digest, _firmware_digest(self.identifier, self.payload))


def _firmware_header(identifier: bytes, payload_length: int) -> bytes:
    return (
        FIRMWARE_IMAGE_MAGIC
        + bytes((len(identifier),))
        + identifier
        + payload_length.to_bytes(4, "big")
    )


def _firmware_digest(identifier: bytes, payload: bytes) -> bytes:
    return hashlib.sha256(_firmware_header(identifier, len(payload)) + payload).digest()


def firmware_image(identifier: bytes, payload: bytes) -> bytes:
    """A self-checking firmware image: ``magic "ADFW" | identifier length (1 byte) |
    identifier | payload length (4 bytes, big-endian) | SHA-256 (32 bytes) of everything
    before it and of the payload | payload``.

    The simulator's default verifier (:func:`verify_firmware_image`) accepts it when it is
    intact and its identifier is the one ``image_transfer_initiate`` announced; one flipped
    byte anywhere makes the verification fail.
    """
    identifier = bytes(identifier)
    if not 1 <= len(identifier) <= 255:
        raise CosemValueError(f"a firmware identifier is 1..255 bytes, not {len(identifier)}")
    if len(payload) > 0xFFFFFFFF:
        raise CosemValueError("a firmware payload is at most 2^32-1 bytes")
    header = _firmware_header(identifier, len(payload))
    return header + _firmware_digest(identifier, bytes(payload)) + bytes(payload)


def parse_firmware_image(image: bytes) -> FirmwareImage:
    """The parts of a :func:`firmware_image` (the digest is not checked: see
    :meth:`FirmwareImage.intact`); :class:`CosemValueError` when it is not one."""
    if len(image) < 6 or image[:4] != FIRMWARE_IMAGE_MAGIC:
        raise CosemValueError("not a firmware image: the magic 'ADFW' is missing")
    length = image[4]
    end = 5 + length
    if len(image) < end + 4 + _DIGEST_SIZE:
        raise CosemValueError("not a firmware image: the header is truncated")
    identifier = bytes(image[5:end])
    payload_length = int.from_bytes(image[end : end + 4], "big")
    digest = bytes(image[end + 4 : end + 4 + _DIGEST_SIZE])
    payload = bytes(image[end + 4 + _DIGEST_SIZE :])
    if len(payload) != payload_length:
        raise CosemValueError(
            f"not a firmware image: {len(payload)} payload bytes where the header says "
            f"{payload_length}"
        )
    return FirmwareImage(identifier, payload, digest)


def verify_firmware_image(identifier: bytes, image: bytes) -> bool:
    """True when ``image`` is an intact :func:`firmware_image` whose identifier is
    ``identifier`` (the one ``image_transfer_initiate`` announced): the simulator's default
    image verifier."""
    try:
        parsed = parse_firmware_image(image)
    except CosemValueError:
        return False
    return parsed.identifier == bytes(identifier) and parsed.intact()
