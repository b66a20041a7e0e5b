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
- image transfer 0.0.44.0.0.255 (class 18, the whole state machine of :mod:`.image_transfer`:
  block size, bitmap of blocks received, resume, verification that takes time and fails on a
  corrupt image, activation at once or at a time set in the Single action schedule
  0.0.15.0.2.255, or by the Script table 0.0.10.0.107.255); activation changes the active
  firmware identifier 1.0.0.2.0.255. ``image_transfer`` (:class:`ImageTransferSettings`) sets
  it up for every meter, :meth:`Simulator.set_image_transfer_faults` breaks one meter's
  transfer (drop the connection at a block, refuse or corrupt blocks) to test resuming;
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
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from ..apdu.acse import ApplicationContextName, MechanismName
from ..apdu.descriptors import CosemAttributeDescriptor, Data
from ..apdu.enums import DataAccessResult
from ..apdu.initiate import Conformance
from ..apdu.notification import DataNotification
from ..hdlc import HdlcAddress, HdlcParameters
from ..iec62056_21 import IecResponderSettings
from ..security.certificates import KeyUsage
from ..security.counters import KeyIdentity, MemoryInvocationCounterStore
from ..security.general import sign_apdu
from ..security.hls import Secret
from ..session.object_access import AssociationContext
from ..session.server import AssociationPolicy, ServerSettings
from ..types.values import Structure
from ..wrapper.frames import WrapperFrame
from .endpoint import Address, DlmsServer, Faults, LinkConfig, Served
from .image_transfer import ImageTransferFaults, ImageTransferSettings
from .image_transfer_objects import IMAGE_ACTIVATION_SCHEDULE, IMAGE_ACTIVATION_SCRIPT_TABLE
from .limits import ConnectionBudget, ServerLimits
from .meter_objects import (
    BILLING_PROFILE,
    CLOCK,
    CURRENT,
    DISCONNECT_CONTROL,
    ENERGY,
    FIRMWARE_IDENTIFIER,
    FRAME_COUNTER,
    IMAGE_TRANSFER,
    LOAD_PROFILE,
    LOGICAL_DEVICE_NAME,
    POWER_EXPORT,
    POWER_IMPORT,
    PUSH_OBJECTS,
    PUSH_SETUP,
    SERIAL_NUMBER,
    VOLTAGE,
    MeterState,
    date_time_at,
    meter_model,
    push_destination,
)
from .model import LogicalDevice
from .security_setup import SimulatedSecurity

__all__ = [
    "BILLING_PROFILE",
    "CLOCK",
    "CURRENT",
    "DEFAULT_HLS_SECRET",
    "DEFAULT_PASSWORD",
    "DISCONNECT_CONTROL",
    "ENERGY",
    "FIRMWARE_IDENTIFIER",
    "FRAME_COUNTER",
    "IMAGE_ACTIVATION_SCHEDULE",
    "IMAGE_ACTIVATION_SCRIPT_TABLE",
    "IMAGE_TRANSFER",
    "LOAD_PROFILE",
    "LOGICAL_DEVICE_NAME",
    "POWER_EXPORT",
    "POWER_IMPORT",
    "PUSH_SETUP",
    "SERIAL_NUMBER",
    "SN_SERVER_CONFORMANCE",
    "VOLTAGE",
    "ImageTransferFaults",
    "ImageTransferSettings",
    "MeterState",
    "MeterTarget",
    "Simulator",
    "access_granted",
    "default_associations",
    "meter_model",
    "short_name_associations",
]

DEFAULT_PASSWORD = b"12345678"
DEFAULT_HLS_SECRET = b"Gurux1234567890!"

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


def access_granted(policy: AssociationPolicy) -> AssociationPolicy:
    """``policy`` offering the ACCESS service too (conformance bit 17) when it is a
    logical-name association (ACCESS names objects by logical name)."""
    logical_name = policy.application_context_name in (
        ApplicationContextName.LOGICAL_NAME,
        ApplicationContextName.LOGICAL_NAME_WITH_CIPHERING,
    )
    if not logical_name or policy.conformance & Conformance.ACCESS:
        return policy
    return replace(policy, conformance=policy.conformance | Conformance.ACCESS)


# ---------------------------------------------------------------------------------------------
# Per-meter state


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


# ---------------------------------------------------------------------------------------------
# The simulator


_BLOCK_TRANSFER_OVERHEAD = 48
"""Bytes of an image_block_transfer ACTION request around the block: the request, the method
descriptor, the structure, the block number and the octet-string header (24), and the
ciphering header and tag when ciphered (24 more)."""


