"""Serial backends side by side: pyserial-asyncio (the default) and serialx, receiving HAN
pushes through a pseudo-terminal into a PushReceiver.

    python benchmarks/bench_serial.py [--frames 3000] [--repeats 5]

A writer thread plays the meter: it writes FRAMES HDLC push frames (an Aidon-style list,
~110 bytes each) into the pty's master side as fast as the kernel takes them; the backend
reads the slave side on the event loop and feeds every chunk into one PushReceiver. Printed:
medians of interleaved repeats of the wall time and of this process's CPU time per frame,
and the ratio serialx / pyserial-asyncio (below 1: serialx is cheaper).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pty
import statistics
import sys
import threading
import time
import tty
from collections.abc import Callable
from typing import Any

from asyncdlms.apdu.enums import LongInvokeIdAndPriority
from asyncdlms.apdu.notification import DataNotification
from asyncdlms.hdlc import Frame, FrameType, HdlcAddress
from asyncdlms.hdlc.frames import LLC_RESPONSE
from asyncdlms.listen import Notification, PushReceiver
from asyncdlms.security.counters import MemoryInvocationCounterStore
from asyncdlms.types import Array, DoubleLongUnsigned, Enum, Integer, OctetString, Structure


def push_frame(number: int) -> bytes:
    def triplet(obis: bytes, value: int) -> Structure:
        return Structure((OctetString(obis), DoubleLongUnsigned(value),
                          Structure((Integer(0), Enum(27)))))  # fmt: skip

    body = Array(tuple(triplet(bytes((1, 0, i, 7, 0, 255)), number + i) for i in range(1, 6)))
    apdu = DataNotification(body, LongInvokeIdAndPriority(number % 0xFFFF + 1)).encode()
    return Frame(FrameType.UI, HdlcAddress(1), HdlcAddress(16),
                 information=LLC_RESPONSE + apdu).encode()  # fmt: skip


class _Feed(asyncio.Protocol):
    def __init__(self, receiver: PushReceiver, wanted: int, done: asyncio.Future[None]) -> None:
        self.receiver, self.wanted, self.done, self.count = receiver, wanted, done, 0

    def data_received(self, data: bytes) -> None:
        self.receiver.receive_data(data, 0.0, "pty")
        self.count += sum(isinstance(e, Notification) for e in self.receiver.events())
        if self.count >= self.wanted and not self.done.done():
            self.done.set_result(None)


async def _pyserial(loop: asyncio.AbstractEventLoop, factory: Callable[[], Any], path: str) -> Any:
    import serial_asyncio

    transport, _ = await serial_asyncio.create_serial_connection(
        loop, factory, path, baudrate=115200
    )
    return transport


async def _serialx(loop: asyncio.AbstractEventLoop, factory: Callable[[], Any], path: str) -> Any:
    import serialx

    transport, _ = await serialx.create_serial_connection(loop, factory, path, baudrate=115200)
    return transport


async def one_run(opener: Any, frames: list[bytes]) -> tuple[float, float]:
    master, slave = pty.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    receiver = PushReceiver("hdlc", counter_store=MemoryInvocationCounterStore())
    transport = await opener(loop, lambda: _Feed(receiver, len(frames), done), path)
    data = b"".join(frames)

    def meter() -> None:
        view = memoryview(data)
        while view:
            written = os.write(master, view[:4096])
            view = view[written:]

    started, cpu = time.perf_counter(), time.process_time()
    writer = threading.Thread(target=meter)
    writer.start()
    await asyncio.wait_for(done, 120)
    elapsed, used = time.perf_counter() - started, time.process_time() - cpu
    writer.join()
    transport.close()
    await asyncio.sleep(0.05)
    os.close(master)
    os.close(slave)
    return elapsed / len(frames), used / len(frames)


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    frames = [push_frame(i) for i in range(args.frames)]
    backends = {"pyserial-asyncio": _pyserial}
    try:
        import serialx  # noqa: F401

        backends["serialx"] = _serialx
    except ImportError:
        print("serialx is not installed: pip install serialx to compare")
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in backends}
    for _ in range(args.repeats):
        for name, opener in backends.items():  # interleaved
            results[name].append(await one_run(opener, frames))
    load = os.getloadavg()[0]
    print(f"{args.frames} HDLC push frames of {len(frames[0])} bytes through a pty, "
          f"medians of {args.repeats} interleaved runs (load {load:.1f}):")  # fmt: skip
    medians = {}
    for name, runs in results.items():
        wall = statistics.median(r[0] for r in runs) * 1e6
        cpu = statistics.median(r[1] for r in runs) * 1e6
        medians[name] = (wall, cpu)
        print(f"  {name:18} {wall:7.1f} µs wall  {cpu:7.1f} µs CPU per frame")
    if "serialx" in medians:
        base, other = medians["pyserial-asyncio"], medians["serialx"]
        print(f"  serialx / pyserial-asyncio: wall {other[0] / base[0]:.2f}, "
              f"CPU {other[1] / base[1]:.2f}")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
