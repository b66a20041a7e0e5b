"""QUIRKS.md behaviours 6, 8, 9 and 10 end to end: ``asyncdlms.connect`` over loopback TCP
(wrapper) through a line that answers or rewrites APDUs in the meter's place: rejecting
AAREs without or with garbage user-information and trailing bytes, an exception-response
for an AARE; an inverted clock deviation and notifications with odd date-times; profile
rows with null-data timestamps; a meter that refuses GET with-list."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import AsyncIterator, Callable

import pytest

import asyncdlms
from asyncdlms import ClientSettings
from asyncdlms.errors import AssociationRejectedError, DlmsError, ServiceError
from asyncdlms.server import Simulator
from asyncdlms.types.clock import DeviationSign

from .conftest import LLS, NOW
from .line import MisbehavingLine, wrapper_apdu, wrapper_frame, wrapper_reply

ApduHook = Callable[[bytes], bytes | None]


@pytest.fixture
async def wrapper_meter() -> AsyncIterator[Simulator]:
    async with Simulator(interface="wrapper", time_source=lambda: NOW) as sim:
        yield sim


def line_for(
    sim: Simulator,
    *,
    answer: ApduHook | None = None,
    rewrite: Callable[[bytes], bytes] | None = None,
    inject: Callable[[bytes], list[bytes]] | None = None,
) -> MisbehavingLine:
    """``answer(request apdu)``: an APDU to answer in the meter's place (``None``: forward);
    ``rewrite(response apdu)``: what the client gets instead; ``inject(response frame)``:
    wrapper frames sent before it."""

    def from_client(frame: bytes) -> tuple[list[bytes], list[bytes]]:
        reply = answer(wrapper_apdu(frame)) if answer else None
        if reply is None:
            return [frame], []
        return [], [wrapper_reply(frame, reply)]

    def from_meter(frame: bytes) -> list[bytes]:
        before = inject(frame) if inject else []
        if rewrite:
            frame = wrapper_frame(frame, rewrite(wrapper_apdu(frame)))
        return [*before, frame]

    return MisbehavingLine(sim.urls[0], from_client=from_client, from_meter=from_meter)


# -- behaviour 6: rejecting AAREs ----------------------------------------------------------

CONTEXT = bytes.fromhex("A109060760857405080101")
REJECTED = bytes.fromhex("A203020101")  # rejected-permanent
AUTH_FAILED = bytes.fromhex("A305A10302010D")  # acse-service-user authentication-failure


def aare(*fields: bytes) -> bytes:
    body = b"".join(fields)
    return b"\x61" + bytes((len(body),)) + body


AARES = {
    "no-user-information": aare(CONTEXT, REJECTED, AUTH_FAILED),
    "garbage-user-information": aare(CONTEXT, REJECTED, AUTH_FAILED, bytes.fromhex("BE0504FFFF")),
    "trailing-bytes": aare(CONTEXT, REJECTED, AUTH_FAILED) + b"\x00\xff\x13",
    "garbage-and-trailing": aare(CONTEXT, REJECTED, AUTH_FAILED, b"\xbe\x03\x01\x02\x03") + b"\x7e",
    "no-diagnostic-field-order": aare(REJECTED, CONTEXT, AUTH_FAILED),
}


@pytest.mark.parametrize("name", list(AARES))
async def test_behaviour_6_a_rejecting_aare_without_usable_user_information(
    wrapper_meter: Simulator, name: str
) -> None:
    line = line_for(wrapper_meter, answer=lambda apdu: AARES[name] if apdu[0] == 0x60 else None)
    async with line:
        url = await line.start()
        with pytest.raises(AssociationRejectedError) as caught:
            await asyncdlms.connect(url, timeout=5, **LLS)
    error = caught.value
    assert "rejected-permanent" in str(error) or "rejected" in str(error)
    assert error.result is not None and int(error.result) == 1
    assert error.diagnostic is not None and int(error.diagnostic) == 13
    assert "authentication" in str(error).lower()
    assert "client address" in str(error)  # a wrong one gives this error too: named as a cause


async def test_behaviour_6_an_exception_response_instead_of_an_aare(
    wrapper_meter: Simulator,
) -> None:
    line = line_for(wrapper_meter, answer=lambda apdu: b"\xd8\x01\x02" if apdu[0] == 0x60 else None)
    async with line:
        url = await line.start()
        with pytest.raises(DlmsError) as caught:
            await asyncdlms.connect(url, timeout=5, **LLS)
    assert isinstance(caught.value, AssociationRejectedError | ServiceError)
    assert "exception" in str(caught.value).lower()


# -- behaviour 10: GET with-list refused -----------------------------------------------------

ITEMS = [(3, f"1.0.{kind}.8.0.255", 2) for kind in (1, 2, 3, 4)] + [
    (1, "0.0.42.0.0.255", 2),
    (1, "0.0.96.1.0.255", 2),
    (3, "1.0.32.7.0.255", 2),
    (3, "1.0.31.7.0.255", 2),
    (3, "1.0.1.7.0.255", 2),
    (3, "1.0.2.7.0.255", 2),
    (8, "0.0.1.0.0.255", 2),
    (1, "9.9.9.9.9.9", 2),  # no such object: its error is returned, not raised
]


def with_list_refusal(kind: str) -> ApduHook:
    def answer(apdu: bytes) -> bytes | None:
        if apdu[:2] != b"\xc0\x03":
            return None
        invoke, count = apdu[2], apdu[3]
        if kind == "exception-response":  # service-not-allowed, service-not-supported
            return b"\xd8\x01\x02"
        if kind == "scope-of-access-violated":
            return b"\xc4\x03" + bytes((invoke, count)) + b"\x01\x0d" * count
        if kind == "confirmed-service-error":
            return b"\x0e\x05\x02"  # read (get) service error, service: operation-not-possible
        return b"\xc4\x03" + bytes((invoke,)) + b"\xff\x00\x13"  # garbage

    return answer


@pytest.mark.parametrize(
    "kind", ["exception-response", "scope-of-access-violated", "confirmed-service-error", "garbage"]
)
async def test_behaviour_10_with_list_refused_falls_back_to_single_gets(
    wrapper_meter: Simulator, kind: str
) -> None:
    async with wrapper_meter.connect(0, timeout=5, **LLS) as meter:
        want = await meter.get_many(ITEMS)
    assert isinstance(want[-1], DlmsError) and want[0] > 0
    line = line_for(wrapper_meter, answer=with_list_refusal(kind))
    async with line:
        url = await line.start()
        chunks_of_5 = ClientSettings(with_list_chunk_size=5)
        async with asyncdlms.connect(url, timeout=5, settings=chunks_of_5, **LLS) as meter:
            got = await meter.get_many(ITEMS)
            assert meter.session.with_list_fallbacks == 3
    assert got[:-1] == want[:-1]
    assert type(got[-1]) is type(want[-1])
    with_lists = [f for f in line.client_frames if wrapper_apdu(f)[:2] == b"\xc0\x03"]
    assert [wrapper_apdu(f)[3] for f in with_lists] == [5, 5, 2]  # chunks of the setting


async def test_behaviour_10_chunks_of_the_default_size(wrapper_meter: Simulator) -> None:
    line = line_for(wrapper_meter)
    async with line:
        url = await line.start()
        async with asyncdlms.connect(url, timeout=5, **LLS) as meter:
            got = await meter.get_many(ITEMS)
            assert meter.session.with_list_fallbacks == 0
    assert got[0] > 0
    with_lists = [f for f in line.client_frames if wrapper_apdu(f)[:2] == b"\xc0\x03"]
    assert [wrapper_apdu(f)[3] for f in with_lists] == [10, 2]


# -- behaviour 9: null-data profile timestamps -----------------------------------------------

ROW = re.compile(rb"\x02\x05(?:\x09\x0c|\x19).{12}", re.DOTALL)  # octet string or date-time


def null_timestamps(apdu: bytes) -> bytes:
    """Every row of a profile buffer but the first with its timestamp as null-data."""
    if apdu[:2] != b"\xc4\x01" or apdu[3:5] != b"\x00\x01" or len(ROW.findall(apdu)) < 2:
        return apdu
    first = ROW.search(apdu)
    assert first is not None
    head, tail = apdu[: first.end()], apdu[first.end() :]
    return head + ROW.sub(b"\x02\x05\x00", tail)


@pytest.mark.parametrize("entries", [(1, 8), (3, 12)])
async def test_behaviour_9_null_timestamps_in_profile_rows(
    wrapper_meter: Simulator, entries: tuple[int, int]
) -> None:
    async with wrapper_meter.connect(0, timeout=5, **LLS) as meter:
        want = await meter.read_profile("1.0.99.1.0.255", entries=entries)
    line = line_for(wrapper_meter, rewrite=null_timestamps)
    async with line:
        url = await line.start()
        async with asyncdlms.connect(url, timeout=5, **LLS) as meter:
            got = await meter.read_profile("1.0.99.1.0.255", entries=entries)
    assert [row.timestamp for row in got] == [row.timestamp for row in want]
    assert [row.values[1:] for row in got] == [row.values[1:] for row in want]
    assert [row.timestamp_derived for row in got] == [False] + [True] * (len(got) - 1)


def lifo(apdu: bytes) -> bytes:
    """A meter sorting its profile newest first: sort method 2 (LIFO) in the with-list answer
    of the profile settings, the buffer's rows reversed, then timestamps nulled."""
    if apdu[:2] == b"\xc4\x03" and apdu.endswith(b"\x00\x16\x01"):
        return apdu[:-1] + b"\x02"
    if apdu[:2] != b"\xc4\x01" or len(ROW.findall(apdu)) < 2:
        return apdu
    starts = [match.start() for match in ROW.finditer(apdu)]
    rows = [apdu[a:b] for a, b in zip(starts, [*starts[1:], len(apdu)], strict=True)]
    return null_timestamps(apdu[: starts[0]] + b"".join(reversed(rows)))


