"""The Security setup object (class 64 version 1) of the simulator through our client: its
attributes, export of the meter's certificate, a new key pair with a certificate request
signed by the CA and imported, removal of the client's certificate, key transfer of 32-byte
suite 2 keys, and refusals (a certificate of another CA)."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.keywrap import aes_key_wrap

from asyncdlms.aio.security_setup import SecuritySetupClient
from asyncdlms.cosem.security_setup import (
    CertificateEntity,
    CertificateType,
    KeyId,
    KeyPair,
    SecurityPolicyFlags,
    SecuritySuite,
)
from asyncdlms.errors import ActionError, AssociationRejectedError, AuthenticationError
from asyncdlms.security.certificates import KeyStore, KeyUsage
from asyncdlms.server.security_setup import SimulatedSecurity
from tests.security.pki import Authority, key

from .test_suites_hls import CLIENT_TITLE, _keys, make_setup

MASTER_KEY = bytes(range(200, 232))


async def test_attributes_and_export_of_the_meter_certificate() -> None:
    setup = make_setup(1, "auth")
    async with setup.simulator(meters=2) as sim:
        security = setup.client_security(sim, index=1)
        async with sim.connect(1, client=18, auth="ecdsa", security=security) as meter:
            setup_object = SecuritySetupClient(meter)
            attributes = await setup_object.read()
            assert attributes.security_policy == (
                SecurityPolicyFlags.AUTHENTICATED_REQUEST
                | SecurityPolicyFlags.AUTHENTICATED_RESPONSE
            )
            assert attributes.security_suite is SecuritySuite.ECDH_ECDSA_AES_GCM_128_SHA_256
            assert attributes.client_system_title == CLIENT_TITLE
            assert attributes.server_system_title == sim.meter_system_title(1)
            listed = await setup_object.certificates()
            entities = [(info.certificate_entity, info.certificate_type) for info in listed]
            assert entities == [
                (CertificateEntity.SERVER, CertificateType.DIGITAL_SIGNATURE),
                (CertificateEntity.SERVER, CertificateType.KEY_AGREEMENT),
                (CertificateEntity.CLIENT, CertificateType.DIGITAL_SIGNATURE),
                (CertificateEntity.CERTIFICATION_AUTHORITY, CertificateType.OTHER),
            ]
            assert listed[2].subject == f"CN={CLIENT_TITLE.hex().upper()}".encode()
            exported = await setup_object.export_certificate(
                CertificateEntity.SERVER,
                CertificateType.DIGITAL_SIGNATURE,
                sim.meter_system_title(1),
            )
            assert exported == sim.meter_certificate(1)
            by_serial = await setup_object.export_certificate_by_serial(
                listed[1].serial_number_int, listed[1].issuer
            )
            assert by_serial == sim.meter_certificate(1, KeyUsage.KEY_AGREEMENT)
            with pytest.raises(ActionError):
                await setup_object.export_certificate(
                    CertificateEntity.SERVER, CertificateType.DIGITAL_SIGNATURE, bytes(8)
                )
            await setup_object.security_activate(0x6C)
            assert (await setup_object.read()).security_policy == 0x6C


async def test_new_key_pair_certificate_request_and_import() -> None:
    setup = make_setup(2, "ae")
    async with setup.simulator() as sim:
        title = sim.meter_system_title(0)
        old_certificate = sim.meter_certificate(0)
        security = setup.client_security(sim)
        async with sim.connect(0, client=18, auth="ecdsa", security=security) as meter:
            setup_object = SecuritySetupClient(meter)
            await setup_object.generate_key_pair(KeyPair.DIGITAL_SIGNATURE)
            request = await setup_object.generate_certificate_request(KeyPair.DIGITAL_SIGNATURE)
            assert request.is_signature_valid
            assert request.subject.rfc4514_string() == f"CN={title.hex().upper()}"
        # the meter signs with its new key: the old certificate no longer verifies it
        with pytest.raises(AuthenticationError, match="pass 4 failed"):
            async with sim.connect(0, client=18, auth="ecdsa", security=security):
                pass
        # the CA (the test holds its key) issues a certificate for the request
        new_certificate = (
            x509.CertificateBuilder()
            .subject_name(request.subject)
            .issuer_name(setup.keys.ca_certificate.subject)
            .public_key(request.public_key())
            .serial_number(77)
            .not_valid_before(old_certificate.not_valid_before_utc)
            .not_valid_after(old_certificate.not_valid_after_utc)
            .add_extension(
                request.extensions.get_extension_for_class(x509.KeyUsage).value, critical=True
            )
            .sign(setup.keys.ca_key, old_certificate.signature_hash_algorithm)  # type: ignore[arg-type]
        )
        store = KeyStore(authorities=[setup.keys.ca_certificate])
        store.set_private_key(setup.client_key)
        store.add_certificate(new_certificate)
        renewed = setup.client_security(sim, store=store)
        async with sim.connect(0, client=18, auth="ecdsa", security=renewed) as meter:
            setup_object = SecuritySetupClient(meter)
            await setup_object.import_certificate(new_certificate)
            exported = await setup_object.export_certificate(
                CertificateEntity.SERVER, CertificateType.DIGITAL_SIGNATURE, title
            )
            assert exported == new_certificate == sim.meter_certificate(0)
            # a certificate of another CA is refused by the meter
            foreign = Authority.make(2).issue(
                key(2).public_key(), bytes.fromhex("4142430000000002")
            )
            with pytest.raises(ActionError):
                await setup_object.import_certificate(foreign)
            der = exported.public_bytes(serialization.Encoding.DER)
            assert der == new_certificate.public_bytes(serialization.Encoding.DER)


async def test_removing_the_client_certificate_locks_the_client_out() -> None:
    setup = make_setup(1, "none")
    async with setup.simulator() as sim:
        security = setup.client_security(sim)
        async with sim.connect(0, client=18, auth="ecdsa", security=security) as meter:
            await SecuritySetupClient(meter).remove_certificate(
                CertificateEntity.CLIENT, CertificateType.DIGITAL_SIGNATURE, CLIENT_TITLE
            )
        with pytest.raises(AssociationRejectedError, match="calling-AP-title"):
            async with sim.connect(0, client=18, auth="ecdsa", security=security):
                pass


async def test_key_transfer_of_32_byte_keys_takes_effect_at_the_next_association() -> None:
    setup = make_setup(2, "ae")
    setup.keys = SimulatedSecurity(
        2,
        client_certificates=setup.keys.client_certificates,
        master_key=MASTER_KEY,
        clock=setup.keys.clock,
    )
    new_ek, new_ak = bytes(range(50, 82)), bytes(range(150, 182))
    async with setup.simulator() as sim:
        security = setup.client_security(sim)
        async with sim.connect(0, client=18, auth="ecdsa", security=security) as meter:
            await SecuritySetupClient(meter).key_transfer(
                [
                    (KeyId.GLOBAL_UNICAST_ENCRYPTION_KEY, aes_key_wrap(MASTER_KEY, new_ek)),
                    (KeyId.AUTHENTICATION_KEY, aes_key_wrap(MASTER_KEY, new_ak)),
                ]
            )
            with pytest.raises(ActionError):  # wrapped with another master key
                await SecuritySetupClient(meter).key_transfer(
                    [(KeyId.AUTHENTICATION_KEY, aes_key_wrap(bytes(32), new_ak))]
                )
        with pytest.raises(AssociationRejectedError):  # the old keys no longer work
            async with sim.connect(0, client=18, auth="ecdsa", security=security):
                pass
        store = security.key_store
        assert store is not None and _keys(2)[0] != new_ek
        renewed = type(security)(
            CLIENT_TITLE,
            new_ek,
            new_ak,
            "ae",
            suite=2,
            key_store=store,  # type: ignore[arg-type]
        )
        async with sim.connect(0, client=18, auth="ecdsa", security=renewed) as meter:
            assert await meter.get(1, "0.0.42.0.0.255", 2)


@pytest.mark.parametrize("suite", [1, 2])
async def test_key_agreement_c2e0s_gives_both_sides_the_same_new_keys(suite: int) -> None:
    setup = make_setup(suite, "ae")
    async with setup.simulator() as sim:
        security = setup.client_security(sim)
        store = security.key_store
        assert store is not None
        async with sim.connect(0, client=18, auth="ecdsa", security=security) as meter:
            agreed = await SecuritySetupClient(meter).key_agreement(
                [KeyId.GLOBAL_UNICAST_ENCRYPTION_KEY, KeyId.AUTHENTICATION_KEY],
                suite=suite,
                key_store=store,
                client_system_title=CLIENT_TITLE,
                server_system_title=sim.meter_system_title(0),
            )
        ek = agreed[KeyId.GLOBAL_UNICAST_ENCRYPTION_KEY].value
        ak = agreed[KeyId.AUTHENTICATION_KEY].value
        assert len(ek) == len(ak) == (32 if suite == 2 else 16)
        assert ek != ak and ek not in _keys(suite)
        with pytest.raises(AssociationRejectedError):  # the meter uses the agreed keys now
            async with sim.connect(0, client=18, auth="ecdsa", security=security):
                pass
        renewed = type(security)(
            CLIENT_TITLE,
            ek,
            ak,
            "ae",
            suite=suite,
            key_store=store,  # type: ignore[arg-type]
        )
        async with sim.connect(0, client=18, auth="ecdsa", security=renewed) as meter:
            assert await meter.get(1, "0.0.42.0.0.255", 2)


async def test_key_agreement_with_an_offer_signed_by_another_key_is_denied() -> None:
    setup = make_setup(1, "none")
    async with setup.simulator() as sim:
        security = setup.client_security(sim)
        impostor = KeyStore()
        impostor.set_private_key(key(1))  # not the key of our certificate at the meter
        impostor.add_certificate(sim.meter_certificate(0))
        async with sim.connect(0, client=18, auth="ecdsa", security=security) as meter:
            with pytest.raises(ActionError, match="read-write-denied"):
                await SecuritySetupClient(meter).key_agreement(
                    [KeyId.AUTHENTICATION_KEY],
                    suite=1,
                    key_store=impostor,
                    client_system_title=CLIENT_TITLE,
                    server_system_title=sim.meter_system_title(0),
                )
