"""A meter that stops answering: the client gives up within its timeout plus a small margin.

A request that timed out leaves the meter's silence as the most likely state of the line, so
closing the client after it abandons the association (HDLC: a DISC waited for briefly;
wrapper: the TCP connection closed) instead of waiting a second full timeout for an RLRE
that will not come. Checked for the library (``async with connect(...)``) and the CLI (a
subprocess), over the wrapper and HDLC, against a hostile loopback meter (our server
session, whose writes are swallowed from a chosen point on)."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

import asyncdlms
from asyncdlms.aio.driver import Driver
from asyncdlms.errors import AssociationError, RequestTimeoutError
from asyncdlms.hdlc import HdlcAddress, HdlcConnection, HdlcSettings, Role
from asyncdlms.link import Link
from asyncdlms.obis import Obis
from asyncdlms.session.events import AssociationReleased
from asyncdlms.session.object_access import ObjectTable
from asyncdlms.session.server import ServerSession, ServerSettings
from asyncdlms.types import DoubleLongUnsigned, Enum, Integer, Structure
from asyncdlms.wrapper import WrapperConnection

REPOSITORY = Path(__file__).resolve().parents[2]
REGISTER = Obis("1.0.1.8.0.255")
TIMEOUT = 2.0


def bound(timeout: float) -> float:
    """The generous upper bound of a call's wall time (a loaded 2-core machine)."""
    return timeout * 1.2 + 1.5


class SilentMeter:
    """Our server session that writes its first ``answers`` chunks and then nothing more
    (it still reads: the TCP connection stays open, the meter just goes silent)."""

    def __init__(self, hdlc: bool, answers: int, delay: float = 0.0) -> None:
        self.hdlc = hdlc
        self.answers = answers
        self.delay = delay  # seconds each answer it still writes is held back
        self.received = 0
        self.releases = 0  # orderly ends the meter's session saw (RLRQ, or HDLC DISC)

    def factory(self) -> asyncio.Protocol:
        link: Link
        if self.hdlc:
            link = HdlcConnection(HdlcSettings(None, HdlcAddress.server(1), Role.SERVER))
        else:
            link = WrapperConnection(1, None, role="server")
        objects = ObjectTable()
        objects.add(3, REGISTER, {2: DoubleLongUnsigned(777), 3: Structure((Integer(0), Enum(30)))})
        session = ServerSession(link, ServerSettings(), objects)
        meter = self
        written = {"count": 0}

        class Silent(Driver):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                assert isinstance(transport, asyncio.Transport)
                original = transport.write

                def write(data: bytes | bytearray | memoryview) -> None:
                    written["count"] += 1
                    if written["count"] <= meter.answers:
                        if meter.delay:
                            loop = asyncio.get_running_loop()
                            loop.call_later(meter.delay, original, bytes(data))
                        else:
                            original(data)

                transport.write = write  # type: ignore[method-assign]
                if not meter.hdlc:
                    link.connect(asyncio.get_running_loop().time())
                super().connection_made(transport)

            def buffer_updated(self, nbytes: int) -> None:  # the driver is a BufferedProtocol
                meter.received += nbytes
                super().buffer_updated(nbytes)

        def progress() -> None:
            for event in session.events():
                if isinstance(event, AssociationReleased) and event.error is None:
                    meter.releases += 1
            driver.flush()

        driver: Driver = Silent(session, on_progress=progress)
        return driver


#: writes before the silence: the association answered (HDLC: UA, AARE; wrapper: AARE)
ASSOCIATED = {True: 2, False: 1}
#: writes before the silence: the AARQ never answered (HDLC: the UA to the SNRM only)
NO_AARE = {True: 1, False: 0}


async def serving(meter: SilentMeter, work: Callable[[str], Awaitable[None]]) -> None:
    loop = asyncio.get_running_loop()
    listener = await loop.create_server(meter.factory, "127.0.0.1", 0)
    async with listener:
        port = listener.sockets[0].getsockname()[1]
        scheme = "hdlc+tcp" if meter.hdlc else "tcp"
        async with asyncio.timeout(30):  # nothing may hang
            await work(f"{scheme}://127.0.0.1:{port}")


