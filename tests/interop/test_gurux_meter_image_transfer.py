"""Our client (``Client.upgrade_firmware``) upgrades the gurux-dlms based meter of
../shared/peers/gurux_meter.py over loopback TCP, wrapper and HDLC, as far as gurux supports it.

The shared meter has no Image transfer object: each test wraps its module-level
``build_objects`` (monkeypatched, the shared file untouched) to add a gurux
``GXDLMSImageTransfer("0.0.44.0.0.255")`` (block size 64, transfer enabled) and a Data object
1.0.0.2.0.255 (the active firmware identifier, octet-string ``GRX-1.0``). The meter builds
its objects once per TCP connection (one ``SimMeter`` per connection), so a fresh object would
forget everything when a connection drops: the wrapper hands every connection the *same* two
objects, as a meter's non-volatile memory would, and the tests read what gurux received from
them directly.

What gurux-dlms 1.0.203's server side of class 18 does (observed here, each point asserted
below):

- attributes 2 (image_block_size), 3 (image_transferred_blocks_status, a bit-string), 4
  (image_first_not_transferred_block_number), 5 (image_transfer_enabled) and 6
  (image_transfer_status) are served;
- image_transfer_initiate (method 1) is accepted once per object: status 1 (transfer
  initiated), a bit-string of one clear bit per block, attribute 4 = 0. That first call also
  nests the old image_to_activate_info list inside the new one, so every later initiate (same
  identifier and size or not, on any connection) trips over it: it empties attributes 3 and 4
  and then answers hardware-fault. Attribute 7 answers hardware-fault from then on too (our
  flow does not read it). So there is no resume: gurux keeps the bit-string of the blocks
  received across connections, but the initiate with which our client resumes is refused, and
  the upgrade ends in :class:`FirmwareTransferError` without sending a block; only a new
  object (a restarted gurux meter) takes an image again;
- image_block_transfer (method 2) never works as shipped: ``invoke`` calls ``longValue()`` on
  the block number (an ``int``), assigns into ``bytes`` and writes into ``imageData``, which is
  ``None``. Every block is answered action-result hardware-fault, as ``C7 01 C1 01``: no
  presence flag of return-parameters and invoke-id 1 whatever was asked. Against the stock
  object our client sends block 0 three times (``FirmwareSettings.block_attempts``) and raises
  :class:`FirmwareTransferError`; nothing is stored. The other tests repair method 2 in a
  subclass written here (store the block, set its bit, attribute 4 = number + 1, which is what
  gurux's code means to do); methods 1, 3 and 4 and every attribute stay gurux's own;
- ACTION with-list: gurux grants multiple-references in the AARE but does not read the
  request type: it takes the method count for the class id and answers an
  image_block_transfer with-list with one action-response-normal, hardware-fault (10 blocks),
  or with two action-responses run together in one APDU (``C7 01 C6 04 C7 01 C1 01``, 32
  blocks), which does not parse; either way our client then sends one block per request;
- image_verify (3) and image_activate (4) answer success at once and do nothing: status stays
  1, never 3 (verification successful) or 6 (activation successful), a corrupt or incomplete
  image "verifies", and the firmware identifier never changes, so our ``activate=True``
  ends in :class:`FirmwareIdentifierMismatchError` (gurux claims an activation that did not
  happen); the upgrades that succeed use ``activate=False``;
- there is no Single action schedule: a scheduled activation is refused (object-undefined).

Faults in our client that surfaced here are fixed, each with a regression test of its own:
the ``C7 01 C1 01`` answer was a DecodeError (tests/apdu/test_action.py); the answer to the
request after the one with invoke-id 1, byte-identical to the previous answer, was dropped as
a duplicate datagram and the request timed out (now only over UDP,
tests/session/test_client.py); a with-list refused as a whole, or answered with bytes that do
not parse, ended the upgrade instead of falling back to single blocks, and a group packed
before the fallback still went as a with-list (tests/firmware/test_upgrade.py).

gurux-dlms is only a test dependency (GPL); nothing of it is used by the package.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

import asyncdlms
from asyncdlms.apdu.initiate import Conformance
from asyncdlms.errors import DataAccessError, DlmsError
from asyncdlms.firmware import (
    Activation,
    FirmwareActivationError,
    FirmwareProgress,
    FirmwareSettings,
    FirmwareTransferError,
)
from asyncdlms.firmware.errors import FirmwareIdentifierMismatchError
from asyncdlms.types import BitString
from tests.conftest import load_gurux_meter

pytest.importorskip("gurux_dlms")
from gurux_dlms.enums import DataType  # type: ignore[import-untyped]
from gurux_dlms.objects import (  # type: ignore[import-untyped]
    GXDLMSData,
    GXDLMSImageTransfer,
)

BLOCK = 64
TRANSFER = "0.0.44.0.0.255"
VERSION = b"GRX-1.0"
FAST = FirmwareSettings(first_poll=0.02, max_poll=0.1)
IFACES = ["WRAPPER", "HDLC"]


def image_of(size: int) -> bytes:
    return bytes((i * 31 + 7) & 0xFF for i in range(size))


class Dropped(Exception):
    """Raised out of the meter's feed to close the connection (see ``gurux``)."""