async def test_behaviour_9_null_timestamps_newest_first(wrapper_meter: Simulator) -> None:
    """With sort method LIFO the missing timestamps are the previous row's minus the period."""
    async with wrapper_meter.connect(0, timeout=5, **LLS) as meter:
        want = list(reversed(await meter.read_profile("1.0.99.1.0.255", entries=(1, 6))))
    line = line_for(wrapper_meter, rewrite=lifo)
    async with line:
        url = await line.start()
        async with asyncdlms.connect(url, timeout=5, **LLS) as meter:
            got = await meter.read_profile("1.0.99.1.0.255", entries=(1, 6))
    assert [row.timestamp for row in got] == [row.timestamp for row in want]
    assert [row.values[1:] for row in got] == [row.values[1:] for row in want]
    assert [row.timestamp_derived for row in got] == [False] + [True] * 5


# -- behaviour 8: inverted deviation, odd notification date-times -----------------------------


def inverted_clock(apdu: bytes, deviation: int = 60, hours: int = 1) -> bytes:
    """The clock's answer as a meter with the inverted deviation sign sends it: local time
    one hour ahead of UTC and deviation +60 (the Blue Book says -60); or another
    ``deviation`` (raw 16 bits) with local time ``hours`` ahead."""
    if apdu[:2] != b"\xc4\x01" or apdu[3] != 0:
        return apdu
    if apdu[4:6] == b"\x09\x0c":  # as an octet string
        start = 6
    elif apdu[4] == 0x19:  # as a typed date-time
        start = 5
    else:
        return apdu
    raw = apdu[start : start + 12]
    year = int.from_bytes(raw[0:2], "big")
    utc = dt.datetime(year, raw[2], raw[3], raw[5], raw[6], raw[7], tzinfo=dt.UTC)
    local = utc + dt.timedelta(hours=hours)
    value = (
        local.year.to_bytes(2, "big")
        + bytes((local.month, local.day, local.isoweekday(), local.hour, local.minute))
        + bytes((local.second, 0))
        + (deviation & 0xFFFF).to_bytes(2, "big")
        + b"\x00"
    )
    return apdu[:start] + value + apdu[start + 12 :]


