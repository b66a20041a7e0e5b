"""Short-name referencing end to end over TCP: our Client against the simulator as an SN meter
(``Simulator(short_names=True)``, ``settings=ClientSettings.for_referencing("sn")``).

The requests are checked on the wire (the APDUs our client sends), the values against the
simulator's own state."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

import asyncdlms
from asyncdlms.apdu import DataAccessResult
from asyncdlms.apdu.acse import ApplicationContextName, MechanismName
from asyncdlms.apdu.initiate import Conformance
from asyncdlms.apdu.short_name import (
    ParameterizedAccess,
    ReadRequest,
    UnconfirmedWriteRequest,
    VariableName,
    WriteRequest,
)
from asyncdlms.apdu.tags import ApduTag
from asyncdlms.cosem.short_names import ShortNameMap, parse_short_name
from asyncdlms.errors import ShortNameError
from asyncdlms.obis import Obis
from asyncdlms.security.hls import Secret
from asyncdlms.server.simulator import (
    DEFAULT_HLS_SECRET,
    DEFAULT_PASSWORD,
    SN_SERVER_CONFORMANCE,
    Simulator,
)
from asyncdlms.session import ClientSettings
from asyncdlms.session.server import AssociationPolicy
from asyncdlms.types import DateTime, OctetString, Unsigned

START = dt.datetime(2026, 3, 10, 12, 7, 30, tzinfo=dt.UTC)
LDN = Obis("0.0.42.0.0.255")
CLOCK = Obis("0.0.1.0.0.255")
ENERGY = Obis("1.0.1.8.0.255")
LOAD_PROFILE = Obis("1.0.99.1.0.255")
DISCONNECT = Obis("0.0.96.3.10.255")
LLS = {"client": 17, "auth": "low", "password": DEFAULT_PASSWORD}
SN = ClientSettings.for_referencing("sn")


class Wire:
    """The xDLMS APDUs our client sends (wrapper frames: the APDU follows the 8-byte header)."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def __call__(self, direction: str, data: bytes, now: float) -> None:
        if direction == "->" and len(data) > 8:
            self.sent.append(data[8:])

    def of(self, tag: ApduTag) -> list[bytes]:
        return [apdu for apdu in self.sent if apdu[0] == tag]

    def reads(self) -> list[ReadRequest]:
        return [ReadRequest.decode(apdu) for apdu in self.of(ApduTag.READ_REQUEST)]


def base_names(sim: Simulator) -> dict[tuple[int, Obis], int]:
    """The base names the simulator gave its objects (its model, not the wire)."""
    return {
        (item.class_id, item.logical_name): item.base_name
        for item in sim.model.objects
        if item.base_name is not None
    }


@pytest.fixture
async def sim() -> Any:
    async with Simulator(short_names=True, time_source=START.timestamp) as simulator:
        yield simulator


async def test_the_association_sn_object_list(sim: Simulator) -> None:
    wire = Wire()
    async with sim.connect(0, settings=SN, trace=wire) as meter:
        assert meter.short_name_referencing
        objects = await meter.read_short_name_object_list()
        listed = await meter.read_object_list()  # the same list as typed LN-style entries
    assert isinstance(objects, ShortNameMap) and objects.skipped == 0
    expected = base_names(sim)
    assert {(o.class_id, o.logical_name): o.base_name for o in objects} == expected
    association = objects.find("0.0.40.0.0.255", 12)
    assert association is not None
    assert (association.base_name, association.version) == (0xFA00, 2)
    energy = objects.find(ENERGY, 3)
    assert energy is not None and energy.base_name == expected[(3, ENERGY)]
    # the list is read as variable-name 0xFA08 (Association SN attribute 2), nothing else
    assert [r.variable_access_specification for r in wire.reads()] == [(VariableName(0xFA08),)] * 2
    assert [(e.class_id, e.logical_name) for e in listed] == [
        (o.class_id, o.logical_name) for o in objects
    ]
    assert not any(e.access_rights_present for e in listed)


