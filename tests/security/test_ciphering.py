"""Security suite 0 ciphering: shared vectors (Green Book examples, real UDP pushes), every
ciphered form and policy, and the errors for tampered, truncated, replayed or misdirected APDUs.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asyncdlms import axdr
from asyncdlms.apdu import decode_apdu
from asyncdlms.apdu.acse import Aarq, ApplicationContextName, MechanismName, Rlre, Rlrq
from asyncdlms.apdu.initiate import Conformance, InitiateRequest, InitiateResponse
from asyncdlms.apdu.notification import DataNotification
from asyncdlms.apdu.tags import ApduTag
from asyncdlms.errors import AuthenticationError, DecodeError, DlmsError, EncodeError
from asyncdlms.security import (
    DEDICATED_TAGS,
    GLOBAL_TAGS,
    AuthenticationTagError,
    CipheredApdu,
    CipheringForm,
    CipheringKey,
    DecipheringError,
    InvocationCounterExhaustedError,
    ReplayError,
    Secret,
    SecurityContext,
    SecurityControl,
    SecurityPolicy,
    SecurityPolicyError,
    cipher,
    decipher,
    generate_dedicated_key,
    initialization_vector,
    next_invocation_counter,
)
from asyncdlms.session.pipeline import ApduProtection
from asyncdlms.wrapper.frames import decode_datagram
from tests.conftest import vector

# The Green Book worked example (DLMS UA 1000-2): keys, system titles, counter.
BLOCK_CIPHER_KEY = bytes(range(16))
AUTHENTICATION_KEY = bytes(range(0xD0, 0xE0))
BROADCAST_KEY = bytes(range(0x20, 0x30))
DEDICATED_KEY = bytes(range(0x40, 0x50))
CLIENT_TITLE = bytes.fromhex("4D4D4D0000000001")
SERVER_TITLE = bytes.fromhex("4D4D4D0000BC614E")
GREEN_BOOK_COUNTER = 0x01234567
ALL_KEYS = (BLOCK_CIPHER_KEY, AUTHENTICATION_KEY, BROADCAST_KEY, DEDICATED_KEY)


def _pair(
    policy: SecurityPolicy = SecurityPolicy.AUTHENTICATED_ENCRYPTION,
    form: CipheringForm = CipheringForm.GLOBAL,
    *,
    dedicated: bool = False,
    **kwargs: Any,
) -> tuple[SecurityContext, SecurityContext]:
    """A client and a server context that talk to each other."""
    common: dict[str, Any] = {
        "block_cipher_key": Secret(BLOCK_CIPHER_KEY),
        "authentication_key": Secret(AUTHENTICATION_KEY),
        "broadcast_key": Secret(BROADCAST_KEY),
        "policy": policy,
        "form": form,
        "dedicated_key": Secret(DEDICATED_KEY) if dedicated else None,
        **kwargs,
    }
    client = SecurityContext(system_title=CLIENT_TITLE, peer_system_title=SERVER_TITLE, **common)
    server = SecurityContext(system_title=SERVER_TITLE, peer_system_title=CLIENT_TITLE, **common)
    return client, server


def _hex(value: str) -> bytes:
    return bytes.fromhex(value)


# ---------------------------------------------------------------------------------------------
# Shared vectors


def test_green_book_glo_initiate_request() -> None:
    """dlmscosem-cipher-glo-initiate-request: the Green Book's ciphered InitiateRequest."""
    v = vector("dlmscosem-cipher-glo-initiate-request")
    expected = v["expected"]
    plaintext = _hex(expected["plaintext"])
    client = SecurityContext(
        system_title=_hex(expected["system_title"]),
        block_cipher_key=Secret(_hex(expected["encryption_key"])),
        authentication_key=Secret(_hex(expected["authentication_key"])),
    )
    client.advance_invocation_counter(int(expected["invocation_counter"].split()[0], 16))
    assert client.protect(plaintext) == _hex(v["hex"])
    assert client.next_invocation_counter() == GREEN_BOOK_COUNTER + 1
    request = InitiateRequest.decode(plaintext)
    assert request.dedicated_key == _hex("00112233445566778899AABBCCDDEEFF")
    server = SecurityContext(
        system_title=SERVER_TITLE,
        peer_system_title=CLIENT_TITLE[:0] + _hex(expected["system_title"]),
        block_cipher_key=BLOCK_CIPHER_KEY,
        authentication_key=AUTHENTICATION_KEY,
    )
    deciphered = server.unprotect_apdu(_hex(v["hex"]))
    assert deciphered.apdu == plaintext
    assert deciphered.security_control == SecurityControl(authentication=True, encryption=True)
    assert deciphered.invocation_counter == GREEN_BOOK_COUNTER
    ciphered = CipheredApdu.decode(_hex(v["hex"]))
    assert ciphered.tag == ApduTag.GLO_INITIATE_REQUEST and ciphered.plain_tag == 0x01
    assert ciphered.invocation_counter == GREEN_BOOK_COUNTER and not ciphered.dedicated
    assert ciphered.encode() == _hex(v["hex"])


