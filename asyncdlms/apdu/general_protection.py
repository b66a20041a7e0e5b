"""The general-ciphering (0xDD) and general-signing (0xDF) APDUs (Green Book, DLMS UA 1000-2,
9.3 xDLMS APDUs; 9.2.7 cryptographic protection), as frozen dataclasses.

Both start with the same five octet strings (A-XDR: a length, then the octets)::

    general-ciphering ::= SEQUENCE {            general-signing ::= SEQUENCE {
        transaction-id          OCTET STRING,       transaction-id          OCTET STRING,
        originator-system-title OCTET STRING,       originator-system-title OCTET STRING,
        recipient-system-title  OCTET STRING,       recipient-system-title  OCTET STRING,
        date-time               OCTET STRING,       date-time               OCTET STRING,
        other-information       OCTET STRING,       other-information       OCTET STRING,
        key-info                Key-Info OPTIONAL,  content                 OCTET STRING,
        ciphered-content        OCTET STRING }      signature               OCTET STRING }

    Key-Info ::= CHOICE {
        identified-key [0] SEQUENCE { key-id ENUMERATED { global-unicast-encryption-key (0),
                                                           global-broadcast-encryption-key (1) } },
        wrapped-key    [1] SEQUENCE { kek-id ENUMERATED { master-key (0) },
                                      key-ciphered-data OCTET STRING },
        agreed-key     [2] SEQUENCE { key-parameters OCTET STRING,
                                      key-ciphered-data OCTET STRING } }

(an OPTIONAL component is preceded by 0x00 absent / 0x01 present; a CHOICE by its tag number;
an ENUMERATED is one byte). The key-parameters of an agreed key are one octet: 0x01 the
One-Pass Diffie-Hellman C(1e, 1s) scheme (key-ciphered-data: the originator's ephemeral public
key ``X || Y`` followed by its ECDSA signature ``r || s``), 0x02 the Static Unified Model
C(0e, 2s) (key-ciphered-data empty).

Decoding is bounded (every length is checked against the bytes present) and raises only
:class:`~asyncdlms.errors.DecodeError`. The cryptography is in
:mod:`asyncdlms.security.general` and :mod:`asyncdlms.security.key_agreement`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Self

from ..axdr import encode_length
from ..errors import DecodeError, EncodeError
from .tags import ApduTag

__all__ = [
    "AgreedKey",
    "GeneralCiphering",
    "GeneralSigning",
    "IdentifiedKey",
    "KeyAgreementScheme",
    "KeyEncryptionKeyId",
    "KeyInfo",
    "KeyInfoTag",
    "ProtectionHeader",
    "SymmetricKeyId",
    "WrappedKey",
]

_MAX_LENGTH = 0xFFFF_FFFF


class KeyInfoTag(IntEnum):
    """The CHOICE tags of Key-Info."""

    IDENTIFIED_KEY = 0
    WRAPPED_KEY = 1
    AGREED_KEY = 2


class SymmetricKeyId(IntEnum):
    """key-id of an identified key: which global key ciphers the content."""

    GLOBAL_UNICAST_ENCRYPTION_KEY = 0
    GLOBAL_BROADCAST_ENCRYPTION_KEY = 1


class KeyEncryptionKeyId(IntEnum):
    """kek-id of a wrapped key: the key that wrapped the content key."""

    MASTER_KEY = 0


class KeyAgreementScheme(IntEnum):
    """key-parameters of an agreed key: the key agreement scheme (NIST SP 800-56A)."""

    ONE_PASS_DIFFIE_HELLMAN = 0x01
    """C(1e, 1s): an ephemeral key of the originator, the static key of the recipient."""
    STATIC_UNIFIED_MODEL = 0x02
    """C(0e, 2s): the static keys of both parties."""


@dataclass(frozen=True, slots=True)
class IdentifiedKey:
    """identified-key [0]: the content is ciphered with a global key the recipient holds."""

    key_id: SymmetricKeyId = SymmetricKeyId.GLOBAL_UNICAST_ENCRYPTION_KEY

    def encode(self) -> bytes:
        """The Key-Info CHOICE bytes (tag, then the sequence)."""
        return bytes((KeyInfoTag.IDENTIFIED_KEY, int(self.key_id)))


@dataclass(frozen=True, slots=True)
class WrappedKey:
    """wrapped-key [1]: the content key, wrapped (RFC 3394) with the master key (KEK)."""

    key_ciphered_data: bytes
    kek_id: KeyEncryptionKeyId = KeyEncryptionKeyId.MASTER_KEY

    def encode(self) -> bytes:
        """The Key-Info CHOICE bytes."""
        data = bytes(self.key_ciphered_data)
        return bytes((KeyInfoTag.WRAPPED_KEY, int(self.kek_id))) + encode_length(len(data)) + data


@dataclass(frozen=True, slots=True)
class AgreedKey:
    """agreed-key [2]: the content key is derived by key agreement (ECDH and the KDF).

    ``key_parameters`` is the scheme octet (see :class:`KeyAgreementScheme`; kept as bytes so
    that an unknown value still decodes); ``key_ciphered_data`` the ephemeral public key and
    its signature for C(1e, 1s), empty for C(0e, 2s)."""

    key_parameters: bytes
    key_ciphered_data: bytes = b""

    @classmethod
    def for_scheme(cls, scheme: KeyAgreementScheme, key_ciphered_data: bytes = b"") -> Self:
        """The agreed key of ``scheme``."""
        return cls(bytes((int(scheme),)), bytes(key_ciphered_data))

    @property
    def scheme(self) -> KeyAgreementScheme | None:
        """The scheme the key-parameters name, or None for an unknown value."""
        if len(self.key_parameters) != 1:
            return None
        try:
            return KeyAgreementScheme(self.key_parameters[0])
        except ValueError:
            return None

    def encode(self) -> bytes:
        """The Key-Info CHOICE bytes."""
        parameters = bytes(self.key_parameters)
        data = bytes(self.key_ciphered_data)
        return (
            bytes((KeyInfoTag.AGREED_KEY,))
            + encode_length(len(parameters))
            + parameters
            + encode_length(len(data))
            + data
        )


KeyInfo = IdentifiedKey | WrappedKey | AgreedKey
"""Key-Info: how the recipient finds the key of a general-ciphering APDU."""


def _octet_string(value: bytes) -> bytes:
    value = bytes(value)
    if len(value) > _MAX_LENGTH:
        raise EncodeError("an octet string longer than 2^32 - 1 bytes")
    return encode_length(len(value)) + value


class _Reader:
    """Bounded reading of A-XDR octet strings; only DecodeError escapes."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes, pos: int) -> None:
        self.data = data
        self.pos = pos

    def byte(self, what: str) -> int:
        if self.pos >= len(self.data):
            raise DecodeError(f"truncated: expected {what}", self.pos)
        value = self.data[self.pos]
        self.pos += 1
        return value

    def length(self, what: str) -> int:
        first = self.byte(f"the length of {what}")
        if first < 0x80:
            return first
        size = first & 0x7F
        if size == 0 or size > 4:
            raise DecodeError(f"the length of {what} in a form DLMS does not use", self.pos - 1)
        if self.pos + size > len(self.data):
            raise DecodeError(f"truncated length of {what}", self.pos - 1)
        value = int.from_bytes(self.data[self.pos : self.pos + size], "big")
        self.pos += size
        return value

    def octet_string(self, what: str) -> bytes:
        start = self.pos
        size = self.length(what)
        if self.pos + size > len(self.data):
            raise DecodeError(
                f"truncated {what}: {size} bytes announced, {len(self.data) - self.pos} present",
                start,
            )
        value = self.data[self.pos : self.pos + size]
        self.pos += size
        return value

    def end(self, what: str) -> None:
        if self.pos != len(self.data):
            raise DecodeError(f"{len(self.data) - self.pos} bytes after {what}", self.pos)


