"""Our ClientSession against our ServerSession through HdlcConnection and WrapperConnection
pairs in memory: every service and block path (GET/SET/ACTION datablocks and pblocks, with-list,
SN read/write), HLS, release, General Block Transfer when both sides enable it, with
hypothesis-chosen PDU sizes (client and server max receive PDU, HDLC max info length and
window) and value sizes.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asyncdlms.apdu.acse import ApplicationContextName, MechanismName
from asyncdlms.apdu.descriptors import (
    CosemAttributeDescriptor,
    CosemMethodDescriptor,
    entry_descriptor,
)
from asyncdlms.apdu.initiate import Conformance
from asyncdlms.errors import DataAccessError
from asyncdlms.hdlc import HdlcAddress, HdlcConnection, HdlcParameters, HdlcSettings, Role
from asyncdlms.link import Link
from asyncdlms.obis import Obis
from asyncdlms.security.hls import Secret
from asyncdlms.session.client import ClientSession
from asyncdlms.session.events import (
    AssociationEstablished,
    AssociationReleased,
    RequestCompleted,
    RequestFailed,
    SessionEvent,
)
from asyncdlms.session.object_access import Attribute, AttributeAccess, ObjectTable
from asyncdlms.session.server import (
    DEFAULT_SERVER_CONFORMANCE,
    AssociationPolicy,
    ServerSession,
    ServerSettings,
)
from asyncdlms.session.settings import ClientSettings
from asyncdlms.types.values import DoubleLongUnsigned, OctetString, Unsigned
from asyncdlms.wrapper import WrapperConnection

DATA = Obis("0.0.96.1.0.255")
REGISTER = Obis("1.0.1.8.0.255")
METHOD_OWNER = Obis("0.0.96.3.10.255")
HLS_KEY = b"Gurux1234567890!"
SN_CONFORMANCE = Conformance(0x1C1320)


def table(size: int = 10) -> ObjectTable:
    objects = ObjectTable()
    objects.add(
        1,
        DATA,
        {
            2: Attribute(
                OctetString(bytes(i & 0xFF for i in range(size))), AttributeAccess.READ_WRITE
            )
        },
        base_name=0x4000,
    )
    objects.add(3, REGISTER, {2: DoubleLongUnsigned(42)}, base_name=0x3000)
    objects.add(
        70,
        METHOD_OWNER,
        {2: Unsigned(0)},
        {1: lambda context, parameters: None, 2: lambda context, parameters: parameters},
        base_name=0x6000,
    )
    return objects


class Pair:
    """A client and a server session joined by an in-memory link."""

    def __init__(
        self,
        interface: str,
        client_settings: ClientSettings,
        server_settings: ServerSettings,
        objects: ObjectTable,
        hdlc: HdlcParameters | None = None,
        client_address: int = 16,
    ) -> None:
        client_link: Link
        server_link: Link
        if interface == "hdlc":
            parameters = hdlc or HdlcParameters()
            client_link = HdlcConnection(
                HdlcSettings(
                    HdlcAddress.client(client_address),
                    HdlcAddress.server(1),
                    Role.CLIENT,
                    parameters,
                )
            )
            server_link = HdlcConnection(
                HdlcSettings(None, HdlcAddress.server(1), Role.SERVER, parameters)
            )
        else:
            client_link = WrapperConnection(client_address, 1)
            server_link = WrapperConnection(1, None, role="server")
        self.client = ClientSession(client_link, client_settings)
        self.server = ServerSession(server_link, server_settings, objects)
        self.client_events: list[SessionEvent] = []
        self.server_events: list[SessionEvent] = []

    def run(self) -> None:
        for _ in range(100_000):
            out = self.client.data_to_send()
            if out:
                self.server.receive_data(out, 0.0)
            back = self.server.data_to_send()
            if back:
                self.client.receive_data(back, 0.0)
            self.client_events += self.client.events()
            self.server_events += self.server.events()
            if not out and not back:
                return
        raise AssertionError("the sessions did not settle")

    def associate(self) -> None:
        self.client.associate(0.0)
        self.run()
        assert any(isinstance(e, AssociationEstablished) for e in self.client_events), (
            self.client_events
        )
        assert any(isinstance(e, AssociationEstablished) for e in self.server_events)

    def result(self, request_id: int) -> Any:
        self.run()
        for event in self.client_events:
            if isinstance(event, RequestCompleted) and event.request_id == request_id:
                return event.result
            if isinstance(event, RequestFailed) and event.request_id == request_id:
                raise event.error
        raise AssertionError(f"request {request_id} did not finish: {self.client_events}")


def server_settings(
    max_pdu: int = 1024, conformance: Conformance = DEFAULT_SERVER_CONFORMANCE, **extra: Any
) -> ServerSettings:
    policies = {
        16: AssociationPolicy(conformance=conformance),
        18: AssociationPolicy(MechanismName.HIGH_SHA1, Secret(HLS_KEY), conformance=conformance),
        32: AssociationPolicy(
            application_context_name=ApplicationContextName.SHORT_NAME, conformance=SN_CONFORMANCE
        ),
    }
    return ServerSettings(policies=policies, server_max_receive_pdu_size=max_pdu, **extra)


@pytest.mark.parametrize("interface", ["hdlc", "wrapper"])
def test_every_ln_service(interface: str) -> None:
    pair = Pair(interface, ClientSettings(), server_settings(), table(300))
    pair.associate()
    data = CosemAttributeDescriptor(1, DATA, 2)
    register = CosemAttributeDescriptor(3, REGISTER, 2)
    assert pair.result(pair.client.get(register)) == 42
    assert pair.result(pair.client.get(data)) == bytes(i & 0xFF for i in range(300))
    assert pair.result(pair.client.set(data, OctetString(b"new"))) is None
    assert pair.result(pair.client.get(data)) == b"new"
    values = pair.result(pair.client.get_with_list([register, data]))
    assert values == [42, b"new"]
    with pytest.raises(DataAccessError):
        pair.result(pair.client.set(register, DoubleLongUnsigned(1)))
    listed = pair.result(
        pair.client.set_with_list([(data, OctetString(b"x")), (register, DoubleLongUnsigned(1))])
    )
    assert listed[0] is None and isinstance(listed[1], DataAccessError)
    echo = CosemMethodDescriptor(70, METHOD_OWNER, 2)
    assert pair.result(pair.client.action(echo, Unsigned(5))) == 5
    assert pair.result(pair.client.action(CosemMethodDescriptor(70, METHOD_OWNER, 1), 0)) is None
    assert pair.result(
        pair.client.action_with_list([(echo, Unsigned(1)), (echo, Unsigned(2))])
    ) == [1, 2]
    pair.client.release(0.0)
    pair.run()
    assert any(isinstance(e, AssociationReleased) for e in pair.server_events)
    assert any(isinstance(e, AssociationReleased) for e in pair.client_events)


@pytest.mark.parametrize("interface", ["hdlc", "wrapper"])
def test_hls_sha1_association(interface: str) -> None:
    client_settings = ClientSettings(mechanism=MechanismName.HIGH_SHA1, secret=Secret(HLS_KEY))
    pair = Pair(interface, client_settings, server_settings(), table(), client_address=18)
    pair.associate()
    assert pair.result(pair.client.get(CosemAttributeDescriptor(3, REGISTER, 2))) == 42


def test_sn_services() -> None:
    client_settings = ClientSettings(
        logical_name_referencing=False,
        proposed_conformance=SN_CONFORMANCE,  # with block-transfer-with-get-or-read
    )
    pair = Pair("wrapper", client_settings, server_settings(), table(200), client_address=32)
    pair.associate()
    assert pair.result(pair.client.read(0x3008)) == 42
    assert pair.result(pair.client.read(0x4008)) == bytes(i & 0xFF for i in range(200))
    pair.result(pair.client.write(0x4008, OctetString(b"sn")))
    assert pair.result(pair.client.read(0x4008)) == b"sn"
    assert pair.result(pair.client.read(0x6028, selector=0, parameter=Unsigned(3))) == 3


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    interface=st.sampled_from(["hdlc", "wrapper"]),
    client_pdu=st.integers(40, 600),
    server_pdu=st.integers(40, 600),
    max_info=st.integers(32, 256),
    window=st.integers(1, 7),
    size=st.integers(0, 1500),
    use_gbt=st.booleans(),
)
def test_block_paths_for_any_sizes(
    interface: str,
    client_pdu: int,
    server_pdu: int,
    max_info: int,
    window: int,
    size: int,
    use_gbt: bool,
) -> None:
    conformance = DEFAULT_SERVER_CONFORMANCE | Conformance.GENERAL_BLOCK_TRANSFER
    client_settings = ClientSettings(
        client_max_receive_pdu_size=client_pdu, use_general_block_transfer=use_gbt
    )
    pair = Pair(
        interface,
        client_settings,
        server_settings(server_pdu, conformance, max_request_length=1 << 20),
        table(size),
        HdlcParameters(max_info, max_info, window, window),
    )
    pair.associate()
    data = CosemAttributeDescriptor(1, DATA, 2)
    expected = bytes(i & 0xFF for i in range(size))
    assert pair.result(pair.client.get(data)) == expected
    with pytest.raises(DataAccessError):  # selective access on a plain attribute
        pair.result(pair.client.get(data, entry_descriptor(1, 1)))
    written = bytes((i * 7) & 0xFF for i in range(size))
    assert pair.result(pair.client.set(data, OctetString(written))) is None
    assert pair.result(pair.client.get_with_list([data, data])) == [written, written]
    echo = CosemMethodDescriptor(70, METHOD_OWNER, 2)
    assert pair.result(pair.client.action(echo, OctetString(written))) == written
    if use_gbt:
        assert pair.server._gbt.enabled


def test_sn_read_in_blocks() -> None:
    """The raw-data of data-block-results is the encoded list of Read-Results."""
    client_settings = ClientSettings(
        logical_name_referencing=False,
        client_max_receive_pdu_size=40,
        proposed_conformance=SN_CONFORMANCE,
    )
    pair = Pair("wrapper", client_settings, server_settings(), table(200), client_address=32)
    pair.associate()
    assert pair.result(pair.client.read(0x4008)) == bytes(i & 0xFF for i in range(200))


@pytest.mark.parametrize("interface", ["hdlc", "wrapper"])
def test_wrong_hls_secret_fails_on_both_sides(interface: str) -> None:
    client_settings = ClientSettings(
        mechanism=MechanismName.HIGH_SHA1, secret=Secret(b"not the secret!!")
    )
    pair = Pair(interface, client_settings, server_settings(), table(), client_address=18)
    pair.client.associate(0.0)
    pair.run()
    released = [e for e in pair.client_events if isinstance(e, AssociationReleased)]
    assert released and released[0].error is not None
    assert not any(isinstance(e, AssociationEstablished) for e in pair.client_events)
    assert not any(isinstance(e, AssociationEstablished) for e in pair.server_events)
    assert pair.server.rejected_associations == 1
