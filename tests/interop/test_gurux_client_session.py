"""Our ClientSession against gurux-dlms 1.0.203's GXDLMSClient (GPL, a test oracle only).

With the same settings (client 16, server 1, the same fixed CtoS challenge, system title),
gurux's client and ours write the same bytes: the whole wrapper message or HDLC frame of the
SNRM, the AARQ for none/LLS/HLS MD5/SHA-1/SHA-256, and of GET, SET and ACTION requests once
both have read the same AARE. Answers gurux builds (its server's AARE and its responses) are
read by our session in tests/interop/test_gurux_meter_session.py; here gurux's client reads
the same AARE as ours, and our pass 3 equals gurux's.
"""

from __future__ import annotations

from typing import Any

import pytest

from asyncdlms.apdu.acse import Aare, AcseServiceUserDiagnostic, AssociationResult, MechanismName
from asyncdlms.apdu.action import ActionResponseNormal, ActionResponseWithOptionalData
from asyncdlms.apdu.descriptors import CosemAttributeDescriptor, CosemMethodDescriptor, Data
from asyncdlms.apdu.enums import ActionResult
from asyncdlms.apdu.initiate import Conformance, InitiateResponse
from asyncdlms.hdlc import HdlcConnection, HdlcSettings, Role
from asyncdlms.hdlc.addresses import HdlcAddress
from asyncdlms.link import Link
from asyncdlms.obis import Obis
from asyncdlms.security.hls import Secret, server_pass4
from asyncdlms.session.client import ClientSession
from asyncdlms.session.events import AssociationEstablished
from asyncdlms.session.settings import ClientSettings
from asyncdlms.types.values import DoubleLongUnsigned, Integer
from asyncdlms.wrapper import WrapperConnection

gurux_dlms = pytest.importorskip("gurux_dlms")

from gurux_dlms import GXByteBuffer, GXDLMSClient, GXReplyData  # type: ignore[import-untyped]  # noqa: E402
from gurux_dlms.enums import Authentication, DataType, InterfaceType  # type: ignore[import-untyped]  # noqa: E402
from gurux_dlms.GXCiphering import GXCiphering  # type: ignore[import-untyped]  # noqa: E402
from gurux_dlms.objects import GXDLMSRegister  # type: ignore[import-untyped]  # noqa: E402

PASSWORD = b"12345678"
CTOS = bytes(range(0x01, 0x11))
STOC = bytes(range(0x41, 0x51))
CLIENT_TITLE = bytes.fromhex("4d4d4d0000000001")
SERVER_TITLE = bytes.fromhex("4d4d4d0000bc614e")
REGISTER = "1.0.1.8.0.255"
MECHANISMS = {
    Authentication.NONE: MechanismName.LOWEST,
    Authentication.LOW: MechanismName.LOW,
    Authentication.HIGH_MD5: MechanismName.HIGH_MD5,
    Authentication.HIGH_SHA1: MechanismName.HIGH_SHA1,
    Authentication.HIGH_SHA256: MechanismName.HIGH_SHA256,
}


def _gurux(kind: str, authentication: Any, logical_name: bool = True) -> Any:
    password = None if authentication == Authentication.NONE else PASSWORD.decode()
    interface = InterfaceType.WRAPPER if kind == "wrapper" else InterfaceType.HDLC
    client = GXDLMSClient(logical_name, 16, 1, authentication, password, interface)
    if authentication == Authentication.HIGH_SHA256:
        client.settings.cipher = GXCiphering(CLIENT_TITLE)
    client.ctoSChallenge = CTOS
    return client


def _ours(kind: str, authentication: Any, logical_name: bool = True) -> ClientSession:
    mechanism = MECHANISMS[authentication]
    link: Link
    if kind == "wrapper":
        link = WrapperConnection(16, 1)
    else:
        link = HdlcConnection(HdlcSettings(HdlcAddress.client(16), HdlcAddress.server(1)))
    return ClientSession(
        link,
        ClientSettings(
            logical_name_referencing=logical_name,
            mechanism=mechanism,
            secret=None if mechanism == MechanismName.LOWEST else Secret(PASSWORD),
            random=lambda n: CTOS[:n],
            client_system_title=CLIENT_TITLE if mechanism == MechanismName.HIGH_SHA256 else None,
        ),
    )


class Both:
    """gurux's client and ours, kept in step; ``server`` is a server-role link of ours that
    wraps the answers both are fed."""

    def __init__(self, kind: str, authentication: Any, logical_name: bool = True) -> None:
        self.kind = kind
        self.gurux = _gurux(kind, authentication, logical_name)
        self.ours = _ours(kind, authentication, logical_name)
        self.server: Any
        if kind == "wrapper":
            self.server = WrapperConnection(1, None, role="server")
            self.server.connect(0.0)
        else:
            self.server = HdlcConnection(HdlcSettings(None, HdlcAddress.server(1), Role.SERVER))

    def ours_out(self) -> bytes:
        (frame,) = self.ours.datagrams_to_send()
        return frame

    def answer(self, request: bytes, apdu: bytes | None) -> bytes:
        """Feed our request to the server link; return its frame carrying ``apdu``."""
        self.server.receive_data(request, 0.0)
        self.server.events()
        if apdu is not None:
            self.server.send_apdu(apdu, 0.0)
        (frame,) = self.server.datagrams_to_send()
        return bytes(frame)

    def gurux_reads(self, frame: bytes) -> Any:
        reply = GXReplyData()
        assert self.gurux.getData(GXByteBuffer(frame), reply)
        return reply

    def open_link(self) -> None:
        self.ours.associate(0.0)
        if self.kind == "hdlc":
            snrm = self.ours_out()
            assert snrm == bytes(self.gurux.snrmRequest())
            ua = self.answer(snrm, None)
            self.gurux.parseUAResponse(self.gurux_reads(ua).data)
            self.ours.receive_data(ua, 0.0)


