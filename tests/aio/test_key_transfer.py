"""Security setup key transfer end to end (issue 5): the client wraps new global keys with
the master key and invokes global_key_transfer on a ciphered HLS-GMAC association; our
server role unwraps and installs them; the next association works only with the new keys."""

from __future__ import annotations

from typing import Any

import pytest

import asyncdlms
from asyncdlms.apdu.enums import ActionResult
from asyncdlms.errors import DlmsError
from asyncdlms.obis import Obis
from asyncdlms.security.ciphering import SecurityPolicy
from asyncdlms.security.keys import KeyId, unwrap_key
from asyncdlms.session.object_access import Method, ObjectTable
from asyncdlms.session.server import ServerSecurity
from tests.interop.test_secure_asyncio_our_server import (
    AUTHENTICATION_KEY,
    BLOCK_CIPHER_KEY,
    CLIENT_TITLE,
    REGISTER,
    Meter,
    serving,
)

MASTER_KEY = bytes(range(0x40, 0x50))
NEW_BLOCK_CIPHER_KEY = bytes(range(0x60, 0x70))
NEW_AUTHENTICATION_KEY = bytes(range(0x70, 0x80))


class KeyedMeter(Meter):
    """The test meter with a security setup object (0.0.43.0.0.255) whose
    global_key_transfer unwraps the keys with the master key and installs them for the
    associations that follow."""

    installed: dict[KeyId, bytes]

    def objects(self) -> ObjectTable:
        objects = super().objects()
        self.installed = {}

        def global_key_transfer(context: Any, parameters: Any) -> ActionResult:
            for key_id, wrapped in parameters:
                self.installed[KeyId(key_id)] = unwrap_key(MASTER_KEY, bytes(wrapped)).value
            self.security = ServerSecurity(
                self.installed.get(KeyId.GLOBAL_UNICAST_ENCRYPTION_KEY, BLOCK_CIPHER_KEY),
                self.installed.get(KeyId.AUTHENTICATION_KEY, AUTHENTICATION_KEY),
                self.security.policy,
                counter_store=self.store,
            )
            return ActionResult.SUCCESS

        objects.add(64, Obis("0.0.43.0.0.255"), {}, {2: Method(global_key_transfer, {18: True})})
        return objects


@pytest.mark.parametrize("hdlc", [False, True])
async def test_global_key_transfer_then_associate_with_the_new_keys(hdlc: bool) -> None:
    meter = KeyedMeter(hdlc, SecurityPolicy.AUTHENTICATED_ENCRYPTION)

    def keys(block_cipher_key: bytes, authentication_key: bytes) -> dict[str, Any]:
        return {"system_title": CLIENT_TITLE, "block_cipher_key": block_cipher_key,
                "authentication_key": authentication_key}  # fmt: skip

    async def work(url: str) -> None:
        common = {"client": 18, "auth": "gmac", "security": "ae", "timeout": 5}
        async with asyncdlms.connect(
            url, **common, **keys(BLOCK_CIPHER_KEY, AUTHENTICATION_KEY)
        ) as client:
            await client.transfer_global_keys(
                MASTER_KEY,
                {
                    KeyId.GLOBAL_UNICAST_ENCRYPTION_KEY: NEW_BLOCK_CIPHER_KEY,
                    KeyId.AUTHENTICATION_KEY: NEW_AUTHENTICATION_KEY,
                },
            )
        assert meter.installed == {
            KeyId.GLOBAL_UNICAST_ENCRYPTION_KEY: NEW_BLOCK_CIPHER_KEY,
            KeyId.AUTHENTICATION_KEY: NEW_AUTHENTICATION_KEY,
        }
        async with asyncdlms.connect(
            url, **common, **keys(NEW_BLOCK_CIPHER_KEY, NEW_AUTHENTICATION_KEY)
        ) as client:
            assert await client.get(3, REGISTER, 2) == 777
        with pytest.raises(DlmsError):  # the old keys no longer open an association
            async with asyncdlms.connect(
                url, **common, **keys(BLOCK_CIPHER_KEY, AUTHENTICATION_KEY)
            ):
                pass

    await serving(meter, work)
