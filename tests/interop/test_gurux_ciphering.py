"""Security suite 0 against gurux-dlms 1.0.203 (GPL, used only as a test oracle, never copied).

Gurux's secure client, set up with known keys, system titles, invocation counters and a fixed
CtoS challenge, produces ciphered AARQs (glo-initiateRequest in the user-information, LLS or
HLS-GMAC), the HLS-GMAC pass 3 ACTION and glo GET requests; our :class:`SecurityContext`
doing the same steps from the same counter must give the same bytes, decipher gurux's APDUs,
and gurux must decipher ours (a ciphered AARE, the pass 4 answer, GET responses) — for the
three security policies. Recorded gurux behaviour: its HLS-GMAC pass 3 uses one invocation
counter and the glo-action-request carrying it the next one; so does ours.
"""

from __future__ import annotations

from typing import Any

import pytest

from asyncdlms.apdu.acse import (
    Aare,
    Aarq,
    AcseServiceUserDiagnostic,
    ApplicationContextName,
    AssociationResult,
    MechanismName,
)
from asyncdlms.apdu.initiate import Conformance, InitiateRequest, InitiateResponse
from asyncdlms.errors import AuthenticationError
from asyncdlms.security import (
    AuthenticationTagError,
    CipheredApdu,
    SecurityContext,
    SecurityPolicy,
)

gurux_dlms = pytest.importorskip("gurux_dlms")

from gurux_dlms import GXByteBuffer, GXReplyData  # type: ignore[import-untyped]  # noqa: E402
from gurux_dlms.enums import (  # type: ignore[import-untyped]  # noqa: E402
    Authentication,
    InterfaceType,
    Security,
)
from gurux_dlms.objects import GXDLMSClock, GXDLMSData  # type: ignore[import-untyped]  # noqa: E402
from gurux_dlms.secure import GXDLMSSecureClient  # type: ignore[import-untyped]  # noqa: E402

WRAPPER_HEADER = 8
BLOCK_CIPHER_KEY = bytes(range(16))
AUTHENTICATION_KEY = bytes(range(0xD0, 0xE0))
CLIENT_TITLE = bytes.fromhex("4D4D4D0000000001")
SERVER_TITLE = bytes.fromhex("4D4D4D0000BC614E")
CTOS = bytes(range(0x01, 0x11))
STOC = bytes(range(0x41, 0x51))
PASSWORD = b"12345678"
START = 0x0100
SERVER_START = 0x5000
GET_CLOCK_TIME = bytes.fromhex("C001C100080000010000FF0200")

POLICIES = {
    SecurityPolicy.AUTHENTICATION_ONLY: Security.AUTHENTICATION,
    SecurityPolicy.ENCRYPTION_ONLY: Security.ENCRYPTION,
    SecurityPolicy.AUTHENTICATED_ENCRYPTION: Security.AUTHENTICATION_ENCRYPTION,
}
MECHANISMS = {
    MechanismName.LOW: Authentication.LOW,
    MechanismName.HIGH_GMAC: Authentication.HIGH_GMAC,
}


def _gurux(policy: SecurityPolicy, mechanism: MechanismName) -> Any:
    password = PASSWORD.decode() if mechanism == MechanismName.LOW else None
    client = GXDLMSSecureClient(True, 16, 1, MECHANISMS[mechanism], password, InterfaceType.WRAPPER)
    ciphering = client.ciphering
    ciphering.security = POLICIES[policy]
    ciphering.systemTitle = CLIENT_TITLE
    ciphering.blockCipherKey = BLOCK_CIPHER_KEY
    ciphering.authenticationKey = AUTHENTICATION_KEY
    ciphering.invocationCounter = START
    client.ctoSChallenge = CTOS  # fixed CtoS (gurux's debugging hook)
    return client


def _contexts(policy: SecurityPolicy) -> tuple[SecurityContext, SecurityContext]:
    client = SecurityContext(
        system_title=CLIENT_TITLE,
        block_cipher_key=BLOCK_CIPHER_KEY,
        authentication_key=AUTHENTICATION_KEY,
        policy=policy,
    )
    client.advance_invocation_counter(START)
    server = SecurityContext(
        system_title=SERVER_TITLE,
        peer_system_title=CLIENT_TITLE,
        block_cipher_key=BLOCK_CIPHER_KEY,
        authentication_key=AUTHENTICATION_KEY,
        policy=policy,
    )
    server.advance_invocation_counter(SERVER_START)
    return client, server


