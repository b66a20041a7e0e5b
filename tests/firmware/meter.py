"""A simulated meter whose Image transfer object follows the Blue Book (class 18) where the
simulator of this branch takes shortcuts, for the client flow's tests.

The simulator's own object restarts a transfer on every ``image_transfer_initiate`` and
verifies and activates at once. This one (installed in a real :class:`Simulator`, served
over TCP) keeps the blocks of a transfer when it is initiated again with the same identifier
and size (what makes a resume possible), answers ``image_verify`` and ``image_activate``
with temporary-failure while it works (``verification_time`` / ``activation_time`` seconds
of the simulator's clock, ``image_transfer_status`` 2 then 3 or 4, 5 then 6), checks a
self-checking image (:func:`firmware_image`: payload and its SHA-256), refuses listed blocks
a number of times, and has the image activation Single action schedule 0.0.15.0.2.255 whose
``execution_time`` (attribute 4) it keeps; it serves the active firmware identifier
1.0.0.2.0.255 itself. The faithful simulator of issue 18 (fw-sim
branch) replaces this file once merged.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from typing import Any

from asyncdlms.apdu.enums import ActionResult, DataAccessResult
from asyncdlms.obis import Obis
from asyncdlms.server import Simulator
from asyncdlms.server.model import AttributeDef, MethodDef, ObjectDef, ObjectModel
from asyncdlms.session.object_access import AttributeAccess
from asyncdlms.types.values import (
    Array,
    BitString,
    DoubleLongUnsigned,
    Enum,
    OctetString,
    Structure,
)

IMAGE_TRANSFER = Obis("0.0.44.0.0.255")
SCHEDULE = Obis("0.0.15.0.2.255")
FIRMWARE_IDENTIFIER = Obis("1.0.0.2.0.255")
SCRIPT_TABLE = Obis("0.0.10.0.107.255")
DIGEST = 32


def firmware_image(payload: bytes) -> bytes:
    """A self-checking image: the payload, then its SHA-256."""
    return payload + hashlib.sha256(payload).digest()


def image_checks(image: bytes) -> bool:
    return len(image) > DIGEST and hashlib.sha256(image[:-DIGEST]).digest() == image[-DIGEST:]


@dataclass
class MeterImage:
    """One meter's class 18 state (lives on the meter, across associations)."""

    identifier: bytes = b""
    size: int = 0
    blocks: dict[int, bytes] = field(default_factory=dict)
    status: int = 0
    busy_until: float = 0.0
    result_after: int = 0
    enabled: bool = True
    refusals: dict[int, int] = field(default_factory=dict)
    execution_time: Any = field(default_factory=Array)
    status_reads: int = 0
    active_firmware: bytes = b"SIM-1.0.0"
    received: list[int] = field(default_factory=list)
    """Every block number received, in order (what the test asserts on)."""


