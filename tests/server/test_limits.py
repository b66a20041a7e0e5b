"""Each :class:`ServerLimits` limit against a peer that breaks it, over loopback TCP, with small
configured values so that every test runs in well under a second of waiting.

Durations are never asserted from above: a cut is awaited with a generous timeout, and the
password back-off is checked against a lower bound computed from its schedule."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
import tracemalloc
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

import asyncdlms
from asyncdlms.apdu.acse import Aarq, MechanismName
from asyncdlms.apdu.initiate import Conformance, InitiateRequest
from asyncdlms.errors import AssociationError, DlmsError
from asyncdlms.hdlc import HdlcAddress
from asyncdlms.hdlc.frames import Frame, FrameType, add_llc_header
from asyncdlms.security.hls import Secret
from asyncdlms.server import DlmsServer, FailureBackoff, ServerLimits, Simulator
from asyncdlms.server.endpoint import LinkConfig, ServerStatistics, _Connection
from asyncdlms.session.server import AssociationPolicy
from asyncdlms.wrapper.frames import WrapperFrame

PASSWORD = b"12345678"
ASSOCIATIONS = {
    16: AssociationPolicy(),
    17: AssociationPolicy(MechanismName.LOW, Secret(PASSWORD)),
    18: AssociationPolicy(MechanismName.HIGH_MD5, Secret(b"Gurux1234567890!")),
}
CONFORMANCE = Conformance(0x7E1F)
WAIT = 10.0  # generous: a cut that never comes fails the test, a slow machine does not


def aarq_apdu(password: bytes | None = None) -> bytes:
    return Aarq(
        user_information=InitiateRequest(CONFORMANCE, 0xFFFF).encode(),
        sender_acse_requirements=password is not None,
        mechanism_name=MechanismName.LOW if password is not None else None,
        calling_authentication_value=password,
    ).encode()


def wrapper_aarq(client: int = 16, password: bytes | None = None) -> bytes:
    return WrapperFrame(client, 1, aarq_apdu(password)).encode()


SERVER = HdlcAddress.server(1)
CLIENT = HdlcAddress.client(16)


def snrm() -> bytes:
    return Frame(FrameType.SNRM, SERVER, CLIENT).encode()


def bad_fcs(frame: bytes) -> bytes:
    return frame[:-2] + bytes((frame[-2] ^ 0xFF,)) + frame[-1:]


@asynccontextmanager
async def serving(interface: str = "wrapper", **limits: Any) -> AsyncIterator[Simulator]:
    async with Simulator(
        1,
        interface=interface,  # type: ignore[arg-type]
        associations=ASSOCIATIONS,
        limits=ServerLimits(**limits),
    ) as sim:
        yield sim


def address(sim: Simulator) -> tuple[str, int]:
    server = sim.servers[0]
    assert server.address is not None
    return server.address


async def closed_by_server(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sent until it closed the connection (EOF)."""
    received = bytearray()
    async with asyncio.timeout(WAIT):
        while chunk := await reader.read(4096):
            received += chunk
    return bytes(received)


async def still_open(reader: asyncio.StreamReader, seconds: float = 0.2) -> bool:
    try:
        async with asyncio.timeout(seconds):
            return bool(await reader.read(1)) or False
    except TimeoutError:
        return True


# -- the settings -------------------------------------------------------------------------------


def test_defaults_are_those_of_the_issue() -> None:
    limits = ServerLimits()
    assert limits.first_byte_timeout == 30.0
    assert limits.frame_timeout == 10.0
    assert limits.max_protocol_errors == 10
    assert limits.max_connections == 4096
    assert limits.password_backoff == 0.1 and limits.password_backoff_max == 10.0
    assert limits.apdu_limit(1024) == 1024 + limits.apdu_margin
    assert limits.apdu_limit(0) == 0xFFFF