class StockImageTransfer(GXDLMSImageTransfer):  # type: ignore[misc]
    """gurux's own Image transfer object; only records which methods were invoked."""

    def __init__(self) -> None:
        super().__init__(TRANSFER)
        self.imageBlockSize = BLOCK
        self.imageTransferEnabled = True
        self.invoked: list[int] = []
        self.received: dict[int, bytes] = {}
        self.block_numbers: list[int] = []
        self.drop_at: int | None = None
        self.drop_now = False

    def invoke(self, settings: Any, e: Any) -> Any:
        self.invoked.append(int(e.index))
        return super().invoke(settings, e)


class RepairedImageTransfer(StockImageTransfer):
    """image_block_transfer made to work (see the module docstring); with ``drop_at`` set,
    that block (the first time) is not stored and the connection is closed instead."""

    def invoke(self, settings: Any, e: Any) -> Any:
        if e.index != 2:
            return super().invoke(settings, e)
        self.invoked.append(2)
        number, data = int(e.parameters[0]), bytes(e.parameters[1])
        if number == self.drop_at:
            self.drop_at = None
            self.drop_now = True
            return None
        bits = list(self.imageTransferredBlocksStatus)
        bits[number] = "1"
        self.imageTransferredBlocksStatus = "".join(bits)
        self.imageFirstNotTransferredBlockNumber = number + 1
        self.received[number] = data
        self.block_numbers.append(number)
        return None

    def image(self) -> bytes:
        assert sorted(self.received) == list(range(len(self.received)))
        return b"".join(self.received[n] for n in sorted(self.received))


@pytest.fixture(scope="module")
def gurux_meter() -> ModuleType:
    module: ModuleType = load_gurux_meter()
    return module


