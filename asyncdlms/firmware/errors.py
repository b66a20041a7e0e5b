"""The typed errors of a firmware upgrade; each message says what to change."""

from __future__ import annotations

from ..errors import ApplicationError, RequestTimeoutError

__all__ = [
    "FirmwareActivationError",
    "FirmwareError",
    "FirmwareIdentifierMismatchError",
    "FirmwareTimeoutError",
    "FirmwareTransferError",
    "FirmwareVerificationError",
    "ImageTransferDisabledError",
]


class FirmwareError(ApplicationError):
    """A firmware upgrade (Image transfer, class 18) could not be completed."""


class ImageTransferDisabledError(FirmwareError):
    """``image_transfer_enabled`` (attribute 5) is FALSE and may not, or could not, be set."""


class FirmwareTransferError(FirmwareError):
    """Image blocks the meter kept refusing or never confirmed in its
    ``image_transferred_blocks_status``."""

    def __init__(self, message: str, missing: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.missing = missing


class FirmwareVerificationError(FirmwareError):
    """The meter's ``image_verify`` failed (``image_transfer_status`` 4, verification
    failed): the image is corrupt, incomplete or not meant for this meter."""


class FirmwareActivationError(FirmwareError):
    """The meter's ``image_activate`` failed (``image_transfer_status`` 7), or the scheduled
    activation could not be set."""


class FirmwareIdentifierMismatchError(FirmwareError):
    """After activation the meter's active firmware identifier is not the image's."""

    def __init__(self, message: str, expected: bytes, found: bytes | None) -> None:
        super().__init__(message)
        self.expected = expected
        self.found = found


class FirmwareTimeoutError(FirmwareError, RequestTimeoutError):
    """The meter stayed in verification or activation longer than the settings allow."""
