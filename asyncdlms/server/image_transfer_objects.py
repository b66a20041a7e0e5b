"""The COSEM objects of a simulated meter's firmware upgrade, on the state machine of
:mod:`.image_transfer`: Image transfer 0.0.44.0.0.255 (class 18), the image activation Single
action schedule 0.0.15.0.2.255 (class 22: ``executed_script`` the Script table below, selector
1; ``type`` 3, several times without wildcards; ``execution_time`` settable) and Script table
0.0.10.0.107.255 (class 9: ``execute(1)`` activates the verified image).

The handlers receive the meter's state (an :class:`ImageTransferHost`): its state machine,
its clocks and what to do when the meter drops its connections or restarts.
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from ..apdu.descriptors import Data
from ..apdu.enums import ActionResult, DataAccessResult
from ..obis import Obis
from ..session.object_access import AssociationContext, AttributeAccess
from ..types.values import (
    Array,
    BitString,
    DoubleLongUnsigned,
    Enum,
    Integer,
    LongUnsigned,
    OctetString,
    Structure,
)
from .image_transfer import ImageTransferServer
from .model import AttributeDef, MethodDef, ObjectDef

__all__ = [
    "ACTIVATION_SCRIPT_SELECTOR",
    "IMAGE_ACTIVATION_SCHEDULE",
    "IMAGE_ACTIVATION_SCRIPT_TABLE",
    "IMAGE_TRANSFER",
    "ImageTransferHost",
    "image_transfer_objects",
    "parse_execution_time",
]

IMAGE_TRANSFER = Obis("0.0.44.0.0.255")
IMAGE_ACTIVATION_SCHEDULE = Obis("0.0.15.0.2.255")
"""The Single action schedule (class 22) "image activation"."""
IMAGE_ACTIVATION_SCRIPT_TABLE = Obis("0.0.10.0.107.255")
"""The Script table (class 9) "image activation"."""
ACTIVATION_SCRIPT_SELECTOR = 1
"""The script of :data:`IMAGE_ACTIVATION_SCRIPT_TABLE` that activates the verified image."""


class ImageTransferHost(Protocol):
    """What the object handlers need from a meter's state."""

    def image_transfer_now(self) -> ImageTransferServer:
        """The meter's state machine, advanced to the present."""
        ...

    def now(self) -> float:
        """The simulator's time."""
        ...

    def clock(self) -> float:
        """The meter's clock."""
        ...

    def drop_connections(self) -> None:
        """Close the meter's open connections now (nothing more is answered on them)."""
        ...

    def restart_soon(self) -> None:
        """Restart the meter once the answer being built is sent."""
        ...


def _unwrap(value: Any) -> Any:
    return value.value if isinstance(value, Data) else value


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _after(state: ImageTransferHost, machine: ImageTransferServer, result: Any) -> Any:
    """``result``, once a restart an activation asked for is on its way."""
    if machine.take_restart():
        state.restart_soon()
    return result


def _block_size(state: ImageTransferHost, context: AssociationContext, selection: Any) -> Any:
    return DoubleLongUnsigned(state.image_transfer_now().image_block_size)


def _blocks_status(state: ImageTransferHost, context: AssociationContext, selection: Any) -> Any:
    return BitString.from_bools(state.image_transfer_now().transferred_blocks())


def _first_missing(state: ImageTransferHost, context: AssociationContext, selection: Any) -> Any:
    return DoubleLongUnsigned(state.image_transfer_now().first_not_transferred_block_number)


def _enabled(state: ImageTransferHost, context: AssociationContext, selection: Any) -> Any:
    return state.image_transfer_now().image_transfer_enabled


def _set_enabled(state: ImageTransferHost, context: AssociationContext, value: Any) -> Any:
    value = _unwrap(value)
    if not isinstance(value, bool):
        return DataAccessResult.TYPE_UNMATCHED
    state.image_transfer_now().image_transfer_enabled = value
    return None


def _status(state: ImageTransferHost, context: AssociationContext, selection: Any) -> Any:
    return Enum(int(state.image_transfer_now().image_transfer_status))


