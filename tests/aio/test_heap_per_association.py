"""Heap per open client association (issue 17: at most 8 KiB), measured with tracemalloc
against a simulator in another process, so only the client's allocations count."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import asyncdlms

ROOT = Path(__file__).resolve().parents[2]
ASSOCIATIONS = 60

SERVE = """
import asyncio, sys
from asyncdlms.server import Simulator

async def main():
    async with Simulator(meters=%d, interface="wrapper", shared_port=True) as sim:
        print("PORT", sim.targets[0].url.rsplit(":", 1)[1], flush=True)
        await asyncio.to_thread(sys.stdin.read)

asyncio.run(main())
"""


async def test_an_open_association_holds_at_most_8_kib_of_heap() -> None:
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE % ASSOCIATIONS],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=environment,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert line.startswith("PORT "), line
        url = f"tcp://127.0.0.1:{int(line.split()[1])}"
        warm = await asyncdlms.connect(url, server=1, timeout=10)  # first imports and paths
        await warm.get(3, "1.0.1.8.0.255", 2)
        await warm.close()
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.take_snapshot()
            clients = []
            for index in range(ASSOCIATIONS):
                client = await asyncdlms.connect(url, server=1 + index, timeout=10)
                await client.get(3, "1.0.1.8.0.255", 2)  # a read done: its structures too
                clients.append(client)
            gc.collect()
            after = tracemalloc.take_snapshot()
        finally:
            tracemalloc.stop()
        grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
        per_association = grown / ASSOCIATIONS
        for client in clients:
            await client.close()
        assert per_association <= 8 * 1024, f"{per_association:.0f} bytes per association"
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=30)
