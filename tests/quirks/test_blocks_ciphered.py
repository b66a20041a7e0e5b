"""QUIRKS.md behaviour 7 under HLS-GMAC with authenticated encryption, end to end over loopback
TCP (wrapper): the line holds the keys, deciphers what passes, changes it as a misbehaving
meter would (block numbers from 0, an APDU over our max PDU, max PDU 0) and ciphers it again
with the sender's own system title and invocation counter."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace

import pytest

import asyncdlms
from asyncdlms import ClientSettings
from asyncdlms.errors import DlmsError
from asyncdlms.security.ciphering import CipheredApdu, SecurityControl, cipher, decipher
from asyncdlms.server import Simulator

from .conftest import AUTHENTICATION_KEY, BLOCK_CIPHER_KEY, NOW, modes
from .line import MisbehavingLine, wrapper_apdu, wrapper_frame

GMAC = next(mode for mode in modes() if mode.name == "gmac-ae")
CLIENT_TITLE = GMAC.client["system_title"]
METER_TITLE = b"ADS" + (10_000_000).to_bytes(5, "big")
Plain = Callable[[bytes], bytes]
PDU_128 = ClientSettings(client_max_receive_pdu_size=128)
"""We propose a max receive PDU size of 128 bytes."""

def recipher(content: bytes, title: bytes, change: Plain) -> bytes:
    """``SC ‖ IC ‖ payload ‖ tag`` with its plaintext changed, same SC, IC and title."""
    plain = decipher(content, system_title=title, block_cipher_key=BLOCK_CIPHER_KEY,
                     authentication_key=AUTHENTICATION_KEY)  # fmt: skip
    return cipher(
        change(plain),
        security_control=SecurityControl.from_byte(content[0]),
        system_title=title,
        invocation_counter=int.from_bytes(content[1:5], "big"),
        block_cipher_key=BLOCK_CIPHER_KEY,
        authentication_key=AUTHENTICATION_KEY,
    )


def change_apdu(apdu: bytes, title: bytes, change: Plain) -> bytes:
    """A glo- APDU with its plaintext changed; an AARQ/AARE with the plaintext of the
    ciphered xDLMS initiate request/response at its end (tag 0x21 / 0x28) changed."""
    if apdu[0] in (0x60, 0x61):
        for pos in range(len(apdu) - 2, 0, -1):
            if apdu[pos] in (0x21, 0x28) and apdu[pos + 1] == len(apdu) - pos - 2:
                content = recipher(apdu[pos + 2 :], title, change)
                return apdu[: pos + 2] + content
        return apdu
    try:
        ciphered = CipheredApdu.decode(apdu)
    except DlmsError:
        return apdu
    content = recipher(ciphered.ciphered_content, title, change)
    return CipheredApdu(ciphered.tag, content, ciphered.system_title).encode()


def keyed_line(sim: Simulator, to_meter: Plain, to_client: Plain) -> MisbehavingLine:
    def from_client(frame: bytes) -> tuple[list[bytes], list[bytes]]:
        apdu = change_apdu(wrapper_apdu(frame), CLIENT_TITLE, to_meter)
        return [wrapper_frame(frame, apdu)], []

    def from_meter(frame: bytes) -> list[bytes]:
        return [wrapper_frame(frame, change_apdu(wrapper_apdu(frame), METER_TITLE, to_client))]

    return MisbehavingLine(sim.urls[0], from_client=from_client, from_meter=from_meter)


@pytest.fixture
async def meter() -> AsyncIterator[Simulator]:
    async with Simulator(interface="wrapper", time_source=lambda: NOW, **GMAC.simulator) as sim:
        yield sim


async def read_big(meter: object) -> list[object]:
    rows = await meter.read_profile("1.0.99.1.0.255", entries=(1, 40))  # type: ignore[attr-defined]
    return [(row.timestamp, row.values) for row in rows]


def same(plain: bytes) -> bytes:
    return plain


@pytest.mark.parametrize("offset", [-1, 1000], ids=["first-block-0", "first-block-1001"])
async def test_behaviour_7_ciphered_block_numbers_from_0_or_any_value(
    meter: Simulator, offset: int
) -> None:
    async with meter.connect(0, timeout=10, **GMAC.client) as clean:
        want = await read_big(clean)
    shifted = 0

    def to_client(plain: bytes) -> bytes:
        nonlocal shifted
        if plain[:2] == b"\xc4\x02":
            shifted += 1
            block = int.from_bytes(plain[4:8], "big") + offset
            return plain[:4] + block.to_bytes(4, "big") + plain[8:]
        return plain

    def to_meter(plain: bytes) -> bytes:
        if plain[:2] == b"\xc0\x02":
            block = int.from_bytes(plain[3:7], "big") - offset
            return plain[:3] + block.to_bytes(4, "big") + plain[7:]
        return plain

    line = keyed_line(meter, to_meter, to_client)
    async with line:
        url = await line.start()
        async with asyncdlms.connect(url, timeout=10, settings=PDU_128, **GMAC.client) as m:
            assert await read_big(m) == want
    assert shifted > 3


@pytest.mark.parametrize("margin", [50, 0])
async def test_behaviour_7_ciphered_apdu_a_few_bytes_over_the_max_pdu(
    meter: Simulator, margin: int
) -> None:
    async with meter.connect(0, timeout=10, **GMAC.client) as clean:
        want = await read_big(clean)

    def to_meter(plain: bytes) -> bytes:  # the InitiateRequest: max receive PDU size last
        if plain[:1] == b"\x01":
            return plain[:-2] + (128 + 40).to_bytes(2, "big")
        return plain

    line = keyed_line(meter, to_meter, same)
    async with line:
        url = await line.start()
        connecting = asyncdlms.connect(
            url, timeout=10, settings=replace(PDU_128, pdu_size_margin=margin), **GMAC.client
        )
        async with connecting as m:
            if margin:
                assert await read_big(m) == want
            else:
                with pytest.raises(DlmsError, match="exceeds our max receive PDU size 128"):
                    await read_big(m)


async def test_behaviour_7_ciphered_max_pdu_0(meter: Simulator) -> None:
    async with meter.connect(0, timeout=10, **GMAC.client) as clean:
        want = await read_big(clean)

    def to_client(plain: bytes) -> bytes:  # the InitiateResponse: ... max PDU (2) 00 07
        if plain[:1] == b"\x08":
            return plain[:-4] + b"\x00\x00" + plain[-2:]
        return plain

    line = keyed_line(meter, same, to_client)
    async with line:
        url = await line.start()
        unlimited = ClientSettings(client_max_receive_pdu_size=0)
        async with asyncdlms.connect(url, timeout=10, settings=unlimited, **GMAC.client) as m:
            assert m.negotiated is not None
            assert 0 in (m.negotiated.max_pdu_size_tx, m.negotiated.max_pdu_size_rx)
            assert await read_big(m) == want