def _payload(message: Any) -> bytes:
    data = bytes(message)
    assert int.from_bytes(data[6:8], "big") == len(data) - WRAPPER_HEADER
    return data[WRAPPER_HEADER:]


def _wrapped(apdu: bytes) -> bytes:
    """A wrapper frame from the server (wPort 1) to the client (wPort 16)."""
    return bytes.fromhex("000100010010") + len(apdu).to_bytes(2, "big") + apdu


def _associate(
    policy: SecurityPolicy, mechanism: MechanismName
) -> tuple[Any, SecurityContext, SecurityContext]:
    """Gurux's AARQ equals ours; gurux accepts our ciphered AARE (and, for HLS-GMAC, our
    pass 4 after we check its pass 3, which equals ours)."""
    gurux = _gurux(policy, mechanism)
    client, server = _contexts(policy)
    gurux_aarq = _payload(gurux.aarqRequest()[0])
    decoded = Aarq.decode(gurux_aarq)
    assert decoded.application_context_name == ApplicationContextName.LOGICAL_NAME_WITH_CIPHERING
    assert decoded.calling_ap_title == CLIENT_TITLE
    assert decoded.user_information is not None
    ciphered = CipheredApdu.decode(decoded.user_information)
    assert ciphered.tag == 0x21 and ciphered.invocation_counter == START
    assert ciphered.security_control.byte == int(policy)
    # we decipher gurux's glo-initiateRequest...
    request = InitiateRequest.decode(server.unprotect(decoded.user_information))
    assert request.client_max_receive_pdu_size == 0xFFFF
    assert request.proposed_conformance == Conformance(0x401E5D)
    # ...and our AARQ from the same counter is the same, byte for byte
    ours = Aarq(
        application_context_name=ApplicationContextName.LOGICAL_NAME_WITH_CIPHERING,
        calling_ap_title=client.system_title,
        sender_acse_requirements=True,
        mechanism_name=mechanism,
        calling_authentication_value=PASSWORD if mechanism == MechanismName.LOW else CTOS,
        user_information=client.protect(request.encode()),
    )
    assert ours.encode() == gurux_aarq
    hls = mechanism == MechanismName.HIGH_GMAC
    aare = Aare(
        AssociationResult.ACCEPTED,
        AcseServiceUserDiagnostic.AUTHENTICATION_REQUIRED
        if hls
        else AcseServiceUserDiagnostic.NULL,
        application_context_name=ApplicationContextName.LOGICAL_NAME_WITH_CIPHERING,
        responder_acse_requirements=hls,
        mechanism_name=mechanism if hls else None,
        responding_authentication_value=STOC if hls else None,
        responding_ap_title=SERVER_TITLE,
        user_information=server.protect(InitiateResponse(Conformance(0x001E1D), 500).encode()),
    )
    gurux.parseAareResponse(GXByteBuffer(aare.encode()))  # gurux deciphers our initiateResponse
    assert gurux.maxReceivePDUSize == 500
    client.peer_system_title = SERVER_TITLE  # from the AARE responding-AP-title
    assert client.unprotect(aare.user_information or b"")[0] == 0x08
    if hls:
        assert gurux.isAuthenticationRequired
        gurux_action = _payload(gurux.getApplicationAssociationRequest()[0])
        # gurux: f(StoC) with counter START + 1, the glo-action-request with START + 2; ours too
        pass3 = client.hls_gmac(STOC)
        assert pass3[1:5] == (START + 1).to_bytes(4, "big")
        plain_action = bytes.fromhex("C301C1000F0000280000FF0101") + b"\x09\x11" + pass3
        assert client.protect(plain_action) == gurux_action
        assert server.unprotect(gurux_action) == plain_action
        server.verify_hls_gmac(pass3, STOC)
        pass4 = server.hls_gmac(CTOS)
        response = server.protect(bytes.fromhex("C701C1000100") + b"\x09\x11" + pass4)
        reply = GXReplyData()
        gurux.getData(GXByteBuffer(_wrapped(response)), reply)
        gurux.parseApplicationAssociationResponse(reply.data)  # raises when it does not match
        client.verify_hls_gmac(pass4, CTOS)
        assert client.unprotect(response)[:6] == bytes.fromhex("C701C1000100")
    return gurux, client, server


