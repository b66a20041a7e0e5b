"""A misbehaving meter line of our own: an asyncio TCP proxy between ``asyncdlms.connect``
and a meter (the simulator, HDLC over TCP or the wrapper), on 127.0.0.1.

Both directions are cut into whole frames (HDLC frames by the splitter, wrapper frames by
their header); each test changes what the meter sends with ``from_meter`` (rewrite, drop,
add frames) and what the client sends with ``from_client`` (answer in the meter's place,
rewrite), and chooses how the bytes reach the client:

- ``delivery="frame"``: one write per frame; ``"bytes"``: one byte per write;
  ``"batch"``: every frame of one read of the meter, plus frames added, in one write;
- ``noise``: bytes written before every frame (line noise, 0x7E included);
- ``echo``: every frame the client sends comes back to it first (an optical head).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Literal

from asyncdlms.hdlc import FrameSplitter
from asyncdlms.hdlc.crc import check_bytes

Delivery = Literal["frame", "bytes", "batch"]
#: (frame from the meter) -> the frames the client gets instead
MeterHook = Callable[[bytes], list[bytes]]
#: (frame from the client) -> (frames for the meter, frames for the client)
ClientHook = Callable[[bytes], tuple[list[bytes], list[bytes]]]

NOISE = b"\x00\x7e\xff\x7e\x7e\x13\x37\x7e"


def rebuild(
    frame: bytes,
    *,
    information: bytes | None = None,
    source: bytes | None = None,
    destination: bytes | None = None,
    control: int | None = None,
) -> bytes:
    """``frame`` (flags included) with another information field, address fields or control
    byte; the length, HCS and FCS are recomputed."""
    old_destination, old_source, old_control, old_information = parts(frame)
    return encode_frame(
        old_destination if destination is None else destination,
        old_source if source is None else source,
        old_control if control is None else control,
        old_information if information is None else information,
        segmented=bool(frame[1] & 0x08),
    )


def encode_frame(
    destination: bytes, source: bytes, control: int, information: bytes, *, segmented: bool = False
) -> bytes:
    """An HDLC frame from raw address bytes (so any length and any address can be sent)."""
    length = (
        2 + len(destination) + len(source) + 1 + 2 + (len(information) + 2 if information else 0)
    )
    header = bytearray((0xA0 | (0x08 if segmented else 0) | (length >> 8), length & 0xFF))
    header += destination + source + bytes((control,))
    if information:
        header += check_bytes(header) + information
    header += check_bytes(header)
    return b"\x7e" + bytes(header) + b"\x7e"


def parts(frame: bytes) -> tuple[bytes, bytes, int, bytes]:
    """(destination, source, control, information) of a whole HDLC frame."""
    body = frame[1:-1]
    end = 2
    while not body[end] & 1:
        end += 1
    destination = body[2 : end + 1]
    start = end + 1
    end = start
    while not body[end] & 1:
        end += 1
    source = body[start : end + 1]
    control = body[end + 1]
    information = body[end + 4 : -2] if len(body) > end + 4 else b""
    return destination, source, control, information


class _Cutter:
    """Whole frames out of a byte stream (HDLC or wrapper)."""

    def __init__(self, hdlc: bool) -> None:
        self.hdlc = hdlc
        self.splitter = FrameSplitter()
        self.buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        if self.hdlc:
            return [frame.encode() for frame in self.splitter.feed(data)]
        self.buffer += data
        frames = []
        while len(self.buffer) >= 8:
            size = 8 + int.from_bytes(self.buffer[6:8], "big")
            if len(self.buffer) < size:
                break
            frames.append(bytes(self.buffer[:size]))
            del self.buffer[:size]
        return frames


def wrapper_apdu(frame: bytes) -> bytes:
    return frame[8:]


def wrapper_frame(like: bytes, apdu: bytes) -> bytes:
    """A wrapper frame with the header (ports) of ``like`` and another APDU."""
    return like[:6] + len(apdu).to_bytes(2, "big") + apdu


def wrapper_reply(request: bytes, apdu: bytes) -> bytes:
    """The meter's wrapper frame answering ``request`` (ports swapped) with ``apdu``."""
    return request[:2] + request[4:6] + request[2:4] + len(apdu).to_bytes(2, "big") + apdu


class MisbehavingLine:
    """The proxy (see the module documentation). ``await line.start()`` returns the URL to
    give ``asyncdlms.connect``; ``from_meter`` / ``from_client`` may be changed at any time."""

    def __init__(
        self,
        upstream: str,
        *,
        delivery: Delivery = "frame",
        noise: bytes = b"",
        echo: bool = False,
        from_meter: MeterHook | None = None,
        from_client: ClientHook | None = None,
    ) -> None:
        scheme, _, rest = upstream.partition("://")
        host, _, port = rest.rpartition(":")
        self.scheme = scheme
        self.hdlc = scheme.startswith("hdlc")
        self.upstream = (host, int(port))
        self.delivery = delivery
        self.noise = noise
        self.echo = echo
        self.from_meter = from_meter
        self.from_client = from_client
        self.client_frames: list[bytes] = []
        self.meter_frames: list[bytes] = []
        self.writes_to_client = 0
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"{self.scheme}://127.0.0.1:{port}"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        if self._server is not None:
            await self._server.wait_closed()

    async def __aenter__(self) -> MisbehavingLine:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        meter_reader, meter_writer = await asyncio.open_connection(*self.upstream)
        lock = asyncio.Lock()
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        up = asyncio.create_task(self._client_to_meter(reader, meter_writer, writer, lock))
        try:
            await self._meter_to_client(meter_reader, writer, lock)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            up.cancel()
            with contextlib.suppress(BaseException):
                await up
            for w in (writer, meter_writer):
                w.close()
            self._tasks.discard(task)

    async def _deliver(
        self, writer: asyncio.StreamWriter, frames: list[bytes], lock: asyncio.Lock
    ) -> None:
        async with lock:
            if self.delivery == "batch":
                data = b"".join(self.noise + frame for frame in frames)
                if data:
                    writer.write(data)
                    self.writes_to_client += 1
                    await writer.drain()
                return
            for frame in frames:
                data = self.noise + frame
                if self.delivery == "bytes":
                    for byte in data:
                        writer.write(bytes((byte,)))
                        self.writes_to_client += 1
                        await writer.drain()
                        await asyncio.sleep(0)
                else:
                    writer.write(data)
                    self.writes_to_client += 1
                    await writer.drain()

    async def _meter_to_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, lock: asyncio.Lock
    ) -> None:
        cutter = _Cutter(self.hdlc)
        while data := await reader.read(65536):
            out: list[bytes] = []
            for frame in cutter.feed(data):
                self.meter_frames.append(frame)
                out.extend(self.from_meter(frame) if self.from_meter else [frame])
            await self._deliver(writer, out, lock)

    async def _client_to_meter(
        self,
        reader: asyncio.StreamReader,
        meter: asyncio.StreamWriter,
        client: asyncio.StreamWriter,
        lock: asyncio.Lock,
    ) -> None:
        cutter = _Cutter(self.hdlc)
        while data := await reader.read(65536):
            for frame in cutter.feed(data):
                self.client_frames.append(frame)
                to_meter, to_client = self.from_client(frame) if self.from_client else ([frame], [])
                if self.echo:
                    to_client = [frame, *to_client]
                if to_client:
                    await self._deliver(client, to_client, lock)
                for out in to_meter:
                    meter.write(out)
                await meter.drain()
