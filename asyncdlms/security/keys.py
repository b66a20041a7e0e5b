"""Security setup (interface class 64) key transfer: RFC 3394 AES key wrap of new global keys.

``global_key_transfer`` (method 2 of security setup) takes an array of ``key_data``
structures ``{key_id: enum, key_wrapped: octet-string}``; each new key is wrapped with the
master key (KEK) by the AES key wrap algorithm (RFC 3394, default IV A6A6A6A6A6A6A6A6), done by
``cryptography``. :func:`global_key_transfer_parameters` gives that array as A-XDR values for
an ACTION on the security setup object (e.g. ``0.0.43.0.x.255``). The new keys take effect
for the *next* APDU after the meter's answer, so a session must switch its
:class:`~asyncdlms.security.ciphering.SecurityContext` only after a successful action-response.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import IntEnum

from cryptography.hazmat.primitives.keywrap import (
    InvalidUnwrap,
    aes_key_unwrap,
    aes_key_wrap,
)

from ..errors import EncodeError
from ..types import Array, Enum, OctetString, Structure
from .ciphering import KEY_LENGTH, SecurityPolicy
from .exceptions import DecipheringError
from .hls import Secret

__all__ = [
    "GLOBAL_KEY_TRANSFER_METHOD",
    "SECURITY_ACTIVATE_METHOD",
    "SECURITY_SETUP_CLASS_ID",
    "KeyId",
    "global_key_transfer_parameters",
    "security_activate_parameter",
    "unwrap_key",
    "wrap_key",
]

SECURITY_SETUP_CLASS_ID = 64
"""Security setup interface class id."""
SECURITY_ACTIVATE_METHOD = 1
"""security_activate (security_policy)."""
GLOBAL_KEY_TRANSFER_METHOD = 2
"""global_key_transfer (array of key_data)."""


class KeyId(IntEnum):
    """The key_id enum of global_key_transfer."""

    GLOBAL_UNICAST_ENCRYPTION_KEY = 0
    GLOBAL_BROADCAST_ENCRYPTION_KEY = 1
    AUTHENTICATION_KEY = 2
    MASTER_KEY = 3
    """The key encryption key (KEK)."""


def _key(key: Secret | bytes, what: str) -> bytes:
    value = key.value if isinstance(key, Secret) else bytes(key)
    if len(value) != KEY_LENGTH:
        raise EncodeError(f"the {what} of security suite 0 is 16 bytes long, not {len(value)}")
    return value


def wrap_key(master_key: Secret | bytes, key: Secret | bytes) -> bytes:
    """``key`` wrapped with the master key (KEK): RFC 3394, 24 bytes for a 16-byte key."""
    return aes_key_wrap(_key(master_key, "master key (KEK)"), _key(key, "key to wrap"))


def unwrap_key(master_key: Secret | bytes, wrapped_key: bytes) -> Secret:
    """The key inside ``wrapped_key`` (server role); raise :class:`DecipheringError` when its
    integrity check fails (wrong master key or damaged data)."""
    try:
        return Secret(aes_key_unwrap(_key(master_key, "master key (KEK)"), bytes(wrapped_key)))
    except (InvalidUnwrap, ValueError):
        raise DecipheringError(
            "AES key unwrap failed: the integrity check does not match — check the master "
            "key (KEK), or the wrapped key is damaged"
        ) from None


def global_key_transfer_parameters(
    master_key: Secret | bytes,
    keys: Mapping[KeyId, Secret | bytes] | Iterable[tuple[KeyId, Secret | bytes]],
) -> Array:
    """The global_key_transfer method parameter: ``array of structure {key_id enum,
    key_wrapped octet-string}``, each key wrapped with ``master_key``, in the order given.

    Encode it with :func:`asyncdlms.axdr.encode` for the ACTION request of method
    :data:`GLOBAL_KEY_TRANSFER_METHOD` on class :data:`SECURITY_SETUP_CLASS_ID`.
    """
    items = list(keys.items() if isinstance(keys, Mapping) else keys)
    if not items:
        raise EncodeError("global_key_transfer needs at least one key")
    seen: set[KeyId] = set()
    entries = []
    for key_id, key in items:
        key_id = KeyId(key_id)
        if key_id in seen:
            raise EncodeError(f"key {key_id.name.lower()} given twice")
        seen.add(key_id)
        entries.append(Structure((Enum(int(key_id)), OctetString(wrap_key(master_key, key)))))
    return Array(entries)


def security_activate_parameter(policy: SecurityPolicy) -> Enum:
    """The security_activate method parameter (security setup version 0 security_policy)."""
    return Enum(SecurityPolicy(policy).security_setup_value)
