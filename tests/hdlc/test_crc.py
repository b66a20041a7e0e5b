"""CRC-16/X.25 (HDLC HCS/FCS): the crc_hqx fast path against a plain reference."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from asyncdlms.hdlc.crc import (
    BIT_REVERSED,
    check_bytes,
    crc16_x25,
    is_valid_with_check_bytes,
)
from tests.conftest import vector


def _reference_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _reference_table()


def reference_crc16_x25(data: bytes) -> int:
    """Table-driven reflected CRC-16 (poly 0x8408 reflected, init 0xFFFF, xorout 0xFFFF)."""
    crc = 0xFFFF
    for byte in data:
        crc = (crc >> 8) ^ _TABLE[(crc ^ byte) & 0xFF]
    return crc ^ 0xFFFF


def test_check_value_of_the_standard_catalogue() -> None:
    # CRC-16/X.25 ("CRC-16/IBM-SDLC") check value over "123456789".
    assert crc16_x25(b"123456789") == 0x906E
    assert reference_crc16_x25(b"123456789") == 0x906E


def test_bit_reversal_table() -> None:
    assert BIT_REVERSED[0x01] == 0x80
    assert BIT_REVERSED[0x0F] == 0xF0
    assert BIT_REVERSED[0xA0] == 0x05
    assert all(BIT_REVERSED[BIT_REVERSED[value]] == value for value in range(256))


@given(st.binary(max_size=300))
def test_fast_path_equals_reference(data: bytes) -> None:
    assert crc16_x25(data) == reference_crc16_x25(data)
    assert crc16_x25(bytearray(data)) == crc16_x25(memoryview(data))


@given(st.binary(max_size=300))
def test_data_followed_by_its_check_bytes_is_valid(data: bytes) -> None:
    framed = data + check_bytes(data)
    assert check_bytes(data) == reference_crc16_x25(data).to_bytes(2, "little")
    assert is_valid_with_check_bytes(framed)
    assert is_valid_with_check_bytes(bytearray(framed))


@given(st.binary(min_size=1, max_size=100), st.data())
def test_single_bit_error_is_detected(data: bytes, draw: st.DataObject) -> None:
    framed = bytearray(data + check_bytes(data))
    bit = draw.draw(st.integers(0, len(framed) * 8 - 1))
    framed[bit // 8] ^= 1 << (bit % 8)
    assert not is_valid_with_check_bytes(framed)


def test_fcs_of_vector_snrm_and_short_ua() -> None:
    # Vector dlmscosem-hdlc-snrm-no-params-2byte-server: FCS BD 64 over A0 08 02 23 21 93.
    frame = bytes.fromhex(vector("dlmscosem-hdlc-snrm-no-params-2byte-server")["hex"])
    assert check_bytes(frame[1:-3]) == frame[-3:-1] == b"\xbd\x64"
    # Quirk 11 UA without information field: 7E A0 07 21 03 73 01 40 7E; FCS 01 40.
    assert check_bytes(bytes.fromhex("A007210373")) == b"\x01\x40"
