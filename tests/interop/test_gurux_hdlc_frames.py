"""HDLC frames against gurux-dlms (GPL, used only as a test oracle, never copied).

Gurux's client generates SNRM, I-frames (AARQ, GET), RR, DISC and segmented frames; our
:meth:`Frame.encode` must give the same bytes for the same fields and our
:func:`decode_frame` must parse them. Gurux's push generator gives server-style UI
frames, and Gurux's client parses frames we encode.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from asyncdlms.hdlc.addresses import HdlcAddress, server_address_from_serial_number
from asyncdlms.hdlc.frames import LLC_REQUEST, LLC_RESPONSE, Frame, FrameType, decode_frame
from asyncdlms.hdlc.parameters import HdlcParameters
from asyncdlms.hdlc.splitter import FrameSplitter

gurux_dlms = pytest.importorskip("gurux_dlms")

from gurux_dlms import (  # noqa: E402
    GXByteBuffer,
    GXDLMSClient,
    GXDLMSNotify,
    GXReplyData,
)
from gurux_dlms.enums import (  # noqa: E402
    Authentication,
    DataType,
    InterfaceType,
    RequestTypes,
)
from gurux_dlms.objects import GXDLMSData, GXDLMSRegister  # noqa: E402

CLIENT = HdlcAddress.client(16)

SERVERS = [
    HdlcAddress.server(1),
    HdlcAddress.server(1, 17),
    HdlcAddress.server(1, 6678),
    HdlcAddress.server(0x2A, 0x3FFF),
]


def gurux_client(server: HdlcAddress, client_logical: int = 16) -> Any:
    return GXDLMSClient(
        True,
        client_logical,
        server.to_int(),
        Authentication.NONE,
        None,
        InterfaceType.HDLC,
    )


def as_bytes(data: Any) -> bytes:
    return bytes(data)


@pytest.mark.parametrize("server", SERVERS, ids=str)
def test_snrm_with_default_parameters(server: HdlcAddress) -> None:
    gurux = as_bytes(gurux_client(server).snrmRequest())
    ours = Frame(
        FrameType.SNRM, server, CLIENT, information=HdlcParameters().encode(omit_defaults=True)
    )
    assert ours.encode() == gurux
    decoded = decode_frame(gurux)
    assert decoded == ours
    assert decoded.destination == server and decoded.source == CLIENT


@pytest.mark.parametrize(
    "parameters",
    [
        HdlcParameters(1024, 128, 1, 7),
        HdlcParameters(62, 62, 1, 1),
        HdlcParameters(128, 2030, 7, 7),
    ],
)
def test_snrm_with_parameters(parameters: HdlcParameters) -> None:
    server = HdlcAddress.server(1, 17)
    client = gurux_client(server)
    client.hdlcSettings.maxInfoTX = parameters.max_info_length_tx
    client.hdlcSettings.maxInfoRX = parameters.max_info_length_rx
    client.hdlcSettings.windowSizeTX = parameters.window_size_tx
    client.hdlcSettings.windowSizeRX = parameters.window_size_rx
    gurux = as_bytes(client.snrmRequest())
    ours = Frame(FrameType.SNRM, server, CLIENT, information=parameters.encode(omit_defaults=True))
    assert ours.encode() == gurux
    assert HdlcParameters.decode(decode_frame(gurux).information) == parameters


def test_serial_number_address_matches_gurux() -> None:
    for serial in (12345678, 1, 99999999, 40000):
        ours = server_address_from_serial_number(serial)
        assert ours.to_int() == GXDLMSClient.getServerAddressFromSerialNumber(serial)
    # (Gurux's "/" yields a float and then fails; our "/" is integer division.)
    for formula in ("SN % 1000 + 100", "SN - 700 % 5000", "SN * 2 % 16000"):
        ours = server_address_from_serial_number(4711, 1, formula)
        assert ours.to_int() == GXDLMSClient.getServerAddressFromSerialNumber(4711, 1, formula)


@pytest.mark.parametrize("server", SERVERS, ids=str)
def test_aarq_get_rr_disc_sequence(server: HdlcAddress) -> None:
    client = gurux_client(server)
    client.snrmRequest()

    (aarq_raw,) = client.aarqRequest()
    aarq = decode_frame(as_bytes(aarq_raw))
    assert (aarq.frame_type, aarq.send_sequence, aarq.receive_sequence) == (FrameType.I, 0, 0)
    assert aarq.poll_final and not aarq.segmented
    assert aarq.destination == server and aarq.source == CLIENT
    assert aarq.information.startswith(LLC_REQUEST + b"\x60")  # AARQ tag [APPLICATION 0]
    assert Frame(
        FrameType.I, server, CLIENT, True, 0, 0, information=aarq.information
    ).encode() == (as_bytes(aarq_raw))

    # GET request normal: C0 01, invoke-id-and-priority C1, class 3, 1.0.1.8.0.255, attr 2.
    (get_raw,) = client.read(GXDLMSRegister("1.0.1.8.0.255"), 2)
    get = decode_frame(as_bytes(get_raw))
    expected_apdu = bytes.fromhex("C001C100030100010800FF0200")
    assert get.information == LLC_REQUEST + expected_apdu
    assert get.frame_type is FrameType.I
    rebuilt = Frame(
        FrameType.I,
        server,
        CLIENT,
        True,
        get.send_sequence,
        get.receive_sequence,
        information=LLC_REQUEST + expected_apdu,
    )
    assert rebuilt.encode() == as_bytes(get_raw)

    objects_raw = client.getObjectsRequest()
    objects = decode_frame(as_bytes(objects_raw))
    # class 15 (Association LN), 0.0.40.0.0.255, attribute 2 (object list)
    assert objects.information[3:].startswith(bytes.fromhex("C001"))
    assert objects.information[6:] == bytes.fromhex("000F0000280000FF0200")
    assert objects.encode() == as_bytes(objects_raw)

    rr_raw = as_bytes(client.receiverReady(RequestTypes.FRAME))
    rr = decode_frame(rr_raw)
    assert rr.frame_type is FrameType.RR
    assert rr.send_sequence is None and rr.receive_sequence is not None
    assert Frame(FrameType.RR, server, CLIENT, True, None, rr.receive_sequence).encode() == rr_raw

    disc_raw = as_bytes(client.disconnectRequest(True))
    assert decode_frame(disc_raw) == Frame(FrameType.DISC, server, CLIENT)
    assert Frame(FrameType.DISC, server, CLIENT).encode() == disc_raw


def test_segmented_set_request() -> None:
    server = HdlcAddress.server(1, 17)
    client = gurux_client(server)
    client.hdlcSettings.maxInfoTX = 128
    data = GXDLMSData("0.0.96.1.0.255")
    data.value = bytes(range(256)) * 2
    data.setDataType(2, DataType.OCTET_STRING)
    raws = [as_bytes(raw) for raw in client.write(data, 2)]
    assert len(raws) > 1
    frames = [decode_frame(raw) for raw in raws]
    for frame, raw in zip(frames, raws, strict=True):
        assert frame.encode() == raw
        assert frame.frame_type is FrameType.I
        assert len(frame.information) <= 128
    assert [frame.segmented for frame in frames] == [True] * (len(frames) - 1) + [False]
    # N(S) counts up modulo 8 over the segments.
    sequence = [frame.send_sequence for frame in frames]
    assert all((b - a) % 8 == 1 for a, b in itertools.pairwise(sequence))
    information = b"".join(frame.information for frame in frames)
    assert information.startswith(LLC_REQUEST + b"\xc1\x01")  # set-request normal
    assert information.endswith(bytes(range(256)) * 2)
    # The whole sequence through the splitter, in awkward chunks.
    splitter = FrameSplitter()
    stream = b"".join(raws)
    found = [f for i in range(0, len(stream), 13) for f in splitter.feed(stream[i : i + 13])]
    assert found == frames


def test_gurux_push_ui_frame() -> None:
    notify = GXDLMSNotify(True, 16, 1, InterfaceType.HDLC)
    body = b"\x09\x03abc"
    raws = [
        as_bytes(raw) for raw in notify.generateDataNotificationMessages(None, GXByteBuffer(body))
    ]
    (frame,) = [decode_frame(raw) for raw in raws]
    assert frame.frame_type is FrameType.UI
    assert frame.destination == HdlcAddress.client(16)
    assert frame.source == HdlcAddress.server(1)
    assert frame.information.startswith(LLC_RESPONSE + b"\x0f")  # data-notification
    assert frame.information.endswith(body)
    assert frame.encode() == raws[0]


def test_gurux_parses_our_ua_and_information_frames() -> None:
    server = HdlcAddress.server(1, 17)
    client = gurux_client(server)
    client.snrmRequest()
    parameters = HdlcParameters(0x9A, 0x9A, 1, 1)
    ua = Frame(FrameType.UA, CLIENT, server, information=parameters.encode()).encode()
    reply = GXReplyData()
    assert client.getData(GXByteBuffer(ua), reply)
    client.parseUAResponse(reply.data)
    assert client.hdlcSettings.maxInfoTX == 0x9A
    assert client.hdlcSettings.maxInfoRX == 0x9A

    client.aarqRequest()
    aare = bytes.fromhex(
        "6129A109060760857405080101A203020100A305A103020100BE10040E0800065F1F0400001E1D04C80007"
    )
    frame = Frame(FrameType.I, CLIENT, server, True, 0, 1, information=LLC_RESPONSE + aare)
    reply = GXReplyData()
    assert client.getData(GXByteBuffer(frame.encode()), reply)
    assert bytes(reply.data.array()) == aare
