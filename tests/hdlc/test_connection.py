"""HdlcConnection: client and server talking in memory, vectors, timers and quirks.

Time is only ever passed in as ``now``; nothing sleeps.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asyncdlms.errors import (
    AddressMismatchError,
    ConnectionRejectedError,
    DecodeError,
    FrameRejectedError,
    LinkError,
    LinkTimeoutError,
    SequenceError,
)
from asyncdlms.hdlc import (
    LLC_REQUEST,
    LLC_RESPONSE,
    Frame,
    FrameSplitter,
    FrameType,
    HdlcAddress,
    HdlcConnection,
    HdlcParameters,
    HdlcSettings,
    LinkState,
    Role,
    decode_frame,
)
from asyncdlms.link import ApduReceived, Link, LinkClosed, LinkEstablished, LinkEvent
from tests.conftest import vector

CLIENT = HdlcAddress.client(16)
SERVER = HdlcAddress.server(1, 17)
DEFAULTS = HdlcParameters()


def client_settings(
    parameters: HdlcParameters = DEFAULTS,
    server: HdlcAddress = SERVER,
    **options: float | int | None,
) -> HdlcSettings:
    return HdlcSettings(CLIENT, server, Role.CLIENT, parameters, **options)  # type: ignore[arg-type]


def server_settings(
    parameters: HdlcParameters = DEFAULTS, **options: float | int | None
) -> HdlcSettings:
    return HdlcSettings(None, SERVER, Role.SERVER, parameters, **options)  # type: ignore[arg-type]


def frames_of(datagrams: list[bytes]) -> list[Frame]:
    return [decode_frame(datagram) for datagram in datagrams]


@dataclass
class Pair:
    """A client and a server wired together in memory; records every frame each way."""

    client: HdlcConnection
    server: HdlcConnection
    now: float = 0.0
    answer: Callable[[bytes], bytes | None] | None = None
    client_events: list[LinkEvent] = field(default_factory=list)
    server_events: list[LinkEvent] = field(default_factory=list)
    to_server: list[Frame] = field(default_factory=list)
    to_client: list[Frame] = field(default_factory=list)
    chunk: int | None = None  # deliver in slices of this many bytes

    def _deliver(self, connection: HdlcConnection, datagrams: list[bytes]) -> None:
        for datagram in datagrams:
            size = self.chunk or len(datagram)
            for offset in range(0, len(datagram), size):
                connection.receive_data(datagram[offset : offset + size], self.now)

    def run(self, limit: int = 10_000) -> None:
        """Move frames both ways until both sides are quiet."""
        for _ in range(limit):
            upstream = self.client.datagrams_to_send()
            self.to_server += frames_of(upstream)
            self._deliver(self.server, upstream)
            self._collect_server()
            downstream = self.server.datagrams_to_send()
            self.to_client += frames_of(downstream)
            self._deliver(self.client, downstream)
            self.client_events += self.client.events()
            if not upstream and not downstream:
                return
        raise AssertionError("the link did not settle")

    def _collect_server(self) -> None:
        for event in self.server.events():
            self.server_events.append(event)
            if isinstance(event, ApduReceived) and self.answer is not None:
                reply = self.answer(event.apdu)
                if reply is not None:
                    self.server.send_apdu(reply, self.now)

    def connect(self) -> None:
        self.client.connect(self.now)
        self.run()
        assert isinstance(self.client_events[-1], LinkEstablished)
        assert isinstance(self.server_events[-1], LinkEstablished)

    def client_apdus(self) -> list[bytes]:
        return [e.apdu for e in self.client_events if isinstance(e, ApduReceived)]

    def server_apdus(self) -> list[bytes]:
        return [e.apdu for e in self.server_events if isinstance(e, ApduReceived)]


def make_pair(
    client_parameters: HdlcParameters = DEFAULTS,
    server_parameters: HdlcParameters = DEFAULTS,
    answer: Callable[[bytes], bytes | None] | None = None,
) -> Pair:
    return Pair(
        HdlcConnection(client_settings(client_parameters)),
        HdlcConnection(server_settings(server_parameters)),
        answer=answer,
    )


def reverse(apdu: bytes) -> bytes:
    return b"reply:" + apdu[::-1]


def server_frame(
    frame_type: FrameType,
    *,
    source: HdlcAddress = SERVER,
    destination: HdlcAddress = CLIENT,
    poll_final: bool = True,
    send_sequence: int | None = None,
    receive_sequence: int | None = None,
    segmented: bool = False,
    information: bytes = b"",
) -> bytes:
    return Frame(
        frame_type,
        destination,
        source,
        poll_final,
        send_sequence,
        receive_sequence,
        segmented,
        information,
    ).encode()


def connected_client(**options: float | int | None) -> HdlcConnection:
    """A client that sent SNRM at now=0 and got a UA without information field."""
    client = HdlcConnection(client_settings(**options))
    client.connect(0.0)
    client.data_to_send()
    client.receive_data(server_frame(FrameType.UA), 0.0)
    assert isinstance(client.events()[-1], LinkEstablished)
    return client


# ------------------------------------------------------------------------ the Link protocol


def test_hdlc_connection_implements_link() -> None:
    assert isinstance(HdlcConnection(client_settings()), Link)


def test_settings_validate() -> None:
    with pytest.raises(ValueError, match="client_address"):
        HdlcSettings(None, SERVER, Role.CLIENT)
    with pytest.raises(ValueError, match="response_timeout"):
        HdlcSettings(CLIENT, SERVER, response_timeout=0)
    with pytest.raises(ValueError, match="max_retransmissions"):
        HdlcSettings(CLIENT, SERVER, max_retransmissions=-1)


def test_send_before_connect_is_rejected_with_link_error() -> None:
    client = HdlcConnection(client_settings())
    with pytest.raises(LinkError, match="cannot send an APDU while the HDLC link is disconnected"):
        client.send_apdu(b"\x01", 0.0)
    server = HdlcConnection(server_settings())
    with pytest.raises(LinkError):
        server.send_apdu(b"\x01", 0.0)


def test_connect_twice_is_rejected() -> None:
    client = HdlcConnection(client_settings())
    client.connect(0.0)
    with pytest.raises(LinkError, match="cannot connect while the HDLC link is connecting"):
        client.connect(0.0)


# ------------------------------------------------------------------------ connect, negotiate


def test_connect_and_disconnect_in_order() -> None:
    pair = make_pair()
    pair.connect()
    assert pair.client.state is LinkState.CONNECTED
    assert pair.server.state is LinkState.CONNECTED
    assert [f.frame_type for f in pair.to_server] == [FrameType.SNRM]
    assert [f.frame_type for f in pair.to_client] == [FrameType.UA]
    pair.client.disconnect(pair.now)
    pair.run()
    assert pair.client_events[-1] == LinkClosed(None)
    assert pair.server_events[-1] == LinkClosed(None)
    assert pair.client.state is LinkState.DISCONNECTED
    assert pair.server.state is LinkState.DISCONNECTED
    assert [f.frame_type for f in pair.to_server][-1] is FrameType.DISC
    assert [f.frame_type for f in pair.to_client][-1] is FrameType.UA
    assert pair.client.next_deadline() is None


def test_client_can_reconnect_after_disconnect() -> None:
    pair = make_pair(answer=reverse)
    pair.connect()
    pair.client.disconnect(0.0)
    pair.run()
    pair.connect()
    pair.client.send_apdu(b"again", 0.0)
    pair.run()
    assert pair.client_apdus() == [reverse(b"again")]


parameters = st.builds(
    HdlcParameters,
    st.integers(32, 2030),
    st.integers(32, 2030),
    st.integers(1, 7),
    st.integers(1, 7),
)


@given(client_parameters=parameters, server_parameters=parameters)
def test_negotiated_parameters_are_the_minimum_of_both_proposals(
    client_parameters: HdlcParameters, server_parameters: HdlcParameters
) -> None:
    pair = make_pair(client_parameters, server_parameters)
    pair.connect()
    client, server = pair.client.negotiated, pair.server.negotiated
    assert server.max_info_length_tx == min(
        server_parameters.max_info_length_tx, client_parameters.max_info_length_rx
    )
    assert server.max_info_length_rx == min(
        server_parameters.max_info_length_rx, client_parameters.max_info_length_tx
    )
    assert server.window_size_tx == min(
        server_parameters.window_size_tx, client_parameters.window_size_rx
    )
    assert server.window_size_rx == min(
        server_parameters.window_size_rx, client_parameters.window_size_tx
    )
    # The client sees the same values from its side.
    assert client.max_info_length_tx == server.max_info_length_rx
    assert client.max_info_length_rx == server.max_info_length_tx
    assert client.window_size_tx == server.window_size_rx
    assert client.window_size_rx == server.window_size_tx
    established = pair.client_events[-1]
    assert established == LinkEstablished(client.max_info_length_tx, client.max_info_length_rx)
    assert pair.server_events[-1] == LinkEstablished(
        server.max_info_length_tx, server.max_info_length_rx
    )
    # An SNRM carries an information field exactly when the proposal is not the default.
    snrm = pair.to_server[0]
    assert (snrm.information == b"") == client_parameters.is_default
    assert HdlcParameters.decode(snrm.information) == client_parameters


# ------------------------------------------------------------------------ APDUs both ways


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    client_parameters=parameters,
    server_parameters=parameters,
    requests=st.lists(st.integers(0, 5000), min_size=1, max_size=3),
    data=st.data(),
)
def test_apdus_of_any_size_both_ways_with_any_window_and_length(
    client_parameters: HdlcParameters,
    server_parameters: HdlcParameters,
    requests: list[int],
    data: st.DataObject,
) -> None:
    reply_sizes = data.draw(
        st.lists(st.integers(0, 5000), min_size=len(requests), max_size=len(requests))
    )
    replies = {}

    def answer(apdu: bytes) -> bytes:
        return replies[apdu]

    pair = make_pair(client_parameters, server_parameters, answer)
    pair.connect()
    sent_requests, sent_replies = [], []
    for index, (request_size, reply_size) in enumerate(zip(requests, reply_sizes, strict=True)):
        request = bytes([index]) + bytes((index + i) % 251 for i in range(request_size))[1:]
        request = request[:request_size]
        # Distinct requests so that the answer function can find the reply.
        request = request if request not in replies else request + bytes([index])
        reply = bytes((7 * i + index) % 256 for i in range(reply_size))
        replies[request] = reply
        sent_requests.append(request)
        sent_replies.append(reply)
        upstream_before, downstream_before = len(pair.to_server), len(pair.to_client)
        pair.client.send_apdu(request, pair.now)
        pair.run()
        check_segments(
            pair.to_server[upstream_before:],
            request,
            LLC_REQUEST,
            pair.client.negotiated,
        )
        check_segments(
            pair.to_client[downstream_before:],
            reply,
            LLC_RESPONSE,
            pair.server.negotiated,
        )
        check_acknowledgements(
            pair.to_client[downstream_before:],
            pair.to_server[upstream_before:],
            pair.client.negotiated,
        )
        check_acknowledgements(
            pair.to_server[upstream_before:],
            pair.to_client[downstream_before:],
            pair.server.negotiated,
        )
    assert pair.server_apdus() == sent_requests
    assert pair.client_apdus() == sent_replies
    assert all(not e.unsolicited for e in pair.client_events if isinstance(e, ApduReceived))
    assert pair.client.retransmissions == 0
    assert pair.client.sequence_errors == pair.server.sequence_errors == 0


def check_segments(
    frames: list[Frame], apdu: bytes, llc: bytes, negotiated: HdlcParameters
) -> None:
    """The I-frames carrying one APDU: LLC only in the first, segmentation bit, sizes."""
    information = [f for f in frames if f.frame_type is FrameType.I]
    assert information, "an APDU travels in at least one I-frame"
    assert information[0].information.startswith(llc)
    joined = b"".join(f.information for f in information)
    assert joined == llc + apdu
    assert [f.segmented for f in information] == [True] * (len(information) - 1) + [False]
    assert all(len(f.information) <= negotiated.max_info_length_tx for f in information)
    assert all(len(f.information) == negotiated.max_info_length_tx for f in information[:-1])
    expected_frames = max(1, math.ceil((len(apdu) + 3) / negotiated.max_info_length_tx))
    assert len(information) == expected_frames
    # N(S) counts modulo 8 without gaps; P/F is set on the last frame of every window.
    assert [f.send_sequence for f in information] == [
        (information[0].send_sequence or 0) + i & 7 for i in range(len(information))
    ]
    polls = [i for i, f in enumerate(information) if f.poll_final]
    assert polls[-1] == len(information) - 1
    window = negotiated.window_size_tx
    expected_polls = [
        min(i + window, len(information)) - 1 for i in range(0, len(information), window)
    ]
    assert polls == expected_polls


def check_acknowledgements(
    acknowledgements: list[Frame], sent: list[Frame], negotiated: HdlcParameters
) -> None:
    """Every window of segments but the last is acknowledged by one RR from the receiver."""
    information = [f for f in sent if f.frame_type is FrameType.I]
    windows = math.ceil(len(information) / negotiated.window_size_tx)
    rr = [f for f in acknowledgements if f.frame_type is FrameType.RR]
    assert len(rr) == windows - 1
    assert all(f.poll_final for f in rr)


def test_rr_for_each_segment_with_window_1() -> None:
    pair = make_pair(HdlcParameters(32, 32, 1, 1), HdlcParameters(32, 32, 1, 1), reverse)
    pair.connect()
    apdu = bytes(range(100))  # 103 bytes with LLC: 4 segments of 32, 32, 32, 7
    pair.client.send_apdu(apdu, 0.0)
    pair.run()
    upstream = [(f.frame_type, f.send_sequence, f.receive_sequence) for f in pair.to_server[1:]]
    downstream = [(f.frame_type, f.send_sequence, f.receive_sequence) for f in pair.to_client[1:]]
    i, rr = FrameType.I, FrameType.RR
    assert upstream[:4] == [(i, 0, 0), (i, 1, 0), (i, 2, 0), (i, 3, 0)]
    # The server acknowledges each segment with RR N(R) = next expected, then answers.
    assert downstream[:3] == [(rr, None, 1), (rr, None, 2), (rr, None, 3)]
    assert downstream[3][:2] == (i, 0)
    assert downstream[3][2] == 4
    assert pair.server_apdus() == [apdu]
    assert pair.client_apdus() == [reverse(apdu)]


def test_queued_apdus_go_out_in_one_window() -> None:
    pair = make_pair(HdlcParameters(128, 128, 3, 3), HdlcParameters(128, 128, 3, 3))
    pair.connect()
    for n in range(3):
        pair.client.send_apdu(bytes([n]) * 10, 0.0)
    frames = frames_of(pair.client.datagrams_to_send())
    assert [(f.send_sequence, f.poll_final) for f in frames] == [(0, False), (1, False), (2, True)]


def test_server_answers_several_apdus_queued_by_its_application() -> None:
    pair = make_pair(HdlcParameters(128, 128, 2, 2), HdlcParameters(128, 128, 2, 2))
    pair.connect()
    pair.client.send_apdu(b"one", 0.0)
    pair.client.send_apdu(b"two", 0.0)
    pair.run()
    assert pair.server_apdus() == [b"one", b"two"]
    pair.server.send_apdu(b"first", 0.0)
    pair.server.send_apdu(b"second", 0.0)
    pair.run()
    assert pair.client_apdus() == [b"first", b"second"]


@pytest.mark.parametrize("chunk", [1, 2, 7])
def test_bytes_fed_in_small_slices_give_the_same_events(chunk: int) -> None:
    whole = make_pair(HdlcParameters(40, 40, 2, 2), HdlcParameters(40, 40, 2, 2), reverse)
    sliced = make_pair(HdlcParameters(40, 40, 2, 2), HdlcParameters(40, 40, 2, 2), reverse)
    sliced.chunk = chunk
    for pair in (whole, sliced):
        pair.connect()
        pair.client.send_apdu(bytes(range(200)), 0.0)
        pair.run()
    assert sliced.server_apdus() == whole.server_apdus() == [bytes(range(200))]
    assert sliced.client_events == whole.client_events
    assert sliced.server_events == whole.server_events
    assert sliced.to_server == whole.to_server
    assert sliced.to_client == whole.to_client


# ------------------------------------------------------------------------ vectors


def test_snrm_vector_byte_for_byte() -> None:
    """dlmscosem-hdlc-snrm-no-params-2byte-server: client 16, server 1/17, defaults."""
    item = vector("dlmscosem-hdlc-snrm-no-params-2byte-server")
    client = HdlcConnection(client_settings())
    client.connect(0.0)
    assert client.data_to_send() == bytes.fromhex(item["hex"])


def test_ua_vector_then_aarq_and_aare_vectors() -> None:
    """dlmscosem-hdlc-ua-params-2byte-server, -iframe-aarq and -iframe-aare in one session."""
    ua = bytes.fromhex(vector("dlmscosem-hdlc-ua-params-2byte-server")["hex"])
    aarq = vector("dlmscosem-hdlc-iframe-aarq")
    aare = vector("dlmscosem-hdlc-iframe-aare")
    client = HdlcConnection(client_settings())
    client.connect(0.0)
    client.data_to_send()
    client.receive_data(ua, 0.1)
    assert client.events() == [LinkEstablished(0x9A, 0x9A)]
    assert client.negotiated == HdlcParameters(0x9A, 0x9A, 1, 1)
    aarq_apdu = bytes.fromhex(aarq["expected"]["information"])[3:]
    client.send_apdu(aarq_apdu, 0.2)
    assert client.data_to_send() == bytes.fromhex(aarq["hex"])
    assert client.next_deadline() == pytest.approx(0.2 + client.settings.response_timeout)
    client.receive_data(bytes.fromhex(aare["hex"]), 0.3)
    aare_apdu = bytes.fromhex(aare["hex"])[12:-3]
    assert aare_apdu[0] == 0x61  # AARE tag
    assert client.events() == [
        ApduReceived(aare_apdu, unsolicited=False, source=SERVER.to_int(), destination=16)
    ]
    assert client.next_deadline() is None  # answered: no timer runs
    assert client.data_to_send() == b""  # a complete answer needs no RR


def test_server_answers_the_vector_snrm_and_delivers_the_vector_aarq() -> None:
    snrm = bytes.fromhex(vector("dlmscosem-hdlc-snrm-no-params-2byte-server")["hex"])
    aarq = vector("dlmscosem-hdlc-iframe-aarq")
    server = HdlcConnection(server_settings(HdlcParameters(0x9A, 0x9A, 1, 1)))
    server.receive_data(snrm, 0.0)
    (ua,) = frames_of(server.datagrams_to_send())
    assert ua.frame_type is FrameType.UA and ua.destination == CLIENT and ua.source == SERVER
    # The SNRM proposed the defaults, so the minimum is 128.
    assert HdlcParameters.decode(ua.information) == HdlcParameters(128, 128, 1, 1)
    server.receive_data(bytes.fromhex(aarq["hex"]), 0.1)
    events = server.events()
    assert events[-1] == ApduReceived(
        bytes.fromhex(aarq["expected"]["information"])[3:], source=16, destination=SERVER.to_int()
    )
    assert server.data_to_send() == b""  # holds the poll until its application answers


def test_han_push_vectors_arrive_unsolicited_without_a_link() -> None:
    """dlmscosem-hdlc-ui-aidon-han-list (UI) and amshan-hdlc-iframe-kaifa-0x7e-in-info (I)."""
    client = HdlcConnection(client_settings())
    for vector_id in ("dlmscosem-hdlc-ui-aidon-han-list", "amshan-hdlc-iframe-kaifa-0x7e-in-info"):
        raw = bytes.fromhex(vector(vector_id)["hex"])
        frame = decode_frame(raw)
        client.receive_data(raw, 0.0)
        (event,) = client.events()
        assert isinstance(event, ApduReceived)
        assert event.unsolicited
        assert event.apdu == frame.information[3:]
        assert event.apdu[0] == 0x0F  # data-notification
        assert event.source == frame.source.to_int()
        assert event.destination == frame.destination.to_int()
    assert client.state is LinkState.DISCONNECTED
    assert client.data_to_send() == b""


# ------------------------------------------------------------------------ DM, FRMR, DISC


def test_dm_in_answer_to_snrm_is_a_connection_rejected_error() -> None:
    client = HdlcConnection(client_settings())
    client.connect(0.0)
    client.data_to_send()
    client.receive_data(server_frame(FrameType.DM), 0.1)
    (event,) = client.events()
    assert isinstance(event, LinkClosed)
    assert isinstance(event.error, ConnectionRejectedError)
    assert client.state is LinkState.CLOSED
    assert client.next_deadline() is None


def test_frmr_closes_the_link_with_frame_rejected_error() -> None:
    client = connected_client()
    client.send_apdu(b"\xc0\x01", 0.0)
    client.data_to_send()
    client.receive_data(server_frame(FrameType.FRMR, information=b"\x10\x00\x00"), 0.1)
    (event,) = client.events()
    assert isinstance(event, LinkClosed) and isinstance(event.error, FrameRejectedError)
    assert "10 00 00" in str(event.error)
    assert client.state is LinkState.CLOSED


def test_server_closes_on_frmr_from_the_client() -> None:
    pair = make_pair()
    pair.connect()
    frmr = Frame(FrameType.FRMR, SERVER, CLIENT).encode()
    pair.server.receive_data(frmr, 0.0)
    (event,) = pair.server.events()
    assert isinstance(event, LinkClosed) and isinstance(event.error, FrameRejectedError)
    assert pair.server.state is LinkState.DISCONNECTED


def test_server_answers_frames_in_disconnected_mode_with_dm() -> None:
    server = HdlcConnection(server_settings())
    rr = Frame(FrameType.RR, SERVER, CLIENT, receive_sequence=0).encode()
    server.receive_data(rr, 0.0)
    (dm,) = frames_of(server.datagrams_to_send())
    assert dm.frame_type is FrameType.DM and dm.destination == CLIENT and dm.poll_final
    disc = Frame(FrameType.DISC, SERVER, CLIENT).encode()
    server.receive_data(disc, 0.0)
    assert frames_of(server.datagrams_to_send())[0].frame_type is FrameType.DM
    # A frame without the poll bit is not answered.
    quiet = Frame(FrameType.RR, SERVER, CLIENT, poll_final=False, receive_sequence=0).encode()
    server.receive_data(quiet, 0.0)
    assert server.data_to_send() == b""


def test_dm_while_connected_closes_the_client() -> None:
    client = connected_client()
    client.send_apdu(b"\x01", 0.0)
    client.data_to_send()
    client.receive_data(server_frame(FrameType.DM), 0.1)
    (event,) = client.events()
    assert isinstance(event, LinkClosed) and isinstance(event.error, LinkError)
    assert not isinstance(event.error, ConnectionRejectedError)


def test_dm_answers_disc_as_an_orderly_close() -> None:
    client = connected_client()
    client.disconnect(0.0)
    (disc,) = frames_of(client.datagrams_to_send())
    assert disc.frame_type is FrameType.DISC
    client.receive_data(server_frame(FrameType.DM), 0.1)
    assert client.events() == [LinkClosed(None)]
    assert client.state is LinkState.DISCONNECTED


def test_server_side_disconnect_answers_the_next_poll_with_dm() -> None:
    pair = make_pair()
    pair.connect()
    pair.server.disconnect(0.0)
    assert pair.server.events() == [LinkClosed(None)]
    pair.client.send_apdu(b"\x01", 0.0)
    pair.run()
    closed = pair.client_events[-1]
    assert isinstance(closed, LinkClosed) and isinstance(closed.error, LinkError)


# ------------------------------------------------------------------------ timers


def test_snrm_is_retransmitted_then_the_link_times_out() -> None:
    client = HdlcConnection(client_settings(response_timeout=2.0, max_retransmissions=2))
    client.connect(10.0)
    snrm = client.data_to_send()
    assert client.next_deadline() == 12.0
    client.handle_timer(11.9)
    assert client.data_to_send() == b"" and client.events() == []
    client.handle_timer(12.0)
    assert client.data_to_send() == snrm
    assert client.next_deadline() == 14.0
    client.handle_timer(14.0)
    assert client.data_to_send() == snrm
    client.handle_timer(16.0)
    assert client.data_to_send() == b""
    (event,) = client.events()
    assert isinstance(event, LinkClosed) and isinstance(event.error, LinkTimeoutError)
    assert "2 retransmissions" in str(event.error)
    assert client.state is LinkState.CLOSED
    assert client.next_deadline() is None
    assert client.retransmissions == 2


def test_lost_answer_makes_the_client_repeat_its_i_frame_and_the_server_its_answer() -> None:
    pair = make_pair(answer=reverse)
    pair.connect()
    pair.client.send_apdu(b"request", 1.0)
    request = pair.client.datagrams_to_send()
    pair.server.receive_data(b"".join(request), 1.0)
    pair._collect_server()
    answer = pair.server.datagrams_to_send()  # lost on the way
    assert frames_of(answer)[0].frame_type is FrameType.I
    assert pair.client.next_deadline() == 1.0 + pair.client.settings.response_timeout
    pair.now = 4.0
    pair.client.handle_timer(4.0)
    assert pair.client.datagrams_to_send() == request  # the same frame again
    pair.server.receive_data(b"".join(request), 4.0)
    assert pair.server.datagrams_to_send() == answer  # a repeat: the same answer again
    pair.client.receive_data(b"".join(answer), 4.0)
    assert [e for e in pair.client.events() if isinstance(e, ApduReceived)] == [
        ApduReceived(reverse(b"request"), source=SERVER.to_int(), destination=16)
    ]
    assert pair.server_apdus() == [b"request"]  # delivered once
    assert pair.client.next_deadline() is None


def test_unanswered_i_frame_times_out_after_max_retransmissions() -> None:
    client = connected_client(response_timeout=1.0, max_retransmissions=3)
    client.send_apdu(b"\x01\x02", 0.0)
    first = client.data_to_send()
    now = 0.0
    for _ in range(3):
        deadline = client.next_deadline()
        assert deadline == now + 1.0
        now = deadline
        client.handle_timer(now)
        assert client.data_to_send() == first
    client.handle_timer(now + 1.0)
    (event,) = client.events()
    assert isinstance(event, LinkClosed) and isinstance(event.error, LinkTimeoutError)


def test_lost_rr_for_a_segment_is_repeated() -> None:
    client = connected_client(response_timeout=1.0)
    client.send_apdu(b"\xc0\x01", 0.0)
    client.data_to_send()
    segment = server_frame(
        FrameType.I,
        send_sequence=0,
        receive_sequence=1,
        segmented=True,
        information=LLC_RESPONSE + b"ab",
    )
    client.receive_data(segment, 0.5)
    (rr,) = frames_of(client.datagrams_to_send())
    assert (rr.frame_type, rr.receive_sequence, rr.poll_final) == (FrameType.RR, 1, True)
    client.handle_timer(1.5)
    assert frames_of(client.datagrams_to_send()) == [rr]
    last = server_frame(FrameType.I, send_sequence=1, receive_sequence=1, information=b"cd")
    client.receive_data(last, 1.6)
    assert [e.apdu for e in client.events() if isinstance(e, ApduReceived)] == [b"abcd"]


def test_server_drops_the_link_after_inactivity() -> None:
    pair = Pair(
        HdlcConnection(client_settings()),
        HdlcConnection(server_settings(inactivity_timeout=120.0)),
        answer=reverse,
    )
    pair.connect()
    assert pair.server.next_deadline() == 120.0
    pair.now = 100.0
    pair.client.send_apdu(b"keep alive", 100.0)
    pair.run()
    assert pair.server.next_deadline() == 220.0  # traffic restarted the timer
    pair.server.handle_timer(219.0)
    assert pair.server.events() == []
    pair.server.handle_timer(220.0)
    (event,) = pair.server.events()
    assert isinstance(event, LinkClosed) and isinstance(event.error, LinkTimeoutError)
    assert "inactivity" in str(event.error)
    assert pair.server.state is LinkState.DISCONNECTED
    assert pair.server.data_to_send() == b""  # silence, as meters do
    # The client's next poll is answered with DM.
    pair.now = 300.0
    pair.client.send_apdu(b"late", 300.0)
    pair.run()
    closed = pair.client_events[-1]
    assert isinstance(closed, LinkClosed) and isinstance(closed.error, LinkError)


def test_client_reports_inactivity() -> None:
    client = connected_client(inactivity_timeout=60.0)
    assert client.next_deadline() == 60.0
    client.handle_timer(60.0)
    (event,) = client.events()
    assert isinstance(event, LinkClosed) and isinstance(event.error, LinkTimeoutError)
    assert client.state is LinkState.CLOSED


def test_inactivity_timeout_zero_or_none_is_off() -> None:
    for value in (0.0, None):
        client = connected_client(inactivity_timeout=value)
        assert client.next_deadline() is None


# ------------------------------------------------------------------------ RNR, sequence errors


def test_rnr_stops_sending_until_rr() -> None:
    client = HdlcConnection(client_settings(HdlcParameters(32, 32, 1, 1), response_timeout=1.0))
    client.connect(0.0)
    client.data_to_send()
    ua_information = HdlcParameters(32, 32, 1, 1).encode()
    client.receive_data(server_frame(FrameType.UA, information=ua_information), 0.0)
    assert client.max_info_length_tx == 32
    client.send_apdu(bytes(60), 0.0)  # two segments
    (first,) = frames_of(client.datagrams_to_send())
    assert first.segmented
    client.receive_data(server_frame(FrameType.RNR, receive_sequence=1), 0.1)
    assert client.data_to_send() == b""  # busy: no I-frame
    assert client.next_deadline() == pytest.approx(1.1)
    client.handle_timer(1.1)
    (poll,) = frames_of(client.datagrams_to_send())
    assert (poll.frame_type, poll.poll_final, poll.receive_sequence) == (FrameType.RR, True, 0)
    client.receive_data(server_frame(FrameType.RR, receive_sequence=1), 1.2)
    (second,) = frames_of(client.datagrams_to_send())
    assert (second.frame_type, second.send_sequence, second.segmented) == (FrameType.I, 1, False)


def test_out_of_sequence_i_frame_is_answered_with_rr_of_the_expected_number() -> None:
    client = connected_client()
    client.send_apdu(b"\x01", 0.0)
    client.data_to_send()
    # The server's first answer frame (N(S)=0) is lost; N(S)=1 arrives with F.
    client.receive_data(
        server_frame(FrameType.I, send_sequence=1, receive_sequence=1, information=b"x"), 0.1
    )
    assert client.events() == []
    (rr,) = frames_of(client.datagrams_to_send())
    assert (rr.frame_type, rr.receive_sequence) == (FrameType.RR, 0)
    assert client.sequence_errors == 1


def test_repeated_sequence_errors_end_in_sequence_error() -> None:
    client = connected_client(max_retransmissions=2)
    client.send_apdu(b"\x01", 0.0)
    client.data_to_send()
    wrong = server_frame(FrameType.I, send_sequence=1, receive_sequence=1, information=b"x")
    for _ in range(2):
        client.receive_data(wrong, 0.1)
        assert client.events() == []
        client.data_to_send()
    client.receive_data(wrong, 0.1)
    (event,) = client.events()
    assert isinstance(event, LinkClosed) and isinstance(event.error, SequenceError)


def test_a_repeated_i_frame_is_dropped_as_a_duplicate_without_rr() -> None:
    client = connected_client()
    client.send_apdu(b"\x01", 0.0)
    client.data_to_send()
    answer = server_frame(
        FrameType.I, send_sequence=0, receive_sequence=1, information=LLC_RESPONSE + b"ok"
    )
    client.receive_data(answer, 0.1)
    client.receive_data(answer, 0.1)
    assert [e for e in client.events() if isinstance(e, ApduReceived)] == [
        ApduReceived(b"ok", source=SERVER.to_int(), destination=16)
    ]
    assert client.duplicates_dropped == 1
    assert client.sequence_errors == 0
    assert client.data_to_send() == b""


def test_n_r_acknowledging_unsent_frames_is_a_sequence_error() -> None:
    client = connected_client()
    client.send_apdu(b"\x01", 0.0)
    client.data_to_send()
    client.receive_data(server_frame(FrameType.RR, receive_sequence=5), 0.1)
    (event,) = client.events()
    assert isinstance(event, LinkClosed) and isinstance(event.error, SequenceError)
    assert "N(R)=5" in str(event.error)


# ------------------------------------------------------------------------ quirks


def test_echo_of_our_own_frames_is_dropped() -> None:
    """Behaviour 2: optical heads echo what we send."""
    client = HdlcConnection(client_settings())
    client.connect(0.0)
    snrm = client.data_to_send()
    client.receive_data(snrm, 0.01)
    assert client.events() == [] and client.state is LinkState.CONNECTING
    client.receive_data(server_frame(FrameType.UA), 0.02)
    assert isinstance(client.events()[0], LinkEstablished)
    client.send_apdu(b"\xc0\x01\xc1", 0.1)
    request = client.data_to_send()
    client.receive_data(request, 0.11)  # the echo, not a push for another client
    assert client.events() == []
    assert client.next_deadline() == pytest.approx(0.1 + client.settings.response_timeout)
    client.receive_data(
        server_frame(
            FrameType.I, send_sequence=0, receive_sequence=1, information=LLC_RESPONSE + b"ok"
        ),
        0.2,
    )
    assert client.events() == [ApduReceived(b"ok", source=SERVER.to_int(), destination=16)]
    assert client.echoes_dropped == 2


SAME_ADDRESS_PARAMETERS = HdlcParameters(32, 32, 1, 1)


def same_address_pair(*, echo: bool) -> Pair:
    """Client SAP 1 and a meter at logical address 1 with a one-byte address: both encode
    as 0x03, so the two stations' RR frames with equal N(R) are the same bytes."""
    client = HdlcConnection(
        HdlcSettings(
            HdlcAddress.client(1), HdlcAddress.server(1), Role.CLIENT, SAME_ADDRESS_PARAMETERS
        )
    )
    server = HdlcConnection(
        HdlcSettings(None, HdlcAddress.server(1), Role.SERVER, SAME_ADDRESS_PARAMETERS)
    )

    class EchoingPair(Pair):
        def _deliver(self, connection: HdlcConnection, datagrams: list[bytes]) -> None:
            sender = self.server if connection is self.client else self.client
            for datagram in datagrams:  # the sender hears its own frame first
                sender.receive_data(datagram, self.now)
            super()._deliver(connection, datagrams)

    return (EchoingPair if echo else Pair)(client, server, answer=reverse)