class FaithfulImageTransfer:
    """The class 18 object and the Single action schedule of every meter of one simulator."""

    def __init__(
        self,
        simulator: Simulator,
        *,
        block_size: int = 128,
        verification_time: float = 0.0,
        activation_time: float = 0.0,
        restart_on_activation: bool = False,
    ) -> None:
        self.simulator = simulator
        self.restart_on_activation = restart_on_activation
        self.block_size = block_size
        self.verification_time = verification_time
        self.activation_time = activation_time
        self.meters: dict[int, MeterImage] = {}

    def meter(self, index: int) -> MeterImage:
        return self.meters.setdefault(index, MeterImage())

    def _now(self) -> float:
        return self.simulator.time()

    def _settle(self, image: MeterImage) -> None:
        if image.status in (2, 5) and self._now() >= image.busy_until:
            image.status = image.result_after
            if image.status == 6:
                self._activated(image)

    def _activated(self, image: MeterImage) -> None:
        image.active_firmware = image.identifier
        if self.restart_on_activation:  # the meter restarts into the new image
            asyncio.get_running_loop().call_soon(self._drop_connections)

    def _drop_connections(self) -> None:
        for server in self.simulator.servers:
            for driver in list(server._drivers):
                driver.close()

    @property
    def _count(self) -> Any:
        return lambda image: -(-image.size // self.block_size)

    # -- attributes ------------------------------------------------------------------------

    def blocks_status(self, state: Any, context: Any, selection: Any) -> Any:
        image = self.meter(state.index)
        count = self._count(image)
        return BitString.from_bools([n in image.blocks for n in range(count)])

    def first_missing(self, state: Any, context: Any, selection: Any) -> Any:
        image = self.meter(state.index)
        count = self._count(image)
        return DoubleLongUnsigned(next((n for n in range(count) if n not in image.blocks), count))

    def enabled(self, state: Any, context: Any, selection: Any) -> Any:
        return self.meter(state.index).enabled

    def set_enabled(self, state: Any, context: Any, value: Any) -> DataAccessResult | None:
        if not isinstance(value, bool):
            return DataAccessResult.TYPE_UNMATCHED
        self.meter(state.index).enabled = value
        return None

    def status(self, state: Any, context: Any, selection: Any) -> Any:
        image = self.meter(state.index)
        image.status_reads += 1
        self._settle(image)
        return Enum(image.status)

    def to_activate(self, state: Any, context: Any, selection: Any) -> Any:
        image = self.meter(state.index)
        self._settle(image)
        if image.status < 3 or image.status in (4, 7):
            return Array()
        data = b"".join(image.blocks[n] for n in sorted(image.blocks))
        digest = hashlib.sha256(data).digest()
        return Array((Structure((DoubleLongUnsigned(image.size), OctetString(image.identifier),
                                 OctetString(digest))),))  # fmt: skip

    def firmware(self, state: Any, context: Any, selection: Any) -> Any:
        return OctetString(self.meter(state.index).active_firmware)

    def execution_time(self, state: Any, context: Any, selection: Any) -> Any:
        return self.meter(state.index).execution_time

    def set_execution_time(self, state: Any, context: Any, value: Any) -> DataAccessResult | None:
        if not isinstance(value, (list, tuple)):
            return DataAccessResult.TYPE_UNMATCHED
        for item in value:
            if len(item) != 2 or len(bytes(item[0])) != 4 or len(bytes(item[1])) != 5:
                return DataAccessResult.TYPE_UNMATCHED
        self.meter(state.index).execution_time = Array(
            Structure((OctetString(bytes(t)), OctetString(bytes(d)))) for t, d in value
        )
        return None

    # -- methods ---------------------------------------------------------------------------

    def initiate(self, state: Any, context: Any, parameters: Any) -> Any:
        image = self.meter(state.index)
        if not image.enabled:
            return ActionResult.OTHER_REASON
        try:
            identifier, size = bytes(parameters[0]), int(parameters[1])
        except (TypeError, ValueError, IndexError):
            return ActionResult.TYPE_UNMATCHED
        if (identifier, size) != (image.identifier, image.size) or image.status == 0:
            image.blocks = {}
        image.identifier, image.size, image.status = identifier, size, 1
        return None

    def block(self, state: Any, context: Any, parameters: Any) -> Any:
        image = self.meter(state.index)
        if image.status == 0 or not image.enabled:
            return ActionResult.TEMPORARY_FAILURE
        number, value = int(parameters[0]), bytes(parameters[1])
        count = self._count(image)
        last = number == count - 1
        expected = image.size - number * self.block_size if last else self.block_size
        if not 0 <= number < count or len(value) != expected:
            return ActionResult.OTHER_REASON
        left = image.refusals.get(number, 0)
        if left:
            image.refusals[number] = left - 1
            return ActionResult.TEMPORARY_FAILURE
        image.blocks[number] = value
        image.received.append(number)
        image.status = 1
        return None

    def verify(self, state: Any, context: Any, parameters: Any) -> Any:
        image = self.meter(state.index)
        self._settle(image)
        if image.status == 2:
            return ActionResult.TEMPORARY_FAILURE
        if image.status == 0:
            return ActionResult.OTHER_REASON
        data = b"".join(image.blocks.get(n, b"") for n in range(self._count(image)))
        good = len(image.blocks) == self._count(image) and image_checks(data)
        image.result_after = 3 if good else 4
        if self.verification_time > 0:
            image.status, image.busy_until = 2, self._now() + self.verification_time
            return ActionResult.TEMPORARY_FAILURE
        image.status = image.result_after
        return None if good else ActionResult.OTHER_REASON

    def activate(self, state: Any, context: Any, parameters: Any) -> Any:
        image = self.meter(state.index)
        self._settle(image)
        if image.status == 5:
            return ActionResult.TEMPORARY_FAILURE
        if image.status not in (3, 6):
            return ActionResult.OTHER_REASON
        image.result_after = 6
        if self.activation_time > 0:
            image.status, image.busy_until = 5, self._now() + self.activation_time
            return ActionResult.TEMPORARY_FAILURE
        image.status = 6
        self._activated(image)
        return None

    # -- installing ------------------------------------------------------------------------

    def install(self) -> None:
        """Put these objects in place of the simulator's Image transfer object."""
        model = self.simulator.model
        clients = model.association_clients
        everyone = {c: AttributeAccess.READ for c in clients if c != 16}
        managers = {c: AttributeAccess.READ_WRITE for c in clients if c not in (16, 17)}
        may_act = {c: True for c in clients if c not in (16, 17)}
        rw = {**everyone, **managers}
        transfer = ObjectDef(
            18,
            IMAGE_TRANSFER,
            {
                2: AttributeDef(DoubleLongUnsigned(self.block_size), access=everyone),
                3: AttributeDef(getter=self.blocks_status, access=everyone),
                4: AttributeDef(getter=self.first_missing, access=everyone),
                5: AttributeDef(getter=self.enabled, setter=self.set_enabled, access=rw),
                6: AttributeDef(getter=self.status, access=everyone),
                7: AttributeDef(getter=self.to_activate, access=everyone),
            },
            {
                1: MethodDef(self.initiate, may_act),
                2: MethodDef(self.block, may_act),
                3: MethodDef(self.verify, may_act),
                4: MethodDef(self.activate, may_act),
            },
        )
        schedule = ObjectDef(
            22,
            SCHEDULE,
            {
                2: AttributeDef(Structure((OctetString(SCRIPT_TABLE.to_bytes()),
                                           DoubleLongUnsigned(1))), access=everyone),
                3: AttributeDef(Enum(1), access=everyone),
                4: AttributeDef(
                    getter=self.execution_time, setter=self.set_execution_time, access=rw
                ),
            },
        )
        readable = AttributeAccess.READ
        firmware = ObjectDef(
            1, FIRMWARE_IDENTIFIER, {2: AttributeDef(getter=self.firmware, access=readable)}
        )
        mine = {IMAGE_TRANSFER, SCHEDULE, FIRMWARE_IDENTIFIER}
        kept = [o for o in model.objects if o.class_id != 15 and o.logical_name not in mine]
        self.simulator.model = ObjectModel(
            [*kept, firmware, transfer, schedule], association_clients=clients
        )


def faithful_simulator(
    *,
    block_size: int = 128,
    verification_time: float = 0.0,
    activation_time: float = 0.0,
    restart_on_activation: bool = False,
    **kwargs: Any,
) -> tuple[Simulator, FaithfulImageTransfer]:
    """A :class:`Simulator` (``kwargs``) with the faithful Image transfer object."""
    simulator = Simulator(**kwargs)
    objects = FaithfulImageTransfer(
        simulator,
        block_size=block_size,
        verification_time=verification_time,
        activation_time=activation_time,
        restart_on_activation=restart_on_activation,
    )
    objects.install()
    return simulator, objects


def simulator_image(identifier: bytes, payload: bytes) -> bytes:
    """An image the project's own :class:`Simulator` accepts: today's takes any bytes; the
    faithful simulator of issue 18 (fw-sim branch) verifies a self-checking
    ``asyncdlms.cosem.image_transfer.firmware_image(identifier, payload)``."""
    from asyncdlms.cosem import image_transfer

    make = getattr(image_transfer, "firmware_image", None)
    return payload if make is None else bytes(make(identifier, payload))