async def test_read_one_and_several_short_names(sim: Simulator) -> None:
    names = base_names(sim)
    ldn_value = names[(1, LDN)] + 8
    energy_value = names[(3, ENERGY)] + 8
    energy_scaler = names[(3, ENERGY)] + 16
    wire = Wire()
    async with sim.connect(0, settings=SN, trace=wire) as meter:
        name = await meter.read(ldn_value)
        several = await meter.read([energy_value, ldn_value, 0x7770, energy_scaler])
    assert name == b"ADS" + str(sim.meters[0].serial_number).rjust(13, "0").encode()
    assert several[0] == sim.meters[0].energy(0)
    assert several[1] == name
    assert list(several[3]) == [0, 30]  # scaler 0, unit Wh
    error = several[2]
    assert isinstance(error, ShortNameError)
    assert error.short_name == 0x7770 and error.result is DataAccessResult.OBJECT_UNDEFINED
    assert "0x7770" in str(error) and "object-undefined" in str(error)
    # one ReadRequest for the four names (multiple references), on the wire
    reads = wire.reads()
    assert [len(r.variable_access_specification) for r in reads] == [1, 4]
    assert reads[1].variable_access_specification == tuple(
        VariableName(n) for n in (energy_value, ldn_value, 0x7770, energy_scaler)
    )


@pytest.mark.parametrize("interface", ["wrapper", "hdlc"])
async def test_by_obis_on_an_sn_meter(interface: str) -> None:
    async with Simulator(
        short_names=True,
        interface=interface,  # type: ignore[arg-type]
        time_source=START.timestamp,
    ) as sim:
        names = base_names(sim)
        async with sim.connect(0, settings=SN, **LLS) as meter:
            energy = await meter.get(3, ENERGY, 2)
            many = await meter.get_many([(3, ENERGY, 2), (1, LDN, 2), (3, "9.9.9.9.9.9", 2)])
            quantity = await meter.read_register(ENERGY)
            clock = await meter.read_clock()
            rows = await meter.read_profile(LOAD_PROFILE, entries=(1, 3))
            ranged = await meter.read_profile(
                LOAD_PROFILE, start=START - dt.timedelta(hours=1), end=START
            )
            association_name = await meter.get(15, "0.0.40.0.0.255", 1)  # LN's class, SN's object
        state = sim.meters[0]
        assert energy == state.energy(0)
        assert many[0] == state.energy(0) and many[1] == await_ldn(state)
        missing = many[2]
        assert isinstance(missing, ShortNameError) and missing.short_name is None
        assert missing.result is DataAccessResult.OBJECT_UNDEFINED
        assert "3/9.9.9.9.9.9" in str(missing) and "short-name object list" in str(missing)
        assert quantity.value == state.energy(0) and quantity.unit.symbol == "Wh"
        assert clock == START
        assert len(rows) == 3 and rows[1].timestamp - rows[0].timestamp == dt.timedelta(minutes=15)
        assert rows[0].values[1] == state.energy(0, rows[0].timestamp.timestamp())
        assert [r.timestamp for r in ranged] == [
            dt.datetime(2026, 3, 10, 11, 15, tzinfo=dt.UTC) + dt.timedelta(minutes=15 * i)
            for i in range(4)
        ]
        assert association_name == bytes(Obis("0.0.40.0.0.255").to_bytes())
        assert names[(12, Obis("0.0.40.0.0.255"))] == 0xFA00


def await_ldn(state: Any) -> bytes:
    return b"ADS" + str(state.serial_number).rjust(13, "0").encode()


async def test_the_object_list_is_read_once_per_client(sim: Simulator) -> None:
    wire = Wire()
    async with sim.connect(0, settings=SN, trace=wire, **LLS) as meter:
        await asyncio.gather(
            *(meter.get(3, ENERGY, 2) for _ in range(5)),
            meter.read_register(ENERGY),
            meter.read_clock(),
        )
        await meter.get(1, LDN, 2)
    lists = [r for r in wire.reads() if r.variable_access_specification == (VariableName(0xFA08),)]
    assert len(lists) == 1
    assert len(wire.reads()) == 1 + 5 + 1 + 1 + 1  # the list, then one read per call


async def test_write_and_unconfirmed_write(sim: Simulator) -> None:
    clock_time = base_names(sim)[(8, CLOCK)] + 8
    wire = Wire()
    async with sim.connect(0, settings=SN, trace=wire, **LLS) as meter:
        later = START + dt.timedelta(hours=2)
        await meter.write(clock_time, OctetString(DateTime.from_datetime(later).to_bytes()))
        assert await meter.read_clock() == later
        earlier = START - dt.timedelta(hours=1)
        await meter.unconfirmed_write(
            clock_time, OctetString(DateTime.from_datetime(earlier).to_bytes())
        )
        assert await meter.read_clock() == earlier  # the next answer proves it arrived first
        await meter.set_clock(START)  # by OBIS: a WriteRequest of the same short name
        assert await meter.read_clock() == START
    writes = [WriteRequest.decode(a) for a in wire.of(ApduTag.WRITE_REQUEST)]
    assert [w.variable_access_specification for w in writes] == [(VariableName(clock_time),)] * 2
    unconfirmed = [
        UnconfirmedWriteRequest.decode(a) for a in wire.of(ApduTag.UNCONFIRMED_WRITE_REQUEST)
    ]
    assert [u.variable_access_specification for u in unconfirmed] == [(VariableName(clock_time),)]
    assert sim.meters[0].clock() == pytest.approx(START.timestamp(), abs=1)