async def test_behaviour_8_inverted_deviation_sign(wrapper_meter: Simulator) -> None:
    want = dt.datetime.fromtimestamp(NOW, dt.UTC)
    line = line_for(wrapper_meter, rewrite=inverted_clock)
    async with line:
        url = await line.start()
        inverted_sign = ClientSettings(deviation_sign=DeviationSign.INVERTED)
        async with asyncdlms.connect(url, timeout=5, settings=inverted_sign, **LLS) as meter:
            inverted = await meter.read_clock()
        async with asyncdlms.connect(url, timeout=5, **LLS) as meter:
            standard = await meter.read_clock()
    assert inverted is not None and standard is not None
    assert inverted == want
    assert standard - want == dt.timedelta(hours=2)  # what a client without the setting sees


@pytest.mark.parametrize("deviation", [0x8000, 0xFFFF], ids=["0x8000", "-1"])
async def test_behaviour_8_deviation_not_specified(
    wrapper_meter: Simulator, deviation: int
) -> None:
    """A clock whose deviation is 0x8000 or -1 (0xFFFF): "not specified", a naive local
    date-time, whatever the sign setting."""
    line = line_for(wrapper_meter, rewrite=lambda apdu: inverted_clock(apdu, deviation, 2))
    async with line:
        url = await line.start()
        for sign in DeviationSign:
            settings = ClientSettings(deviation_sign=sign)
            async with asyncdlms.connect(url, timeout=5, settings=settings, **LLS) as meter:
                clock = await meter.read_clock()
            assert clock == dt.datetime(2025, 6, 15, 17, 6, 40)  # naive: the meter's local time