def test_green_book_get_request_ciphertext() -> None:
    """dlmscosem-cipher-gcm-green-book-get-request: ciphertext ‖ tag of GET clock attr 2."""
    v = vector("dlmscosem-cipher-gcm-green-book-get-request")
    expected = v["expected"]
    content = cipher(
        _hex(expected["plaintext"]),
        security_control=0x30,
        system_title=_hex(expected["system_title"]),
        invocation_counter=int(expected["invocation_counter"], 16),
        block_cipher_key=_hex(expected["encryption_key"]),
        authentication_key=_hex(expected["authentication_key"]),
    )
    assert content == b"\x30" + GREEN_BOOK_COUNTER.to_bytes(4, "big") + _hex(v["hex"])
    assert decipher(
        content,
        system_title=SERVER_TITLE,
        block_cipher_key=BLOCK_CIPHER_KEY,
        authentication_key=AUTHENTICATION_KEY,
    ) == _hex(expected["plaintext"])
    # the same through a context: a glo-get-request 0xC8
    client = SecurityContext(
        system_title=SERVER_TITLE,  # the example's sender title
        block_cipher_key=BLOCK_CIPHER_KEY,
        authentication_key=AUTHENTICATION_KEY,
    )
    client.advance_invocation_counter(GREEN_BOOK_COUNTER)
    apdu = client.protect(_hex(expected["plaintext"]))
    assert apdu == bytes((0xC8, len(content))) + content


@pytest.mark.parametrize(
    "vector_id",
    [
        "dlmscosem-wrapper-udp-general-glo-ciphering-0",
        "dlmscosem-wrapper-udp-general-glo-ciphering-12",
    ],
)
def test_real_udp_pushes_decipher(vector_id: str) -> None:
    """dlmscosem-wrapper-udp-general-glo-ciphering-0/-12: real encrypted pushes."""
    v = vector(vector_id)
    expected = v["expected"]
    frame = decode_datagram(_hex(v["hex"]))
    assert (frame.source_wport, frame.destination_wport) == (1, 1)
    assert frame.header.length == 70
    apdu = frame.apdu
    assert apdu[0] == ApduTag.GENERAL_GLO_CIPHERING
    key = b"MYDUMMYGLOBALKEY"
    listener = SecurityContext(
        system_title=bytes(8), block_cipher_key=Secret(key), authentication_key=Secret(key)
    )  # no peer system title: taken from the PDU
    deciphered = listener.unprotect_apdu(apdu)
    assert deciphered.system_title == _hex(expected["system_title"])
    assert deciphered.security_control.byte == 0x30
    assert deciphered.invocation_counter == int(expected["invocation_counter"], 16)
    assert deciphered.apdu == _hex(v["verification"]["computed_plaintext"])
    if "plaintext" in expected:
        assert deciphered.apdu == _hex(expected["plaintext"].split()[0])
    notification = decode_apdu(deciphered.apdu)
    assert isinstance(notification, DataNotification)
    assert deciphered.apdu[0] == ApduTag.DATA_NOTIFICATION
    # the same push again is a replay
    with pytest.raises(ReplayError):
        listener.unprotect(apdu)
    # and a wrong key never gives a value
    wrong = SecurityContext(
        system_title=bytes(8),
        block_cipher_key=b"MYDUMMYGLOBALKEZ",
        authentication_key=Secret(key),
    )
    with pytest.raises(AuthenticationTagError, match="authentication tag mismatch"):
        wrong.unprotect(apdu)


def test_udp_pushes_in_order_then_out_of_order() -> None:
    key = b"MYDUMMYGLOBALKEY"
    first = decode_datagram(_hex(vector("dlmscosem-wrapper-udp-general-glo-ciphering-0")["hex"]))
    later = decode_datagram(_hex(vector("dlmscosem-wrapper-udp-general-glo-ciphering-12")["hex"]))
    listener = SecurityContext(system_title=bytes(8), block_cipher_key=key, authentication_key=key)
    listener.unprotect(later.apdu)
    with pytest.raises(ReplayError) as raised:
        listener.unprotect(first.apdu)  # counter 0x1E5 after 0x1F2
    assert raised.value.received == 0x1E5 and raised.value.last == 0x1F2


def test_ciphered_aarq_vector() -> None:
    """dlmscosem-apdu-aarq-ciphered-lls-glo-initiate: an AARQ as a ciphering client sends it."""
    v = vector("dlmscosem-apdu-aarq-ciphered-lls-glo-initiate")
    aarq = Aarq.decode(_hex(v["hex"]))
    assert aarq.application_context_name == ApplicationContextName.LOGICAL_NAME_WITH_CIPHERING
    assert aarq.calling_ap_title == _hex(v["expected"]["system_title"])
    assert aarq.mechanism_name == MechanismName.LOW
    client = SecurityContext(
        system_title=aarq.calling_ap_title,
        block_cipher_key=BLOCK_CIPHER_KEY,
        authentication_key=AUTHENTICATION_KEY,
    )
    client.advance_invocation_counter(GREEN_BOOK_COUNTER)
    request = InitiateRequest(
        proposed_conformance=Conformance(0x007E1F),
        client_max_receive_pdu_size=0x04B0,
        dedicated_key=_hex("00112233445566778899AABBCCDDEEFF"),
    )
    ours = Aarq(
        application_context_name=ApplicationContextName.LOGICAL_NAME_WITH_CIPHERING,
        calling_ap_title=client.system_title,
        sender_acse_requirements=True,
        mechanism_name=MechanismName.LOW,
        calling_authentication_value=b"12345678",
        user_information=client.protect(request.encode()),
    )
    assert ours.encode() == _hex(v["hex"])
    server = SecurityContext(
        system_title=SERVER_TITLE,
        peer_system_title=aarq.calling_ap_title,
        block_cipher_key=BLOCK_CIPHER_KEY,
        authentication_key=AUTHENTICATION_KEY,
    )
    assert aarq.user_information is not None
    assert InitiateRequest.decode(server.unprotect(aarq.user_information)) == request


