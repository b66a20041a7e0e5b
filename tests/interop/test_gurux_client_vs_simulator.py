"""gurux-dlms's client (GXDLMSClient, sans-IO) against our simulator over a real loopback
socket: it associates (no authentication, LLS, HLS MD5/SHA-1; HDLC and wrapper; a small
max PDU so that answers come in blocks), reads the object list, a register with its
scaler/unit, the clock, the load profile whole, by entry and by range, writes and reads back,
invokes a method, and releases. gurux's parsers must accept every answer of the simulator.

gurux-dlms is only a test dependency (GPL); nothing of it is used by the package.
"""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

import pytest

from asyncdlms.apdu.acse import MechanismName
from asyncdlms.security.hls import Secret
from asyncdlms.server import Simulator
from asyncdlms.session.server import AssociationPolicy

gurux_dlms = pytest.importorskip("gurux_dlms")
from gurux_dlms import GXDateTime, GXDLMSClient, GXReplyData  # type: ignore[import-untyped]  # noqa: E402
from gurux_dlms.enums import Authentication, InterfaceType  # type: ignore[import-untyped]  # noqa: E402
from gurux_dlms.GXCiphering import GXCiphering  # type: ignore[import-untyped]  # noqa: E402
from gurux_dlms.objects import (  # type: ignore[import-untyped]  # noqa: E402
    GXDLMSClock,
    GXDLMSDisconnectControl,
    GXDLMSProfileGeneric,
    GXDLMSRegister,
)

PASSWORD = b"12345678"
HLS_SECRET = b"Gurux1234567890!"
START = datetime.datetime(2026, 3, 10, 12, 7, 30, tzinfo=datetime.UTC)
ASSOCIATIONS = {
    16: AssociationPolicy(),
    17: AssociationPolicy(MechanismName.LOW, Secret(PASSWORD)),
    18: AssociationPolicy(MechanismName.HIGH_MD5, Secret(HLS_SECRET)),
    19: AssociationPolicy(MechanismName.HIGH_SHA1, Secret(HLS_SECRET)),
}
GURUX_AUTHENTICATION = {
    16: (Authentication.NONE, None),
    17: (Authentication.LOW, PASSWORD),
    18: (Authentication.HIGH_MD5, HLS_SECRET),
    19: (Authentication.HIGH_SHA1, HLS_SECRET),
}


class SocketConversation:
    """gurux's client over a TCP connection to the simulator."""

    def __init__(
        self,
        interface: str,
        client_address: int,
        server_address: int,
        max_pdu: int,
        client: Any = None,
    ) -> None:
        self.interface = interface
        if client is None:
            authentication, password = GURUX_AUTHENTICATION[client_address]
            client = GXDLMSClient(
                True,
                client_address,
                server_address,
                authentication,
                password,
                InterfaceType.HDLC if interface == "hdlc" else InterfaceType.WRAPPER,
            )
            # gurux reads the invocation counter of its cipher even for HLS MD5/SHA-1
            client.settings.cipher = GXCiphering(b"GRX00001")
        self.client = client
        self.client.maxReceivePDUSize = max_pdu
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self, url: str) -> None:
        host, port = url.split("://", 1)[1].rsplit(":", 1)
        self.reader, self.writer = await asyncio.open_connection(host, int(port))

    async def _receive(self, reply: Any) -> None:
        assert self.reader is not None
        buffer = bytearray()
        while True:
            chunk = await asyncio.wait_for(self.reader.read(4096), 5)
            assert chunk, "the simulator closed the connection"
            buffer += chunk
            if self.client.getData(bytes(buffer), reply, GXReplyData()):
                return

    async def exchange(self, frames: Any) -> Any:
        assert self.writer is not None
        reply = GXReplyData()
        for frame in frames if isinstance(frames, list) else [frames]:
            reply = GXReplyData()
            self.writer.write(bytes(frame))
            await self._receive(reply)
        for _ in range(10_000):
            if not reply.isMoreData():
                assert reply.error == 0, reply.error
                return reply
            self.writer.write(bytes(self.client.receiverReady(reply)))
            await self._receive(reply)
        raise AssertionError("the transfer did not end")

    async def read(self, item: Any, attribute: int) -> Any:
        reply = await self.exchange(self.client.read(item, attribute))
        self.client.updateValue(item, attribute, reply.value)
        return item

    async def open(self) -> None:
        if self.interface == "hdlc":
            reply = await self.exchange(self.client.snrmRequest())
            self.client.parseUAResponse(reply.data)
        reply = await self.exchange(self.client.aarqRequest())
        self.client.parseAareResponse(reply.data)
        if self.client.authentication > Authentication.LOW:
            reply = await self.exchange(self.client.getApplicationAssociationRequest())
            self.client.parseApplicationAssociationResponse(reply.data)

    async def close(self) -> None:
        await self.exchange(self.client.releaseRequest())
        if self.interface == "hdlc":
            await self.exchange(self.client.disconnectRequest())
        assert self.writer is not None
        self.writer.close()