CLOCK_BYTES = bytes.fromhex("07E9060F01100000 00 8000 00".replace(" ", ""))
NOTIFICATIONS = {
    "absent": (b"\x00", None),
    "empty-octet-string": (b"\x00", None),
    "octet-string": (b"\x0c" + CLOCK_BYTES, dt.datetime(2025, 6, 15, 16, 0)),
    "typed-09-0C": (b"\x09\x0c" + CLOCK_BYTES, dt.datetime(2025, 6, 15, 16, 0)),
}


async def test_behaviour_8_notification_date_times(wrapper_meter: Simulator) -> None:
    """Data-notifications pushed between answers, their date-time absent, empty, an octet
    string or typed ``09 0C`` (deviation 0x8000: not specified, so a naive date-time)."""
    pushes = [
        b"\x0f" + index.to_bytes(4, "big") + stamp + b"\x11" + bytes((index,))
        for index, (stamp, _) in enumerate(NOTIFICATIONS.values())
    ]
    pushes[1] = b"\x0f\x00\x00\x00\x01\x00\x11\x01"
    sent = False

    def inject(frame: bytes) -> list[bytes]:
        nonlocal sent
        if sent or wrapper_apdu(frame)[0] != 0xC4:
            return []
        sent = True
        return [wrapper_frame(frame, push) for push in pushes]

    line = line_for(wrapper_meter, inject=inject)
    async with line:
        url = await line.start()
        async with asyncdlms.connect(url, timeout=5, **LLS) as meter:
            assert await meter.get(1, "0.0.42.0.0.255", 2) == b"ADS0000010000000"
            received = []
            async with asyncio.timeout(5):
                async for event in meter.notifications():
                    received.append(event.notification)
                    if len(received) == len(pushes):
                        break
    times = [n.to_date_time() for n in received]
    assert times[:2] == [None, None]
    for stamp in times[2:]:
        assert stamp is not None
        assert stamp.to_datetime() == dt.datetime(2025, 6, 15, 16, 0)
    assert [n.date_time_typed for n in received] == [False, False, False, True]


async def test_silence_after_a_wrong_server_address_over_the_wrapper(
    wrapper_meter: Simulator,
) -> None:
    """The simulator drops the connection for an unknown destination wPort (other meters
    stay silent: the timeout then names the cause, see test_link.py): the error names the
    likely causes."""
    line = line_for(wrapper_meter)
    async with line:
        url = await line.start()
        with pytest.raises(DlmsError) as caught:
            await asyncdlms.connect(url, server=5, timeout=2, client=16)
    assert "wrong server address (wPort) or client address" in str(caught.value)