def test_ciphered_release_vectors() -> None:
    """dlmscosem-apdu-rlrq-ciphered-initiate / dlmscosem-apdu-rlre-ciphered-initiate-response."""
    rlrq = Rlrq.decode(_hex(vector("dlmscosem-apdu-rlrq-ciphered-initiate")["hex"]))
    rlre_vector = vector("dlmscosem-apdu-rlre-ciphered-initiate-response")
    rlre = Rlre.decode(_hex(rlre_vector["hex"]))
    assert rlrq.user_information is not None and rlre.user_information is not None
    server = SecurityContext(
        system_title=SERVER_TITLE,
        peer_system_title=_hex("4D4D4D0000BC614E"),
        block_cipher_key=BLOCK_CIPHER_KEY,
        authentication_key=AUTHENTICATION_KEY,
    )
    request = InitiateRequest.decode(server.unprotect(rlrq.user_information))
    assert request.proposed_conformance == Conformance(0x007E1F)
    client = SecurityContext(
        system_title=CLIENT_TITLE,
        peer_system_title=SERVER_TITLE,
        block_cipher_key=BLOCK_CIPHER_KEY,
        authentication_key=AUTHENTICATION_KEY,
    )
    plain = client.unprotect(rlre.user_information)
    assert plain == _hex(
        rlre_vector["verification"]["computed_plaintext_with_green_book_keys_and_server_title"]
    )
    response = InitiateResponse.decode(plain)
    assert response.server_max_receive_pdu_size == 0x0400
    assert response.negotiated_conformance == Conformance(0x007C1F)
    # re-cipher the response with the same counter: the same bytes
    sender = SecurityContext(
        system_title=SERVER_TITLE,
        block_cipher_key=BLOCK_CIPHER_KEY,
        authentication_key=AUTHENTICATION_KEY,
    )
    sender.advance_invocation_counter(GREEN_BOOK_COUNTER)
    assert sender.protect(plain) == rlre.user_information


# ---------------------------------------------------------------------------------------------
# Forms and policies

PLAIN_APDUS = {
    0x01: InitiateRequest(Conformance(0x001E1D), 0x0400).encode(),
    0x08: InitiateResponse(Conformance(0x001E1D), 0x0400).encode(),
    0xC0: _hex("C0010000080000010000FF0200"),
    0xC4: _hex("C401C1000906") + b"abcdef",
    0xC1: _hex("C1 01 C1 0001 0000600100FF 02 00 0A 03 414243".replace(" ", "")),
    0xC5: _hex("C501C100"),
    0xC3: _hex("C301C1 0046 0000600300FF 01 00".replace(" ", "")),
    0xC7: _hex("C701C10000"),
    0xC2: _hex("C2 00 0001 0000600100FF 02 1200".replace(" ", "")) + b"\x05",
    0x05: _hex("05010200"),
    0x0C: _hex("0C0100 1200".replace(" ", "")),
    0x06: _hex("060102000100"),
    0x0D: _hex("0D0100"),
    0x0E: _hex("0E010600"),
    0x16: _hex("160102000100"),
    0x18: _hex("18000102000100"),
    0x0F: _hex("0F000001DB000922125A8591360000000049"),
}
POLICIES = list(SecurityPolicy)


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("plain_tag", sorted(PLAIN_APDUS))
def test_glo_round_trip_every_tag_and_policy(policy: SecurityPolicy, plain_tag: int) -> None:
    client, server = _pair(policy)
    plain = PLAIN_APDUS[plain_tag]
    protected = client.protect(plain)
    expected_tag = GLOBAL_TAGS.get(plain_tag, ApduTag.GENERAL_GLO_CIPHERING)
    assert protected[0] == expected_tag
    content = CipheredApdu.decode(protected).ciphered_content
    assert content[0] == int(policy)
    if policy is SecurityPolicy.AUTHENTICATION_ONLY:
        assert plain in content  # authenticated, not encrypted
        assert len(content) == 5 + len(plain) + 12
    elif policy is SecurityPolicy.ENCRYPTION_ONLY:
        assert len(content) == 5 + len(plain)  # no tag
    else:
        assert len(content) == 5 + len(plain) + 12
    assert server.unprotect(protected) == plain


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("plain_tag", sorted(PLAIN_APDUS))
def test_ded_round_trip_every_tag_and_policy(policy: SecurityPolicy, plain_tag: int) -> None:
    client, server = _pair(policy, CipheringForm.DEDICATED, dedicated=True)
    plain = PLAIN_APDUS[plain_tag]
    protected = client.protect(plain)
    if plain_tag in (0x01, 0x08):
        assert protected[0] == GLOBAL_TAGS[plain_tag]  # always under the global key
    else:
        assert protected[0] == DEDICATED_TAGS.get(plain_tag, ApduTag.GENERAL_DED_CIPHERING)
    assert server.unprotect(protected) == plain