@pytest.mark.parametrize(
    "values",
    [
        {"first_byte_timeout": 0},
        {"frame_timeout": -1},
        {"max_protocol_errors": 0},
        {"apdu_margin": -1},
        {"work_chunk": 10},
        {"work_chunk": 8192, "max_queued": 4096},
        {"password_backoff": 1.0, "password_backoff_max": 0.5},
    ],
)
def test_invalid_limits_are_refused(values: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        ServerLimits(**values)


def test_backoff_doubles_queues_and_resets() -> None:
    backoff = FailureBackoff(0.1, 1.0)
    key = ("client", 1, 17)
    assert [backoff.delay(n) for n in range(1, 7)] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])
    assert backoff.held_until([key], 5.0) == 5.0
    assert backoff.failed([key], 5.0) == pytest.approx(5.1)
    # a second failure at the same time queues behind the first hold
    assert backoff.failed([key], 5.0) == pytest.approx(5.3)
    assert backoff.held_until([key, ("peer", "x")], 5.0) == pytest.approx(5.3)
    assert backoff.failures(key) == 2
    backoff.succeeded([key])
    assert backoff.failures(key) == 0
    assert backoff.held_until([key], 5.0) == 5.0


def test_backoff_forgets_the_oldest_keys_beyond_its_size() -> None:
    backoff = FailureBackoff(0.1, 1.0, max_keys=3)
    for peer in range(5):
        backoff.failed([("peer", peer)], 0.0)
    assert len(backoff) == 3
    assert backoff.failures(("peer", 0)) == 0 and backoff.failures(("peer", 4)) == 1


# -- timeouts -------------------------------------------------------------------------------


async def test_a_connection_that_never_sends_is_closed_after_the_first_byte_timeout() -> None:
    async with serving(first_byte_timeout=0.2) as sim:
        reader, writer = await asyncio.open_connection(*address(sim))
        assert await closed_by_server(reader) == b""
        writer.close()
        statistics = sim.servers[0].statistics
        assert statistics.first_byte_closes == 1
        assert sim.servers[0].connection_count == 0


async def test_the_first_byte_timeout_stops_once_a_byte_came() -> None:
    async with serving(first_byte_timeout=0.1, frame_timeout=None) as sim:
        reader, writer = await asyncio.open_connection(*address(sim))
        writer.write(wrapper_aarq()[:3])
        assert await still_open(reader, 0.4)
        assert sim.servers[0].statistics.first_byte_closes == 0
        writer.close()


@pytest.mark.parametrize("interface", ["wrapper", "hdlc"])
async def test_a_trickled_frame_is_cut_at_the_frame_deadline(interface: str) -> None:
    """One byte every 20 ms keeps any per-byte timer alive; the frame deadline is set by the
    frame's first byte and cuts it long before the last byte."""
    if interface == "wrapper":
        frame = wrapper_aarq()
    else:
        information = add_llc_header(aarq_apdu(), response=False)
        frame = Frame(FrameType.I, SERVER, CLIENT, True, 0, 0, information=information).encode()
    async with serving(interface, frame_timeout=0.3) as sim:
        reader, writer = await asyncio.open_connection(*address(sim))
        sent = 0
        for byte in frame:  # 50+ bytes at 20 ms: far beyond the deadline
            if reader.at_eof() or writer.is_closing():
                break
            try:
                writer.write(bytes((byte,)))
                await writer.drain()
            except ConnectionError:
                break
            sent += 1
            await asyncio.sleep(0.02)
            if sim.servers[0].statistics.frame_timeout_closes:
                break
        await closed_by_server(reader)
        writer.close()
        assert sim.servers[0].statistics.frame_timeout_closes == 1
        assert sent < len(frame)


async def test_inactivity_is_counted_from_frames_not_bytes() -> None:
    """A peer that trickles bytes which never make a frame (HDLC line noise, no flag) is
    closed by the inactivity timeout: bytes alone do not re-arm it."""
    config = dict(first_byte_timeout=None, frame_timeout=None, max_protocol_errors=None)
    async with Simulator(
        1, interface="hdlc", inactivity_timeout=0.3, limits=ServerLimits(**config)
    ) as sim:
        reader, writer = await asyncio.open_connection(*address(sim))
        for _ in range(200):
            if sim.servers[0].statistics.inactivity_closes:
                break
            writer.write(b"\x55")
            await asyncio.sleep(0.02)
        await closed_by_server(reader)
        writer.close()
        assert sim.servers[0].statistics.inactivity_closes == 1


