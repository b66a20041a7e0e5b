"""HLS-GMAC (mechanism 5) in security suites 1 and 2: the security control byte of the pass 3
and pass 4 values names the suite (0x11 / 0x12), suite 2 uses 32-byte keys (AES-GCM-256
GMAC); our client against our simulator in both suites, every policy, both links; the
values checked against ``cryptography`` directly, and a value of another suite refused."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from asyncdlms.apdu.acse import MechanismName
from asyncdlms.errors import AssociationRejectedError, AuthenticationError, EncodeError
from asyncdlms.security.ciphering import SecurityContext, SecurityPolicy
from asyncdlms.security.gmac import (
    gmac_authentication_value,
    gmac_security_control,
    verify_gmac_authentication_value,
)
from asyncdlms.server import Simulator
from asyncdlms.session.server import AssociationPolicy, ServerSecurity
from asyncdlms.session.settings import ClientSecurity, security_policy

CLIENT_TITLE = bytes.fromhex("4D4D4D0000000001")
METER_TITLE = bytes.fromhex("4D4D4D0000BC614E")
CHALLENGE = bytes.fromhex("503677524A323146")


def _keys(suite: int) -> tuple[bytes, bytes]:
    size = 32 if suite == 2 else 16
    return bytes(range(size)), bytes(range(0xD0 - size, 0xD0))


@pytest.mark.parametrize("suite", [0, 1, 2])
def test_gmac_value_names_the_suite_and_matches_aes_gcm(suite: int) -> None:
    ek, ak = _keys(suite)
    value = gmac_authentication_value(ek, ak, CLIENT_TITLE, 7, CHALLENGE, suite)
    sc = 0x10 | suite
    assert value[0] == sc == gmac_security_control(suite)
    assert value[1:5] == (7).to_bytes(4, "big")
    # the tag independently: AES-GCM(-256 for suite 2) over nothing, AAD = SC ‖ AK ‖ challenge
    tag = AESGCM(ek).encrypt(CLIENT_TITLE + value[1:5], b"", bytes((sc,)) + ak + CHALLENGE)
    assert value[5:] == tag[:12]
    assert verify_gmac_authentication_value(ek, ak, CLIENT_TITLE, value, CHALLENGE, suite) == 7


def test_suite_0_keeps_the_green_book_value() -> None:
    ek = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
    ak = bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
    value = gmac_authentication_value(ek, ak, CLIENT_TITLE, 1, CHALLENGE)
    assert value.hex().upper() == "1000000001" + "1A52FE7DD3E72748973C1E28"


def test_a_value_of_another_suite_is_refused() -> None:
    ek, ak = _keys(1)
    suite_0 = gmac_authentication_value(ek, ak, CLIENT_TITLE, 3, CHALLENGE, 0)
    suite_1 = gmac_authentication_value(ek, ak, CLIENT_TITLE, 3, CHALLENGE, 1)
    assert suite_0[5:] != suite_1[5:]  # the suite id is authenticated
    with pytest.raises(AuthenticationError, match=r"security control 0x11.*another security suite"):
        verify_gmac_authentication_value(ek, ak, CLIENT_TITLE, suite_0, CHALLENGE, 1)
    forged = bytes((0x11,)) + suite_0[1:]  # SC rewritten, tag of suite 0
    with pytest.raises(AuthenticationError, match="tag mismatch"):
        verify_gmac_authentication_value(ek, ak, CLIENT_TITLE, forged, CHALLENGE, 1)


def test_key_lengths_follow_the_suite() -> None:
    short, _ = _keys(1)
    long, long_ak = _keys(2)
    with pytest.raises(EncodeError, match="security suite 2 is 32 bytes, not 16"):
        gmac_authentication_value(short, long_ak, CLIENT_TITLE, 1, CHALLENGE, 2)
    with pytest.raises(EncodeError, match="authentication key of security suite 2 is 32"):
        gmac_authentication_value(long, short, CLIENT_TITLE, 1, CHALLENGE, 2)
    with pytest.raises(EncodeError, match="security suite 1 is 16 bytes, not 32"):
        gmac_authentication_value(long, short, CLIENT_TITLE, 1, CHALLENGE, 1)
    with pytest.raises(EncodeError, match="suite 3 does not exist"):
        gmac_authentication_value(short, short, CLIENT_TITLE, 1, CHALLENGE, 3)


@pytest.mark.parametrize("suite", [1, 2])
def test_security_contexts_of_both_roles_agree(suite: int) -> None:
    ek, ak = _keys(suite)

    def context(own: bytes, peer: bytes, suite: int) -> SecurityContext:
        return SecurityContext(
            system_title=own,
            block_cipher_key=ek,
            authentication_key=ak,
            peer_system_title=peer,
            policy=SecurityPolicy.AUTHENTICATED_ENCRYPTION,
            suite=suite,
        )

    client = context(CLIENT_TITLE, METER_TITLE, suite)
    meter = context(METER_TITLE, CLIENT_TITLE, suite)
    pass3 = client.hls_gmac(CHALLENGE)
    assert pass3[0] == 0x10 | suite
    meter.verify_hls_gmac(pass3, CHALLENGE)
    pass4 = meter.hls_gmac(b"CtoS-challenge")
    client.verify_hls_gmac(pass4, b"CtoS-challenge")
    if suite == 1:  # same keys, suite 0: the SC differs, refused
        other = context(METER_TITLE, CLIENT_TITLE, 0)
        with pytest.raises(AuthenticationError, match="security control 0x10"):
            other.verify_hls_gmac(pass3, CHALLENGE)


CASES = [
    (suite, policy, interface)
    for suite in (1, 2)
    for policy in ("none", "auth", "enc", "ae")
    for interface in ("wrapper", "hdlc")
]


@pytest.mark.parametrize(("suite", "policy", "interface"), CASES)
async def test_our_client_and_simulator_associate_with_hls_gmac(
    suite: int, policy: str, interface: str
) -> None:
    ek, ak = _keys(suite)
    server = ServerSecurity(ek, ak, security_policy(policy), suite=suite)  # type: ignore[arg-type]
    associations = {
        16: AssociationPolicy(),
        1: AssociationPolicy(MechanismName.HIGH_GMAC, security=server),
    }
    security = ClientSecurity(CLIENT_TITLE, ek, ak, policy, suite=suite)  # type: ignore[arg-type]
    async with Simulator(
        meters=1,
        interface=interface,  # type: ignore[arg-type]
        associations=associations,
    ) as sim:
        for _ in range(2):
            async with sim.connect(0, client=1, auth="gmac", security=security) as meter:
                name = await meter.get(1, "0.0.42.0.0.255", 2)
                assert name == b"ADS" + f"{sim.meters[0].serial_number:013d}".encode()
        assert sim.associations_established == 2
        # a suite 0 client with the same keys is refused: in pass 3 (its SC 0x10) when the
        # AARQ is plain, at the AARQ when its user-information is ciphered with SC 0x3x
        if suite == 1:
            wrong = ClientSecurity(CLIENT_TITLE, ek, ak, policy, suite=0)  # type: ignore[arg-type]
            refusal = AuthenticationError if policy == "none" else AssociationRejectedError
            with pytest.raises(refusal):
                async with sim.connect(0, client=1, auth="gmac", security=wrong):
                    pass