@pytest.mark.parametrize("echo", [False, True], ids=["plain line", "echoing line"])
def test_segmented_apdus_between_stations_with_the_same_address_bytes(echo: bool) -> None:
    """The meter's RR acknowledging a segment was byte for byte the client's RR asking for the
    next one, and was dropped as the meter's own echo: the segmented AARE never finished.
    Only frames sent since the last one received can be echoes, and with equal addresses
    only once the line has shown that it echoes (the SNRM's echo)."""
    pair = same_address_pair(echo=echo)
    assert pair.client.settings.client_address.encode() == HdlcAddress.server(1).encode()
    pair.connect()
    request = bytes(range(100))
    pair.client.send_apdu(request, pair.now)
    pair.run()
    assert pair.server_apdus() == [request]
    assert pair.client_apdus() == [reverse(request)]
    rrs = {frame.encode() for frame in pair.to_server if frame.frame_type is FrameType.RR}
    assert rrs & {frame.encode() for frame in pair.to_client}  # the same bytes both ways
    echoed = pair.client.echoes_dropped + pair.server.echoes_dropped
    assert echoed == (len(pair.to_server) + len(pair.to_client) if echo else 0)


def test_ua_without_information_field_means_defaults() -> None:
    """Quirk 11: 7E A0 07 21 03 73 01 40 7E from a 1-byte server address."""
    ua = bytes.fromhex("7EA00721037301407E")
    assert decode_frame(ua).frame_type is FrameType.UA
    client = HdlcConnection(
        client_settings(HdlcParameters(512, 512, 7, 7), server=HdlcAddress.server(1))
    )
    client.connect(0.0)
    client.data_to_send()
    client.receive_data(ua, 0.1)
    assert client.events() == [LinkEstablished(128, 128)]
    assert client.negotiated == HdlcParameters(128, 128, 1, 1)


