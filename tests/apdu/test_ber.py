"""BER subset: lengths, tags, OBJECT IDENTIFIER, BIT STRING, INTEGER, bounds."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncdlms.apdu import ber
from asyncdlms.errors import DecodeError, EncodeError


@pytest.mark.parametrize(
    ("length", "encoded"),
    [
        (0, "00"),
        (0x7F, "7f"),
        (0x80, "8180"),
        (0xFF, "81ff"),
        (0x100, "820100"),
        (0x10000, "83010000"),
    ],
)
def test_length_short_and_long_form(length: int, encoded: str) -> None:
    assert ber.encode_length(length).hex() == encoded
    assert ber.decode_length(bytes.fromhex(encoded), 0) == (length, len(encoded) // 2)


def test_length_refuses_indefinite_and_oversized_forms() -> None:
    with pytest.raises(DecodeError, match="indefinite"):
        ber.decode_length(b"\x80", 0)
    with pytest.raises(DecodeError, match="length bytes"):
        ber.decode_length(b"\x85\x01\x02\x03\x04\x05", 0)
    with pytest.raises(DecodeError, match="truncated"):
        ber.decode_length(b"\x82\x01", 0)
    with pytest.raises(EncodeError):
        ber.encode_length(-1)


def test_declared_length_beyond_input_is_refused_before_slicing() -> None:
    # 4 GB announced, 2 bytes present: refused at once with the element's offset
    with pytest.raises(DecodeError) as info:
        ber.read_element(b"\x04\x84\xff\xff\xff\xff\x00\x00")
    assert info.value.offset == 0
    assert "declares" in info.value.reason


def test_multi_byte_tags() -> None:
    element = ber.read_element(bytes.fromhex("5f1f0400001e1d"))
    assert element.tag == 0x5F1F
    assert (element.value_start, element.value_end) == (3, 7)
    assert ber.encode_tag(0x5F1F) == b"\x5f\x1f"
    with pytest.raises(DecodeError, match="longer than"):
        ber.read_element(bytes.fromhex("1f8181818101"))
    with pytest.raises(DecodeError, match="truncated"):
        ber.read_element(bytes.fromhex("1f81"))


def test_nested_context_tags() -> None:
    data = bytes.fromhex("a305a103020100")
    outer = ber.read_element(data)
    assert outer.tag == 0xA3 and outer.constructed
    (inner,) = ber.iterate_elements(data, outer.value_start, outer.value_end)
    assert inner.tag == 0xA1
    (integer,) = ber.iterate_elements(data, inner.value_start, inner.value_end)
    assert ber.decode_integer(data, integer) == 0


@pytest.mark.parametrize(
    ("arcs", "encoded"),
    [
        ((2, 16, 756, 5, 8, 1, 1), "60857405080101"),  # LN application context
        ((2, 16, 756, 5, 8, 2, 5), "60857405080205"),  # HLS-GMAC mechanism name
        ((1, 2, 840, 113549), "2a864886f70d"),  # RSA arc, the X.690 example
    ],
)
def test_object_identifier(arcs: tuple[int, ...], encoded: str) -> None:
    assert ber.encode_object_identifier(arcs).hex() == encoded
    data = ber.encode_element(ber.TAG_OBJECT_IDENTIFIER, bytes.fromhex(encoded))
    assert ber.decode_object_identifier(data, ber.read_element(data)) == arcs


def test_object_identifier_errors() -> None:
    for bad in ("0600", "060260ff", "06026080"):
        data = bytes.fromhex(bad)
        with pytest.raises(DecodeError):
            ber.decode_object_identifier(data, ber.read_element(data))
    with pytest.raises(EncodeError):
        ber.encode_object_identifier((3, 1))


@given(st.lists(st.integers(0, 2**32), min_size=1, max_size=10), st.integers(0, 2), st.data())
def test_object_identifier_round_trip(tail: list[int], first: int, data: st.DataObject) -> None:
    second = data.draw(st.integers(0, 39 if first < 2 else 1000))
    arcs = (first, second, *tail)
    element = ber.encode_element(ber.TAG_OBJECT_IDENTIFIER, ber.encode_object_identifier(arcs))
    assert ber.decode_object_identifier(element, ber.read_element(element)) == arcs


def test_bit_string_acse_requirements() -> None:
    # ACSE-requirements with only the authentication functional unit: 07 80
    assert ber.encode_bit_string((True,)).hex() == "0780"
    data = bytes.fromhex("8a020780")
    assert ber.decode_bit_string(data, ber.read_element(data)) == (True,)
    for bad in ("8a0108", "8a00", "8a010100"):
        raw = bytes.fromhex(bad)
        with pytest.raises(DecodeError):
            ber.decode_bit_string(raw, ber.read_element(raw))


@given(st.lists(st.booleans(), max_size=40))
def test_bit_string_round_trip(bits: list[bool]) -> None:
    data = ber.encode_element(ber.TAG_BIT_STRING, ber.encode_bit_string(tuple(bits)))
    assert ber.decode_bit_string(data, ber.read_element(data)) == tuple(bits)


@given(st.integers(-(2**63), 2**63 - 1))
def test_integer_round_trip_shortest(value: int) -> None:
    contents = ber.encode_integer(value)
    data = ber.encode_element(ber.TAG_INTEGER, contents)
    assert ber.decode_integer(data, ber.read_element(data)) == value
    # shortest two's complement form: no redundant leading 00/FF byte
    if len(contents) > 1:
        assert not (contents[0] == 0 and contents[1] < 0x80)
        assert not (contents[0] == 0xFF and contents[1] >= 0x80)


@given(st.binary(max_size=64))
def test_random_bytes_give_only_decode_errors(data: bytes) -> None:
    try:
        for element in ber.iterate_elements(data, 0, len(data)):
            assert element.value_end <= len(data)
    except DecodeError:
        pass