async def test_errors_name_the_short_name_and_the_result(sim: Simulator) -> None:
    clock_time = base_names(sim)[(8, CLOCK)] + 8
    async with sim.connect(0, settings=SN) as meter:  # the public client may only read
        with pytest.raises(ShortNameError) as denied:
            await meter.write(clock_time, OctetString(DateTime.from_datetime(START).to_bytes()))
        with pytest.raises(ShortNameError) as by_obis:
            await meter.set(8, CLOCK, 2, OctetString(DateTime.from_datetime(START).to_bytes()))
        with pytest.raises(ShortNameError) as undefined:
            await meter.read(0x7770)
        with pytest.raises(ShortNameError) as unknown_object:
            await meter.get(3, "9.9.9.9.9.9", 2)
        with pytest.raises(ShortNameError) as wrong_class:
            await meter.get(4, ENERGY, 2)
    for caught in (denied, by_obis):
        assert caught.value.result is DataAccessResult.READ_WRITE_DENIED
        assert caught.value.short_name == clock_time
        assert f"0x{clock_time:04X}" in str(caught.value)
        assert "read-write-denied" in str(caught.value)
    # once the object list is known the message names the attribute too
    assert "attribute 2 of 8/0.0.1.0.0.255" in str(by_obis.value)
    assert undefined.value.result is DataAccessResult.OBJECT_UNDEFINED
    assert unknown_object.value.short_name is None
    assert "listed with class 3" in str(wrong_class.value)


async def test_short_name_services_need_an_sn_association() -> None:
    async with Simulator(time_source=START.timestamp) as sim, sim.connect(0) as meter:
        assert not meter.short_name_referencing
        with pytest.raises(ValueError, match="for_referencing\\('sn'\\)"):
            await meter.read(0x0108)
        with pytest.raises(ValueError, match="for_referencing\\('sn'\\)"):
            await meter.write(0x0108, Unsigned(1))
    with pytest.raises(ValueError, match="unknown referencing"):
        asyncdlms.ClientSettings.for_referencing("xx")


async def test_action_by_obis_is_a_parameterized_read(sim: Simulator) -> None:
    """Disconnect control (class 70) methods on the management client (HLS-MD5 over SN:
    reply_to_HLS is Association SN method 8): method m at base_name + 0x20 + 8·(m − 1)."""
    base = base_names(sim)[(70, DISCONNECT)]
    wire = Wire()
    async with sim.connect(
        0, settings=SN, client=18, auth="md5", password=DEFAULT_HLS_SECRET, trace=wire
    ) as meter:
        await meter.action(70, DISCONNECT, 1, 0)
        assert sim.meters[0].disconnected_since is not None
        assert await meter.get(70, DISCONNECT, 2) is False  # output_state
        await meter.action(70, DISCONNECT, 2, 0)
        assert sim.meters[0].disconnected_since is None
    methods = [
        spec
        for r in wire.reads()
        for spec in r.variable_access_specification
        if isinstance(spec, ParameterizedAccess) and base + 0x20 <= spec.variable_name < base + 0x30
    ]
    assert [m.variable_name for m in methods] == [base + 0x20, base + 0x28]


async def test_action_is_a_write_without_parameterized_access() -> None:
    policy = AssociationPolicy(
        MechanismName.LOW,
        Secret(DEFAULT_PASSWORD),
        application_context_name=ApplicationContextName.SHORT_NAME,
        conformance=Conformance(SN_SERVER_CONFORMANCE & ~Conformance.PARAMETERIZED_ACCESS),
    )
    async with Simulator(
        short_names=True, associations={18: policy}, time_source=START.timestamp
    ) as sim:
        base = base_names(sim)[(70, DISCONNECT)]
        wire = Wire()
        async with sim.connect(
            0, settings=SN, client=18, auth="low", password=DEFAULT_PASSWORD, trace=wire
        ) as meter:
            assert await meter.action(70, DISCONNECT, 1, 0) is None
            assert sim.meters[0].disconnected_since is not None
    writes = [WriteRequest.decode(a) for a in wire.of(ApduTag.WRITE_REQUEST)]
    assert [w.variable_access_specification for w in writes] == [(VariableName(base + 0x20),)]