class Meter:
    """A running gurux meter whose every connection sees ``transfer`` and the firmware
    identifier object."""

    def __init__(self, url: str, transfer: StockImageTransfer, firmware: Any) -> None:
        self.url = url
        self.transfer = transfer
        self.firmware = firmware
        self.exchanges: list[tuple[bytes, list[bytes]]] = []  # what the meter read, answered

    def with_list_answers(self) -> list[bytes]:
        """The APDUs the meter answered ACTION with-lists with (wrapper: after 8 bytes)."""
        return [b"".join(out)[8:] for data, out in self.exchanges if data[8:10] == b"\xc3\x03"]

    def connect(self, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", 5.0)
        return asyncdlms.connect(self.url, **kwargs)


@pytest.fixture
def gurux(gurux_meter: ModuleType, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    servers: list[Any] = []

    def start(iface: str, transfer: StockImageTransfer) -> Meter:
        firmware = GXDLMSData("1.0.0.2.0.255")
        firmware.value = VERSION
        firmware.setDataType(2, DataType.OCTET_STRING)
        build_objects = gurux_meter.build_objects

        def with_image_transfer(rows: int = 10, start: Any = None) -> list[Any]:
            return [*build_objects(rows, start), transfer, firmware]

        feed = gurux_meter.SimMeter.feed
        exchanges: list[tuple[bytes, list[bytes]]] = []

        def feed_or_drop(meter: Any, data: bytes) -> list[bytes]:
            out: list[bytes] = feed(meter, data)
            exchanges.append((bytes(data), out))
            if transfer.drop_now:
                transfer.drop_now = False
                raise Dropped  # out of the handler: socketserver closes the connection
            return out

        monkeypatch.setattr(gurux_meter, "build_objects", with_image_transfer)
        monkeypatch.setattr(gurux_meter.SimMeter, "feed", feed_or_drop)
        server, port = gurux_meter.serve_in_thread(host="127.0.0.1", iface=iface)
        server.handle_error = lambda request, address: None  # the Dropped, not a traceback
        servers.append(server)
        scheme = "tcp" if iface == "WRAPPER" else "hdlc+tcp"
        meter = Meter(f"{scheme}://127.0.0.1:{port}", transfer, firmware)
        meter.exchanges = exchanges
        return meter

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


async def read_state(meter: Any) -> tuple[BitString, int, int]:
    """Attributes 3, 4 and 6 of the Image transfer object, read by our client."""
    bits = await meter.get(18, TRANSFER, 3)
    first = await meter.get(18, TRANSFER, 4)
    status = await meter.get(18, TRANSFER, 6)
    assert isinstance(bits, BitString)
    return bits, int(first), int(status)


def ones(bits: BitString) -> list[bool]:
    return [bits[i] for i in range(len(bits))]


@pytest.mark.parametrize("iface", IFACES)
async def test_stock_gurux_refuses_every_image_block(gurux: Any, iface: str) -> None:
    meter = gurux(iface, StockImageTransfer())
    image = image_of(10 * BLOCK)
    async with meter.connect() as client:
        with pytest.raises(FirmwareTransferError, match="block 0 3 times") as caught:
            await client.upgrade_firmware(image, "FW-2", activate=False, settings=FAST)
        assert "hardware-fault" in str(caught.value) and caught.value.missing == (0,)
        # initiated (a clear bit per block), then nothing stored; the association still works
        bits, first, status = await read_state(client)
        assert ones(bits) == [False] * 10 and first == 0 and status == 1
        assert await client.get(1, "1.0.0.2.0.255", 2) == VERSION
    # initiate once, then every block one by one (the with-list never reached the object),
    # refused, the refused ones again, until block 0 was refused a third time
    assert meter.transfer.invoked == [1, *[2] * (10 + 10 + 1)]
    if iface == "WRAPPER":  # the with-list of 10 blocks: hardware-fault, invoke-id 1
        assert meter.with_list_answers() == [bytes.fromhex("c701c101")]
        refusals = [b"".join(out)[8:] for data, out in meter.exchanges if data[8:10] == b"\xc3\x01"
                    and data[11:13] == b"\x00\x12" and data[19] == 2]  # fmt: skip
        assert refusals == [bytes.fromhex("c701c101")] * 21


@pytest.mark.parametrize("iface", IFACES)
async def test_upgrade_without_activation(gurux: Any, iface: str) -> None:
    meter = gurux(iface, RepairedImageTransfer())
    image = image_of(50 * BLOCK - 17)  # the last block short
    seen: list[FirmwareProgress] = []
    async with meter.connect() as client:
        assert client.negotiated is not None
        assert client.negotiated.conformance & Conformance.MULTIPLE_REFERENCES  # (granted)
        result = await client.upgrade_firmware(
            image, "FW-2", activate=False, progress=seen.append, settings=FAST
        )
        bits, first, status = await read_state(client)
        with pytest.raises(DataAccessError, match="hardware-fault"):
            await client.get(18, TRANSFER, 7)  # image_to_activate_info, broken by initiate
    assert (result.blocks, result.block_size, result.image_size) == (50, BLOCK, len(image))
    assert result.blocks_sent == 50 and result.resumed_from == 0
    assert result.bytes_sent == len(image)
    assert result.verified and result.activation is Activation.NONE
    assert result.firmware_before == result.firmware_after == VERSION
    transfer = meter.transfer
    assert transfer.image() == image  # what gurux received is the image, block for block
    assert transfer.block_numbers == list(range(50))  # each once, in order
    assert transfer.imageSize == len(image)
    # initiate, the blocks one per request (the with-list never reached the object), verify
    assert transfer.invoked == [1, *[2] * 50, 3]
    assert ones(bits) == [True] * 50 and first == 50
    assert status == 1  # image_verify answered success but verified nothing
    if iface == "WRAPPER":  # the with-list of 32 blocks: two responses in one APDU
        (answer,) = meter.with_list_answers()
        assert answer[:2] == b"\xc7\x01" and answer[3:] == bytes.fromhex("04c701c101")
    assert seen[-1].blocks_done == 50 and seen[-1].phase == "verify"


@pytest.mark.parametrize("iface", IFACES)
async def test_gurux_claims_an_activation_that_never_happens(gurux: Any, iface: str) -> None:
    meter = gurux(iface, RepairedImageTransfer())
    image = image_of(5 * BLOCK)
    async with meter.connect() as client:
        with pytest.raises(FirmwareIdentifierMismatchError) as caught:
            await client.upgrade_firmware(image, "FW-2", settings=FAST)
        assert caught.value.found == VERSION and caught.value.expected == b"FW-2"
        assert (await read_state(client))[2] == 1  # not 6, activation successful
        assert await client.get(1, "1.0.0.2.0.255", 2) == VERSION
    assert meter.transfer.invoked == [1, *[2] * 5, 3, 4]
    assert meter.transfer.image() == image


async def test_no_single_action_schedule_for_a_scheduled_activation(gurux: Any) -> None:
    meter = gurux("WRAPPER", RepairedImageTransfer())
    image = image_of(5 * BLOCK)
    when = dt.datetime(2030, 1, 1, 3, 0, tzinfo=dt.UTC)
    async with meter.connect() as client:
        with pytest.raises(FirmwareActivationError, match="Single action schedule") as caught:
            await client.upgrade_firmware(image, "FW-2", activate=when, settings=FAST)
    assert isinstance(caught.value.__cause__, DataAccessError)
    assert "object-undefined" in str(caught.value.__cause__)
    assert meter.transfer.invoked == [1, *[2] * 5, 3] and meter.transfer.image() == image


@pytest.mark.parametrize("iface", IFACES)
async def test_a_corrupt_image_verifies_on_gurux(gurux: Any, iface: str) -> None:
    """gurux's image_verify checks nothing: an image with a flipped bit passes (our
    simulator fails it, tests/firmware): only the meter can check an image."""
    meter = gurux(iface, RepairedImageTransfer())
    image = bytearray(image_of(8 * BLOCK))
    image[100] ^= 0x10
    async with meter.connect() as client:
        result = await client.upgrade_firmware(bytes(image), "BAD", activate=False, settings=FAST)
    assert result.verified and meter.transfer.image() == bytes(image)


@pytest.mark.parametrize("iface", IFACES)
@pytest.mark.parametrize("side", ["client", "meter"])
@pytest.mark.parametrize("fraction", [0.30, 0.99])
async def test_no_resume_after_a_dropped_connection(
    gurux: Any, iface: str, side: str, fraction: float
) -> None:
    """The connection goes at ``fraction`` of 100 blocks, killed by our client (after the
    block is confirmed) or closed by the meter (when the block arrives, without storing or
    answering it). gurux keeps the blocks across connections (one object for all of them),
    but refuses the next image_transfer_initiate (hardware-fault: its first initiate nested
    a list in image_to_activate_info, which the second one trips over), so our next call
    ends in a typed error at once and sends nothing (and the refused initiate has emptied
    attributes 3 and 4)."""
    transfer = RepairedImageTransfer()
    meter = gurux(iface, transfer)
    blocks = 100
    image = image_of(blocks * BLOCK)
    held = math.ceil(fraction * blocks)  # blocks on the meter when the connection goes
    killed: list[int] = []
    async with meter.connect() as client:

        def kill(step: FirmwareProgress) -> None:
            if side == "client" and step.blocks_done >= held and not killed:
                killed.append(step.blocks_done)
                assert client._driver is not None and client._driver.transport is not None
                client._driver.transport.abort()

        if side == "meter":
            transfer.drop_at = held  # blocks 0 .. held - 1 stored, then the drop
        with pytest.raises((DlmsError, OSError)):
            await client.upgrade_firmware(
                image, "FW-3", activate=False, progress=kill,
                settings=FirmwareSettings(first_poll=0.02, max_poll=0.1, pipeline=False),
            )  # fmt: skip
    assert killed == ([held] if side == "client" else [])
    assert transfer.drop_at is None  # (the meter's drop happened)
    assert transfer.block_numbers == list(range(held))
    expected = [True] * held + [False] * (blocks - held)
    async with meter.connect() as client:
        # what a client could resume from: gurux kept it across the connections
        bits, first, status = await read_state(client)
        assert ones(bits) == expected and (first, status) == (held, 1)
        with pytest.raises(FirmwareTransferError, match="refused image_transfer_initiate"):
            await client.upgrade_firmware(image, "FW-3", activate=False, settings=FAST)
        # and the refused initiate had wiped attributes 3 and 4 before it failed
        bits, first, status = await read_state(client)
        assert (len(bits), first, status) == (0, 0, 1)
    assert transfer.invoked == [1, *[2] * (held + (side == "meter")), 1]
    assert transfer.block_numbers == list(range(held))
    assert transfer.image() == image[: held * BLOCK]
