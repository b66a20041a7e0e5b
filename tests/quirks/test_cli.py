"""The quirk settings through the CLI (``asyncdlms read``) over loopback TCP: a meter with an
inverted clock deviation that refuses GET with-list, behind the misbehaving line."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
from collections.abc import Iterator

import pytest

from asyncdlms.cli import main
from asyncdlms.server import Simulator

from .conftest import NOW
from .line import MisbehavingLine
from .test_services import inverted_clock, line_for, with_list_refusal


@pytest.fixture
def quirky_url() -> Iterator[tuple[str, MisbehavingLine]]:
    """The simulator and the line on an event loop of their own (the CLI runs its own)."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop = asyncio.Event()
    found: list[tuple[str, MisbehavingLine]] = []

    async def serve() -> None:
        async with Simulator(interface="wrapper", time_source=lambda: NOW) as sim:
            line = line_for(
                sim, answer=with_list_refusal("exception-response"), rewrite=inverted_clock
            )
            async with line:
                found.append((await line.start(), line))
                ready.set()
                await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(10)
    yield found[0]
    loop.call_soon_threadsafe(stop.set)
    thread.join(10)
    loop.close()


LLS = ("--client", "17", "--auth", "low", "--password", "12345678", "--json")
ITEMS = ("8/0.0.1.0.0.255/2", "3/1.0.1.8.0.255/2", "1/0.0.42.0.0.255/2", "1/0.0.96.1.0.255/2")


def test_cli_deviation_sign_and_with_list_chunk_size(
    quirky_url: tuple[str, MisbehavingLine], capsys: pytest.CaptureFixture[str]
) -> None:
    url, line = quirky_url
    status = main(["read", url, *ITEMS, *LLS, "--deviation-sign", "inverted",
                   "--with-list-chunk-size", "3"])  # fmt: skip
    out, err = capsys.readouterr()
    assert status == 0, err
    values = json.loads(out)
    clock = dt.datetime.fromisoformat(values["8/0.0.1.0.0.255/2"])
    assert clock == dt.datetime.fromtimestamp(NOW, dt.UTC)
    assert values["1/0.0.42.0.0.255/2"]
    with_lists = [f for f in line.client_frames if f[8:10] == b"\xc0\x03"]
    assert [f[11] for f in with_lists] == [3]  # refused, then single GETs

    status = main(["read", url, "8/0.0.1.0.0.255/2", *LLS])
    out, err = capsys.readouterr()
    assert status == 0, err
    standard = dt.datetime.fromisoformat(json.loads(out))
    assert standard - clock == dt.timedelta(hours=2)  # what the meter's sign means otherwise


def test_cli_iec_baud_character_option_is_checked(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["read", "serial+iec:///dev/null", "1/0.0.42.0.0.255/2",
                   "--iec-baud-character", "nine"])  # fmt: skip
    _, err = capsys.readouterr()
    assert status == 1
    assert "CHAR=BAUD" in err
