"""xDLMS InitiateRequest and InitiateResponse (IEC 62056-5-3), carried in ACSE user-information.

Both are A-XDR encoded: optional fields as 0x00 (absent) or 0x01 then the value, the
``response-allowed`` BOOLEAN DEFAULT TRUE as 0x00 (default) or 0x01 then the value, and the
conformance block as the BER ``[APPLICATION 31] IMPLICIT BIT STRING (SIZE(24))``:
``5F 1F 04 00 xx xx xx``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntFlag
from typing import Self

from ..errors import DecodeError, EncodeError
from .tags import ApduTag

__all__ = [
    "LN_VAA_NAME",
    "SN_VAA_NAME",
    "Conformance",
    "InitiateRequest",
    "InitiateResponse",
    "decode_conformance",
    "encode_conformance",
]

LN_VAA_NAME = 0x0007
"""vaa-name of the InitiateResponse with logical-name referencing."""
SN_VAA_NAME = 0xFA00
"""vaa-name of the InitiateResponse with short-name referencing (base name of Association SN)."""

_CONFORMANCE_TAG = b"\x5f\x1f"
_CONFORMANCE_LENGTH = 4


class Conformance(IntFlag):
    """The xDLMS conformance block: 24 bits, bit 0 of the standard is the most significant.

    The integer value is the three conformance bytes read big-endian, so
    ``Conformance(0x00501F)`` is the block ``00 50 1F``.
    """

    # bit 0: reserved-zero
    GENERAL_PROTECTION = 1 << 22  # bit 1
    GENERAL_BLOCK_TRANSFER = 1 << 21  # bit 2
    READ = 1 << 20  # bit 3
    WRITE = 1 << 19  # bit 4
    UNCONFIRMED_WRITE = 1 << 18  # bit 5
    DELTA_VALUE_ENCODING = 1 << 17  # bit 6 (reserved-six before DLMS UA 1000-2 Ed. 10)
    # bit 7: reserved-seven
    ATTRIBUTE0_SUPPORTED_WITH_SET = 1 << 15  # bit 8
    PRIORITY_MGMT_SUPPORTED = 1 << 14  # bit 9
    ATTRIBUTE0_SUPPORTED_WITH_GET = 1 << 13  # bit 10
    BLOCK_TRANSFER_WITH_GET_OR_READ = 1 << 12  # bit 11
    BLOCK_TRANSFER_WITH_SET_OR_WRITE = 1 << 11  # bit 12
    BLOCK_TRANSFER_WITH_ACTION = 1 << 10  # bit 13
    MULTIPLE_REFERENCES = 1 << 9  # bit 14
    INFORMATION_REPORT = 1 << 8  # bit 15
    DATA_NOTIFICATION = 1 << 7  # bit 16
    ACCESS = 1 << 6  # bit 17
    PARAMETERIZED_ACCESS = 1 << 5  # bit 18
    GET = 1 << 4  # bit 19
    SET = 1 << 3  # bit 20
    SELECTIVE_ACCESS = 1 << 2  # bit 21
    EVENT_NOTIFICATION = 1 << 1  # bit 22
    ACTION = 1 << 0  # bit 23


def encode_conformance(conformance: Conformance | int) -> bytes:
    """Encode the conformance block as ``5F 1F 04 00`` followed by its three bytes."""
    value = int(conformance)
    if not 0 <= value <= 0xFFFFFF:
        raise EncodeError(f"a conformance block has 24 bits, not 0x{value:x}")
    return _CONFORMANCE_TAG + b"\x04\x00" + value.to_bytes(3, "big")


def decode_conformance(data: bytes, offset: int) -> tuple[Conformance, int]:
    """Decode a conformance block at ``offset``; return it and the offset after it."""
    if data[offset : offset + 2] != _CONFORMANCE_TAG:
        raise DecodeError("expected the conformance block tag 5F 1F", offset)
    if offset + 7 > len(data):
        raise DecodeError("truncated conformance block (7 bytes expected)", offset)
    if data[offset + 2] != _CONFORMANCE_LENGTH:
        raise DecodeError(
            f"conformance block of length {data[offset + 2]} (4 expected)", offset + 2
        )
    if data[offset + 3] > 7:
        raise DecodeError(f"conformance block with {data[offset + 3]} unused bits", offset + 3)
    value = int.from_bytes(data[offset + 4 : offset + 7], "big")
    return Conformance(value), offset + 7


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise EncodeError(f"{name} must be in {low}..{high}, not {value}")


def _need(data: bytes, offset: int, size: int, what: str) -> None:
    if offset + size > len(data):
        raise DecodeError(f"truncated: expected {what}", offset)


def _optional_int8(data: bytes, offset: int, what: str) -> tuple[int | None, int]:
    _need(data, offset, 1, f"the {what} presence flag")
    flag = data[offset]
    if flag == 0:
        return None, offset + 1
    if flag != 1:
        raise DecodeError(f"{what}: presence flag 0x{flag:02x} (0x00 or 0x01 expected)", offset)
    _need(data, offset + 1, 1, what)
    return int.from_bytes(data[offset + 1 : offset + 2], "big", signed=True), offset + 2


def _encode_optional_int8(value: int | None, name: str) -> bytes:
    if value is None:
        return b"\x00"
    _check_range(name, value, -128, 127)
    return b"\x01" + value.to_bytes(1, "big", signed=True)


def _check_end(data: bytes, offset: int, name: str) -> None:
    if offset != len(data):
        raise DecodeError(f"{len(data) - offset} bytes after the {name}", offset)


@dataclass(frozen=True, slots=True)
class InitiateRequest:
    """xDLMS InitiateRequest: what the client proposes (sent in the AARQ user-information)."""

    proposed_conformance: Conformance
    client_max_receive_pdu_size: int = 0xFFFF
    proposed_dlms_version_number: int = 6
    dedicated_key: bytes | None = field(default=None, repr=False)  # a key: never shown
    response_allowed: bool = True
    proposed_quality_of_service: int | None = None

    def encode(self) -> bytes:
        """Encode as A-XDR, starting with the tag 0x01."""
        _check_range("proposed_dlms_version_number", self.proposed_dlms_version_number, 0, 255)
        _check_range("client_max_receive_pdu_size", self.client_max_receive_pdu_size, 0, 0xFFFF)
        out = bytearray((ApduTag.INITIATE_REQUEST,))
        if self.dedicated_key is None:
            out.append(0)
        else:
            if len(self.dedicated_key) > 0x7F:
                raise EncodeError("a dedicated key is at most 127 bytes long")
            out += bytes((1, len(self.dedicated_key))) + self.dedicated_key
        out += b"\x00" if self.response_allowed else b"\x01\x00"
        out += _encode_optional_int8(
            self.proposed_quality_of_service, "proposed_quality_of_service"
        )
        out.append(self.proposed_dlms_version_number)
        out += encode_conformance(self.proposed_conformance)
        out += self.client_max_receive_pdu_size.to_bytes(2, "big")
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode an InitiateRequest (the whole input, tag 0x01 first)."""
        data = bytes(data)
        _need(data, 0, 1, "the InitiateRequest tag 0x01")
        if data[0] != ApduTag.INITIATE_REQUEST:
            raise DecodeError(f"expected InitiateRequest (0x01), got 0x{data[0]:02x}", 0)
        pos = 1
        _need(data, pos, 1, "the dedicated-key presence flag")
        dedicated_key: bytes | None = None
        if data[pos] == 1:
            _need(data, pos + 1, 1, "the dedicated-key length")
            size = data[pos + 1]
            if size > 0x7F:
                raise DecodeError(f"dedicated-key length 0x{size:02x} too long", pos + 1)
            _need(data, pos + 2, size, f"a dedicated key of {size} bytes")
            dedicated_key = data[pos + 2 : pos + 2 + size]
            pos += 2 + size
        elif data[pos] == 0:
            pos += 1
        else:
            raise DecodeError(f"dedicated-key presence flag 0x{data[pos]:02x}", pos)
        _need(data, pos, 1, "the response-allowed flag")
        response_allowed = True
        if data[pos] == 1:
            _need(data, pos + 1, 1, "the response-allowed value")
            response_allowed = data[pos + 1] != 0
            pos += 2
        elif data[pos] == 0:
            pos += 1
        else:
            raise DecodeError(f"response-allowed flag 0x{data[pos]:02x}", pos)
        quality_of_service, pos = _optional_int8(data, pos, "proposed-quality-of-service")
        _need(data, pos, 1, "proposed-dlms-version-number")
        version = data[pos]
        conformance, pos = decode_conformance(data, pos + 1)
        _need(data, pos, 2, "client-max-receive-pdu-size")
        max_pdu = int.from_bytes(data[pos : pos + 2], "big")
        _check_end(data, pos + 2, "InitiateRequest")
        return cls(
            proposed_conformance=conformance,
            client_max_receive_pdu_size=max_pdu,
            proposed_dlms_version_number=version,
            dedicated_key=dedicated_key,
            response_allowed=response_allowed,
            proposed_quality_of_service=quality_of_service,
        )