def _to_activate(state: ImageTransferHost, context: AssociationContext, selection: Any) -> Any:
    return Array(
        Structure(
            (
                DoubleLongUnsigned(info.image_to_activate_size),
                OctetString(info.image_to_activate_identification),
                OctetString(info.image_to_activate_signature),
            )
        )
        for info in state.image_transfer_now().image_to_activate_info()
    )


def _initiate(state: ImageTransferHost, context: AssociationContext, parameters: Any) -> Any:
    parameters = _unwrap(parameters)
    try:
        identifier, size = parameters
    except (TypeError, ValueError):
        return ActionResult.TYPE_UNMATCHED
    if not isinstance(identifier, (bytes, bytearray)) or not _is_integer(size):
        return ActionResult.TYPE_UNMATCHED
    machine = state.image_transfer_now()
    return _after(
        state, machine, machine.image_transfer_initiate(bytes(identifier), size, state.now())
    )


def _block(state: ImageTransferHost, context: AssociationContext, parameters: Any) -> Any:
    parameters = _unwrap(parameters)
    try:
        number, value = parameters
    except (TypeError, ValueError):
        return ActionResult.TYPE_UNMATCHED
    if not _is_integer(number) or not isinstance(value, (bytes, bytearray)):
        return ActionResult.TYPE_UNMATCHED
    machine = state.image_transfer_now()
    result = machine.image_block_transfer(number, bytes(value), state.now())
    if result is None:
        state.drop_connections()
        _after_this_request(machine.connection_dropped)
        return ActionResult.TEMPORARY_FAILURE  # never sent: the connection is closed
    return _after(state, machine, result)


