"""gurux-dlms's client (GXDLMSClient, sans-IO: it makes request bytes and parses replies)
against our ServerSession, over HDLC and over the wrapper, in memory.

gurux associates with no authentication, LLS and HLS MD5/SHA-1 (its SHA-256 is broken),
reads a Register value and scaler_unit, a Clock, a Data object, a ProfileGeneric buffer whole,
by entry and by range (with a small client max PDU, so that our server answers in
datablocks), writes a value and reads it back, calls a method, and releases. gurux's parsers
must accept every reply of ours; gurux checks our HLS pass 4 itself.

gurux-dlms is only a test dependency (GPL); nothing of it is used by the package.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from asyncdlms.apdu.acse import ApplicationContextName, MechanismName
from asyncdlms.apdu.descriptors import SelectiveAccessDescriptor
from asyncdlms.apdu.enums import DataAccessResult
from asyncdlms.apdu.initiate import Conformance
from asyncdlms.hdlc import HdlcAddress, HdlcConnection, HdlcParameters, HdlcSettings, Role
from asyncdlms.link import Link
from asyncdlms.obis import Obis
from asyncdlms.security.hls import Secret
from asyncdlms.session.events import AssociationEstablished, AssociationReleased
from asyncdlms.session.object_access import (
    AssociationContext,
    Attribute,
    AttributeAccess,
    ObjectTable,
    select_profile_rows,
)
from asyncdlms.session.server import AssociationPolicy, ServerSession, ServerSettings
from asyncdlms.types.values import (
    Array,
    DoubleLongUnsigned,
    Enum,
    Integer,
    LongUnsigned,
    OctetString,
    Structure,
    VisibleString,
)
from asyncdlms.wrapper import WrapperConnection

gurux_dlms = pytest.importorskip("gurux_dlms")
from gurux_dlms import GXDateTime, GXDLMSClient, GXReplyData  # type: ignore[import-untyped]  # noqa: E402
from gurux_dlms.enums import Authentication, DataType, InterfaceType  # type: ignore[import-untyped]  # noqa: E402
from gurux_dlms.GXCiphering import GXCiphering  # type: ignore[import-untyped]  # noqa: E402
from gurux_dlms.objects import (  # type: ignore[import-untyped]  # noqa: E402
    GXDLMSClock,
    GXDLMSData,
    GXDLMSDisconnectControl,
    GXDLMSProfileGeneric,
    GXDLMSRegister,
)

PASSWORD = b"12345678"
HLS_SECRET = b"Gurux1234567890!"
REGISTER = "1.0.1.8.0.255"
CLOCK = "0.0.1.0.0.255"
DATA = "0.0.96.1.0.255"
PROFILE = "1.0.99.1.0.255"
DISCONNECT = "0.0.96.3.10.255"

AUTHENTICATIONS = {
    16: (Authentication.NONE, None, AssociationPolicy()),
    17: (Authentication.LOW, PASSWORD, AssociationPolicy(MechanismName.LOW, Secret(PASSWORD))),
    18: (
        Authentication.HIGH_MD5,
        HLS_SECRET,
        AssociationPolicy(MechanismName.HIGH_MD5, Secret(HLS_SECRET)),
    ),
    19: (
        Authentication.HIGH_SHA1,
        HLS_SECRET,
        AssociationPolicy(MechanismName.HIGH_SHA1, Secret(HLS_SECRET)),
    ),
}


def clock_bytes(hour: int, minute: int = 0) -> OctetString:
    """2025-01-01 hour:minute, deviation not specified, status 0."""
    return OctetString(bytes([0x07, 0xE9, 1, 1, 3, hour, minute, 0, 0, 0x80, 0, 0]))


def meter() -> tuple[ObjectTable, dict[str, Any]]:
    state: dict[str, Any] = {"disconnects": 0}
    table = ObjectTable()
    table.add(
        3,
        REGISTER,
        {2: DoubleLongUnsigned(123456), 3: Structure((Integer(-1), Enum(30)))},
        {1: lambda context, parameters: None},
        base_name=0x3000,
    )
    table.add(
        8, CLOCK, {2: Attribute(clock_bytes(12, 34), AttributeAccess.READ_WRITE)}, base_name=0x2000
    )
    table.add(
        1,
        DATA,
        {2: Attribute(VisibleString("meter-1"), AttributeAccess.READ_WRITE)},
        base_name=0x4000,
    )
    rows = [Structure((clock_bytes(hour), DoubleLongUnsigned(hour * 100))) for hour in range(24)]
    columns = [(8, CLOCK, 2), (3, REGISTER, 2)]
    capture_objects = Array(
        Structure((LongUnsigned(c), OctetString(Obis(o).to_bytes()), Integer(a), LongUnsigned(0)))
        for c, o, a in columns
    )

    def buffer(context: AssociationContext, selection: SelectiveAccessDescriptor | None) -> Any:
        selected = select_profile_rows(rows, columns, selection)
        if isinstance(selected, DataAccessResult):
            return selected
        return Array(Structure(tuple(row)) for row in selected)

    def disconnect(context: AssociationContext, parameters: Any) -> None:
        state["disconnects"] += 1

    table.add(
        7,
        PROFILE,
        {
            2: Attribute(getter=buffer),
            3: capture_objects,
            4: DoubleLongUnsigned(3600),
            7: DoubleLongUnsigned(len(rows)),
            8: DoubleLongUnsigned(24),
        },
    )
    table.add(70, DISCONNECT, {2: Enum(1), 3: Enum(1)}, {1: disconnect, 2: disconnect})
    return table, state


class Conversation:
    """gurux's client and our server, bytes carried by hand."""

    def __init__(
        self,
        interface: str,
        client_address: int,
        max_pdu: int,
        max_info: int,
        policy: AssociationPolicy | None = None,
    ) -> None:
        authentication, password, default_policy = AUTHENTICATIONS[client_address]
        policy = policy or default_policy
        self.interface = interface
        self.client = GXDLMSClient(
            True,
            client_address,
            1,
            authentication,
            password,
            InterfaceType.HDLC if interface == "hdlc" else InterfaceType.WRAPPER,
        )
        self.client.maxReceivePDUSize = max_pdu
        # gurux reads the invocation counter of its cipher even for HLS MD5/SHA-1
        self.client.settings.cipher = GXCiphering(b"GRX00001")
        link: Link
        if interface == "hdlc":
            self.client.hdlcSettings.maxInfoTX = max_info
            self.client.hdlcSettings.maxInfoRX = max_info
            parameters = HdlcParameters(max_info, max_info, 1, 1)
            link = HdlcConnection(
                HdlcSettings(None, HdlcAddress.server(1), Role.SERVER, parameters)
            )
        else:
            link = WrapperConnection(1, None, role="server")
        self.table, self.state = meter()
        self.server = ServerSession(
            link,
            ServerSettings(
                policies={client_address: policy},
                server_max_receive_pdu_size=min(max_pdu, 1024),
            ),
            self.table,
        )

    def _answer(self, reply: Any) -> None:
        data = self.server.data_to_send()
        assert data, "our server answered nothing"
        notify = GXReplyData()
        assert self.client.getData(data, reply, notify) is True

    def exchange(self, frames: Any) -> Any:
        reply = GXReplyData()
        for frame in frames if isinstance(frames, list) else [frames]:
            reply = GXReplyData()
            self.server.receive_data(bytes(frame), 0.0)
            self._answer(reply)
        for _ in range(10_000):
            if not reply.isMoreData():
                assert reply.error == 0, reply.error
                return reply
            self.server.receive_data(bytes(self.client.receiverReady(reply)), 0.0)
            self._answer(reply)
        raise AssertionError("the transfer did not end")

    def read(self, item: Any, attribute: int) -> Any:
        reply = self.exchange(self.client.read(item, attribute))
        self.client.updateValue(item, attribute, reply.value)
        return item

    def open(self) -> None:
        if self.interface == "hdlc":
            reply = self.exchange(self.client.snrmRequest())
            self.client.parseUAResponse(reply.data)
        reply = self.exchange(self.client.aarqRequest())
        self.client.parseAareResponse(reply.data)
        if self.client.authentication > Authentication.LOW:
            reply = self.exchange(self.client.getApplicationAssociationRequest())
            self.client.parseApplicationAssociationResponse(reply.data)
        events = self.server.events()
        assert len(events) == 1 and isinstance(events[0], AssociationEstablished)

    def close(self) -> None:
        self.exchange(self.client.releaseRequest())
        assert self.server.events() == [AssociationReleased(None)]
        if self.interface == "hdlc":
            self.exchange(self.client.disconnectRequest())


