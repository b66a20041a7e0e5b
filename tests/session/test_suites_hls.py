"""Our client against our simulator with HLS-ECDSA (mechanism 7) in security suites 1 and 2,
under every ciphering policy, over the wrapper and HDLC; the refusals of both sides (a
tampered signature, a wrong, expired or foreign certificate, a key on the wrong curve, an
unknown system title); and suite 2 (AES-GCM-256) checked on the wire with ``cryptography``."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from asyncdlms.errors import AssociationRejectedError, AuthenticationError, CertificateError
from asyncdlms.security.certificates import KeyStore, make_certificate
from asyncdlms.server import Simulator
from asyncdlms.server.security_setup import SimulatedSecurity
from asyncdlms.session.server import AssociationPolicy
from asyncdlms.session.settings import ClientSecurity, ClientSettings, security_policy
from tests.security.pki import NOW, Authority, key
from tests.security.wire import WireTap

CLIENT_TITLE = bytes.fromhex("4142430000000001")
LOGICAL_DEVICE_NAME = "0.0.42.0.0.255"
POLICIES = ["none", "auth", "enc", "ae"]


def _keys(suite: int) -> tuple[bytes, bytes]:
    size = 32 if suite == 2 else 16
    return bytes(range(size)), bytes(range(100, 100 + size))


@dataclass
class Setup:
    """A simulator whose meters trust our client's certificate, and our client's security."""

    suite: int
    keys: SimulatedSecurity
    client_key: ec.EllipticCurvePrivateKey
    policy: str
    moment: list[float]
    """The meters' clock (for certificate validity), settable by the test."""

    def simulator(self, **options: Any) -> Simulator:
        ek, ak = _keys(self.suite)
        associations = {
            16: AssociationPolicy(),
            18: self.keys.ecdsa_policy(ek, ak, security_policy(self.policy)),
        }
        return Simulator(associations=associations, security_keys=self.keys, **options)

    def client_security(
        self, sim: Simulator, *, index: int = 0, store: KeyStore | None = None
    ) -> ClientSecurity:
        if store is None:
            store = KeyStore(authorities=[self.keys.ca_certificate])
            store.set_private_key(self.client_key)
            store.add_certificate(sim.meter_certificate(index))
        ek, ak = _keys(self.suite)
        return ClientSecurity(
            CLIENT_TITLE,
            ek,
            ak,
            self.policy,
            suite=self.suite,
            key_store=store,  # type: ignore[arg-type]
        )


def make_setup(
    suite: int,
    policy: str = "ae",
    *,
    client_key: ec.EllipticCurvePrivateKey | None = None,
    registered_key: ec.EllipticCurvePublicKey | None = None,
    not_after: datetime.datetime | None = None,
) -> Setup:
    """``registered_key``: the key the meters' certificate of our client holds (by default
    our own); ``not_after``: the end of its validity."""
    client_key = client_key or key(suite)
    ca = SimulatedSecurity(suite)  # the same seed: the same CA as the meters'
    certificate = make_certificate(
        registered_key or client_key.public_key(),
        issuer_key=ca.ca_key,
        issuer=ca.ca_certificate,
        system_title=CLIENT_TITLE,
        not_before=NOW - datetime.timedelta(days=1),
        not_after=not_after,
    )
    moment = [NOW.timestamp()]
    keys = SimulatedSecurity(suite, client_certificates=[certificate], clock=lambda: moment[0])
    return Setup(suite, keys, client_key, policy, moment)


CASES = [
    (suite, policy, interface)
    for suite in (1, 2)
    for policy in POLICIES
    for interface in ("wrapper", "hdlc")
]


