"""ClientSession bytes and behaviour against the shared vectors (../shared/vectors).

Our AARQ, GET, SET and ACTION requests equal the published encodings when the settings match
(vector ids cited in each test), and the published AAREs are handled as expected.
"""

from __future__ import annotations

import pytest

from asyncdlms.apdu.acse import AcseServiceUserDiagnostic, AssociationResult, MechanismName
from asyncdlms.apdu.descriptors import (
    CosemAttributeDescriptor,
    CosemMethodDescriptor,
    range_descriptor,
)
from asyncdlms.apdu.enums import InvokeIdAndPriority
from asyncdlms.apdu.get import GetResponseWithDatablock
from asyncdlms.apdu.initiate import Conformance
from asyncdlms.errors import AssociationRejectedError, AuthenticationError
from asyncdlms.obis import Obis
from asyncdlms.security.hls import Secret
from asyncdlms.session.events import AssociationEstablished, AssociationReleased
from asyncdlms.session.settings import ClientSettings
from asyncdlms.types.values import OctetString
from tests.conftest import vector
from tests.session.test_client import LINKS, Pair

GREEN_BOOK = {"proposed_conformance": Conformance(0x007E1F), "client_max_receive_pdu_size": 1200}


def _hex(vector_id: str) -> bytes:
    return bytes.fromhex(vector(vector_id)["hex"])


@pytest.mark.parametrize("kind", LINKS)
def test_aarq_no_authentication(kind: str) -> None:
    """dlmscosem-apdu-aarq-no-auth (Green Book example: conformance 007E1F, max PDU 1200)."""
    pair = Pair(kind, ClientSettings(**GREEN_BOOK))  # type: ignore[arg-type]
    pair.associate()
    assert pair.aarqs == [_hex("dlmscosem-apdu-aarq-no-auth")]


def test_aarq_low_level_security() -> None:
    """dlmscosem-apdu-aarq-lls (password 12345678)."""
    pair = Pair(
        "wrapper",
        ClientSettings(
            mechanism=MechanismName.LOW,
            secret=Secret(b"12345678"),
            **GREEN_BOOK,  # type: ignore[arg-type]
        ),
    )
    pair.associate()
    assert pair.aarqs == [_hex("dlmscosem-apdu-aarq-lls")]


def test_get_request_vectors() -> None:
    """dlmscosem-apdu-get-request-normal, -with-list, -range-descriptor and -next, with the
    invoke-id each vector carries (1)."""
    pair = Pair("wrapper")
    pair.associate()
    s = pair.session
    pair.server.values[(1, "0.0.43.1.0.255", 2)] = 1
    pair.server.override = lambda apdu: pair.server.answer(apdu)
    s.get(CosemAttributeDescriptor(1, Obis("0.0.43.1.0.255"), 2))
    pair.pump()
    assert pair.server.requests[-1] == _hex("dlmscosem-apdu-get-request-normal")

    def fresh() -> Pair:
        other = Pair("wrapper")
        other.associate()
        return other

    pair = fresh()
    pair.session.get_with_list(
        [
            CosemAttributeDescriptor(1, Obis("0.0.42.0.0.255"), 2),
            CosemAttributeDescriptor(8, Obis("0.0.1.0.0.255"), 2),
        ]
    )
    pair.pump()
    assert pair.server.requests[0] == _hex("dlmscosem-apdu-get-request-with-list")

    pair = fresh()
    selection = range_descriptor(
        (8, Obis("0.0.1.0.0.255"), 2, 0),
        OctetString(bytes.fromhex("07e10a010700000000ffc480")),
        OctetString(bytes.fromhex("07e10a010701000000ffc480")),
    )
    pair.session.get(CosemAttributeDescriptor(7, Obis("1.0.99.1.0.255"), 2), selection)
    pair.pump()
    assert pair.server.requests[0] == _hex("dlmscosem-apdu-get-request-range-descriptor")

    pair = fresh()
    pair.server.override = lambda apdu: (
        [GetResponseWithDatablock(False, 1, b"\x09\x02", InvokeIdAndPriority()).encode()]
        if apdu[1] == 1
        else [GetResponseWithDatablock(True, 2, b"\x01\x02", InvokeIdAndPriority()).encode()]
    )
    request = pair.session.get(CosemAttributeDescriptor(1, Obis("0.0.43.1.0.255"), 2))
    assert pair.result(request) == b"\x01\x02"
    assert pair.server.requests[1] == _hex("dlmscosem-apdu-get-request-next")


