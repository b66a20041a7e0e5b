"""The general-ciphering (0xDD) and general-signing (0xDF) codecs
(asyncdlms.apdu.general_protection)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncdlms.apdu.general_protection import (
    AgreedKey,
    GeneralCiphering,
    GeneralSigning,
    IdentifiedKey,
    KeyAgreementScheme,
    KeyInfo,
    ProtectionHeader,
    SymmetricKeyId,
    WrappedKey,
)
from asyncdlms.errors import DecodeError

octets = st.binary(max_size=300)
titles = st.one_of(st.just(b""), st.binary(min_size=8, max_size=8))
headers = st.builds(ProtectionHeader, octets, titles, titles, octets, octets)
key_infos: st.SearchStrategy[KeyInfo | None] = st.one_of(
    st.none(),
    st.builds(IdentifiedKey, st.sampled_from(SymmetricKeyId)),
    st.builds(WrappedKey, octets),
    st.builds(AgreedKey, st.binary(max_size=3), octets),
)


@given(headers, key_infos, octets)
def test_general_ciphering_round_trip(
    header: ProtectionHeader, key_info: KeyInfo | None, content: bytes
) -> None:
    apdu = GeneralCiphering(header, key_info, content)
    data = apdu.encode()
    assert data[0] == 0xDD
    assert GeneralCiphering.decode(data) == apdu


@given(headers, octets, octets)
def test_general_signing_round_trip(header: ProtectionHeader, content: bytes, sig: bytes) -> None:
    apdu = GeneralSigning(header, content, sig)
    data = apdu.encode()
    assert data[0] == 0xDF
    assert GeneralSigning.decode(data) == apdu
    # the signed data is everything after the tag up to the signature, the content's length
    # excepted
    assert apdu.signed_data() == header.encode() + content


@given(st.binary(max_size=400))
def test_random_bytes_raise_only_decode_error(data: bytes) -> None:
    for decoder in (GeneralCiphering.decode, GeneralSigning.decode):
        for candidate in (data, b"\xdd" + data, b"\xdf" + data):
            with contextlib.suppress(DecodeError):
                decoder(candidate)


@given(headers, key_infos, octets, st.data())
def test_every_truncation_is_refused(
    header: ProtectionHeader, key_info: KeyInfo | None, content: bytes, data: st.DataObject
) -> None:
    encoded = GeneralCiphering(header, key_info, content).encode()
    cut = data.draw(st.integers(0, len(encoded) - 1))
    with pytest.raises(DecodeError):
        GeneralCiphering.decode(encoded[:cut])
    with pytest.raises(DecodeError, match="after"):
        GeneralCiphering.decode(encoded + b"\x00")


def test_exact_layout_of_an_agreed_key_apdu() -> None:
    header = ProtectionHeader(bytes(range(8)), b"ORIGINAT", b"RECIPIEN")
    agreed = AgreedKey.for_scheme(KeyAgreementScheme.ONE_PASS_DIFFIE_HELLMAN, b"\xaa" * 128)
    data = GeneralCiphering(header, agreed, b"\x31" + bytes(4) + b"xyz").encode()
    expected = (
        b"\xdd"
        + b"\x08" + bytes(range(8))
        + b"\x08ORIGINAT"
        + b"\x08RECIPIEN"
        + b"\x00\x00"  # date-time, other-information empty
        + b"\x01\x02"  # key-info present, agreed-key [2]
        + b"\x01\x01"  # key-parameters: one octet, C(1e, 1s)
        + b"\x81\x80" + b"\xaa" * 128  # key-ciphered-data
        + b"\x08\x31\x00\x00\x00\x00xyz"
    )  # fmt: skip
    assert data == expected
    assert GeneralCiphering.decode(data).key_info == agreed
    assert agreed.scheme is KeyAgreementScheme.ONE_PASS_DIFFIE_HELLMAN
    assert AgreedKey(b"\x07").scheme is None


def test_identified_and_wrapped_layouts() -> None:
    header = ProtectionHeader(b"", b"", b"")
    assert GeneralCiphering(header, IdentifiedKey(), b"c").encode() == bytes.fromhex(
        "dd00000000000100000163"
    )
    assert GeneralCiphering(header, WrappedKey(b"\x01\x02"), b"").encode() == bytes.fromhex(
        "dd00000000000101000201 0200".replace(" ", "")
    )
    assert GeneralCiphering(header, None, b"").encode() == bytes.fromhex("dd00000000000000")


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "empty"),
        (b"\xdb\x00", "not general-ciphering"),
        (bytes.fromhex("dd000000000002"), "presence flag"),
        (bytes.fromhex("dd00000000000103"), "CHOICE"),
        (bytes.fromhex("dd0000000000010005"), "key-id"),
        (bytes.fromhex("dd00000000000101070100"), "kek-id"),
        (bytes.fromhex("dd0000000000008500000000"), "form DLMS does not use"),
        (bytes.fromhex("dd000000000000847fffffff"), "truncated"),
    ],
)
def test_malformed_general_ciphering(data: bytes, match: str) -> None:
    with pytest.raises(DecodeError, match=match):
        GeneralCiphering.decode(data)


def test_general_signing_layout() -> None:
    header = ProtectionHeader(b"\x00\x01", b"ORIGINAT", b"")
    apdu = GeneralSigning(header, b"\x0f\x01", b"\x99" * 64)
    data = apdu.encode()
    assert data == (
        b"\xdf\x02\x00\x01\x08ORIGINAT\x00\x00\x00" + b"\x02\x0f\x01" + b"\x40" + b"\x99" * 64
    )
    with pytest.raises(DecodeError, match="not general-signing"):
        GeneralSigning.decode(b"\xdd" + data[1:])
    with pytest.raises(DecodeError, match="truncated"):
        GeneralSigning.decode(data[:-1])