# -- protocol errors ----------------------------------------------------------------------------


async def test_bad_check_sequences_in_a_row_close_an_hdlc_connection() -> None:
    async with serving("hdlc", max_protocol_errors=5) as sim:
        reader, writer = await asyncio.open_connection(*address(sim))
        writer.write(bad_fcs(snrm()) * 4)
        await writer.drain()
        assert await still_open(reader)
        # a good frame in between: the count starts again
        writer.write(snrm())
        ua = await asyncio.wait_for(reader.read(64), WAIT)
        assert ua[:1] == b"\x7e" and ua
        writer.write(bad_fcs(snrm()) * 4)
        assert await still_open(reader)
        writer.write(bad_fcs(snrm()))
        assert await closed_by_server(reader) == b""
        writer.close()
        statistics = sim.servers[0].statistics
        assert statistics.protocol_error_closes == 1
        assert statistics.protocol_errors == 9


async def test_undecodable_apdus_in_a_row_close_a_wrapper_connection() -> None:
    async with serving(max_protocol_errors=3) as sim:
        reader, writer = await asyncio.open_connection(*address(sim))
        writer.write(wrapper_aarq())
        await asyncio.wait_for(reader.read(4096), WAIT)  # the AARE
        garbage = WrapperFrame(16, 1, b"\xc0\x01\xff").encode()  # a truncated GET request
        writer.write(garbage * 2)
        await writer.drain()
        await asyncio.sleep(0.1)
        assert not reader.at_eof()
        writer.write(garbage)
        await closed_by_server(reader)
        writer.close()
        assert sim.servers[0].statistics.protocol_error_closes == 1


async def test_a_wrapper_stream_error_closes_the_connection_at_once() -> None:
    async with serving() as sim:
        reader, writer = await asyncio.open_connection(*address(sim))
        writer.write(wrapper_aarq())
        await asyncio.wait_for(reader.read(4096), WAIT)
        writer.write(b"\x00\x02\x00\x10\x00\x01\x00\x01\x00")  # wrapper version 2
        await closed_by_server(reader)
        writer.close()
        assert sim.servers[0].statistics.stream_error_closes == 1


async def test_an_apdu_above_the_max_pdu_is_refused_from_its_header() -> None:
    """max PDU 1024 + margin 16: a header announcing 1041 bytes closes the connection before
    a byte of the APDU is sent."""
    async with serving(apdu_margin=16) as sim:
        reader, writer = await asyncio.open_connection(*address(sim))
        writer.write(wrapper_aarq())
        await asyncio.wait_for(reader.read(4096), WAIT)
        writer.write(b"\x00\x01\x00\x10\x00\x01" + (1041).to_bytes(2, "big"))
        await closed_by_server(reader)
        writer.close()
        assert sim.servers[0].statistics.stream_error_closes == 1


async def test_an_apdu_at_the_limit_is_not_refused() -> None:
    async with serving(apdu_margin=16) as sim:
        reader, writer = await asyncio.open_connection(*address(sim))
        writer.write(wrapper_aarq())
        await asyncio.wait_for(reader.read(4096), WAIT)
        writer.write(b"\x00\x01\x00\x10\x00\x01" + (1040).to_bytes(2, "big"))
        assert await still_open(reader)
        writer.close()
        assert sim.servers[0].statistics.stream_error_closes == 0