@dataclass(frozen=True, slots=True)
class InitiateResponse:
    """xDLMS InitiateResponse: what the server grants (in the AARE user-information).

    ``server_max_receive_pdu_size`` 0 means the server sets no limit (quirk 19).
    """

    negotiated_conformance: Conformance
    server_max_receive_pdu_size: int
    negotiated_dlms_version_number: int = 6
    vaa_name: int = LN_VAA_NAME
    negotiated_quality_of_service: int | None = None

    def encode(self) -> bytes:
        """Encode as A-XDR, starting with the tag 0x08."""
        _check_range("negotiated_dlms_version_number", self.negotiated_dlms_version_number, 0, 255)
        _check_range("server_max_receive_pdu_size", self.server_max_receive_pdu_size, 0, 0xFFFF)
        _check_range("vaa_name", self.vaa_name, 0, 0xFFFF)
        return (
            bytes((ApduTag.INITIATE_RESPONSE,))
            + _encode_optional_int8(
                self.negotiated_quality_of_service, "negotiated_quality_of_service"
            )
            + bytes((self.negotiated_dlms_version_number,))
            + encode_conformance(self.negotiated_conformance)
            + self.server_max_receive_pdu_size.to_bytes(2, "big")
            + self.vaa_name.to_bytes(2, "big")
        )

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Decode an InitiateResponse (the whole input, tag 0x08 first)."""
        data = bytes(data)
        _need(data, 0, 1, "the InitiateResponse tag 0x08")
        if data[0] != ApduTag.INITIATE_RESPONSE:
            raise DecodeError(f"expected InitiateResponse (0x08), got 0x{data[0]:02x}", 0)
        quality_of_service, pos = _optional_int8(data, 1, "negotiated-quality-of-service")
        _need(data, pos, 1, "negotiated-dlms-version-number")
        version = data[pos]
        conformance, pos = decode_conformance(data, pos + 1)
        _need(data, pos, 4, "server-max-receive-pdu-size and vaa-name")
        max_pdu = int.from_bytes(data[pos : pos + 2], "big")
        vaa_name = int.from_bytes(data[pos + 2 : pos + 4], "big")
        _check_end(data, pos + 4, "InitiateResponse")
        return cls(
            negotiated_conformance=conformance,
            server_max_receive_pdu_size=max_pdu,
            negotiated_dlms_version_number=version,
            vaa_name=vaa_name,
            negotiated_quality_of_service=quality_of_service,
        )

    @property
    def referencing(self) -> str:
        """``"LN"`` or ``"SN"`` as told by the vaa-name (0x0007 / 0xFA00), else ``"unknown"``."""
        if self.vaa_name == LN_VAA_NAME:
            return "LN"
        if self.vaa_name == SN_VAA_NAME:
            return "SN"
        return "unknown"
