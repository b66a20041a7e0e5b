"""Firmware upgrades with the Image transfer interface class (18): the sans-IO plan
(:mod:`.plan`), the asyncio flow behind :meth:`asyncdlms.Client.upgrade_firmware`
(:mod:`.flow`), fleet campaigns (:mod:`asyncdlms.fleet.firmware`) and typed errors."""

from __future__ import annotations

from .errors import (
    FirmwareActivationError,
    FirmwareError,
    FirmwareIdentifierMismatchError,
    FirmwareTimeoutError,
    FirmwareTransferError,
    FirmwareVerificationError,
    ImageTransferDisabledError,
)
from .plan import (
    IMAGE_ACTIVATION_SCHEDULE,
    IMAGE_TRANSFER,
    Activation,
    FirmwareProgress,
    FirmwareSettings,
    FirmwareUpgradeResult,
    ImagePlan,
    execution_time_value,
)

__all__ = [
    "IMAGE_ACTIVATION_SCHEDULE",
    "IMAGE_TRANSFER",
    "Activation",
    "FirmwareActivationError",
    "FirmwareError",
    "FirmwareIdentifierMismatchError",
    "FirmwareProgress",
    "FirmwareSettings",
    "FirmwareTimeoutError",
    "FirmwareTransferError",
    "FirmwareUpgradeResult",
    "FirmwareVerificationError",
    "ImagePlan",
    "ImageTransferDisabledError",
    "execution_time_value",
]