CASES = [
    (interface, client, max_pdu)
    for interface in ("hdlc", "wrapper")
    for client in (16, 17, 18, 19)
    for max_pdu in (0xFFFF, 64)
]


@pytest.mark.parametrize(("interface", "client_address", "max_pdu"), CASES)
def test_gurux_client_reads_writes_acts_and_releases(
    interface: str, client_address: int, max_pdu: int
) -> None:
    talk = Conversation(interface, client_address, max_pdu, 128 if max_pdu > 64 else 64)
    talk.open()
    assert talk.server.client_max_receive_pdu_size == max_pdu

    register = talk.read(GXDLMSRegister(REGISTER), 3)
    talk.read(register, 2)
    assert register.scaler == 0.1
    assert register.value == 12345.6 or register.value == pytest.approx(12345.6)

    clock = talk.read(GXDLMSClock(CLOCK), 2)
    assert clock.time.value.replace(tzinfo=None) == datetime.datetime(2025, 1, 1, 12, 34)

    data = talk.read(GXDLMSData(DATA), 2)
    assert data.value == "meter-1"

    profile = GXDLMSProfileGeneric(PROFILE)
    talk.read(profile, 3)
    assert len(profile.captureObjects) == 2
    talk.read(profile, 2)
    assert len(profile.buffer) == 24
    assert [row[1] for row in profile.buffer[:3]] == [0, 100, 200]
    if max_pdu == 64:
        assert talk.server.blocks_sent > 1

    reply = talk.exchange(talk.client.readRowsByEntry(profile, 3, 4))
    talk.client.updateValue(profile, 2, reply.value)
    assert [row[1] for row in profile.buffer] == [200, 300, 400, 500]

    start = GXDateTime(datetime.datetime(2025, 1, 1, 5, 0))
    end = GXDateTime(datetime.datetime(2025, 1, 1, 7, 30))
    reply = talk.exchange(talk.client.readRowsByRange(profile, start, end))
    talk.client.updateValue(profile, 2, reply.value)
    assert [row[1] for row in profile.buffer] == [500, 600, 700]

    data.value = "written by gurux, long enough to need blocks with a small PDU " * 2
    data.setDataType(2, DataType.STRING)
    talk.exchange(talk.client.write(data, 2))
    talk.read(data, 2)
    assert data.value == "written by gurux, long enough to need blocks with a small PDU " * 2
    if max_pdu == 64:
        assert talk.server.blocks_received > 1  # gurux wrote with set-request-with-datablock

    talk.exchange(GXDLMSDisconnectControl(DISCONNECT).remoteDisconnect(talk.client))
    assert talk.state["disconnects"] == 1

    talk.close()


