"""An association whose APDUs are all signed (general-signing, suites 1 and 2): our client
(``asyncdlms.connect`` with ``ClientSettings(protection=GeneralSigningProtection)``) against
our server session over TCP on loopback, and the refusals when a key is not the right one."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

import asyncdlms
from asyncdlms.aio.driver import Driver
from asyncdlms.apdu.acse import Aarq, ApplicationContextName
from asyncdlms.errors import AssociationError, DlmsError
from asyncdlms.obis import Obis
from asyncdlms.security.ciphering import SecurityContext
from asyncdlms.security.general import sign_apdu
from asyncdlms.security.signing_protection import GeneralSigningProtection
from asyncdlms.security.suites import SignatureError, generate_private_key
from asyncdlms.session import ClientSettings
from asyncdlms.session.object_access import ObjectTable
from asyncdlms.session.pipeline import ApduProtection
from asyncdlms.session.server import AssociationPolicy, ServerSession, ServerSettings
from asyncdlms.types import DoubleLongUnsigned, Enum, Integer, Structure
from asyncdlms.wrapper import WrapperConnection

REGISTER = Obis("1.0.1.8.0.255")
CLIENT = bytes.fromhex("4142434445464748")
METER = bytes.fromhex("4D4D4D0000BC614E")


class SigningMeter:
    """Our server session that signs its answers and requires signed requests from the
    clients whose public keys it knows (by calling-AP-title)."""

    def __init__(
        self,
        suite: int,
        clients: dict[bytes, ec.EllipticCurvePublicKey],
        context: ApplicationContextName = ApplicationContextName.LOGICAL_NAME,
    ) -> None:
        self.suite = suite
        self.policies = {16: AssociationPolicy(application_context_name=context)}
        self.key = generate_private_key(suite)
        self.clients = clients
        self.refused = 0

    def protection(self, policy: AssociationPolicy, aarq: Aarq) -> ApduProtection:
        return GeneralSigningProtection(
            system_title=METER,
            signing_key=self.key,
            peer_signing_key=self.clients.get,
            peer_system_title=aarq.calling_ap_title,
            suite=self.suite,
        )

    def factory(self) -> asyncio.Protocol:
        link = WrapperConnection(1, None, role="server")
        objects = ObjectTable()
        objects.add(3, REGISTER, {2: DoubleLongUnsigned(777), 3: Structure((Integer(0), Enum(30)))})
        settings = ServerSettings(policies=self.policies, protection_factory=self.protection)
        session = ServerSession(link, settings, objects)

        class Connected(Driver):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                link.connect(asyncio.get_running_loop().time())
                super().connection_made(transport)

        def progress() -> None:
            session.events()
            driver.flush()

        driver: Driver = Connected(session, on_progress=progress)
        return driver


async def serving(meter: SigningMeter, work: Callable[[str], Awaitable[None]]) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(meter.factory, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        async with asyncio.timeout(30):
            await work(f"tcp://127.0.0.1:{port}")


def client_settings(
    suite: int, key: ec.EllipticCurvePrivateKey, meter_key: ec.EllipticCurvePublicKey
) -> ClientSettings:
    def protection() -> ApduProtection:
        return GeneralSigningProtection(
            system_title=CLIENT,
            signing_key=key,
            peer_signing_key=meter_key,
            peer_system_title=METER,
            suite=suite,
        )

    return ClientSettings(client_system_title=CLIENT, protection=protection)


@pytest.mark.parametrize("suite", [1, 2])
async def test_a_signed_association_reads_a_register(suite: int) -> None:
    client_key = generate_private_key(suite)
    meter = SigningMeter(suite, {CLIENT: client_key.public_key()})

    async def work(url: str) -> None:
        settings = client_settings(suite, client_key, meter.key.public_key())
        async with asyncdlms.connect(url, settings=settings, timeout=10) as client:
            assert await client.get(3, REGISTER, 2) == 777
            assert await client.get(3, REGISTER, 2) == 777  # a fresh transaction-id each

    await serving(meter, work)


async def test_a_client_with_an_unknown_key_is_not_associated() -> None:
    meter = SigningMeter(1, {CLIENT: generate_private_key(1).public_key()})
    impostor = generate_private_key(1)

    async def work(url: str) -> None:
        settings = client_settings(1, impostor, meter.key.public_key())
        with pytest.raises(AssociationError):
            async with asyncdlms.connect(url, settings=settings, timeout=5):
                pass

    await serving(meter, work)


async def test_a_meter_with_another_key_is_refused_by_the_client() -> None:
    client_key = generate_private_key(1)
    meter = SigningMeter(1, {CLIENT: client_key.public_key()})
    expected_meter_key = generate_private_key(1).public_key()  # not the meter's

    async def work(url: str) -> None:
        settings = client_settings(1, client_key, expected_meter_key)
        with pytest.raises(AssociationError, match="signature does not verify") as raised:
            async with asyncdlms.connect(url, settings=settings, timeout=5):
                pass
        assert isinstance(raised.value.__cause__, SignatureError)

    await serving(meter, work)


def test_the_protection_refuses_unsigned_and_foreign_apdus() -> None:
    key, peer = generate_private_key(1), generate_private_key(1)
    protection = GeneralSigningProtection(
        system_title=CLIENT,
        signing_key=key,
        peer_signing_key=peer.public_key(),
        peer_system_title=METER,
        suite=1,
    )
    assert "****" in repr(protection) and not protection.ciphered
    get_response = bytes.fromhex("c401c1000600000309")
    with pytest.raises(DlmsError, match="unsigned"):
        protection.unprotect(get_response)
    assert protection.unprotect(b"\xd8\x01\x01") == b"\xd8\x01\x01"  # exception-response
    signed = sign_apdu(get_response, METER, CLIENT, peer, 1)
    assert protection.unprotect(signed) == get_response
    other = sign_apdu(get_response, bytes(8), CLIENT, peer, 1)
    with pytest.raises(DlmsError, match="not by the peer"):
        protection.unprotect(other)
    to_someone_else = sign_apdu(get_response, METER, bytes(8), peer, 1)
    with pytest.raises(DlmsError, match="addressed to"):
        protection.unprotect(to_someone_else)
    sent = protection.protect(b"\xc0\x01\xc1\x00\x03\x01\x00\x01\x08\x00\xff\x02\x00")
    assert sent[0] == 0xDF and len(sent) <= 13 + protection.overhead


async def test_ciphered_then_signed_around_a_security_context() -> None:
    """``inner``: the suite 0/1 AES-GCM ciphering of a SecurityContext first, then the
    signature (both ends give the peer's system title up front)."""
    guek, gak = bytes(range(16)), bytes(range(16, 32))
    client_key = generate_private_key(1)
    meter = SigningMeter(
        1, {CLIENT: client_key.public_key()}, ApplicationContextName.LOGICAL_NAME_WITH_CIPHERING
    )

    def ciphered_protection(policy: AssociationPolicy, aarq: Aarq) -> ApduProtection:
        inner = SecurityContext(
            system_title=METER,
            peer_system_title=aarq.calling_ap_title,
            block_cipher_key=guek,
            authentication_key=gak,
        )
        return GeneralSigningProtection(
            system_title=METER,
            signing_key=meter.key,
            peer_signing_key=meter.clients.get,
            peer_system_title=aarq.calling_ap_title,
            suite=1,
            inner=inner,
        )

    meter.protection = ciphered_protection  # type: ignore[method-assign]

    def protection() -> ApduProtection:
        inner = SecurityContext(
            system_title=CLIENT,
            peer_system_title=METER,
            block_cipher_key=guek,
            authentication_key=gak,
        )
        return GeneralSigningProtection(
            system_title=CLIENT,
            signing_key=client_key,
            peer_signing_key=meter.key.public_key(),
            peer_system_title=METER,
            suite=1,
            inner=inner,
        )

    async def work(url: str) -> None:
        settings = ClientSettings(client_system_title=CLIENT, protection=protection)
        async with asyncdlms.connect(url, settings=settings, timeout=10) as client:
            assert await client.get(3, REGISTER, 2) == 777

    await serving(meter, work)
