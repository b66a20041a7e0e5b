"""Our ciphered ClientSession against our ciphered ServerSession in memory, over HDLC and the
wrapper: every security policy with LLS, HLS-SHA1 and HLS-GMAC, the dedicated key, every
service with block transfer at hypothesis-chosen PDU sizes, and what must be refused
(tampered, replayed and plain APDUs) with typed errors; the invocation-counter-error retry
(quirk 3) and continuing from a frame counter (behaviour 5)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asyncdlms.apdu.acse import ApplicationContextName, MechanismName
from asyncdlms.apdu.descriptors import CosemAttributeDescriptor, CosemMethodDescriptor
from asyncdlms.apdu.get import GetRequestNormal
from asyncdlms.apdu.initiate import Conformance
from asyncdlms.apdu.service_error import ExceptionResponse, ExceptionServiceError
from asyncdlms.apdu.tags import ApduTag
from asyncdlms.errors import (
    AssociationRejectedError,
    AuthenticationTagError,
    DataAccessError,
    DecipheringError,
    ReplayError,
    SecurityPolicyError,
    ServiceError,
)
from asyncdlms.hdlc import HdlcParameters
from asyncdlms.security.ciphering import SecurityContext, SecurityPolicy
from asyncdlms.security.counters import (
    CipheringKey,
    MemoryInvocationCounterStore,
    key_identity,
    next_invocation_counter,
)
from asyncdlms.security.hls import Secret
from asyncdlms.session.client import AssociationState
from asyncdlms.session.events import AssociationEstablished, AssociationReleased
from asyncdlms.session.server import (
    DEFAULT_SERVER_CONFORMANCE,
    AssociationPolicy,
    ServerSecurity,
    ServerSettings,
)
from asyncdlms.session.settings import ClientSecurity, ClientSettings
from asyncdlms.types.values import DoubleLongUnsigned, OctetString, Unsigned
from tests.session.test_end_to_end import DATA, METHOD_OWNER, REGISTER, Pair, table

BLOCK_CIPHER_KEY = bytes(range(16))
UNICAST = key_identity(CipheringKey.GLOBAL_UNICAST_ENCRYPTION, BLOCK_CIPHER_KEY)
AUTHENTICATION_KEY = bytes(range(0xD0, 0xE0))
CLIENT_TITLE = b"ASY00001"
SERVER_TITLE = b"SRV00001"
LLS_PASSWORD = b"12345678"
HLS_KEY = b"Gurux1234567890!"
POLICIES = {
    "auth": SecurityPolicy.AUTHENTICATION_ONLY,
    "enc": SecurityPolicy.ENCRYPTION_ONLY,
    "ae": SecurityPolicy.AUTHENTICATED_ENCRYPTION,
}
MECHANISMS = {
    "low": (MechanismName.LOW, LLS_PASSWORD),
    "sha1": (MechanismName.HIGH_SHA1, HLS_KEY),
    "gmac": (MechanismName.HIGH_GMAC, None),
}
CONFORMANCE = DEFAULT_SERVER_CONFORMANCE | Conformance.GENERAL_BLOCK_TRANSFER


def server_security(
    policy: SecurityPolicy | None,
    store: MemoryInvocationCounterStore | None = None,
    hint: bool = False,
) -> ServerSecurity:
    return ServerSecurity(
        BLOCK_CIPHER_KEY,
        AUTHENTICATION_KEY,
        policy,
        counter_store=store or MemoryInvocationCounterStore(),
        invocation_counter_hint=hint,
    )


def ciphered_server(
    policy: SecurityPolicy | None,
    mechanism: MechanismName = MechanismName.HIGH_GMAC,
    secret: bytes | None = None,
    max_pdu: int = 1024,
    store: MemoryInvocationCounterStore | None = None,
    hint: bool = False,
) -> ServerSettings:
    security = server_security(policy, store, hint)
    return ServerSettings(
        policies={
            16: AssociationPolicy(conformance=CONFORMANCE),
            18: AssociationPolicy(
                mechanism,
                None if secret is None else Secret(secret),
                conformance=CONFORMANCE,
                security=security,
            ),
        },
        server_max_receive_pdu_size=max_pdu,
        system_title=SERVER_TITLE,
        max_request_length=1 << 20,
    )


def client_security(
    policy: str = "ae",
    *,
    store: MemoryInvocationCounterStore | None = None,
    dedicated: bool = False,
    authentication_key: bytes = AUTHENTICATION_KEY,
    block_cipher_key: bytes = BLOCK_CIPHER_KEY,
) -> ClientSecurity:
    return ClientSecurity(
        CLIENT_TITLE,
        Secret(block_cipher_key),
        Secret(authentication_key),
        policy,  # type: ignore[arg-type]  # the short name is accepted too
        counter_store=store or MemoryInvocationCounterStore(),
        use_dedicated_key=dedicated,
    )


def ciphered_client(
    mechanism: MechanismName = MechanismName.HIGH_GMAC,
    secret: bytes | None = None,
    security: ClientSecurity | None = None,
    **extra: Any,
) -> ClientSettings:
    return ClientSettings(
        mechanism=mechanism,
        secret=None if secret is None else Secret(secret),
        security=security or client_security(),
        **extra,
    )


def ciphered_pair(
    interface: str,
    policy: str,
    mechanism: str = "gmac",
    size: int = 300,
    dedicated: bool = False,
    hint: bool = False,
) -> Pair:
    name, secret = MECHANISMS[mechanism]
    pair = Pair(
        interface,
        ciphered_client(name, secret, client_security(policy, dedicated=dedicated)),
        ciphered_server(POLICIES[policy], name, secret, hint=hint),
        table(size),
        client_address=18,
    )
    pair.associate()
    return pair


def every_service(pair: Pair, size: int = 300) -> None:
    data = CosemAttributeDescriptor(1, DATA, 2)
    register = CosemAttributeDescriptor(3, REGISTER, 2)
    assert pair.result(pair.client.get(register)) == 42
    assert pair.result(pair.client.get(data)) == bytes(i & 0xFF for i in range(size))
    assert pair.result(pair.client.set(data, OctetString(b"new"))) is None
    assert pair.result(pair.client.get_with_list([register, data])) == [42, b"new"]
    with pytest.raises(DataAccessError):
        pair.result(pair.client.set(register, DoubleLongUnsigned(1)))
    echo = CosemMethodDescriptor(70, METHOD_OWNER, 2)
    assert pair.result(pair.client.action(echo, Unsigned(5))) == 5
    assert pair.result(
        pair.client.action_with_list([(echo, Unsigned(1)), (echo, Unsigned(2))])
    ) == [1, 2]


@pytest.mark.parametrize("interface", ["hdlc", "wrapper"])
@pytest.mark.parametrize("policy", ["auth", "enc", "ae"])
@pytest.mark.parametrize("mechanism", ["low", "sha1", "gmac"])
def test_every_policy_and_mechanism(interface: str, policy: str, mechanism: str) -> None:
    pair = ciphered_pair(interface, policy, mechanism)
    every_service(pair)
    # every APDU on the wire after the AARQ is ciphered: the server saw no plain request
    assert pair.server.deciphering_failures == 0
    assert pair.client.security_context is not None
    assert pair.client.security_context.peer_system_title == SERVER_TITLE
    pair.client.release(0.0)
    pair.run()
    assert any(isinstance(e, AssociationReleased) for e in pair.server_events)


def test_the_wire_carries_ciphered_apdus() -> None:
    pair = Pair(
        "wrapper",
        ciphered_client(),
        ciphered_server(SecurityPolicy.AUTHENTICATED_ENCRYPTION),
        table(),
        client_address=18,
    )
    pair.client.associate(0.0)
    aarq = pair.client.data_to_send()
    # wrapper header (8 bytes), then the AARQ with the ciphered context name 2.16.756.5.8.1.3
    assert aarq[8] == ApduTag.AARQ
    assert bytes((0x60, 0x85, 0x74, 0x05, 0x08, 0x01, 0x03)) in aarq
    assert CLIENT_TITLE in aarq
    assert bytes((0x21,)) in aarq  # glo-initiate-request in the user-information
    pair.server.receive_data(aarq, 0.0)
    aare = pair.server.data_to_send()
    assert SERVER_TITLE in aare and bytes((0x28,)) in aare  # glo-initiate-response
    pair.client.receive_data(aare, 0.0)
    pair.run()
    assert pair.client.associated
    request_id = pair.client.get(CosemAttributeDescriptor(3, REGISTER, 2))
    out = pair.client.data_to_send()
    assert out[8] == 0xC8  # glo-get-request
    pair.server.receive_data(out, 0.0)
    back = pair.server.data_to_send()
    assert back[8] == 0xCC  # glo-get-response
    pair.client.receive_data(back, 0.0)
    assert pair.result(request_id) == 42


@pytest.mark.parametrize("interface", ["hdlc", "wrapper"])
def test_dedicated_key(interface: str) -> None:
    pair = ciphered_pair(interface, "ae", "gmac", dedicated=True)
    context = pair.client.security_context
    assert context is not None and context.has_dedicated_key
    server_context = pair.server.security_context
    assert server_context is not None and server_context.has_dedicated_key
    request_id = pair.client.get(CosemAttributeDescriptor(3, REGISTER, 2))
    out = pair.client.data_to_send()
    assert 0xD0 in out  # ded-get-request
    pair.server.receive_data(out, 0.0)
    back = pair.server.data_to_send()
    assert 0xD4 in back  # ded-get-response: the server answers in the form it was asked
    pair.client.receive_data(back, 0.0)
    assert pair.result(request_id) == 42
    every_service(pair)
    # the dedicated key never appears on the wire after the AARQ, nor in any repr
    pair.client.release(0.0)
    pair.run()
    assert not context.has_dedicated_key
    assert "set" not in repr(context).split("dedicated_key=")[1][:4]


def test_dedicated_key_is_drawn_from_the_random_source() -> None:
    drawn: list[int] = []

    def random(size: int) -> bytes:
        drawn.append(size)
        return bytes((0x5A,)) * size

    pair = Pair(
        "wrapper",
        ciphered_client(security=client_security(dedicated=True), random=random),
        ciphered_server(SecurityPolicy.AUTHENTICATED_ENCRYPTION),
        table(),
        client_address=18,
    )
    pair.associate()
    assert 16 in drawn
    assert pair.result(pair.client.get(CosemAttributeDescriptor(3, REGISTER, 2))) == 42


@pytest.mark.parametrize("interface", ["hdlc", "wrapper"])
def test_hls_gmac_without_ciphered_apdus(interface: str) -> None:
    """security none with HLS-GMAC: the keys only authenticate, APDUs go plain."""
    pair = Pair(
        interface,
        ciphered_client(security=client_security("none")),
        ciphered_server(None),
        table(),
        client_address=18,
    )
    pair.associate()
    assert pair.result(pair.client.get(CosemAttributeDescriptor(3, REGISTER, 2))) == 42


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    interface=st.sampled_from(["hdlc", "wrapper"]),
    policy=st.sampled_from(["auth", "enc", "ae"]),
    client_pdu=st.integers(60, 600),
    server_pdu=st.integers(60, 600),
    max_info=st.integers(32, 256),
    size=st.integers(0, 1500),
    use_gbt=st.booleans(),
    dedicated=st.booleans(),
)
def test_block_transfer_while_ciphered(
    interface: str,
    policy: str,
    client_pdu: int,
    server_pdu: int,
    max_info: int,
    size: int,
    use_gbt: bool,
    dedicated: bool,
) -> None:
    pair = Pair(
        interface,
        ciphered_client(
            security=client_security(policy, dedicated=dedicated and policy != "auth"),
            client_max_receive_pdu_size=client_pdu,
            use_general_block_transfer=use_gbt,
        ),
        ciphered_server(POLICIES[policy], max_pdu=server_pdu),
        table(size),
        HdlcParameters(max_info, max_info, 1, 1),
        client_address=18,
    )
    pair.associate()
    data = CosemAttributeDescriptor(1, DATA, 2)
    assert pair.result(pair.client.get(data)) == bytes(i & 0xFF for i in range(size))
    written = bytes((i * 7) & 0xFF for i in range(size))
    assert pair.result(pair.client.set(data, OctetString(written))) is None
    assert pair.result(pair.client.get_with_list([data, data])) == [written, written]
    echo = CosemMethodDescriptor(70, METHOD_OWNER, 2)
    assert pair.result(pair.client.action(echo, OctetString(written))) == written
    assert pair.server.deciphering_failures == 0


# -- what must be refused ---------------------------------------------------------------------


def _wrapper_payload(data: bytes) -> bytes:
    return data[8:]


def _wrapped(header_from: bytes, apdu: bytes) -> bytes:
    return header_from[:6] + len(apdu).to_bytes(2, "big") + apdu


def test_wrong_authentication_key_fails_with_a_tag_mismatch() -> None:
    pair = Pair(
        "wrapper",
        ciphered_client(
            MechanismName.LOW,
            LLS_PASSWORD,
            client_security(authentication_key=bytes(16)),
        ),
        ciphered_server(SecurityPolicy.AUTHENTICATED_ENCRYPTION, MechanismName.LOW, LLS_PASSWORD),
        table(),
        client_address=18,
    )
    pair.client.associate(0.0)
    pair.run()
    released = [e for e in pair.client_events if isinstance(e, AssociationReleased)]
    assert released and released[0].error is not None
    assert not pair.client.associated
    assert pair.server.rejected_associations == 1
    message = str(released[0].error)
    assert bytes(16).hex() not in message.lower()


def test_wrong_block_cipher_key_fails_hls_gmac_with_a_typed_error() -> None:
    """The server cannot decipher the AARQ: a rejecting AARE (typed on our side)."""
    pair = Pair(
        "wrapper",
        ciphered_client(security=client_security(block_cipher_key=bytes(16))),
        ciphered_server(SecurityPolicy.AUTHENTICATED_ENCRYPTION),
        table(),
        client_address=18,
    )
    pair.client.associate(0.0)
    pair.run()
    released = [e for e in pair.client_events if isinstance(e, AssociationReleased)]
    assert released and isinstance(released[0].error, AssociationRejectedError)
    assert not any(isinstance(e, AssociationEstablished) for e in pair.server_events)
    assert pair.server.rejected_associations == 1


def test_a_meter_answering_with_other_keys_gives_a_tag_mismatch() -> None:
    """The server has other keys for the AARE than the client: AuthenticationTagError."""
    client_store = MemoryInvocationCounterStore()
    server = ciphered_server(SecurityPolicy.AUTHENTICATED_ENCRYPTION, MechanismName.LOWEST)
    pair = Pair(
        "wrapper",
        ciphered_client(MechanismName.LOWEST, security=client_security(store=client_store)),
        server,
        table(),
        client_address=18,
    )
    pair.client.associate(0.0)
    aarq = pair.client.data_to_send()
    # answer with an AARE made by a context holding another authentication key
    other = SecurityContext(
        system_title=SERVER_TITLE,
        block_cipher_key=BLOCK_CIPHER_KEY,
        authentication_key=bytes(16),
    )
    pair.server.receive_data(aarq, 0.0)
    aare = pair.server.data_to_send()
    glo = aare.index(bytes((0x28,)))
    # re-cipher the InitiateResponse with the wrong key, same length
    plain_response = SecurityContext(
        system_title=CLIENT_TITLE,
        block_cipher_key=BLOCK_CIPHER_KEY,
        authentication_key=AUTHENTICATION_KEY,
        peer_system_title=SERVER_TITLE,
    )
    ciphered = aare[glo:]
    response = plain_response.unprotect(ciphered)
    forged = other.protect(response)
    assert len(forged) == len(ciphered)
    tampered = aare[: aare.index(ciphered)] + forged
    pair.client.receive_data(tampered, 0.0)
    events = pair.client.events()
    released = [e for e in events if isinstance(e, AssociationReleased)]
    assert released and isinstance(released[0].error, AuthenticationTagError)
    assert "authentication tag mismatch" in str(released[0].error)


def test_tampered_request_is_refused_with_deciphering_error() -> None:
    pair = ciphered_pair("wrapper", "ae")
    request_id = pair.client.get(CosemAttributeDescriptor(3, REGISTER, 2))
    out = bytearray(pair.client.data_to_send())
    out[-1] ^= 0x01  # the authentication tag
    pair.server.receive_data(bytes(out), 0.0)
    back = pair.server.data_to_send()
    assert ExceptionResponse.decode(_wrapper_payload(back)).service_error == (
        ExceptionServiceError.DECIPHERING_ERROR
    )
    assert pair.server.deciphering_failures == 1
    pair.client.receive_data(back, 0.0)
    with pytest.raises(ServiceError):
        pair.result(request_id)


def test_tampered_answer_fails_the_request_with_a_tag_mismatch() -> None:
    pair = ciphered_pair("wrapper", "ae")
    request_id = pair.client.get(CosemAttributeDescriptor(3, REGISTER, 2))
    pair.server.receive_data(pair.client.data_to_send(), 0.0)
    back = bytearray(pair.server.data_to_send())
    back[20] ^= 0x80
    pair.client.receive_data(bytes(back), 0.0)
    with pytest.raises(AuthenticationTagError):
        pair.result(request_id)
    # the association stays usable
    assert pair.result(pair.client.get(CosemAttributeDescriptor(3, REGISTER, 2))) == 42


@pytest.mark.parametrize("policy", ["auth", "enc", "ae"])
def test_plain_request_is_refused_when_the_policy_wants_ciphering(policy: str) -> None:
    pair = ciphered_pair("wrapper", policy)
    out = pair.client.data_to_send()
    assert not out
    plain = GetRequestNormal(CosemAttributeDescriptor(3, REGISTER, 2)).encode()
    header = WrapperHeader.for_client()
    pair.server.receive_data(_wrapped(header, plain), 0.0)
    back = pair.server.data_to_send()
    answer = ExceptionResponse.decode(_wrapper_payload(back))
    assert answer.service_error == ExceptionServiceError.DECIPHERING_ERROR
    assert pair.server.deciphering_failures == 1
    assert pair.server.requests_served == 0  # nothing was read in plain
    # and the client refuses a plain answer the same way (typed)
    context = pair.client.security_context
    assert context is not None
    with pytest.raises(SecurityPolicyError):
        context.unprotect(bytes.fromhex("C401C1000600000001"))


class WrapperHeader:
    @staticmethod
    def for_client() -> bytes:
        # version 1, source wPort 18 (client), destination 1 (server), length filled later
        return bytes((0, 1, 0, 18, 0, 1, 0, 0))


def test_replayed_request_is_dropped_unanswered() -> None:
    """The standard's way, and the server's default: a replayed request gets no answer."""
    pair = ciphered_pair("wrapper", "ae")
    request_id = pair.client.get(CosemAttributeDescriptor(3, REGISTER, 2))
    out = pair.client.data_to_send()
    pair.server.receive_data(out, 0.0)
    pair.client.receive_data(pair.server.data_to_send(), 0.0)
    assert pair.result(request_id) == 42
    served = pair.server.requests_served
    pair.server.receive_data(out, 0.0)  # the same bytes again: a replay
    assert pair.server.data_to_send() == b""
    assert pair.server.replayed_apdus == 1
    assert pair.server.requests_served == served


def test_replayed_request_is_refused_with_the_expected_counter_when_hinting() -> None:
    """A meter with invocation_counter_hint answers invocation-counter-error and the counter
    it expects (quirk 3)."""
    pair = ciphered_pair("wrapper", "ae", hint=True)
    request_id = pair.client.get(CosemAttributeDescriptor(3, REGISTER, 2))
    out = pair.client.data_to_send()
    pair.server.receive_data(out, 0.0)
    pair.client.receive_data(pair.server.data_to_send(), 0.0)
    assert pair.result(request_id) == 42
    served = pair.server.requests_served
    pair.server.receive_data(out, 0.0)  # the same bytes again: a replay
    back = pair.server.data_to_send()
    answer = ExceptionResponse.decode(_wrapper_payload(back))
    assert answer.service_error == ExceptionServiceError.INVOCATION_COUNTER_ERROR
    context = pair.client.security_context
    assert context is not None
    assert answer.invocation_counter == context.next_invocation_counter()
    assert pair.server.replayed_apdus == 1
    assert pair.server.requests_served == served


def test_replayed_answer_is_refused_by_the_client() -> None:
    pair = ciphered_pair("wrapper", "ae")
    first = pair.client.get(CosemAttributeDescriptor(3, REGISTER, 2))
    pair.server.receive_data(pair.client.data_to_send(), 0.0)
    old_answer = pair.server.data_to_send()
    pair.client.receive_data(old_answer, 0.0)
    assert pair.result(first) == 42
    second = pair.client.get(CosemAttributeDescriptor(3, REGISTER, 2))
    pair.client.data_to_send()  # the request goes nowhere; the old answer comes again
    pair.client.receive_data(old_answer, 0.0)
    with pytest.raises(ReplayError):
        pair.result(second)


# -- invocation counters ----------------------------------------------------------------------


def test_a_reused_counter_on_the_aarq_is_rejected_without_a_hint() -> None:
    """A restarted client (fresh memory store) behind the meter's last counter: a strict
    meter (the default) rejects the AARQ and says nothing of the counter it expects."""
    server_store = MemoryInvocationCounterStore()
    server = ciphered_server(SecurityPolicy.AUTHENTICATED_ENCRYPTION, store=server_store)
    first = Pair("wrapper", ciphered_client(), server, table(), client_address=18)
    first.associate()
    assert first.result(first.client.get(CosemAttributeDescriptor(3, REGISTER, 2))) == 42
    restarted = Pair("wrapper", ciphered_client(), server, table(), client_address=18)
    restarted.client.associate(0.0)
    restarted.run()
    released = [e for e in restarted.client_events if isinstance(e, AssociationReleased)]
    assert released and isinstance(released[0].error, AssociationRejectedError)
    assert restarted.client.invocation_counter_retries == 0
    assert restarted.server.replayed_apdus == 1


def test_invocation_counter_error_on_the_aarq_advances_and_retries_once() -> None:
    """A restarted client (fresh memory store) behind the meter's last counter: a hinting
    meter answers the AARQ with invocation-counter-error and the counter it expects; the
    client continues from it and associates."""
    server_store = MemoryInvocationCounterStore()
    server = ciphered_server(
        SecurityPolicy.AUTHENTICATED_ENCRYPTION, store=server_store, hint=True
    )
    first = Pair("wrapper", ciphered_client(), server, table(), client_address=18)
    first.associate()
    for _ in range(5):
        assert first.result(first.client.get(CosemAttributeDescriptor(3, REGISTER, 2))) == 42
    last = server_store.last_received(CLIENT_TITLE, UNICAST)
    assert last is not None and last > 5
    restarted = Pair("wrapper", ciphered_client(), server, table(), client_address=18)
    restarted.associate()
    assert restarted.client.invocation_counter_retries == 1
    context = restarted.client.security_context
    assert context is not None and context.next_invocation_counter() > last
    assert restarted.result(restarted.client.get(CosemAttributeDescriptor(3, REGISTER, 2))) == 42


def test_invocation_counter_error_on_a_request_advances_and_retries_once() -> None:
    pair = ciphered_pair("wrapper", "ae")
    context = pair.client.security_context
    assert context is not None
    request_id = pair.client.get(CosemAttributeDescriptor(3, REGISTER, 2))
    pair.client.data_to_send()  # lost; the meter says it wants counter 1000
    expected = 1000
    answer = ExceptionResponse(2, ExceptionServiceError.INVOCATION_COUNTER_ERROR, expected)
    server_header = bytes((0, 1, 0, 1, 0, 18))
    pair.client.receive_data(_wrapped(server_header, answer.encode()), 0.0)
    assert pair.client.invocation_counter_retries == 1
    resent = pair.client.data_to_send()
    assert int.from_bytes(resent[11:15], "big") == expected  # SC at 10, IC 11..14
    # the meter did not see counters below 1000 either: it accepts this one
    pair.server.receive_data(resent, 0.0)
    pair.client.receive_data(pair.server.data_to_send(), 0.0)
    assert pair.result(request_id) == 42


def test_a_second_invocation_counter_error_is_the_callers() -> None:
    pair = ciphered_pair("wrapper", "ae")
    request_id = pair.client.get(CosemAttributeDescriptor(3, REGISTER, 2))
    pair.client.data_to_send()
    server_header = bytes((0, 1, 0, 1, 0, 18))
    for counter in (500, 600):
        answer = ExceptionResponse(2, ExceptionServiceError.INVOCATION_COUNTER_ERROR, counter)
        pair.client.receive_data(_wrapped(server_header, answer.encode()), 0.0)
        pair.client.data_to_send()
    with pytest.raises(ServiceError):
        pair.result(request_id)
    assert pair.client.invocation_counter_retries == 1


def test_repeated_counters_only_when_allowed() -> None:
    """Quirk 14 (servers that never increment): an equal counter is accepted only with
    allow_repeated_counters, a lower one never."""
    for allowed in (False, True):
        security = ClientSecurity(
            CLIENT_TITLE,
            Secret(BLOCK_CIPHER_KEY),
            Secret(AUTHENTICATION_KEY),
            allow_repeated_counters=allowed,
        )
        receiving = security.make_context()
        receiving.peer_system_title = SERVER_TITLE
        sender = SecurityContext(
            system_title=SERVER_TITLE,
            block_cipher_key=BLOCK_CIPHER_KEY,
            authentication_key=AUTHENTICATION_KEY,
        )
        sender.advance_invocation_counter(5)
        answer = sender.protect(bytes.fromhex("C401C1000600000001"))
        assert receiving.unprotect(answer)[0] == 0xC4
        if allowed:
            assert receiving.unprotect(answer)[0] == 0xC4  # the same counter again
        else:
            with pytest.raises(ReplayError):
                receiving.unprotect(answer)
        store = security.counter_store
        assert store.last_received(SERVER_TITLE, receiving.key_identity()) == 5
        older = SecurityContext(
            system_title=SERVER_TITLE,
            block_cipher_key=BLOCK_CIPHER_KEY,
            authentication_key=AUTHENTICATION_KEY,
        )
        older.advance_invocation_counter(3)
        with pytest.raises(ReplayError):
            receiving.unprotect(older.protect(bytes.fromhex("C401C1000600000001")))


def test_counters_never_go_down() -> None:
    store = MemoryInvocationCounterStore()
    security = client_security(store=store)
    context = security.make_context()
    context.advance_invocation_counter(100)
    context.advance_invocation_counter(50)
    assert context.next_invocation_counter() == 100


def test_frame_counter_read_on_the_public_association_then_continue() -> None:
    """Behaviour 5 without IO: read 0.0.43.1.0.255 on client 16 without security, advance
    the shared store, then associate ciphered from there."""
    from asyncdlms.security.counters import frame_counter_obis

    server_store = MemoryInvocationCounterStore()
    server_store.advance(SERVER_TITLE, UNICAST, 7)
    # the meter has seen client counters up to 4000 (another head-end before us)
    server_store.accept_received(CLIENT_TITLE, UNICAST, 4000)
    objects = table()
    objects.add(1, frame_counter_obis(0), {2: DoubleLongUnsigned(4000)})
    server = ciphered_server(SecurityPolicy.AUTHENTICATED_ENCRYPTION, store=server_store)
    public = Pair("wrapper", ClientSettings(), server, objects, client_address=16)
    public.associate()
    value = public.result(public.client.get(CosemAttributeDescriptor(1, frame_counter_obis(0), 2)))
    public.client.release(0.0)
    public.run()
    store = MemoryInvocationCounterStore()
    security = client_security(store=store)
    security.make_context().advance_invocation_counter(next_invocation_counter(value))
    pair = Pair("wrapper", ciphered_client(security=security), server, objects, client_address=18)
    pair.associate()
    assert pair.client.invocation_counter_retries == 0  # no counter error needed
    assert pair.result(pair.client.get(CosemAttributeDescriptor(3, REGISTER, 2))) == 42


# -- configuration ----------------------------------------------------------------------------


def test_no_key_in_any_repr() -> None:
    security = client_security(dedicated=True)
    settings_ = ciphered_client(security=security)
    texts = [repr(security), repr(settings_), repr(security.make_context()), str(security)]
    texts.append(repr(server_security(SecurityPolicy.AUTHENTICATED_ENCRYPTION)))
    for text in texts:
        for key in (BLOCK_CIPHER_KEY, AUTHENTICATION_KEY):
            assert key.hex() not in text.lower()
            assert repr(key) not in text


def test_configuration_errors() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        ClientSecurity(CLIENT_TITLE, Secret(b"short"), Secret(AUTHENTICATION_KEY))
    with pytest.raises(ValueError, match="8 bytes"):
        ClientSecurity(b"short", Secret(BLOCK_CIPHER_KEY), Secret(AUTHENTICATION_KEY))
    with pytest.raises(ValueError, match="unknown security"):
        client_security("strong")
    with pytest.raises(ValueError, match="needs an encrypting"):
        client_security("auth", dedicated=True)
    with pytest.raises(ValueError, match="HLS-GMAC needs"):
        AssociationPolicy(MechanismName.HIGH_GMAC)
    hex_keys = ClientSecurity(
        CLIENT_TITLE.hex(),  # type: ignore[arg-type]
        BLOCK_CIPHER_KEY.hex(),  # type: ignore[arg-type]
        AUTHENTICATION_KEY.hex(),  # type: ignore[arg-type]
        "auth",  # type: ignore[arg-type]
    )
    assert hex_keys.system_title == CLIENT_TITLE
    assert hex_keys.policy is SecurityPolicy.AUTHENTICATION_ONLY
    policy = AssociationPolicy(security=server_security(SecurityPolicy.ENCRYPTION_ONLY))
    assert policy.application_context_name is ApplicationContextName.LOGICAL_NAME_WITH_CIPHERING


def test_association_state_after_a_rejected_ciphered_aarq() -> None:
    pair = Pair(
        "wrapper",
        ciphered_client(security=client_security("auth")),
        ciphered_server(SecurityPolicy.AUTHENTICATED_ENCRYPTION),  # wants more than auth
        table(),
        client_address=18,
    )
    pair.client.associate(0.0)
    pair.run()
    assert pair.client.state in (AssociationState.CLOSED, AssociationState.DISCONNECTING)
    assert pair.server.rejected_associations == 1


# -- more shapes ------------------------------------------------------------------------------


def test_hls_gmac_pass3_counter_precedes_the_action_counter() -> None:
    """As gurux-dlms does: the GMAC of pass 3 takes counter n, the glo-action-request that
    carries it n + 1 (the AARQ took the counter before)."""
    pair = Pair(
        "wrapper",
        ciphered_client(),
        ciphered_server(SecurityPolicy.AUTHENTICATED_ENCRYPTION),
        table(),
        client_address=18,
    )
    pair.client.associate(0.0)
    aarq = pair.client.data_to_send()
    pair.server.receive_data(aarq, 0.0)
    pair.client.receive_data(pair.server.data_to_send(), 0.0)
    pass3 = pair.client.data_to_send()
    assert pass3[8] == 0xCB  # glo-action-request
    action_counter = int.from_bytes(pass3[11:15], "big")
    reader = SecurityContext(
        system_title=SERVER_TITLE,
        block_cipher_key=BLOCK_CIPHER_KEY,
        authentication_key=AUTHENTICATION_KEY,
        peer_system_title=CLIENT_TITLE,
    )
    plain = reader.unprotect(pass3[8:])
    gmac = plain[-17:]  # the octet-string value: SC 0x10 ‖ IC ‖ 12-byte tag
    assert gmac[0] == 0x10
    assert int.from_bytes(gmac[1:5], "big") == action_counter - 1
    pair.server.receive_data(pass3, 0.0)
    pair.client.receive_data(pair.server.data_to_send(), 0.0)
    pair.run()
    assert pair.client.associated


@pytest.mark.parametrize("mechanism", ["low", "gmac"])
def test_short_name_referencing_with_ciphering(mechanism: str) -> None:
    name, secret = MECHANISMS[mechanism]
    sn_conformance = Conformance(0x1C1320)
    security = server_security(SecurityPolicy.AUTHENTICATED_ENCRYPTION)
    server = ServerSettings(
        policies={
            18: AssociationPolicy(
                name,
                None if secret is None else Secret(secret),
                application_context_name=ApplicationContextName.SHORT_NAME,
                conformance=sn_conformance,
                security=security,
            )
        },
        system_title=SERVER_TITLE,
    )
    client = ciphered_client(
        name,
        secret,
        logical_name_referencing=False,
        proposed_conformance=sn_conformance,
    )
    pair = Pair("wrapper", client, server, table(200), client_address=18)
    pair.associate()
    assert pair.result(pair.client.read(0x3008)) == 42
    assert pair.result(pair.client.read(0x4008)) == bytes(i & 0xFF for i in range(200))
    pair.result(pair.client.write(0x4008, OctetString(b"sn")))
    assert pair.result(pair.client.read(0x4008)) == b"sn"
    assert pair.server.deciphering_failures == 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(garbage=st.binary(min_size=1, max_size=80), tag=st.sampled_from([0xC8, 0xD0, 0xDB, 0xC0]))
def test_garbage_ciphered_requests_never_raise_and_never_serve(garbage: bytes, tag: int) -> None:
    pair = ciphered_pair("wrapper", "ae", "low", size=10)
    served = pair.server.requests_served
    apdu = bytes((tag,)) + garbage
    pair.server.receive_data(bytes((0, 1, 0, 18, 0, 1)) + len(apdu).to_bytes(2, "big") + apdu, 0.0)
    back = pair.server.data_to_send()
    assert back[8] == ApduTag.EXCEPTION_RESPONSE
    assert pair.server.requests_served == served


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(position=st.integers(0, 200), flip=st.integers(1, 255))
def test_any_tampered_answer_is_a_typed_error_never_a_value(position: int, flip: int) -> None:
    pair = ciphered_pair("wrapper", "ae", "low", size=10)
    request_id = pair.client.get(CosemAttributeDescriptor(3, REGISTER, 2))
    pair.server.receive_data(pair.client.data_to_send(), 0.0)
    answer = bytearray(pair.server.data_to_send())
    index = 10 + position % (len(answer) - 10)  # inside the ciphered APDU, past its length
    answer[index] ^= flip
    pair.client.receive_data(bytes(answer), 0.0)
    pair.client_events += pair.client.events()
    failed = [e for e in pair.client_events if getattr(e, "request_id", None) == request_id]
    assert failed and not hasattr(failed[0], "result")
    assert isinstance(failed[0].error, DecipheringError)


@pytest.mark.parametrize("duplicate", ["aare", "aarq"])
def test_a_duplicated_aare_or_aarq_during_hls_does_not_end_the_association(
    duplicate: str,
) -> None:
    """Found by the fault proxy (a line that repeats frames): a repeated AARE while HLS pass 3
    waits is no answer to pass 3 (the client drops it); a repeated AARQ gets the same AARE
    again from the server (re-evaluated, its counter would be a replay and end the pending
    association), which the client drops likewise."""
    name, secret = MECHANISMS["gmac"]
    pair = Pair(
        "wrapper",
        ciphered_client(name, secret, client_security("ae")),
        ciphered_server(POLICIES["ae"], name, secret),
        table(),
        client_address=18,
    )
    pair.client.associate(0.0)
    aarq = pair.client.data_to_send()
    pair.server.receive_data(aarq, 0.0)
    aare = pair.server.data_to_send()
    if duplicate == "aarq":
        pair.server.receive_data(aarq, 0.0)
        again = pair.server.data_to_send()
        assert again == aare
        aare += again
    else:
        aare += aare
    pair.client.receive_data(aare, 0.0)
    pair.run()
    assert any(isinstance(e, AssociationEstablished) for e in pair.client_events)
    assert not any(isinstance(e, AssociationReleased) for e in pair.client_events)
    assert pair.client.unexpected_apdus == 1
    assert pair.server.duplicate_aarqs == (duplicate == "aarq")
    assert pair.result(pair.client.get(CosemAttributeDescriptor(3, REGISTER, 2))) == 42
