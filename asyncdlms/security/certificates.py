"""Keys and certificates of security suites 1 and 2: a small store (:class:`KeyStore`) and the
DLMS certificate conventions (Green Book, DLMS UA 1000-2, 9.2.6).

A DLMS X.509 certificate binds a public key to a *system title*: its subject common name is
the system title in hexadecimal (16 digits). Its key usage says what the key is for —
``digitalSignature`` (ECDSA: HLS-ECDSA, general-signing) or ``keyAgreement`` (ECDH) — and its
curve names the suite: P-256 for suite 1, P-384 for suite 2. Everything here is done by
``cryptography``; a certificate that does not keep to these rules is refused with a
:class:`~asyncdlms.errors.CertificateError` saying which rule it breaks:

- the subject common name is not the expected system title (or not a system title at all);
- the key is on another curve than the suite's (or is no elliptic-curve key);
- the key usage does not allow the role (or is missing);
- now is outside the validity period;
- a CA certificate was given and the certificate is not signed by it.

The store holds *our* private keys (signing and key agreement, per suite) and the *peers'*
public keys or certificates by system title, plus the trusted CA certificates. Private keys
never appear in a repr, a log or an error.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ..errors import CertificateError
from .suites import (
    SecuritySuiteId,
    public_key_from_bytes,
    suite_parameters,
)

__all__ = [
    "Certificate",
    "KeyStore",
    "KeyUsage",
    "certificate_system_title",
    "load_certificate",
    "load_private_key",
    "make_certificate",
    "make_certificate_request",
    "private_key_to_pem",
    "suite_of_key",
    "validate_certificate",
]

_SYSTEM_TITLE_LENGTH = 8


class KeyUsage(IntEnum):
    """What a key pair or certificate is for (numbered as the certificate_type / key pair of
    Security setup, class 64)."""

    DIGITAL_SIGNATURE = 0
    """ECDSA: HLS-ECDSA (mechanism 7) and general-signing."""
    KEY_AGREEMENT = 1
    """ECDH: key agreement and general-ciphering."""


Certificate = x509.Certificate
"""An X.509 certificate (``cryptography``'s)."""


def _title_bytes(value: bytes | str) -> bytes:
    if isinstance(value, str):
        try:
            value = bytes.fromhex(value)
        except ValueError:
            raise CertificateError(f"the system title {value!r} is not hexadecimal") from None
    title = bytes(value)
    if len(title) != _SYSTEM_TITLE_LENGTH:
        raise CertificateError(f"a system title is 8 bytes long, not {len(title)}")
    return title


def suite_of_key(key: ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey) -> SecuritySuiteId:
    """The security suite whose curve the key is on (P-256: suite 1, P-384: suite 2)."""
    for suite in (SecuritySuiteId.SUITE_1, SecuritySuiteId.SUITE_2):
        curve = suite_parameters(suite).curve
        assert curve is not None
        if key.curve.name == curve.name:
            return suite
    raise CertificateError(
        f"a key on {key.curve.name} belongs to no security suite (suite 1 uses secp256r1, "
        "suite 2 secp384r1)"
    )


def load_certificate(data: bytes) -> Certificate:
    """An X.509 certificate from its PEM or DER bytes; :class:`CertificateError` when it is
    neither."""
    data = bytes(data)
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise CertificateError(f"not a PEM or DER X.509 certificate ({exc})") from None


def load_private_key(data: bytes, password: bytes | None = None) -> ec.EllipticCurvePrivateKey:
    """An elliptic-curve private key from PEM or DER (PKCS#8 or SEC 1) bytes; the error never
    shows the key."""
    data = bytes(data)
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            key = serialization.load_pem_private_key(data, password)
        else:
            key = serialization.load_der_private_key(data, password)
    except (ValueError, TypeError):
        raise CertificateError(
            "not a PEM or DER private key (or the password is wrong or missing)"
        ) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CertificateError(
            f"the private key is a {type(key).__name__}, not an elliptic-curve key"
        )
    return key


def private_key_to_pem(key: ec.EllipticCurvePrivateKey, password: bytes | None = None) -> bytes:
    """The PKCS#8 PEM form of ``key`` (encrypted with ``password`` when given)."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.NoEncryption()
        if password is None
        else serialization.BestAvailableEncryption(password)
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def certificate_system_title(certificate: Certificate) -> bytes:
    """The system title a DLMS certificate is for: its subject common name, 16 hex digits."""
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not names:
        raise CertificateError(
            "the certificate subject has no common name: a DLMS certificate names the system "
            "title there (16 hex digits)"
        )
    value = names[0].value
    text = value.decode() if isinstance(value, bytes) else value
    try:
        title = bytes.fromhex(text)
    except ValueError:
        title = b""
    if len(title) != _SYSTEM_TITLE_LENGTH:
        raise CertificateError(
            f"the certificate subject CN {text!r} is not a system title (16 hex digits)"
        )
    return title


def _utc(moment: float | datetime.datetime) -> datetime.datetime:
    if isinstance(moment, datetime.datetime):
        return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)
    return datetime.datetime.fromtimestamp(moment, datetime.UTC)


def _check_issuer(certificate: Certificate, authorities: Iterable[Certificate]) -> None:
    candidates = [ca for ca in authorities if ca.subject == certificate.issuer]
    if not candidates:
        raise CertificateError(
            f"the certificate is issued by {certificate.issuer.rfc4514_string()!r}, which is "
            "none of the CA certificates given"
        )
    for ca in candidates:
        try:
            certificate.verify_directly_issued_by(ca)
        except (InvalidSignature, ValueError, TypeError):
            continue
        return
    raise CertificateError(
        "the certificate's issuer signature does not verify with the CA's key: it was altered "
        "or signed by another key"
    )


def validate_certificate(
    certificate: Certificate,
    *,
    usage: KeyUsage,
    suite: SecuritySuiteId | int | None = None,
    system_title: bytes | str | None = None,
    authorities: Iterable[Certificate] = (),
    at: float | datetime.datetime | None = None,
) -> ec.EllipticCurvePublicKey:
    """Check ``certificate`` against the DLMS rules and return its public key.

    ``usage``: the role the key must have; ``suite``: 1 or 2 (None: any, from the curve);
    ``system_title``: the one the subject CN must name (None: any); ``authorities``: CA
    certificates one of which must have signed it (none given: not checked); ``at``: the
    moment the validity period must cover (now by default). Raises :class:`CertificateError`.
    """
    key = certificate.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise CertificateError(
            f"the certificate holds a {type(key).__name__}, not an elliptic-curve key"
        )
    key_suite = suite_of_key(key)
    if suite is not None and key_suite != SecuritySuiteId(suite):
        curve = suite_parameters(suite).curve
        assert curve is not None
        raise CertificateError(
            f"the certificate key is on {key.curve.name}, security suite {int(suite)} uses "
            f"{curve.name}"
        )
    title = certificate_system_title(certificate)
    if system_title is not None and title != _title_bytes(system_title):
        raise CertificateError(
            f"the certificate is for system title {title.hex().upper()}, not "
            f"{_title_bytes(system_title).hex().upper()}"
        )
    try:
        extension = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise CertificateError(
            "the certificate has no key usage extension (a DLMS certificate says "
            "digitalSignature or keyAgreement)"
        ) from None
    allowed = (
        extension.digital_signature
        if usage is KeyUsage.DIGITAL_SIGNATURE
        else extension.key_agreement
    )
    if not allowed:
        wanted = "digitalSignature" if usage is KeyUsage.DIGITAL_SIGNATURE else "keyAgreement"
        raise CertificateError(
            f"the certificate of {title.hex().upper()} does not allow {wanted} (key usage)"
        )
    moment = _utc(time.time() if at is None else at)
    if not certificate.not_valid_before_utc <= moment <= certificate.not_valid_after_utc:
        raise CertificateError(
            f"the certificate of {title.hex().upper()} is valid from "
            f"{certificate.not_valid_before_utc:%Y-%m-%d %H:%M:%S} to "
            f"{certificate.not_valid_after_utc:%Y-%m-%d %H:%M:%S} UTC, not at "
            f"{moment:%Y-%m-%d %H:%M:%S} UTC"
        )
    authorities = list(authorities)
    if authorities:
        _check_issuer(certificate, authorities)
    return key


def _name(system_title: bytes | str | None, common_name: str | None) -> x509.Name:
    if common_name is None:
        common_name = _title_bytes(system_title or b"").hex().upper()
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_usage(usage: KeyUsage | None) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=usage is KeyUsage.DIGITAL_SIGNATURE,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=usage is KeyUsage.KEY_AGREEMENT,
        key_cert_sign=usage is None,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _signature_hash(key: ec.EllipticCurvePrivateKey) -> hashes.SHA256 | hashes.SHA384:
    """The hash a suite signs with: SHA-256 (suite 1) or SHA-384 (suite 2)."""
    return hashes.SHA256() if suite_of_key(key) == SecuritySuiteId.SUITE_1 else hashes.SHA384()


def make_certificate(
    public_key: ec.EllipticCurvePublicKey,
    *,
    issuer_key: ec.EllipticCurvePrivateKey,
    system_title: bytes | str | None = None,
    usage: KeyUsage | None = KeyUsage.DIGITAL_SIGNATURE,
    issuer: Certificate | None = None,
    not_before: float | datetime.datetime | None = None,
    not_after: float | datetime.datetime | None = None,
    serial_number: int | None = None,
    common_name: str | None = None,
) -> Certificate:
    """A certificate in the DLMS conventions: subject CN = ``system_title`` in hex, key usage
    ``usage`` (None: a CA certificate, keyCertSign, with ``common_name``), signed by
    ``issuer_key`` with the hash of its suite (self-signed when ``issuer`` is None). Validity
    from ``not_before`` (now) to ``not_after`` (ten years on)."""
    start = _utc(time.time() if not_before is None else not_before)
    end = _utc(start.timestamp() + 10 * 365 * 86400 if not_after is None else not_after)
    subject = _name(system_title, common_name)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject if issuer is None else issuer.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number() if serial_number is None else serial_number)
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(_key_usage(usage), critical=True)
        .add_extension(x509.BasicConstraints(ca=usage is None, path_length=None), critical=True)
    )
    return builder.sign(issuer_key, _signature_hash(issuer_key))


def make_certificate_request(
    private_key: ec.EllipticCurvePrivateKey,
    system_title: bytes | str,
    usage: KeyUsage = KeyUsage.DIGITAL_SIGNATURE,
) -> x509.CertificateSigningRequest:
    """A PKCS#10 certificate signing request for ``private_key``'s public key, subject CN =
    ``system_title`` in hex, key usage ``usage`` (Security setup method 5)."""
    hash_algorithm = _signature_hash(private_key)
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(_name(system_title, None))
        .add_extension(_key_usage(usage), critical=True)
        .sign(private_key, hash_algorithm)
    )


@dataclass(frozen=True, slots=True)
class _PeerKey:
    public_key: ec.EllipticCurvePublicKey
    certificate: Certificate | None


class KeyStore:
    """Our private keys and the peers' public keys and certificates (suites 1 and 2).

    - :meth:`set_private_key` / :meth:`private_key`: our signing (ECDSA) or key agreement
      (ECDH) key of a suite; optionally our own certificate (:meth:`set_own_certificate`).
    - :meth:`add_certificate`: a peer's certificate, validated (:func:`validate_certificate`,
      against the CA certificates of the store when there are any) and filed under the
      system title of its subject CN; :meth:`add_public_key`: a bare public key (raw
      ``X || Y`` or a key object) for a system title, trusted as given.
    - :meth:`public_key`: the peer key to verify a signature or agree a key with; a
      certificate is checked again there (its validity period may have ended since).
    - :meth:`save` / :meth:`load`: PEM files in a directory (private keys unencrypted unless a
      password is given: keep the directory private).

    ``clock`` (``time.time``) gives the moment validity periods are checked at.
    """

    __slots__ = ("_authorities", "_clock", "_own_certificates", "_peers", "_private")

    def __init__(
        self,
        *,
        authorities: Iterable[Certificate] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._private: dict[tuple[SecuritySuiteId, KeyUsage], ec.EllipticCurvePrivateKey] = {}
        self._own_certificates: dict[tuple[SecuritySuiteId, KeyUsage], Certificate] = {}
        self._peers: dict[tuple[bytes, SecuritySuiteId, KeyUsage], _PeerKey] = {}
        self._authorities: list[Certificate] = []
        self._clock = clock
        for authority in authorities:
            self.add_authority(authority)

    def __repr__(self) -> str:
        own = ", ".join(
            f"suite {int(suite)} {usage.name.lower()}" for suite, usage in self._private
        )
        return (
            f"KeyStore(private_keys=[{own}] (****), peers={len(self._peers)}, "
            f"authorities={len(self._authorities)})"
        )

    __str__ = __repr__

    # -- ours ---------------------------------------------------------------------------------

    def set_private_key(
        self,
        key: ec.EllipticCurvePrivateKey,
        usage: KeyUsage = KeyUsage.DIGITAL_SIGNATURE,
    ) -> None:
        """Our private key for ``usage`` in the suite of its curve."""
        self._private[(suite_of_key(key), KeyUsage(usage))] = key

    def private_key(
        self,
        suite: SecuritySuiteId | int,
        usage: KeyUsage = KeyUsage.DIGITAL_SIGNATURE,
    ) -> ec.EllipticCurvePrivateKey:
        """Our private key of ``suite`` for ``usage``; :class:`CertificateError` when the
        store has none."""
        key = self._private.get((SecuritySuiteId(suite), KeyUsage(usage)))
        if key is None:
            role = "signing" if usage is KeyUsage.DIGITAL_SIGNATURE else "key agreement"
            raise CertificateError(
                f"no {role} private key of security suite {int(suite)} in the key store"
            )
        return key

    def has_private_key(
        self, suite: SecuritySuiteId | int, usage: KeyUsage = KeyUsage.DIGITAL_SIGNATURE
    ) -> bool:
        """Whether we have a private key of ``suite`` for ``usage``."""
        return (SecuritySuiteId(suite), KeyUsage(usage)) in self._private

    def set_own_certificate(self, certificate: Certificate, usage: KeyUsage) -> None:
        """Our own certificate for ``usage`` (its key must be our private key's)."""
        key = certificate.public_key()
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise CertificateError("the certificate holds no elliptic-curve key")
        suite = suite_of_key(key)
        private = self._private.get((suite, KeyUsage(usage)))
        if private is not None and private.public_key() != key:
            raise CertificateError("the certificate is not for our private key")
        self._own_certificates[(suite, KeyUsage(usage))] = certificate

    def own_certificate(
        self, suite: SecuritySuiteId | int, usage: KeyUsage = KeyUsage.DIGITAL_SIGNATURE
    ) -> Certificate | None:
        """Our own certificate of ``suite`` for ``usage``, if one was set."""
        return self._own_certificates.get((SecuritySuiteId(suite), KeyUsage(usage)))

    # -- theirs -------------------------------------------------------------------------------

    def add_authority(self, certificate: Certificate) -> None:
        """Trust ``certificate`` as a CA: from now on every peer certificate added must be
        signed by one of the store's CA certificates."""
        self._authorities.append(certificate)

    @property
    def authorities(self) -> tuple[Certificate, ...]:
        """The trusted CA certificates."""
        return tuple(self._authorities)

    def add_certificate(
        self,
        certificate: Certificate | bytes,
        usage: KeyUsage = KeyUsage.DIGITAL_SIGNATURE,
        *,
        suite: SecuritySuiteId | int | None = None,
        system_title: bytes | str | None = None,
    ) -> bytes:
        """Validate a peer's certificate (PEM/DER bytes or object) and file it under the
        system title of its subject; returns that system title. Raises
        :class:`CertificateError` (see :func:`validate_certificate`)."""
        if not isinstance(certificate, x509.Certificate):
            certificate = load_certificate(certificate)
        key = validate_certificate(
            certificate,
            usage=usage,
            suite=suite,
            system_title=system_title,
            authorities=self._authorities,
            at=self._clock(),
        )
        title = certificate_system_title(certificate)
        self._peers[(title, suite_of_key(key), KeyUsage(usage))] = _PeerKey(key, certificate)
        return title

    def add_public_key(
        self,
        system_title: bytes | str,
        public_key: ec.EllipticCurvePublicKey | bytes,
        usage: KeyUsage = KeyUsage.DIGITAL_SIGNATURE,
        *,
        suite: SecuritySuiteId | int | None = None,
    ) -> None:
        """File a bare public key (raw ``X || Y`` needs ``suite``) for ``system_title``."""
        title = _title_bytes(system_title)
        if isinstance(public_key, (bytes, bytearray)):
            if suite is None:
                raise CertificateError("a raw public key needs its suite (1 or 2)")
            try:
                public_key = public_key_from_bytes(bytes(public_key), suite)
            except ValueError as exc:
                raise CertificateError(str(exc)) from None
        key_suite = suite_of_key(public_key)
        if suite is not None and key_suite != SecuritySuiteId(suite):
            raise CertificateError(
                f"the public key is on {public_key.curve.name}, not the curve of suite {int(suite)}"
            )
        self._peers[(title, key_suite, KeyUsage(usage))] = _PeerKey(public_key, None)

    def public_key(
        self,
        system_title: bytes | str,
        suite: SecuritySuiteId | int,
        usage: KeyUsage = KeyUsage.DIGITAL_SIGNATURE,
    ) -> ec.EllipticCurvePublicKey:
        """The public key of ``system_title`` for ``usage`` in ``suite``; a certificate is
        checked again (validity period, CA). :class:`CertificateError` for an unknown system
        title or a certificate no longer valid."""
        title = _title_bytes(system_title)
        peer = self._peers.get((title, SecuritySuiteId(suite), KeyUsage(usage)))
        if peer is None:
            role = "signing" if usage is KeyUsage.DIGITAL_SIGNATURE else "key agreement"
            raise CertificateError(
                f"no {role} certificate or public key of security suite {int(suite)} for "
                f"system title {title.hex().upper()} in the key store"
            )
        if peer.certificate is not None:
            validate_certificate(
                peer.certificate,
                usage=usage,
                suite=suite,
                system_title=title,
                authorities=self._authorities,
                at=self._clock(),
            )
        return peer.public_key

    def certificate(
        self,
        system_title: bytes | str,
        suite: SecuritySuiteId | int,
        usage: KeyUsage = KeyUsage.DIGITAL_SIGNATURE,
    ) -> Certificate | None:
        """The certificate filed for ``system_title`` (None: none, or a bare key)."""
        peer = self._peers.get(
            (_title_bytes(system_title), SecuritySuiteId(suite), KeyUsage(usage))
        )
        return None if peer is None else peer.certificate

    def remove(
        self,
        system_title: bytes | str,
        suite: SecuritySuiteId | int | None = None,
        usage: KeyUsage | None = None,
    ) -> int:
        """Forget the keys of ``system_title`` (of one suite / usage); returns how many."""
        title = _title_bytes(system_title)
        doomed = [
            entry
            for entry in self._peers
            if entry[0] == title
            and (suite is None or entry[1] == suite)
            and (usage is None or entry[2] == usage)
        ]
        for entry in doomed:
            del self._peers[entry]
        return len(doomed)

    def peers(self) -> Iterator[tuple[bytes, SecuritySuiteId, KeyUsage, Certificate | None]]:
        """(system title, suite, usage, certificate or None) of every peer key."""
        for (title, suite, usage), peer in self._peers.items():
            yield title, suite, usage, peer.certificate

    # -- files --------------------------------------------------------------------------------

    def save(self, directory: str | Path, *, password: bytes | None = None) -> None:
        """Write the store as PEM files into ``directory`` (created): ``key-<suite>-<usage>
        .pem`` (ours, PKCS#8, encrypted with ``password`` when given, mode 0600),
        ``own-…``/``peer-<title>-…`` certificates, ``ca-<n>.pem``. Bare peer keys are saved
        as ``peer-<title>-<suite>-<usage>.pub.pem``."""
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        for (suite, usage), key in self._private.items():
            path = folder / f"key-{int(suite)}-{usage.name.lower()}.pem"
            path.touch(mode=0o600)
            path.chmod(0o600)  # also when the file was there before
            path.write_bytes(private_key_to_pem(key, password))
        for (suite, usage), certificate in self._own_certificates.items():
            name = f"own-{int(suite)}-{usage.name.lower()}.pem"
            (folder / name).write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        for (title, suite, usage), peer in self._peers.items():
            stem = f"peer-{title.hex().upper()}-{int(suite)}-{usage.name.lower()}"
            if peer.certificate is not None:
                data = peer.certificate.public_bytes(serialization.Encoding.PEM)
                (folder / f"{stem}.pem").write_bytes(data)
            else:
                data = peer.public_key.public_bytes(
                    serialization.Encoding.PEM,
                    serialization.PublicFormat.SubjectPublicKeyInfo,
                )
                (folder / f"{stem}.pub.pem").write_bytes(data)
        for number, authority in enumerate(self._authorities):
            data = authority.public_bytes(serialization.Encoding.PEM)
            (folder / f"ca-{number}.pem").write_bytes(data)

    @classmethod
    def load(
        cls,
        directory: str | Path,
        *,
        password: bytes | None = None,
        clock: Callable[[], float] = time.time,
    ) -> KeyStore:
        """A store from the files :meth:`save` wrote; peer certificates are validated again
        (against the CA certificates found)."""
        folder = Path(directory)
        store = cls(
            authorities=[load_certificate(p.read_bytes()) for p in sorted(folder.glob("ca-*.pem"))],
            clock=clock,
        )
        usages = {usage.name.lower(): usage for usage in KeyUsage}
        for path in sorted(folder.glob("key-*.pem")):
            usage = usages[path.stem.split("-", 2)[2]]
            store.set_private_key(load_private_key(path.read_bytes(), password), usage)
        for path in sorted(folder.glob("own-*.pem")):
            usage = usages[path.stem.split("-", 2)[2]]
            store.set_own_certificate(load_certificate(path.read_bytes()), usage)
        for path in sorted(folder.glob("peer-*.pem")):
            bare = path.name.endswith(".pub.pem")
            stem = path.name[: -len(".pub.pem")] if bare else path.stem
            _, title, suite, usage_name = stem.split("-", 3)
            usage = usages[usage_name]
            if bare:
                key = serialization.load_pem_public_key(path.read_bytes())
                if not isinstance(key, ec.EllipticCurvePublicKey):
                    raise CertificateError(f"{path.name} holds no elliptic-curve key")
                store.add_public_key(title, key, usage, suite=int(suite))
            else:
                store.add_certificate(path.read_bytes(), usage, suite=int(suite))
        return store