def _check_tag(data: bytes, tag: ApduTag, name: str) -> None:
    if not data:
        raise DecodeError(f"empty input: expected a {name} APDU", 0)
    if data[0] != tag:
        raise DecodeError(f"tag 0x{data[0]:02x} is not {name} (0x{int(tag):02x})", 0)


@dataclass(frozen=True, slots=True)
class ProtectionHeader:
    """The five fields general-ciphering and general-signing share.

    ``transaction_id`` identifies the transaction (asyncdlms sends the 8-byte big-endian
    invocation counter, as the peers met in the field do); ``originator_system_title`` and
    ``recipient_system_title`` are 8-byte system titles (either may be empty for a broadcast
    or an unknown recipient); ``date_time`` a 12-byte COSEM date-time or empty;
    ``other_information`` free octets."""

    transaction_id: bytes
    originator_system_title: bytes
    recipient_system_title: bytes
    date_time: bytes = b""
    other_information: bytes = b""

    def encode(self) -> bytes:
        """The five octet strings."""
        return b"".join(
            _octet_string(value)
            for value in (
                self.transaction_id,
                self.originator_system_title,
                self.recipient_system_title,
                self.date_time,
                self.other_information,
            )
        )

    @classmethod
    def _read(cls, reader: _Reader) -> Self:
        return cls(
            reader.octet_string("the transaction-id"),
            reader.octet_string("the originator-system-title"),
            reader.octet_string("the recipient-system-title"),
            reader.octet_string("the date-time"),
            reader.octet_string("the other-information"),
        )