@pytest.mark.parametrize(
    ("form", "tag"),
    [
        (CipheringForm.GENERAL_GLOBAL, ApduTag.GENERAL_GLO_CIPHERING),
        (CipheringForm.GENERAL_DEDICATED, ApduTag.GENERAL_DED_CIPHERING),
    ],
)
@pytest.mark.parametrize("policy", POLICIES)
def test_general_forms_carry_the_system_title(
    form: CipheringForm, tag: int, policy: SecurityPolicy
) -> None:
    client, server = _pair(policy, form, dedicated=True)
    for plain in PLAIN_APDUS.values():
        protected = client.protect(plain)
        expected = ApduTag.GENERAL_GLO_CIPHERING if plain[0] in (0x01, 0x08) else tag
        assert protected[0] == expected
        assert protected[1:10] == b"\x08" + CLIENT_TITLE
        assert server.unprotect(protected) == plain


def test_tag_maps_follow_the_green_book() -> None:
    assert GLOBAL_TAGS[0x01] == 0x21 and GLOBAL_TAGS[0x08] == 0x28
    assert GLOBAL_TAGS[0xC0] == 0xC8 and DEDICATED_TAGS[0xC0] == 0xD0
    assert GLOBAL_TAGS[0xC7] == 0xCF and DEDICATED_TAGS[0xC7] == 0xD7
    assert GLOBAL_TAGS[0xC2] == 0xCA and DEDICATED_TAGS[0xC2] == 0xD2
    assert GLOBAL_TAGS[0x0E] == 0x2E and DEDICATED_TAGS[0x0E] == 0x4E
    assert GLOBAL_TAGS[0x05] == 0x25 and DEDICATED_TAGS[0x05] == 0x45
    assert DEDICATED_TAGS[0x18] == 0x58 and GLOBAL_TAGS[0x18] == 0x38
    assert 0x0F not in GLOBAL_TAGS  # data-notification: general-glo-ciphering only


def test_broadcast_key_for_notifications() -> None:
    client, server = _pair(broadcast_notifications=True)
    push = PLAIN_APDUS[0x0F]
    protected = server.protect(push)
    content = CipheredApdu.decode(protected).ciphered_content
    assert content[0] == 0x70  # broadcast key + authenticated encryption
    deciphered = client.unprotect_apdu(protected)
    assert deciphered.key is CipheringKey.GLOBAL_BROADCAST_ENCRYPTION
    assert deciphered.apdu == push
    # a GET response is still unicast
    assert CipheredApdu.decode(server.protect(PLAIN_APDUS[0xC4])).ciphered_content[0] == 0x30
    # explicit broadcast
    assert (
        CipheredApdu.decode(server.protect(PLAIN_APDUS[0xC4], broadcast=True)).ciphered_content[0]
        == 0x70
    )
    # a listener without the broadcast key cannot read it
    listener = SecurityContext(
        system_title=CLIENT_TITLE,
        block_cipher_key=BLOCK_CIPHER_KEY,
        authentication_key=AUTHENTICATION_KEY,
    )
    with pytest.raises(DecipheringError, match="broadcast"):
        listener.unprotect(protected)
    with pytest.raises(EncodeError, match="broadcast"):
        listener.protect(push, broadcast=True)
    # a dedicated-form context broadcasts in the matching global form
    ded_client, ded_server = _pair(
        form=CipheringForm.DEDICATED, dedicated=True, broadcast_notifications=True
    )
    event = PLAIN_APDUS[0xC2]
    broadcast_event = ded_server.protect(event)
    assert broadcast_event[0] == ApduTag.GLO_EVENT_NOTIFICATION_REQUEST
    assert ded_client.unprotect(broadcast_event) == event
    assert ded_server.protect(event, broadcast=False)[0] == ApduTag.DED_EVENT_NOTIFICATION_REQUEST


def test_dedicated_key_lifecycle() -> None:
    client, server = _pair(form=CipheringForm.DEDICATED)
    with pytest.raises(EncodeError, match="dedicated key"):
        client.protect(PLAIN_APDUS[0xC0])
    key = generate_dedicated_key()
    assert len(key) == 16 and "Secret(****)" in repr(key)
    # the client proposes it in the (glo-ciphered) InitiateRequest, the server takes it from there
    request = InitiateRequest(Conformance(0x001E1D), 0x0400, dedicated_key=key.value)
    received = InitiateRequest.decode(server.unprotect(client.protect(request.encode())))
    assert received.dedicated_key is not None
    server.set_dedicated_key(Secret(received.dedicated_key))
    client.set_dedicated_key(key)
    assert client.has_dedicated_key and server.has_dedicated_key
    protected = client.protect(PLAIN_APDUS[0xC0])
    assert protected[0] == 0xD0
    assert server.unprotect(protected) == PLAIN_APDUS[0xC0]
    # the dedicated key has its own counter
    assert client.next_invocation_counter(CipheringKey.DEDICATED) == 2
    server.set_dedicated_key(None)
    with pytest.raises(DecipheringError, match="dedicated key"):
        server.unprotect(client.protect(PLAIN_APDUS[0xC0]))
    assert generate_dedicated_key(lambda n: bytes(n)).value == bytes(16)
    with pytest.raises(ValueError, match="random source"):
        generate_dedicated_key(lambda n: b"\x01")