def _after_this_request(callback: Callable[[], None]) -> None:
    """Call ``callback`` once the request being handled is done (every method of an ACTION
    with-list handled): at the next turn of the event loop, or now without one."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        callback()
        return
    loop.call_soon(callback)


def _verify(state: ImageTransferHost, context: AssociationContext, parameters: Any) -> Any:
    machine = state.image_transfer_now()
    return _after(state, machine, machine.image_verify(state.now()))


def _activate(state: ImageTransferHost, context: AssociationContext, parameters: Any) -> Any:
    machine = state.image_transfer_now()
    return _after(state, machine, machine.image_activate(state.now()))


# -- Single action schedule (class 22) ----------------------------------------------------------

_EXECUTED_SCRIPT = Structure(
    (
        OctetString(IMAGE_ACTIVATION_SCRIPT_TABLE.to_bytes()),
        LongUnsigned(ACTIVATION_SCRIPT_SELECTOR),
    )
)
_SCHEDULE_TYPE = 3  # size of execution_time n, times may differ, no wildcard in the date


def parse_execution_time(value: Any) -> tuple[float, ...] | DataAccessResult:
    """Attribute 4 of a Single action schedule, ``array of structure {time octet-string(4),
    date octet-string(5)}``, as seconds since the epoch (the simulated meters' clock is UTC).

    An entry with every field "not specified" (0xFF...) is no time (it disables); other
    wildcards are refused (other-reason: this schedule is of type 3, no wildcards), as is a
    malformed value (type-unmatched)."""
    value = _unwrap(value)
    if not isinstance(value, (tuple, list)):
        return DataAccessResult.TYPE_UNMATCHED
    times: list[float] = []
    for entry in value:
        if not isinstance(entry, (tuple, list)) or len(entry) != 2:
            return DataAccessResult.TYPE_UNMATCHED
        time_bytes, date_bytes = entry
        if not isinstance(time_bytes, (bytes, bytearray)) or len(time_bytes) != 4:
            return DataAccessResult.TYPE_UNMATCHED
        if not isinstance(date_bytes, (bytes, bytearray)) or len(date_bytes) != 5:
            return DataAccessResult.TYPE_UNMATCHED
        if all(b == 0xFF for b in time_bytes) and all(b == 0xFF for b in date_bytes):
            continue
        hour, minute, second, hundredths = time_bytes
        year = int.from_bytes(date_bytes[0:2], "big")
        month, day = date_bytes[2], date_bytes[3]
        if 0xFF in (hour, minute, second, month, day) or year == 0xFFFF:
            return DataAccessResult.OTHER_REASON
        try:
            moment = datetime.datetime(
                year,
                month,
                day,
                hour,
                minute,
                second,
                0 if hundredths == 0xFF else hundredths * 10_000,
                tzinfo=datetime.UTC,
            )
        except ValueError:
            return DataAccessResult.OTHER_REASON
        times.append(moment.timestamp())
    return tuple(times)


def _execution_time(state: ImageTransferHost, context: AssociationContext, selection: Any) -> Any:
    entries = []
    for at in state.image_transfer_now().execution_time:
        moment = datetime.datetime.fromtimestamp(at, datetime.UTC)
        time_bytes = bytes(
            (moment.hour, moment.minute, moment.second, moment.microsecond // 10_000)
        )
        date_bytes = moment.year.to_bytes(2, "big") + bytes(
            (moment.month, moment.day, moment.isoweekday())
        )
        entries.append(Structure((OctetString(time_bytes), OctetString(date_bytes))))
    return Array(entries)


def _set_execution_time(state: ImageTransferHost, context: AssociationContext, value: Any) -> Any:
    times = parse_execution_time(value)
    if isinstance(times, DataAccessResult):
        return times
    state.image_transfer_now().schedule_activation(times, state.clock())
    return None


# -- Script table (class 9) ----------------------------------------------------------------------


def _execute(state: ImageTransferHost, context: AssociationContext, parameters: Any) -> Any:
    selector = _unwrap(parameters)
    if not _is_integer(selector):
        return ActionResult.TYPE_UNMATCHED
    if selector != ACTIVATION_SCRIPT_SELECTOR:
        return ActionResult.OTHER_REASON
    return _activate(state, context, None)


def image_transfer_objects(
    readers: Mapping[int, AttributeAccess],
    managers: Mapping[int, AttributeAccess],
    may_act: Mapping[int, bool],
) -> list[ObjectDef]:
    """Image transfer 0.0.44.0.0.255, the image activation Single action schedule
    0.0.15.0.2.255 and Script table 0.0.10.0.107.255, for a meter model: ``readers`` read,
    ``managers`` also write (``image_transfer_enabled``, ``execution_time``), ``may_act``
    invoke the methods."""
    manage_rw = {**readers, **managers}
    script = Structure(
        (
            LongUnsigned(ACTIVATION_SCRIPT_SELECTOR),
            Array(
                (
                    Structure(
                        (
                            Enum(3),  # execute a specific method
                            LongUnsigned(18),
                            OctetString(IMAGE_TRANSFER.to_bytes()),
                            Integer(4),  # image_activate
                            Integer(0),
                        )
                    ),
                )
            ),
        )
    )
    return [
        ObjectDef(
            18,
            IMAGE_TRANSFER,
            {
                2: AttributeDef(getter=_block_size, access=readers),
                3: AttributeDef(getter=_blocks_status, access=readers),
                4: AttributeDef(getter=_first_missing, access=readers),
                5: AttributeDef(getter=_enabled, setter=_set_enabled, access=manage_rw),
                6: AttributeDef(getter=_status, access=readers),
                7: AttributeDef(getter=_to_activate, access=readers),
            },
            {
                1: MethodDef(_initiate, may_act),
                2: MethodDef(_block, may_act),
                3: MethodDef(_verify, may_act),
                4: MethodDef(_activate, may_act),
            },
        ),
        ObjectDef(
            22,
            IMAGE_ACTIVATION_SCHEDULE,
            {
                2: AttributeDef(_EXECUTED_SCRIPT, access=readers),
                3: AttributeDef(Enum(_SCHEDULE_TYPE), access=readers),
                4: AttributeDef(
                    getter=_execution_time, setter=_set_execution_time, access=manage_rw
                ),
            },
        ),
        ObjectDef(
            9,
            IMAGE_ACTIVATION_SCRIPT_TABLE,
            {2: AttributeDef(Array((script,)), access=readers)},
            {1: MethodDef(_execute, may_act)},
        ),
    ]
