"""Read one meter: energy, clock, the last hours of the load profile, the object list.

    python3 examples/read_meter.py                         # a simulated meter
    python3 examples/read_meter.py tcp://10.0.0.7:4059     # your meter (wrapper over TCP)
    python3 examples/read_meter.py hdlc+tcp://gw:10001 --physical 17
    python3 examples/read_meter.py serial+iec:///dev/ttyUSB0 --client 16

For low-level security add ``--client 17 --auth low`` and put the password in METER_PASSWORD.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os

import asyncdlms
from asyncdlms.server import Simulator


async def read(
    url: str, *, client: int, physical: int | None, auth: str, password: str | None
) -> list[str]:
    lines = []
    link = asyncdlms.LinkSettings(physical_address=physical)  # HDLC only
    async with asyncdlms.connect(
        url, client=client, auth=auth, password=password, link=link, timeout=15
    ) as meter:
        lines.append(f"energy: {await meter.read_register('1.0.1.8.0.255')}")
        now = await meter.read_clock()
        lines.append(f"clock:  {now}")
        if now is not None:
            rows = await meter.read_profile(
                "1.0.99.1.0.255", start=now - dt.timedelta(hours=2), end=now
            )
            for row in rows:
                lines.append(f"  {row.timestamp}  {row['3/1.0.1.8.0.255/2']}")
        objects = await meter.read_object_list()
        lines.append(f"{len(objects.entries)} objects, e.g. {objects.entries[0].logical_name}")
    return lines


async def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", help="meter URL; none: a simulated meter")
    parser.add_argument("--client", type=int, default=16)
    parser.add_argument("--physical", type=int)
    parser.add_argument("--auth", default="none")
    args = parser.parse_args(argv)
    password = os.environ.get("METER_PASSWORD")
    async with contextlib.AsyncExitStack() as stack:
        url = args.url
        if url is None:  # the simulator's client 17 reads profiles with low-level security
            url = (await stack.enter_async_context(Simulator(meters=1))).urls[0]
            args.client, args.auth, password = 17, "low", "12345678"
        return await read(
            url, client=args.client, physical=args.physical, auth=args.auth, password=password
        )


if __name__ == "__main__":
    print("\n".join(asyncio.run(main())))
