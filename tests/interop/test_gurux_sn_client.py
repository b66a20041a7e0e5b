"""Short-name referencing checked against an independent implementation: gurux-dlms's client
(GXDLMSClient in SN mode, sans-IO) and our Client (``settings=SHORT_NAMES``) against the same
simulator over loopback TCP. gurux parses the Association SN object list and computes short
names its own way; both must agree with each other and see each other's writes.

gurux-dlms is only a test dependency (GPL); nothing of it is used by the package.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from asyncdlms.apdu.acse import ApplicationContextName, MechanismName
from asyncdlms.obis import Obis
from asyncdlms.security.hls import Secret
from asyncdlms.server import Simulator
from asyncdlms.server.simulator import SN_SERVER_CONFORMANCE, short_name_associations
from asyncdlms.session import ClientSettings
from asyncdlms.session.server import AssociationPolicy

gurux_dlms = pytest.importorskip("gurux_dlms")
from gurux_dlms import GXDateTime, GXDLMSClient  # type: ignore[import-untyped]  # noqa: E402
from gurux_dlms.enums import Authentication, InterfaceType  # type: ignore[import-untyped]  # noqa: E402
from gurux_dlms.GXCiphering import GXCiphering  # type: ignore[import-untyped]  # noqa: E402
from gurux_dlms.objects import (  # type: ignore[import-untyped]  # noqa: E402
    GXDLMSClock,
    GXDLMSDisconnectControl,
    GXDLMSRegister,
)

from .test_gurux_client_vs_simulator import SocketConversation  # noqa: E402

PASSWORD = b"12345678"
START = dt.datetime(2026, 3, 10, 12, 7, 30, tzinfo=dt.UTC)
DISCONNECT = "0.0.96.3.10.255"
SHORT_NAMES = ClientSettings.for_referencing("sn")
# client 17 LLS reads everything and sets the clock; client 18 (LLS here) may act
ASSOCIATIONS = short_name_associations(
    {
        16: AssociationPolicy(),
        17: AssociationPolicy(MechanismName.LOW, Secret(PASSWORD)),
        18: AssociationPolicy(MechanismName.LOW, Secret(PASSWORD)),
    }
)


def gurux_sn(interface: str, client_address: int) -> SocketConversation:
    """gurux's client with short-name referencing (LLS but for the public client 16)."""
    authentication, password = (
        (Authentication.NONE, None) if client_address == 16 else (Authentication.LOW, PASSWORD)
    )
    client = GXDLMSClient(
        False,
        client_address,
        1,
        authentication,
        password,
        InterfaceType.HDLC if interface == "hdlc" else InterfaceType.WRAPPER,
    )
    client.settings.cipher = GXCiphering(b"GRX00001")
    return SocketConversation(interface, client_address, 1, 0xFFFF, client=client)


async def gurux_objects(talk: SocketConversation) -> dict[str, Any]:
    reply = await talk.exchange(talk.client.getObjectsRequest())
    return {item.logicalName: item for item in talk.client.parseObjects(reply.data, True)}


def test_the_associations_are_short_name_ones() -> None:
    for policy in ASSOCIATIONS.values():
        assert policy.application_context_name is ApplicationContextName.SHORT_NAME
        assert policy.conformance == SN_SERVER_CONFORMANCE


@pytest.mark.parametrize("interface", ["wrapper", "hdlc"])
async def test_gurux_and_our_client_read_the_same_object_list(interface: str) -> None:
    async with Simulator(
        interface=interface,  # type: ignore[arg-type]
        associations=ASSOCIATIONS,
        short_names=True,
        time_source=START.timestamp,
    ) as sim:
        talk = gurux_sn(interface, 17)
        await talk.connect(sim.urls[0])
        await talk.open()
        theirs = await gurux_objects(talk)
        register = GXDLMSRegister("1.0.1.8.0.255")
        register.shortName = theirs["1.0.1.8.0.255"].shortName
        await talk.read(register, 3)
        await talk.read(register, 2)
        await talk.close()
        async with sim.connect(
            0, settings=SHORT_NAMES, client=17, auth="low", password=PASSWORD
        ) as meter:
            ours = await meter.read_short_name_object_list()
            quantity = await meter.read_register("1.0.1.8.0.255")
    assert ours.skipped == 0
    assert {
        (o.base_name, o.class_id, o.version, str(o.logical_name)) for o in ours
    } == {
        (int(g.shortName), int(g.objectType), int(g.version), name) for name, g in theirs.items()
    }
    # the value attribute gurux found at its short name is the one ours mapped from OBIS
    assert register.value == quantity.value == sim.meters[0].energy(0)
    assert ours.attribute(3, "1.0.1.8.0.255", 2) == theirs["1.0.1.8.0.255"].shortName + 8


async def test_each_client_reads_what_the_other_wrote() -> None:
    async with Simulator(
        associations=ASSOCIATIONS, short_names=True, time_source=START.timestamp
    ) as sim:
        talk = gurux_sn("wrapper", 17)
        await talk.connect(sim.urls[0])
        await talk.open()
        theirs = await gurux_objects(talk)
        clock = GXDLMSClock("0.0.1.0.0.255")
        clock.shortName = theirs["0.0.1.0.0.255"].shortName
        clock.time = GXDateTime(dt.datetime(2027, 5, 6, 7, 8, 9, tzinfo=dt.UTC))
        await talk.exchange(talk.client.write(clock, 2))
        await talk.close()
        async with sim.connect(
            0, settings=SHORT_NAMES, client=17, auth="low", password=PASSWORD
        ) as meter:
            assert await meter.read_clock() == dt.datetime(2027, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
            await meter.set_clock(dt.datetime(2028, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
        talk = gurux_sn("wrapper", 17)
        await talk.connect(sim.urls[0])
        await talk.open()
        await talk.read(clock, 2)
        await talk.close()
    assert clock.time.value.replace(tzinfo=None) == dt.datetime(2028, 1, 2, 3, 4, 5)


async def test_methods_by_short_name_agree() -> None:
    """gurux invokes remote_disconnect at its short name; ours invokes remote_reconnect by
    class/OBIS/method; each sees the other's result."""
    async with Simulator(
        associations=ASSOCIATIONS, short_names=True, time_source=START.timestamp
    ) as sim:
        talk = gurux_sn("wrapper", 18)
        await talk.connect(sim.urls[0])
        await talk.open()
        theirs = await gurux_objects(talk)
        disconnect = GXDLMSDisconnectControl(DISCONNECT)
        disconnect.shortName = theirs[DISCONNECT].shortName
        await talk.exchange(disconnect.remoteDisconnect(talk.client))
        assert sim.meters[0].disconnected_since is not None
        async with sim.connect(
            0, settings=SHORT_NAMES, client=18, auth="low", password=PASSWORD
        ) as meter:
            assert await meter.get(70, Obis(DISCONNECT), 2) is False
            await meter.action(70, DISCONNECT, 2, 0)
        assert sim.meters[0].disconnected_since is None
        await talk.read(disconnect, 2)
        await talk.close()
    assert disconnect.outputState is True
