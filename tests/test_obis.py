"""Tests of asyncdlms.obis: every accepted notation, formatting back, and clear errors."""

from __future__ import annotations

import copy
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncdlms.errors import DlmsError
from asyncdlms.obis import InvalidObisError, Obis

ENERGY = (1, 0, 1, 8, 0, 255)


@pytest.mark.parametrize(
    "notation",
    [
        "1.0.1.8.0.255",
        "1-0:1.8.0*255",
        "1-0:1.8.0.255",
        "1-0:1.8.0&255",  # '&' before F: EMH ITZ IEC 62056-21 readouts (smartmeter-obis #6)
        "1-0:1.8.0",  # F omitted: 255
        "  1.0.1.8.0.255\n",
        "\t1-0:1.8.0*255 ",
        "001.000.001.008.000.255",
        b"\x01\x00\x01\x08\x00\xff",
        bytearray(b"\x01\x00\x01\x08\x00\xff"),
        memoryview(b"\x01\x00\x01\x08\x00\xff"),
        ENERGY,
        list(ENERGY),
    ],
)
def test_every_notation_parses(notation: object) -> None:
    obis = Obis(notation)  # type: ignore[call-overload]
    assert obis == ENERGY
    assert type(obis) is Obis
    assert Obis.parse(notation) == obis  # type: ignore[arg-type]


def test_six_ints_and_other_obis() -> None:
    obis = Obis(1, 0, 1, 8, 0, 255)
    assert obis == ENERGY
    assert Obis(obis) is obis
    assert Obis.from_bytes(b"\x00\x00\x01\x00\x00\xff") == Obis("0.0.1.0.0.255")


def test_fields_and_formatting() -> None:
    obis = Obis("1-0:2.8.3*12")
    assert (obis.a, obis.b, obis.c, obis.d, obis.e, obis.f) == (1, 0, 2, 8, 3, 12)
    assert str(obis) == obis.to_dotted() == "1.0.2.8.3.12"
    assert obis.to_iec() == "1-0:2.8.3*12"
    assert bytes(obis) == obis.to_bytes() == b"\x01\x00\x02\x08\x03\x0c"
    assert repr(obis) == "Obis('1.0.2.8.3.12')"
    assert eval(repr(obis)) == obis


def test_immutable_hashable_ordered() -> None:
    first, second = Obis("1.0.1.8.0.255"), Obis("1.0.2.8.0.255")
    assert first < second
    assert sorted([second, first]) == [first, second]
    assert {first: 1}[Obis("1-0:1.8.0")] == 1
    with pytest.raises(AttributeError):
        first.a = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        first[0] = 2  # type: ignore[index]
    assert pickle.loads(pickle.dumps(first)) == first
    assert type(pickle.loads(pickle.dumps(first))) is Obis
    assert copy.deepcopy(first) == first


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        ("1.0.1.8.0.255.1", "7 value groups"),
        ("1.0.1.8.0.256", "F is 256"),
        ("1-0:1.8.0*999", "F is 999"),
        ("300-0:1.8.0*255", "A is 300"),
        ("-1.0.1.8.0.255", "group 1 is empty"),
        ("1.0.1.8.0.-1", "group 6 is empty"),
        ("1.0.x.8.0.255", "'x' is not a decimal number"),
        ("1.0.1.8.0.FF", "'FF' is not a decimal number"),
        ("1..1.8.0.255", "group 2 is empty"),
        ("1.0.1.8.0.", "group 6 is empty"),
        ("1.8.0", "3 value groups"),
        ("1.0.1.8.0", "unexpected separators"),
        ("1:0-1.8.0*255", "unexpected separators"),
        ("1-0:1.8.0/255", "'0/255' is not a decimal number"),
        ("1 .0.1.8.0.255", "'1 ' is not a decimal number"),
        ("", "empty"),
        ("   ", "empty"),
        ("\u0661.0.1.8.0.255", "not a decimal number"),
        (b"\x01\x00\x01\x08\x00", "5 bytes, expected 6"),
        (b"\x01\x00\x01\x08\x00\xff\x00", "7 bytes, expected 6"),
        ((1, 0, 1, 8, 0), "5 values, expected 6"),
        ((1, 0, 1, 8, 0, 256), "F is 256, outside 0..255"),
        ((1, 0, -1, 8, 0, 255), "C is -1, outside 0..255"),
        ((1, 0, 1.0, 8, 0, 255), "C is 1.0, not an int"),
        ((True, 0, 1, 8, 0, 255), "A is True, not an int"),
        (1.5, "not float"),
        (None, "not NoneType"),
    ],
)
def test_malformed_input_raises_clear_error(bad: object, fragment: str) -> None:
    with pytest.raises(InvalidObisError) as info:
        Obis(bad)  # type: ignore[call-overload]
    assert fragment in str(info.value)
    assert "invalid OBIS code" in str(info.value)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, DlmsError)


def test_wrong_argument_count() -> None:
    with pytest.raises(InvalidObisError, match="not 3"):
        Obis(1, 2, 3)  # type: ignore[call-overload]


groups = st.tuples(*[st.integers(0, 255)] * 6)


@given(groups)
def test_round_trip_every_notation(values: tuple[int, int, int, int, int, int]) -> None:
    obis = Obis(values)
    assert Obis(str(obis)) == obis
    assert Obis(obis.to_dotted()) == obis
    assert Obis(obis.to_iec()) == obis
    assert Obis(obis.to_iec().replace("*", ".")) == obis
    assert Obis(bytes(obis)) == obis
    assert Obis.from_bytes(obis.to_bytes()) == obis
    assert tuple(obis) == values


@given(st.binary(min_size=6, max_size=6))
def test_any_six_bytes_round_trip(data: bytes) -> None:
    assert bytes(Obis(data)) == data


@given(st.text(alphabet="0123456789.-:*&/ x\u0661", max_size=24) | st.text(max_size=24))
def test_random_strings_raise_only_invalid_obis_error(text: str) -> None:
    try:
        obis = Obis(text)
    except InvalidObisError as error:
        assert repr(text) in str(error)
    else:
        assert Obis(str(obis)) == obis


@given(st.binary(max_size=12))
def test_random_bytes_raise_only_invalid_obis_error(data: bytes) -> None:
    try:
        obis = Obis(data)
    except InvalidObisError:
        assert len(data) != 6
    else:
        assert bytes(obis) == data
