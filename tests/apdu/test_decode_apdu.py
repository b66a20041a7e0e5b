"""decode_apdu: the dispatcher over every plain APDU, on the shared vectors and random bytes."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asyncdlms.apdu import ApduTag, decode_apdu
from asyncdlms.errors import DecodeError
from tests.conftest import load_vectors


def _plain_apdu_vectors() -> list[dict[str, Any]]:
    try:
        vectors = load_vectors("apdu")
    except pytest.skip.Exception:
        return []
    # the amshan ones start with the LLC header E6 E7 00
    return [v for v in vectors if not v["hex"].startswith("e6e700")]


@pytest.mark.parametrize("item", _plain_apdu_vectors(), ids=lambda v: v["id"])
def test_every_apdu_vector_decodes_and_re_encodes(item: dict[str, Any]) -> None:
    data = bytes.fromhex(item["hex"])
    pdu = decode_apdu(data)
    assert pdu.encode() == data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty APDU"),
        (b"\x07\x00", "unknown APDU tag 0x07"),
        (b"\xc8\x10\x30", "glo-get-request \\(0xc8\\) cannot be decoded without security"),
        (b"\xdb\x08", "general-glo-ciphering"),
    ],
)
def test_what_cannot_be_decoded_says_why(data: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        decode_apdu(data)


@given(st.sampled_from(sorted(ApduTag)), st.binary(max_size=40))
@settings(max_examples=2000)
def test_random_bodies_raise_only_decode_error(tag: int, body: bytes) -> None:
    try:
        pdu = decode_apdu(bytes([tag]) + body)
    except DecodeError:
        return
    assert pdu.encode()[:1] == bytes([tag])
