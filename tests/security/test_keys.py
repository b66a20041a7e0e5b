"""Security setup key transfer: RFC 3394 key wrap and the global_key_transfer parameters."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap

from asyncdlms import axdr
from asyncdlms.errors import EncodeError
from asyncdlms.security import (
    GLOBAL_KEY_TRANSFER_METHOD,
    SECURITY_ACTIVATE_METHOD,
    SECURITY_SETUP_CLASS_ID,
    DecipheringError,
    KeyId,
    Secret,
    SecurityPolicy,
    global_key_transfer_parameters,
    security_activate_parameter,
    unwrap_key,
    wrap_key,
)
from asyncdlms.types import Array, Enum, OctetString, Structure

# RFC 3394 section 4.1: 128-bit KEK, 128-bit key data.
RFC_KEK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
RFC_KEY = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
RFC_WRAPPED = bytes.fromhex("1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5")


def test_rfc3394_vector() -> None:
    assert wrap_key(Secret(RFC_KEK), Secret(RFC_KEY)) == RFC_WRAPPED
    assert unwrap_key(RFC_KEK, RFC_WRAPPED) == Secret(RFC_KEY)
    with pytest.raises(DecipheringError, match="check the master key"):
        unwrap_key(bytes(16), RFC_WRAPPED)
    with pytest.raises(DecipheringError):
        unwrap_key(RFC_KEK, RFC_WRAPPED[:-1])
    with pytest.raises(EncodeError, match="16 bytes"):
        wrap_key(RFC_KEK, bytes(32))


def test_global_key_transfer_parameters() -> None:
    new_unicast = bytes(range(0x10, 0x20))
    new_authentication = bytes(range(0x30, 0x40))
    keys: dict[KeyId, Secret | bytes] = {
        KeyId.GLOBAL_UNICAST_ENCRYPTION_KEY: Secret(new_unicast),
        KeyId.AUTHENTICATION_KEY: new_authentication,
    }
    parameters = global_key_transfer_parameters(Secret(RFC_KEK), keys)
    assert isinstance(parameters, Array) and len(parameters) == 2
    first, second = parameters
    assert isinstance(first, Structure) and isinstance(second, Structure)
    assert first[0] == Enum(0) and isinstance(first[0], Enum)
    assert second[0] == Enum(2)
    assert isinstance(first[1], OctetString) and len(first[1]) == 24
    assert isinstance(second[1], OctetString)
    assert aes_key_unwrap(RFC_KEK, first[1]) == new_unicast
    assert aes_key_unwrap(RFC_KEK, second[1]) == new_authentication
    encoded = axdr.encode(parameters)
    assert encoded[:6] == bytes.fromhex("0102 0202 1600".replace(" ", ""))
    assert encoded[6:8] == b"\x09\x18"
    assert len(encoded) == 2 + 2 * (2 + 2 + 2 + 24)
    assert new_unicast not in encoded and new_authentication not in encoded
    assert (SECURITY_SETUP_CLASS_ID, GLOBAL_KEY_TRANSFER_METHOD, SECURITY_ACTIVATE_METHOD) == (
        64,
        2,
        1,
    )
    assert [int(k) for k in KeyId] == [0, 1, 2, 3]
    # as pairs, in order
    pairs = global_key_transfer_parameters(RFC_KEK, [(KeyId.MASTER_KEY, RFC_KEY)])
    assert pairs == Array([Structure((Enum(3), OctetString(wrap_key(RFC_KEK, RFC_KEY))))])
    with pytest.raises(EncodeError, match="twice"):
        global_key_transfer_parameters(RFC_KEK, [(KeyId.MASTER_KEY, RFC_KEY)] * 2)
    with pytest.raises(EncodeError, match="at least one"):
        global_key_transfer_parameters(RFC_KEK, {})


def test_security_activate_parameter() -> None:
    assert security_activate_parameter(SecurityPolicy.AUTHENTICATED_ENCRYPTION) == Enum(3)
    assert (
        axdr.encode(security_activate_parameter(SecurityPolicy.AUTHENTICATION_ONLY)) == b"\x16\x01"
    )
