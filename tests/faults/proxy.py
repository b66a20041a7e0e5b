"""A faulty line: a loopback TCP proxy that harms whole frames (wrapper or HDLC), seeded.

Both directions are cut into frames (wrapper: by the header's length; HDLC: by the frame
splitter, so bytes that are no frame are passed on as they came); each frame meets a fault
with probability ``rate``, the fault drawn from ``kinds``:

- ``drop``: never delivered;
- ``duplicate``: delivered twice;
- ``delay``: delivered after 0.1–0.6 s (the frames behind it wait too: a slow line);
- ``reorder``: held back and delivered after the next frame (or after 0.2 s);
- ``corrupt``: one bit flipped;
- ``truncate``: only a random leading part delivered;
- ``close``: the first part of the frame delivered, then both connections closed (a line
  that dies in the middle of an APDU).

Every decision comes from one ``random.Random(seed)`` per connection and direction, so a
run is reproducible up to the event loop's timing.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

KINDS = ("drop", "duplicate", "delay", "reorder", "corrupt", "truncate", "close")


@dataclass(frozen=True)
class FaultPlan:
    """Which faults, how often (per frame, each direction), from which seed."""

    kinds: Sequence[str]
    rate: float
    seed: int = 0

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {KINDS}")


class _Frames:
    """Whole frames out of a byte stream (HDLC or wrapper); what is no frame passes as is."""

    def __init__(self, hdlc: bool) -> None:
        self.hdlc = hdlc
        self.buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self.buffer += data
        frames: list[bytes] = []
        if self.hdlc:
            # cut at flags; a frame is 7E ... 7E (adjacent frames share no flag here: our
            # stations and the simulator write both flags)
            while True:
                start = self.buffer.find(b"\x7e")
                if start < 0:
                    if self.buffer:
                        frames.append(bytes(self.buffer))
                        self.buffer.clear()
                    return frames
                if start > 0:
                    frames.append(bytes(self.buffer[:start]))  # garbage: passed on
                    del self.buffer[:start]
                if len(self.buffer) < 3:
                    return frames
                length = ((self.buffer[1] & 0x07) << 8) | self.buffer[2]
                if self.buffer[1] & 0xF0 != 0xA0 or length < 5:
                    frames.append(bytes(self.buffer[:1]))  # a lone flag
                    del self.buffer[:1]
                    continue
                if len(self.buffer) < length + 2:
                    return frames
                frames.append(bytes(self.buffer[: length + 2]))
                del self.buffer[: length + 2]
        while len(self.buffer) >= 8:
            size = 8 + int.from_bytes(self.buffer[6:8], "big")
            if len(self.buffer) < size:
                break
            frames.append(bytes(self.buffer[:size]))
            del self.buffer[:size]
        return frames


class FaultyLine:
    """The proxy. ``await line.start()`` returns the URL that reaches ``upstream`` through
    it; ``counts`` says how many frames met each fault."""

    def __init__(self, upstream: str, plan: FaultPlan) -> None:
        scheme, _, rest = upstream.partition("://")
        host, _, port = rest.rpartition(":")
        self.scheme = scheme
        self.hdlc = scheme.startswith("hdlc")
        self.upstream = (host, int(port))
        self.plan = plan
        self.counts: Counter[str] = Counter()
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"{self.scheme}://127.0.0.1:{port}"

    def url_for(self, url: str) -> str:
        """``url`` (a meter behind ``upstream``) with the proxy's host and port."""
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        scheme, _, rest = url.partition("://")
        _, _, tail = rest.partition("/")
        return f"{scheme}://127.0.0.1:{port}" + (f"/{tail}" if tail else "")

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        if self._server is not None:
            await self._server.wait_closed()

    async def __aenter__(self) -> FaultyLine:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        number = self.connections
        meter_writer: asyncio.StreamWriter | None = None
        helpers: list[asyncio.Task[Any]] = []
        try:
            meter_reader, meter_writer = await asyncio.open_connection(*self.upstream)
            closing = asyncio.Event()
            seed = self.plan.seed * 1_000_003 + number * 2
            helpers = [
                asyncio.create_task(self._pump(reader, meter_writer, seed, closing)),
                asyncio.create_task(self._pump(meter_reader, writer, seed + 1, closing)),
                asyncio.create_task(closing.wait()),
            ]
            await asyncio.wait(helpers, return_when=asyncio.FIRST_COMPLETED)
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            for helper in helpers:
                helper.cancel()
            for helper in helpers:
                with contextlib.suppress(BaseException):
                    await helper
            for w in (writer, meter_writer):
                if w is not None:
                    w.close()
            self._tasks.discard(task)

    async def _pump(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        seed: int,
        closing: asyncio.Event,
    ) -> None:
        rng = random.Random(seed)
        frames = _Frames(self.hdlc)
        held: list[bytes] = []  # a frame held back (reorder)
        while True:
            try:
                async with asyncio.timeout(0.2 if held else None):
                    data = await source.read(4096)
            except TimeoutError:  # nothing came for 0.2 s: the held frame goes
                if held:
                    sink.write(held.pop())
                continue
            if not data:
                return
            for frame in frames.feed(data):
                fault = None
                if len(frame) > 2 and rng.random() < self.plan.rate:
                    fault = rng.choice(list(self.plan.kinds))
                    self.counts[fault] += 1
                if fault == "drop":
                    continue
                if fault == "duplicate":
                    sink.write(frame + frame)
                elif fault == "delay":
                    await sink.drain()
                    await asyncio.sleep(rng.uniform(0.1, 0.6))
                    sink.write(frame)
                elif fault == "reorder":
                    if held:
                        sink.write(held.pop())
                    held.append(frame)
                    continue
                elif fault == "corrupt":
                    corrupted = bytearray(frame)
                    bit = rng.randrange(len(corrupted) * 8)
                    corrupted[bit // 8] ^= 1 << (bit % 8)
                    sink.write(bytes(corrupted))
                elif fault == "truncate":
                    sink.write(frame[: rng.randrange(1, len(frame))])
                elif fault == "close":
                    sink.write(frame[: rng.randrange(1, len(frame))])
                    await sink.drain()
                    closing.set()
                    return
                else:
                    sink.write(frame)
                if held:
                    sink.write(held.pop())
            await sink.drain()