def test_gurux_client_with_wrong_lls_password_is_rejected() -> None:
    talk = Conversation("wrapper", 17, 0xFFFF, 128)
    talk.client.password = b"wrong!!!"
    reply = talk.exchange(talk.client.aarqRequest())
    with pytest.raises(Exception, match=r"(?i)authentication"):
        talk.client.parseAareResponse(reply.data)
    assert talk.server.rejected_associations == 1


def test_gurux_client_with_wrong_hls_secret_gets_read_write_denied() -> None:
    talk = Conversation("hdlc", 18, 0xFFFF, 128)
    talk.client.password = b"not the secret!!"
    reply = talk.exchange(talk.client.snrmRequest())
    talk.client.parseUAResponse(reply.data)
    reply = talk.exchange(talk.client.aarqRequest())
    talk.client.parseAareResponse(reply.data)
    frames = talk.client.getApplicationAssociationRequest()
    reply = GXReplyData()
    talk.server.receive_data(bytes(frames[0]), 0.0)
    data = talk.server.data_to_send()
    assert talk.client.getData(data, reply, GXReplyData()) is True
    assert reply.error == int(DataAccessResult.READ_WRITE_DENIED)
    assert talk.server.rejected_associations == 1
    events = talk.server.events()
    assert len(events) == 1 and isinstance(events[0], AssociationReleased)