def test_use_form_switches() -> None:
    client, _ = _pair(dedicated=True)
    assert client.protect(PLAIN_APDUS[0xC0])[0] == 0xC8
    client.use_form(CipheringForm.DEDICATED)
    assert client.form is CipheringForm.DEDICATED
    assert client.protect(PLAIN_APDUS[0xC0])[0] == 0xD0


# ---------------------------------------------------------------------------------------------
# Errors, never values


def test_plain_apdus_are_refused_except_errors() -> None:
    client, _ = _pair()
    with pytest.raises(SecurityPolicyError, match="plain APDU"):
        client.unprotect(PLAIN_APDUS[0xC4])
    exception_response = _hex("D80101")
    assert client.unprotect(exception_response) == exception_response
    assert client.unprotect(PLAIN_APDUS[0x0E]) == PLAIN_APDUS[0x0E]
    strict, _ = _pair(allow_plain=())
    with pytest.raises(SecurityPolicyError):
        strict.unprotect(exception_response)
    with pytest.raises(DecipheringError, match="not a suite 0"):
        client.unprotect(_hex("E0800100"))
    with pytest.raises(DecipheringError, match="empty"):
        client.unprotect(b"")


@pytest.mark.parametrize(
    ("sent", "required"),
    [
        (SecurityPolicy.AUTHENTICATION_ONLY, SecurityPolicy.AUTHENTICATED_ENCRYPTION),
        (SecurityPolicy.ENCRYPTION_ONLY, SecurityPolicy.AUTHENTICATED_ENCRYPTION),
        (SecurityPolicy.AUTHENTICATION_ONLY, SecurityPolicy.ENCRYPTION_ONLY),
        (SecurityPolicy.ENCRYPTION_ONLY, SecurityPolicy.AUTHENTICATION_ONLY),
    ],
)
def test_less_protection_than_the_policy_is_refused(
    sent: SecurityPolicy, required: SecurityPolicy
) -> None:
    sender, _ = _pair(sent)
    _, receiver = _pair(required)
    with pytest.raises(SecurityPolicyError, match="less than the security policy"):
        receiver.unprotect(sender.protect(PLAIN_APDUS[0xC0]))


def test_more_protection_than_the_policy_is_accepted() -> None:
    sender, _ = _pair(SecurityPolicy.AUTHENTICATED_ENCRYPTION)
    _, receiver = _pair(SecurityPolicy.AUTHENTICATION_ONLY)
    assert receiver.unprotect(sender.protect(PLAIN_APDUS[0xC0])) == PLAIN_APDUS[0xC0]


def _resigned(apdu: bytes, security_control: int) -> bytes:
    """A glo-get-request whose security control byte is changed."""
    ciphered = CipheredApdu.decode(apdu)
    content = bytes((security_control,)) + ciphered.ciphered_content[1:]
    return CipheredApdu(ciphered.tag, content).encode()


def test_unsupported_security_control_bits() -> None:
    client, server = _pair()
    apdu = client.protect(PLAIN_APDUS[0xC0])
    with pytest.raises(DecipheringError, match="compression"):
        server.unprotect(_resigned(apdu, 0xB0))
    with pytest.raises(SecurityPolicyError, match="suite 1"):
        server.unprotect(_resigned(apdu, 0x31))
    with pytest.raises(SecurityPolicyError, match="neither"):
        server.unprotect(_resigned(apdu, 0x00))


def test_wrong_keys_and_titles_give_a_clear_error() -> None:
    client, _ = _pair()
    apdu = client.protect(PLAIN_APDUS[0xC0])
    message = (
        "authentication tag mismatch — check the authentication key / block cipher key / "
        "system title"
    )
    cases: tuple[dict[str, Any], ...] = (
        {
            "block_cipher_key": bytes(16),
            "authentication_key": AUTHENTICATION_KEY,
            "peer_system_title": CLIENT_TITLE,
        },
        {
            "block_cipher_key": BLOCK_CIPHER_KEY,
            "authentication_key": bytes(16),
            "peer_system_title": CLIENT_TITLE,
        },
        {
            "block_cipher_key": BLOCK_CIPHER_KEY,
            "authentication_key": AUTHENTICATION_KEY,
            "peer_system_title": SERVER_TITLE,
        },
    )
    for kwargs in cases:
        server = SecurityContext(system_title=SERVER_TITLE, **kwargs)
        with pytest.raises(AuthenticationTagError) as raised:
            server.unprotect(apdu)
        assert message in str(raised.value)
        assert isinstance(raised.value, AuthenticationError)
        assert isinstance(raised.value, DecodeError)