def test_a_serial_line_is_never_cut_for_line_noise() -> None:
    closes: list[str] = []
    statistics = ServerStatistics()
    connection = _Connection(
        lambda address: None,
        LinkConfig("hdlc"),
        statistics,
        lambda: closes.append("closed"),
        limits=ServerLimits(max_protocol_errors=2, first_byte_timeout=1.0, frame_timeout=1.0),
        kind="serial",
        now=0.0,
    )
    assert connection.next_deadline() is None  # no first-byte timeout on a line
    for now in range(100):
        connection.receive_data(bad_fcs(snrm()) + b"\x7e\xa0\x20", float(now))
    assert connection.next_deadline() is None  # nor a frame deadline
    assert not closes and statistics.protocol_errors == 0


# -- connection caps -------------------------------------------------------------------------


async def test_connections_over_the_global_cap_are_refused_at_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, "asyncdlms.server.endpoint")
    async with serving(max_connections=3, first_byte_timeout=None) as sim:
        host, port = address(sim)
        admitted = [await asyncio.open_connection(host, port) for _ in range(3)]
        while sim.servers[0].connection_count < 3:
            await asyncio.sleep(0.01)
        reader, writer = await asyncio.open_connection(host, port)
        assert await closed_by_server(reader) == b""
        writer.close()
        assert sim.servers[0].statistics.refused_connections == 1
        assert "refused a connection from 127.0.0.1: 3 connections open" in caplog.text
        for admitted_reader, _ in admitted:
            assert await still_open(admitted_reader, 0.05)
        # one leaves: a new one is admitted
        admitted[0][1].close()
        while sim.servers[0].connection_count > 2:
            await asyncio.sleep(0.01)
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(wrapper_aarq())
        assert await asyncio.wait_for(reader.read(4096), WAIT)
        writer.close()
        for _, admitted_writer in admitted[1:]:
            admitted_writer.close()


async def test_connections_over_the_per_peer_cap_are_refused_other_peers_admitted() -> None:
    async with serving(max_connections_per_peer=2, first_byte_timeout=None) as sim:
        host, port = address(sim)
        admitted = [await asyncio.open_connection(host, port) for _ in range(2)]
        while sim.servers[0].connection_count < 2:
            await asyncio.sleep(0.01)
        reader, writer = await asyncio.open_connection(host, port)
        assert await closed_by_server(reader) == b""
        writer.close()
        # another loopback source address is another peer
        other_reader, other_writer = await asyncio.open_connection(
            host, port, local_addr=("127.0.0.2", 0)
        )
        other_writer.write(wrapper_aarq())
        assert await asyncio.wait_for(other_reader.read(4096), WAIT)
        other_writer.close()
        assert sim.servers[0].statistics.refused_connections == 1
        for _, admitted_writer in admitted:
            admitted_writer.close()


# -- the password back-off -------------------------------------------------------------------


async def test_fifty_wrong_passwords_take_the_backoff_schedule_then_the_right_one_works() -> None:
    initial, maximum = 0.01, 0.05
    expected = sum(FailureBackoff(initial, maximum).delay(n) for n in range(1, 51))
    async with serving(password_backoff=initial, password_backoff_max=maximum) as sim:
        backoff = sim.servers[0].backoff
        assert backoff is not None
        started = time.monotonic()
        for _ in range(50):
            with pytest.raises(AssociationError):
                async with sim.connect(0, client=17, auth="low", password=b"wrong!!!", timeout=5):
                    pass
        elapsed = time.monotonic() - started
        assert elapsed >= expected  # 2.42 s: seconds, not milliseconds
        assert backoff.failures(("client", 1, 17)) == 50
        assert sim.servers[0].statistics.authentication_failures == 50
        async with sim.connect(0, client=17, auth="low", password=PASSWORD, timeout=5) as meter:
            assert meter is not None
        assert backoff.failures(("client", 1, 17)) == 0
        assert backoff.failures(("peer", "127.0.0.1")) == 0


