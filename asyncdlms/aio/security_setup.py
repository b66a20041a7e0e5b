"""Calling a meter's Security setup object (class 64, version 1) from a :class:`Client`:
read its policy, suite, system titles and certificate list, generate key pairs and
certificate requests, import, export and remove certificates, transfer keys.

>>> # async with asyncdlms.connect(url, client=18, ...) as meter:
>>> #     setup = SecuritySetupClient(meter)
>>> #     certificate = await setup.export_certificate(
>>> #         CertificateEntity.SERVER, CertificateType.DIGITAL_SIGNATURE, meter_title)

Certificates come back as ``cryptography`` X.509 objects; nothing here checks them against a
CA (put them in a :class:`~asyncdlms.security.certificates.KeyStore` for that).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ..cosem.security_setup import (
    CertificateEntity,
    CertificateInfo,
    CertificateType,
    KeyId,
    KeyPair,
    SecurityPolicyFlags,
    SecuritySetup,
    SecuritySetupMethod,
    certificate_identification_by_entity,
    certificate_identification_by_serial,
    certificates,
    key_pair_parameter,
    key_transfer_parameter,
)
from ..errors import CertificateError
from ..obis import Obis, ObisLike
from ..security.certificates import KeyStore, KeyUsage, load_certificate
from ..security.hls import Secret
from ..security.setup_key_agreement import derive_key, make_offer, read_offer
from ..security.suites import SecuritySuiteId
from ..types.values import Array, Enum, OctetString, Structure

if TYPE_CHECKING:
    from .client import Client

__all__ = ["SECURITY_SETUP_CLASS", "SecuritySetupClient"]

SECURITY_SETUP_CLASS = 64
"""Interface class id of Security setup."""


def _octets(value: object, what: str) -> bytes:
    if not isinstance(value, bytes):
        raise CertificateError(f"the meter answered {what} with {type(value).__name__}, not bytes")
    return bytes(value)


class SecuritySetupClient:
    """The Security setup object ``logical_name`` (``0.0.43.0.0.255``) of ``meter``."""

    def __init__(self, meter: Client, logical_name: ObisLike = "0.0.43.0.0.255") -> None:
        self.meter = meter
        self.logical_name = Obis(logical_name)

    async def _call(self, method: SecuritySetupMethod, parameters: object) -> object:
        return await self.meter.action(
            SECURITY_SETUP_CLASS, self.logical_name, int(method), parameters
        )

    async def read(self) -> SecuritySetup:
        """Attributes 2..5: security policy (version 1 bits), suite, system titles."""
        values = [
            await self.meter.get(SECURITY_SETUP_CLASS, self.logical_name, attribute)
            for attribute in (2, 3, 4, 5)
        ]
        return SecuritySetup.from_values(*values, version=1)

    async def certificates(self) -> list[CertificateInfo]:
        """Attribute 6: the certificates the meter holds."""
        return certificates(await self.meter.get(SECURITY_SETUP_CLASS, self.logical_name, 6))

    async def security_activate(self, policy: SecurityPolicyFlags | int) -> None:
        """Method 1: activate ``policy`` (version 1 bits)."""
        await self._call(SecuritySetupMethod.SECURITY_ACTIVATE, Enum(int(policy)))

    async def key_transfer(self, wrapped_keys: list[tuple[KeyId | int, bytes]]) -> None:
        """Method 2: keys already wrapped with the master key (RFC 3394;
        :func:`~asyncdlms.security.keys.wrap_key` for suites 0/1)."""
        await self._call(SecuritySetupMethod.KEY_TRANSFER, key_transfer_parameter(wrapped_keys))

    async def key_agreement(
        self,
        key_ids: list[KeyId | int],
        *,
        suite: SecuritySuiteId | int,
        key_store: KeyStore,
        client_system_title: bytes,
        server_system_title: bytes,
    ) -> dict[KeyId, Secret]:
        """Method 3, ephemeral unified model C(2e, 0s): agree new keys with the meter; each
        offer is signed with our signing key of ``key_store``, each answer checked with the
        meter's (by ``server_system_title``). Returns the agreed keys, which the meter uses
        from its next association. Raises :class:`~asyncdlms.security.suites.SignatureError`
        when the meter's answer does not verify."""
        signing_key = key_store.private_key(suite, KeyUsage.DIGITAL_SIGNATURE)
        meter_key = key_store.public_key(server_system_title, suite, KeyUsage.DIGITAL_SIGNATURE)
        ephemerals = {}
        offers = []
        for key_id in key_ids:
            ephemerals[int(key_id)], data = make_offer(signing_key, int(key_id), suite)
            offers.append(Structure((Enum(int(key_id)), OctetString(data))))
        answer = await self._call(SecuritySetupMethod.KEY_AGREEMENT, Array(offers))
        if not isinstance(answer, (list, tuple)) or len(answer) != len(offers):
            raise CertificateError("the meter answered key_agreement without one key per offer")
        agreed: dict[KeyId, Secret] = {}
        for item in answer:
            key_id, data = int(item[0]), _octets(item[1], "key_agreement")
            if key_id not in ephemerals:
                raise CertificateError(f"the meter answered key_agreement for key {key_id}")
            peer = read_offer(data, key_id, meter_key, suite)
            agreed[KeyId(key_id)] = derive_key(
                ephemerals[key_id], peer, suite, client_system_title, server_system_title
            )
        return agreed

    async def generate_key_pair(self, key_pair: KeyPair | int) -> None:
        """Method 4: the meter makes a new key pair (its certificate for the old one no
        longer matches: import a new one)."""
        await self._call(SecuritySetupMethod.GENERATE_KEY_PAIR, key_pair_parameter(key_pair))

    async def generate_certificate_request(
        self, key_pair: KeyPair | int
    ) -> x509.CertificateSigningRequest:
        """Method 5: a PKCS#10 request for the meter's key pair, to be signed by a CA."""
        answer = await self._call(
            SecuritySetupMethod.GENERATE_CERTIFICATE_REQUEST, key_pair_parameter(key_pair)
        )
        data = _octets(answer, "generate_certificate_request")
        try:
            return x509.load_der_x509_csr(data)
        except ValueError as exc:
            raise CertificateError(f"the meter's certificate request is not DER ({exc})") from None

    async def import_certificate(self, certificate: x509.Certificate) -> None:
        """Method 6: give the meter a certificate (a client's, a CA's or its own new one)."""
        data = certificate.public_bytes(serialization.Encoding.DER)
        await self._call(SecuritySetupMethod.IMPORT_CERTIFICATE, OctetString(data))

    async def export_certificate(
        self,
        entity: CertificateEntity | int,
        certificate_type: CertificateType | int,
        system_title: bytes,
    ) -> x509.Certificate:
        """Method 7 by entity: e.g. the meter's own signing certificate is
        ``(SERVER, DIGITAL_SIGNATURE, its system title)``."""
        answer = await self._call(
            SecuritySetupMethod.EXPORT_CERTIFICATE,
            certificate_identification_by_entity(entity, certificate_type, system_title),
        )
        return load_certificate(_octets(answer, "export_certificate"))

    async def export_certificate_by_serial(
        self, serial_number: bytes | int, issuer: bytes
    ) -> x509.Certificate:
        """Method 7 by serial number and issuer (as listed in attribute 6)."""
        answer = await self._call(
            SecuritySetupMethod.EXPORT_CERTIFICATE,
            certificate_identification_by_serial(serial_number, issuer),
        )
        return load_certificate(_octets(answer, "export_certificate"))

    async def remove_certificate(
        self,
        entity: CertificateEntity | int,
        certificate_type: CertificateType | int,
        system_title: bytes,
    ) -> None:
        """Method 8 by entity, certificate type and system title."""
        await self._call(
            SecuritySetupMethod.REMOVE_CERTIFICATE,
            certificate_identification_by_entity(entity, certificate_type, system_title),
        )