def test_general_form_from_another_system_title() -> None:
    client, server = _pair(form=CipheringForm.GENERAL_GLOBAL)
    apdu = client.protect(PLAIN_APDUS[0xC0])
    other = bytearray(apdu)
    other[2:10] = SERVER_TITLE
    with pytest.raises(DecipheringError, match="system title mismatch"):
        server.unprotect(bytes(other))
    # an omitted system title (quirk 14): the configured peer title is used
    omitted = apdu[:1] + b"\x00" + apdu[10:]
    assert server.unprotect(omitted) == PLAIN_APDUS[0xC0]


def test_unknown_peer_system_title() -> None:
    client, _ = _pair()
    listener = SecurityContext(
        system_title=SERVER_TITLE,
        block_cipher_key=BLOCK_CIPHER_KEY,
        authentication_key=AUTHENTICATION_KEY,
    )
    with pytest.raises(DecipheringError, match="peer system title is unknown"):
        listener.unprotect(client.protect(PLAIN_APDUS[0xC0]))
    listener.peer_system_title = CLIENT_TITLE
    assert listener.unprotect(client.protect(PLAIN_APDUS[0xC0])) == PLAIN_APDUS[0xC0]


def test_inner_tag_must_match_the_ciphered_tag() -> None:
    client, server = _pair()
    apdu = client.protect(PLAIN_APDUS[0xC4])  # glo-get-response
    relabelled = b"\xc8" + apdu[1:]  # claims to be a glo-get-request; the tag is not in the AAD
    with pytest.raises(DecipheringError, match="must contain tag 0xc0"):
        server.unprotect(relabelled)


def test_protect_refuses_what_is_not_ciphered() -> None:
    client, _ = _pair()
    for apdu in (b"", _hex("6000"), _hex("E0800100"), client.protect(PLAIN_APDUS[0xC0])):
        with pytest.raises(EncodeError):
            client.protect(apdu)


def test_counter_overflow_needs_a_rekey() -> None:
    client, server = _pair()
    client.advance_invocation_counter(0xFFFF_FFFF)
    last = client.protect(PLAIN_APDUS[0xC0])
    assert CipheredApdu.decode(last).invocation_counter == 0xFFFF_FFFF
    with pytest.raises(InvocationCounterExhaustedError, match="2\\^32 - 1"):
        client.protect(PLAIN_APDUS[0xC0])
    assert server.unprotect(last) == PLAIN_APDUS[0xC0]


def test_counter_is_never_lowered() -> None:
    client, _ = _pair()
    client.advance_invocation_counter(500)
    client.advance_invocation_counter(10)
    assert client.next_invocation_counter() == 500


def test_security_control_byte() -> None:
    sc = SecurityControl.from_byte(0x30)
    assert sc.authentication and sc.encryption and not sc.broadcast_key and sc.security_suite == 0
    assert sc.policy is SecurityPolicy.AUTHENTICATED_ENCRYPTION
    assert (
        int(SecurityControl.for_policy(SecurityPolicy.AUTHENTICATION_ONLY, broadcast_key=True))
        == 0x50
    )
    for value in range(256):
        assert SecurityControl.from_byte(value).byte == value
    assert SecurityControl().policy is None
    assert [p.security_setup_value for p in SecurityPolicy] == [1, 2, 3]
    with pytest.raises(EncodeError):
        SecurityControl(security_suite=16)
    with pytest.raises(DecodeError):
        SecurityControl.from_byte(256)


def test_initialization_vector() -> None:
    assert initialization_vector(CLIENT_TITLE, 1) == _hex("4D4D4D000000000100000001")
    with pytest.raises(EncodeError):
        initialization_vector(b"short", 1)
    with pytest.raises(EncodeError):
        initialization_vector(CLIENT_TITLE, 1 << 32)


def test_bad_settings() -> None:
    with pytest.raises(EncodeError, match="16 bytes"):
        SecurityContext(
            system_title=CLIENT_TITLE, block_cipher_key=bytes(15), authentication_key=bytes(16)
        )
    with pytest.raises(EncodeError, match="8 bytes"):
        SecurityContext(
            system_title=b"1234567", block_cipher_key=bytes(16), authentication_key=bytes(16)
        )
    with pytest.raises(EncodeError):
        cipher(
            b"x",
            security_control=0x00,
            system_title=CLIENT_TITLE,
            invocation_counter=1,
            block_cipher_key=bytes(16),
            authentication_key=bytes(16),
        )
    with pytest.raises(DecipheringError, match="truncated security header"):
        decipher(
            b"\x30\x00",
            system_title=CLIENT_TITLE,
            block_cipher_key=bytes(16),
            authentication_key=bytes(16),
        )


# ---------------------------------------------------------------------------------------------
# Property tests

apdu_bodies = st.binary(min_size=0, max_size=300)
plain_tags = st.sampled_from(sorted(PLAIN_APDUS))
forms = st.sampled_from(list(CipheringForm))
policies = st.sampled_from(POLICIES)


