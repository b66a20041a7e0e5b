"""A small PKI for the suite 1/2 tests, made with ``cryptography`` directly (not with
asyncdlms's certificate helpers, so that those are checked against an independent build):
a CA, and end-entity certificates in the DLMS conventions (subject CN = system title in hex,
key usage digitalSignature or keyAgreement)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CURVES: dict[int, ec.EllipticCurve] = {1: ec.SECP256R1(), 2: ec.SECP384R1()}
HASHES: dict[int, type[hashes.SHA256] | type[hashes.SHA384]] = {
    1: hashes.SHA256,
    2: hashes.SHA384,
}
NOW = datetime.datetime.now(datetime.UTC)


def key(suite: int) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(CURVES[suite])


def _usage(*, signature: bool = False, agreement: bool = False, ca: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=agreement,
        key_cert_sign=ca,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


@dataclass
class Authority:
    """A CA of one suite."""

    suite: int
    private_key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @classmethod
    def make(cls, suite: int, name: str = "Test CA") -> Authority:
        private = key(suite)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(private.public_key())
            .serial_number(1)
            .not_valid_before(NOW - datetime.timedelta(days=1))
            .not_valid_after(NOW + datetime.timedelta(days=3650))
            .add_extension(_usage(ca=True), critical=True)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(private, HASHES[suite]())
        )
        return cls(suite, private, certificate)

    def issue(
        self,
        public_key: ec.EllipticCurvePublicKey,
        system_title: bytes,
        *,
        agreement: bool = False,
        not_before: datetime.datetime | None = None,
        not_after: datetime.datetime | None = None,
        common_name: str | None = None,
        key_usage: bool = True,
    ) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(
                x509.Name(
                    [
                        x509.NameAttribute(
                            NameOID.COMMON_NAME,
                            common_name if common_name is not None else system_title.hex().upper(),
                        )
                    ]
                )
            )
            .issuer_name(self.certificate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or NOW - datetime.timedelta(days=1))
            .not_valid_after(not_after or NOW + datetime.timedelta(days=365))
        )
        if key_usage:
            builder = builder.add_extension(
                _usage(signature=not agreement, agreement=agreement), critical=True
            )
        return builder.sign(self.private_key, HASHES[self.suite]())