@pytest.mark.parametrize("answer_address", [HdlcAddress(1, 17, 4), HdlcAddress(1, None, 1)])
def test_server_answering_with_another_address_length_is_the_same_station(
    answer_address: HdlcAddress,
) -> None:
    """Quirk 1: a 2-byte address was sent, the meter answers with 4 (or 1) bytes."""
    client = HdlcConnection(client_settings())
    client.connect(0.0)
    snrm = decode_frame(client.data_to_send())
    assert snrm.destination.length == 2
    client.receive_data(server_frame(FrameType.UA, source=answer_address), 0.1)
    assert client.events() == [LinkEstablished(128, 128)]
    client.send_apdu(b"\xc0", 0.2)
    client.data_to_send()
    client.receive_data(
        server_frame(
            FrameType.I,
            source=answer_address,
            send_sequence=0,
            receive_sequence=1,
            information=LLC_RESPONSE + b"\xc4",
        ),
        0.3,
    )
    assert client.events() == [
        ApduReceived(b"\xc4", source=answer_address.to_int(), destination=16)
    ]


def test_answer_from_another_server_is_an_address_mismatch() -> None:
    client = HdlcConnection(client_settings())
    client.connect(0.0)
    client.data_to_send()
    client.receive_data(server_frame(FrameType.UA, source=HdlcAddress(1, 18, 4)), 0.1)
    (event,) = client.events()
    assert isinstance(event, LinkClosed) and isinstance(event.error, AddressMismatchError)
    assert "1/18" in str(event.error)


