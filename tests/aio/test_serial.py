"""Serial lines through a real pseudo-terminal pair: plain HDLC, and the IEC 62056-21 opening
with its baud change, against a meter side driven by hand on the pty's master end."""

from __future__ import annotations

import asyncio
import os
import sys
import termios

import pytest

from asyncdlms.aio.driver import Driver
from asyncdlms.aio.serial import open_serial
from asyncdlms.aio.url import parse_target
from asyncdlms.hdlc import HdlcAddress, HdlcConnection, HdlcSettings, Role
from asyncdlms.iec62056_21 import IecHandshakeError, IecSettings
from asyncdlms.link import ApduReceived, LinkEstablished, LinkEvent

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")

CLIENT = HdlcAddress.client(16)
SERVER = HdlcAddress.server(1, 17)


class MeterLine:
    """The meter's end of the pty: optionally the IEC opening, then an HDLC server that
    answers every APDU with its reverse."""

    def __init__(self, master: int, identification: bytes | None) -> None:
        self.master = master
        self.identification = identification
        self.iec_done = identification is None
        self.heard = bytearray()
        self.link = HdlcConnection(HdlcSettings(None, SERVER, Role.SERVER))
        self.loop = asyncio.get_running_loop()
        os.set_blocking(master, False)
        self.loop.add_reader(master, self.readable)

    def readable(self) -> None:
        try:
            data = os.read(self.master, 4096)
        except (BlockingIOError, OSError):
            return
        if not self.iec_done:
            self.heard += bytes(b & 0x7F for b in data)  # 7E1 on a pty arrives as 8 bits
            if self.heard.endswith(b"/?!\r\n") and self.identification:
                os.write(self.master, self.identification)
                self.identification = b""
            if self.heard.endswith(b"\r\n") and self.heard.count(b"\x06"):
                self.iec_done = True
            return
        now = self.loop.time()
        self.link.receive_data(data, now)
        for event in self.link.events():
            if isinstance(event, ApduReceived):
                self.link.send_apdu(event.apdu[::-1], now)
        out = self.link.data_to_send()
        if out:
            os.write(self.master, out)

    def close(self) -> None:
        self.loop.remove_reader(self.master)
        os.close(self.master)


class Owner:
    def __init__(self, link: HdlcConnection) -> None:
        self.link = link
        self.events: list[LinkEvent] = []
        self.changed = asyncio.Event()
        self.driver: Driver | None = None

    def progress(self) -> None:
        self.events += self.link.events()
        if self.driver is not None:
            self.driver.flush()
        self.changed.set()

    async def wait_for(self, kind: type, count: int = 1) -> list[LinkEvent]:
        async with asyncio.timeout(10):
            while len([e for e in self.events if isinstance(e, kind)]) < count:
                self.changed.clear()
                await self.changed.wait()
        return [e for e in self.events if isinstance(e, kind)]


async def _round_trip(
    url_suffix: str, identification: bytes | None, iec: IecSettings | None
) -> tuple[Driver, int]:
    """Open, link up, one APDU each way; return the driver and the line's termios speed."""
    master, slave = os.openpty()
    slave_name = os.ttyname(slave)
    meter = MeterLine(master, identification)
    try:
        link = HdlcConnection(HdlcSettings(CLIENT, SERVER, response_timeout=1.0))
        owner = Owner(link)
        scheme = "serial+iec" if identification is not None else "serial"
        driver = await open_serial(
            parse_target(f"{scheme}://{slave_name}{url_suffix}"), link,
            on_progress=owner.progress, iec=iec,
        )  # fmt: skip
        owner.driver = driver
        loop = asyncio.get_running_loop()
        link.connect(loop.time())
        owner.progress()
        await owner.wait_for(LinkEstablished)
        link.send_apdu(b"\xc0\x01\xc1hello", loop.time())
        owner.progress()
        (answer,) = await owner.wait_for(ApduReceived)
        assert isinstance(answer, ApduReceived) and answer.apdu == b"olleh\xc1\x01\xc0"
        speed: int = termios.tcgetattr(driver.transport.serial.fd)[4]  # type: ignore[union-attr]
        return driver, speed
    finally:
        meter.close()
        os.close(slave)


async def test_hdlc_on_a_serial_line() -> None:
    driver, speed = await _round_trip("?baud=19200", None, None)
    assert speed == termios.B19200
    driver.close()


async def test_iec_opening_then_hdlc_at_the_new_baud_rate() -> None:
    iec = IecSettings(acknowledgement_delay=0.01, baud_switch_delay=0.01)
    driver, speed = await _round_trip("", b"junk/LGZ4\\2ZMD310\r\n", iec)
    port = driver.transport.serial  # type: ignore[union-attr]
    assert (port.baudrate, port.bytesize, port.parity) == (4800, 8, "N")
    assert speed == termios.B4800  # the line really was switched from 300 baud
    driver.close()


async def test_iec_opening_without_an_answer_fails_clearly() -> None:
    master, slave = os.openpty()
    try:
        link = HdlcConnection(HdlcSettings(CLIENT, SERVER))
        iec = IecSettings(identification_timeout=0.05, request_attempts=2)
        with pytest.raises(IecHandshakeError, match="no identification after 2 requests"):
            await open_serial(parse_target(f"serial+iec://{os.ttyname(slave)}"), link, iec=iec)
        heard = bytes(b & 0x7F for b in os.read(master, 100))
        assert heard.count(b"/?!\r\n") == 2
    finally:
        os.close(master)
        os.close(slave)
