"""A meter simulator: N virtual electricity meters served from one process.

Every meter has the same objects (one :class:`~.model.ObjectModel`, built once per
:class:`Simulator` and shared) and a few bytes of its own state (:class:`MeterState`):

- logical device name 0.0.42.0.0.255 and serial number 0.0.96.1.0.255;
- clock 0.0.1.0.0.255 ticking with the simulator's time source (no task per meter), UTC
  (deviation 0); setting it keeps an offset;
- energy registers 1.0.1.8.0.255 / 2.8.0 / 3.8.0 / 4.8.0 (import/export active Wh and
  reactive varh, scaler 0) that grow with time along a closed-form daily curve derived from
  the meter's index (computed, not integrated: no per-meter task, no stored samples);
- instantaneous voltage 1.0.32.7.0.255 (V, scaler -1), current 1.0.31.7.0.255 (A, scaler
  -2), active power 1.0.1.7.0.255 / 2.7.0 (W);
- load profile 1.0.99.1.0.255 (15 minutes: clock and the four energies) and daily billing
  profile 0.0.98.1.0.255 (clock, active import and export) with a configurable history,
  computed row by row when read (selective access by range and by entry);
- disconnect control 0.0.96.3.10.255 obeying remote_disconnect / remote_reconnect (power
  and current drop to 0 and the energies stop while disconnected);
- image transfer 0.0.44.0.0.255 accepting a firmware upload (initiate, block transfer,
  verify, activate; the active firmware identifier 1.0.0.2.0.255 changes on activation);
- push setup 0.0.25.9.0.255 (class 40): method 1 sends a data-notification with the push
  object list to ``send_destination_and_method`` (``host:port``, TCP or UDP, wrapper);
- with ciphered associations, the frame counter 0.0.43.1.0.255 (the highest invocation
  counter received from any client; readable on the public association);
- the current Association LN object with its object list.

Associations (client SAP -> mechanism) default to 16 public (no authentication, reads the
basics), 17 LLS (reads everything, sets the clock) and 18 HLS (manages: writes, actions).
Meters are reached on consecutive ports (``shared_port=False``) or all on one port, each
selected by its HDLC physical address (``16 + index``) or its wrapper wPort (``1 + index``).
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import math
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from ..apdu.acse import ApplicationContextName, MechanismName
from ..apdu.descriptors import CosemAttributeDescriptor, Data
from ..apdu.enums import ActionResult, DataAccessResult
from ..apdu.initiate import Conformance
from ..apdu.notification import DataNotification
from ..hdlc import HdlcAddress, HdlcParameters
from ..iec62056_21 import IecResponderSettings
from ..obis import Obis
from ..security.certificates import KeyUsage
from ..security.counters import KeyIdentity, MemoryInvocationCounterStore
from ..security.hls import Secret
from ..session.object_access import AssociationContext, AttributeAccess
from ..session.server import AssociationPolicy, ServerSettings
from ..types.clock import DateTime
from ..types.values import (
    Array,
    BitString,
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
from ..wrapper.frames import WrapperFrame
from .endpoint import Address, DlmsServer, Faults, LinkConfig, Served
from .limits import ConnectionBudget, ServerLimits
from .model import (
    AttributeDef,
    DeviceState,
    LogicalDevice,
    MethodDef,
    ObjectDef,
    ObjectModel,
    ProfileRows,
    profile_object,
)
from .security_setup import SimulatedSecurity, security_setup_object

__all__ = [
    "DEFAULT_HLS_SECRET",
    "DEFAULT_PASSWORD",
    "SN_SERVER_CONFORMANCE",
    "MeterState",
    "MeterTarget",
    "Simulator",
    "default_associations",
    "meter_model",
    "short_name_associations",
]

DEFAULT_PASSWORD = b"12345678"
DEFAULT_HLS_SECRET = b"Gurux1234567890!"

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
IMAGE_TRANSFER = Obis("0.0.44.0.0.255")
PUSH_SETUP = Obis("0.0.25.9.0.255")
FRAME_COUNTER = Obis("0.0.43.1.0.255")

_WATT_HOUR, _VAR_HOUR, _VOLT, _AMPERE, _WATT = 30, 32, 35, 33, 27
_ENERGY_UNITS = (_WATT_HOUR, _WATT_HOUR, _VAR_HOUR, _VAR_HOUR)
_ENERGY_SHARE = (1.0, 0.2, 0.3, 0.05)
_EPOCH = 1577836800.0  # 2020-01-01T00:00:00Z: the meters were installed then
_DAY = 86400.0
_IMAGE_BLOCK_SIZE = 192
_PUSH_WPORT = 0x66


def default_associations(
    *,
    password: bytes = DEFAULT_PASSWORD,
    hls_mechanism: MechanismName = MechanismName.HIGH_MD5,
    hls_secret: bytes = DEFAULT_HLS_SECRET,
) -> dict[int, AssociationPolicy]:
    """16 public (no authentication), 17 LLS (``password``), 18 HLS (``hls_mechanism``)."""
    return {
        16: AssociationPolicy(),
        17: AssociationPolicy(MechanismName.LOW, Secret(password)),
        18: AssociationPolicy(hls_mechanism, Secret(hls_secret)),
    }


SN_SERVER_CONFORMANCE = Conformance(
    Conformance.READ
    | Conformance.WRITE
    | Conformance.UNCONFIRMED_WRITE
    | Conformance.PARAMETERIZED_ACCESS
    | Conformance.MULTIPLE_REFERENCES
    | Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ
    | Conformance.INFORMATION_REPORT
)
"""What a short-name association of the simulator offers."""


def short_name_associations(
    associations: Mapping[int, AssociationPolicy],
) -> dict[int, AssociationPolicy]:
    """The same associations with short-name referencing, as an SN meter has them: the
    short-name application context (its ciphered form with ciphering) and
    :data:`SN_SERVER_CONFORMANCE`. ``Simulator(short_names=True)`` uses it on
    :func:`default_associations` when no associations are given."""
    return {
        client: replace(
            policy,
            application_context_name=ApplicationContextName.SHORT_NAME,
            conformance=SN_SERVER_CONFORMANCE,
        )
        for client, policy in associations.items()
    }


# ---------------------------------------------------------------------------------------------
# Per-meter state


class _Image:
    """An image transfer in progress (exists only while a meter receives firmware)."""

    __slots__ = ("blocks", "identifier", "size", "status")

    def __init__(self, identifier: bytes, size: int) -> None:
        self.identifier = identifier
        self.size = size
        self.blocks: dict[int, bytes] = {}
        self.status = 1  # transfer initiated

    @property
    def block_count(self) -> int:
        return (self.size + _IMAGE_BLOCK_SIZE - 1) // _IMAGE_BLOCK_SIZE

    def complete(self) -> bool:
        if len(self.blocks) != self.block_count:
            return False
        return sum(len(b) for b in self.blocks.values()) == self.size


class _MeterCounterStore(MemoryInvocationCounterStore):
    """A meter's counters, one store for all its client SAPs (a meter never sends two APDUs
    with one counter under one key, whichever association they belong to); remembers the
    highest counter received from any client, which the frame counter object
    (0.0.43.1.0.255) shows so a client can continue from it + 1."""

    __slots__ = ("highest_received",)

    def __init__(self) -> None:
        super().__init__()
        self.highest_received = 0

    def accept_received(self, system_title: bytes, key: KeyIdentity, counter: int) -> None:
        super().accept_received(system_title, key, counter)
        self.highest_received = max(self.highest_received, counter)


class MeterState(DeviceState):
    """What one virtual meter owns (everything else is computed or shared): its index,
    clock offset, disconnect state, image transfer in progress, firmware identifier."""

    __slots__ = (
        "clock_offset",
        "control_mode",
        "disconnected_since",
        "energy_offsets",
        "firmware",
        "image",
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
        self.image: _Image | None = None
        self.firmware: bytes | None = None

    # -- derived values (pure functions of the index and the time) -------------------------

    @property
    def serial_number(self) -> int:
        return self.simulator.first_serial + self.index

    def _seed(self) -> int:
        digest = hashlib.blake2b(self.serial_number.to_bytes(8, "big"), digest_size=8).digest()
        return int.from_bytes(digest, "big")

    def now(self) -> float:
        """The true time (the simulator's time source)."""
        return self.simulator.time()

    def clock(self) -> float:
        """The meter's clock (true time + the offset a clock write left)."""
        return self.simulator.time() + self.clock_offset

    def _mean_power(self) -> float:
        return 300.0 + (self._seed() % 1700)

    def _raw_energy(self, register: int, at: float) -> float:
        seed = self._seed()
        power = self._mean_power() * _ENERGY_SHARE[register]
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


def _date_time(at: float) -> DateTime:
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
    return OctetString(state.firmware or b"SIM-1.0.0")


def _clock_time(state: MeterState, context: AssociationContext, selection: Any) -> Any:
    return _date_time(state.clock())


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


# -- image transfer (class 18) ---------------------------------------------------------------


def _image_blocks_status(state: MeterState, context: AssociationContext, selection: Any) -> Any:
    image = state.image
    if image is None:
        return BitString(b"", 0)
    return BitString.from_bools([i in image.blocks for i in range(image.block_count)])


def _image_first_missing(state: MeterState, context: AssociationContext, selection: Any) -> Any:
    image = state.image
    if image is None:
        return DoubleLongUnsigned(0)
    for number in range(image.block_count):
        if number not in image.blocks:
            return DoubleLongUnsigned(number)
    return DoubleLongUnsigned(image.block_count)


def _image_status(state: MeterState, context: AssociationContext, selection: Any) -> Any:
    return Enum(0 if state.image is None else state.image.status)


def _image_to_activate(state: MeterState, context: AssociationContext, selection: Any) -> Any:
    image = state.image
    if image is None or image.status < 3:
        return Array()
    data = b"".join(image.blocks[i] for i in range(image.block_count))
    return Array(
        (
            Structure(
                (
                    DoubleLongUnsigned(image.size),
                    OctetString(image.identifier),
                    OctetString(hashlib.sha256(data).digest()),
                )
            ),
        )
    )


def _image_initiate(state: MeterState, context: AssociationContext, parameters: Any) -> Any:
    try:
        identifier, size = bytes(parameters[0]), int(parameters[1])
    except (TypeError, ValueError, IndexError):
        return ActionResult.TYPE_UNMATCHED
    if not 0 < size <= 16 * 1024 * 1024:
        return ActionResult.OTHER_REASON
    state.image = _Image(identifier, size)
    return None


def _image_block(state: MeterState, context: AssociationContext, parameters: Any) -> Any:
    image = state.image
    if image is None:
        return ActionResult.TEMPORARY_FAILURE
    try:
        number, value = int(parameters[0]), bytes(parameters[1])
    except (TypeError, ValueError, IndexError):
        return ActionResult.TYPE_UNMATCHED
    if not 0 <= number < image.block_count or len(value) > _IMAGE_BLOCK_SIZE:
        return ActionResult.OTHER_REASON
    image.blocks[number] = value
    image.status = 1
    return None


def _image_verify(state: MeterState, context: AssociationContext, parameters: Any) -> Any:
    image = state.image
    if image is None:
        return ActionResult.TEMPORARY_FAILURE
    image.status = 3 if image.complete() else 4
    return None if image.status == 3 else ActionResult.OTHER_REASON


def _image_activate(state: MeterState, context: AssociationContext, parameters: Any) -> Any:
    image = state.image
    if image is None or image.status not in (3, 6):
        return ActionResult.TEMPORARY_FAILURE
    image.status = 6
    state.firmware = image.identifier
    return None


def _frame_counter(state: MeterState, context: AssociationContext, selection: Any) -> Any:
    store = state.simulator._counter_stores.get(state.index)
    return DoubleLongUnsigned(0 if store is None else store.highest_received)


# -- push setup (class 40) -------------------------------------------------------------------

_PUSH_OBJECTS: tuple[tuple[int, Obis, int], ...] = (
    (1, LOGICAL_DEVICE_NAME, 2),
    (8, CLOCK, 2),
    (3, ENERGY[0], 2),
    (3, ENERGY[1], 2),
)


def _push_destination(state: MeterState) -> Any:
    overrides = state.overrides or {}
    return overrides.get(
        (40, PUSH_SETUP, 3),
        Structure((Enum(0), OctetString(state.simulator.push_destination.encode()), Enum(0))),
    )


def _push_destination_getter(state: MeterState, context: AssociationContext, selection: Any) -> Any:
    return _push_destination(state)


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
    objects.append(
        ObjectDef(
            18,
            IMAGE_TRANSFER,
            {
                2: AttributeDef(DoubleLongUnsigned(_IMAGE_BLOCK_SIZE), access=everyone_but_public),
                3: AttributeDef(getter=_image_blocks_status, access=everyone_but_public),
                4: AttributeDef(getter=_image_first_missing, access=everyone_but_public),
                5: AttributeDef(True, access=everyone_but_public),
                6: AttributeDef(getter=_image_status, access=everyone_but_public),
                7: AttributeDef(getter=_image_to_activate, access=everyone_but_public),
            },
            {
                1: MethodDef(_image_initiate, may_act),
                2: MethodDef(_image_block, may_act),
                3: MethodDef(_image_verify, may_act),
                4: MethodDef(_image_activate, may_act),
            },
        )
    )
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
                        for c, o, a in _PUSH_OBJECTS
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
            _date_time(at),
            *(DoubleLongUnsigned(state.energy(r, at) & 0xFFFFFFFF) for r in range(4)),
        )

    return ProfileRows(count, row)