@dataclass(frozen=True, slots=True)
class GeneralCiphering:
    """A general-ciphering APDU (0xDD). ``ciphered_content`` is the whole
    ``SC || IC || ciphertext || tag`` octet string (not deciphered here)."""

    header: ProtectionHeader
    key_info: KeyInfo | None
    ciphered_content: bytes

    TAG = ApduTag.GENERAL_CIPHERING

    def encode(self) -> bytes:
        """The APDU bytes."""
        key_info = b"\x00" if self.key_info is None else b"\x01" + self.key_info.encode()
        return (
            bytes((self.TAG,))
            + self.header.encode()
            + key_info
            + _octet_string(self.ciphered_content)
        )

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> Self:
        """Decode a whole general-ciphering APDU; raise :class:`DecodeError` otherwise."""
        data = bytes(data)
        _check_tag(data, ApduTag.GENERAL_CIPHERING, "general-ciphering")
        reader = _Reader(data, 1)
        header = ProtectionHeader._read(reader)
        present = reader.byte("the key-info presence flag")
        key_info: KeyInfo | None = None
        if present == 1:
            key_info = _read_key_info(reader)
        elif present != 0:
            raise DecodeError(
                f"key-info presence flag 0x{present:02x} (0x00 absent, 0x01 present)",
                reader.pos - 1,
            )
        content = reader.octet_string("the ciphered-content")
        reader.end("the ciphered-content")
        return cls(header, key_info, content)


def _read_key_info(reader: _Reader) -> KeyInfo:
    choice = reader.byte("the key-info CHOICE tag")
    if choice == KeyInfoTag.IDENTIFIED_KEY:
        value = reader.byte("the key-id")
        try:
            return IdentifiedKey(SymmetricKeyId(value))
        except ValueError:
            raise DecodeError(f"unknown identified key-id {value}", reader.pos - 1) from None
    if choice == KeyInfoTag.WRAPPED_KEY:
        value = reader.byte("the kek-id")
        try:
            kek = KeyEncryptionKeyId(value)
        except ValueError:
            raise DecodeError(f"unknown kek-id {value}", reader.pos - 1) from None
        return WrappedKey(reader.octet_string("the key-ciphered-data"), kek)
    if choice == KeyInfoTag.AGREED_KEY:
        parameters = reader.octet_string("the key-parameters")
        return AgreedKey(parameters, reader.octet_string("the key-ciphered-data"))
    raise DecodeError(
        f"unknown key-info CHOICE [{choice}] (0 identified, 1 wrapped, 2 agreed key)",
        reader.pos - 1,
    )


@dataclass(frozen=True, slots=True)
class GeneralSigning:
    """A general-signing APDU (0xDF): ``content`` (an APDU, plain or ciphered) and the ECDSA
    ``signature`` ``r || s`` of the originator (empty when unsigned)."""

    header: ProtectionHeader
    content: bytes
    signature: bytes

    TAG = ApduTag.GENERAL_SIGNING

    def signed_data(self) -> bytes:
        """The bytes the signature covers: the encoded transaction-id, originator- and
        recipient-system-title, date-time and other-information (each with its length)
        followed by the content octets — everything after the tag up to the signature, the
        content's own length excepted, as the field implementations (Gurux) compute it."""
        return self.header.encode() + bytes(self.content)

    def encode(self) -> bytes:
        """The APDU bytes."""
        return (
            bytes((self.TAG,))
            + self.header.encode()
            + _octet_string(self.content)
            + _octet_string(self.signature)
        )

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> Self:
        """Decode a whole general-signing APDU; raise :class:`DecodeError` otherwise."""
        data = bytes(data)
        _check_tag(data, ApduTag.GENERAL_SIGNING, "general-signing")
        reader = _Reader(data, 1)
        header = ProtectionHeader._read(reader)
        content = reader.octet_string("the content")
        signature = reader.octet_string("the signature")
        reader.end("the signature")
        return cls(header, content, signature)
