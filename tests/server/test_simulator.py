"""Our client (asyncdlms.connect) against the simulator over loopback TCP/UDP: registers,
clock, profiles, writes, disconnect control, image transfer, object list, many meters on
one port, faults. Nothing here asserts a duration."""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

import pytest

from asyncdlms import LinkSettings
from asyncdlms.apdu.acse import MechanismName
from asyncdlms.apdu.initiate import Conformance
from asyncdlms.apdu.notification import DataNotification
from asyncdlms.cosem import Unit
from asyncdlms.cosem.image_transfer import (
    firmware_image,
    image_block_transfer_parameter,
    image_transfer_initiate_parameter,
    image_verify_parameter,
    parse_image_to_activate_info,
    split_image,
)
from asyncdlms.errors import (
    AssociationError,
    DataAccessError,
    DlmsError,
    RequestTimeoutError,
)
from asyncdlms.hdlc import HdlcParameters
from asyncdlms.security.hls import Secret
from asyncdlms.server import Faults, Simulator
from asyncdlms.session.server import AssociationPolicy
from asyncdlms.session.settings import ClientSettings
from asyncdlms.types.values import Enum, Integer, OctetString, Structure
from asyncdlms.wrapper.frames import WrapperSplitter

from .conftest import START, FakeTime

PASSWORD = b"12345678"
HLS_SECRET = b"Gurux1234567890!"
ASSOCIATIONS = {
    16: AssociationPolicy(),
    17: AssociationPolicy(MechanismName.LOW, Secret(PASSWORD)),
    18: AssociationPolicy(MechanismName.HIGH_MD5, Secret(HLS_SECRET)),
    19: AssociationPolicy(MechanismName.HIGH_SHA1, Secret(HLS_SECRET)),
    20: AssociationPolicy(MechanismName.HIGH_SHA256, Secret(HLS_SECRET)),
}
AUTH = {16: ("none", None), 17: ("low", PASSWORD), 18: ("md5", HLS_SECRET),
        19: ("sha1", HLS_SECRET), 20: ("sha256", HLS_SECRET)}  # fmt: skip


PATIENT = LinkSettings(response_timeout=0.1, retries=10)
"""HDLC: a short retransmission timeout and many retries (lossy or slow lines)."""
IMPATIENT = LinkSettings(response_timeout=0.1, retries=0)
"""HDLC: give up on the first silence."""


def simulator(fake_time: FakeTime, **kwargs: Any) -> Simulator:
    kwargs.setdefault("associations", ASSOCIATIONS)
    return Simulator(time_source=fake_time, **kwargs)


def login(sim: Simulator, index: int = 0, client: int = 18, **kwargs: Any) -> Any:
    auth, password = AUTH[client]
    kwargs.setdefault("timeout", 5.0)
    if client == 20:  # HLS SHA-256 needs the client system title
        kwargs.setdefault("system_title", b"CLI00001")
    return sim.connect(index, client=client, auth=auth, password=password, **kwargs)


@pytest.mark.parametrize("interface", ["wrapper", "hdlc"])
@pytest.mark.parametrize("client", [16, 17, 18, 19, 20])
async def test_registers_with_scaler_and_unit(
    fake_time: FakeTime, interface: str, client: int
) -> None:
    async with simulator(fake_time, interface=interface) as sim:
        meter_state = sim.meters[0]
        async with login(sim, client=client) as meter:
            energy = await meter.read_register("1.0.1.8.0.255")
            assert energy.unit == Unit.WATT_HOUR
            assert energy.value == meter_state.energy(0)
            voltage = await meter.read_register("1.0.32.7.0.255")
            assert voltage.unit == Unit.VOLT
            assert 220 < float(voltage.value) < 240
            reactive = await meter.read_register("1.0.3.8.0.255")
            assert reactive.unit == Unit.VAR_HOUR
            name = await meter.get(1, "0.0.42.0.0.255", 2)
            assert name == b"ADS0000010000000"
        assert sim.associations_established == 1


