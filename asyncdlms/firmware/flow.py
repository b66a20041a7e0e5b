"""The asyncio half of a firmware upgrade: :func:`upgrade_firmware` drives one meter through
the image transfer process (see :mod:`.plan`) over an open :class:`~asyncdlms.Client`.

It resumes by asking the meter: after ``image_transfer_initiate`` with the same identifier
and size, a meter keeps the blocks it already holds and ``image_transferred_blocks_status``
says which, so only the missing ones go. With a store it also records the progress
(:mod:`asyncdlms.store.firmware`), which a fleet campaign reads for each meter's outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..apdu.descriptors import CosemMethodDescriptor
from ..apdu.enums import ActionResult
from ..apdu.initiate import Conformance
from ..cosem.image_transfer import (
    ImageTransferMethod,
    ImageTransferStatus,
    image_activate_parameter,
    image_block_transfer_parameter,
    image_transfer_initiate_parameter,
    image_verify_parameter,
)
from ..errors import (
    ActionError,
    AssociationError,
    DataAccessError,
    DecipheringError,
    DecodeError,
    DlmsError,
    LinkError,
    RequestTimeoutError,
    ServiceError,
    UnexpectedApduError,
)
from ..store.firmware import FirmwareTransferRecord, FirmwareTransferStatus, FirmwareTransferStore
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
    IMAGE_TRANSFER_CLASS_ID,
    SINGLE_ACTION_SCHEDULE_CLASS_ID,
    Activation,
    FirmwareProgress,
    FirmwareSettings,
    FirmwareUpgradeResult,
    ImagePlan,
    backoff_delays,
    execution_time_value,
    image_identifier,
    load_image,
    pack,
)

if TYPE_CHECKING:
    from ..aio.client import Client

__all__ = ["upgrade_firmware"]

_ATTRIBUTE_BLOCK_SIZE = 2
_ATTRIBUTE_BLOCKS_STATUS = 3
_ATTRIBUTE_FIRST_NOT_TRANSFERRED = 4
_ATTRIBUTE_ENABLED = 5
_ATTRIBUTE_STATUS = 6
_EXECUTION_TIME = 4
_RECORD_EVERY = 2.0
"""Seconds between progress rows in a store during the transfer."""

_VERIFYING = frozenset(
    (ImageTransferStatus.IMAGE_TRANSFER_INITIATED, ImageTransferStatus.IMAGE_VERIFICATION_INITIATED)
)
_ACTIVATING = frozenset(
    (
        ImageTransferStatus.IMAGE_VERIFICATION_SUCCESSFUL,
        ImageTransferStatus.IMAGE_ACTIVATION_INITIATED,
    )
)
_GONE = (AssociationError, LinkError, RequestTimeoutError, ConnectionError)
"""What a meter that restarts (or a dropped association) looks like to the client."""


async def upgrade_firmware(
    client: Client,
    image: bytes | str | os.PathLike[str],
    identifier: bytes | str,
    *,
    progress: Callable[[FirmwareProgress], None] | None = None,
    verify: bool = True,
    activate: bool | dt.datetime = True,
    settings: FirmwareSettings | None = None,
    store: FirmwareTransferStore | None = None,
    meter: str | None = None,
) -> FirmwareUpgradeResult:
    """Transfer ``image`` to the meter as ``identifier``, verify and activate it, and
    confirm the new active firmware identifier (:meth:`asyncdlms.Client.upgrade_firmware`
    documents the arguments)."""
    upgrade = _Upgrade(
        client,
        load_image(image),
        image_identifier(identifier),
        progress,
        settings or FirmwareSettings(),
        store,
        meter or str(client.target),
    )
    try:
        return await upgrade.run(verify, activate)
    except Exception as exc:
        if store is not None and upgrade.plan is not None:
            # the upgrade's own error is the one to see, not a store's trouble recording it
            with contextlib.suppress(DlmsError, OSError):
                await upgrade.record(FirmwareTransferStatus.FAILED, f"{type(exc).__name__}: {exc}")
        raise


class _Upgrade:
    """One upgrade of one meter (the state :func:`upgrade_firmware` carries along)."""

    def __init__(
        self,
        client: Client,
        image: bytes,
        identifier: bytes,
        progress: Callable[[FirmwareProgress], None] | None,
        settings: FirmwareSettings,
        store: FirmwareTransferStore | None,
        meter: str,
    ) -> None:
        self.client = client
        self.image = image
        self.identifier = identifier
        self.on_progress = progress
        self.settings = settings
        self.store = store
        self.meter = meter
        self.plan: ImagePlan | None = None
        self.held: set[int] = set()
        self.blocks_sent = 0
        self.bytes_sent = 0
        self.started = 0.0
        self.transfer_seconds = 0.0
        self._recorded = 0.0

    # -- the process --------------------------------------------------------------------------

    async def run(self, verify: bool, activate: bool | dt.datetime) -> FirmwareUpgradeResult:
        loop = asyncio.get_running_loop()
        settings = self.settings
        before = await self.read_firmware_identifier()
        await self.ensure_enabled()
        block_size = await self.get(_ATTRIBUTE_BLOCK_SIZE)
        if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size <= 0:
            raise FirmwareError(
                f"{settings.instance}: image_block_size is {block_size!r}, not a positive "
                "integer; check the Image transfer instance (FirmwareSettings.instance)"
            )
        plan = self.plan = ImagePlan(self.image, self.identifier, int(block_size), settings.padding)
        try:
            await self.act(
                ImageTransferMethod.IMAGE_TRANSFER_INITIATE,
                image_transfer_initiate_parameter(self.identifier, plan.size),
            )
        except ActionError as exc:
            raise FirmwareTransferError(
                f"the meter refused image_transfer_initiate of {plan.size} bytes as "
                f"{self.identifier!r} ({exc}); check the image size against the meter's "
                "limit and the identifier it expects"
            ) from exc
        missing = await self.read_missing()
        self.held = set(range(plan.blocks)) - set(missing)
        resumed_from = len(self.held)
        self.started = loop.time()
        await self.record(FirmwareTransferStatus.TRANSFERRING)
        self.report("transfer")
        for _ in range(settings.completion_rounds + 1):
            if not missing:
                break
            await self.transfer(missing)
            missing = await self.read_missing()
            self.held = set(range(plan.blocks)) - set(missing)
        self.transfer_seconds = loop.time() - self.started
        if missing:
            raise FirmwareTransferError(
                f"the meter still misses {len(missing)} of {plan.blocks} blocks (first "
                f"{missing[0]}) after {settings.completion_rounds} rounds of resends; "
                "run the upgrade again to resume, or check the meter's image_block_size",
                tuple(missing),
            )
        await self.record(FirmwareTransferStatus.TRANSFERRED)
        verified = False
        if verify:
            self.report("verify")
            await self.verify()
            verified = True
            await self.record(FirmwareTransferStatus.VERIFIED)
        activation = Activation.NONE
        after: bytes | None = None
        if isinstance(activate, dt.datetime):
            await self.schedule_activation(activate)
            activation = Activation.SCHEDULED
        elif activate:
            self.report("activate")
            await self.activate()
            activation = Activation.NOW
            self.report("confirm")
            after = await self.confirm()
        if activation is not Activation.NOW:
            after = await self.read_firmware_identifier()
        await self.record(FirmwareTransferStatus.DONE)
        seconds = self.transfer_seconds
        return FirmwareUpgradeResult(
            identifier=self.identifier,
            image_size=plan.size,
            block_size=plan.block_size,
            blocks=plan.blocks,
            blocks_sent=self.blocks_sent,
            resumed_from=resumed_from,
            bytes_sent=self.bytes_sent,
            seconds=seconds,
            rate=self.bytes_sent / seconds if seconds > 0 else 0.0,
            verified=verified,
            activation=activation,
            firmware_before=before,
            firmware_after=after,
        )

    async def ensure_enabled(self) -> None:
        where = f"{self.settings.instance}"
        try:
            enabled = await self.get(_ATTRIBUTE_ENABLED)
        except DataAccessError as exc:
            raise FirmwareError(
                f"{where}: cannot read image_transfer_enabled ({exc}); associate as a client "
                "that may upgrade the firmware (often the management client with HLS) and "
                "check the Image transfer instance (FirmwareSettings.instance)"
            ) from exc
        if enabled is True:
            return
        if not self.settings.enable_transfer:
            raise ImageTransferDisabledError(
                f"{where}: image_transfer_enabled is FALSE; allow the client to set it "
                "(FirmwareSettings(enable_transfer=True)) or enable it on the meter"
            )
        try:
            await self.client.set(
                IMAGE_TRANSFER_CLASS_ID, self.settings.instance, _ATTRIBUTE_ENABLED, True
            )
        except DataAccessError as exc:
            raise ImageTransferDisabledError(
                f"{where}: image_transfer_enabled is FALSE and setting it was refused "
                f"({exc}); associate as a client that may write it (e.g. the management "
                "client) or enable it on the meter"
            ) from exc

    async def read_missing(self) -> list[int]:
        """The blocks the meter does not hold, from attributes 3 and 4."""
        assert self.plan is not None
        status, first = await self.client.get_many(
            [
                (IMAGE_TRANSFER_CLASS_ID, self.settings.instance, _ATTRIBUTE_BLOCKS_STATUS),
                (IMAGE_TRANSFER_CLASS_ID, self.settings.instance, _ATTRIBUTE_FIRST_NOT_TRANSFERRED),
            ]
        )
        if isinstance(first, (Exception, bool)) or not isinstance(first, int):
            if isinstance(status, Exception):
                raise status
            first = 0
        return self.plan.missing(None if isinstance(status, Exception) else status, first)

    async def transfer(self, numbers: Sequence[int]) -> None:
        """Send ``numbers``: in ACTION with-lists where the meter allows, one by one
        otherwise; blocks refused are sent again up to ``block_attempts`` times."""
        pending = list(numbers)
        refusals: dict[int, int] = {}
        while pending:
            retry: list[int] = []
            for group in pack(pending, self._fits, self._per_request()):
                outcomes = await self.send(group)
                for number, outcome in zip(group, outcomes, strict=True):
                    if outcome is None:
                        self.held.add(number)
                        continue
                    refusals[number] = refusals.get(number, 0) + 1
                    if refusals[number] >= self.settings.block_attempts:
                        raise FirmwareTransferError(
                            f"the meter refused image block {number} "
                            f"{refusals[number]} times ({outcome}); check the image size "
                            "against the meter's limits, or run again later to resume",
                            (number,),
                        )
                    retry.append(number)
                self.report("transfer")
                await self.record_now_and_then()
            if retry:
                await asyncio.sleep(self.settings.first_poll)
            pending = retry

    def _per_request(self) -> int:
        if not self.pipelined:
            return 1
        return self.settings.max_blocks_per_request

    @property
    def pipelined(self) -> bool:
        client = self.client
        negotiated = client.session.negotiated
        return (
            self.settings.pipeline
            and not client.short_name_referencing
            and negotiated is not None
            and bool(negotiated.conformance & Conformance.MULTIPLE_REFERENCES)
        )

    def _fits(self, numbers: Sequence[int]) -> bool:
        return self.client.session.action_with_list_fits(
            [(self._block_method, self._parameter(n)) for n in numbers]
        )

    @property
    def _block_method(self) -> CosemMethodDescriptor:
        return CosemMethodDescriptor(
            IMAGE_TRANSFER_CLASS_ID,
            self.settings.instance,
            ImageTransferMethod.IMAGE_BLOCK_TRANSFER,
        )

    def _parameter(self, number: int) -> Any:
        assert self.plan is not None
        return image_block_transfer_parameter(number, self.plan.block(number))

    async def send(self, group: Sequence[int]) -> list[ActionError | None]:
        """One request for ``group``: None per block accepted, the error per block refused
        (any action-result but success: the caller sends it again)."""
        assert self.plan is not None
        outcomes: list[ActionError | None]
        if len(group) == 1 or not self.pipelined:
            # (a group packed before a with-list was refused goes one by one too)
            outcomes = [await self.send_one(n) for n in group]
        else:
            items = [(IMAGE_TRANSFER_CLASS_ID, self.settings.instance,
                      int(ImageTransferMethod.IMAGE_BLOCK_TRANSFER), self._parameter(n))
                     for n in group]  # fmt: skip
            try:
                results = await self.client.action_many(items)
            except (ServiceError, UnexpectedApduError, ActionError, DecodeError) as exc:
                # a meter that grants multiple-references but refuses ACTION with-list (a
                # service error, one action-response-normal for the whole list, or an answer
                # that does not parse: gurux-dlms based meters answer hardware-fault, or for
                # a long list two action-responses run together): one block per request
                # from now on (blocks are idempotent). A deciphering failure is no refusal.
                if isinstance(exc, DecipheringError):
                    raise
                self.settings = dataclasses.replace(self.settings, pipeline=False)
                return [await self.send_one(n) for n in group]
            for result in results:
                if isinstance(result, Exception) and not isinstance(result, ActionError):
                    raise result
            outcomes = [r if isinstance(r, ActionError) else None for r in results]
            self.count(group)
        return outcomes

    async def send_one(self, number: int) -> ActionError | None:
        outcome: ActionError | None = None
        try:
            await self.act(ImageTransferMethod.IMAGE_BLOCK_TRANSFER, self._parameter(number))
        except ActionError as exc:
            outcome = exc
        self.count([number])
        return outcome

    def count(self, group: Sequence[int]) -> None:
        assert self.plan is not None
        self.blocks_sent += len(group)
        self.bytes_sent += sum(len(self.plan.block(n)) for n in group)

    async def verify(self) -> None:
        try:
            await self.act(ImageTransferMethod.IMAGE_VERIFY, image_verify_parameter())
            return
        except ActionError as exc:
            if not _temporary(exc):
                now = await self.status()
                raise FirmwareVerificationError(
                    f"image_verify failed ({exc}; image_transfer_status {_name(now)}): the "
                    "image is corrupt, incomplete or not for this meter; check the file and "
                    "the identifier"
                ) from exc
        settled = await self.poll(_VERIFYING, self.settings.verification_timeout, "verification")
        if settled != ImageTransferStatus.IMAGE_VERIFICATION_SUCCESSFUL:
            raise FirmwareVerificationError(
                f"image verification failed (image_transfer_status {_name(settled)}): the "
                "image is corrupt, incomplete or not for this meter; check the file and the "
                "identifier"
            )

    async def activate(self) -> None:
        try:
            await self.act(ImageTransferMethod.IMAGE_ACTIVATE, image_activate_parameter())
            return
        except ActionError as exc:
            if not _temporary(exc):
                raise FirmwareActivationError(
                    f"image_activate failed ({exc}); verify the image first, and check that "
                    "the meter accepts this image"
                ) from exc
        except _GONE:
            return  # the meter restarts into the new image: confirm() associates again
        status = await self.poll(
            _ACTIVATING,
            self.settings.activation_timeout,
            "activation",
        )
        if status not in (ImageTransferStatus.IMAGE_ACTIVATION_SUCCESSFUL, None):
            raise FirmwareActivationError(
                f"image activation failed (image_transfer_status {_name(status)}); the meter "
                "keeps its old firmware"
            )

    async def poll(self, busy: frozenset[int], limit: float, what: str) -> int | None:
        """Read image_transfer_status with back-off while it is one of ``busy`` (the step
        under way, or the one before while the meter has not begun), at most ``limit``
        seconds; ``None`` when the meter went away during an activation (it restarts)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        for delay in backoff_delays(self.settings.first_poll, self.settings.max_poll):
            if loop.time() + delay > deadline:
                raise FirmwareTimeoutError(
                    f"the meter was still busy with the image {what} after {limit:g} s; raise "
                    f"FirmwareSettings.{what}_timeout for this meter"
                )
            await asyncio.sleep(delay)
            try:
                status = await self.status()
            except _GONE:
                if busy is _ACTIVATING:
                    return None
                raise
            if status not in busy:
                return status
        raise AssertionError("unreachable")  # pragma: no cover

    async def status(self) -> int:
        value = await self.get(_ATTRIBUTE_STATUS)
        return int(value)

    async def schedule_activation(self, when: dt.datetime) -> None:
        try:
            await self.client.set(
                SINGLE_ACTION_SCHEDULE_CLASS_ID,
                self.settings.activation_schedule,
                _EXECUTION_TIME,
                execution_time_value(when),
            )
        except DataAccessError as exc:
            raise FirmwareActivationError(
                f"setting execution_time of the Single action schedule "
                f"{self.settings.activation_schedule} to {when.isoformat()} failed ({exc}); "
                "check FirmwareSettings.activation_schedule and the client's write rights"
            ) from exc

    async def confirm(self) -> bytes | None:
        """The active firmware identifier after an activation, reassociating when the
        meter dropped the association; a mismatch raises."""
        settings = self.settings
        found: bytes | None = None
        for attempt in range(settings.reconnect_attempts + 1):
            try:
                if attempt or not self.client.session.associated:
                    await self.client.reassociate()  # a no-op while the association holds
                found = await self.read_firmware_identifier(strict=True)
                break
            except _GONE:
                if attempt == settings.reconnect_attempts:
                    raise
                await asyncio.sleep(settings.reconnect_delay)
        if found != self.identifier:
            raise FirmwareIdentifierMismatchError(
                f"after activation the active firmware identifier "
                f"({settings.firmware_identifier}) is {found!r}, not {self.identifier!r}: the "
                "meter did not take the image (or reports it elsewhere: set "
                "FirmwareSettings.firmware_identifier)",
                self.identifier,
                found,
            )
        return found

    async def read_firmware_identifier(self, *, strict: bool = False) -> bytes | None:
        settings = self.settings
        try:
            value = await self.client.get(
                settings.firmware_identifier_class, settings.firmware_identifier, 2
            )
        except DataAccessError:
            if strict:
                raise
            return None
        if isinstance(value, str):
            return value.encode("utf-8")
        return bytes(value) if isinstance(value, (bytes, bytearray)) else None

    # -- requests -----------------------------------------------------------------------------

    async def get(self, attribute: int) -> Any:
        return await self.client.get(IMAGE_TRANSFER_CLASS_ID, self.settings.instance, attribute)

    async def act(self, method: ImageTransferMethod, parameter: Any) -> Any:
        return await self.client.action(
            IMAGE_TRANSFER_CLASS_ID, self.settings.instance, int(method), parameter
        )

    # -- progress -----------------------------------------------------------------------------

    def report(self, phase: str) -> None:
        if self.on_progress is None or self.plan is None:
            return
        seconds = asyncio.get_running_loop().time() - self.started
        self.on_progress(
            FirmwareProgress(
                identifier=self.identifier,
                phase=phase,
                blocks=self.plan.blocks,
                blocks_done=len(self.held),
                blocks_sent=self.blocks_sent,
                bytes_sent=self.bytes_sent,
                seconds=seconds,
            )
        )

    async def record_now_and_then(self) -> None:
        if self.store is None:
            return
        now = asyncio.get_running_loop().time()
        if now - self._recorded >= _RECORD_EVERY:
            await self.record(FirmwareTransferStatus.TRANSFERRING)

    async def record(self, status: FirmwareTransferStatus, message: str = "") -> None:
        if self.store is None or self.plan is None:
            return
        self._recorded = asyncio.get_running_loop().time()
        await self.store.record_firmware_transfer(
            FirmwareTransferRecord(
                meter=self.meter,
                identifier=self.identifier.hex(),
                image_sha256=self.plan.sha256,
                block_size=self.plan.block_size,
                blocks=self.plan.blocks,
                blocks_confirmed=len(self.held),
                status=status,
                updated_at=dt.datetime.now(dt.UTC),
                message=message[:500],
            )
        )


def _temporary(error: ActionError) -> bool:
    return bool(error.result == ActionResult.TEMPORARY_FAILURE)


def _name(status: int | None) -> str:
    if status is None:
        return "unknown"
    try:
        return f"{int(status)} ({ImageTransferStatus(status).name.lower().replace('_', '-')})"
    except ValueError:
        return str(status)