async def test_a_held_client_answer_waits_for_the_hold_even_with_the_right_password() -> None:
    """A right password during a hold is answered when the hold ends (an attacker cannot
    tell a right guess from a wrong one by the time of the answer)."""
    async with serving(password_backoff=0.4, password_backoff_max=0.4) as sim:
        backoff = sim.servers[0].backoff
        assert backoff is not None
        _reader, writer = await asyncio.open_connection(*address(sim))
        writer.write(wrapper_aarq(17, b"wrong!!!"))
        while not backoff.failures(("client", 1, 17)):
            await asyncio.sleep(0.005)
        loop = asyncio.get_running_loop()
        held_until = backoff.held_until([("client", 1, 17)], loop.time())
        right_reader, right_writer = await asyncio.open_connection(*address(sim))
        right_writer.write(wrapper_aarq(17, PASSWORD))
        aare = await asyncio.wait_for(right_reader.read(4096), WAIT)
        assert loop.time() >= held_until
        assert aare[8:9] == b"\x61"  # an AARE
        assert sim.servers[0].statistics.held_answers == 2
        assert sim.servers[0].statistics.associations == 1
        writer.close()
        right_writer.close()


async def test_a_failed_hls_pass_3_counts_an_unknown_client_sap_does_not() -> None:
    async with serving(password_backoff=0.01, password_backoff_max=0.01) as sim:
        with pytest.raises(DlmsError):
            async with sim.connect(0, client=18, auth="md5", password=b"not the secret!!"):
                pass
        statistics = sim.servers[0].statistics
        assert statistics.authentication_failures == 1
        with pytest.raises(AssociationError):
            async with sim.connect(0, client=99, timeout=5):  # no policy: rejected, no guess
                pass
        assert statistics.authentication_failures == 1
        backoff = sim.servers[0].backoff
        assert backoff is not None and backoff.failures(("client", 1, 99)) == 0


async def test_udp_answers_are_held_too() -> None:
    async with Simulator(
        1,
        transport="udp",
        associations=ASSOCIATIONS,
        limits=ServerLimits(password_backoff=0.2, password_backoff_max=0.2),
    ) as sim:
        with pytest.raises(AssociationError):
            async with sim.connect(0, client=17, auth="low", password=b"wrong!!!", timeout=5):
                pass
        async with sim.connect(0, client=17, auth="low", password=PASSWORD, timeout=5) as meter:
            assert meter is not None
        statistics = sim.servers[0].statistics
        assert statistics.authentication_failures == 1 and statistics.held_answers >= 1


async def test_the_backoff_can_be_switched_off() -> None:
    async with serving(password_backoff=None) as sim:
        assert sim.servers[0].backoff is None
        with pytest.raises(DlmsError):
            async with sim.connect(0, client=17, auth="low", password=b"wrong!!!", timeout=5):
                pass
        assert sim.servers[0].statistics.held_answers == 0


# -- memory of closed connections ------------------------------------------------------------


async def _one_connection(server: DlmsServer, payload: bytes) -> weakref.ref[Any]:
    assert server.address is not None
    reader, writer = await asyncio.open_connection(*server.address)
    while not server._drivers:
        await asyncio.sleep(0.001)
    driver = next(iter(server._drivers))
    driver_ref = weakref.ref(driver)
    del driver
    writer.write(payload)
    await writer.drain()
    await asyncio.wait_for(reader.read(65536), WAIT)
    writer.close()
    await writer.wait_closed()
    while server.connection_count:
        await asyncio.sleep(0.001)
    for _ in range(3):
        await asyncio.sleep(0)
    return driver_ref


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(wrapper_aarq(), id="associated"),
        pytest.param(b"\x00\x02" + b"\x00" * 64, id="garbage"),
    ],
)
async def test_a_closed_connection_is_freed_without_the_cyclic_gc(payload: bytes) -> None:
    async with serving() as sim:
        server = sim.servers[0]
        await _one_connection(server, payload)  # warm caches up
        gc.collect()
        gc.disable()
        try:
            driver_ref = await _one_connection(server, payload)
            assert driver_ref() is None, gc.get_referrers(driver_ref())
            tracemalloc.start(12)
            try:
                for _ in range(20):
                    await _one_connection(server, payload)
                first = _ours(tracemalloc.take_snapshot())
                for _ in range(60):
                    await _one_connection(server, payload)
                after = _ours(tracemalloc.take_snapshot())
            finally:
                tracemalloc.stop()
        finally:
            gc.enable()
        # 60 more connections, no collection: what asyncdlms allocated must not stay with
        # them (a cycle per connection kept ~300 KB each for wrapper garbage). asyncio's own
        # socket transports are cyclic in CPython 3.11 (a bound method kept on the transport):
        # not ours, so not counted.
        assert after - first < 16 * 1024, (first, after)