def test_set_request_vector() -> None:
    """dlmscosem-apdu-set-request-normal-clock."""
    pair = Pair("hdlc")
    pair.associate()
    clock = OctetString(bytes.fromhex("07e50118ff0e303950ffc400"))
    assert (
        pair.result(pair.session.set(CosemAttributeDescriptor(8, Obis("0.0.1.0.0.255"), 2), clock))
        is None
    )
    assert pair.server.requests == [_hex("dlmscosem-apdu-set-request-normal-clock")]


def test_action_request_vector() -> None:
    """dlmscosem-apdu-action-request-hls-reply (invoke-id 0: byte 0xC0)."""
    pair = Pair("wrapper", ClientSettings(invoke_id=0))
    pair.associate()
    pair.server.override = lambda apdu: [_hex("dlmscosem-apdu-action-response-success")]
    reply = OctetString(bytes.fromhex("1000001a90e6d2221fa2fd85eed61acc22"))
    method = CosemMethodDescriptor(15, Obis("0.0.40.0.0.255"), 1)
    assert pair.result(pair.session.action(method, reply)) is None
    assert pair.server.requests == [_hex("dlmscosem-apdu-action-request-hls-reply")]


@pytest.mark.parametrize("kind", LINKS)
def test_accepting_aare(kind: str) -> None:
    """dlmscosem-apdu-aare-accepted-no-auth: server max PDU 500, conformance 00501F."""
    pair = Pair(kind, aare=_hex("dlmscosem-apdu-aare-accepted-no-auth"))
    established = pair.associate()
    assert isinstance(established, AssociationEstablished)
    assert established.max_pdu_size_tx == 500
    assert established.negotiated_conformance == Conformance(0x00501F)
    assert pair.session.negotiated is not None
    assert pair.session.negotiated.max_pdu_size_tx == 500


@pytest.mark.parametrize(
    ("vector_id", "diagnostic", "words"),
    [
        (
            "dlmscosem-apdu-aare-rejected-app-context",
            AcseServiceUserDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED,
            "application-context-name-not-supported",
        ),
        (
            "dlmscosem-apdu-aare-rejected-dlms-version-too-low",
            AcseServiceUserDiagnostic.NO_REASON_GIVEN,
            "dlms-version-too-low",
        ),
    ],
)
def test_rejecting_aares(vector_id: str, diagnostic: AcseServiceUserDiagnostic, words: str) -> None:
    pair = Pair("wrapper", aare=_hex(vector_id))
    pair.session.associate(pair.now)
    (released,) = pair.pump()
    assert isinstance(released, AssociationReleased)
    error = released.error
    assert isinstance(error, AssociationRejectedError)
    assert error.result == AssociationResult.REJECTED_PERMANENT
    assert error.diagnostic == diagnostic
    assert words in str(error)


def test_hls_gmac_challenge_needs_ciphering() -> None:
    """dlmscosem-apdu-aare-hls-gmac-challenge: the AARE asks for pass 3 (StoC 'P6wRJ21F');
    without the ciphering context (next issue) the client cannot answer it and says so."""
    pair = Pair(
        "wrapper",
        ClientSettings(mechanism=MechanismName.HIGH_GMAC),
        aare=_hex("dlmscosem-apdu-aare-hls-gmac-challenge"),
    )
    pair.session.associate(pair.now)
    (released,) = pair.pump()
    assert isinstance(released, AssociationReleased)
    assert isinstance(released.error, AuthenticationError)
    assert "gmac" in str(released.error).lower()
    # no request went out: pass 3 could not be computed
    assert pair.server.requests == []
