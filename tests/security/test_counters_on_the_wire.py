"""No (system title, key, invocation counter) is ever used twice — checked on the wire, through
a tap that reads every ciphered APDU's security header (and the HLS-GMAC pass 3/4 values)
between the client and a strict simulator (one that rejects a reused counter instead of
hinting the next one): successive ``connect()`` calls with the same keys, 200 concurrent
associations sharing a key, command-line processes one after the other and at once, and a
fleet with dedicated keys over many cycles."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import asyncdlms
from asyncdlms.apdu.acse import MechanismName
from asyncdlms.fleet import FleetPoller, Meter
from asyncdlms.security import FileInvocationCounterStore, default_counter_store_path
from asyncdlms.security.ciphering import SecurityPolicy
from asyncdlms.security.hls import Secret
from asyncdlms.server import Simulator
from asyncdlms.session import ClientSecurity
from asyncdlms.session.server import AssociationPolicy, ServerSecurity

from .wire import WireTap

REPO = Path(__file__).resolve().parents[2]
BLOCK_CIPHER_KEY = bytes(range(16))
AUTHENTICATION_KEY = bytes(range(0xD0, 0xE0))
HLS_SECRET = b"Gurux1234567890!"
SYSTEM_TITLE = b"ASYNC001"
CLIENT: dict[str, Any] = {
    "client": 1,
    "auth": "gmac",
    "security": "ae",
    "system_title": SYSTEM_TITLE,
    "block_cipher_key": BLOCK_CIPHER_KEY,
    "authentication_key": AUTHENTICATION_KEY,
    "timeout": 10,
}


def ciphered_simulator(meters: int = 1, **options: Any) -> Simulator:
    security = ServerSecurity(
        Secret(BLOCK_CIPHER_KEY),
        Secret(AUTHENTICATION_KEY),
        SecurityPolicy.AUTHENTICATED_ENCRYPTION,
    )
    associations = {
        1: AssociationPolicy(MechanismName.HIGH_GMAC, Secret(HLS_SECRET), security=security),
        16: AssociationPolicy(),
    }
    return Simulator(
        meters, interface="wrapper", shared_port=True, associations=associations, **options
    )


@pytest.fixture
async def tapped() -> AsyncIterator[tuple[Simulator, WireTap]]:
    async with ciphered_simulator(200) as simulator:
        host, port = simulator.urls[0].removeprefix("tcp://").rsplit(":", 1)
        async with WireTap(host, int(port), BLOCK_CIPHER_KEY, AUTHENTICATION_KEY) as tap:
            yield simulator, tap


async def read_once(tap: WireTap, meter: int = 0, **extra: Any) -> None:
    options = {**CLIENT, **extra}
    if isinstance(options["security"], ClientSecurity):  # it holds the title and keys
        keys = ("system_title", "block_cipher_key", "authentication_key")
        options = {name: value for name, value in options.items() if name not in keys}
    async with asyncdlms.connect(tap.url, server=1 + meter, **options) as client:
        assert await client.get(1, "0.0.42.0.0.255", 2) == b"ADS%013d" % (10_000_000 + meter)


def assert_no_nonce_twice(tap: WireTap, *, at_least: int) -> None:
    assert not tap.unknown, [apdu.hex() for apdu in tap.unknown]
    assert len(tap.client) >= at_least
    assert tap.repeated() == {}
    seen = {nonce.what for nonce in tap.client}
    assert seen >= {"0x21", "hls-gmac", "0xcb"} and seen & {"0xc8", "0xd0"}  # glo- or ded-get


async def test_successive_connects_with_the_same_keys_never_reuse_a_counter(
    tapped: tuple[Simulator, WireTap],
) -> None:
    """The defect: every connect() started again at counter 1 (and the strict meter refused
    the second association). Now one process store serves them all."""
    _, tap = tapped
    for _ in range(3):
        await read_once(tap)
    assert_no_nonce_twice(tap, at_least=3 * 4)
    aarqs = [n.invocation_counter for n in tap.client if n.what == "0x21"]
    assert len(aarqs) == 3 and aarqs == sorted(aarqs)  # one sequence across associations


async def test_200_concurrent_associations_sharing_a_key(
    tapped: tuple[Simulator, WireTap],
) -> None:
    _, tap = tapped
    await asyncio.gather(*(read_once(tap, meter) for meter in range(200)))
    assert_no_nonce_twice(tap, at_least=200 * 4)
    assert len({nonce.invocation_counter for nonce in tap.client}) == len(tap.client)


async def test_two_processes_sharing_a_counter_file_take_turns_on_one_meter(
    tapped: tuple[Simulator, WireTap], tmp_path: Path
) -> None:
    """Two stores on one file stand for two processes (a polling daemon and a command run by
    hand): each holds a block, the second one above the first. Taking turns on one strict
    meter, each association must start above everything the other reserved, or the meter
    refuses it (it did: the first process went on in its lower block)."""
    _, tap = tapped
    path = tmp_path / "counters.json"
    stores = [FileInvocationCounterStore(path) for _ in range(2)]
    for turn in range(6):
        security = ClientSecurity(
            SYSTEM_TITLE,
            Secret(BLOCK_CIPHER_KEY),
            Secret(AUTHENTICATION_KEY),
            SecurityPolicy.AUTHENTICATED_ENCRYPTION,
            counter_store=stores[turn % 2],
        )
        await read_once(tap, security=security)
    assert_no_nonce_twice(tap, at_least=6 * 4)
    aarqs = [n.invocation_counter for n in tap.client if n.what == "0x21"]
    assert len(aarqs) == 6 and aarqs == sorted(aarqs)
    # a store that sees no other writer keeps its block: no file write per association
    before = path.stat().st_mtime_ns
    for _ in range(3):
        await read_once(tap, security=replace(security, counter_store=stores[1]))
    assert path.stat().st_mtime_ns == before


async def test_dedicated_keys_count_from_their_own_start_on_both_sides(
    tapped: tuple[Simulator, WireTap],
) -> None:
    """Each association proposes a new dedicated key: its counters start afresh (Green Book)
    on both sides, the simulator agrees, and nothing repeats under any key."""
    _, tap = tapped
    security = ClientSecurity(
        SYSTEM_TITLE,
        Secret(BLOCK_CIPHER_KEY),
        Secret(AUTHENTICATION_KEY),
        SecurityPolicy.AUTHENTICATED_ENCRYPTION,
        use_dedicated_key=True,
    )
    for _ in range(4):
        await read_once(tap, security=security)
    assert_no_nonce_twice(tap, at_least=4 * 4)
    dedicated = [nonce for nonce in tap.client if nonce.key.startswith("dedicated")]
    assert len({nonce.key for nonce in dedicated}) == 4
    assert min(nonce.invocation_counter for nonce in dedicated) == 1


async def test_a_fleet_with_dedicated_keys_over_many_cycles(
    tapped: tuple[Simulator, WireTap],
) -> None:
    """It failed on its third cycle: the client restarted the dedicated-key counter for each
    new key while the simulator kept one per system title."""
    _, tap = tapped
    meters = [
        Meter(tap.url, {**CLIENT, "server": 1 + index, "dedicated_key": True}, bus=False)
        for index in range(5)
    ]
    async with FleetPoller(meters, concurrency=5, timeout=10) as poller:
        results = [result async for result in poller.run(0.0, cycles=6)]
    assert len(results) == 30
    assert all(result.ok for result in results), [r.error for r in results if not r.ok]
    assert_no_nonce_twice(tap, at_least=30 * 4)


async def test_the_simulator_sends_no_counter_twice_across_client_addresses() -> None:
    """One store per meter, whatever client SAP the association is for."""
    security = ServerSecurity(Secret(BLOCK_CIPHER_KEY), Secret(AUTHENTICATION_KEY))
    associations = {
        sap: AssociationPolicy(MechanismName.HIGH_GMAC, Secret(HLS_SECRET), security=security)
        for sap in (1, 2)
    }
    async with Simulator(1, associations=associations) as simulator:
        host, port = simulator.urls[0].removeprefix("tcp://").rsplit(":", 1)
        async with WireTap(host, int(port), BLOCK_CIPHER_KEY, AUTHENTICATION_KEY) as tap:
            for sap in (1, 2, 1, 2):
                await read_once(tap, client=sap)
    meter_nonces = [nonce for nonce in tap.meter if nonce.key == "global"]
    assert len(meter_nonces) >= 4 * 3
    assert tap.repeated() == {}


# -- the command line: a durable store by default ---------------------------------------------


async def run_cli(*argv: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "asyncdlms", *argv,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def cli_read(tap: WireTap, meter: int = 0) -> list[str]:
    return [
        "read", tap.url, "1/0.0.42.0.0.255/2", "--json", "--client", "1", "--server",
        str(1 + meter), "--auth", "gmac", "--security", "ae", "--system-title",
        SYSTEM_TITLE.hex(), "--block-cipher-key", BLOCK_CIPHER_KEY.hex(), "--auth-key",
        AUTHENTICATION_KEY.hex(), "--password", HLS_SECRET.decode(),
    ]  # fmt: skip


async def test_cli_processes_one_after_the_other_and_at_once(
    tapped: tuple[Simulator, WireTap],
) -> None:
    _, tap = tapped
    for _ in range(2):
        status, out, err = await run_cli(*cli_read(tap))
        assert status == 0, err
        assert out.strip() == '"' + (b"ADS%013d" % 10_000_000).hex() + '"'
    store = default_counter_store_path()  # under the test's XDG_STATE_HOME
    assert store.is_file() and str(store).startswith(os.environ["XDG_STATE_HOME"])
    outcomes = await asyncio.gather(*(run_cli(*cli_read(tap, meter)) for meter in range(4)))
    assert [status for status, _, _ in outcomes] == [0] * 4, [err for _, _, err in outcomes]
    assert_no_nonce_twice(tap, at_least=6 * 4)
    assert BLOCK_CIPHER_KEY.hex() not in store.read_text()


async def test_cli_counter_store_option_and_memory_warning(
    tapped: tuple[Simulator, WireTap], tmp_path: Path
) -> None:
    _, tap = tapped
    path = tmp_path / "mine.json"
    status, _, err = await run_cli(*cli_read(tap), "--counter-store", str(path))
    assert status == 0, err
    assert path.is_file() and not default_counter_store_path().exists()
    # in memory, a second run starts below the first: the strict meter refuses it, and the
    # user was warned
    status, _, err = await run_cli(*cli_read(tap, meter=1), "--counter-store", "memory")
    assert status == 0 and "reuses nonces" in err
    status, _, err = await run_cli(*cli_read(tap, meter=1), "--counter-store", "memory")
    assert status == 1 and "rejected" in err
    status, out, _ = await run_cli("read", "--help")
    assert str(default_counter_store_path()) in "".join(out.split())  # help wraps lines


async def test_poll_twice_with_the_fleet_files_counter_store(
    tapped: tuple[Simulator, WireTap], tmp_path: Path
) -> None:
    """``asyncdlms poll`` draws from the store its fleet file names (relative to the file),
    so a second run continues above the first."""
    _, tap = tapped
    keys = "\n".join(
        f'{name} = "{value}"'
        for name, value in (
            ("auth", "gmac"), ("security", "ae"), ("system_title", SYSTEM_TITLE.hex()),
            ("block_cipher_key", BLOCK_CIPHER_KEY.hex()),
            ("authentication_key", AUTHENTICATION_KEY.hex()),
        )
    )  # fmt: skip
    meters = "".join(f'[[meter]]\nurl = "{tap.url}"\nserver = {2 + i}\n' for i in range(3))
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(
        f'counter_store = "counters.json"\n[defaults]\nclient = 1\n{keys}\n'
        f'[plan]\nread = ["1/0.0.42.0.0.255/2"]\n{meters}'
    )
    for _ in range(2):
        status, _, err = await run_cli("poll", str(fleet), "--json-lines")
        assert status == 0, err
    assert (tmp_path / "counters.json").is_file()
    assert not default_counter_store_path().exists()
    assert_no_nonce_twice(tap, at_least=6 * 4)
