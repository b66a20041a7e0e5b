"""Frame splitting speed: asyncdlms against gurux-dlms, for HDLC and the wrapper.

Run with ``python benchmarks/bench_frames.py [--frames N] [--gurux-frames M]``.

HDLC: N I-frames (server 1/17 to client 16, LLC E6 E7 00 and a 40-byte GET response
each) are concatenated into one stream and fed to :class:`FrameSplitter` in 4096-byte
chunks; every frame is found, checked (HCS, FCS, addresses, control) and decoded into a
``Frame``. Gurux is measured two ways on M frames (it is about 20x slower, so fewer frames
keep the run short; rates are per frame, so they compare directly):

- ``GXDLMS.getHdlcData`` looping over one ``GXByteBuffer`` holding the stream: Gurux's own
  frame splitter and checker, the like-for-like comparison;
- ``GXDLMSClient.getData`` per frame: Gurux's whole receive path (it also parses the GET
  response into a value, which our splitter leaves to the APDU layer).

Wrapper: N wrapper frames (wPort 1 to 16, same 40-byte APDU) in one stream, fed to
:class:`WrapperSplitter` in 4096-byte chunks, against Gurux's wrapper header parser
(``GXDLMS.__getTcpData``, one frame per buffer since Gurux handles one frame per read)
and ``GXDLMSClient.getData`` with ``InterfaceType.WRAPPER`` per frame.

Times are the best of several runs (``time.perf_counter``).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

try:
    import asyncdlms  # noqa: F401
except ImportError:  # pragma: no cover - running from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from asyncdlms.hdlc.addresses import HdlcAddress
from asyncdlms.hdlc.frames import LLC_RESPONSE, Frame, FrameType
from asyncdlms.hdlc.splitter import FrameSplitter
from asyncdlms.wrapper import WrapperFrame, WrapperSplitter

CHUNK = 4096
# get-response-normal, invoke-id C1, result data: octet-string of 34 bytes -> 40 bytes.
GET_RESPONSE = bytes.fromhex("C401C100") + bytes((0x09, 34)) + bytes(range(34))
assert len(GET_RESPONSE) == 40

CLIENT = HdlcAddress.client(16)
SERVER = HdlcAddress.server(1, 17)


def best_of(runs: int, function: Callable[[], int]) -> tuple[float, int]:
    """Best wall time of ``runs`` calls and the count the function returned."""
    best = float("inf")
    count = 0
    for _ in range(runs):
        started = time.perf_counter()
        count = function()
        best = min(best, time.perf_counter() - started)
    return best, count


def hdlc_frames(count: int) -> list[bytes]:
    return [
        Frame(
            FrameType.I,
            CLIENT,
            SERVER,
            True,
            number % 8,
            (number + 1) % 8,
            information=LLC_RESPONSE + GET_RESPONSE,
        ).encode()
        for number in range(count)
    ]


def chunks_of(stream: bytes) -> list[bytes]:
    return [stream[index : index + CHUNK] for index in range(0, len(stream), CHUNK)]


def ours_hdlc(chunks: list[bytes]) -> int:
    splitter = FrameSplitter()
    found = 0
    for chunk in chunks:
        found += len(splitter.feed(chunk))
    assert splitter.dropped_frames == 0
    return found


def ours_wrapper(chunks: list[bytes]) -> int:
    splitter = WrapperSplitter()
    found = 0
    for chunk in chunks:
        found += len(splitter.feed(chunk))
    return found


def report(label: str, seconds: float, frames: int) -> float:
    rate = frames / seconds
    print(f"  {label:<58} {rate:>12,.0f} frames/s  ({seconds * 1e6 / frames:6.2f} us/frame)")
    return rate


def gurux_modules() -> dict[str, Any] | None:
    try:
        from gurux_dlms import GXByteBuffer, GXDLMSClient, GXReplyData
        from gurux_dlms.enums import Authentication, InterfaceType
        from gurux_dlms.GXDLMS import GXDLMS
    except ImportError:
        return None
    return {
        "GXByteBuffer": GXByteBuffer,
        "GXDLMSClient": GXDLMSClient,
        "GXReplyData": GXReplyData,
        "Authentication": Authentication,
        "InterfaceType": InterfaceType,
        "GXDLMS": GXDLMS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--gurux-frames", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=5)
    arguments = parser.parse_args()
    count, gurux_count, runs = arguments.frames, arguments.gurux_frames, arguments.runs
    gurux = gurux_modules()

    print(f"Python {sys.version.split()[0]}, best of {runs} runs, {CHUNK}-byte chunks")
    print(f"\nHDLC: {count:,} I-frames of {len(hdlc_frames(1)[0])} bytes (40-byte GET response)")
    raw_frames = hdlc_frames(count)
    chunks = chunks_of(b"".join(raw_frames))
    seconds, found = best_of(runs, lambda: ours_hdlc(chunks))
    assert found == count
    ours_rate = report("asyncdlms FrameSplitter.feed", seconds, found)

    if gurux is None:
        print("  gurux-dlms is not installed: no comparison")
    else:
        print(f"  (gurux-dlms on {gurux_count:,} frames, rates per frame)")
        GXDLMS = gurux["GXDLMS"]
        GXByteBuffer = gurux["GXByteBuffer"]
        GXReplyData = gurux["GXReplyData"]

        def new_client(interface: Any, server: int) -> Any:
            return gurux["GXDLMSClient"](
                True, 16, server, gurux["Authentication"].NONE, None, interface
            )

        gurux_stream = b"".join(raw_frames[:gurux_count])
        hdlc = gurux["InterfaceType"].HDLC
        server_address = gurux["GXDLMSClient"].getServerAddress(1, 17)

        def gurux_split() -> int:
            client = new_client(hdlc, server_address)
            buffer = GXByteBuffer(gurux_stream)
            found = 0
            while buffer.position < len(buffer):
                reply = GXReplyData()
                GXDLMS.getHdlcData(False, client.settings, buffer, reply, None)
                if not reply.complete:
                    break
                found += 1
            return found

        seconds, found = best_of(runs, gurux_split)
        assert found == gurux_count, found
        split_rate = report("gurux GXDLMS.getHdlcData (split + check)", seconds, found)

        def gurux_get_data() -> int:
            client = new_client(hdlc, server_address)
            for raw in raw_frames[:gurux_count]:
                client.getData(GXByteBuffer(raw), GXReplyData())
            return gurux_count

        seconds, found = best_of(max(1, runs // 2), gurux_get_data)
        full_rate = report("gurux GXDLMSClient.getData (also parses the APDU)", seconds, found)
        print(
            f"  asyncdlms / gurux: {ours_rate / split_rate:.1f}x (splitter vs getHdlcData), "
            f"{ours_rate / full_rate:.1f}x (vs getData)"
        )

    print(f"\nWrapper: {count:,} frames of {8 + len(GET_RESPONSE)} bytes")
    wrapper_frames = [WrapperFrame(1, 16, GET_RESPONSE).encode() for _ in range(count)]
    chunks = chunks_of(b"".join(wrapper_frames))
    seconds, found = best_of(runs, lambda: ours_wrapper(chunks))
    assert found == count
    ours_rate = report("asyncdlms WrapperSplitter.feed", seconds, found)
    if gurux is not None:
        wrapper = gurux["InterfaceType"].WRAPPER
        get_tcp_data = GXDLMS._GXDLMS__getTcpData  # Gurux's wrapper header parser

        def gurux_wrapper_header() -> int:
            client = new_client(wrapper, 1)
            for raw in wrapper_frames[:gurux_count]:
                reply = GXReplyData()
                get_tcp_data(client.settings, GXByteBuffer(raw), reply, None)
                assert reply.complete
            return gurux_count

        seconds, found = best_of(runs, gurux_wrapper_header)
        header_rate = report("gurux GXDLMS.__getTcpData (header, 1 frame/buffer)", seconds, found)

        def gurux_wrapper_get_data() -> int:
            client = new_client(wrapper, 1)
            for raw in wrapper_frames[:gurux_count]:
                client.getData(GXByteBuffer(raw), GXReplyData())
            return gurux_count

        seconds, found = best_of(max(1, runs // 2), gurux_wrapper_get_data)
        full_rate = report("gurux GXDLMSClient.getData (also parses the APDU)", seconds, found)
        print(
            f"  asyncdlms / gurux: {ours_rate / header_rate:.1f}x (vs header parse), "
            f"{ours_rate / full_rate:.1f}x (vs getData)"
        )


if __name__ == "__main__":
    main()
