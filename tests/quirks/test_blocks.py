"""QUIRKS.md behaviour 7 end to end: block numbers starting at 0 or any value, an APDU a few
bytes over our max receive PDU size, max PDU 0 meaning unlimited; through a misbehaving line
in front of the simulator (HDLC, plain and with windows of 3; the ciphered run of the block
numbering goes through the block transfer without rewriting here, and
``test_blocks_ciphered.py`` rewrites ciphered APDUs with the keys)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

import asyncdlms
from asyncdlms import ClientSettings
from asyncdlms.errors import DlmsError
from asyncdlms.server import Simulator

from .conftest import Mode
from .line import MisbehavingLine, parts, rebuild

REQUEST_LLC = b"\xe6\xe6\x00"
RESPONSE_LLC = b"\xe6\xe7\x00"
PDU_128 = ClientSettings(client_max_receive_pdu_size=128)
"""We propose a max receive PDU size of 128 bytes."""


async def read_big(meter: Any) -> list[tuple[Any, ...]]:
    rows = await meter.read_profile("1.0.99.1.0.255", entries=(1, 40))
    return [(row.timestamp, row.values) for row in rows]


def apdu_rewriter(to_meter: Any = None, to_client: Any = None) -> tuple[Any, Any]:
    """Hooks that rewrite the APDU at the start of an I-frame (the first segment), length
    kept or not: ``to_meter(apdu) -> apdu`` and ``to_client(apdu) -> apdu``."""

    def from_client(frame: bytes) -> tuple[list[bytes], list[bytes]]:
        _, _, control, information = parts(frame)
        if to_meter and control & 1 == 0 and information.startswith(REQUEST_LLC):
            apdu = to_meter(information[3:])
            return [rebuild(frame, information=REQUEST_LLC + apdu)], []
        return [frame], []

    def from_meter(frame: bytes) -> list[bytes]:
        _, _, control, information = parts(frame)
        if to_client and control & 1 == 0 and information.startswith(RESPONSE_LLC):
            return [rebuild(frame, information=RESPONSE_LLC + to_client(information[3:]))]
        return [frame]

    return from_client, from_meter


@pytest.mark.parametrize("offset", [-1, 1000], ids=["first-block-0", "first-block-1001"])
async def test_behaviour_7_block_numbers_from_0_or_any_value(
    hdlc_meter: Simulator, mode: Mode, offset: int
) -> None:
    """The meter numbers its get-response-with-datablock blocks from 0 (or from 1001): the
    line shifts every block number the meter sends by ``offset`` and shifts the client's
    get-request-next back."""
    async with hdlc_meter.connect(0, timeout=10, **mode.client) as meter:
        want = await read_big(meter)
    shifted = 0

    def to_client(apdu: bytes) -> bytes:
        nonlocal shifted
        if apdu[:2] == b"\xc4\x02":  # get-response-with-datablock: C4 02 iid last block(4)
            shifted += 1
            block = int.from_bytes(apdu[4:8], "big") + offset
            return apdu[:4] + block.to_bytes(4, "big") + apdu[8:]
        return apdu

    def to_meter(apdu: bytes) -> bytes:
        if apdu[:2] == b"\xc0\x02":  # get-request-next: C0 02 iid block(4)
            block = int.from_bytes(apdu[3:7], "big") - offset
            return apdu[:3] + block.to_bytes(4, "big") + apdu[7:]
        return apdu

    ciphered = mode.name == "gmac-ae"
    from_client, from_meter = apdu_rewriter(to_meter, to_client)
    line = MisbehavingLine(
        hdlc_meter.urls[0],
        delivery="batch",
        from_client=None if ciphered else from_client,
        from_meter=None if ciphered else from_meter,
    )
    async with line:
        url = await line.start()
        async with asyncdlms.connect(url, timeout=20, settings=PDU_128, **mode.client) as m:
            assert await read_big(m) == want
    assert ciphered or shifted > 3


@pytest.mark.parametrize("margin", [50, 0])
async def test_behaviour_7_an_apdu_a_few_bytes_over_the_max_pdu(
    hdlc_meter: Simulator, mode: Mode, margin: int
) -> None:
    """We propose 128 bytes; the meter sends APDUs of up to 168 (the line raises the size in
    the AARQ it forwards): accepted with the default margin of 50, refused with 0."""
    if mode.name == "gmac-ae":
        pytest.skip("ciphered: see test_blocks_ciphered.py (the line holds the keys there)")
    async with hdlc_meter.connect(0, timeout=10, **mode.client) as meter:
        want = await read_big(meter)

    def to_meter(apdu: bytes) -> bytes:
        if apdu[0] == 0x60:  # AARQ, the InitiateRequest last, its max receive PDU size last
            return apdu[:-2] + (128 + 40).to_bytes(2, "big")
        return apdu

    from_client, _ = apdu_rewriter(to_meter)
    line = MisbehavingLine(hdlc_meter.urls[0], from_client=from_client)
    async with line:
        url = await line.start()
        connecting = asyncdlms.connect(
            url, timeout=10, settings=replace(PDU_128, pdu_size_margin=margin), **mode.client
        )
        async with connecting as meter:
            if margin:
                assert await read_big(meter) == want
            else:
                with pytest.raises(DlmsError, match="exceeds our max receive PDU size 128"):
                    await read_big(meter)


async def test_behaviour_7_max_pdu_0_means_unlimited(hdlc_meter: Simulator, mode: Mode) -> None:
    """A meter answering max PDU 0 in its AARE (the line changes it), and a client proposing
    0: both are unlimited, nothing is refused or split for it."""
    if mode.name == "gmac-ae":
        pytest.skip("ciphered: see test_blocks_ciphered.py (the line holds the keys there)")
    async with hdlc_meter.connect(0, timeout=10, **mode.client) as meter:
        want = await read_big(meter)

    def to_client(apdu: bytes) -> bytes:
        if apdu[0] == 0x61:  # AARE: ... max receive PDU (2) vaa-name 00 07 at the end
            return apdu[:-4] + b"\x00\x00" + apdu[-2:]
        return apdu

    _, from_meter = apdu_rewriter(to_client=to_client)
    line = MisbehavingLine(hdlc_meter.urls[0], from_meter=from_meter)
    async with line:
        url = await line.start()
        unlimited = ClientSettings(client_max_receive_pdu_size=0)
        async with asyncdlms.connect(url, timeout=10, settings=unlimited, **mode.client) as m:
            assert m.negotiated is not None
            assert m.negotiated.max_pdu_size_tx == 0 or m.negotiated.max_pdu_size_rx == 0
            assert await read_big(m) == want
            name = await m.get(1, "0.0.42.0.0.255", 2)
            assert await m.get_many([(1, "0.0.42.0.0.255", 2)] * 12) == [name] * 12


def conformance_of(aarq: bytes) -> int:
    """The proposed conformance of a plain AARQ (its InitiateRequest ends with
    ``5F 1F 04 00 <3 bytes> <max PDU 2 bytes>``)."""
    return int.from_bytes(aarq[-5:-2], "big")


@pytest.mark.parametrize("gbt", [False, True], ids=["no-gbt", "gbt"])
async def test_behaviour_7_gbt_proposed_only_when_asked_and_read_over_a_bad_line(
    mode: Mode, gbt: bool
) -> None:
    """General-block-transfer is proposed only when the settings ask for it; when they do,
    a meter with a GBT window of 3 streams the profile through noise, batched frames and an
    echo, and the rows are those of a clean read."""
    if mode.name == "gmac-ae":
        pytest.skip("the AARQ's conformance is ciphered; GBT under ciphering: tests/session")
    from asyncdlms.apdu.acse import MechanismName
    from asyncdlms.apdu.initiate import Conformance

    settings = ClientSettings(
        mechanism=MechanismName.LOW,
        secret=mode.client["password"],
        use_general_block_transfer=gbt,
        client_max_receive_pdu_size=128,
    )
    client = {k: v for k, v in mode.client.items() if k not in ("auth", "password")}
    async with Simulator(
        interface="hdlc", time_source=lambda: 1_750_000_000.0, gbt_window_size=3,
        max_pdu_size=128, **mode.simulator,
    ) as sim:  # fmt: skip
        async with sim.connect(0, timeout=10, **mode.client) as meter:
            want = await read_big(meter)
        line = MisbehavingLine(sim.urls[0], delivery="batch", noise=b"\x7e\x00\x7e", echo=True)
        async with line:
            url = await line.start()
            async with asyncdlms.connect(url, timeout=20, settings=settings, **client) as m:
                assert await read_big(m) == want
        aarqs = [parts(f)[3][3:] for f in line.client_frames if parts(f)[3][3:4] == b"\x60"]
        proposed = bool(conformance_of(aarqs[0]) & Conformance.GENERAL_BLOCK_TRANSFER)
        assert proposed is gbt
        gbt_blocks = [f for f in line.meter_frames if parts(f)[3][3:4] == b"\xe0"]
        assert bool(gbt_blocks) is gbt
