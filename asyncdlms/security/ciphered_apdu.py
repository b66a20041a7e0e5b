"""The ciphered APDU forms of the Green Book (9.2.7) and their security header, without any
cryptography: the security control byte (:class:`SecurityControl`, :class:`SecurityPolicy`),
the glo- / ded- service-specific tags (:data:`GLOBAL_TAGS`, :data:`DEDICATED_TAGS`), the
general-glo / general-ded forms, and :class:`CipheredApdu`, which splits a ciphered APDU into
its fields. :mod:`asyncdlms.security.ciphering` ciphers and deciphers them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum, IntEnum
from types import MappingProxyType
from typing import Self

from ..apdu.tags import ApduTag
from ..axdr import encode_length
from ..errors import DecodeError, EncodeError
from .exceptions import DecipheringError

__all__ = [
    "AUTHENTICATION_TAG_LENGTH",
    "DEDICATED_TAGS",
    "GLOBAL_TAGS",
    "KEY_LENGTH",
    "SECURITY_HEADER_LENGTH",
    "SYSTEM_TITLE_LENGTH",
    "CipheredApdu",
    "CipheringForm",
    "SecurityControl",
    "SecurityPolicy",
]

SYSTEM_TITLE_LENGTH = 8
"""A system title is 8 bytes (3 bytes manufacturer id, 5 bytes serial in the usual layout)."""
KEY_LENGTH = 16
"""Security suite 0 (and 1) keys are AES-128 keys; suite 2's are 32 bytes
(:func:`suite_key_length`)."""
SECURITY_HEADER_LENGTH = 5
"""Security control byte + 4-byte invocation counter."""
AUTHENTICATION_TAG_LENGTH = 12
"""Suite 0 sends the first 12 bytes of the 16-byte GCM tag."""

_AUTHENTICATION = 0x10
_ENCRYPTION = 0x20
_BROADCAST_KEY = 0x40
_COMPRESSION = 0x80
_SUITE_MASK = 0x0F
_SECURITY_SUITE = 0


class SecurityPolicy(IntEnum):
    """The protection applied to every APDU; the value is its bits of the security control
    byte (security setup version 0 numbers them 1, 2, 3: :attr:`security_setup_value`)."""

    AUTHENTICATION_ONLY = _AUTHENTICATION
    ENCRYPTION_ONLY = _ENCRYPTION
    AUTHENTICATED_ENCRYPTION = _AUTHENTICATION | _ENCRYPTION

    @property
    def security_setup_value(self) -> int:
        """The security_policy enum of security setup (class 64) version 0: 1 all messages
        authenticated, 2 all encrypted, 3 all authenticated and encrypted."""
        return self.value >> 4


@dataclass(frozen=True, slots=True)
class SecurityControl:
    """The security control byte: security suite id (bits 0-3), authentication (0x10),
    encryption (0x20), key set (0x40: broadcast key, else unicast), compression (0x80)."""

    authentication: bool = False
    encryption: bool = False
    broadcast_key: bool = False
    compression: bool = False
    security_suite: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.security_suite <= _SUITE_MASK:
            raise EncodeError(f"a security suite id is 0..15, not {self.security_suite}")

    @classmethod
    def from_byte(cls, value: int) -> Self:
        """Split a security control byte into its fields."""
        if not 0 <= value <= 0xFF:
            raise DecodeError(f"a security control byte is 0..255, not {value}")
        return cls(
            authentication=bool(value & _AUTHENTICATION),
            encryption=bool(value & _ENCRYPTION),
            broadcast_key=bool(value & _BROADCAST_KEY),
            compression=bool(value & _COMPRESSION),
            security_suite=value & _SUITE_MASK,
        )

    @classmethod
    def for_policy(cls, policy: SecurityPolicy, *, broadcast_key: bool = False) -> Self:
        """The security control byte of suite 0 for ``policy``."""
        return cls.from_byte(int(policy) | (_BROADCAST_KEY if broadcast_key else 0))

    @property
    def byte(self) -> int:
        """The byte value."""
        return (
            self.security_suite
            | (_AUTHENTICATION if self.authentication else 0)
            | (_ENCRYPTION if self.encryption else 0)
            | (_BROADCAST_KEY if self.broadcast_key else 0)
            | (_COMPRESSION if self.compression else 0)
        )

    def __int__(self) -> int:
        return self.byte

    @property
    def policy(self) -> SecurityPolicy | None:
        """The policy these bits apply, or None when neither authentication nor encryption."""
        bits = self.byte & (_AUTHENTICATION | _ENCRYPTION)
        return SecurityPolicy(bits) if bits else None


class CipheringForm(Enum):
    """Which ciphered APDU form :meth:`SecurityContext.protect` produces.

    ``GLOBAL``/``DEDICATED``: the service-specific glo-/ded- tags (an APDU without one, such as
    a data-notification, goes in general-glo-/general-ded-ciphering). ``GENERAL_GLOBAL``/
    ``GENERAL_DEDICATED``: general-glo-/general-ded-ciphering, with our system title in the
    PDU. The initiate request/response always use the global key (a dedicated key does not
    exist before the association).
    """

    GLOBAL = "global"
    DEDICATED = "dedicated"
    GENERAL_GLOBAL = "general-global"
    GENERAL_DEDICATED = "general-dedicated"


def _map(pairs: Iterable[tuple[int, int]]) -> Mapping[int, int]:
    return MappingProxyType(dict(pairs))


_SN_AND_INITIATE = (
    ApduTag.INITIATE_REQUEST,
    ApduTag.READ_REQUEST,
    ApduTag.WRITE_REQUEST,
    ApduTag.INITIATE_RESPONSE,
    ApduTag.READ_RESPONSE,
    ApduTag.WRITE_RESPONSE,
    ApduTag.CONFIRMED_SERVICE_ERROR,
    ApduTag.UNCONFIRMED_WRITE_REQUEST,
    ApduTag.INFORMATION_REPORT_REQUEST,
)
_LOGICAL_NAME = (
    ApduTag.GET_REQUEST,
    ApduTag.SET_REQUEST,
    ApduTag.EVENT_NOTIFICATION_REQUEST,
    ApduTag.ACTION_REQUEST,
    ApduTag.GET_RESPONSE,
    ApduTag.SET_RESPONSE,
    ApduTag.ACTION_RESPONSE,
)

GLOBAL_TAGS: Mapping[int, int] = _map(
    [(int(tag), tag + 0x20) for tag in _SN_AND_INITIATE]
    + [(int(tag), tag + 0x08) for tag in _LOGICAL_NAME]
)
"""Plain tag → glo- tag (initiate-request 0x01 → 0x21, get-request 0xC0 → 0xC8, ...)."""
DEDICATED_TAGS: Mapping[int, int] = _map(
    [(int(tag), tag + 0x40) for tag in _SN_AND_INITIATE]
    + [(int(tag), tag + 0x10) for tag in _LOGICAL_NAME]
)
"""Plain tag → ded- tag (ded-initiate-request 0x41 ... ded-get-request 0xD0 ...)."""

_GENERAL_GLO = int(ApduTag.GENERAL_GLO_CIPHERING)
_GENERAL_DED = int(ApduTag.GENERAL_DED_CIPHERING)
# ciphered tag → (dedicated key?, plain tag it must contain or None for the general forms)
_CIPHERED: Mapping[int, tuple[bool, int | None]] = MappingProxyType(
    {glo: (False, plain) for plain, glo in GLOBAL_TAGS.items()}
    | {ded: (True, plain) for plain, ded in DEDICATED_TAGS.items()}
    | {_GENERAL_GLO: (False, None), _GENERAL_DED: (True, None)}
)


@dataclass(frozen=True, slots=True)
class CipheredApdu:
    """A ciphered APDU split into its fields (not deciphered).

    ``system_title`` is only present in the general forms (it may be empty there, quirk 14);
    ``ciphered_content`` is the whole ``SC ‖ IC ‖ payload ‖ tag`` octet string.
    """

    tag: int
    ciphered_content: bytes
    system_title: bytes | None = None

    @property
    def security_control(self) -> SecurityControl:
        """The security control byte of the header."""
        return SecurityControl.from_byte(self.ciphered_content[0])

    @property
    def invocation_counter(self) -> int:
        """The invocation counter of the header."""
        return int.from_bytes(self.ciphered_content[1:5], "big")

    @property
    def dedicated(self) -> bool:
        """Whether the dedicated key protects it (ded- and general-ded forms)."""
        return _CIPHERED[self.tag][0]

    @property
    def plain_tag(self) -> int | None:
        """The tag of the APDU inside, for the service-specific forms."""
        return _CIPHERED[self.tag][1]

    def encode(self) -> bytes:
        """The APDU bytes."""
        if self.tag not in _CIPHERED:
            raise EncodeError(f"0x{self.tag:02x} is not a ciphered APDU tag")
        content = encode_length(len(self.ciphered_content)) + self.ciphered_content
        if self.tag in (_GENERAL_GLO, _GENERAL_DED):
            title = self.system_title or b""
            return bytes((self.tag,)) + encode_length(len(title)) + title + content
        return bytes((self.tag,)) + content

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Split a ciphered APDU (the whole input); raise :class:`DecipheringError` for an
        unknown tag, a truncated header or bytes after the ciphered content."""
        data = bytes(data)
        if not data:
            raise DecipheringError("empty APDU")
        tag = data[0]
        if tag not in _CIPHERED:
            raise DecipheringError(f"0x{tag:02x} is not a ciphered APDU tag", 0)
        pos = 1
        system_title: bytes | None = None
        if tag in (_GENERAL_GLO, _GENERAL_DED):
            size, pos = _length(data, pos, "the system title length")
            if size not in (0, SYSTEM_TITLE_LENGTH):
                raise DecipheringError(f"a system title of {size} bytes (8 expected)", 1)
            if pos + size > len(data):
                raise DecipheringError("truncated system title", pos)
            system_title = data[pos : pos + size]
            pos += size
        size, pos = _length(data, pos, "the ciphered content length")
        if size < SECURITY_HEADER_LENGTH:
            raise DecipheringError(
                f"ciphered content of {size} bytes cannot hold the 5-byte security header", pos
            )
        if pos + size > len(data):
            raise DecipheringError(
                f"truncated ciphered APDU: {size} bytes announced, {len(data) - pos} present", pos
            )
        if pos + size != len(data):
            raise DecipheringError(
                f"{len(data) - pos - size} bytes after the ciphered content", pos + size
            )
        return cls(tag, data[pos:], system_title)


def _length(data: bytes, pos: int, what: str) -> tuple[int, int]:
    if pos >= len(data):
        raise DecipheringError(f"truncated: expected {what}", pos)
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    size = first & 0x7F
    if size == 0 or size > 4 or pos + 1 + size > len(data):
        raise DecipheringError(f"bad or truncated {what}", pos)
    return int.from_bytes(data[pos + 1 : pos + 1 + size], "big"), pos + 1 + size