async def test_clock_ticks_and_energy_grows(fake_time: FakeTime) -> None:
    async with simulator(fake_time) as sim, login(sim) as meter:
        first = await meter.read_clock()
        energy = (await meter.read_register("1.0.1.8.0.255")).value
        fake_time.advance(3600)
        second = await meter.read_clock()
        assert first == START.replace(microsecond=0)
        assert second - first == datetime.timedelta(hours=1)
        assert (await meter.read_register("1.0.1.8.0.255")).value > energy


async def test_set_then_read_back(fake_time: FakeTime) -> None:
    async with simulator(fake_time) as sim, login(sim) as meter:
        moment = datetime.datetime(2030, 5, 6, 7, 8, 9, tzinfo=datetime.UTC)
        await meter.set_clock(moment)
        assert await meter.read_clock() == moment
        fake_time.advance(10)
        assert await meter.read_clock() == moment + datetime.timedelta(seconds=10)
        await meter.set(70, "0.0.96.3.10.255", 4, Enum(3))
        assert await meter.get(70, "0.0.96.3.10.255", 4) == 3
        destination = Structure((Enum(0), OctetString(b"10.1.2.3:4059"), Enum(0)))
        await meter.set(40, "0.0.25.9.0.255", 3, destination)
        assert await meter.get(40, "0.0.25.9.0.255", 3) == (0, b"10.1.2.3:4059", 0)
    # the public client may not write
    async with simulator(fake_time) as sim, login(sim, client=16) as public:
        with pytest.raises(DataAccessError):
            await public.set_clock(moment)


@pytest.mark.parametrize("interface", ["wrapper", "hdlc"])
async def test_profiles_by_range_and_by_entry_in_blocks(
    fake_time: FakeTime, interface: str
) -> None:
    async with (
        simulator(
            fake_time,
            interface=interface,
            max_pdu_size=256,
            load_profile_days=2,
            billing_days=5,
            hdlc_parameters=HdlcParameters(64, 64, 1, 1),
        ) as sim,
        login(sim, client=17) as meter,
    ):
        everything = await meter.read_profile("1.0.99.1.0.255")
        assert len(everything) == 2 * 96
        last = everything[-1]
        assert last.timestamp == datetime.datetime(2026, 3, 10, 12, 0, tzinfo=datetime.UTC)
        start = datetime.datetime(2026, 3, 10, 9, 0, tzinfo=datetime.UTC)
        end = datetime.datetime(2026, 3, 10, 10, 0, tzinfo=datetime.UTC)
        ranged = await meter.read_profile("1.0.99.1.0.255", start=start, end=end)
        assert [row.timestamp for row in ranged] == [
            start + datetime.timedelta(minutes=15 * i) for i in range(5)
        ]
        energies = [row.raw[1] for row in ranged]
        assert energies == sorted(energies)
        by_entry = await meter.read_profile("1.0.99.1.0.255", entries=(3, 5))
        assert [row.raw for row in by_entry] == [row.raw for row in everything[2:5]]
        billing = await meter.read_profile("0.0.98.1.0.255")
        assert len(billing) == 5
        assert billing[-1].timestamp == datetime.datetime(2026, 3, 10, tzinfo=datetime.UTC)


async def test_client_sap_1_over_hdlc_with_segmented_frames() -> None:
    """Client SAP 1 and the simulator's one-byte server address 1 are the same address byte
    (0x03), so acknowledgements are the same bytes both ways: the segmented AARE used to
    stall (the meter took the client's RR for its own echo)."""
    associations = {1: AssociationPolicy()}
    small_frames = HdlcParameters(32, 32, 1, 1)
    async with (
        Simulator(1, interface="hdlc", associations=associations, hdlc_parameters=small_frames)
        as sim,
        sim.connect(0, client=1, timeout=5) as meter,
    ):  # fmt: skip
        assert await meter.get(1, "0.0.42.0.0.255", 2) == b"ADS%013d" % 10_000_000