@pytest.mark.parametrize("kind", ["wrapper", "hdlc"])
@pytest.mark.parametrize("authentication", list(MECHANISMS), ids=lambda a: a.name)
def test_aarq_frames_equal_gurux(kind: str, authentication: Any) -> None:
    both = Both(kind, authentication)
    both.open_link()
    gurux_aarq = bytes(both.gurux.aarqRequest()[0])
    assert both.ours_out() == gurux_aarq


@pytest.mark.parametrize("authentication", [Authentication.NONE, Authentication.LOW])
def test_short_name_aarq_equals_gurux(authentication: Any) -> None:
    both = Both("wrapper", authentication, logical_name=False)
    both.open_link()
    assert both.ours_out() == bytes(both.gurux.aarqRequest()[0])


def _associate(both: Both, aare: bytes) -> None:
    both.open_link()
    aarq = both.ours_out()
    assert aarq == bytes(both.gurux.aarqRequest()[0])
    frame = both.answer(aarq, aare)
    both.gurux.parseAareResponse(both.gurux_reads(frame).data)
    both.ours.receive_data(frame, 0.0)


def _accepted(max_pdu: int = 0x400) -> bytes:
    return Aare(
        AssociationResult.ACCEPTED,
        user_information=InitiateResponse(
            Conformance(0x00501F) | Conformance.ACTION, max_pdu
        ).encode(),
    ).encode()


@pytest.mark.parametrize("kind", ["wrapper", "hdlc"])
def test_get_set_action_frames_equal_gurux(kind: str) -> None:
    both = Both(kind, Authentication.NONE)
    _associate(both, _accepted())
    (established,) = both.ours.events()
    assert isinstance(established, AssociationEstablished)
    assert established.max_pdu_size_tx == both.gurux.maxReceivePDUSize == 0x400
    register = GXDLMSRegister(REGISTER)
    descriptor = CosemAttributeDescriptor(3, Obis(REGISTER), 2)

    # GET: same frame; gurux reads the answer our server side frames
    both.ours.get(descriptor)
    request = both.ours_out()
    assert request == bytes(both.gurux.read(register, 2)[0])
    answer = both.answer(request, bytes.fromhex("c401c1000600000005"))
    both.ours.receive_data(answer, 0.0)
    assert both.gurux_reads(answer).value == 5
    (completed,) = both.ours.events()
    assert completed.result == 5  # type: ignore[attr-defined]

    # gurux never rotates its invoke-id (1); ours does: line ours up for the comparison
    both.ours._next_invoke_id = 1

    # SET
    register.value = 777
    register.setDataType(2, DataType.UINT32)
    both.ours.set(descriptor, DoubleLongUnsigned(777))
    request = both.ours_out()
    assert request == bytes(both.gurux.write(register, 2)[0])
    answer = both.answer(request, bytes.fromhex("c501c100"))
    both.ours.receive_data(answer, 0.0)
    both.gurux_reads(answer)
    (completed,) = both.ours.events()
    assert completed.result is None  # type: ignore[attr-defined]

    both.ours._next_invoke_id = 1

    # ACTION
    both.ours.action(CosemMethodDescriptor(3, Obis(REGISTER), 1), Integer(0))
    request = both.ours_out()
    assert request == bytes(both.gurux.method(register, 1, 0, DataType.INT8)[0])
    answer = both.answer(request, bytes.fromhex("c701c10000"))
    both.ours.receive_data(answer, 0.0)
    both.gurux_reads(answer)
    (completed,) = both.ours.events()
    assert completed.result is None  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "authentication",
    [Authentication.HIGH_MD5, Authentication.HIGH_SHA1, Authentication.HIGH_SHA256],
    ids=lambda a: a.name,
)
@pytest.mark.parametrize("kind", ["wrapper", "hdlc"])
def test_hls_pass3_frames_equal_gurux(kind: str, authentication: Any) -> None:
    mechanism = MECHANISMS[authentication]
    both = Both(kind, authentication)
    aare = Aare(
        AssociationResult.ACCEPTED,
        AcseServiceUserDiagnostic.AUTHENTICATION_REQUIRED,
        responder_acse_requirements=True,
        mechanism_name=mechanism,
        responding_authentication_value=STOC,
        responding_ap_title=SERVER_TITLE,
        user_information=InitiateResponse(Conformance(0x00501F) | Conformance.ACTION, 500).encode(),
    ).encode()
    _associate(both, aare)
    assert both.gurux.isAuthenticationRequired
    if both.gurux.settings.cipher is None:  # gurux reads the invocation counter for MD5/SHA-1
        both.gurux.settings.cipher = GXCiphering(CLIENT_TITLE)
    pass3 = both.ours_out()
    assert pass3 == bytes(both.gurux.getApplicationAssociationRequest()[0])
    answer = server_pass4(
        mechanism,
        PASSWORD,
        client_challenge=CTOS,
        server_challenge=STOC,
        client_system_title=CLIENT_TITLE,
        server_system_title=SERVER_TITLE,
    )
    response = ActionResponseNormal(
        ActionResponseWithOptionalData(ActionResult.SUCCESS, Data.of(bytes(answer)))
    ).encode()
    frame = both.answer(pass3, response)
    both.gurux.parseApplicationAssociationResponse(both.gurux_reads(frame).data)
    both.ours.receive_data(frame, 0.0)
    (established,) = both.ours.events()
    assert isinstance(established, AssociationEstablished)
    assert established.mechanism == mechanism