def test_pushes_while_waiting_for_the_reply_are_unsolicited_and_keep_the_timeout() -> None:
    """Behaviour 2 and quirk 13: a UI push and an I-frame for another client."""
    client = connected_client(response_timeout=5.0)
    client.send_apdu(b"\xc0\x01", 1.0)
    client.data_to_send()
    deadline = client.next_deadline()
    ui = server_frame(
        FrameType.UI, destination=HdlcAddress.client(0x7F), information=LLC_RESPONSE + b"\x0fpush"
    )
    client.receive_data(ui, 2.0)
    other = server_frame(
        FrameType.I,
        destination=HdlcAddress.client(1),
        send_sequence=4,
        receive_sequence=2,
        information=LLC_RESPONSE + b"\x0fother",
    )
    client.receive_data(other, 3.0)
    assert client.events() == [
        ApduReceived(b"\x0fpush", unsolicited=True, source=SERVER.to_int(), destination=0x7F),
        ApduReceived(b"\x0fother", unsolicited=True, source=SERVER.to_int(), destination=1),
    ]
    assert client.next_deadline() == deadline  # still the same response timeout
    assert client.data_to_send() == b""
    assert client.state is LinkState.CONNECTED
    client.receive_data(
        server_frame(
            FrameType.I, send_sequence=0, receive_sequence=1, information=LLC_RESPONSE + b"\xc4"
        ),
        4.0,
    )
    assert client.events() == [ApduReceived(b"\xc4", source=SERVER.to_int(), destination=16)]