async def test_public_client_sees_a_smaller_object_list(fake_time: FakeTime) -> None:
    async with simulator(fake_time) as sim:
        async with login(sim, client=18) as meter:
            full = await meter.read_object_list()
        async with login(sim, client=16) as meter:
            public = await meter.read_object_list()
    assert full.skipped == 0 and public.skipped == 0
    names = {str(e.logical_name) for e in full.entries}
    assert {"0.0.40.0.0.255", "0.0.1.0.0.255", "1.0.99.1.0.255", "0.0.44.0.0.255",
            "0.0.96.3.10.255", "0.0.25.9.0.255"} <= names  # fmt: skip
    assert "1.0.99.1.0.255" not in {str(e.logical_name) for e in public.entries}


async def test_disconnect_control_obeys_actions(fake_time: FakeTime) -> None:
    async with simulator(fake_time) as sim, login(sim) as meter:
        assert await meter.get(70, "0.0.96.3.10.255", 2) is True
        await meter.action(70, "0.0.96.3.10.255", 1, Integer(0))
        assert await meter.get(70, "0.0.96.3.10.255", 2) is False
        assert await meter.get(70, "0.0.96.3.10.255", 3) == 0
        frozen = (await meter.read_register("1.0.1.8.0.255")).value
        assert (await meter.read_register("1.0.1.7.0.255")).value == 0
        fake_time.advance(7200)
        assert (await meter.read_register("1.0.1.8.0.255")).value == frozen
        await meter.action(70, "0.0.96.3.10.255", 2, Integer(0))
        assert await meter.get(70, "0.0.96.3.10.255", 3) == 1
        fake_time.advance(3600)
        assert (await meter.read_register("1.0.1.8.0.255")).value > frozen
        async with login(sim, client=17) as reader:
            with pytest.raises(DlmsError):
                await reader.action(70, "0.0.96.3.10.255", 1, Integer(0))


@pytest.mark.parametrize("interface", ["wrapper", "hdlc"])
async def test_image_transfer_of_a_few_kib(fake_time: FakeTime, interface: str) -> None:
    image = firmware_image(b"FW-2", bytes(i * 7 & 0xFF for i in range(5000)))
    async with simulator(fake_time, interface=interface) as sim, login(sim) as meter:
        block_size = int(await meter.get(18, "0.0.44.0.0.255", 2))
        await meter.action(
            18, "0.0.44.0.0.255", 1, image_transfer_initiate_parameter(b"FW-2", len(image))
        )
        blocks = list(split_image(image, block_size))
        for block in blocks[:-1]:
            await meter.action(
                18, "0.0.44.0.0.255", 2, image_block_transfer_parameter(block.number, block.value)
            )
        assert int(await meter.get(18, "0.0.44.0.0.255", 4)) == len(blocks) - 1
        with pytest.raises(DlmsError):
            await meter.action(18, "0.0.44.0.0.255", 3, image_verify_parameter())
        last = blocks[-1]
        await meter.action(
            18, "0.0.44.0.0.255", 2, image_block_transfer_parameter(last.number, last.value)
        )
        await meter.action(18, "0.0.44.0.0.255", 3, image_verify_parameter())
        (info,) = parse_image_to_activate_info(await meter.get(18, "0.0.44.0.0.255", 7))
        assert info.image_to_activate_size == len(image)
        assert info.image_to_activate_identification == b"FW-2"
        await meter.action(18, "0.0.44.0.0.255", 4, Integer(0))
        assert await meter.get(18, "0.0.44.0.0.255", 6) == 6
        assert await meter.get(1, "1.0.0.2.0.255", 2) == b"FW-2"


@pytest.mark.parametrize("interface", ["wrapper", "hdlc"])
async def test_many_meters_on_one_port(fake_time: FakeTime, interface: str) -> None:
    async with simulator(fake_time, meters=200, interface=interface, shared_port=True) as sim:
        assert len(set(sim.urls)) == 1
        for index in (0, 57, 199):
            async with login(sim, index, client=16) as meter:
                assert await meter.get(1, "0.0.42.0.0.255", 2) == b"ADS%013d" % (10_000_000 + index)
        meters = [login(sim, index, client=17) for index in range(10, 20)]
        opened = [await m for m in meters]
        try:
            serials = await asyncio.gather(*(m.get(1, "0.0.96.1.0.255", 2) for m in opened))
        finally:
            for meter in opened:
                await meter.close()
        assert serials == [b"%08d" % (10_000_000 + i) for i in range(10, 20)]


