"""One received GET answer, frame to value: asyncdlms against dlms-cosem.

An HDLC I-frame (server 1/17 to client 16, LLC E6 E7 00) holding a get-response-normal is
decoded the whole way: the frame (flags, length, HCS, FCS, addresses, control), the LLC
header, the APDU, the value: as the client session reads it (its get-response-normal fast
path) and with the general ``decode_get_response``. Two APDUs: a register value (double-
long-unsigned, 10 bytes in all) and a ~110-byte one (an octet-string of 104 bytes). dlms-
cosem (a benchmark-only comparison: ``pip install dlms-cosem``; it is BSL-licensed, nothing
of it is used by asyncdlms) does the same with ``InformationFrame.from_bytes``,
``GetResponseNormal.from_bytes`` and its ``DlmsDataParser``. Interleaved repeats, best CPU
time of each, ratio in the same run.

    python benchmarks/bench_response.py
"""

from __future__ import annotations

import os
from collections.abc import Callable

from harness import best_cpu_time as best_time

from asyncdlms.apdu.get import decode_get_response
from asyncdlms.hdlc.addresses import HdlcAddress
from asyncdlms.hdlc.frames import LLC_RESPONSE, Frame, FrameType, decode_frame, strip_llc_header
from asyncdlms.session.client.get import get_response_normal_value

COUNT = 20000
SMALL = bytes.fromhex("C401C100") + bytes.fromhex("0600001234")
LONG = bytes.fromhex("C401C100") + bytes((0x09, 104)) + bytes(range(104))


def frame_of(apdu: bytes) -> bytes:
    return Frame(
        FrameType.I, HdlcAddress.client(16), HdlcAddress.server(1, 17), True, 0, 1,
        information=LLC_RESPONSE + apdu,
    ).encode()  # fmt: skip


def ours(frame: bytes) -> Callable[[], None]:
    """As the client reads a GET answer: the frame, the LLC header, then the
    get-response-normal fast path of the client session (session/client/get.py)."""

    def run() -> None:
        for _ in range(COUNT):
            apdu = strip_llc_header(decode_frame(frame).information, response=True)
            ordinary, _value = get_response_normal_value(apdu)
            assert ordinary

    return run


def ours_general(frame: bytes) -> Callable[[], None]:
    """The same with the general APDU decoder (``decode_get_response``: every GET answer
    kind, the dataclasses of the APDU)."""

    def run() -> None:
        for _ in range(COUNT):
            apdu = strip_llc_header(decode_frame(frame).information, response=True)
            decode_get_response(apdu).value  # noqa: B018

    return run


def dlms_cosem(frame: bytes) -> Callable[[], None] | None:
    try:
        from dlms_cosem.dlms_data import DlmsDataParser
        from dlms_cosem.hdlc.frames import InformationFrame
        from dlms_cosem.protocol.xdlms import GetResponseNormal
    except ImportError:
        return None

    def run() -> None:
        for _ in range(COUNT):
            payload = InformationFrame.from_bytes(frame).payload
            response = GetResponseNormal.from_bytes(payload[3:])
            DlmsDataParser().parse(response.data, limit=1)

    return run


def main() -> None:
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for title, apdu in (("register value (10-byte APDU)", SMALL), ("110-byte APDU", LONG)):
        frame = frame_of(apdu)
        mine, general, theirs = ours(frame), ours_general(frame), dlms_cosem(frame)
        best_mine = best_general = best_theirs = float("inf")
        for _ in range(5):  # interleaved
            best_mine = min(best_mine, best_time(mine, repeat=2) / COUNT)
            best_general = min(best_general, best_time(general, repeat=2) / COUNT)
            if theirs is not None:
                best_theirs = min(best_theirs, best_time(theirs, repeat=1) / COUNT)
        for how, ours_best in (("client path", best_mine), ("decode_get_response", best_general)):
            line = f"frame + APDU + value, {title:<30} {how:<20} "
            line += f"asyncdlms {ours_best * 1e6:6.2f} µs"
            if theirs is not None:
                line += (
                    f"   dlms-cosem {best_theirs * 1e6:7.2f} µs   "
                    f"ratio {best_theirs / ours_best:5.1f}x"
                )
            else:
                line += "   (dlms-cosem not installed)"
            print(line, flush=True)


if __name__ == "__main__":
    main()