def test_segmented_ui_pushes_are_reassembled() -> None:
    client = HdlcConnection(client_settings())
    parts = [LLC_RESPONSE + b"\x0f" + b"a" * 200, b"b" * 200, b"c" * 10]
    for index, part in enumerate(parts):
        client.receive_data(
            server_frame(
                FrameType.UI,
                destination=HdlcAddress.client(0x10),
                segmented=index < len(parts) - 1,
                information=part,
            ),
            0.0,
        )
    assert client.events() == [
        ApduReceived(
            b"\x0f" + b"a" * 200 + b"b" * 200 + b"c" * 10,
            unsolicited=True,
            source=SERVER.to_int(),
            destination=16,
        )
    ]


def test_server_ignores_frames_for_another_server() -> None:
    server = HdlcConnection(server_settings())
    snrm = Frame(FrameType.SNRM, HdlcAddress.server(1, 18), CLIENT).encode()
    server.receive_data(snrm, 0.0)
    assert server.data_to_send() == b"" and server.events() == []
    assert server.state is LinkState.DISCONNECTED
    # ... but accepts its own address in another length.
    snrm = Frame(FrameType.SNRM, HdlcAddress(1, 17, 4), CLIENT).encode()
    server.receive_data(snrm, 0.0)
    assert frames_of(server.datagrams_to_send())[0].frame_type is FrameType.UA


