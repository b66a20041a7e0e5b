"""Meters for the quirk tests: the simulator on loopback, plain, ciphered (HLS-GMAC with
authenticated encryption) or with HDLC windows of 3 on both sides."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from asyncdlms import ClientSecurity, LinkSettings
from asyncdlms.apdu.acse import MechanismName
from asyncdlms.hdlc import HdlcParameters
from asyncdlms.security.ciphering import SecurityPolicy
from asyncdlms.security.hls import Secret
from asyncdlms.server import Simulator
from asyncdlms.session.server import AssociationPolicy, ServerSecurity

NOW = 1_750_000_000.0
BLOCK_CIPHER_KEY = bytes(range(16))
AUTHENTICATION_KEY = bytes(range(16, 32))
HLS_SECRET = b"Gurux1234567890!"
LLS = {"client": 17, "auth": "low", "password": b"12345678"}
WINDOW_3 = HdlcParameters(max_info_length_tx=128, max_info_length_rx=128, window_size_tx=3,
                          window_size_rx=3)  # fmt: skip


@dataclass
class Mode:
    """How the client associates: plain, ``gmac-ae`` or ``window-3``."""

    name: str
    simulator: dict[str, Any] = field(default_factory=dict)
    client: dict[str, Any] = field(default_factory=dict)

    def with_link(self, **fields: Any) -> dict[str, Any]:
        """The client's keywords with these :class:`LinkSettings` fields in its ``link``."""
        link = self.client.get("link") or LinkSettings()
        return {**self.client, "link": dataclasses.replace(link, **fields)}

    def with_security(self, **fields: Any) -> dict[str, Any]:
        """The client's keywords with its policy, system title and keys in a
        :class:`ClientSecurity` with these other fields (``counter_store``...)."""
        client = dict(self.client)
        security = ClientSecurity(
            client.pop("system_title"),
            Secret(client.pop("block_cipher_key")),
            Secret(client.pop("authentication_key")),
            client.pop("security"),
            **fields,
        )
        return {**client, "security": security}


def modes() -> list[Mode]:
    ciphered = {
        1: AssociationPolicy(
            MechanismName.HIGH_GMAC,
            Secret(HLS_SECRET),
            security=ServerSecurity(
                Secret(BLOCK_CIPHER_KEY),
                Secret(AUTHENTICATION_KEY),
                SecurityPolicy.AUTHENTICATED_ENCRYPTION,
            ),
        ),
        16: AssociationPolicy(),
    }
    return [
        Mode("plain", {}, dict(LLS)),
        Mode(
            "gmac-ae",
            {"associations": ciphered},
            {
                "client": 1,
                "auth": "gmac",
                "password": HLS_SECRET,
                "security": "ae",
                "system_title": b"CLI00001",
                "block_cipher_key": BLOCK_CIPHER_KEY,
                "authentication_key": AUTHENTICATION_KEY,
            },
        ),
        Mode(
            "window-3",
            {"hdlc_parameters": WINDOW_3},
            {**LLS, "link": LinkSettings(hdlc_parameters=WINDOW_3)},
        ),
    ]


@pytest.fixture(params=modes(), ids=lambda mode: mode.name)
def mode(request: pytest.FixtureRequest) -> Mode:
    mode: Mode = request.param
    return mode


@pytest.fixture
async def hdlc_meter(mode: Mode) -> AsyncIterator[Simulator]:
    async with Simulator(interface="hdlc", time_source=lambda: NOW, **mode.simulator) as sim:
        yield sim