@pytest.mark.parametrize("hdlc", [False, True], ids=["wrapper", "hdlc"])
async def test_a_timed_out_request_then_close_stays_within_the_timeout(hdlc: bool) -> None:
    async def work(url: str) -> None:
        started = time.monotonic()
        with pytest.raises(RequestTimeoutError):
            async with asyncdlms.connect(url, timeout=TIMEOUT) as meter:
                await meter.get(3, REGISTER, 2)
        elapsed = time.monotonic() - started
        assert elapsed < bound(TIMEOUT), f"{elapsed:.2f} s for a {TIMEOUT} s timeout"

    meter = SilentMeter(hdlc, ASSOCIATED[hdlc])
    await serving(meter, work)
    # abandoned: over the wrapper nothing more was said (no RLRQ); over HDLC the DISC
    # reached the meter (which still listens), and its link ended in order
    assert meter.releases == (1 if hdlc else 0)


@pytest.mark.parametrize("hdlc", [False, True], ids=["wrapper", "hdlc"])
async def test_a_meter_that_never_answers_the_aarq(hdlc: bool) -> None:
    async def work(url: str) -> None:
        started = time.monotonic()
        with pytest.raises(RequestTimeoutError, match="no association"):
            async with asyncdlms.connect(url, timeout=TIMEOUT):
                pass
        elapsed = time.monotonic() - started
        assert elapsed < bound(TIMEOUT), f"{elapsed:.2f} s for a {TIMEOUT} s timeout"

    meter = SilentMeter(hdlc, NO_AARE[hdlc])
    await serving(meter, work)
    assert meter.received > 0  # the client did talk to it


async def test_the_association_stays_usable_after_a_timeout_when_the_meter_answers() -> None:
    """The abandon is only for a close after an unanswered request: a meter that answers the
    next request is released in order (RLRQ, RLRE)."""
    meter = SilentMeter(False, 10**6)

    async def work(url: str) -> None:
        async with asyncdlms.connect(url, timeout=TIMEOUT) as client:
            assert await client.get(3, REGISTER, 2) == 777
            with pytest.raises(RequestTimeoutError):
                await client.get(3, REGISTER, 2, timeout=0)
            assert await client.get(3, REGISTER, 2) == 777

    await serving(meter, work)
    assert meter.releases == 1  # released in order: RLRQ, RLRE


async def run_cli(*args: str) -> tuple[int, str, float]:
    environment = dict(os.environ, PYTHONPATH=str(REPOSITORY))
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "asyncdlms",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environment,
    )
    _, stderr = await process.communicate()
    assert process.returncode is not None
    return process.returncode, stderr.decode(), time.monotonic() - started


#: the CLI's timeout: long enough that a second timeout (the bug) cannot hide in the
#: interpreter's start-up allowance below
CLI_TIMEOUT = 4.0


@pytest.fixture(scope="module")
def startup() -> float:
    """The interpreter's start-up and imports, measured once (not the client's time)."""
    started = time.monotonic()
    code, _, _ = asyncio.run(run_cli("read", "--help"))
    assert code == 0
    return time.monotonic() - started


@pytest.mark.parametrize(
    ("hdlc", "writes"),
    [(False, ASSOCIATED[False]), (True, ASSOCIATED[True]), (True, NO_AARE[True])],
    ids=["wrapper-associated", "hdlc-associated", "hdlc-no-aare"],
)
async def test_cli_read_from_a_silent_meter_ends_within_its_timeout(
    hdlc: bool, writes: int, startup: float
) -> None:
    async def work(url: str) -> None:
        code, stderr, elapsed = await run_cli(
            "read", url, "3/1.0.1.8.0.255/2", "--timeout", str(CLI_TIMEOUT)
        )
        assert code != 0
        assert "RequestTimeoutError" in stderr
        allowed = bound(CLI_TIMEOUT) + 1.5 * startup
        assert elapsed < allowed, f"{elapsed:.2f} s for {CLI_TIMEOUT} s (start-up {startup:.2f} s)"

    await serving(SilentMeter(hdlc, writes), work)