CASES = [
    (interface, client, max_pdu)
    for interface in ("hdlc", "wrapper")
    for client in (16, 17, 18, 19)
    for max_pdu in (0xFFFF, 128)
]


@pytest.mark.parametrize(("interface", "client_address", "max_pdu"), CASES)
async def test_gurux_client_against_the_simulator(
    interface: str, client_address: int, max_pdu: int
) -> None:
    async with Simulator(
        interface=interface,  # type: ignore[arg-type]
        associations=ASSOCIATIONS,
        time_source=START.timestamp,
        load_profile_days=1,
    ) as sim:
        talk = SocketConversation(interface, client_address, 1, max_pdu)
        await talk.connect(sim.urls[0])
        await talk.open()

        objects = talk.client.objects
        reply = await talk.exchange(talk.client.getObjectsRequest())
        objects = talk.client.parseObjects(reply.data, True)
        names = {item.logicalName for item in objects}
        assert {"0.0.1.0.0.255", "1.0.1.8.0.255", "0.0.42.0.0.255"} <= names

        register = await talk.read(GXDLMSRegister("1.0.1.8.0.255"), 3)
        await talk.read(register, 2)
        assert register.scaler == 1
        assert register.value == sim.meters[0].energy(0)
        voltage = await talk.read(GXDLMSRegister("1.0.32.7.0.255"), 3)
        await talk.read(voltage, 2)
        assert voltage.scaler == pytest.approx(0.1)
        assert 220 < voltage.value < 240

        clock = await talk.read(GXDLMSClock("0.0.1.0.0.255"), 2)
        assert clock.time.value.replace(tzinfo=None) == datetime.datetime(2026, 3, 10, 12, 7, 30)

        if client_address == 16:  # the public client sees no profile
            await talk.close()
            return
        profile = GXDLMSProfileGeneric("1.0.99.1.0.255")
        await talk.read(profile, 3)
        assert len(profile.captureObjects) == 5
        await talk.read(profile, 2)
        assert len(profile.buffer) == 96
        reply = await talk.exchange(talk.client.readRowsByEntry(profile, 3, 4))
        talk.client.updateValue(profile, 2, reply.value)
        assert len(profile.buffer) == 4
        start = GXDateTime(datetime.datetime(2026, 3, 10, 9, 0))
        end = GXDateTime(datetime.datetime(2026, 3, 10, 10, 0))
        reply = await talk.exchange(talk.client.readRowsByRange(profile, start, end))
        talk.client.updateValue(profile, 2, reply.value)
        assert [row[0].value.replace(tzinfo=None).hour for row in profile.buffer] == [
            9, 9, 9, 9, 10
        ]  # fmt: skip

        if client_address >= 18:  # the management clients write and act
            clock.time = GXDateTime(datetime.datetime(2031, 1, 2, 3, 4, 5))
            await talk.exchange(talk.client.write(clock, 2))
            await talk.read(clock, 2)
            assert clock.time.value.replace(tzinfo=None) == datetime.datetime(2031, 1, 2, 3, 4, 5)
            disconnect = GXDLMSDisconnectControl("0.0.96.3.10.255")
            await talk.exchange(disconnect.remoteDisconnect(talk.client))
            await talk.read(disconnect, 2)
            assert disconnect.outputState is False
            assert sim.meters[0].disconnected_since is not None
        await talk.close()


@pytest.mark.parametrize("interface", ["hdlc", "wrapper"])
async def test_gurux_client_selects_a_meter_on_a_shared_port(interface: str) -> None:
    async with Simulator(
        5,
        interface=interface,
        shared_port=True,
        associations=ASSOCIATIONS,  # type: ignore[arg-type]
    ) as sim:
        target = sim.targets[3]
        if interface == "hdlc":
            server = GXDLMSClient.getServerAddress(target.server, target.physical_address)
        else:
            server = target.server
        talk = SocketConversation(interface, 17, server, 0xFFFF)
        await talk.connect(target.url)
        await talk.open()
        from gurux_dlms.objects import GXDLMSData  # type: ignore[import-untyped]

        name = await talk.read(GXDLMSData("0.0.42.0.0.255"), 2)
        assert bytes(name.value) == b"ADS0000010000003"
        await talk.close()


