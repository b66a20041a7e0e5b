"""gurux-dlms's client sends ACCESS requests (GXDLMSClient.accessRequest) to our simulator
over loopback TCP, HDLC and wrapper, and parses our ACCESS-Response with its own parser
(GXDLMSClient.parseAccessResponse): the values it reads equal what GET answers, and a failed
item carries its data-access-result.

gurux's Python client builds GET items only (its SET and ACTION items fail inside gurux, on its
own ValueEventArgs call); our client covers SET and ACTION (tests/session/test_access.py).
gurux-dlms is only a test dependency (GPL); nothing of it is used by the package.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from asyncdlms.apdu.initiate import Conformance as OurConformance
from asyncdlms.server import Simulator
from tests.interop.test_gurux_client_vs_simulator import ASSOCIATIONS, SocketConversation

gurux_dlms = pytest.importorskip("gurux_dlms")
from gurux_dlms import GXDLMSAccessItem  # type: ignore[import-untyped]  # noqa: E402
from gurux_dlms.enums import (  # type: ignore[import-untyped]  # noqa: E402
    AccessServiceCommandType,
    Conformance,
    ErrorCode,
)
from gurux_dlms.objects import (  # type: ignore[import-untyped]  # noqa: E402
    GXDLMSData,
    GXDLMSDisconnectControl,
    GXDLMSRegister,
)

GET = AccessServiceCommandType.GET
GENERAL_PROTECTION = OurConformance.GENERAL_PROTECTION
ACCESS = OurConformance.ACCESS


@pytest.mark.parametrize("interface", ["wrapper", "hdlc"])
@pytest.mark.parametrize("client_address", [16, 18])
async def test_gurux_access_request_against_the_simulator(
    interface: str, client_address: int
) -> None:
    async with Simulator(interface=interface, associations=ASSOCIATIONS) as sim:
        async with sim.connect(0, client=16, timeout=10) as meter:
            name = await meter.get(1, "0.0.42.0.0.255", 2)
            scaler_unit = await meter.get(3, "1.0.1.8.0.255", 3)
        conversation = SocketConversation(interface, client_address, 1, 0xFFFF)
        await conversation.connect(sim.urls[0])
        await conversation.open()
        client = conversation.client
        assert client.negotiatedConformance & Conformance.ACCESS
        device_name = GXDLMSData("0.0.42.0.0.255")
        register = GXDLMSRegister("1.0.1.8.0.255")
        missing = GXDLMSData("0.0.99.99.99.255")
        disconnect = GXDLMSDisconnectControl("0.0.96.3.10.255")
        items = [
            GXDLMSAccessItem(GET, device_name, 2),
            GXDLMSAccessItem(GET, missing, 2),
            GXDLMSAccessItem(GET, register, 3),
            GXDLMSAccessItem(GET, disconnect, 2),  # not readable by the public client
        ]
        reply = await conversation.exchange(client.accessRequest(None, items))
        client.parseAccessResponse(items, reply.data)
        assert [item.error for item in items] == [
            ErrorCode.OK,
            ErrorCode.UNDEFINED_OBJECT,
            ErrorCode.OK,
            ErrorCode.OK if client_address == 18 else ErrorCode.READ_WRITE_DENIED,
        ]
        assert bytes(items[0].value) == bytes(name)
        assert list(items[2].value) == [int(v) for v in scaler_unit]
        assert items[1].value is None  # null-data beside a failed item
        if client_address == 18:
            assert items[3].value is True
        # a second request on the same association (gurux's long invoke-id moved on)
        again = [GXDLMSAccessItem(GET, GXDLMSData("0.0.42.0.0.255"), 2)]
        reply = await conversation.exchange(client.accessRequest(None, again))
        client.parseAccessResponse(again, reply.data)
        assert again[0].error == ErrorCode.OK
        await conversation.close()


@pytest.mark.parametrize("interface", ["wrapper", "hdlc"])
@pytest.mark.parametrize("policy", ["auth", "ae"])
def test_gurux_secure_client_access_against_our_ciphered_server(
    interface: str, policy: str
) -> None:
    """gurux's secure client ciphers its ACCESS request in general-glo-ciphering (ACCESS has
    no glo- tag; gurux uses the general form once general-protection is negotiated) and
    deciphers our answer, ciphered the same way."""
    from tests.interop.test_gurux_client_vs_ciphered_server import SecureConversation
    from tests.interop.test_gurux_client_vs_server import REGISTER

    talk = SecureConversation(interface, policy, "gmac", 0xFFFF)
    settings = talk.server.settings
    talk.server.settings = replace(
        settings,
        policies={
            sap: replace(p, conformance=p.conformance | GENERAL_PROTECTION | ACCESS)
            for sap, p in settings.policies.items()
        },
    )
    talk.open()
    register = GXDLMSRegister(REGISTER)
    items = [GXDLMSAccessItem(GET, register, 3), GXDLMSAccessItem(GET, register, 2)]
    requests = talk.client.accessRequest(None, items)
    if interface == "wrapper":
        assert bytes(requests[0])[8] == 0xDB  # general-glo-ciphering
    reply = talk.exchange(requests)
    talk.client.parseAccessResponse(items, reply.data)
    assert [item.error for item in items] == [ErrorCode.OK, ErrorCode.OK]
    assert register.value == pytest.approx(12345.6)
    assert talk.server.deciphering_failures == 0
    assert talk.server.requests_served >= 1