# ------------------------------------------------------------------------ robustness


@settings(max_examples=200, deadline=None)
@given(noise=st.lists(st.binary(max_size=64), max_size=8), role=st.sampled_from(list(Role)))
def test_receive_data_never_raises_on_noise(noise: list[bytes], role: Role) -> None:
    connection = HdlcConnection(client_settings() if role is Role.CLIENT else server_settings())
    if role is Role.CLIENT:
        connection.connect(0.0)
    for chunk in noise:
        connection.receive_data(chunk, 0.0)
    for event in connection.events():
        assert isinstance(event, LinkEvent)
    connection.data_to_send()


numbered_frames = st.one_of(
    st.builds(
        lambda pf, ns, nr, seg, info: Frame(FrameType.I, CLIENT, SERVER, pf, ns, nr, seg, info),
        st.booleans(),
        st.integers(0, 7),
        st.integers(0, 7),
        st.booleans(),
        st.binary(max_size=20),
    ),
    st.builds(
        lambda kind, pf, nr: Frame(kind, CLIENT, SERVER, pf, None, nr),
        st.sampled_from([FrameType.RR, FrameType.RNR]),
        st.booleans(),
        st.integers(0, 7),
    ),
)


@settings(max_examples=200, deadline=None)
@given(frames=st.lists(numbered_frames, max_size=10))
def test_any_sequence_of_numbered_frames_ends_in_events_never_exceptions(
    frames: list[Frame],
) -> None:
    client = connected_client()
    client.send_apdu(b"\x01", 0.0)
    client.data_to_send()
    for frame in frames:
        client.receive_data(frame.encode(), 0.0)
        client.data_to_send()
    for event in client.events():
        assert isinstance(event, ApduReceived | LinkClosed)
        if isinstance(event, LinkClosed):
            assert isinstance(event.error, SequenceError)