_PACKAGE = str(Path(asyncdlms.__file__).parent) + "/*"


def _ours(snapshot: tracemalloc.Snapshot) -> int:
    """Bytes still allocated by asyncdlms code (any frame of the allocation's traceback)."""
    traces = snapshot.filter_traces([tracemalloc.Filter(True, _PACKAGE, all_frames=True)])
    return sum(stat.size for stat in traces.statistics("filename"))


# -- fair scheduling --------------------------------------------------------------------------


async def test_a_big_read_is_handled_a_chunk_per_loop_turn_and_reading_pauses() -> None:
    """A read of 300 KiB (as a flooding peer gets from the kernel at once) is not handled in
    one callback: one chunk now, one per turn of the loop after, and beyond max_queued
    waiting bytes the transport stops reading until the queue has drained."""
    chunk, queued = 4096, 65536
    async with serving(
        "hdlc", work_chunk=chunk, max_queued=queued, max_protocol_errors=None
    ) as sim:
        server = sim.servers[0]
        reader, writer = await asyncio.open_connection(*address(sim))
        while not server._drivers:
            await asyncio.sleep(0.001)
        driver = next(iter(server._drivers))
        transport = driver.transport
        assert isinstance(transport, asyncio.Transport)
        # frames for another station: no protocol error, no answer, just work
        other = Frame(FrameType.SNRM, HdlcAddress.server(1, 99), CLIENT).encode()
        flood = other * (300 * 1024 // len(other))
        driver.data_received(flood)
        assert len(driver._pending) == len(flood) - chunk
        assert not transport.is_reading()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert len(driver._pending) < len(flood) - chunk  # a turn handled one more chunk
        while driver._pending:
            await asyncio.sleep(0)
        assert transport.is_reading()
        # and the connection still works
        writer.write(snrm())
        assert (await asyncio.wait_for(reader.read(64), WAIT))[:1] == b"\x7e"
        writer.close()


# -- asyncdlms simulate ----------------------------------------------------------------------


def _simulate_arguments(*argv: str) -> Any:
    import argparse

    from asyncdlms.cli.simulate import add_simulate_command

    parser = argparse.ArgumentParser()
    add_simulate_command(parser.add_subparsers(dest="command"))
    return parser.parse_args(["simulate", *argv])


def test_simulate_uses_the_default_limits() -> None:
    from asyncdlms.cli.simulate import simulator_from_arguments

    assert simulator_from_arguments(_simulate_arguments()).limits == ServerLimits()


def test_simulate_options_set_every_limit_and_zero_switches_off() -> None:
    from asyncdlms.cli.simulate import simulator_from_arguments

    arguments = _simulate_arguments(
        "--first-byte-timeout", "5", "--frame-timeout", "0", "--max-protocol-errors", "3",
        "--apdu-margin", "10", "--max-connections", "100", "--max-connections-per-peer", "0",
        "--password-backoff", "0.5", "--password-backoff-max", "4",
    )  # fmt: skip
    assert simulator_from_arguments(arguments).limits == ServerLimits(
        first_byte_timeout=5.0,
        frame_timeout=None,
        max_protocol_errors=3,
        apdu_margin=10,
        max_connections=100,
        max_connections_per_peer=None,
        password_backoff=0.5,
        password_backoff_max=4.0,
    )
    off = simulator_from_arguments(_simulate_arguments("--password-backoff", "0")).limits
    assert off is not None and off.password_backoff is None and off.backoff() is None
