"""GeneralCipheringProtection on its own: two ends in memory (the association over the network
is in tests/session/test_general_ciphering_sessions.py), each refusal with its own type."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from asyncdlms.apdu.general_protection import AgreedKey, GeneralCiphering
from asyncdlms.errors import (
    AuthenticationTagError,
    DecipheringError,
    EncodeError,
    ReplayError,
    SecurityPolicyError,
)
from asyncdlms.security.ciphering import SecurityPolicy
from asyncdlms.security.ciphering_protection import GeneralCipheringProtection, KeyAgreementName
from asyncdlms.security.counters import MemoryInvocationCounterStore
from asyncdlms.security.general import (
    GlobalKey,
    OnePassDiffieHellman,
    UnknownSignerError,
    cipher_general,
)
from asyncdlms.security.signing_protection import GeneralSigningProtection
from asyncdlms.security.suites import SignatureError, generate_private_key

CLIENT = bytes.fromhex("4142434445464748")
METER = bytes.fromhex("4D4D4D0000BC614E")
GET_REQUEST = bytes.fromhex("c001c100030100010800ff0200")
GET_RESPONSE = bytes.fromhex("c401c1000600000309")
SCHEMES: list[KeyAgreementName] = ["ephemeral-static", "static-unified"]


@dataclass
class Party:
    title: bytes
    signing: ec.EllipticCurvePrivateKey
    agreement: ec.EllipticCurvePrivateKey
    counters: MemoryInvocationCounterStore


def party(title: bytes, suite: int) -> Party:
    return Party(
        title,
        generate_private_key(suite),
        generate_private_key(suite),
        MemoryInvocationCounterStore(),
    )


def protection(
    us: Party,
    them: Party,
    suite: int,
    scheme: KeyAgreementName,
    *,
    peer_title: bytes | None = None,
    **options: object,
) -> GeneralCipheringProtection:
    return GeneralCipheringProtection(
        system_title=us.title,
        key_agreement_key=us.agreement,
        peer_key_agreement_key=them.agreement.public_key(),
        signing_key=us.signing,
        peer_signing_key=them.signing.public_key(),
        peer_system_title=peer_title,
        suite=suite,
        key_agreement=scheme,
        counter_store=us.counters,
        **options,  # type: ignore[arg-type]
    )


def pair(
    suite: int, scheme: KeyAgreementName, **options: object
) -> tuple[GeneralCipheringProtection, GeneralCipheringProtection, Party, Party]:
    client, meter = party(CLIENT, suite), party(METER, suite)
    ours = protection(client, meter, suite, scheme, peer_title=METER, **options)
    theirs = protection(meter, client, suite, scheme, **options)  # learns the client's title
    return ours, theirs, client, meter


@pytest.mark.parametrize("suite", [1, 2])
@pytest.mark.parametrize("scheme", SCHEMES)
def test_both_ways_with_a_fresh_key_per_apdu(suite: int, scheme: KeyAgreementName) -> None:
    client, meter, *_ = pair(suite, scheme)
    assert meter.peer_system_title is None
    first = client.protect(GET_REQUEST)
    second = client.protect(GET_REQUEST)
    assert first[0] == second[0] == 0xDD and first != second
    for sent in (first, second):
        info = GeneralCiphering.decode(sent).key_info
        assert isinstance(info, AgreedKey) and info.key_parameters == bytes(
            (1 if scheme == "ephemeral-static" else 2,)
        )
        assert GET_REQUEST not in sent  # encrypted
    assert meter.unprotect(first) == GET_REQUEST
    assert meter.peer_system_title == CLIENT
    assert meter.unprotect(second) == GET_REQUEST
    assert client.unprotect(meter.protect(GET_RESPONSE)) == GET_RESPONSE
    assert client.ciphered and "****" in repr(client)
    assert "PRIVATE" not in repr(client).upper()


@pytest.mark.parametrize("suite", [1, 2])
@pytest.mark.parametrize("scheme", SCHEMES)
def test_the_overhead_bounds_what_protect_adds(suite: int, scheme: KeyAgreementName) -> None:
    client, *_ = pair(suite, scheme)
    for size in (1, 100, 300, 5000, 60000):
        apdu = b"\xc0" * size
        grown = len(client.protect(apdu)) - size
        assert grown <= client.overhead
    assert client.overhead - grown <= 4  # and not far above it


@pytest.mark.parametrize("scheme", SCHEMES)
def test_tampered_replayed_and_plain_apdus_are_refused(scheme: KeyAgreementName) -> None:
    client, meter, *_ = pair(1, scheme)
    sent = client.protect(GET_REQUEST)
    tampered = sent[:-20] + bytes((sent[-20] ^ 1,)) + sent[-19:]
    with pytest.raises(AuthenticationTagError):
        meter.unprotect(tampered)
    assert meter.unprotect(sent) == GET_REQUEST  # the failure recorded nothing
    with pytest.raises(ReplayError):
        meter.unprotect(sent)
    with pytest.raises(SecurityPolicyError, match="not in general-ciphering"):
        meter.unprotect(GET_REQUEST)
    assert meter.unprotect(b"\xd8\x01\x01") == b"\xd8\x01\x01"  # exception-response
    with pytest.raises(DecipheringError):
        meter.unprotect(b"")


def test_a_wrong_peer_key_is_refused() -> None:
    for scheme in SCHEMES:
        client, meter, c, _m = pair(1, scheme)
        stranger = party(METER, 1)
        wrong = protection(c, stranger, 1, scheme, peer_title=METER)  # another meter key
        with pytest.raises(AuthenticationTagError):  # another Z, another key
            meter.unprotect(wrong.protect(GET_REQUEST))
        assert meter.unprotect(client.protect(GET_REQUEST)) == GET_REQUEST


def test_a_forged_ephemeral_key_signature_is_refused() -> None:
    client, meter, _c, m = pair(2, "ephemeral-static")
    forger = generate_private_key(2)  # signs the ephemeral key in the client's name
    forged = cipher_general(
        GET_REQUEST,
        originator_system_title=CLIENT,
        recipient_system_title=METER,
        suite=2,
        key=OnePassDiffieHellman(m.agreement.public_key(), forger),
        counter_store=MemoryInvocationCounterStore(),
    )
    with pytest.raises(SignatureError):
        meter.unprotect(forged)
    sent = GeneralCiphering.decode(client.protect(GET_REQUEST))
    info = sent.key_info
    assert isinstance(info, AgreedKey)
    data = info.key_ciphered_data
    flipped = data[:-1] + bytes((data[-1] ^ 0x80,))
    bad = GeneralCiphering(
        sent.header, AgreedKey(info.key_parameters, flipped), sent.ciphered_content
    )
    with pytest.raises(SignatureError):
        meter.unprotect(bad.encode())


def test_another_scheme_suite_or_weaker_policy_is_refused() -> None:
    _client, meter, c, m = pair(1, "static-unified")
    other_scheme = protection(c, m, 1, "ephemeral-static", peer_title=METER)
    with pytest.raises(SecurityPolicyError, match="STATIC_UNIFIED_MODEL"):
        meter.unprotect(other_scheme.protect(GET_REQUEST))
    global_key = cipher_general(
        GET_REQUEST,
        originator_system_title=CLIENT,
        recipient_system_title=METER,
        suite=1,
        key=GlobalKey(bytes(16)),
        counter_store=c.counters,
    )
    with pytest.raises(SecurityPolicyError, match="IdentifiedKey"):
        meter.unprotect(global_key)
    weaker = protection(c, m, 1, "static-unified", peer_title=METER,
                        policy=SecurityPolicy.AUTHENTICATION_ONLY)  # fmt: skip
    sent = weaker.protect(GET_REQUEST)
    assert GET_REQUEST in sent  # authenticated only: readable
    with pytest.raises(SecurityPolicyError, match="protects less"):
        meter.unprotect(sent)
    c2, m2 = party(CLIENT, 2), party(METER, 2)
    suite_2 = protection(c2, m2, 2, "static-unified", peer_title=METER)
    with pytest.raises(SecurityPolicyError):
        meter.unprotect(suite_2.protect(GET_REQUEST))


@pytest.mark.parametrize("policy", list(SecurityPolicy))
def test_every_policy_of_the_security_control_byte(policy: SecurityPolicy) -> None:
    client, meter, *_ = pair(1, "ephemeral-static", policy=policy)
    sent = client.protect(GET_REQUEST)
    security_control = GeneralCiphering.decode(sent).ciphered_content[0]
    assert security_control == int(policy) | 1
    assert meter.unprotect(sent) == GET_REQUEST


def test_an_apdu_from_someone_else_or_an_unknown_sender_is_refused() -> None:
    client, meter, c, m = pair(1, "static-unified")
    assert meter.unprotect(client.protect(GET_REQUEST)) == GET_REQUEST  # learns CLIENT
    other = party(bytes(8), 1)
    other.agreement = c.agreement
    impostor = protection(other, m, 1, "static-unified", peer_title=METER)
    with pytest.raises(DecipheringError, match="not from the peer"):
        meter.unprotect(impostor.protect(GET_REQUEST))
    lookup = GeneralCipheringProtection(
        system_title=METER,
        key_agreement_key=m.agreement,
        peer_key_agreement_key={CLIENT: c.agreement.public_key()}.get,
        key_agreement="static-unified",
        suite=1,
        counter_store=m.counters,
    )
    assert lookup.unprotect(client.protect(GET_REQUEST)) == GET_REQUEST
    stranger = GeneralCipheringProtection(
        system_title=METER,
        key_agreement_key=m.agreement,
        peer_key_agreement_key={}.get,
        key_agreement="static-unified",
        suite=1,
        counter_store=m.counters,
    )
    with pytest.raises(UnknownSignerError):
        stranger.unprotect(client.protect(GET_REQUEST))
    with pytest.raises(EncodeError, match="peer's system title"):
        stranger.protect(GET_REQUEST)


def test_the_authentication_key_enters_the_tag() -> None:
    client, meter, c, m = pair(1, "static-unified", authentication_key=bytes(range(16)))
    assert meter.unprotect(client.protect(GET_REQUEST)) == GET_REQUEST
    without = protection(c, m, 1, "static-unified", peer_title=METER)
    with pytest.raises(AuthenticationTagError):
        meter.unprotect(without.protect(GET_REQUEST))


@pytest.mark.parametrize("order", ["signed-then-ciphered", "ciphered-then-signed"])
def test_nested_with_general_signing(order: str) -> None:
    c, m = party(CLIENT, 1), party(METER, 1)

    def build(
        us: Party, them: Party, peer: bytes | None
    ) -> GeneralSigningProtection | GeneralCipheringProtection:
        signing = GeneralSigningProtection(
            system_title=us.title,
            signing_key=us.signing,
            peer_signing_key=them.signing.public_key(),
            peer_system_title=peer,
            suite=1,
            counter_store=us.counters,
        )
        if order == "signed-then-ciphered":
            return protection(us, them, 1, "static-unified", peer_title=peer, inner=signing)
        ciphering = protection(us, them, 1, "static-unified", peer_title=peer)
        return GeneralSigningProtection(
            system_title=us.title,
            signing_key=us.signing,
            peer_signing_key=them.signing.public_key(),
            peer_system_title=peer,
            suite=1,
            counter_store=us.counters,
            inner=ciphering,
        )

    client, meter = build(c, m, METER), build(m, c, CLIENT)
    sent = client.protect(GET_REQUEST)
    assert sent[0] == (0xDD if order == "signed-then-ciphered" else 0xDF)
    assert client.ciphered and len(sent) - len(GET_REQUEST) <= client.overhead
    assert meter.unprotect(sent) == GET_REQUEST
    assert client.unprotect(meter.protect(GET_RESPONSE)) == GET_RESPONSE


def test_arguments_are_checked() -> None:
    c, m = party(CLIENT, 1), party(METER, 1)
    common = {
        "system_title": CLIENT,
        "key_agreement_key": c.agreement,
        "peer_key_agreement_key": m.agreement.public_key(),
    }
    with pytest.raises(ValueError, match="signing_key"):
        GeneralCipheringProtection(**common, suite=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="suite 1 or 2"):
        GeneralCipheringProtection(**common, suite=0, key_agreement="static-unified")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="key_agreement"):
        GeneralCipheringProtection(**common, suite=1, key_agreement="ephemeral")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="authenticates, encrypts"):
        GeneralCipheringProtection(**common, suite=1, key_agreement="static-unified", policy=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="8 bytes"):
        GeneralCipheringProtection(
            **common, suite=1, key_agreement="static-unified", peer_system_title=b"x"
        )  # type: ignore[arg-type]
