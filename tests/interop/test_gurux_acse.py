"""ACSE and HLS against gurux-dlms 1.0.203 (GPL, used only as a test oracle, never copied).

Gurux's client builds AARQs for each authentication level and referencing; our :class:`Aarq`
with the same settings (and the same fixed CtoS challenge) must give the same bytes, and our
decoder must read Gurux's. Gurux's client must accept our AAREs (and report our rejections),
give the same RLRQ, and compute the same HLS pass 3 value, and accept our pass 4 answer, for
MD5, SHA-1 and SHA-256.
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
    Rlrq,
)
from asyncdlms.apdu.initiate import (
    LN_VAA_NAME,
    SN_VAA_NAME,
    Conformance,
    InitiateRequest,
    InitiateResponse,
)
from asyncdlms.security import client_pass3, server_pass4

gurux_dlms = pytest.importorskip("gurux_dlms")

from gurux_dlms import GXByteBuffer, GXDLMSClient, GXDLMSException  # type: ignore[import-untyped]  # noqa: E402
from gurux_dlms._GXAPDU import _GXAPDU  # type: ignore[import-untyped]  # noqa: E402
from gurux_dlms.enums import (  # type: ignore[import-untyped]  # noqa: E402
    Authentication,
    InterfaceType,
    SourceDiagnostic,
)
from gurux_dlms.GXCiphering import GXCiphering  # type: ignore[import-untyped]  # noqa: E402
from gurux_dlms.GXDLMSSettings import GXDLMSSettings  # type: ignore[import-untyped]  # noqa: E402

GuruxResult = gurux_dlms.enums.AssociationResult
WRAPPER_HEADER = 8
PASSWORD = b"12345678"
CTOS = bytes(range(0x01, 0x11))
STOC = bytes(range(0x41, 0x51))
CLIENT_TITLE = bytes.fromhex("4d4d4d0000000001")
SERVER_TITLE = bytes.fromhex("4d4d4d0000bc614e")

MECHANISMS = {
    Authentication.NONE: None,
    Authentication.LOW: MechanismName.LOW,
    Authentication.HIGH: MechanismName.HIGH,
    Authentication.HIGH_MD5: MechanismName.HIGH_MD5,
    Authentication.HIGH_SHA1: MechanismName.HIGH_SHA1,
    Authentication.HIGH_SHA256: MechanismName.HIGH_SHA256,
}
HLS = [Authentication.HIGH_MD5, Authentication.HIGH_SHA1, Authentication.HIGH_SHA256]


def _bit_reversed_24(value: int) -> int:
    """Gurux keeps the conformance block bit-reversed in its Conformance enum."""
    return int(f"{value:024b}"[::-1], 2)


def _client(logical_name: bool, authentication: Any) -> Any:
    password = None if authentication == Authentication.NONE else PASSWORD.decode()
    client = GXDLMSClient(logical_name, 16, 1, authentication, password, InterfaceType.WRAPPER)
    if authentication == Authentication.HIGH_SHA256:
        client.settings.cipher = GXCiphering(CLIENT_TITLE)
    client.ctoSChallenge = CTOS  # fixed CtoS (gurux's debugging hook)
    return client


def _payload(message: Any) -> bytes:
    return bytes(message)[WRAPPER_HEADER:]


@pytest.mark.parametrize("logical_name", [True, False], ids=["LN", "SN"])
@pytest.mark.parametrize("authentication", list(MECHANISMS), ids=lambda a: a.name)
def test_aarq_equals_gurux(logical_name: bool, authentication: Any) -> None:
    client = _client(logical_name, authentication)
    gurux_aarq = _payload(client.aarqRequest()[0])
    mechanism = MECHANISMS[authentication]
    if mechanism is None:
        value = None
    elif mechanism == MechanismName.LOW:
        value = PASSWORD
    else:
        value = CTOS
    # gurux proposes its default conformance (kept bit-reversed) and max PDU 0xFFFF
    conformance = Conformance(_bit_reversed_24(int(client.proposedConformance)))
    ours = Aarq(
        application_context_name=(
            ApplicationContextName.LOGICAL_NAME
            if logical_name
            else ApplicationContextName.SHORT_NAME
        ),
        user_information=InitiateRequest(conformance, client.maxReceivePDUSize).encode(),
        sender_acse_requirements=mechanism is not None,
        mechanism_name=mechanism,
        calling_authentication_value=value,
        calling_ap_title=CLIENT_TITLE if mechanism == MechanismName.HIGH_SHA256 else None,
    )
    assert ours.encode() == gurux_aarq
    decoded = Aarq.decode(gurux_aarq)
    assert decoded == ours
    assert decoded.user_information is not None
    request = InitiateRequest.decode(decoded.user_information)
    assert request.client_max_receive_pdu_size == 0xFFFF
    expected = Conformance(0x401E5D) if logical_name else Conformance(0x1C0320)
    assert request.proposed_conformance == expected


@pytest.mark.parametrize("logical_name", [True, False], ids=["LN", "SN"])
def test_gurux_accepts_our_aare(logical_name: bool) -> None:
    client = _client(logical_name, Authentication.NONE)
    client.aarqRequest()
    aare = Aare(
        AssociationResult.ACCEPTED,
        application_context_name=(
            ApplicationContextName.LOGICAL_NAME
            if logical_name
            else ApplicationContextName.SHORT_NAME
        ),
        user_information=InitiateResponse(
            Conformance(0x001E1D), 500, vaa_name=LN_VAA_NAME if logical_name else SN_VAA_NAME
        ).encode(),
    )
    client.parseAareResponse(GXByteBuffer(aare.encode()))
    assert not client.isAuthenticationRequired
    assert client.maxReceivePDUSize == 500
    assert _bit_reversed_24(int(client.negotiatedConformance)) == 0x001E1D
    # and gurux's release request is our RLRQ
    (release,) = client.releaseRequest()
    assert _payload(release) == Rlrq().encode() == bytes.fromhex("6203800100")


@pytest.mark.parametrize(
    ("result", "diagnostic"),
    [
        (AssociationResult.REJECTED_PERMANENT, AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE),
        (
            AssociationResult.REJECTED_TRANSIENT,
            AcseServiceUserDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED,
        ),
    ],
)
def test_gurux_reads_our_rejection(
    result: AssociationResult, diagnostic: AcseServiceUserDiagnostic
) -> None:
    client = _client(True, Authentication.NONE)
    client.aarqRequest()
    with pytest.raises(GXDLMSException) as info:
        client.parseAareResponse(GXByteBuffer(Aare(result, diagnostic).encode()))
    assert int(info.value.result) == result
    assert int(info.value.diagnostic) == diagnostic


@pytest.mark.parametrize("authentication", HLS, ids=lambda a: a.name)
def test_hls_pass3_and_pass4_with_gurux(authentication: Any) -> None:
    mechanism = MECHANISMS[authentication]
    assert mechanism is not None
    client = _client(True, authentication)
    client.aarqRequest()
    aare = Aare(
        AssociationResult.ACCEPTED,
        AcseServiceUserDiagnostic.AUTHENTICATION_REQUIRED,
        responder_acse_requirements=True,
        mechanism_name=mechanism,
        responding_authentication_value=STOC,
        responding_ap_title=SERVER_TITLE,
        user_information=InitiateResponse(Conformance(0x001E1D), 500).encode(),
    )
    client.parseAareResponse(GXByteBuffer(aare.encode()))
    assert client.isAuthenticationRequired
    if client.settings.cipher is None:  # gurux reads the invocation counter even for MD5/SHA-1
        client.settings.cipher = GXCiphering(CLIENT_TITLE)
    titles: dict[str, Any] = {
        "client_system_title": CLIENT_TITLE,
        "server_system_title": SERVER_TITLE,
    }
    ours = client_pass3(mechanism, PASSWORD, server_challenge=STOC, client_challenge=CTOS, **titles)
    # gurux's pass 3: ACTION-Request Association LN method 1 with octet-string f(StoC)
    action = _payload(client.getApplicationAssociationRequest()[0])
    assert action[:13] == bytes.fromhex("c301c1000f0000280000ff0101")
    assert action[13:] == bytes((0x09, len(ours))) + ours
    # gurux checks our pass 4 answer f(CtoS) (it raises when it does not match)
    answer = server_pass4(
        mechanism, PASSWORD, client_challenge=CTOS, server_challenge=STOC, **titles
    )
    client.parseApplicationAssociationResponse(GXByteBuffer(bytes((0x09, len(answer))) + answer))
    wrong = bytes(len(answer))
    with pytest.raises(Exception, match="do not match"):
        client.parseApplicationAssociationResponse(GXByteBuffer(bytes((0x09, len(wrong))) + wrong))


@pytest.mark.parametrize("authentication", list(MECHANISMS), ids=lambda a: a.name)
@pytest.mark.parametrize(
    ("result", "diagnostic"),
    [
        (GuruxResult.ACCEPTED, SourceDiagnostic.NONE),
        (GuruxResult.ACCEPTED, SourceDiagnostic.AUTHENTICATION_REQUIRED),
        (GuruxResult.PERMANENT_REJECTED, SourceDiagnostic.AUTHENTICATION_FAILURE),
    ],
    ids=["accepted", "authentication-required", "authentication-failure"],
)
def test_we_read_gurux_server_aare(authentication: Any, result: Any, diagnostic: Any) -> None:
    settings = GXDLMSSettings(True, None)
    settings.authentication = authentication
    settings.stoCChallenge = STOC
    buffer = GXByteBuffer()
    _GXAPDU.generateAARE(settings, buffer, result, diagnostic, None, None, None)
    data = bytes(buffer.array())
    aare = Aare.decode(data)
    assert aare.result == int(result)
    assert aare.result_source_diagnostic == int(diagnostic)
    assert aare.application_context_name is ApplicationContextName.LOGICAL_NAME
    assert aare.user_information is not None
    response = InitiateResponse.decode(aare.user_information)
    assert response.negotiated_dlms_version_number == 6
    assert response.vaa_name == LN_VAA_NAME
    mechanism = MECHANISMS[authentication]
    if mechanism is not None and mechanism > MechanismName.LOW:
        # gurux writes "AA 10 80 10 <StoC>" (we read through the length slip); once the
        # shared gurux meter's runtime patches are loaded (another test module imports it)
        # gurux writes the correct "AA 12 80 10": either way we read the same
        assert aare.mechanism_name is mechanism
        assert aare.responder_acse_requirements
        assert aare.responding_authentication_value == STOC
        assert data.hex().count("aa108010") + data.hex().count("aa128010") == 1
    else:
        assert aare.mechanism_name is None and aare.responding_authentication_value is None
        assert aare.encode() == data
