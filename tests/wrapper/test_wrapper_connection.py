"""WrapperConnection: the wrapper as a sans-IO Link, client and server side, TCP and UDP."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncdlms.errors import LinkError, WrapperError
from asyncdlms.link import ApduReceived, Link, LinkClosed, LinkEstablished, apdu_received
from asyncdlms.wrapper import WrapperConnection, WrapperFrame, WrapperState
from tests.conftest import vector

AARQ = bytes.fromhex("601DA109060760857405080101BE10040E01000000065F1F0400001E1DFFFF")
AARE = bytes.fromhex(
    "6129A109060760857405080101A203020100A305A103020100BE10040E0800065F1F0400001E1D04C80007"
)


def test_implements_link() -> None:
    assert isinstance(WrapperConnection(16, 1, "tcp"), Link)


def test_client_and_server_over_tcp() -> None:
    client = WrapperConnection(16, 1, "tcp")
    server = WrapperConnection(1, None, "tcp", role="server")
    client.connect(0.0)
    server.connect(0.0)
    assert client.events() == [LinkEstablished(None, None)]
    assert server.events() == [LinkEstablished(None, None)]
    assert client.next_deadline() is None

    client.send_apdu(AARQ, 0.0)
    wire = client.data_to_send()
    assert wire == bytes.fromhex("000100100001001f") + AARQ  # 60 1D ...: 31 bytes
    assert client.data_to_send() == b""
    for byte in wire:  # any slicing, here one byte at a time
        server.receive_data(bytes([byte]), 0.1)
    assert server.events() == [ApduReceived(AARQ, unsolicited=False, source=16, destination=1)]
    assert server.remote_wport == 16  # learnt from the first frame

    server.send_apdu(AARE, 0.2)
    client.receive_data(server.data_to_send(), 0.3)
    assert client.events() == [ApduReceived(AARE, unsolicited=False, source=1, destination=16)]

    client.disconnect(1.0)
    assert client.events() == [LinkClosed(None)]
    assert client.state is WrapperState.CLOSED
    with pytest.raises(LinkError, match="closed"):
        client.send_apdu(AARQ, 1.1)


def test_udp_one_datagram_per_frame() -> None:
    client = WrapperConnection(16, 1, "udp")
    client.connect(0.0)
    client.send_apdu(b"\xc0\x01\xc1", 0.0)
    client.send_apdu(b"\xc0\x01\xc2", 0.0)
    datagrams = client.datagrams_to_send()
    assert datagrams == [
        WrapperFrame(16, 1, b"\xc0\x01\xc1").encode(),
        WrapperFrame(16, 1, b"\xc0\x01\xc2").encode(),
    ]
    assert client.datagrams_to_send() == []
    assert client.data_to_send() == b""


def test_udp_push_vector_on_another_wport_is_unsolicited() -> None:
    # dlmscosem-wrapper-udp-general-glo-ciphering-0: a push from wPort 1 to wPort 1.
    raw = bytes.fromhex(vector("dlmscosem-wrapper-udp-general-glo-ciphering-0")["hex"])
    client = WrapperConnection(16, 1, "udp")
    client.connect(0.0)
    client.events()
    client.receive_data(raw, 0.0)
    (event,) = client.events()
    assert isinstance(event, ApduReceived)
    assert event.unsolicited is True
    assert (event.source, event.destination) == (1, 1)
    assert event.apdu == raw[8:]


def test_strict_mode_drops_unexpected_wports() -> None:
    client = WrapperConnection(16, 1, "tcp", strict=True)
    client.connect(0.0)
    client.events()
    client.receive_data(
        WrapperFrame(2, 16, b"\x01").encode()  # unexpected source
        + WrapperFrame(1, 17, b"\x02").encode()  # other destination
        + WrapperFrame(1, 16, b"\x03").encode(),
        0.0,
    )
    assert client.events() == [ApduReceived(b"\x03", unsolicited=False, source=1, destination=16)]
    assert client.unexpected_frames == 2


def test_wrong_version_on_tcp_closes_the_link_after_the_good_frames() -> None:
    client = WrapperConnection(16, 1, "tcp")
    client.connect(0.0)
    client.events()
    good = WrapperFrame(1, 16, b"\xc4\x01").encode()
    client.receive_data(good + bytes.fromhex("7EA0072103730140 7E".replace(" ", "")), 0.0)
    events = client.events()
    assert events[0] == ApduReceived(b"\xc4\x01", unsolicited=False, source=1, destination=16)
    assert isinstance(events[1], LinkClosed)
    assert isinstance(events[1].error, WrapperError)
    assert "version" in str(events[1].error)
    assert client.state is WrapperState.CLOSED
    client.receive_data(good, 0.1)  # ignored once closed
    assert client.events() == []


def test_bad_datagram_on_udp_is_dropped_and_counted() -> None:
    client = WrapperConnection(16, 1, "udp")
    client.connect(0.0)
    client.events()
    client.receive_data(bytes.fromhex("0002001000010001c0"), 0.0)  # version 2
    client.receive_data(bytes.fromhex("000100010010"), 0.0)  # short
    client.receive_data(WrapperFrame(1, 16, b"\xc4").encode(), 0.0)
    assert client.events() == [ApduReceived(b"\xc4", unsolicited=False, source=1, destination=16)]
    assert client.dropped_datagrams == 2
    assert isinstance(client.last_error, WrapperError)
    assert client.state is WrapperState.ESTABLISHED


def test_max_apdu_length_closes_a_tcp_link() -> None:
    server = WrapperConnection(1, 16, "tcp", role="server", max_apdu_length=64)
    server.connect(0.0)
    server.events()
    server.receive_data(WrapperFrame(16, 1, bytes(65)).encode()[:8], 0.0)
    (event,) = server.events()
    assert isinstance(event, LinkClosed) and isinstance(event.error, WrapperError)


def test_misuse_raises() -> None:
    with pytest.raises(ValueError):
        WrapperConnection(16, 1, "serial")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        WrapperConnection(16, None, "tcp")  # a client must know the server wPort
    with pytest.raises(ValueError):
        WrapperConnection(0x10000, 1, "tcp")
    client = WrapperConnection(16, 1, "tcp")
    with pytest.raises(LinkError, match="idle"):
        client.send_apdu(b"\x00", 0.0)
    server = WrapperConnection(1, None, "tcp", role="server")
    server.connect(0.0)
    with pytest.raises(LinkError, match="remote wPort"):
        server.send_apdu(b"\x00", 0.0)
    server.send_apdu_to(b"\x0f", 102)
    assert server.data_to_send() == WrapperFrame(1, 102, b"\x0f").encode()


def test_reconnect_after_close_and_timers() -> None:
    client = WrapperConnection(16, 1, "tcp")
    client.connect(0.0)
    client.connect(0.0)  # idempotent
    assert client.events() == [LinkEstablished(None, None)]
    client.disconnect(0.0)
    client.disconnect(0.0)
    assert client.events() == [LinkClosed(None)]
    client.connect(1.0)
    assert client.events() == [LinkEstablished(None, None)]
    client.handle_timer(5.0)
    assert client.next_deadline() is None
    assert client.events() == []


@given(
    st.binary(max_size=40),
    st.booleans(),
    st.none() | st.integers(0, 0xFFFF),
    st.none() | st.integers(0, 0xFFFF),
)
def test_apdu_received_is_the_dataclass(
    apdu: bytes, unsolicited: bool, source: int | None, destination: int | None
) -> None:
    event = apdu_received(apdu, unsolicited, source, destination)
    assert type(event) is ApduReceived
    assert event == ApduReceived(apdu, unsolicited, source, destination)
    assert hash(event) == hash(ApduReceived(apdu, unsolicited, source, destination))
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.apdu = b""  # type: ignore[misc]