def _billing_rows(state: MeterState) -> ProfileRows:
    count = state.simulator.billing_days
    last = math.floor(state.now() / _DAY) * _DAY

    def row(index: int) -> Sequence[Any]:
        at = last - (count - 1 - index) * _DAY
        return (
            _date_time(at),
            DoubleLongUnsigned(state.energy(0, at) & 0xFFFFFFFF),
            DoubleLongUnsigned(state.energy(1, at) & 0xFFFFFFFF),
        )

    return ProfileRows(count, row)


# ---------------------------------------------------------------------------------------------
# The simulator


@dataclass(frozen=True, slots=True)
class MeterTarget:
    """How to reach one meter: the URL and its addresses (``server``; HDLC's
    ``physical_address``, given to :func:`asyncdlms.connect` in ``link``)."""

    index: int
    url: str
    server: int
    physical_address: int | None

    def connect_arguments(self) -> dict[str, Any]:
        """``url`` plus the address keywords for :func:`asyncdlms.connect` (``server``, and
        ``link`` with the physical address)."""
        from ..aio.link_settings import LinkSettings

        link = LinkSettings(physical_address=self.physical_address)
        return {"url": self.url, "server": self.server, "link": link}


class Simulator:
    """N virtual meters served from this process (see the module documentation).

    >>> # async with Simulator(meters=10, interface="wrapper") as sim:
    >>> #     async with sim.connect(3) as meter: ...

    - ``interface``: ``"wrapper"`` or ``"hdlc"``; ``transport``: ``"tcp"`` or ``"udp"``
      (wrapper only).
    - ``port``: the first port (0: chosen by the OS); ``shared_port``: all meters on one
      port, selected by address (wrapper wPort ``1 + index``, HDLC server address logical 1,
      physical ``16 + index``), else one port each (``port + index`` when ``port`` is set).
    - ``associations``: client SAP -> :class:`AssociationPolicy` (default
      :func:`default_associations`); ``system_title`` of each meter is ``b"ADS"`` and the
      last 5 bytes of its serial number, or ``system_title`` + its index when given (8
      bytes; :meth:`meter_system_title`). A client's system title (calling-AP-title) is
      accepted whatever it is; HLS-SHA256 and ciphering use it.
    - ``max_pdu_size``: the server max receive PDU size; ``hdlc_parameters``: the HDLC
      proposal (max info length, window); ``inactivity_timeout``: seconds.
    - ``load_profile_days`` / ``billing_days``: profile history.
    - ``faults``: for every meter (:class:`~.endpoint.Faults`), :meth:`set_faults` for one;
      ``refuse_associations``: ``True`` or the indexes of meters that reject every AARQ.
    - ``time_source``: the wall clock (``time.time``); tests pass their own.
    - ``settings_factory``: ``(meter index, default ServerSettings) -> ServerSettings`` to
      change anything else (e.g. a protection factory for ciphering).
    - ``gbt_window_size``: offer general-block-transfer with this window (0: not offered).
    - ``invocation_counter_hint``: a ciphered meter answers a reused or lower client counter
      with invocation-counter-error and the counter it expects (quirk 3), where by default it
      rejects the AARQ or drops the APDU, like most meters.
    - ``short_names``: an SN meter: every object gets a base name (from 0x0100, 0x100
      apart), the Association SN object (base name 0xFA00) lists them, and, unless
      ``associations`` are given, every association uses short-name referencing
      (:func:`short_name_associations`; connect with
      ``settings=ClientSettings.for_referencing("sn")``).
    - ``security_keys``: per-meter key pairs and certificates of security suite 1 or 2
      (:class:`~.security_setup.SimulatedSecurity`; :meth:`meter_certificate`), in every
      association of that suite and in the Security setup object 0.0.43.0.0.255.
    - ``limits``: what the servers tolerate from their peers (:class:`~.limits.ServerLimits`;
      ``None``: the defaults).
    - ``serial_ports``: serve meter ``i`` on serial line ``serial_ports[i]`` at ``baud_rate``
      (HDLC) instead of TCP; with ``iec`` (:class:`IecResponderSettings`) each line is an
      optical port: IEC 62056-21 mode E opening at 300 baud first, then HDLC at the baud rate
      of ``iec.baud_character``.
    """

    def __init__(
        self,
        meters: int = 1,
        *,
        interface: Literal["wrapper", "hdlc"] = "wrapper",
        transport: Literal["tcp", "udp"] = "tcp",
        host: str = "127.0.0.1",
        port: int = 0,
        shared_port: bool = False,
        associations: Mapping[int, AssociationPolicy] | None = None,
        max_pdu_size: int = 1024,
        hdlc_parameters: HdlcParameters | None = None,
        inactivity_timeout: float | None = None,
        load_profile_days: int = 10,
        billing_days: int = 31,
        faults: Faults | None = None,
        refuse_associations: bool | Collection[int] = False,
        time_source: Callable[[], float] = time.time,
        first_serial: int = 10_000_000,
        push_destination: str = "127.0.0.1:4059",
        short_names: bool = False,
        settings_factory: Callable[[int, ServerSettings], ServerSettings] | None = None,
        system_title: bytes | None = None,
        serial_ports: Sequence[str] = (),
        baud_rate: int = 9600,
        iec: IecResponderSettings | None = None,
        gbt_window_size: int = 0,
        invocation_counter_hint: bool = False,
        limits: ServerLimits | None = None,
        security_keys: SimulatedSecurity | None = None,
    ) -> None:
        if meters < 1:
            raise ValueError("meters must be at least 1")
        if shared_port and interface == "hdlc" and meters > 16000:
            raise ValueError("HDLC physical addresses give at most 16000 meters on one port")
        if shared_port and meters > 0xFFFE:
            raise ValueError("wrapper wPorts give at most 65534 meters on one port")
        self.config = LinkConfig(
            interface, transport, hdlc_parameters or HdlcParameters(), inactivity_timeout
        )
        self.host = host
        self.port = port
        self.shared_port = shared_port
        self.associations = dict(associations or default_associations())
        if short_names and associations is None:  # an SN meter: every association SN
            self.associations = short_name_associations(self.associations)
        self.max_pdu_size = max_pdu_size
        self.load_profile_days = load_profile_days
        self.billing_days = billing_days
        self.faults = faults
        self.refuse_associations = refuse_associations
        self.time = time_source
        self.first_serial = first_serial
        self.push_destination = push_destination
        self.settings_factory = settings_factory
        if system_title is not None and len(system_title) != 8:
            raise ValueError(f"a system title is 8 bytes long, not {len(system_title)}")
        self.system_title = system_title
        self.serial_ports = tuple(serial_ports)
        if not 0 <= gbt_window_size <= 63:
            raise ValueError("gbt_window_size must be 0 (no GBT) or 1..63")
        self.gbt_window_size = gbt_window_size
        self.invocation_counter_hint = invocation_counter_hint
        self.limits = limits
        self.security_keys = security_keys
        self._budget = ConnectionBudget()  # the connection caps count all ports together
        self.baud_rate = baud_rate
        self.iec = iec
        if self.serial_ports and interface != "hdlc":
            raise ValueError("serial lines carry HDLC: use interface='hdlc'")
        if len(self.serial_ports) > meters:
            raise ValueError("more serial ports than meters")
        self.model = meter_model(
            tuple(self.associations),
            load_profile_days=load_profile_days,
            billing_days=billing_days,
            short_names=short_names,
            ciphered=any(p.security is not None for p in self.associations.values()),
        )
        self.meters: list[MeterState] = [MeterState(self, i) for i in range(meters)]
        self._faults: dict[int, Faults | None] = {}
        self._counter_stores: dict[int, _MeterCounterStore] = {}
        self.servers: list[DlmsServer] = []
        self.targets: list[MeterTarget] = []
        self.pushes_sent = 0
        self._push_tasks: set[asyncio.Task[None]] = set()

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> Simulator:
        """Start listening (one server, or one per meter)."""
        scheme = {"hdlc": "hdlc+tcp", "wrapper": self.config.transport}[self.config.interface]
        try:
            if self.serial_ports:
                for index, path in enumerate(self.serial_ports):
                    server = DlmsServer(
                        self._resolver_for(index), self.config, self.limits, self._budget
                    )
                    await server.start_serial(path, self.baud_rate, self.iec)
                    self.servers.append(server)
                    url = f"serial://{path}?baud={self.baud_rate}"
                    self.targets.append(self._target(index, url, False))
            elif self.shared_port:
                server = DlmsServer(self._resolve_shared, self.config, self.limits, self._budget)
                host, port = await server.start(self.host, self.port)
                self.servers.append(server)
                for index in range(len(self.meters)):
                    self.targets.append(self._target(index, f"{scheme}://{host}:{port}", True))
            else:
                for index in range(len(self.meters)):
                    server = DlmsServer(
                        self._resolver_for(index), self.config, self.limits, self._budget
                    )
                    port = self.port + index if self.port else 0
                    host, bound = await server.start(self.host, port)
                    self.servers.append(server)
                    self.targets.append(self._target(index, f"{scheme}://{host}:{bound}", False))
        except BaseException:
            await self.close()
            raise
        return self

    def _target(self, index: int, url: str, shared: bool) -> MeterTarget:
        if self.config.interface == "hdlc":
            return MeterTarget(index, url, 1, 16 + index if shared else None)
        return MeterTarget(index, url, 1 + index if shared else 1, None)

    async def close(self) -> None:
        """Stop every server and pending push."""
        for task in list(self._push_tasks):
            task.cancel()
        for server in self.servers:
            await server.close()
        self.servers.clear()
        self.targets.clear()

    async def __aenter__(self) -> Simulator:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- addressing ---------------------------------------------------------------------------

    @property
    def urls(self) -> list[str]:
        """One URL per meter (the same URL for every meter on a shared port)."""
        return [target.url for target in self.targets]

    def connect(self, index: int = 0, **kwargs: Any) -> Any:
        """:func:`asyncdlms.connect` to meter ``index`` (keywords passed on: ``client``,
        ``auth``, ``password``, ``timeout``...; a ``link`` without a physical address gets
        the meter's)."""
        from ..aio.client import connect

        arguments = self.targets[index].connect_arguments()
        url = arguments.pop("url")
        link = kwargs.get("link")
        if link is not None and link.physical_address is None:
            physical = arguments["link"].physical_address
            kwargs["link"] = replace(link, physical_address=physical)
        arguments.update(kwargs)
        return connect(url, **arguments)

    def _resolve_shared(self, address: Address) -> Served | None:
        if isinstance(address, HdlcAddress):
            if address.logical != 1 or address.physical is None:
                return None
            index = address.physical - 16
        else:
            index = address - 1
        if not 0 <= index < len(self.meters):
            return None
        return self._served(index)

    def _resolver_for(self, index: int) -> Callable[[Address], Served | None]:
        def resolve(address: Address) -> Served | None:
            if isinstance(address, HdlcAddress):
                if address.logical != 1 or address.physical not in (None, 16 + index):
                    return None
            elif address != 1:
                return None
            return self._served(index)

        return resolve

    def _served(self, index: int) -> Served:
        refused = self.refuse_associations
        refuses = refused is True or (not isinstance(refused, bool) and index in refused)
        settings = ServerSettings(
            policies={} if refuses else self._policies(index),
            server_max_receive_pdu_size=self.max_pdu_size,
            system_title=self.meter_system_title(index),
            gbt_window_size=max(self.gbt_window_size, 1),
        )
        if self.security_keys is not None:  # the meter's own keys and certificates
            settings = self.security_keys.apply(index, settings)
        if self.settings_factory is not None:
            settings = self.settings_factory(index, settings)
        faults = self._faults.get(index, self.faults)
        return Served(
            settings,
            LogicalDevice(self.model, self.meters[index]),
            faults,
            lambda: self._faults.get(index, self.faults),
        )

    def meter_system_title(self, index: int) -> bytes:
        """The system title of meter ``index`` (its responding-AP-title, used by HLS-SHA256
        and ciphering): ``system_title`` + ``index`` when one was given, else ``b"ADS"`` and
        the last 5 bytes of its serial number."""
        if self.system_title is not None:
            number = (int.from_bytes(self.system_title, "big") + index) % (1 << 64)
            return number.to_bytes(8, "big")
        serial = self.meters[index].serial_number
        return b"ADS" + (serial & 0xFFFFFFFFFF).to_bytes(5, "big")

    def meter_certificate(self, index: int, usage: KeyUsage = KeyUsage.DIGITAL_SIGNATURE) -> Any:
        """The certificate of meter ``index`` (``security_keys`` must be set)."""
        if self.security_keys is None:
            raise ValueError("meter certificates need Simulator(security_keys=...)")
        return self.security_keys.meter_certificate(index, self.meter_system_title(index), usage)

    def _policies(self, index: int) -> Mapping[int, AssociationPolicy]:
        """The policies of meter ``index``: ciphered ones share the meter's own invocation
        counter store (made on its first connection, kept for the simulator's life), so
        meters never share counters and a meter never repeats one; with ``gbt_window_size``
        every policy offers general-block-transfer."""
        ciphered = any(policy.security is not None for policy in self.associations.values())
        if not ciphered and not self.gbt_window_size:
            return self.associations
        store: _MeterCounterStore | None = None
        if ciphered:
            store = self._counter_stores.get(index)
            if store is None:
                store = self._counter_stores[index] = _MeterCounterStore()
        policies: dict[int, AssociationPolicy] = {}
        for client, policy in self.associations.items():
            if self.gbt_window_size:
                policy = replace(
                    policy, conformance=policy.conformance | Conformance.GENERAL_BLOCK_TRANSFER
                )
            security = policy.security
            if security is not None and store is not None:
                security = replace(security, counter_store=store)
                if self.invocation_counter_hint:
                    security = replace(security, invocation_counter_hint=True)
                policy = replace(policy, security=security)
            policies[client] = policy
        return policies

    def set_faults(self, index: int, faults: Faults | None) -> None:
        """The faults of meter ``index`` (``None``: none): from its next connection on, and
        silence (``Faults(silent=True)``) at once on its open connections too — a meter that
        stops answering in the middle of an association."""
        self._faults[index] = faults

    # -- push ---------------------------------------------------------------------------------

    def _schedule_push(self, index: int) -> None:
        task = asyncio.get_running_loop().create_task(self.push(index))
        self._push_tasks.add(task)
        task.add_done_callback(self._push_tasks.discard)

    def notification(self, index: int) -> DataNotification:
        """The data-notification of meter ``index``'s push setup (its push object list)."""
        meter = self.meters[index]
        device = LogicalDevice(self.model, meter)
        context = AssociationContext(max(self.associations))
        values = []
        for class_id, obis, attribute_id in _PUSH_OBJECTS:
            value = device.get(
                context, CosemAttributeDescriptor(class_id, obis, attribute_id), None
            )
            values.append(None if isinstance(value, DataAccessResult) else value)
        return DataNotification(
            Data.of(Structure(values)), date_time=_date_time(meter.clock()).to_bytes()
        )

    async def push(self, index: int) -> None:
        """Send meter ``index``'s data-notification to its push destination now
        (``host:port`` over TCP or UDP, in a wrapper frame to wPort 0x66)."""
        meter = self.meters[index]
        destination = _push_destination(meter)
        transport_service, address = int(destination[0]), bytes(destination[1]).decode()
        host, _, port_text = address.rpartition(":")
        wport = 1 + index if self.shared_port else 1
        frame = WrapperFrame(wport, _PUSH_WPORT, self.notification(index).encode()).encode()
        loop = asyncio.get_running_loop()
        if transport_service == 1:  # UDP
            transport, _ = await loop.create_datagram_endpoint(
                asyncio.DatagramProtocol, remote_addr=(host or "127.0.0.1", int(port_text))
            )
            transport.sendto(frame)
            transport.close()
        else:
            _, writer = await asyncio.open_connection(host or "127.0.0.1", int(port_text))
            writer.write(frame)
            await writer.drain()
            writer.close()
            await writer.wait_closed()
        self.pushes_sent += 1

    # -- statistics ---------------------------------------------------------------------------

    @property
    def associations_established(self) -> int:
        """Associations established on every server so far."""
        return sum(server.statistics.associations for server in self.servers)
