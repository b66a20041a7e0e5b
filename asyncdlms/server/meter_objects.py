"""The objects every simulated meter serves, and the few bytes of state each meter owns.

:class:`MeterState` is one meter's own state (its index, clock offset, disconnect state,
image transfer); everything else is computed from the index and the time. The getters,
setters and method handlers here receive that state; :func:`meter_model` puts them together
into the :class:`~.model.ObjectModel` every meter of a simulator shares. The image transfer
objects (class 18 and its activation schedule) are in :mod:`.image_transfer`.
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import hashlib
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..apdu.descriptors import Data
from ..apdu.enums import ActionResult, DataAccessResult
from ..obis import Obis
from ..session.object_access import AssociationContext, AttributeAccess
from ..types.clock import DateTime
from ..types.values import (
    Array,
    DoubleLong,
    DoubleLongUnsigned,
    Enum,
    Integer,
    Long,
    LongUnsigned,
    OctetString,
    Structure,
    Unsigned,
)
from .image_transfer import ImageTransferServer
from .image_transfer_objects import IMAGE_TRANSFER, image_transfer_objects
from .model import (
    AttributeDef,
    DeviceState,
    MethodDef,
    ObjectDef,
    ObjectModel,
    ProfileRows,
    profile_object,
)
from .security_setup import security_setup_object

if TYPE_CHECKING:
    from .simulator import Simulator

__all__ = [
    "BILLING_PROFILE",
    "CLOCK",
    "CURRENT",
    "DISCONNECT_CONTROL",
    "ENERGY",
    "FIRMWARE_IDENTIFIER",
    "FRAME_COUNTER",
    "IMAGE_TRANSFER",
    "LOAD_PROFILE",
    "LOGICAL_DEVICE_NAME",
    "POWER_EXPORT",
    "POWER_IMPORT",
    "PUSH_SETUP",
    "SERIAL_NUMBER",
    "VOLTAGE",
    "MeterState",
    "meter_model",
]

LOGICAL_DEVICE_NAME = Obis("0.0.42.0.0.255")
SERIAL_NUMBER = Obis("0.0.96.1.0.255")
FIRMWARE_IDENTIFIER = Obis("1.0.0.2.0.255")
CLOCK = Obis("0.0.1.0.0.255")
ENERGY = (
    Obis("1.0.1.8.0.255"),
    Obis("1.0.2.8.0.255"),
    Obis("1.0.3.8.0.255"),
    Obis("1.0.4.8.0.255"),
)
VOLTAGE = Obis("1.0.32.7.0.255")
CURRENT = Obis("1.0.31.7.0.255")
POWER_IMPORT = Obis("1.0.1.7.0.255")
POWER_EXPORT = Obis("1.0.2.7.0.255")
LOAD_PROFILE = Obis("1.0.99.1.0.255")
BILLING_PROFILE = Obis("0.0.98.1.0.255")
DISCONNECT_CONTROL = Obis("0.0.96.3.10.255")
PUSH_SETUP = Obis("0.0.25.9.0.255")
FRAME_COUNTER = Obis("0.0.43.1.0.255")

_WATT_HOUR, _VAR_HOUR, _VOLT, _AMPERE, _WATT = 30, 32, 35, 33, 27
_ENERGY_UNITS = (_WATT_HOUR, _WATT_HOUR, _VAR_HOUR, _VAR_HOUR)
_ENERGY_SHARE = (1.0, 0.2, 0.3, 0.05)
_EPOCH = 1577836800.0  # 2020-01-01T00:00:00Z: the meters were installed then
_DAY = 86400.0


# ---------------------------------------------------------------------------------------------
# Per-meter state


@functools.lru_cache(maxsize=1 << 16)
def _seed_of(serial_number: int) -> int:
    """The seed of a meter's derived values (a hash of its serial number): asked twice per
    energy read, computed once per meter."""
    digest = hashlib.blake2b(serial_number.to_bytes(8, "big"), digest_size=8).digest()
    return int.from_bytes(digest, "big")


class MeterState(DeviceState):
    """What one virtual meter owns (everything else is computed or shared): its index,
    clock offset, disconnect state, image transfer in progress, firmware identifier."""

    __slots__ = (
        "clock_offset",
        "control_mode",
        "disconnected_since",
        "energy_offsets",
        "image_transfer",
        "index",
        "simulator",
    )

    def __init__(self, simulator: Simulator, index: int) -> None:
        super().__init__()
        self.simulator = simulator
        self.index = index
        self.clock_offset = 0.0
        self.disconnected_since: float | None = None
        self.energy_offsets: tuple[float, float, float, float] | None = None
        self.control_mode = 1
        #: the meter's Image transfer state machine (made on first use; it outlives every
        #: association and connection)
        self.image_transfer: ImageTransferServer | None = None

    # -- image transfer ----------------------------------------------------------------------

    def image_transfer_now(self) -> ImageTransferServer:
        """The meter's Image transfer state machine, advanced to the present (a meter
        restart an activation asked for follows the answer being built)."""
        machine = self.image_transfer
        if machine is None:
            simulator = self.simulator
            machine = self.image_transfer = ImageTransferServer(
                simulator.image_transfer, simulator.image_transfer_faults(self.index)
            )
        machine.advance(self.now(), self.clock())
        if machine.take_restart():
            self.restart_soon()
        return machine

    @property
    def firmware(self) -> bytes:
        """The active firmware identifier (1.0.0.2.0.255)."""
        if self.image_transfer is None:
            return self.simulator.image_transfer.firmware_identifier
        return self.image_transfer_now().active_identifier

    def drop_connections(self) -> None:
        """Close this meter's open connections now."""
        self.simulator.drop_connections(self.index)

    def restart_soon(self) -> None:
        """Restart this meter just after the answer being built is sent."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.simulator.restart_meter(self.index)
            return
        loop.call_soon(self.simulator.restart_meter, self.index)

    # -- derived values (pure functions of the index and the time) -------------------------

    @property
    def serial_number(self) -> int:
        return self.simulator.first_serial + self.index

    def _seed(self) -> int:
        return _seed_of(self.serial_number)

    def now(self) -> float:
        """The true time (the simulator's time source)."""
        return self.simulator.time()

    def clock(self) -> float:
        """The meter's clock (true time + the offset a clock write left)."""
        return self.simulator.time() + self.clock_offset

    def _mean_power(self, seed: int | None = None) -> float:
        return 300.0 + ((self._seed() if seed is None else seed) % 1700)

    def _raw_energy(self, register: int, at: float) -> float:
        seed = self._seed()
        power = self._mean_power(seed) * _ENERGY_SHARE[register]
        phase = (seed >> 16) % 360 * math.pi / 180
        elapsed = at - _EPOCH
        amplitude = 0.5 * _DAY / (2 * math.pi)
        integral = elapsed + amplitude * (
            math.cos(phase) - math.cos(2 * math.pi * elapsed / _DAY + phase)
        )
        start = (seed >> 32) % 100_000
        return start + power * integral / 3600.0

    def energy(self, register: int, at: float | None = None) -> int:
        """Energy register ``register`` (0..3) in Wh/varh at ``at`` (default now)."""
        at = self.now() if at is None else at
        if self.disconnected_since is not None and at > self.disconnected_since:
            at = self.disconnected_since
        value = self._raw_energy(register, at)
        if self.energy_offsets is not None:
            value -= self.energy_offsets[register]
        return max(int(value), 0)

    def power(self, at: float | None = None) -> float:
        """Instantaneous active import power in W (0 while disconnected)."""
        if self.disconnected_since is not None:
            return 0.0
        at = self.now() if at is None else at
        seed = self._seed()
        phase = (seed >> 16) % 360 * math.pi / 180
        return self._mean_power() * (1 + 0.5 * math.sin(2 * math.pi * (at - _EPOCH) / _DAY + phase))

    def voltage(self, at: float | None = None) -> float:
        at = self.now() if at is None else at
        return 230.0 + 4.0 * math.sin(at / 97.0 + self.index)

    def disconnect(self) -> None:
        if self.disconnected_since is None:
            self.disconnected_since = self.now()

    def reconnect(self) -> None:
        since = self.disconnected_since
        if since is None:
            return
        now = self.now()
        offsets = list(self.energy_offsets or (0.0, 0.0, 0.0, 0.0))
        for register in range(4):
            offsets[register] += self._raw_energy(register, now) - self._raw_energy(register, since)
        self.energy_offsets = (offsets[0], offsets[1], offsets[2], offsets[3])
        self.disconnected_since = None


def date_time_at(at: float) -> DateTime:
    moment = datetime.datetime.fromtimestamp(at, datetime.UTC)
    return DateTime.from_datetime(moment.replace(microsecond=(moment.microsecond // 10000) * 10000))


def _to_timestamp(value: Any) -> float | None:
    if isinstance(value, Data):
        value = value.value
    if isinstance(value, (bytes, bytearray)) and len(value) == 12:
        value = DateTime.from_bytes(value)
    if not isinstance(value, DateTime):
        return None
    try:
        moment = value.to_datetime()
    except (ValueError, ArithmeticError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.timestamp()


# ---------------------------------------------------------------------------------------------
# Getters, setters, handlers (shared: they receive the meter state)


def _ldn(state: MeterState, context: AssociationContext, selection: Any) -> Any:
    return OctetString(b"ADS" + b"%013d" % state.serial_number)


def _serial(state: MeterState, context: AssociationContext, selection: Any) -> Any:
    return OctetString(b"%08d" % state.serial_number)


def _firmware(state: MeterState, context: AssociationContext, selection: Any) -> Any:
    return OctetString(state.firmware)


def _clock_time(state: MeterState, context: AssociationContext, selection: Any) -> Any:
    return date_time_at(state.clock())


def _set_clock(state: MeterState, context: AssociationContext, value: Any) -> Any:
    at = _to_timestamp(value)
    if at is None:
        return DataAccessResult.TYPE_UNMATCHED
    state.clock_offset = at - state.now()
    return None


def _energy_getter(register: int) -> Callable[[MeterState, AssociationContext, Any], Any]:
    def get(state: MeterState, context: AssociationContext, selection: Any) -> Any:
        return DoubleLongUnsigned(state.energy(register) & 0xFFFFFFFF)

    return get


def _voltage(state: MeterState, context: AssociationContext, selection: Any) -> Any:
    return LongUnsigned(round(state.voltage() * 10))


def _current(state: MeterState, context: AssociationContext, selection: Any) -> Any:
    return LongUnsigned(min(round(state.power() / state.voltage() * 100), 0xFFFF))


def _power_import(state: MeterState, context: AssociationContext, selection: Any) -> Any:
    return DoubleLong(round(state.power()))


def _power_export(state: MeterState, context: AssociationContext, selection: Any) -> Any:
    return DoubleLong(0)


def _output_state(state: MeterState, context: AssociationContext, selection: Any) -> Any:
    return bool(state.disconnected_since is None)


def _control_state(state: MeterState, context: AssociationContext, selection: Any) -> Any:
    return Enum(0 if state.disconnected_since is not None else 1)


def _control_mode(state: MeterState, context: AssociationContext, selection: Any) -> Any:
    return Enum(state.control_mode)


def _set_control_mode(state: MeterState, context: AssociationContext, value: Any) -> Any:
    if not isinstance(value, int) or not 0 <= value <= 6:
        return DataAccessResult.TYPE_UNMATCHED
    state.control_mode = int(value)
    return None


def _remote_disconnect(state: MeterState, context: AssociationContext, parameters: Any) -> Any:
    if state.control_mode == 0:
        return ActionResult.TEMPORARY_FAILURE
    state.disconnect()
    return None


def _remote_reconnect(state: MeterState, context: AssociationContext, parameters: Any) -> Any:
    if state.control_mode == 0:
        return ActionResult.TEMPORARY_FAILURE
    state.reconnect()
    return None


def _frame_counter(state: MeterState, context: AssociationContext, selection: Any) -> Any:
    store = state.simulator._counter_stores.get(state.index)
    return DoubleLongUnsigned(0 if store is None else store.highest_received)


# -- push setup (class 40) -------------------------------------------------------------------

PUSH_OBJECTS: tuple[tuple[int, Obis, int], ...] = (
    (1, LOGICAL_DEVICE_NAME, 2),
    (8, CLOCK, 2),
    (3, ENERGY[0], 2),
    (3, ENERGY[1], 2),
)


def push_destination(state: MeterState) -> Any:
    overrides = state.overrides or {}
    return overrides.get(
        (40, PUSH_SETUP, 3),
        Structure((Enum(0), OctetString(state.simulator.push_destination.encode()), Enum(0))),
    )


def _push_destination_getter(state: MeterState, context: AssociationContext, selection: Any) -> Any:
    return push_destination(state)


def _set_push_destination(state: MeterState, context: AssociationContext, value: Any) -> Any:
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        return DataAccessResult.TYPE_UNMATCHED
    if state.overrides is None:
        state.overrides = {}
    state.overrides[(40, PUSH_SETUP, 3)] = Structure(
        (Enum(int(value[0])), OctetString(bytes(value[1])), Enum(int(value[2])))
    )
    return None


def _push_method(state: MeterState, context: AssociationContext, parameters: Any) -> Any:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return ActionResult.TEMPORARY_FAILURE
    state.simulator._schedule_push(state.index)
    return None


# ---------------------------------------------------------------------------------------------
# The model


def _scaler_unit(scaler: int, unit: int) -> Structure:
    return Structure((Integer(scaler), Enum(unit)))


def meter_model(
    association_clients: Sequence[int] = (16, 17, 18),
    *,
    load_profile_days: int = 10,
    billing_days: int = 31,
    short_names: bool = False,
    ciphered: bool = False,
) -> ObjectModel:
    """The object model of a simulated meter (shared by every meter of a simulator).

    Access: client 16 (public) reads the names, the clock and the registers; 17 reads
    everything and sets the clock; every other client SAP (18, the management client, ...)
    may read, write and invoke everything.
    """
    readers = {c: AttributeAccess.READ for c in association_clients}
    everyone_but_public = {c: AttributeAccess.READ for c in association_clients if c != 16}
    # ``ciphered``: the frame counter 0.0.43.1.0.255, readable by every client (public too)
    managers = {c: AttributeAccess.READ_WRITE for c in association_clients if c not in (16, 17)}
    clock_access = {
        **readers,
        **{c: AttributeAccess.READ_WRITE for c in association_clients if c != 16},
    }
    manage_rw = {**everyone_but_public, **managers}
    may_act = {c: True for c in association_clients if c not in (16, 17)}

    objects: list[ObjectDef] = [
        ObjectDef(1, LOGICAL_DEVICE_NAME, {2: AttributeDef(getter=_ldn, access=readers)}),
        ObjectDef(1, SERIAL_NUMBER, {2: AttributeDef(getter=_serial, access=readers)}),
        ObjectDef(1, FIRMWARE_IDENTIFIER, {2: AttributeDef(getter=_firmware, access=readers)}),
        ObjectDef(
            8,
            CLOCK,
            {
                2: AttributeDef(getter=_clock_time, setter=_set_clock, access=clock_access),
                3: AttributeDef(Long(0), access=readers),
                4: AttributeDef(Unsigned(0), access=readers),
                5: AttributeDef(
                    OctetString(bytes((0xFF, 0xFF, 3, 0xFE, 7, 2, 0, 0, 0, 0x80, 0, 0))),
                    access=readers,
                ),
                6: AttributeDef(
                    OctetString(bytes((0xFF, 0xFF, 10, 0xFE, 7, 3, 0, 0, 0, 0x80, 0, 0))),
                    access=readers,
                ),
                7: AttributeDef(Integer(60), access=readers),
                8: AttributeDef(False, access=readers),
                9: AttributeDef(Enum(1), access=readers),
            },
        ),
    ]
    for register, obis in enumerate(ENERGY):
        objects.append(
            ObjectDef(
                3,
                obis,
                {
                    2: AttributeDef(getter=_energy_getter(register), access=readers),
                    3: AttributeDef(_scaler_unit(0, _ENERGY_UNITS[register]), access=readers),
                },
            )
        )
    for obis, getter, scaler_unit in (
        (VOLTAGE, _voltage, _scaler_unit(-1, _VOLT)),
        (CURRENT, _current, _scaler_unit(-2, _AMPERE)),
        (POWER_IMPORT, _power_import, _scaler_unit(0, _WATT)),
        (POWER_EXPORT, _power_export, _scaler_unit(0, _WATT)),
    ):
        objects.append(
            ObjectDef(
                3,
                obis,
                {
                    2: AttributeDef(getter=getter, access=readers),
                    3: AttributeDef(scaler_unit, access=readers),
                },
            )
        )
    if ciphered:
        objects.append(
            ObjectDef(1, FRAME_COUNTER, {2: AttributeDef(getter=_frame_counter, access=readers)})
        )
    load_columns = ((8, CLOCK, 2), *((3, obis, 2) for obis in ENERGY))
    objects.append(
        profile_object(
            LOAD_PROFILE,
            load_columns,
            _load_profile_rows,
            capture_period=900,
            profile_entries=load_profile_days * 96,
            access=everyone_but_public,
        )
    )
    billing_columns = ((8, CLOCK, 2), (3, ENERGY[0], 2), (3, ENERGY[1], 2))
    objects.append(
        profile_object(
            BILLING_PROFILE,
            billing_columns,
            _billing_rows,
            capture_period=86400,
            profile_entries=billing_days,
            access=everyone_but_public,
        )
    )
    objects.append(
        ObjectDef(
            70,
            DISCONNECT_CONTROL,
            {
                2: AttributeDef(getter=_output_state, access=everyone_but_public),
                3: AttributeDef(getter=_control_state, access=everyone_but_public),
                4: AttributeDef(getter=_control_mode, setter=_set_control_mode, access=manage_rw),
            },
            {1: MethodDef(_remote_disconnect, may_act), 2: MethodDef(_remote_reconnect, may_act)},
        )
    )
    objects.extend(image_transfer_objects(everyone_but_public, managers, may_act))
    objects.append(
        ObjectDef(
            40,
            PUSH_SETUP,
            {
                2: AttributeDef(
                    Array(
                        Structure(
                            (
                                LongUnsigned(c),
                                OctetString(o.to_bytes()),
                                Integer(a),
                                LongUnsigned(0),
                            )
                        )
                        for c, o, a in PUSH_OBJECTS
                    ),
                    access=everyone_but_public,
                ),
                3: AttributeDef(
                    getter=_push_destination_getter,
                    setter=_set_push_destination,
                    access=manage_rw,
                ),
            },
            {1: MethodDef(_push_method, may_act)},
        )
    )
    if ciphered:  # Security setup (class 64 v1), 0.0.43.0.0.255: server/security_setup.py
        objects.append(security_setup_object(association_clients))
    return ObjectModel(objects, association_clients=association_clients, short_names=short_names)


def _load_profile_rows(state: MeterState) -> ProfileRows:
    simulator = state.simulator
    count = simulator.load_profile_days * 96
    last = math.floor(state.now() / 900) * 900

    def row(index: int) -> Sequence[Any]:
        at = last - (count - 1 - index) * 900
        return (
            date_time_at(at),
            *(DoubleLongUnsigned(state.energy(r, at) & 0xFFFFFFFF) for r in range(4)),
        )

    return ProfileRows(count, row)


def _billing_rows(state: MeterState) -> ProfileRows:
    count = state.simulator.billing_days
    last = math.floor(state.now() / _DAY) * _DAY

    def row(index: int) -> Sequence[Any]:
        at = last - (count - 1 - index) * _DAY
        return (
            date_time_at(at),
            DoubleLongUnsigned(state.energy(0, at) & 0xFFFFFFFF),
            DoubleLongUnsigned(state.energy(1, at) & 0xFFFFFFFF),
        )

    return ProfileRows(count, row)