async def test_consecutive_ports_from_a_first_port(fake_time: FakeTime) -> None:
    async with simulator(fake_time, meters=3) as sim:
        ports = [int(url.rsplit(":", 1)[1]) for url in sim.urls]
        assert len(set(ports)) == 3
        async with login(sim, 2, client=16) as meter:
            assert await meter.get(1, "0.0.42.0.0.255", 2) == b"ADS0000010000002"


async def test_udp_wrapper(fake_time: FakeTime) -> None:
    async with simulator(fake_time, transport="udp") as sim, login(sim) as meter:
        assert sim.urls[0].startswith("udp://")
        rows = await meter.read_profile("1.0.99.1.0.255", entries=(1, 2))
        assert len(rows) == 2


async def test_unknown_hdlc_address_is_silence(fake_time: FakeTime) -> None:
    async with simulator(fake_time, meters=2, interface="hdlc", shared_port=True) as sim:
        url = sim.urls[0]
        from asyncdlms import connect

        with pytest.raises((RequestTimeoutError, DlmsError, TimeoutError)):
            link = LinkSettings(physical_address=99, response_timeout=0.2, retries=0)
            async with connect(url, server=1, timeout=0.5, link=link):
                pass
        assert sim.servers[0].statistics.unknown_addresses >= 1


async def test_latency_and_jitter_still_answer(fake_time: FakeTime) -> None:
    faults = Faults(latency=0.01, jitter=0.01, seed=1)
    async with simulator(fake_time, interface="hdlc", faults=faults) as sim, login(sim) as meter:
        assert await meter.get(1, "0.0.42.0.0.255", 2) == b"ADS0000010000000"


async def test_slow_serial_line_emulation(fake_time: FakeTime) -> None:
    faults = Faults(baud_rate=115200)
    async with simulator(fake_time, faults=faults) as sim, login(sim) as meter:
        rows = await meter.read_profile("1.0.99.1.0.255", entries=(1, 3))
        assert len(rows) == 3


async def test_dropped_frames_are_recovered_by_hdlc_retransmission(fake_time: FakeTime) -> None:
    faults = Faults(drop_rate=0.15, seed=7)
    async with (
        simulator(fake_time, interface="hdlc", faults=faults) as sim,
        login(sim, link=PATIENT, timeout=10) as meter,
    ):
        for _ in range(5):
            assert await meter.get(1, "0.0.42.0.0.255", 2) == b"ADS0000010000000"


async def test_refused_association_is_a_typed_error(fake_time: FakeTime) -> None:
    async with simulator(fake_time, meters=2, refuse_associations={1}) as sim:
        async with login(sim, 0, client=16) as meter:
            await meter.get(1, "0.0.42.0.0.255", 2)
        with pytest.raises(AssociationError):
            async with login(sim, 1, client=16):
                pass


async def test_wrong_password_is_a_typed_error(fake_time: FakeTime) -> None:
    async with simulator(fake_time) as sim:
        with pytest.raises(AssociationError):
            async with sim.connect(0, client=17, auth="low", password=b"wrong", timeout=5):
                pass


@pytest.mark.parametrize("interface", ["wrapper", "hdlc"])
async def test_silent_meter_times_out(fake_time: FakeTime, interface: str) -> None:
    async with simulator(fake_time, meters=2, interface=interface) as sim:
        sim.set_faults(1, Faults(silent=True))
        with pytest.raises((RequestTimeoutError, TimeoutError, DlmsError)):
            async with login(sim, 1, client=16, timeout=0.3, link=IMPATIENT):
                pass
        async with login(sim, 0, client=16) as meter:
            assert await meter.get(1, "0.0.42.0.0.255", 2) == b"ADS0000010000000"