def _image_transfer_settings(
    settings: ImageTransferSettings | None, max_pdu_size: int
) -> ImageTransferSettings:
    """``settings``, or by default a block size that fits one ACTION request of the max PDU
    size. A larger block size given on purpose is kept: clients send such blocks in pblocks
    (block transfer with action), as meters with large image blocks require."""
    if settings is None:
        default = ImageTransferSettings()
        largest = max_pdu_size - _BLOCK_TRANSFER_OVERHEAD
        return replace(default, block_size=max(min(default.block_size, largest), 1))
    return settings


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
    - ``image_transfer``: how the meters receive firmware (:class:`ImageTransferSettings`:
      block size, verification and activation times, restart on activation, the image
      verifier); :meth:`set_image_transfer_faults` breaks one meter's transfer,
      :meth:`restart_meter` restarts one.
    - ``security_keys``: per-meter key pairs and certificates of security suite 1 or 2
      (:class:`~.security_setup.SimulatedSecurity`; :meth:`meter_certificate`), in every
      association of that suite and in the Security setup object 0.0.43.0.0.255.
    - ``limits``: what the servers tolerate from their peers (:class:`~.limits.ServerLimits`;
      ``None``: the defaults).
    - ``serial_ports``: serve meter ``i`` on serial line ``serial_ports[i]`` at ``baud_rate``
      (HDLC) instead of TCP; with ``iec`` (:class:`IecResponderSettings`) each line is an
      optical port: IEC 62056-21 mode E opening at 300 baud first, then HDLC at the baud rate
      of ``iec.baud_character``.
    - ``access``: every logical-name association offers the ACCESS service (conformance bit
      17, :func:`access_granted`); on by default.
    - ``sign_pushes``: every push is a general-signing APDU around the data-notification,
      signed by the meter's own signing key (ECDSA of the suite of ``security_keys``, which
      it needs) with its system title as originator and a transaction-id counting up per
      meter, so a receiver knowing the meter's certificate
      (:meth:`meter_certificate`) verifies who sent it and refuses replays.
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
        image_transfer: ImageTransferSettings | None = None,
        access: bool = True,
        sign_pushes: bool = False,
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
        if access:  # the ACCESS service on every logical-name association
            self.associations = {c: access_granted(p) for c, p in self.associations.items()}
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
        if sign_pushes and security_keys is None:
            raise ValueError(
                "sign_pushes needs security_keys=SimulatedSecurity(...): the meters sign "
                "with their own signing keys of security suite 1 or 2"
            )
        self.sign_pushes = sign_pushes
        self._push_signing_counters = MemoryInvocationCounterStore()
        self.image_transfer = _image_transfer_settings(image_transfer, max_pdu_size)
        self._image_transfer_faults: dict[int, ImageTransferFaults] = {}
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
        from ..aio.connect import connect

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

    # -- image transfer and restarts ----------------------------------------------------------

    def set_image_transfer_faults(self, index: int, faults: ImageTransferFaults | None) -> None:
        """The image transfer faults of meter ``index`` (``None``: none), in force (and
        re-armed) at once, on its open connections too."""
        if faults is None:
            self._image_transfer_faults.pop(index, None)
        else:
            self._image_transfer_faults[index] = faults
        machine = self.meters[index].image_transfer
        if machine is not None:
            machine.set_faults(faults)

    def image_transfer_faults(self, index: int) -> ImageTransferFaults | None:
        """The image transfer faults of meter ``index`` (``None``: none)."""
        return self._image_transfer_faults.get(index)

    def drop_connections(self, index: int) -> int:
        """Close meter ``index``'s open TCP connections and serial lines now (nothing more
        is answered on them); how many were closed."""
        meter = self.meters[index]

        def serves_meter(served: Served) -> bool:
            device = served.object_access
            return isinstance(device, LogicalDevice) and device.state is meter

        return sum(server.close_connections(serves_meter) for server in self.servers)

    def restart_meter(self, index: int) -> None:
        """Meter ``index`` restarts: its connections drop, a verification or activation under
        way is abandoned, and with ``ImageTransferFaults(restart_loses_transfer=True)`` the
        image transfer is forgotten."""
        self.drop_connections(index)
        machine = self.meters[index].image_transfer
        if machine is not None:
            machine.restart()

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
        for class_id, obis, attribute_id in PUSH_OBJECTS:
            value = device.get(
                context, CosemAttributeDescriptor(class_id, obis, attribute_id), None
            )
            values.append(None if isinstance(value, DataAccessResult) else value)
        return DataNotification(
            Data.of(Structure(values)), date_time=date_time_at(meter.clock()).to_bytes()
        )

    def push_apdu(self, index: int) -> bytes:
        """The APDU meter ``index`` pushes: its :meth:`notification`, in general-signing
        with the meter's current signing key when ``sign_pushes`` (no recipient: whoever
        listens)."""
        apdu = self.notification(index).encode()
        if not self.sign_pushes or self.security_keys is None:
            return apdu
        keys = self.security_keys
        title = self.meter_system_title(index)
        signing_key = keys.meter(index, title).store.private_key(keys.suite)
        return sign_apdu(
            apdu,
            title,
            b"",
            signing_key,
            keys.suite,
            counter_store=self._push_signing_counters,
        )

    async def push(self, index: int) -> None:
        """Send meter ``index``'s data-notification to its push destination now
        (``host:port`` over TCP or UDP, in a wrapper frame to wPort 0x66)."""
        meter = self.meters[index]
        destination = push_destination(meter)
        transport_service, address = int(destination[0]), bytes(destination[1]).decode()
        host, _, port_text = address.rpartition(":")
        wport = 1 + index if self.shared_port else 1
        frame = WrapperFrame(wport, _PUSH_WPORT, self.push_apdu(index)).encode()
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