def test_reassembly_is_bounded_by_max_apdu_length() -> None:
    client = connected_client(max_apdu_length=100)
    client.send_apdu(b"\x01", 0.0)
    client.data_to_send()
    for number in range(3):
        client.receive_data(
            server_frame(
                FrameType.I,
                send_sequence=number,
                receive_sequence=1,
                segmented=True,
                information=LLC_RESPONSE + bytes(60),
            ),
            0.1,
        )
        client.data_to_send()
    (event,) = client.events()
    assert isinstance(event, LinkClosed) and isinstance(event.error, DecodeError)
    assert "max_apdu_length" in str(event.error)
    # An endless push is dropped, not delivered and not fatal.
    for _ in range(3):
        client.receive_data(
            server_frame(FrameType.UI, segmented=True, information=LLC_RESPONSE + bytes(60)),
            0.2,
        )
    client.receive_data(server_frame(FrameType.UI, information=b"tail"), 0.2)
    events = client.events()
    assert all(len(e.apdu) <= 100 for e in events if isinstance(e, ApduReceived))


@pytest.mark.parametrize(
    "information",
    [
        # 2-byte lengths, 1-byte windows; 4-byte lengths (quirk 11).
        bytes.fromhex("81800e050200f0060200f0070101080101"),
        bytes.fromhex("81801805040000012c0604000000c8070400000003080400000002"),
    ],
)
def test_ua_parameter_values_of_1_2_or_4_bytes(information: bytes) -> None:
    client = HdlcConnection(client_settings(HdlcParameters(512, 512, 7, 7)))
    client.connect(0.0)
    client.data_to_send()
    client.receive_data(server_frame(FrameType.UA, information=information), 0.1)
    server = HdlcParameters.decode(information)
    assert client.events() == [
        LinkEstablished(server.max_info_length_rx, server.max_info_length_tx)
    ]
    assert client.negotiated.window_size_tx == server.window_size_rx