@given(plain_tags, apdu_bodies, policies, forms)
def test_round_trip_property(
    plain_tag: int, body: bytes, policy: SecurityPolicy, form: CipheringForm
) -> None:
    client, server = _pair(policy, form, dedicated=True)
    plain = bytes((plain_tag,)) + body
    assert server.unprotect(client.protect(plain)) == plain
    assert client.unprotect(server.protect(plain)) == plain


@given(
    plain_tags,
    apdu_bodies,
    st.sampled_from([SecurityPolicy.AUTHENTICATION_ONLY, SecurityPolicy.AUTHENTICATED_ENCRYPTION]),
    forms,
    st.data(),
)
def test_any_flipped_byte_is_an_error_never_a_value(
    plain_tag: int, body: bytes, policy: SecurityPolicy, form: CipheringForm, data: st.DataObject
) -> None:
    # allow_plain=(): a first byte flipped into exception-response/confirmed-service-error would
    # pass as that plain error APDU (an error, not a value), by design
    client, server = _pair(policy, form, dedicated=True, allow_plain=())
    apdu = client.protect(bytes((plain_tag,)) + body)
    position = data.draw(st.integers(0, len(apdu) - 1))
    flip = data.draw(st.integers(1, 255))
    tampered = bytearray(apdu)
    tampered[position] ^= flip
    with pytest.raises(DlmsError):
        server.unprotect(bytes(tampered))
    assert server.unprotect(apdu) == bytes((plain_tag,)) + body  # the original still reads


@given(plain_tags, apdu_bodies, policies, forms, st.data())
def test_truncated_apdus_are_errors(
    plain_tag: int, body: bytes, policy: SecurityPolicy, form: CipheringForm, data: st.DataObject
) -> None:
    client, server = _pair(policy, form, dedicated=True)
    apdu = client.protect(bytes((plain_tag,)) + body)
    cut = data.draw(st.integers(0, len(apdu) - 1))
    with pytest.raises(DecipheringError):
        server.unprotect(apdu[:cut])
    with pytest.raises(DecipheringError):
        server.unprotect(apdu + b"\x00")


@given(st.binary(max_size=80))
def test_random_bytes_never_escape_as_other_exceptions(data: bytes) -> None:
    _, server = _pair(dedicated=True)
    with contextlib.suppress(DlmsError):
        server.unprotect(data)


@settings(max_examples=25)
@given(st.lists(plain_tags, min_size=2, max_size=40), policies)
def test_counters_strictly_increase_and_replays_are_refused(
    tags: list[int], policy: SecurityPolicy
) -> None:
    client, server = _pair(policy)
    sent = [client.protect(PLAIN_APDUS[tag]) for tag in tags]
    counters = [CipheredApdu.decode(apdu).invocation_counter for apdu in sent]
    assert counters == sorted(set(counters))
    for apdu in sent:
        server.unprotect(apdu)
    for apdu in sent:
        with pytest.raises(ReplayError):
            server.unprotect(apdu)


def test_out_of_order_is_refused_but_a_later_one_still_passes() -> None:
    client, server = _pair()
    first, second, third = (client.protect(PLAIN_APDUS[0xC0]) for _ in range(3))
    server.unprotect(second)
    with pytest.raises(ReplayError, match="not greater"):
        server.unprotect(first)
    assert server.unprotect(third) == PLAIN_APDUS[0xC0]
    assert (
        server.counter_store.last_received(CLIENT_TITLE, server.key_identity())
        == 3
    )


def test_a_forged_apdu_does_not_move_the_received_counter() -> None:
    client, server = _pair()
    client.advance_invocation_counter(1000)
    forged = bytearray(client.protect(PLAIN_APDUS[0xC0]))
    forged[-1] ^= 1
    with pytest.raises(AuthenticationTagError):
        server.unprotect(bytes(forged))
    assert (
        server.counter_store.last_received(CLIENT_TITLE, server.key_identity())
        is None
    )


# ---------------------------------------------------------------------------------------------
# Secrets never show


def _leaks(text: str) -> list[bytes]:
    lowered = text.lower()
    found = []
    for key in ALL_KEYS:
        if (
            key.hex() in lowered
            or key.hex(" ") in lowered
            or repr(key) in text
            or str(list(key)) in text
        ):
            found.append(key)
        if key.decode("latin-1") in text:
            found.append(key)
    return found


def test_no_object_or_error_shows_a_key() -> None:
    client, server = _pair(dedicated=True)
    texts = [repr(client), str(client), repr(server), repr(client.counter_store)]
    apdu = client.protect(PLAIN_APDUS[0xC0])
    texts.append(repr(server.unprotect_apdu(apdu)))
    texts.append(repr(CipheredApdu.decode(apdu)))
    errors: list[BaseException] = []
    for attempt in (
        lambda: server.unprotect(apdu),  # replay
        lambda: server.unprotect(apdu[:-1] + bytes((apdu[-1] ^ 1,))),
        lambda: SecurityContext(
            system_title=SERVER_TITLE,
            peer_system_title=CLIENT_TITLE,
            block_cipher_key=DEDICATED_KEY,
            authentication_key=AUTHENTICATION_KEY,
        ).unprotect(client.protect(PLAIN_APDUS[0xC0])),
        lambda: SecurityContext(
            system_title=SERVER_TITLE,
            block_cipher_key=BLOCK_CIPHER_KEY[:15],
            authentication_key=AUTHENTICATION_KEY,
        ),
        lambda: server.verify_hls_gmac(b"\x10" + bytes(16), b"challenge"),
        lambda: server.verify_hls_gmac(b"junk", b"challenge"),
    ):
        with pytest.raises(DlmsError) as raised:
            attempt()
        errors.append(raised.value)
    for error in errors:
        texts += [str(error), repr(error), repr(error.args)]
    for text in texts:
        assert _leaks(text) == [], text