async def test_inactivity_timeout_closes_the_connection(fake_time: FakeTime) -> None:
    async with simulator(fake_time, inactivity_timeout=0.3) as sim, login(sim) as meter:
        await meter.get(1, "0.0.42.0.0.255", 2)
        server = sim.servers[0]
        for _ in range(1000):
            if server.statistics.inactivity_closes and not server.connection_count:
                break
            await asyncio.sleep(0.01)
        assert server.statistics.inactivity_closes == 1
        assert server.connection_count == 0


async def test_push_setup_sends_a_data_notification(fake_time: FakeTime) -> None:
    received: asyncio.Queue[bytes] = asyncio.Queue()

    async def collector(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await received.put(await reader.read())
        writer.close()

    listener = await asyncio.start_server(collector, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        async with simulator(fake_time) as sim, login(sim) as meter:
            destination = Structure((Enum(0), OctetString(b"127.0.0.1:%d" % port), Enum(0)))
            await meter.set(40, "0.0.25.9.0.255", 3, destination)
            await meter.action(40, "0.0.25.9.0.255", 1, Integer(0))
            data = await asyncio.wait_for(received.get(), 5)
    finally:
        listener.close()
        await listener.wait_closed()
    (frame,) = WrapperSplitter().feed(data)
    assert frame.destination_wport == 0x66
    notification = DataNotification.decode(frame.apdu)
    body = notification.notification_body.value
    assert body[0] == b"ADS0000010000000"
    assert sim.pushes_sent == 1


def test_memory_per_idle_meter_is_small() -> None:
    import tracemalloc

    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    sim = Simulator(meters=2000)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert sim.meters[-1].index == 1999
    assert (after - before) / 2000 < 50 * 1024  # the target; in practice well under 1 KiB


BLOCK_CIPHER_KEY = bytes(range(16))
AUTHENTICATION_KEY = bytes(range(16, 32))


@pytest.mark.parametrize("interface", ["wrapper", "hdlc"])
async def test_hls_gmac_with_authenticated_encryption(fake_time: FakeTime, interface: str) -> None:
    from asyncdlms.security.ciphering import SecurityPolicy
    from asyncdlms.session.server import ServerSecurity
    from asyncdlms.session.settings import ClientSecurity

    associations = {
        16: AssociationPolicy(),
        1: AssociationPolicy(
            MechanismName.HIGH_GMAC,
            Secret(HLS_SECRET),
            security=ServerSecurity(
                Secret(BLOCK_CIPHER_KEY),
                Secret(AUTHENTICATION_KEY),
                SecurityPolicy.AUTHENTICATED_ENCRYPTION,
            ),
        ),
    }
    settings = ClientSettings(
        mechanism=MechanismName.HIGH_GMAC,
        secret=Secret(HLS_SECRET),
        security=ClientSecurity(
            b"CLI00001", Secret(BLOCK_CIPHER_KEY), Secret(AUTHENTICATION_KEY), "ae"
        ),
    )
    async with Simulator(
        meters=2,
        interface=interface,
        shared_port=True,
        associations=associations,
        time_source=fake_time,
    ) as sim:
        for index in (0, 1, 0):
            async with sim.connect(index, client=1, settings=settings, timeout=5) as meter:
                assert await meter.get(1, "0.0.42.0.0.255", 2) == b"ADS%013d" % (10_000_000 + index)
                rows = await meter.read_profile("1.0.99.1.0.255", entries=(1, 4))
                assert len(rows) == 4
                await meter.action(70, "0.0.96.3.10.255", 1, Integer(0))
        assert sim.meters[0].disconnected_since is not None
        async with sim.connect(0, client=16, timeout=5) as public:
            counter = int(await public.get(1, "0.0.43.1.0.255", 2))
        assert counter > 0
        # a client that lost its counters continues from the frame counter + 1
        from asyncdlms.security.counters import (
            CipheringKey,
            MemoryInvocationCounterStore,
            key_identity,
        )

        store = MemoryInvocationCounterStore()
        unicast = key_identity(CipheringKey.GLOBAL_UNICAST_ENCRYPTION, BLOCK_CIPHER_KEY)
        store.advance(b"CLI00001", unicast, counter + 1)
        fresh = ClientSettings(
            mechanism=MechanismName.HIGH_GMAC,
            secret=Secret(HLS_SECRET),
            security=ClientSecurity(
                b"CLI00001",
                Secret(BLOCK_CIPHER_KEY),
                Secret(AUTHENTICATION_KEY),
                "ae",
                counter_store=store,
            ),
        )
        async with sim.connect(0, client=1, settings=fresh, timeout=5) as meter:
            assert await meter.get(1, "0.0.42.0.0.255", 2) == b"ADS0000010000000"


async def test_a_meter_on_a_serial_line(fake_time: FakeTime) -> None:
    """Two pseudo-terminals bridged in the test: the simulator on one, our client on the
    other (a null-modem cable)."""
    import os

    pytest.importorskip("serial_asyncio")
    meter_master, meter_slave = os.openpty()
    client_master, client_slave = os.openpty()
    loop = asyncio.get_running_loop()

    def bridge(source: int, target: int) -> None:
        try:
            data = os.read(source, 4096)
        except OSError:
            return
        os.write(target, data)

    loop.add_reader(meter_master, bridge, meter_master, client_master)
    loop.add_reader(client_master, bridge, client_master, meter_master)
    try:
        async with simulator(
            fake_time, interface="hdlc", serial_ports=[os.ttyname(meter_slave)], baud_rate=19200
        ) as sim:
            assert sim.urls[0] == f"serial://{os.ttyname(meter_slave)}?baud=19200"
            from asyncdlms import connect

            cable_end = f"serial://{os.ttyname(client_slave)}"
            async with connect(cable_end, client=16, timeout=5) as meter:
                assert await meter.get(1, "0.0.42.0.0.255", 2) == b"ADS0000010000000"
                assert (await meter.read_register("1.0.1.8.0.255")).unit == Unit.WATT_HOUR
    finally:
        loop.remove_reader(meter_master)
        loop.remove_reader(client_master)
        for fd in (meter_master, meter_slave, client_master, client_slave):
            os.close(fd)


@pytest.mark.parametrize("interface", ["wrapper", "hdlc"])
async def test_a_meter_that_stops_answering_mid_association(
    fake_time: FakeTime, interface: str
) -> None:
    sim = simulator(fake_time, meters=2, interface=interface)
    quick_release = ClientSettings(release_timeout=0.2)
    async with (
        sim,
        login(
            sim, 1, client=16, link=IMPATIENT, settings=quick_release, timeout=1
        ) as meter,
    ):
        assert await meter.get(1, "0.0.42.0.0.255", 2) == b"ADS0000010000001"
        sim.set_faults(1, Faults(silent=True))
        with pytest.raises((RequestTimeoutError, TimeoutError, DlmsError)):
            await meter.get(1, "0.0.42.0.0.255", 2, timeout=0.3)


async def test_general_block_transfer(fake_time: FakeTime) -> None:
    from asyncdlms.session.settings import ClientSettings as Settings

    async with simulator(fake_time, gbt_window_size=4, max_pdu_size=128) as sim:
        plain = sim.connect(0, client=16, timeout=5)
        async with plain as meter:
            expected = await meter.get(15, "0.0.40.0.0.255", 2)
        settings = Settings(use_general_block_transfer=True, client_max_receive_pdu_size=128)
        async with sim.connect(0, client=16, timeout=5, settings=settings) as meter:
            assert meter.negotiated is not None
            assert meter.negotiated.conformance & Conformance.GENERAL_BLOCK_TRANSFER
            assert await meter.get(15, "0.0.40.0.0.255", 2) == expected


async def test_corrupted_frames_are_recovered_by_hdlc_retransmission(fake_time: FakeTime) -> None:
    faults = Faults(corrupt_rate=0.15, seed=3)
    sim = simulator(fake_time, interface="hdlc", faults=faults)
    async with sim, login(sim, link=PATIENT, timeout=10) as meter:
        for _ in range(5):
            assert await meter.get(1, "0.0.42.0.0.255", 2) == b"ADS0000010000000"
