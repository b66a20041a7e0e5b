"""gurux-dlms's secure client (GXDLMSSecureClient, sans-IO) against our ciphered
ServerSession, in memory over HDLC and the wrapper: HLS-GMAC and LLS with authentication
only, encryption only and authenticated encryption; gurux ciphers its requests and
deciphers our answers (and checks our HLS-GMAC pass 4) with the same keys.

gurux-dlms is only a test dependency (GPL); nothing of it is used by the package.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from asyncdlms.apdu.acse import MechanismName
from asyncdlms.security.ciphering import SecurityPolicy
from asyncdlms.security.hls import Secret
from asyncdlms.session.server import AssociationPolicy, ServerSecurity
from tests.interop.test_gurux_client_vs_server import (
    CLOCK,
    DATA,
    PROFILE,
    REGISTER,
    Conversation,
)

gurux_dlms = pytest.importorskip("gurux_dlms")
from gurux_dlms.enums import Authentication, Security  # type: ignore[import-untyped]  # noqa: E402
from gurux_dlms.objects import (  # type: ignore[import-untyped]  # noqa: E402
    GXDLMSClock,
    GXDLMSData,
    GXDLMSProfileGeneric,
    GXDLMSRegister,
)
from gurux_dlms.secure import GXDLMSSecureClient  # type: ignore[import-untyped]  # noqa: E402

CLIENT_TITLE = b"GRX00001"
SERVER_TITLE = b"ASY12345"
BLOCK_CIPHER_KEY = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
AUTHENTICATION_KEY = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
PASSWORD = b"12345678"
POLICIES = {
    "auth": (SecurityPolicy.AUTHENTICATION_ONLY, Security.AUTHENTICATION),
    "enc": (SecurityPolicy.ENCRYPTION_ONLY, Security.ENCRYPTION),
    "ae": (SecurityPolicy.AUTHENTICATED_ENCRYPTION, Security.AUTHENTICATION_ENCRYPTION),
}


class SecureConversation(Conversation):
    """The same conversation with gurux's secure client and a ciphered policy."""

    def __init__(self, interface: str, policy: str, mechanism: str, max_pdu: int) -> None:
        ours, theirs = POLICIES[policy]
        security = ServerSecurity(BLOCK_CIPHER_KEY, AUTHENTICATION_KEY, ours)
        if mechanism == "gmac":
            association = AssociationPolicy(MechanismName.HIGH_GMAC, security=security)
            client_address = 18
        else:
            association = AssociationPolicy(MechanismName.LOW, Secret(PASSWORD), security=security)
            client_address = 17
        super().__init__(interface, client_address, max_pdu, 128, association)
        self.server.settings = _with_title(self.server.settings)
        authentication = Authentication.HIGH_GMAC if mechanism == "gmac" else Authentication.LOW
        client = GXDLMSSecureClient(
            True,
            client_address,
            1,
            authentication,
            None if mechanism == "gmac" else PASSWORD,
            self.client.interfaceType,
        )
        client.maxReceivePDUSize = max_pdu
        if interface == "hdlc":
            client.hdlcSettings.maxInfoTX = 128
            client.hdlcSettings.maxInfoRX = 128
        client.ciphering.security = theirs
        client.ciphering.systemTitle = CLIENT_TITLE
        client.ciphering.blockCipherKey = BLOCK_CIPHER_KEY
        client.ciphering.authenticationKey = AUTHENTICATION_KEY
        client.ciphering.invocationCounter = 1
        self.client = client


def _with_title(settings: Any) -> Any:
    from dataclasses import replace

    return replace(settings, system_title=SERVER_TITLE)


@pytest.mark.parametrize("interface", ["hdlc", "wrapper"])
@pytest.mark.parametrize("policy", ["auth", "enc", "ae"])
@pytest.mark.parametrize("mechanism", ["gmac", "low"])
def test_gurux_secure_client_against_our_ciphered_server(
    interface: str, policy: str, mechanism: str
) -> None:
    talk = SecureConversation(interface, policy, mechanism, 0xFFFF)
    talk.open()
    assert talk.server.security_context is not None
    assert talk.server.security_context.peer_system_title == CLIENT_TITLE
    assert bytes(talk.client.settings.sourceSystemTitle) == SERVER_TITLE

    register = talk.read(GXDLMSRegister(REGISTER), 3)
    talk.read(register, 2)
    assert register.value == pytest.approx(12345.6)
    clock = talk.read(GXDLMSClock(CLOCK), 2)
    assert clock.time.value.replace(tzinfo=None) == datetime.datetime(2025, 1, 1, 12, 34)
    assert talk.read(GXDLMSData(DATA), 2).value == "meter-1"
    profile = GXDLMSProfileGeneric(PROFILE)
    talk.read(profile, 3)
    reply = talk.exchange(talk.client.readRowsByEntry(profile, 3, 4))
    talk.client.updateValue(profile, 2, reply.value)
    assert [row[1] for row in profile.buffer] == [200, 300, 400, 500]
    assert talk.server.deciphering_failures == 0
    assert talk.server.replayed_apdus == 0


@pytest.mark.parametrize("interface", ["hdlc", "wrapper"])
def test_gurux_secure_client_with_blocks(interface: str) -> None:
    """A 64-byte PDU: our ciphered answers go in datablocks gurux reassembles."""
    talk = SecureConversation(interface, "ae", "gmac", 64)
    talk.open()
    profile = GXDLMSProfileGeneric(PROFILE)
    talk.read(profile, 3)
    talk.read(profile, 2)
    assert len(profile.buffer) == 24
    assert talk.server.blocks_sent > 1