def test_axdr_of_deciphered_notification() -> None:
    """The deciphered push body is a plain A-XDR structure."""
    v = vector("dlmscosem-wrapper-udp-general-glo-ciphering-0")
    key = b"MYDUMMYGLOBALKEY"
    listener = SecurityContext(system_title=bytes(8), block_cipher_key=key, authentication_key=key)
    plain = listener.unprotect(decode_datagram(_hex(v["hex"])).apdu)
    notification = DataNotification.decode(plain)
    assert notification.long_invoke_id_and_priority.encode() == plain[1:5]
    body = notification.notification_body.raw
    assert plain.endswith(body)
    assert axdr.encode(axdr.decode(body)) == body


# ---------------------------------------------------------------------------------------------
# The session's recipe, in process (what client.py / server.py will call)


def test_security_context_is_the_pipeline_protection() -> None:
    client, _ = _pair()
    protection: ApduProtection = client
    assert isinstance(protection, ApduProtection)


def test_session_recipe_hls_gmac_dedicated_key() -> None:
    """A ciphered HLS-GMAC association with a dedicated key, both roles, step by step."""
    client = SecurityContext(
        system_title=CLIENT_TITLE,
        block_cipher_key=Secret(BLOCK_CIPHER_KEY),
        authentication_key=Secret(AUTHENTICATION_KEY),
    )
    server = SecurityContext(
        system_title=SERVER_TITLE,
        block_cipher_key=Secret(BLOCK_CIPHER_KEY),
        authentication_key=Secret(AUTHENTICATION_KEY),
    )
    # 0. the client continues from the meter's frame counter (read on the public association)
    client.advance_invocation_counter(next_invocation_counter(0x1000))
    # 1. AARQ: calling-AP-title = our system title, user-information = glo-initiateRequest
    dedicated_key = generate_dedicated_key()
    ctos = b"K56iVagY"
    aarq = Aarq(
        application_context_name=ApplicationContextName.LOGICAL_NAME_WITH_CIPHERING,
        calling_ap_title=client.system_title,
        sender_acse_requirements=True,
        mechanism_name=MechanismName.HIGH_GMAC,
        calling_authentication_value=ctos,
        user_information=client.protect(
            InitiateRequest(
                Conformance(0x001E1D), 0x0400, dedicated_key=dedicated_key.value
            ).encode()
        ),
    )
    # 2. server: peer title from the AARQ, decipher, keep the dedicated key
    received = Aarq.decode(aarq.encode())
    assert received.calling_ap_title is not None and received.user_information is not None
    server.peer_system_title = received.calling_ap_title
    request = InitiateRequest.decode(server.unprotect(received.user_information))
    assert request.dedicated_key is not None
    server.set_dedicated_key(Secret(request.dedicated_key))
    stoc = b"P6wRJ21F"
    aare_user_information = server.protect(InitiateResponse(Conformance(0x001E1D), 0x0400).encode())
    # 3. client: peer title from the AARE responding-AP-title, decipher the initiateResponse
    client.peer_system_title = SERVER_TITLE
    InitiateResponse.decode(client.unprotect(aare_user_information))
    client.set_dedicated_key(dedicated_key)
    # 4. pass 3: f(StoC) in a ciphered ACTION (global form until the association is up)
    pass3 = client.hls_gmac(stoc)
    action = bytes.fromhex("C301C1000F0000280000FF0101") + b"\x09\x11" + pass3
    received_action = server.unprotect(client.protect(action))
    server.verify_hls_gmac(received_action[-17:], stoc)
    pass4 = server.hls_gmac(received.calling_authentication_value or b"")
    response = server.protect(bytes.fromhex("C701C1000100") + b"\x09\x11" + pass4)
    client.verify_hls_gmac(client.unprotect(response)[-17:], ctos)
    # 5. from now on, ded- APDUs
    client.use_form(CipheringForm.DEDICATED)
    server.use_form(CipheringForm.DEDICATED)
    get = client.protect(PLAIN_APDUS[0xC0])
    assert get[0] == ApduTag.DED_GET_REQUEST
    assert server.unprotect(get) == PLAIN_APDUS[0xC0]
    answer = server.protect(PLAIN_APDUS[0xC4])
    assert answer[0] == ApduTag.DED_GET_RESPONSE
    assert client.unprotect(answer) == PLAIN_APDUS[0xC4]
    # 6. release: drop the dedicated key
    client.set_dedicated_key(None)
    assert not client.has_dedicated_key
