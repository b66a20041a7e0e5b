"""HDLC addresses: 1, 2 and 4 bytes, extension bits, same-station compare, serial numbers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncdlms.errors import DecodeError
from asyncdlms.hdlc.addresses import (
    HdlcAddress,
    decode_address,
    physical_address_from_serial_number,
    server_address_from_serial_number,
)
from tests.conftest import load_vectors


def test_client_address_is_one_byte() -> None:
    assert HdlcAddress.client(16).encode() == b"\x21"
    assert HdlcAddress.client(1).encode() == b"\x03"
    assert HdlcAddress.client(0x7F).encode() == b"\xff"


def test_server_address_lengths() -> None:
    assert HdlcAddress.server(1).encode() == b"\x03"
    # Vector dlmscosem-hdlc-snrm-no-params-2byte-server: server 1/17 is 02 23.
    assert HdlcAddress.server(1, 17).encode() == b"\x02\x23"
    assert HdlcAddress.server(1, 17).length == 2
    assert HdlcAddress.server(1, 17, length=4).encode() == b"\x00\x02\x00\x23"
    four = HdlcAddress.server(0x3FFF, 0x3FFF)
    assert four.length == 4
    assert four.encode() == b"\xfe\xfe\xfe\xff"
    assert HdlcAddress.server(1, 6678).encode() == bytes((0x00, 0x02, 0x68, 0x2D))


@pytest.mark.parametrize(
    ("address", "message"),
    [
        (lambda: HdlcAddress(128), "7 bits"),
        (lambda: HdlcAddress(1, 5, 1), "no physical part"),
        (lambda: HdlcAddress(1, None, 2), "needs a physical part"),
        (lambda: HdlcAddress(1, 128, 2), "7 bits"),
        (lambda: HdlcAddress(1, 0x4000, 4), "14 bits"),
        (lambda: HdlcAddress(1, 1, 3), "1, 2 or 4"),
        (lambda: HdlcAddress(-1), "7 bits"),
    ],
)
def test_invalid_addresses_raise_value_error(address: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        address()  # type: ignore[operator]


@given(
    st.one_of(
        st.builds(HdlcAddress, st.integers(0, 127)),
        st.builds(HdlcAddress, st.integers(0, 127), st.integers(0, 127), st.just(2)),
        st.builds(HdlcAddress, st.integers(0, 0x3FFF), st.integers(0, 0x3FFF), st.just(4)),
    )
)
def test_round_trip(address: HdlcAddress) -> None:
    encoded = address.encode()
    assert len(encoded) == address.length
    assert all(byte & 1 == 0 for byte in encoded[:-1]) and encoded[-1] & 1 == 1
    assert HdlcAddress.decode(encoded) == address
    assert decode_address(b"\xaa" + encoded + b"\x55", 1) == (address, 1 + address.length)
    assert HdlcAddress.from_int(address.to_int(), address.length) == address


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "past the end"),
        (b"\x02", "past the end"),
        (b"\x02\x04\x07", "3 bytes"),
        (b"\x02\x04\x06\x08\x0b", "longer than 4"),
    ],
)
def test_decode_errors(data: bytes, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason) as info:
        HdlcAddress.decode(data)
    assert info.value.offset == 0


def test_decode_rejects_bytes_after_the_extension_bit() -> None:
    with pytest.raises(DecodeError, match="after the end"):
        HdlcAddress.decode(b"\x03\x05")


def test_same_station_whatever_the_length() -> None:
    sent = HdlcAddress.server(1, 17)
    assert sent.same_station(HdlcAddress(1, 17, 4))  # answered with 4 bytes
    assert sent.same_station(HdlcAddress(1))  # answered with 1 byte (upper only)
    assert HdlcAddress(1).same_station(sent)
    assert not sent.same_station(HdlcAddress(1, 18, 2))
    assert not sent.same_station(HdlcAddress(2))
    assert sent != HdlcAddress(1, 17, 4)  # == stays exact (byte-level) equality
    assert sent.normalised() == HdlcAddress(1, 17, 4).normalised() == (1, 17)


def test_to_int_as_gurux_writes_it() -> None:
    assert HdlcAddress.server(1, 17).to_int() == (1 << 7) | 17
    assert HdlcAddress.server(1, 6678).to_int() == (1 << 14) | 6678
    assert HdlcAddress.client(16).to_int() == 16
    assert str(HdlcAddress.server(1, 17)) == "1/17"


def test_physical_address_from_serial_number() -> None:
    assert physical_address_from_serial_number(12345678) == 5678 + 1000
    assert physical_address_from_serial_number(10000) == 1000
    # Left to right, no operator precedence: (SN + 2) * 3, not SN + 6.
    assert physical_address_from_serial_number(10, "SN + 2 * 3") == 36
    assert physical_address_from_serial_number(1234, "sn/10-3") == 120
    address = server_address_from_serial_number(12345678)
    assert address == HdlcAddress(1, 6678, 4)
    with pytest.raises(ValueError):
        physical_address_from_serial_number(1, "(SN + 1)")
    with pytest.raises(ValueError):
        physical_address_from_serial_number(1, "SN + x")
    with pytest.raises(ValueError):
        physical_address_from_serial_number(100000, "SN * 1")  # over 14 bits


def test_addresses_of_every_hdlc_vector() -> None:
    # Every "hdlc" vector states the address bytes and their decoded parts in its
    # verification; decode them and compare.
    checked = 0
    for item in load_vectors("hdlc"):
        check = item["verification"]
        if "dest_address_bytes" not in check:
            continue
        for role in ("dest", "src"):
            raw = bytes.fromhex(check[f"{role}_address_bytes"])
            decoded = check[f"{role}_address_decoded"]
            address = HdlcAddress.decode(raw)
            assert address.encode() == raw, item["id"]
            if "logical" in decoded:
                assert address == HdlcAddress(decoded["logical"]), item["id"]
            else:
                assert (address.logical, address.physical) == (
                    decoded["upper"],
                    decoded["lower"],
                ), item["id"]
            checked += 1
    assert checked >= 18
