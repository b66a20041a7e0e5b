"""QUIRKS.md behaviour 4 end to end: ``asyncdlms.connect("serial+iec://...")`` through a
pseudo-terminal to the simulator's optical port, over a "cable" that misbehaves: junk before
the ``/`` of the identification, the optical head's echo of everything the client sends
(the IEC request and then every HDLC frame), baud characters 0-6 and A-F and one outside
them (``9``, through ``IecSettings.extra_baud_characters``), an ACK the meter never
confirms, and the delays as settings."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator

import pytest

import asyncdlms
from asyncdlms import LinkSettings
from asyncdlms.errors import DlmsError
from asyncdlms.iec62056_21 import (
    BAUD_CHARACTERS,
    EVEN_PARITY,
    IecResponderSettings,
    IecSettings,
)
from asyncdlms.server import Simulator

from .conftest import NOW

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")

JUNK = b"\x00\xff\x7e\x13garbage\r\n\x06"


class Cable:
    """A null-modem bridge between two pseudo-terminals that misbehaves while the IEC
    opening runs: junk before the meter's identification, its baud character replaced."""

    def __init__(self, offered: str | None, echo: bool) -> None:
        self.offered = offered
        self.echo = echo
        self.opening = True
        self.junk_sent = False
        self.meter_master, self.meter_slave = os.openpty()
        self.client_master, self.client_slave = os.openpty()
        loop = asyncio.get_running_loop()
        loop.add_reader(self.meter_master, self.from_meter)
        loop.add_reader(self.client_master, self.from_client)

    @property
    def meter_device(self) -> str:
        return os.ttyname(self.meter_slave)

    @property
    def client_device(self) -> str:
        return os.ttyname(self.client_slave)

    def from_meter(self) -> None:
        with contextlib.suppress(OSError):
            data = os.read(self.meter_master, 4096)
            plain = bytes(byte & 0x7F for byte in data)  # 7E1: the parity bit in bit 7
            if self.opening and b"/" in plain:
                start = plain.index(b"/")
                if self.offered is not None:  # "/ADL5\2..." -> "/ADL9\2..."
                    offered = EVEN_PARITY[ord(self.offered)]
                    data = data[: start + 4] + bytes((offered,)) + data[start + 5 :]
                data = JUNK + data
                self.junk_sent = True
            os.write(self.client_master, data)

    def from_client(self) -> None:
        with contextlib.suppress(OSError):
            data = os.read(self.client_master, 4096)
            if self.echo:
                os.write(self.client_master, data)
            if any(byte & 0x7F == 0x06 for byte in data):
                self.opening = False
            os.write(self.meter_master, data)

    def close(self) -> None:
        loop = asyncio.get_running_loop()
        loop.remove_reader(self.meter_master)
        loop.remove_reader(self.client_master)
        for fd in (self.meter_master, self.meter_slave, self.client_master, self.client_slave):
            os.close(fd)


@contextlib.asynccontextmanager
async def optical_meter(
    character: str, offered: str | None = None, echo: bool = True
) -> AsyncIterator[Cable]:
    pytest.importorskip("serial_asyncio")
    cable = Cable(offered, echo)
    try:
        async with Simulator(
            interface="hdlc",
            serial_ports=[cable.meter_device],
            time_source=lambda: NOW,
            iec=IecResponderSettings(baud_character=character, acknowledgement_timeout=5),
        ):
            yield cable
    finally:
        cable.close()


QUICK = IecSettings(acknowledgement_delay=0, baud_switch_delay=0.05, identification_timeout=2)


@pytest.mark.parametrize("character", list(BAUD_CHARACTERS))
async def test_behaviour_4_baud_characters_junk_and_echo(character: str) -> None:
    async with optical_meter(character) as cable:
        url = f"serial+iec://{cable.client_device}"
        async with asyncdlms.connect(url, link=LinkSettings(iec=QUICK), timeout=10) as meter:
            assert await meter.get(1, "0.0.42.0.0.255", 2) == b"ADS0000010000000"
        assert cable.junk_sent


async def test_behaviour_4_a_baud_character_outside_the_standard_through_a_setting() -> None:
    async with optical_meter("5", offered="9") as cable:
        url = f"serial+iec://{cable.client_device}"
        with pytest.raises(DlmsError, match="extra_baud_characters"):
            await asyncdlms.connect(url, client=16, link=LinkSettings(iec=QUICK), timeout=5)
    async with optical_meter("5", offered="9") as cable:
        url = f"serial+iec://{cable.client_device}"
        iec = IecSettings(
            acknowledgement_delay=0, baud_switch_delay=0.05, extra_baud_characters={"9": 9600}
        )
        async with asyncdlms.connect(url, link=LinkSettings(iec=iec), timeout=10) as meter:
            assert await meter.get(1, "0.0.42.0.0.255", 2) == b"ADS0000010000000"


async def test_behaviour_4_delays_are_settings() -> None:
    """The pauses some meters need (200-1000 ms) between the identification and the ACK and
    before the baud switch; the meter never confirms the ACK."""
    iec = IecSettings(acknowledgement_delay=0.3, baud_switch_delay=0.2)
    async with optical_meter("6", echo=False) as cable:
        url = f"serial+iec://{cable.client_device}"
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with asyncdlms.connect(url, link=LinkSettings(iec=iec), timeout=10) as meter:
            assert loop.time() - started >= 0.5
            assert await meter.get(1, "0.0.42.0.0.255", 2) == b"ADS0000010000000"