async def test_cli_total_time_is_bounded_by_its_timeout_even_after_a_slow_association(
    startup: float,
) -> None:
    """The association takes most of --timeout (a slow line), then the read goes
    unanswered: the whole call still ends within the timeout and a small margin, not a
    second timeout for the request."""

    async def work(url: str) -> None:
        code, stderr, elapsed = await run_cli(
            "read", url, "3/1.0.1.8.0.255/2", "--timeout", str(CLI_TIMEOUT)
        )
        assert code != 0
        assert "RequestTimeoutError" in stderr
        # the association took 0.9 x the timeout: a second timeout would make it 1.9 x
        assert elapsed < 1.4 * CLI_TIMEOUT + 1.5 * startup

    await serving(SilentMeter(False, ASSOCIATED[False], delay=0.9 * CLI_TIMEOUT), work)


async def test_requests_with_their_own_timeouts_expire_each_at_its_own() -> None:
    """The client's one request timer serves requests of different timeouts: a short one
    queued behind a long one times out while the long one still waits; then the long one
    (cut short by cancelling) leaves the association to its own timer."""
    meter = SilentMeter(False, ASSOCIATED[False])

    async def work(url: str) -> None:
        async with asyncdlms.connect(url, timeout=TIMEOUT) as client:
            long = asyncio.ensure_future(client.get(3, REGISTER, 2, timeout=60))
            await asyncio.sleep(0)
            with pytest.raises(RequestTimeoutError):
                await client.get(3, REGISTER, 2, timeout=0.1)
            assert not long.done()
            long.cancel()
            with pytest.raises(asyncio.CancelledError):
                await long

    await serving(meter, work)


async def test_answered_requests_arm_no_loop_timer_each() -> None:
    """Requests answered in time share the client's request timer: no loop timer per
    request (a handle and a heap entry each, left cancelled in the loop's heap)."""
    meter = SilentMeter(False, 10**6)

    async def work(url: str) -> None:
        async with asyncdlms.connect(url, timeout=TIMEOUT) as client:
            loop = asyncio.get_running_loop()
            assert await client.get(3, REGISTER, 2) == 777
            armed: list[float] = []
            call_at = loop.call_at

            def counting_call_at(when: float, *args: object, **kwargs: object) -> object:
                armed.append(when)
                return call_at(when, *args, **kwargs)  # type: ignore[arg-type]

            loop.call_at = counting_call_at  # type: ignore[method-assign, assignment]
            try:
                for _ in range(20):
                    assert await client.get(3, REGISTER, 2) == 777
            finally:
                del loop.call_at
            assert len(armed) <= 1  # (at most once: when the timeout period ran out)

    await serving(meter, work)


def test_a_client_opened_again_from_another_event_loop_times_out_its_requests() -> None:
    """A client abandoned while a request was outstanding (its meter silent) can be opened
    again: on a fresh session (the old one never saw its association end, so an AARQ would
    have been ignored), and under a new ``asyncio.run`` (a new loop) with a request timer on
    that loop (the old one stayed armed on the old loop, earlier than the new request's
    deadline, so the request waited for ever)."""
    meter = SilentMeter(False, 1)  # answers each AARQ, then nothing
    server_loop = asyncio.new_event_loop()
    thread = threading.Thread(target=server_loop.run_forever, daemon=True)
    thread.start()
    try:
        listener = asyncio.run_coroutine_threadsafe(
            server_loop.create_server(meter.factory, "127.0.0.1", 0), server_loop
        ).result(10)
        url = f"tcp://127.0.0.1:{listener.sockets[0].getsockname()[1]}"
        client = asyncdlms.connect(url, timeout=2.0).client  # opened twice below
        first_session = client.session

        async def abandoned_with_a_request_outstanding() -> None:
            await client.open()
            outstanding = asyncio.ensure_future(client.get(3, REGISTER, 2))
            await asyncio.sleep(0.05)  # sent, never answered
            await client.close(abandon=True)
            with pytest.raises(AssociationError, match="closed"):
                await outstanding

        async def opened_again() -> None:
            async with asyncio.timeout(20):  # a hang fails here, not in CI's budget
                async with await client.open():
                    assert client.session is not first_session
                    with pytest.raises(RequestTimeoutError):
                        await client.get(3, REGISTER, 2)

        asyncio.run(abandoned_with_a_request_outstanding())
        factory, client.session_factory = client.session_factory, None
        with pytest.raises(AssociationError, match="session_factory"):  # nothing to start on
            asyncio.run(client.open())
        client.session_factory = factory
        asyncio.run(opened_again())
    finally:
        server_loop.call_soon_threadsafe(server_loop.stop)
        thread.join(10)
        server_loop.close()
