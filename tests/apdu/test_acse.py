"""ACSE: AARQ, AARE, RLRQ, RLRE; vectors, meter quirks (QUIRKS.md 8, behaviour 6), round trips."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncdlms.apdu.acse import (
    Aare,
    Aarq,
    AcseServiceProviderDiagnostic,
    AcseServiceUserDiagnostic,
    ApplicationContextName,
    AssociationResult,
    MechanismName,
    ReleaseRequestReason,
    ReleaseResponseReason,
    Rlre,
    Rlrq,
    decode_association_response,
    rejection_error,
)
from asyncdlms.apdu.initiate import Conformance, InitiateRequest, InitiateResponse
from asyncdlms.apdu.service_error import ConfirmedServiceError, ExceptionResponse
from asyncdlms.errors import AssociationRejectedError, DecodeError, EncodeError
from tests.conftest import vector

U = AcseServiceUserDiagnostic


def _hex(vector_id: str) -> bytes:
    return bytes.fromhex(vector(vector_id)["hex"])


# ---------------------------------------------------------------------------------------------
# Vectors: every AARQ/AARE/RLRQ/RLRE of ../shared/vectors (layer apdu), decoded, checked
# against the vector's "expected", re-encoded byte for byte (all of them are canonical).


def test_vector_aarq_no_auth() -> None:
    data = _hex("dlmscosem-apdu-aarq-no-auth")
    aarq = Aarq.decode(data)
    assert aarq.application_context_name is ApplicationContextName.LOGICAL_NAME
    assert aarq.mechanism_name is None and aarq.calling_authentication_value is None
    assert not aarq.sender_acse_requirements
    assert aarq.user_information is not None
    request = InitiateRequest.decode(aarq.user_information)
    assert request.proposed_dlms_version_number == 6
    assert request.client_max_receive_pdu_size == 1200
    assert request.proposed_conformance == 0x007E1F
    assert request.response_allowed and request.dedicated_key is None
    assert aarq.encode() == data
    # and the same AARQ built from fields
    built = Aarq(user_information=InitiateRequest(Conformance(0x007E1F), 1200).encode())
    assert built.encode() == data


def test_vector_aarq_lls() -> None:
    data = _hex("dlmscosem-apdu-aarq-lls")
    aarq = Aarq.decode(data)
    assert aarq.mechanism_name is MechanismName.LOW
    assert aarq.calling_authentication_value == b"12345678"
    assert aarq.sender_acse_requirements  # 8A 02 07 80
    assert aarq.encode() == data
    built = Aarq(
        user_information=InitiateRequest(Conformance(0x007E1F), 1200).encode(),
        sender_acse_requirements=True,
        mechanism_name=MechanismName.LOW,
        calling_authentication_value=b"12345678",
    )
    assert built.encode() == data


def test_vector_aarq_hls_gmac() -> None:
    data = _hex("dlmscosem-apdu-aarq-hls-gmac")
    aarq = Aarq.decode(data)
    assert aarq.mechanism_name is MechanismName.HIGH_GMAC
    assert aarq.mechanism_name.object_identifier == (2, 16, 756, 5, 8, 2, 5)
    assert aarq.calling_authentication_value == b"K56iVagY"
    assert aarq.encode() == data


def test_vector_aarq_ciphered_lls_glo_initiate() -> None:
    v = vector("dlmscosem-apdu-aarq-ciphered-lls-glo-initiate")
    data = bytes.fromhex(v["hex"])
    aarq = Aarq.decode(data)
    assert aarq.application_context_name is ApplicationContextName.LOGICAL_NAME_WITH_CIPHERING
    assert aarq.application_context_name.ciphered
    assert aarq.calling_ap_title == bytes.fromhex(v["expected"]["system_title"])
    assert aarq.mechanism_name is MechanismName.LOW
    assert aarq.calling_authentication_value == b"12345678"
    # user-information stays raw: the glo-initiateRequest of dlmscosem-cipher-glo-initiate-request
    assert aarq.user_information == _hex("dlmscosem-cipher-glo-initiate-request")
    assert aarq.encode() == data


def test_vector_aarq_hls_mechanism2() -> None:
    data = _hex("dlmscosem-apdu-aarq-hls-mechanism2")
    aarq = Aarq.decode(data)
    assert aarq.mechanism_name is MechanismName.HIGH
    assert aarq.calling_authentication_value == bytes.fromhex("3132333435363738")
    assert aarq.user_information is not None
    assert InitiateRequest.decode(aarq.user_information).client_max_receive_pdu_size == 65535
    assert aarq.encode() == data


def test_vector_aare_accepted_no_auth() -> None:
    data = _hex("dlmscosem-apdu-aare-accepted-no-auth")
    aare = Aare.decode(data)
    assert aare.accepted and aare.result is AssociationResult.ACCEPTED
    assert aare.result_source_diagnostic is U.NULL
    assert aare.application_context_name is ApplicationContextName.LOGICAL_NAME
    assert aare.user_information is not None
    response = InitiateResponse.decode(aare.user_information)
    assert response.negotiated_dlms_version_number == 6
    assert response.server_max_receive_pdu_size == 500
    assert response.negotiated_conformance == 0x00501F
    assert aare.encode() == data
    aare.raise_for_result()  # accepted: nothing raised


def test_vector_aare_accepted_conformance_1e1d() -> None:
    data = _hex("dlmscosem-apdu-aare-accepted-conformance-1e1d")
    aare = Aare.decode(data)
    assert aare.accepted and not aare.authentication_required
    assert aare.user_information is not None
    response = InitiateResponse.decode(aare.user_information)
    c = Conformance
    assert response.negotiated_conformance == (
        c.BLOCK_TRANSFER_WITH_GET_OR_READ
        | c.BLOCK_TRANSFER_WITH_SET_OR_WRITE
        | c.BLOCK_TRANSFER_WITH_ACTION
        | c.MULTIPLE_REFERENCES
        | c.GET
        | c.SET
        | c.SELECTIVE_ACCESS
        | c.ACTION
    )
    assert response.server_max_receive_pdu_size == 1224
    assert aare.encode() == data


def test_vector_aare_hls_gmac_challenge() -> None:
    data = _hex("dlmscosem-apdu-aare-hls-gmac-challenge")
    aare = Aare.decode(data)
    assert aare.accepted
    assert aare.result_source_diagnostic is U.AUTHENTICATION_REQUIRED
    assert aare.authentication_required
    assert aare.responder_acse_requirements
    assert aare.mechanism_name is MechanismName.HIGH_GMAC
    assert aare.responding_authentication_value == b"P6wRJ21F"
    assert aare.encode() == data


def test_vector_aare_rejected_app_context() -> None:
    data = _hex("dlmscosem-apdu-aare-rejected-app-context")
    aare = Aare.decode(data)
    assert aare.result is AssociationResult.REJECTED_PERMANENT
    assert aare.result_source_diagnostic is U.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED
    assert aare.encode() == data
    error = aare.to_exception()
    assert error.result is AssociationResult.REJECTED_PERMANENT
    assert error.diagnostic is U.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED
    assert "referencing" in str(error) and "ciphering" in str(error)
    with pytest.raises(AssociationRejectedError):
        decode_association_response(data)
    assert decode_association_response(data, raise_on_rejection=False) == aare


def test_vector_aare_rejected_dlms_version_too_low() -> None:
    data = _hex("dlmscosem-apdu-aare-rejected-dlms-version-too-low")
    aare = Aare.decode(data)
    assert aare.result is AssociationResult.REJECTED_PERMANENT
    assert aare.result_source_diagnostic is U.NO_REASON_GIVEN
    assert aare.user_information == bytes.fromhex("0e010601")
    assert aare.encode() == data
    message = str(rejection_error(aare))
    assert "initiate dlms-version-too-low" in message
    assert "propose DLMS version 6" in message


@pytest.mark.parametrize(
    ("vector_id", "cls", "reason", "user_information"),
    [
        ("dlmscosem-apdu-rlrq-normal", Rlrq, ReleaseRequestReason.NORMAL, None),
        (
            "dlmscosem-apdu-rlrq-ciphered-initiate",
            Rlrq,
            ReleaseRequestReason.NORMAL,
            "dlmscosem-cipher-glo-initiate-request",
        ),
        ("dlmscosem-apdu-rlre-normal", Rlre, ReleaseResponseReason.NORMAL, None),
        (
            "dlmscosem-apdu-rlre-initiate-response",
            Rlre,
            ReleaseResponseReason.NORMAL,
            "080100065f1f0400001e1d04c80007",
        ),
        (
            "dlmscosem-apdu-rlre-ciphered-initiate-response",
            Rlre,
            ReleaseResponseReason.NORMAL,
            "281f3001234567891214a0845e475714383f65bc19745ca235906525e4f3e1c893",
        ),
    ],
)
def test_vector_release(
    vector_id: str, cls: type[Rlrq | Rlre], reason: int, user_information: str | None
) -> None:
    data = _hex(vector_id)
    pdu = cls.decode(data)
    assert pdu.reason == reason
    if user_information is None:
        assert pdu.user_information is None
    elif user_information.startswith("dlmscosem"):
        assert pdu.user_information == _hex(user_information)
    else:
        assert pdu.user_information == bytes.fromhex(user_information)
    assert pdu.encode() == data


def test_vectors_inside_hdlc_frames() -> None:
    # the AARQ/AARE carried by dlmscosem-hdlc-iframe-aarq / -aare (after LLC E6E600 / E6E700)
    aarq_info = bytes.fromhex(vector("dlmscosem-hdlc-iframe-aarq")["expected"]["information"])
    aarq = Aarq.decode(aarq_info[3:])
    assert aarq.user_information is not None
    assert InitiateRequest.decode(aarq.user_information).client_max_receive_pdu_size == 0xFFFF
    assert aarq.encode() == aarq_info[3:]
    aare_info = bytes.fromhex(vector("dlmscosem-hdlc-iframe-aare")["expected"]["information"])
    aare = Aare.decode(aare_info[3:])
    assert aare.accepted and aare.encode() == aare_info[3:]


# ---------------------------------------------------------------------------------------------
# Meter quirks (QUIRKS.md 8, required behaviour 6)

REJECT_HEAD = "a109060760857405080101a203020101a305a10302010d"  # LN, rejected, auth-failure


def _aare(body_hex: str) -> bytes:
    body = bytes.fromhex(body_hex)
    return bytes((0x61, len(body))) + body


def _check_authentication_failure(aare: Aare) -> None:
    assert aare.result is AssociationResult.REJECTED_PERMANENT
    assert aare.result_source_diagnostic is U.AUTHENTICATION_FAILURE
    error = aare.to_exception()
    assert isinstance(error, AssociationRejectedError)
    assert error.diagnostic is U.AUTHENTICATION_FAILURE
    assert str(error).startswith("association rejected-permanent: authentication failed")
    assert "client address" in str(error)
    assert "server address were wrong the meter would not answer at all" in str(error)


def test_rejecting_aare_without_user_information() -> None:
    aare = Aare.decode(_aare(REJECT_HEAD))
    assert aare.user_information is None
    _check_authentication_failure(aare)


@pytest.mark.parametrize(
    "user_information",
    [
        "be03ffffff",  # not an octet string inside
        "be0604ff0e010601",  # octet string whose length runs past its container
        "be",  # cut after the tag
        "be20040e08",  # container longer than the AARE
        "be0504010000",  # octet string shorter than its container (bytes after it)
    ],
)
def test_rejecting_aare_with_garbage_user_information(user_information: str) -> None:
    body = bytes.fromhex(REJECT_HEAD + user_information)
    data = bytes((0x61, len(body))) + body
    aare = Aare.decode(data)
    assert aare.user_information is None
    _check_authentication_failure(aare)


def test_rejecting_aare_with_trailing_bytes() -> None:
    data = _hex("dlmscosem-apdu-aare-rejected-app-context") + bytes.fromhex("00001234")
    aare = Aare.decode(data)
    assert aare.result_source_diagnostic is U.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED
    assert aare.user_information is not None  # read before the trailing bytes
    with pytest.raises(AssociationRejectedError, match="referencing"):
        decode_association_response(data)


def test_rejecting_aare_truncated_after_the_diagnostic() -> None:
    data = _hex("dlmscosem-apdu-aare-rejected-app-context")[:27]
    aare = Aare.decode(data)
    assert aare.result is AssociationResult.REJECTED_PERMANENT
    assert aare.result_source_diagnostic is U.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED


def test_rejecting_aare_without_diagnostic_or_context_name() -> None:
    aare = Aare.decode(_aare("a203020102"))
    assert aare.result is AssociationResult.REJECTED_TRANSIENT
    assert aare.result_source_diagnostic is None and aare.application_context_name is None
    message = str(rejection_error(aare))
    assert "no diagnostic" in message and "rejected-transient" in message
    with pytest.raises(EncodeError):
        aare.encode()


def test_accepting_aare_stays_strict() -> None:
    good = _hex("dlmscosem-apdu-aare-accepted-no-auth")
    with pytest.raises(DecodeError, match="after the AARE"):
        Aare.decode(good + b"\x00")
    with pytest.raises(DecodeError):
        Aare.decode(good[:-3])
    with pytest.raises(DecodeError, match="without result"):
        Aare.decode(_aare("a109060760857405080101"))
    with pytest.raises(DecodeError, match="result-source-diagnostic"):
        Aare.decode(_aare("a109060760857405080101a203020100"))


def test_wrong_protocol_version_and_unknown_fields_are_accepted() -> None:
    # protocol-version 80 02 06 40 (version2), an unknown [APPLICATION 5] field and an
    # unknown context field [20]: the AARE still decodes with its fields
    body = "800206c0" + "a109060760857405080101a203020100a305a103020100" + "6502aabb" + "b40100"
    body += "be10040e0800065f1f040000501f01f40007"
    aare = Aare.decode(_aare(body))
    assert aare.accepted and aare.protocol_version == (True, True)
    assert aare.user_information is not None
    assert InitiateResponse.decode(aare.user_information).server_max_receive_pdu_size == 500
    aarq = Aarq.decode(bytes.fromhex("6012800207808901ffa109060760857405080101"))
    assert aarq.protocol_version == (True,)
    assert aarq.application_context_name is ApplicationContextName.LOGICAL_NAME


def test_exception_response_instead_of_aare() -> None:
    with pytest.raises(AssociationRejectedError) as info:
        decode_association_response(bytes.fromhex("d80102"))
    assert isinstance(info.value.diagnostic, ExceptionResponse)
    assert info.value.result is None
    assert "exception-response: state-error service-not-allowed" in str(info.value)
    assert "instead of an AARE" in str(info.value)
    with pytest.raises(AssociationRejectedError) as info:
        decode_association_response(bytes.fromhex("d801060000002a"))
    assert "meter expects counter 42" in str(info.value)
    with pytest.raises(AssociationRejectedError) as info:
        decode_association_response(bytes.fromhex("0e010602"))
    assert isinstance(info.value.diagnostic, ConfirmedServiceError)
    assert "incompatible-conformance" in str(info.value)
    with pytest.raises(DecodeError):
        decode_association_response(bytes.fromhex("c401c1000600000001"))


def test_provider_diagnostic_is_kept_apart_from_user_diagnostic() -> None:
    aare = Aare(
        AssociationResult.REJECTED_PERMANENT,
        AcseServiceProviderDiagnostic.NO_COMMON_ACSE_VERSION,
    )
    data = aare.encode()
    assert data.hex().endswith("a305a203020102")
    decoded = Aare.decode(data)
    assert decoded.result_source_diagnostic is AcseServiceProviderDiagnostic.NO_COMMON_ACSE_VERSION
    assert "no-common-acse-version" in str(decoded.to_exception())


@pytest.mark.parametrize("diagnostic", list(U))
def test_every_user_diagnostic_has_advice(diagnostic: AcseServiceUserDiagnostic) -> None:
    error = rejection_error(Aare(AssociationResult.REJECTED_PERMANENT, diagnostic))
    assert error.diagnostic is diagnostic
    assert str(error).startswith("association rejected-permanent: ")
    assert len(str(error)) > 60
    if diagnostic >= U.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED:
        assert "client address" in str(error)


def test_authentication_failure_message() -> None:
    error = rejection_error(Aare(AssociationResult.REJECTED_PERMANENT, U.AUTHENTICATION_FAILURE))
    assert str(error) == (
        "association rejected-permanent: authentication failed: check the password/keys — and "
        "the client address: a wrong client address also gives an authentication error (if the "
        "server address were wrong the meter would not answer at all)"
    )


def test_authentication_rejections_are_authentication_errors() -> None:
    from asyncdlms.errors import AuthenticationError, AuthenticationRejectedError

    for diagnostic in (U.AUTHENTICATION_FAILURE, U.AUTHENTICATION_MECHANISM_NAME_REQUIRED):
        error = rejection_error(Aare(AssociationResult.REJECTED_PERMANENT, diagnostic))
        assert isinstance(error, AuthenticationRejectedError)
        assert isinstance(error, AuthenticationError)
    other = rejection_error(
        Aare(AssociationResult.REJECTED_PERMANENT, U.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED)
    )
    assert not isinstance(other, AuthenticationError)


# ---------------------------------------------------------------------------------------------
# Encoding details, errors, round trips


def test_aarq_with_every_field() -> None:
    aarq = Aarq(
        application_context_name=ApplicationContextName.SHORT_NAME_WITH_CIPHERING,
        user_information=b"\x21\x01\x02",
        sender_acse_requirements=True,
        mechanism_name=MechanismName.HIGH_SHA256,
        calling_authentication_value=bytes(range(32)),
        calling_ap_title=b"ABCDEFGH",
        calling_ae_qualifier=b"\x01" * 200,  # a certificate: long-form lengths
        calling_ap_invocation_id=-5,
        calling_ae_invocation_id=300,
        called_ap_title=b"SERVER01",
        called_ae_qualifier=b"\x02",
        called_ap_invocation_id=0,
        called_ae_invocation_id=1,
        implementation_information=b"asyncdlms",
        protocol_version=(True,),
    )
    data = aarq.encode()
    assert data[:3] == b"\x60\x82\x01"  # long-form length
    assert Aarq.decode(data) == aarq


def test_aarq_errors() -> None:
    with pytest.raises(DecodeError, match="without application-context-name"):
        Aarq.decode(bytes.fromhex("6000"))
    with pytest.raises(DecodeError, match="expected AARQ"):
        Aarq.decode(_hex("dlmscosem-apdu-aare-accepted-no-auth"))
    with pytest.raises(DecodeError, match="not a DLMS UA application-context-name"):
        Aarq.decode(bytes.fromhex("600ba109060760857405080301"))
    with pytest.raises(DecodeError, match="unknown application-context-name"):
        Aarq.decode(bytes.fromhex("600ba109060760857405080109"))
    with pytest.raises(DecodeError, match="unknown mechanism-name"):
        Aarq.decode(bytes.fromhex("6014a1090607608574050801018b0760857405080209"))
    with pytest.raises(DecodeError):
        Aarq.decode(b"")
    with pytest.raises(DecodeError):
        Rlrq.decode(bytes.fromhex("62038001ff"))


def test_release_without_reason() -> None:
    assert Rlrq(None).encode().hex() == "6200"
    assert Rlrq.decode(bytes.fromhex("6200")) == Rlrq(None)
    assert Rlre(ReleaseResponseReason.NOT_FINISHED).encode().hex() == "6303800101"
    assert Rlrq(ReleaseRequestReason.USER_DEFINED).encode().hex() == "620380011e"


octets = st.none() | st.binary(max_size=300)
small_ints = st.none() | st.integers(-(2**31), 2**31 - 1)

aarqs = st.builds(
    Aarq,
    application_context_name=st.sampled_from(ApplicationContextName),
    user_information=octets,
    sender_acse_requirements=st.booleans(),
    mechanism_name=st.none() | st.sampled_from(MechanismName),
    calling_authentication_value=octets,
    calling_ap_title=octets,
    calling_ae_qualifier=octets,
    calling_ap_invocation_id=small_ints,
    calling_ae_invocation_id=small_ints,
    called_ap_title=octets,
    called_ae_qualifier=octets,
    called_ap_invocation_id=small_ints,
    called_ae_invocation_id=small_ints,
    implementation_information=octets,
    protocol_version=st.none() | st.lists(st.booleans(), min_size=1, max_size=9).map(tuple),
)

aares = st.builds(
    Aare,
    result=st.sampled_from(AssociationResult),
    result_source_diagnostic=st.sampled_from(
        [*AcseServiceUserDiagnostic, *AcseServiceProviderDiagnostic]
    ),
    application_context_name=st.sampled_from(ApplicationContextName),
    user_information=octets,
    responder_acse_requirements=st.booleans(),
    mechanism_name=st.none() | st.sampled_from(MechanismName),
    responding_authentication_value=octets,
    responding_ap_title=octets,
    responding_ae_qualifier=octets,
    responding_ap_invocation_id=small_ints,
    responding_ae_invocation_id=small_ints,
    implementation_information=octets,
    protocol_version=st.none() | st.lists(st.booleans(), min_size=1, max_size=9).map(tuple),
)


@given(aarqs)
def test_aarq_round_trip(aarq: Aarq) -> None:
    assert Aarq.decode(aarq.encode()) == aarq


@given(aares)
def test_aare_round_trip(aare: Aare) -> None:
    decoded = Aare.decode(aare.encode())
    assert decoded == aare
    assert type(decoded.result_source_diagnostic) is type(aare.result_source_diagnostic)


@given(
    st.none() | st.sampled_from(ReleaseRequestReason),
    st.none() | st.sampled_from(ReleaseResponseReason),
    octets,
)
def test_release_round_trip(
    request_reason: ReleaseRequestReason | None,
    response_reason: ReleaseResponseReason | None,
    user_information: bytes | None,
) -> None:
    assert Rlrq.decode(Rlrq(request_reason, user_information).encode()) == Rlrq(
        request_reason, user_information
    )
    assert Rlre.decode(Rlre(response_reason, user_information).encode()) == Rlre(
        response_reason, user_information
    )


@given(st.binary(max_size=80))
def test_random_bytes_give_only_decode_errors(data: bytes) -> None:
    for decode in (Aarq.decode, Aare.decode, Rlrq.decode, Rlre.decode):
        with contextlib.suppress(DecodeError):
            decode(data)
    with contextlib.suppress(DecodeError, AssociationRejectedError):
        decode_association_response(data)


@given(st.sampled_from([0x60, 0x61, 0x62, 0x63]), st.binary(max_size=80))
def test_random_contents_give_only_decode_errors(tag: int, body: bytes) -> None:
    data = bytes((tag, len(body))) + body
    for decode in (Aarq.decode, Aare.decode, Rlrq.decode, Rlre.decode):
        with contextlib.suppress(DecodeError):
            decode(data)


@given(aares, st.integers(0, 200), st.binary(max_size=8))
def test_mangled_aares_give_only_decode_errors(aare: Aare, cut: int, junk: bytes) -> None:
    data = aare.encode()
    mangled = data[: min(cut, len(data))] + junk
    with contextlib.suppress(DecodeError):
        decoded = Aare.decode(mangled)
        if not decoded.accepted:
            assert decoded.result == aare.result or cut < len(data)


@given(
    st.sampled_from([AssociationResult.REJECTED_PERMANENT, AssociationResult.REJECTED_TRANSIENT]),
    st.sampled_from(list(U)),
    st.binary(max_size=40),
    st.booleans(),
)
def test_rejecting_aare_survives_any_garbage_after_the_diagnostic(
    result: AssociationResult, diagnostic: AcseServiceUserDiagnostic, junk: bytes, inside: bool
) -> None:
    # behaviour 6: result and diagnostic alone make the error, whatever follows them,
    # inside the AARE (its length covering the junk) or after it
    head = Aare(result, diagnostic).encode()[2:]
    data = (
        bytes((0x61, len(head) + len(junk))) + head + junk
        if inside
        else b"\x61" + bytes((len(head),)) + head + junk
    )
    aare = Aare.decode(data)
    assert aare.result is result
    assert aare.result_source_diagnostic is diagnostic
    error = rejection_error(aare)
    assert error.result is result and error.diagnostic is diagnostic


def test_a_repeated_field_is_refused() -> None:
    accepted = _hex("dlmscosem-apdu-aare-accepted-no-auth")
    body = accepted[2:] + bytes.fromhex("a203020101")
    with pytest.raises(DecodeError, match="twice"):
        Aare.decode(bytes((0x61, len(body))) + body)
    # a rejecting AARE keeps its first result when garbage repeats it
    rejected = _hex("dlmscosem-apdu-aare-rejected-app-context")
    body = rejected[2:] + bytes.fromhex("a203020100")
    aare = Aare.decode(bytes((0x61, len(body))) + body)
    assert aare.result is AssociationResult.REJECTED_PERMANENT


def test_container_length_slip_of_gurux_servers() -> None:
    # gurux-dlms 1.0.203 GXDLMSServer writes responding-authentication-value as
    # AA 10 80 10 <16 bytes> (container length = challenge length); the AARE is read anyway
    stoc = bytes(range(0x41, 0x51))
    body = bytes.fromhex(
        "a109060760857405080101a203020100a305a10302010e88020780890760857405080203"
        "aa108010" + stoc.hex() + "be10040e0800065f1f0400000000ffff0007"
    )
    aare = Aare.decode(bytes((0x61, len(body))) + body)
    assert aare.responding_authentication_value == stoc
    assert aare.mechanism_name is MechanismName.HIGH_MD5
    assert aare.user_information is not None
    assert InitiateResponse.decode(aare.user_information).server_max_receive_pdu_size == 0xFFFF
    # re-encoded correctly (AA 12)
    assert "aa128010" + stoc.hex() in aare.encode().hex()
    # the same slip for a responding-AP-title
    body = bytes.fromhex("a109060760857405080101a203020100a305a103020100a40804084d4d4d0000bc614e")
    assert Aare.decode(bytes((0x61, len(body))) + body).responding_ap_title == bytes.fromhex(
        "4d4d4d0000bc614e"
    )
    # a slip that runs past the PDU is still an error
    with pytest.raises(DecodeError):
        Aarq.decode(bytes.fromhex("600fa109060760857405080101ac0480040102"))


def test_hls_pending_without_the_authentication_required_diagnostic() -> None:
    # QUIRKS.md 8: some meters accept with diagnostic null although HLS must follow
    gmac = Aare.decode(_hex("dlmscosem-apdu-aare-hls-gmac-challenge"))
    assert gmac.hls_pending
    quirky = Aare(
        AssociationResult.ACCEPTED,
        U.NULL,
        mechanism_name=MechanismName.HIGH_MD5,
        responding_authentication_value=b"12345678",
    )
    assert not quirky.authentication_required and quirky.hls_pending
    assert not Aare(AssociationResult.ACCEPTED, mechanism_name=MechanismName.LOW).hls_pending
    assert not Aare(AssociationResult.REJECTED_PERMANENT, U.AUTHENTICATION_REQUIRED).hls_pending
    assert not Aare.decode(_hex("dlmscosem-apdu-aare-accepted-no-auth")).hls_pending