def test_malformed_ua_information_closes_the_link_with_decode_error() -> None:
    client = HdlcConnection(client_settings())
    client.connect(0.0)
    client.data_to_send()
    client.receive_data(server_frame(FrameType.UA, information=b"\x81\x80\x09\x05"), 0.1)
    (event,) = client.events()
    assert isinstance(event, LinkClosed) and isinstance(event.error, DecodeError)


def test_server_bound_to_a_client_address_ignores_other_clients() -> None:
    server = HdlcConnection(HdlcSettings(CLIENT, SERVER, Role.SERVER))
    other = Frame(FrameType.SNRM, SERVER, HdlcAddress.client(1)).encode()
    server.receive_data(other, 0.0)
    assert server.data_to_send() == b"" and server.state is LinkState.DISCONNECTED
    server.receive_data(Frame(FrameType.SNRM, SERVER, CLIENT).encode(), 0.0)
    (ua,) = frames_of(server.datagrams_to_send())
    assert ua.frame_type is FrameType.UA and ua.destination == CLIENT
    # While connected, frames of another client are ignored.
    stranger = Frame(FrameType.RR, SERVER, HdlcAddress.client(1), receive_sequence=0).encode()
    server.receive_data(stranger, 0.0)
    assert server.data_to_send() == b""
    assert server.state is LinkState.CONNECTED


def test_segmented_vector_frame_is_acknowledged_and_reassembled() -> None:
    """dlmscosem-hdlc-iframe-segmented-middle: N(S)=3, N(R)=4, F, segmentation bit set."""
    raw = bytes.fromhex(vector("dlmscosem-hdlc-iframe-segmented-middle")["hex"])
    segment = decode_frame(raw)
    assert (segment.send_sequence, segment.receive_sequence, segment.segmented) == (3, 4, True)
    one_byte_server = HdlcAddress.server(1)
    assert segment.source == one_byte_server
    client = HdlcConnection(client_settings(server=one_byte_server))
    client.connect(0.0)
    client.data_to_send()
    client.receive_data(server_frame(FrameType.UA, source=one_byte_server), 0.0)
    client.events()
    for number in range(3):  # three request/answer pairs: V(S) = V(R) = 3
        client.send_apdu(bytes([number]), 0.0)
        client.data_to_send()
        client.receive_data(
            server_frame(
                FrameType.I,
                source=one_byte_server,
                send_sequence=number,
                receive_sequence=number + 1,
                information=LLC_RESPONSE + bytes([0xC4, number]),
            ),
            0.0,
        )
    assert len(client.events()) == 3
    client.send_apdu(b"\xc0\x02", 0.0)  # N(S)=3
    client.data_to_send()
    client.receive_data(raw, 0.1)
    assert client.events() == []
    (rr,) = frames_of(client.datagrams_to_send())
    assert (rr.frame_type, rr.receive_sequence, rr.poll_final) == (FrameType.RR, 4, True)
    client.receive_data(
        server_frame(
            FrameType.I,
            source=one_byte_server,
            send_sequence=4,
            receive_sequence=4,
            information=b"\x00\x01",
        ),
        0.2,
    )
    (event,) = client.events()
    assert isinstance(event, ApduReceived)
    assert event.apdu == segment.information + b"\x00\x01"  # no LLC in a continuation


def test_a_frame_split_right_after_snrm_is_not_lost() -> None:
    server = HdlcConnection(server_settings())
    snrm = Frame(FrameType.SNRM, SERVER, CLIENT).encode()
    request = Frame(
        FrameType.I, SERVER, CLIENT, True, 0, 0, False, LLC_REQUEST + b"\xc0\x01"
    ).encode()
    server.receive_data(snrm + request[:5], 0.0)
    server.receive_data(request[5:], 0.0)
    events = server.events()
    assert isinstance(events[0], LinkEstablished)
    assert events[1:] == [ApduReceived(b"\xc0\x01", source=16, destination=SERVER.to_int())]


def test_server_no_reply_gives_the_poll_back_with_rr() -> None:
    """An APDU the server application will not answer (unconfirmed write): no_reply()
    sends RR, so the client's next request is not stalled."""
    client = HdlcConnection(HdlcSettings(HdlcAddress.client(16), HdlcAddress.server(1)))
    server = HdlcConnection(HdlcSettings(None, HdlcAddress.server(1), Role.SERVER))
    client.connect(0.0)
    server.receive_data(client.data_to_send(), 0.0)
    client.receive_data(server.data_to_send(), 0.0)
    client.events()
    server.events()
    client.send_apdu(b"\x16unconfirmed", 0.0)
    server.receive_data(client.data_to_send(), 0.0)
    assert server.data_to_send() == b""  # holding the poll for an answer
    server.no_reply(0.0)
    rr = server.data_to_send()
    frames = FrameSplitter().feed(rr)
    assert [f.frame_type for f in frames] == [FrameType.RR] and frames[0].poll_final
    client.receive_data(rr, 0.0)
    client.send_apdu(b"\xc0next", 0.0)
    server.receive_data(client.data_to_send(), 0.0)
    delivered = [e for e in server.events() if isinstance(e, ApduReceived)]
    assert [e.apdu for e in delivered] == [b"\x16unconfirmed", b"\xc0next"]
    client.no_reply(0.0)  # the client role ignores it