@pytest.mark.parametrize("interface", ["hdlc", "wrapper"])
async def test_gurux_client_with_hls_gmac_and_authenticated_encryption(interface: str) -> None:
    from gurux_dlms.enums import Security  # type: ignore[import-untyped]
    from gurux_dlms.secure import GXDLMSSecureClient  # type: ignore[import-untyped]

    from asyncdlms.security.ciphering import SecurityPolicy
    from asyncdlms.session.server import ServerSecurity

    block_cipher_key = bytes(range(16))
    authentication_key = bytes(range(0xD0, 0xE0))
    associations = {
        16: AssociationPolicy(),
        1: AssociationPolicy(
            MechanismName.HIGH_GMAC,
            security=ServerSecurity(
                Secret(block_cipher_key),
                Secret(authentication_key),
                SecurityPolicy.AUTHENTICATED_ENCRYPTION,
            ),
        ),
    }
    client = GXDLMSSecureClient(
        True,
        1,
        1,
        Authentication.HIGH_GMAC,
        None,
        InterfaceType.HDLC if interface == "hdlc" else InterfaceType.WRAPPER,
    )
    client.ciphering.security = Security.AUTHENTICATION_ENCRYPTION
    client.ciphering.systemTitle = bytes.fromhex("4D4D4D0000000001")
    client.ciphering.blockCipherKey = block_cipher_key
    client.ciphering.authenticationKey = authentication_key
    async with Simulator(
        interface=interface,  # type: ignore[arg-type]
        associations=associations,
        time_source=START.timestamp,
        load_profile_days=1,
    ) as sim:
        talk = SocketConversation(interface, 1, 1, 0xFFFF, client)
        await talk.connect(sim.urls[0])
        await talk.open()
        register = await talk.read(GXDLMSRegister("1.0.1.8.0.255"), 3)
        await talk.read(register, 2)
        assert register.value == sim.meters[0].energy(0)
        clock = await talk.read(GXDLMSClock("0.0.1.0.0.255"), 2)
        assert clock.time.value.replace(tzinfo=None) == datetime.datetime(2026, 3, 10, 12, 7, 30)
        profile = GXDLMSProfileGeneric("1.0.99.1.0.255")
        await talk.read(profile, 3)
        reply = await talk.exchange(talk.client.readRowsByEntry(profile, 1, 2))
        talk.client.updateValue(profile, 2, reply.value)
        assert len(profile.buffer) == 2
        await talk.close()


@pytest.mark.parametrize("interface", ["hdlc", "wrapper"])
async def test_gurux_short_name_client(interface: str) -> None:
    """Short-name referencing: the simulator numbers its objects from base name 0x0100 (one
    0x100 step each, in object-list order) and serves the Association SN object list."""
    from gurux_dlms.objects import GXDLMSData  # type: ignore[import-untyped]

    from asyncdlms.apdu.acse import ApplicationContextName
    from asyncdlms.apdu.initiate import Conformance

    associations = {
        16: AssociationPolicy(
            application_context_name=ApplicationContextName.SHORT_NAME,
            conformance=Conformance(0x1C1320),
        )
    }
    async with Simulator(
        interface=interface,  # type: ignore[arg-type]
        associations=associations,
        short_names=True,
        time_source=START.timestamp,
    ) as sim:
        talk = SocketConversation(interface, 16, 1, 0xFFFF)
        talk.client.settings.setUseLogicalNameReferencing(False)
        await talk.connect(sim.urls[0])
        await talk.open()
        reply = await talk.exchange(talk.client.getObjectsRequest())
        objects = talk.client.parseObjects(reply.data, True)
        by_name = {item.logicalName: item for item in objects}
        assert by_name["0.0.42.0.0.255"].shortName == 0x0100
        name = GXDLMSData("0.0.42.0.0.255")
        name.shortName = by_name["0.0.42.0.0.255"].shortName
        await talk.read(name, 2)
        assert bytes(name.value) == b"ADS0000010000000"
        register = GXDLMSRegister("1.0.1.8.0.255")
        register.shortName = by_name["1.0.1.8.0.255"].shortName
        await talk.read(register, 3)
        await talk.read(register, 2)
        assert register.value == sim.meters[0].energy(0)
        await talk.close()
