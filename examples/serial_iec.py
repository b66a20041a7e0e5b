"""Read a meter through an optical probe: the IEC 62056-21 mode E opening, then HDLC.

    python3 examples/serial_iec.py /dev/ttyUSB0               # your optical probe
    python3 examples/serial_iec.py                            # a simulated optical port

The client opens the port at 300 baud 7E1, sends ``/?!``, reads the meter's identification,
acknowledges with ``ACK 2 Z 2``, switches both ends to the offered baud rate at 8N1 and runs
HDLC (``serial+iec://``). Without a device the example starts a simulated meter on one
pseudo-terminal, joined to another by a null-modem bridge, and reads through that.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
from collections.abc import AsyncIterator

import asyncdlms
from asyncdlms.iec62056_21 import IecResponderSettings, IecSettings
from asyncdlms.server import Simulator


@contextlib.asynccontextmanager
async def simulated_optical_port() -> AsyncIterator[str]:
    """A simulated meter behind an optical port; yields the device the client opens."""
    meter_master, meter_slave = os.openpty()
    client_master, client_slave = os.openpty()
    loop = asyncio.get_running_loop()

    def bridge(source: int, target: int) -> None:  # a null-modem cable between the ptys
        with contextlib.suppress(OSError):
            os.write(target, os.read(source, 4096))

    loop.add_reader(meter_master, bridge, meter_master, client_master)
    loop.add_reader(client_master, bridge, client_master, meter_master)
    try:
        async with Simulator(
            interface="hdlc",
            serial_ports=[os.ttyname(meter_slave)],
            iec=IecResponderSettings(manufacturer="ADL", identification="SIM", baud_character="5"),
        ):
            yield os.ttyname(client_slave)
    finally:
        loop.remove_reader(meter_master)
        loop.remove_reader(client_master)
        for fd in (meter_master, meter_slave, client_master, client_slave):
            os.close(fd)


async def read(device: str) -> list[str]:
    # optical heads need pauses between the steps: every delay is a setting
    iec = IecSettings(acknowledgement_delay=0.2, baud_switch_delay=0.3)
    link = asyncdlms.LinkSettings(iec=iec)
    async with asyncdlms.connect(f"serial+iec://{device}", link=link, timeout=20) as meter:
        name = await meter.get(1, "0.0.42.0.0.255", 2)
        energy = await meter.read_register("1.0.1.8.0.255")
        return [f"logical device name: {bytes(name).decode(errors='replace')}",
                f"energy: {energy}"]  # fmt: skip


async def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("device", nargs="?", help="serial device of the optical probe")
    args = parser.parse_args(argv)
    if args.device:
        return await read(args.device)
    async with simulated_optical_port() as device:
        return await read(device)


if __name__ == "__main__":
    print("\n".join(asyncio.run(main())))
