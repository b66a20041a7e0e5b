"""The client's DLMS work per GET, without I/O: ClientSession + wrapper in memory.

Each GET: ``session.get`` (request encoded, framed), ``data_to_send``, the answer's wrapper
frame into ``receive_data``, ``events``: the sans-IO share of a read's CPU. Printed in µs
per GET, for a register value (small APDU) and a ~110-byte octet-string: ``get`` (the
GET-normal fast path), the general generator transaction it skips (what ``get`` did before),
and ``get_with_list`` of one attribute; interleaved repeats, best of each, and the ratio
general / fast measured in the same run.

    python benchmarks/bench_session.py
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable

from harness import best_cpu_time as best_time

from asyncdlms.apdu.acse import Aare, AssociationResult
from asyncdlms.apdu.descriptors import CosemAttributeDescriptor
from asyncdlms.apdu.initiate import Conformance, InitiateResponse
from asyncdlms.obis import Obis
from asyncdlms.session.client import ClientSession
from asyncdlms.session.events import RequestCompleted
from asyncdlms.session.settings import ClientSettings
from asyncdlms.wrapper import WrapperConnection

GETS = 10000
CONFORMANCE = (
    Conformance.GET | Conformance.SET | Conformance.ACTION | Conformance.SELECTIVE_ACCESS
    | Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ | Conformance.MULTIPLE_REFERENCES
)  # fmt: skip


def _frame(apdu: bytes) -> bytes:
    return struct.pack(">HHHH", 1, 1, 16, len(apdu)) + apdu


def associated() -> ClientSession:
    session = ClientSession(WrapperConnection(16, 1), ClientSettings())
    session.associate(0.0)
    session.data_to_send()
    aare = Aare(
        AssociationResult.ACCEPTED, user_information=InitiateResponse(CONFORMANCE, 0xFFFF).encode()
    ).encode()
    session.receive_data(_frame(aare), 0.0)
    session.events()
    return session


def workload(value: bytes, how: str) -> Callable[[], None]:
    session = associated()
    descriptor = CosemAttributeDescriptor(3, Obis("1.0.1.8.0.255"), 2)

    def gets() -> None:
        for _ in range(GETS):
            if how == "get_with_list of 1":
                session.get_with_list([descriptor], now=1.0)
            elif how == "general transaction":
                session._submit(session._get_transaction(descriptor, None), 1.0)
            else:
                session.get(descriptor, now=1.0)
            request = session.data_to_send()
            invoke = request[8 + 2]
            answer = bytes((0xC4, 0x01, invoke, 0x00)) + value
            session.receive_data(_frame(answer), 1.0)
            (event,) = session.events()
            assert isinstance(event, RequestCompleted)

    return gets


def main() -> None:
    small = bytes.fromhex("0600000005")  # double-long-unsigned 5
    long = b"\x09\x6c" + bytes(range(108))  # octet-string of 108 bytes (~110-byte APDU)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    kinds = ("get", "general transaction", "get_with_list of 1")
    for title, value in (("small (register value)", small), ("~110-byte APDU", long)):
        best = dict.fromkeys(kinds, float("inf"))
        for _ in range(5):  # interleaved
            for how in kinds:
                best[how] = min(best[how], best_time(workload(value, how), repeat=2) / GETS)
        for how in kinds:
            print(f"ClientSession {how:<20} {title:<24} {best[how] * 1e6:6.2f} µs per GET")
        ratio = best["general transaction"] / best["get"]
        print(f"  fast path: {ratio:.2f}x less CPU than the general transaction")


if __name__ == "__main__":
    main()
