"""QUIRKS.md behaviours 1, 2 and 3 end to end: ``asyncdlms.connect`` over loopback TCP,
through a misbehaving line in front of the simulator (HDLC), plain, with HLS-GMAC and
authenticated encryption, and with HDLC windows of 3 on both sides."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

import asyncdlms
from asyncdlms.errors import DlmsError
from asyncdlms.hdlc import HdlcAddress
from asyncdlms.server import Simulator

from .conftest import NOW, Mode
from .line import NOISE, MisbehavingLine, encode_frame, parts, rebuild

UI = 0x13
UA = 0x73
CLIENT_16 = HdlcAddress.client(16).encode()
CLIENT_1 = HdlcAddress.client(1).encode()


def push_frame(destination: bytes, source: bytes = b"\x03", marker: int = 0) -> bytes:
    """A UI frame carrying a data-notification whose payload holds 0x7E bytes and whose FCS
    holds a 0x7E too (the long-invoke-id is chosen until it does)."""
    for invoke in range(marker << 16, (marker << 16) + 0x10000):
        apdu = (
            b"\x0f" + invoke.to_bytes(4, "big") + b"\x00" + b"\x09\x03\x7e\x7e" + bytes((marker,))
        )
        frame = encode_frame(destination, source, UI, b"\xe6\xe7\x00" + apdu)
        if 0x7E in frame[-3:-1]:
            return frame
    raise AssertionError("no FCS with 0x7E")


def client_address(mode: Mode) -> bytes:
    return HdlcAddress.client(mode.client["client"]).encode()


async def read_all(meter: Any) -> tuple[Any, ...]:
    name = await meter.get(1, "0.0.42.0.0.255", 2)
    energy = await meter.get(3, "1.0.1.8.0.255", 2)
    rows = await meter.read_profile("1.0.99.1.0.255", entries=(1, 12))
    return name, energy, [(row.timestamp, row.values) for row in rows]


async def received(meter: Any) -> list[Any]:
    """The notifications received so far (through the public iterator)."""
    pushes: list[Any] = []
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(0.2):
            async for event in meter.notifications():
                pushes.append(event)
    return pushes


async def expected(sim: Simulator, mode: Mode) -> tuple[Any, ...]:
    async with sim.connect(0, timeout=5, **mode.client) as meter:
        return await read_all(meter)


def test_a_push_frame_has_0x7e_in_its_fcs_and_payload() -> None:
    frame = push_frame(CLIENT_16)
    assert 0x7E in frame[-3:-1]
    assert frame.count(b"\x7e") > 4


@pytest.mark.parametrize(
    "delivery, noise",
    [("bytes", b""), ("batch", NOISE), ("frame", NOISE), ("bytes", NOISE)],
    ids=["byte-by-byte", "batch+noise", "noise", "byte-by-byte+noise"],
)
async def test_behaviour_1_frames_by_length_and_checks_only(
    hdlc_meter: Simulator, mode: Mode, delivery: Any, noise: bytes
) -> None:
    """0x7E in an FCS and in a payload, frames byte by byte, several in one write, junk
    between frames: everything decodes, and the values are those of a clean line."""
    want = await expected(hdlc_meter, mode)
    ours = client_address(mode)

    def from_meter(frame: bytes) -> list[bytes]:
        # a push with 0x7E in its FCS, in the same write as every answer
        return [push_frame(ours, marker=len(line.meter_frames) & 0xFF), frame]

    line = MisbehavingLine(
        hdlc_meter.urls[0], delivery=delivery, noise=noise, from_meter=from_meter
    )
    async with line:
        url = await line.start()
        async with asyncdlms.connect(url, timeout=20, **mode.client) as meter:
            assert await read_all(meter) == want
            answered = len(line.meter_frames)
            pushes = await received(meter)
    # every frame after the association came with its push (0x7E in FCS and payload)
    assert len(pushes) >= answered - 2
    assert {p.notification.notification_body.value[:2] for p in pushes} == {b"\x7e\x7e"}


async def test_behaviour_2_echo_pushes_and_other_addresses(
    hdlc_meter: Simulator, mode: Mode
) -> None:
    """An optical head's echo of every frame, UI pushes to us and frames for another client
    address in the middle of an exchange: the echo is dropped, the others are notifications,
    the request gets its answer within its timeout."""
    want = await expected(hdlc_meter, mode)
    ours = client_address(mode)
    other = HdlcAddress.client(0x66).encode()
    # a HAN push as an I-frame (N(S) 0, N(R) 0) to another client address
    i_push = rebuild(push_frame(other, marker=3), control=0x10)

    def from_meter(frame: bytes) -> list[bytes]:
        _, _, control, _ = parts(frame)
        if control & 0x01 == 0:  # before every I-frame: a push to us and one to another client
            return [push_frame(ours, marker=1), push_frame(other, marker=2), i_push, frame]
        return [frame]

    line = MisbehavingLine(hdlc_meter.urls[0], echo=True, delivery="batch", from_meter=from_meter)
    async with line:
        url = await line.start()
        async with asyncdlms.connect(url, timeout=20, **mode.client) as meter:
            assert await read_all(meter) == want
            markers = {p.notification.notification_body.value for p in await received(meter)}
    # both pushes (to us, marker 1, and to client 0x66, marker 2) reached the notification path
    assert markers == {b"\x7e\x7e\x01", b"\x7e\x7e\x02", b"\x7e\x7e\x03"}
    assert len(line.client_frames) > 4  # and every frame the client sent came back as echo


_UA_VALUES = b"".join(
    (bytes((ident, len(value))) + value)
    for ident, value in (
        (5, (128).to_bytes(1, "big")),
        (6, (128).to_bytes(2, "big")),
        (7, (1).to_bytes(4, "big")),
        (8, (1).to_bytes(4, "big")),
    )
)
UA_WIDE = b"\x81\x80" + bytes((len(_UA_VALUES),)) + _UA_VALUES


@pytest.mark.parametrize("ua", ["no-information", "wide-values", "as-sent"])
@pytest.mark.parametrize("answer_length", [1, 2, 4])
async def test_behaviour_3_ua_and_address_lengths(
    hdlc_meter: Simulator, mode: Mode, ua: str, answer_length: int
) -> None:
    """A UA with no information field (128/128/1/1), parameter values of 1, 2 and 4 bytes,
    and a meter that answers a 2-byte server address with a 1-, 2- or 4-byte one."""
    if ua != "as-sent" and mode.name == "window-3":
        # we propose windows of 3; the meter only does 1 and says so with an empty UA (or
        # values of 1): a meter of its own, with the default HDLC parameters
        async with Simulator(interface="hdlc", time_source=lambda: NOW) as plain:
            await ua_and_address_lengths(plain, mode, ua, answer_length)
        return
    await ua_and_address_lengths(hdlc_meter, mode, ua, answer_length)


async def ua_and_address_lengths(
    hdlc_meter: Simulator, mode: Mode, ua: str, answer_length: int
) -> None:
    want = await expected(hdlc_meter, mode)
    source = HdlcAddress.server(1, 16 if answer_length > 1 else None, answer_length).encode()
    if answer_length == 1:
        source = b"\x03"

    def from_meter(frame: bytes) -> list[bytes]:
        _, _, control, _ = parts(frame)
        if control == UA and ua == "no-information":
            return [rebuild(frame, source=source, information=b"")]
        if control == UA and ua == "wide-values":
            return [rebuild(frame, source=source, information=UA_WIDE)]
        return [rebuild(frame, source=source)]

    line = MisbehavingLine(hdlc_meter.urls[0], from_meter=from_meter)
    async with line:
        url = await line.start()
        async with asyncdlms.connect(url, timeout=20, **mode.with_link(physical_address=16)) as m:
            assert await read_all(m) == want


async def test_behaviour_3_silence_after_a_wrong_server_address_names_the_cause(
    hdlc_meter: Simulator, mode: Mode
) -> None:
    line = MisbehavingLine(hdlc_meter.urls[0])
    async with line:
        url = await line.start()
        with pytest.raises(DlmsError) as caught:
            link = {"physical_address": 55, "response_timeout": 0.3, "retries": 1}
            await asyncdlms.connect(url, timeout=1.5, **mode.with_link(**link))
    assert "if the server address (logical or physical) is wrong" in str(caught.value)


@pytest.mark.parametrize("name", ["no-user-information", "garbage-and-trailing", "exception"])
async def test_behaviour_6_rejections_over_hdlc(
    hdlc_meter: Simulator, mode: Mode, name: str
) -> None:
    """The meter's AARE replaced (same I-frame) by a rejecting one without usable
    user-information, or by an exception-response: a typed error, in every mode."""
    from asyncdlms.errors import AssociationRejectedError, ServiceError

    from .test_services import AARES

    replacement = b"\xd8\x01\x02" if name == "exception" else AARES[name]

    def from_meter(frame: bytes) -> list[bytes]:
        information = parts(frame)[3]
        if information[3:4] == b"\x61":
            return [rebuild(frame, information=information[:3] + replacement)]
        return [frame]

    line = MisbehavingLine(hdlc_meter.urls[0], noise=NOISE, from_meter=from_meter)
    async with line:
        url = await line.start()
        with pytest.raises(DlmsError) as caught:
            await asyncdlms.connect(url, timeout=5, **mode.client)
    error = caught.value
    if name == "exception":
        assert isinstance(error, AssociationRejectedError | ServiceError)
        assert "exception" in str(error).lower()
    else:
        assert isinstance(error, AssociationRejectedError)
        assert "client address" in str(error)  # the likely causes are named
