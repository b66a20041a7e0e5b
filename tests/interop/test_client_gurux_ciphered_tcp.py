"""The asyncio client, ciphered, over real loopback TCP against the gurux-based meter of
../shared/peers/gurux_meter.py (a peer nobody here wrote): HLS-GMAC with authenticated
encryption, authentication only and encryption only, over the wrapper and HDLC; register,
clock, logical device name and profile generic by entry; the dedicated key; a wrong key.

That meter advances its invocation counter like a real one, so the client runs with its
default strict replay checks throughout. Started with ``repeat_counters=True`` it repeats its
counter after the AARE and in HLS-GMAC pass 4 (unpatched gurux-based meters, quirk 14): the
client refuses that second answer as a replay, which a test below shows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import ModuleType
from typing import Any

import pytest

import asyncdlms
from asyncdlms.apdu.descriptors import entry_descriptor
from asyncdlms.errors import AuthenticationError, AuthenticationTagError
from asyncdlms.security.counters import CipheringKey, MemoryInvocationCounterStore
from asyncdlms.security.hls import Secret
from asyncdlms.session import ClientSecurity
from asyncdlms.types import OctetString
from tests.conftest import load_gurux_meter

pytest.importorskip("gurux_dlms")

SYSTEM_TITLE = b"ASY00001"
BLOCK_CIPHER_KEY = "000102030405060708090A0B0C0D0E0F"
AUTHENTICATION_KEY = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"


@pytest.fixture(scope="module")
def gurux_meter() -> ModuleType:
    module: ModuleType = load_gurux_meter()
    return module


@pytest.fixture
def meter_server(gurux_meter: ModuleType) -> Iterator[Any]:
    servers: list[Any] = []

    def start(
        iface: str,
        security: str,
        auth: str = "gmac",
        rows: int = 10,
        repeat_counters: bool = False,
    ) -> int:
        password = None if auth == "gmac" else "Gurux"
        server, port = gurux_meter.serve_in_thread(
            host="127.0.0.1",
            iface=iface,
            auth=auth,
            password=password,
            security=security,
            rows=rows,
            repeat_counters=repeat_counters,
        )
        servers.append(server)
        return int(port)

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _url(iface: str, port: int) -> str:
    return f"{'tcp' if iface == 'WRAPPER' else 'hdlc+tcp'}://127.0.0.1:{port}"


def _connect(url: str, security: str, *, secured: Mapping[str, Any] | None = None,
             **extra: Any) -> Any:  # fmt: skip
    """connect() with our title and keys; ``secured``: other fields of a ClientSecurity."""
    options: dict[str, Any] = {
        "client": 18,
        "server": 1,
        "auth": "gmac",
        "security": security,
        "system_title": SYSTEM_TITLE,
        "block_cipher_key": BLOCK_CIPHER_KEY,
        "authentication_key": AUTHENTICATION_KEY,
        "timeout": 10,
    }
    options.update(extra)
    if secured is not None:
        options["security"] = ClientSecurity(
            options.pop("system_title"),
            Secret(bytes.fromhex(options.pop("block_cipher_key"))),
            Secret(bytes.fromhex(options.pop("authentication_key"))),
            security,
            **secured,
        )
    return asyncdlms.connect(url, **options)


@pytest.mark.parametrize("iface", ["WRAPPER", "HDLC"])
@pytest.mark.parametrize("security", ["ae", "auth", "enc"])
async def test_hls_gmac_with_ciphering(meter_server: Any, iface: str, security: str) -> None:
    port = meter_server(iface, security)
    store = MemoryInvocationCounterStore()
    async with _connect(_url(iface, port), security, secured={"counter_store": store}) as meter:
        assert await meter.get(3, "1.0.1.8.0.255", 2) == 123456
        assert bytes(await meter.get(1, "0.0.42.0.0.255", 2)) == b"GRX0000000001"
        clock = await meter.get(8, "0.0.1.0.0.255", 2)
        assert isinstance(clock, OctetString) and len(clock) == 12
        rows = await meter.get(7, "1.0.99.1.0.255", 2, selective_access=entry_descriptor(2, 4))
        assert [row[1] for row in rows] == [1001, 1002, 1003]
        context = meter.session.security_context
        assert context is not None and context.peer_system_title == b"GRX12345"
        assert context.policy.name.lower().startswith(
            {"ae": "authenticated", "auth": "authentication", "enc": "encryption"}[security]
        )
    # AARQ, pass 3 (GMAC and the ACTION carrying it) and five requests used counters
    unicast = context.key_identity(CipheringKey.GLOBAL_UNICAST_ENCRYPTION)
    assert store.peek_next(SYSTEM_TITLE, unicast) >= 8


@pytest.mark.parametrize("iface", ["WRAPPER", "HDLC"])
async def test_dedicated_key(meter_server: Any, iface: str) -> None:
    port = meter_server(iface, "ae")
    async with _connect(_url(iface, port), "ae", secured={"use_dedicated_key": True}) as meter:
        context = meter.session.security_context
        assert context is not None and context.has_dedicated_key
        assert await meter.get(3, "1.0.1.8.0.255", 2) == 123456
        assert bytes(await meter.get(1, "0.0.42.0.0.255", 2)) == b"GRX0000000001"


@pytest.mark.parametrize("iface", ["WRAPPER", "HDLC"])
async def test_lls_with_authenticated_encryption(meter_server: Any, iface: str) -> None:
    port = meter_server(iface, "ae", auth="low")
    async with _connect(_url(iface, port), "ae", client=17, auth="low", password="Gurux") as meter:
        assert await meter.get(3, "1.0.1.8.0.255", 2) == 123456
        assert bytes(await meter.get(1, "0.0.42.0.0.255", 2)) == b"GRX0000000001"


@pytest.mark.parametrize("auth", ["md5", "sha1"])
@pytest.mark.parametrize("security", ["ae", "auth", "enc"])
async def test_hls_md5_and_sha1_with_ciphering(meter_server: Any, auth: str, security: str) -> None:
    port = meter_server("HDLC", security, auth=auth)
    async with _connect(
        _url("HDLC", port), security, client=18, auth=auth, password="Gurux"
    ) as meter:
        assert await meter.get(3, "1.0.1.8.0.255", 2) == 123456


async def test_hls_gmac_without_ciphered_apdus(meter_server: Any) -> None:
    port = meter_server("WRAPPER", "none")
    async with _connect(_url("WRAPPER", port), "none") as meter:
        assert await meter.get(3, "1.0.1.8.0.255", 2) == 123456


async def test_typed_reads_while_ciphered(meter_server: Any) -> None:
    port = meter_server("WRAPPER", "ae")
    async with _connect(_url("WRAPPER", port), "ae") as meter:
        energy = await meter.read_register("1.0.1.8.0.255")
        assert float(energy.value) == 12345.6
        clock = await meter.read_clock()
        assert clock is not None


async def test_wrong_authentication_key_is_a_tag_mismatch(meter_server: Any) -> None:
    port = meter_server("WRAPPER", "ae")
    wrong = "00" * 16
    with pytest.raises(AuthenticationTagError, match="authentication tag mismatch") as info:
        async with _connect(_url("WRAPPER", port), "ae", authentication_key=wrong):
            pass
    assert AUTHENTICATION_KEY.lower() not in str(info.value).lower()
    assert BLOCK_CIPHER_KEY.lower() not in str(info.value).lower()


async def test_strict_counters_refuse_the_repeated_counter_of_this_server(
    meter_server: Any,
) -> None:
    """By default a repeated counter is a replay: a meter that repeats its counter (pass 4
    carries the AARE's counter again) is refused with a typed error, never taken as a value;
    ``ClientSecurity(allow_repeated_counters=True)`` is the opt-in for such meters."""
    port = meter_server("WRAPPER", "ae", repeat_counters=True)
    with pytest.raises(AuthenticationError, match="replayed"):
        async with _connect(_url("WRAPPER", port), "ae"):
            pass
    async with _connect(
        _url("WRAPPER", port), "ae", secured={"allow_repeated_counters": True}
    ) as meter:
        assert await meter.get(3, "1.0.1.8.0.255", 2) == 123456