@pytest.mark.parametrize("mechanism", list(MECHANISMS), ids=lambda m: m.name)
@pytest.mark.parametrize("policy", list(POLICIES), ids=lambda p: p.name)
def test_association_with_gurux(policy: SecurityPolicy, mechanism: MechanismName) -> None:
    _associate(policy, mechanism)


def test_gurux_rejects_a_wrong_pass4() -> None:
    gurux = _gurux(SecurityPolicy.AUTHENTICATED_ENCRYPTION, MechanismName.HIGH_GMAC)
    client, server = _contexts(SecurityPolicy.AUTHENTICATED_ENCRYPTION)
    client.peer_system_title = SERVER_TITLE
    decoded = Aarq.decode(_payload(gurux.aarqRequest()[0]))
    assert decoded.user_information is not None
    server.unprotect(decoded.user_information)
    aare = Aare(
        AssociationResult.ACCEPTED,
        AcseServiceUserDiagnostic.AUTHENTICATION_REQUIRED,
        application_context_name=ApplicationContextName.LOGICAL_NAME_WITH_CIPHERING,
        responder_acse_requirements=True,
        mechanism_name=MechanismName.HIGH_GMAC,
        responding_authentication_value=STOC,
        responding_ap_title=SERVER_TITLE,
        user_information=server.protect(InitiateResponse(Conformance(0x001E1D), 500).encode()),
    )
    gurux.parseAareResponse(GXByteBuffer(aare.encode()))
    server.unprotect(_payload(gurux.getApplicationAssociationRequest()[0]))
    wrong = server.hls_gmac(STOC)  # the answer to the wrong challenge
    response = server.protect(bytes.fromhex("C701C1000100") + b"\x09\x11" + wrong)
    reply = GXReplyData()
    gurux.getData(GXByteBuffer(_wrapped(response)), reply)
    with pytest.raises(Exception, match="do not match"):
        gurux.parseApplicationAssociationResponse(reply.data)
    with pytest.raises(AuthenticationError):
        client.verify_hls_gmac(wrong, CTOS)


@pytest.mark.parametrize("policy", list(POLICIES), ids=lambda p: p.name)
def test_glo_get_request_and_response_with_gurux(policy: SecurityPolicy) -> None:
    gurux, client, server = _associate(policy, MechanismName.LOW)
    for expected_counter in (START + 1, START + 2):
        gurux_get = _payload(gurux.read(GXDLMSClock("0.0.1.0.0.255"), 2)[0])
        ciphered = CipheredApdu.decode(gurux_get)
        assert ciphered.tag == 0xC8 and ciphered.invocation_counter == expected_counter
        # ours from the same counter: the same glo-get-request
        assert client.protect(GET_CLOCK_TIME) == gurux_get
        assert server.unprotect(gurux_get) == GET_CLOCK_TIME
        # gurux deciphers our glo-get-response (a double-long-unsigned)
        response = server.protect(
            bytes.fromhex("C401C10006") + (123456 + expected_counter).to_bytes(4, "big")
        )
        assert response[0] == 0xCC
        reply = GXReplyData()
        gurux.getData(GXByteBuffer(_wrapped(response)), reply)
        assert reply.value == 123456 + expected_counter
        assert client.unprotect(response)[-4:] == (123456 + expected_counter).to_bytes(4, "big")