def test_parse_short_name() -> None:
    assert parse_short_name("0xFA00") == 0xFA00
    assert parse_short_name("FA08h") == 0xFA08
    assert parse_short_name("264") == 0x108
    for bad in ("0x10000", "-1", "sn"):
        with pytest.raises(ValueError):
            parse_short_name(bad)


async def test_a_ciphered_sn_association_with_hls_gmac() -> None:
    """Short names with authenticated encryption and HLS-GMAC (reply_to_HLS_authentication is
    Association SN method 8, a parameterized read of 0xFA38), every APDU ciphered."""
    from asyncdlms.security.ciphering import SecurityPolicy
    from asyncdlms.session.server import ServerSecurity

    block_cipher_key, authentication_key = bytes(range(16)), bytes(range(16, 32))
    policy = AssociationPolicy(
        MechanismName.HIGH_GMAC,
        security=ServerSecurity(
            Secret(block_cipher_key),
            Secret(authentication_key),
            SecurityPolicy.AUTHENTICATED_ENCRYPTION,
        ),
        application_context_name=ApplicationContextName.SHORT_NAME,
        conformance=SN_SERVER_CONFORMANCE,
    )
    assert policy.application_context_name is ApplicationContextName.SHORT_NAME_WITH_CIPHERING
    async with Simulator(
        short_names=True, associations={1: policy}, time_source=START.timestamp
    ) as sim:
        wire = Wire()
        async with sim.connect(
            0, client=1, settings=SN, auth="gmac", security="ae",
            system_title=b"CLI00001", block_cipher_key=block_cipher_key,
            authentication_key=authentication_key, trace=wire,
        ) as meter:  # fmt: skip
            assert await meter.read_register(ENERGY) == await meter.read_register(ENERGY)
            assert (await meter.read_register(ENERGY)).value == sim.meters[0].energy(0)
            await meter.action(70, DISCONNECT, 1, 0)
        assert sim.meters[0].disconnected_since is not None
    # nothing went out as a plain ReadRequest or WriteRequest: every xDLMS APDU was ciphered
    assert not wire.of(ApduTag.READ_REQUEST) and not wire.of(ApduTag.WRITE_REQUEST)
    assert len(wire.of(ApduTag.GLO_READ_REQUEST)) >= 5  # list, 3 registers, HLS, the method


async def test_several_names_answered_in_blocks() -> None:
    """A ReadRequest of several variables whose answer exceeds our max receive PDU comes in
    data-block-results; the joined blocks are the list of Read-Results."""
    async with Simulator(short_names=True, time_source=START.timestamp) as sim:
        names = base_names(sim)
        buffer = names[(7, LOAD_PROFILE)] + 8
        wire = Wire()
        small = ClientSettings.for_referencing("sn", client_max_receive_pdu_size=256)
        async with sim.connect(0, settings=small, trace=wire, **LLS) as meter:
            whole, ldn, missing = await meter.read([buffer, names[(1, LDN)] + 8, 0x7770])
            rows = await meter.read_profile(LOAD_PROFILE)
    assert len(whole) == len(rows) == 10 * 96
    assert [list(r) for r in whole[:3]] == [list(r.raw) for r in rows[:3]]
    assert ldn == await_ldn(sim.meters[0])
    assert isinstance(missing, ShortNameError) and missing.short_name == 0x7770
    asked = (VariableName(buffer), VariableName(names[(1, LDN)] + 8), VariableName(0x7770))
    assert sum(1 for r in wire.reads() if r.variable_access_specification == asked) == 1
    assert len(wire.reads()) > 2 * 40  # the block-number requests of both transfers


async def test_single_reads_when_multiple_references_are_not_granted() -> None:
    policy = AssociationPolicy(
        application_context_name=ApplicationContextName.SHORT_NAME,
        conformance=Conformance(SN_SERVER_CONFORMANCE & ~Conformance.MULTIPLE_REFERENCES),
    )
    async with Simulator(
        short_names=True, associations={16: policy}, time_source=START.timestamp
    ) as sim:
        names = base_names(sim)
        wire = Wire()
        async with sim.connect(0, settings=SN, trace=wire) as meter:
            values = await meter.read([names[(1, LDN)] + 8, names[(3, ENERGY)] + 8])
            quantity = await meter.read_register(ENERGY)
    assert values == [await_ldn(sim.meters[0]), sim.meters[0].energy(0)]
    assert quantity.value == sim.meters[0].energy(0)
    assert all(len(r.variable_access_specification) == 1 for r in wire.reads())
    assert len(wire.reads()) == 2 + 1 + 2  # two names, the object list, value and scaler