@pytest.mark.parametrize("interface", ["hdlc", "wrapper"])
def test_gurux_action_with_pblocks_both_ways(interface: str) -> None:
    """A 150-byte parameter with a 64-byte PDU: gurux sends action-request-with-first-pblock
    and with-pblock, our server acknowledges each block; the echoed value comes back to gurux
    in action-response-with-pblock blocks, which gurux asks for with next-pblock."""
    talk = Conversation(interface, 16, 64, 64)
    talk.table.add(70, "0.0.96.3.11.255", {2: Enum(1)}, {2: lambda context, value: value})
    talk.open()
    item = GXDLMSDisconnectControl("0.0.96.3.11.255")
    frames = talk.client.method(item, 2, bytes(range(150)), DataType.OCTET_STRING)
    reply = talk.exchange(frames)
    assert bytes(reply.value) == bytes(range(150))
    assert talk.server.blocks_received > 1
    assert talk.server.blocks_sent > 1
    talk.close()


@pytest.mark.parametrize("max_pdu", [0xFFFF, 64])
def test_gurux_read_list(max_pdu: int) -> None:
    """GET with-list from gurux (readList), answered in one PDU or in datablocks."""
    talk = Conversation("wrapper", 16, max_pdu, 128)
    talk.open()
    register = GXDLMSRegister(REGISTER)
    data = GXDLMSData(DATA)
    clock = GXDLMSClock(CLOCK)
    profile = GXDLMSProfileGeneric(PROFILE)
    items = [(register, 2), (data, 2), (clock, 2), (profile, 3)]
    (chunk,) = talk.client.readList(items)  # one request: gurux cuts lists in chunks of 10
    reply = talk.exchange(chunk)
    talk.client.updateValues(items, reply.value)
    assert data.value == "meter-1"
    assert register.value == 123456
    assert clock.time.value.replace(tzinfo=None) == datetime.datetime(2025, 1, 1, 12, 34)
    assert len(profile.captureObjects) == 2
    if max_pdu == 64:
        assert talk.server.blocks_sent > 1
    talk.close()


@pytest.mark.parametrize("interface", ["hdlc", "wrapper"])
@pytest.mark.parametrize("client_address", [16, 17])
def test_gurux_short_name_client(interface: str, client_address: int) -> None:
    """gurux with short-name referencing (no authentication, LLS): ReadRequest and
    WriteRequest on base-name arithmetic, register scaler_unit, release. (gurux's SN HLS
    reply goes out as a WriteRequest and expects pass 4 in its answer, which a
    WriteResponse cannot carry; gurux's SN block reassembly calls a method it lacks.)"""
    _, password, _ = AUTHENTICATIONS[client_address]
    secret = None if password is None else Secret(password)
    mechanism = MechanismName.LOWEST if secret is None else MechanismName.LOW
    policy = AssociationPolicy(
        mechanism,
        secret,
        application_context_name=ApplicationContextName.SHORT_NAME,
        conformance=Conformance(0x1C1320),
    )
    talk = Conversation(interface, client_address, 0xFFFF, 128, policy)
    talk.client.settings.setUseLogicalNameReferencing(False)
    talk.open()
    data = GXDLMSData(DATA)
    data.shortName = 0x4000
    assert talk.read(data, 2).value == "meter-1"
    register = GXDLMSRegister(REGISTER)
    register.shortName = 0x3000
    talk.read(register, 3)
    talk.read(register, 2)
    assert register.scaler == 0.1
    assert register.value == pytest.approx(12345.6)
    data.value = "written over SN"
    data.setDataType(2, DataType.STRING)
    talk.exchange(talk.client.write(data, 2))
    assert talk.read(data, 2).value == "written over SN"
    talk.close()