@pytest.mark.parametrize(("suite", "policy", "interface"), CASES)
async def test_hls_ecdsa_associates_in_every_suite_policy_and_link(
    suite: int, policy: str, interface: str
) -> None:
    setup = make_setup(suite, policy)
    async with setup.simulator(meters=2, interface=interface) as sim:  # type: ignore[arg-type]
        security = setup.client_security(sim, index=1)
        async with sim.connect(1, client=18, auth="ecdsa", security=security) as meter:
            name = await meter.get(1, LOGICAL_DEVICE_NAME, 2)
            assert name == b"ADS" + f"{sim.meters[1].serial_number:013d}".encode()
            await meter.set(8, "0.0.1.0.0.255", 2, await meter.get(8, "0.0.1.0.0.255", 2))
        # the same client, meter 0, whose certificate it does not have: refused before pass 3
        unknown = r"no signing certificate .* for system title"
        with pytest.raises(AuthenticationError, match=unknown):
            async with sim.connect(0, client=18, auth="ecdsa", security=security):
                pass


async def test_a_meter_with_another_key_than_its_certificate_is_refused_by_the_client() -> None:
    setup = make_setup(1)
    async with setup.simulator() as sim:
        # a certificate for the meter's system title, from the right CA, with another key
        impostor = make_certificate(
            key(1).public_key(),
            issuer_key=setup.keys.ca_key,
            issuer=setup.keys.ca_certificate,
            system_title=sim.meter_system_title(0),
        )
        store = KeyStore(authorities=[setup.keys.ca_certificate])
        store.set_private_key(setup.client_key)
        store.add_certificate(impostor)
        security = setup.client_security(sim, store=store)
        with pytest.raises(AuthenticationError, match="pass 4 failed: the meter's signature"):
            async with sim.connect(0, client=18, auth="ecdsa", security=security):
                pass


async def test_a_client_signing_with_another_key_is_refused_by_the_meter() -> None:
    setup = make_setup(2, registered_key=key(2).public_key())  # the meter knows another key
    async with setup.simulator() as sim:
        with pytest.raises(AuthenticationError, match="HLS pass 3 was refused"):
            async with sim.connect(0, client=18, auth="ecdsa", security=setup.client_security(sim)):
                pass
        # the meter counted the failed pass 3 and no association is left open
        assert sim.associations_established == 0


async def test_an_expired_client_certificate_is_refused_at_the_aarq() -> None:
    setup = make_setup(1, not_after=NOW + datetime.timedelta(days=2))
    async with setup.simulator() as sim:
        security = setup.client_security(sim)
        async with sim.connect(0, client=18, auth="ecdsa", security=security):
            pass
        setup.moment[0] += 3 * 86400
        with pytest.raises(AssociationRejectedError, match="calling-AP-title"):
            async with sim.connect(0, client=18, auth="ecdsa", security=security):
                pass


async def test_an_unknown_client_system_title_is_refused_at_the_aarq() -> None:
    setup = make_setup(1)
    async with setup.simulator() as sim:
        ek, ak = _keys(1)
        store = KeyStore()
        store.set_private_key(setup.client_key)
        store.add_certificate(sim.meter_certificate(0))
        stranger = ClientSecurity(
            bytes.fromhex("4142430000000099"),
            ek,
            ak,
            "ae",
            suite=1,
            key_store=store,  # type: ignore[arg-type]
        )
        with pytest.raises(AssociationRejectedError, match="calling-AP-title"):
            async with sim.connect(0, client=18, auth="ecdsa", security=stranger):
                pass


async def test_wrong_curve_is_refused_on_both_sides() -> None:
    setup = make_setup(1)
    async with setup.simulator() as sim:
        # the client holds a P-384 key where suite 1 needs P-256: refused before connecting
        ek, ak = _keys(1)
        store = KeyStore()
        store.set_private_key(key(2))
        wrong_curve = ClientSecurity(CLIENT_TITLE, ek, ak, "ae", suite=1, key_store=store)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="signing key of security suite 1"):
            sim.connect(0, client=18, auth="ecdsa", security=wrong_curve)
        # a suite 2 client against the suite 1 meter: the meter refuses the suite of its APDUs
        ek2, ak2 = _keys(2)
        store2 = KeyStore()
        store2.set_private_key(key(2))
        with pytest.raises(CertificateError, match="security suite 2 uses secp384r1"):
            store2.add_certificate(sim.meter_certificate(0), suite=2)
        store2.add_certificate(sim.meter_certificate(0))  # filed under suite 1
        security2 = ClientSecurity(CLIENT_TITLE, ek2, ak2, "ae", suite=2, key_store=store2)  # type: ignore[arg-type]
        with pytest.raises(AssociationRejectedError):
            async with sim.connect(0, client=18, auth="ecdsa", security=security2):
                pass
    # the meters refuse a client certificate on the other curve when they load it
    ca = SimulatedSecurity(1)
    p384 = Authority.make(2).issue(key(2).public_key(), CLIENT_TITLE)
    with pytest.raises(CertificateError, match="secp384r1, security suite 1"):
        SimulatedSecurity(1, client_certificates=[p384]).meter(0, bytes(8))
    assert ca.suite == 1