@pytest.mark.parametrize("policy", list(POLICIES), ids=lambda p: p.name)
def test_a_response_under_a_wrong_key(policy: SecurityPolicy) -> None:
    """Ours refuses it under every policy that has a tag; gurux-dlms 1.0.203 checks the tag
    only with authentication only: for authenticated encryption its decryptAesGcm runs its GCM
    stream in encrypt mode and never compares the tag (recorded here, so a gurux fix shows)."""
    gurux, client, _ = _associate(policy, MechanismName.LOW)
    gurux.read(GXDLMSData("0.0.96.1.0.255"), 2)
    impostor = SecurityContext(
        system_title=SERVER_TITLE,
        block_cipher_key=BLOCK_CIPHER_KEY,
        authentication_key=bytes(16),
        policy=policy,
    )
    impostor.advance_invocation_counter(SERVER_START + 10)
    response = impostor.protect(bytes.fromhex("C401C1000600000001"))
    reply = GXReplyData()
    if policy is SecurityPolicy.AUTHENTICATION_ONLY:
        with pytest.raises(ValueError, match="Invalid tag"):
            gurux.getData(GXByteBuffer(_wrapped(response)), reply)
    else:
        gurux.getData(GXByteBuffer(_wrapped(response)), reply)
        assert reply.value == 1  # gurux takes the value (no tag with encryption only)
    if policy is SecurityPolicy.ENCRYPTION_ONLY:
        assert client.unprotect(response)[-4:] == b"\x00\x00\x00\x01"  # no tag to check
    else:
        with pytest.raises(AuthenticationTagError, match="authentication tag mismatch"):
            client.unprotect(response)


def test_we_refuse_a_gurux_request_under_another_key() -> None:
    gurux = _gurux(SecurityPolicy.AUTHENTICATED_ENCRYPTION, MechanismName.LOW)
    gurux.ciphering.authenticationKey = bytes(16)
    _, server = _contexts(SecurityPolicy.AUTHENTICATED_ENCRYPTION)
    decoded = Aarq.decode(_payload(gurux.aarqRequest()[0]))
    with pytest.raises(AuthenticationTagError, match="authentication tag mismatch"):
        server.unprotect(decoded.user_information or b"")


def test_ciphered_data_notification_with_gurux() -> None:
    """A push in general-glo-ciphering: gurux's equals ours from the same counter, each side
    deciphers the other's."""
    from gurux_dlms.secure.GXDLMSSecureNotify import (  # type: ignore[import-untyped]
        GXDLMSSecureNotify,
    )

    body = bytes.fromhex("020209060000010000FF0600BC614E")  # {clock OBIS, 12345678}
    meter_notify = GXDLMSSecureNotify(True, 1, 16, InterfaceType.WRAPPER)
    meter_notify.ciphering.security = Security.AUTHENTICATION_ENCRYPTION
    meter_notify.ciphering.systemTitle = SERVER_TITLE
    meter_notify.ciphering.blockCipherKey = BLOCK_CIPHER_KEY
    meter_notify.ciphering.authenticationKey = AUTHENTICATION_KEY
    meter_notify.ciphering.invocationCounter = 77
    (message,) = meter_notify.generateDataNotificationMessages(None, GXByteBuffer(body))
    gurux_push = _payload(message)
    listener = SecurityContext(
        system_title=CLIENT_TITLE,
        block_cipher_key=BLOCK_CIPHER_KEY,
        authentication_key=AUTHENTICATION_KEY,
    )
    deciphered = listener.unprotect_apdu(gurux_push)
    assert deciphered.system_title == SERVER_TITLE and deciphered.invocation_counter == 77
    plain = deciphered.apdu
    assert plain[0] == 0x0F and plain.endswith(body)
    meter = SecurityContext(
        system_title=SERVER_TITLE,
        block_cipher_key=BLOCK_CIPHER_KEY,
        authentication_key=AUTHENTICATION_KEY,
    )
    meter.advance_invocation_counter(77)
    assert meter.protect(plain) == gurux_push
    # gurux's listener deciphers ours
    ours = meter.protect(plain)
    head_end = GXDLMSSecureNotify(True, 16, 1, InterfaceType.WRAPPER)
    head_end.ciphering.security = Security.AUTHENTICATION_ENCRYPTION
    head_end.ciphering.systemTitle = CLIENT_TITLE
    head_end.ciphering.blockCipherKey = BLOCK_CIPHER_KEY
    head_end.ciphering.authenticationKey = AUTHENTICATION_KEY
    reply = GXReplyData()
    frame = bytes.fromhex("000100100001") + len(ours).to_bytes(2, "big") + ours
    head_end.getData(GXByteBuffer(frame), reply)
    assert list(reply.value) == [bytearray(bytes.fromhex("0000010000FF")), 12345678]
