"""Security setup (class 64): security policy and suite, system titles, key transfer.

Version 0 has ``security_policy`` as an enumeration (:class:`SecurityPolicy`), version 1
as a set of bits (:class:`SecurityPolicyFlags`); :func:`security_policy` reads either.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum, IntFlag

from ..types.values import Array, Enum, OctetString, Structure
from ._values import as_bytes, as_int, enum_or_int
from .errors import CosemValueError

__all__ = [
    "CertificateEntity",
    "CertificateInfo",
    "CertificateType",
    "KeyId",
    "KeyPair",
    "SecurityPolicy",
    "SecurityPolicyFlags",
    "SecuritySetup",
    "SecuritySetupMethod",
    "SecuritySuite",
    "certificate_identification_by_entity",
    "certificate_identification_by_serial",
    "certificates",
    "key_pair_parameter",
    "key_transfer_parameter",
    "security_activate_parameter",
    "security_policy",
    "security_suite",
]


class SecurityPolicy(IntEnum):
    """Attribute 2 ``security_policy`` in version 0."""

    NOTHING = 0
    ALL_MESSAGES_AUTHENTICATED = 1
    ALL_MESSAGES_ENCRYPTED = 2
    ALL_MESSAGES_AUTHENTICATED_AND_ENCRYPTED = 3


class SecurityPolicyFlags(IntFlag):
    """Attribute 2 ``security_policy`` in version 1 (bits 0 and 1 unused)."""

    NONE = 0
    AUTHENTICATED_REQUEST = 0x04
    ENCRYPTED_REQUEST = 0x08
    DIGITALLY_SIGNED_REQUEST = 0x10
    AUTHENTICATED_RESPONSE = 0x20
    ENCRYPTED_RESPONSE = 0x40
    DIGITALLY_SIGNED_RESPONSE = 0x80


class SecuritySuite(IntEnum):
    """Attribute 3 ``security_suite``."""

    AES_GCM_128 = 0
    """Suite 0: AES-GCM-128 authenticated encryption, AES-128 key wrap."""
    ECDH_ECDSA_AES_GCM_128_SHA_256 = 1
    """Suite 1: ECDH P-256, ECDSA with SHA-256, AES-GCM-128."""
    ECDH_ECDSA_AES_GCM_256_SHA_384 = 2
    """Suite 2: ECDH P-384, ECDSA with SHA-384, AES-GCM-256."""


class SecuritySetupMethod(IntEnum):
    """The methods of Security setup version 1 (version 0 has the first two, method 2
    being ``global_key_transfer``)."""

    SECURITY_ACTIVATE = 1
    KEY_TRANSFER = 2
    KEY_AGREEMENT = 3
    GENERATE_KEY_PAIR = 4
    GENERATE_CERTIFICATE_REQUEST = 5
    IMPORT_CERTIFICATE = 6
    EXPORT_CERTIFICATE = 7
    REMOVE_CERTIFICATE = 8


class KeyId(IntEnum):
    """key_id of ``global_key_transfer`` / ``key_transfer``."""

    GLOBAL_UNICAST_ENCRYPTION_KEY = 0
    GLOBAL_BROADCAST_ENCRYPTION_KEY = 1
    AUTHENTICATION_KEY = 2
    MASTER_KEY = 3
    """The key encrypting key (KEK) that wraps the others."""


class KeyPair(IntEnum):
    """key pair of ``generate_key_pair`` / ``generate_certificate_request``."""

    DIGITAL_SIGNATURE = 0
    KEY_AGREEMENT = 1
    TLS = 2


class CertificateEntity(IntEnum):
    """certificate_entity of the ``certificates`` attribute."""

    SERVER = 0
    CLIENT = 1
    CERTIFICATION_AUTHORITY = 2
    OTHER = 3


class CertificateType(IntEnum):
    """certificate_type of the ``certificates`` attribute."""

    DIGITAL_SIGNATURE = 0
    KEY_AGREEMENT = 1
    TLS = 2
    OTHER = 3


def security_policy(value: object, version: int = 0) -> SecurityPolicy | SecurityPolicyFlags | int:
    """Attribute 2 of Security setup ``version`` (0: enumeration, 1: bit flags)."""
    if version >= 1:
        number = as_int(value, "security_policy")
        if not 0 <= number <= 0xFF:
            raise CosemValueError(f"security_policy {number} is not one byte")
        return SecurityPolicyFlags(number)
    return enum_or_int(SecurityPolicy, value, "security_policy")


def security_suite(value: object) -> SecuritySuite | int:
    """Attribute 3 ``security_suite`` (an unknown code stays an int)."""
    return enum_or_int(SecuritySuite, value, "security_suite")


def security_activate_parameter(policy: SecurityPolicy | SecurityPolicyFlags | int) -> Enum:
    """Method 1 ``security_activate``: the policy to activate, an enum."""
    if not 0 <= int(policy) <= 0xFF:
        raise CosemValueError(f"security policy {int(policy)} is not one byte")
    return Enum(int(policy))


def key_transfer_parameter(keys: Iterable[tuple[KeyId | int, bytes]]) -> Array:
    """Method 2 ``global_key_transfer`` (version 0) / ``key_transfer`` (version 1):
    ``array of structure {key_id enum, key_wrapped octet-string}``. The keys must already
    be wrapped with the master key (AES key wrap, RFC 3394); this module does no crypto."""
    items = []
    for key_id, wrapped in keys:
        if not isinstance(wrapped, (bytes, bytearray)):
            raise CosemValueError(f"a wrapped key is bytes, got {type(wrapped).__name__}")
        items.append(Structure((Enum(int(key_id)), OctetString(bytes(wrapped)))))
    return Array(items)


@dataclass(frozen=True, slots=True)
class SecuritySetup:
    """Attributes 2..5 read together."""

    security_policy: SecurityPolicy | SecurityPolicyFlags | int
    security_suite: SecuritySuite | int
    client_system_title: bytes
    server_system_title: bytes

    @classmethod
    def from_values(
        cls,
        policy: object,
        suite: object,
        client_system_title: object,
        server_system_title: object,
        *,
        version: int = 0,
    ) -> SecuritySetup:
        """Read the four decoded attribute values of Security setup ``version``."""
        return cls(
            security_policy(policy, version),
            security_suite(suite),
            as_bytes(client_system_title, "client_system_title"),
            as_bytes(server_system_title, "server_system_title"),
        )


@dataclass(frozen=True, slots=True)
class CertificateInfo:
    """One certificate_info of attribute 6 ``certificates`` (version 1): who it belongs to,
    what for, its serial number (big-endian bytes), issuer and subject (as the meter
    writes them, usually RFC 4514 strings) and subject alternative name."""

    certificate_entity: CertificateEntity | int
    certificate_type: CertificateType | int
    serial_number: bytes
    issuer: bytes
    subject: bytes
    subject_alt_name: bytes

    @property
    def serial_number_int(self) -> int:
        """The serial number as an integer."""
        return int.from_bytes(self.serial_number, "big")


def certificates(value: object) -> list[CertificateInfo]:
    """Attribute 6 ``certificates``: ``array of certificate_info``."""
    if not isinstance(value, (list, tuple)):
        raise CosemValueError(f"certificates is an array, got {type(value).__name__}")
    result = []
    for item in value:
        if not isinstance(item, (list, tuple)) or len(item) != 6:
            raise CosemValueError("a certificate_info is a structure of 6 elements")
        result.append(
            CertificateInfo(
                enum_or_int(CertificateEntity, item[0], "certificate_entity"),
                enum_or_int(CertificateType, item[1], "certificate_type"),
                as_bytes(item[2], "serial_number"),
                as_bytes(item[3], "issuer"),
                as_bytes(item[4], "subject"),
                as_bytes(item[5], "subject_alt_name"),
            )
        )
    return result


def key_pair_parameter(key_pair: KeyPair | int) -> Enum:
    """Methods 4 ``generate_key_pair`` and 5 ``generate_certificate_request``: the key pair
    (0 digital signature, 1 key agreement, 2 TLS)."""
    return Enum(int(KeyPair(key_pair)))


def certificate_identification_by_entity(
    entity: CertificateEntity | int, certificate_type: CertificateType | int, system_title: bytes
) -> Structure:
    """Methods 7 ``export_certificate`` / 8 ``remove_certificate``: the certificate of
    ``entity`` (server, client, CA...) for ``certificate_type`` and ``system_title``."""
    if len(system_title) != 8:
        raise CosemValueError(f"a system title is 8 bytes long, not {len(system_title)}")
    return Structure(
        (
            Enum(0),
            Structure(
                (
                    Enum(int(entity)),
                    Enum(int(certificate_type)),
                    OctetString(bytes(system_title)),
                )
            ),
        )
    )


def certificate_identification_by_serial(serial_number: bytes | int, issuer: bytes) -> Structure:
    """Methods 7 / 8: the certificate with ``serial_number`` (big-endian bytes or an int)
    from ``issuer`` (the issuer as the meter lists it in attribute 6)."""
    if isinstance(serial_number, int):
        serial_number = serial_number.to_bytes((serial_number.bit_length() + 8) // 8, "big")
    return Structure(
        (Enum(1), Structure((OctetString(bytes(serial_number)), OctetString(bytes(issuer)))))
    )