async def test_a_client_certificate_from_another_ca_is_refused_by_the_meters() -> None:
    foreign = Authority.make(1).issue(key(1).public_key(), CLIENT_TITLE)
    with pytest.raises(CertificateError, match="none of the CA certificates"):
        SimulatedSecurity(1, client_certificates=[foreign]).meter(0, bytes(8))


async def test_suite_2_apdus_seen_on_the_wire_decipher_with_aes_256() -> None:
    from asyncdlms import connect

    setup = make_setup(2, "ae")
    ek, ak = _keys(2)
    async with setup.simulator() as sim:
        host, port = sim.urls[0].split("://", 1)[1].rsplit(":", 1)
        async with WireTap(host, int(port), ek, ak) as tap:
            security = setup.client_security(sim)
            async with connect(tap.url, client=18, auth="ecdsa", security=security) as meter:
                for _ in range(3):
                    await meter.get(1, LOGICAL_DEVICE_NAME, 2)
    assert len(tap.deciphered) >= 8  # initiate request/response, pass 3/4, 3 GETs each way
    assert {control for control, _ in tap.deciphered} == {0x32}  # AE | suite 2
    plain_tags = {plain[0] for _, plain in tap.deciphered}
    assert {0x01, 0x08, 0xC0, 0xC4, 0xC3, 0xC7} <= plain_tags
    assert not tap.repeated()


@pytest.mark.parametrize("suite", [1, 2])
async def test_hls_ecdsa_with_short_name_referencing(suite: int) -> None:
    """Pass 3/4 go through reply_to_HLS_authentication of Association SN (method 8)."""
    from asyncdlms.server.simulator import short_name_associations

    setup = make_setup(suite, "ae")
    ek, ak = _keys(suite)
    associations = short_name_associations(
        {16: AssociationPolicy(), 18: setup.keys.ecdsa_policy(ek, ak)}
    )
    async with Simulator(
        associations=associations, security_keys=setup.keys, short_names=True
    ) as sim:
        security = setup.client_security(sim)
        async with sim.connect(
            0,
            client=18,
            auth="ecdsa",
            security=security,
            settings=ClientSettings.for_referencing("sn"),
        ) as meter:
            assert await meter.get(1, LOGICAL_DEVICE_NAME, 2)


async def test_hls_ecdsa_alone_needs_no_ciphering_keys_on_either_side() -> None:
    setup = make_setup(1)
    associations = {16: AssociationPolicy(), 18: setup.keys.ecdsa_policy(policy=None)}
    async with Simulator(associations=associations, security_keys=setup.keys) as sim:
        store = KeyStore(authorities=[setup.keys.ca_certificate])
        store.set_private_key(setup.client_key)
        store.add_certificate(sim.meter_certificate(0))
        security = ClientSecurity(CLIENT_TITLE, policy=None, suite=1, key_store=store)  # type: ignore[arg-type]
        assert not security.has_keys
        async with sim.connect(0, client=18, auth="ecdsa", security=security) as meter:
            assert await meter.get(1, LOGICAL_DEVICE_NAME, 2)
    with pytest.raises(ValueError, match="needs both the block cipher key"):
        ClientSecurity(CLIENT_TITLE, policy="ae", suite=1, key_store=store)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs both the block cipher key"):
        setup.keys.ecdsa_policy()  # ae without keys
