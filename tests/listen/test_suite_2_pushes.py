"""Pushes of security suite 2 (AES-GCM-256, 32-byte keys) received by a real ``listen()``
on loopback: general-glo-ciphering with SC 0x12/0x22/0x32 (and 0x72, the broadcast key) and
glo-ciphering from a suite 2 :class:`SecurityContext`, general-ciphering under a global key
(identified key); the keys in a :class:`KeySet` / TOML key file of 32 bytes; and the clear
refusals of a suite/key length mismatch."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from asyncdlms import Obis
from asyncdlms.apdu.descriptors import CosemAttributeDescriptor
from asyncdlms.apdu.notification import EventNotificationRequest
from asyncdlms.listen import (
    KeySet,
    KeyStoreError,
    Listener,
    Notification,
    PushEvent,
    PushRejected,
    TomlKeyStore,
    listen,
)
from asyncdlms.listen.errors import UnsupportedSecuritySuiteError
from asyncdlms.security.ciphering import CipheringForm, SecurityContext, SecurityPolicy
from asyncdlms.security.counters import MemoryInvocationCounterStore
from asyncdlms.security.general import GlobalKey, cipher_general
from asyncdlms.wrapper.frames import WrapperFrame

from .helpers import notification

ENERGY = Obis("1.0.1.8.0.255")
METER = bytes.fromhex("4D4D4D0000BC614E")
SUITE_1_METER = bytes.fromhex("4D4D4D0000BC6100")
HEAD_END = bytes.fromhex("4142434445464748")
GUEK = bytes(range(32))
GAK = bytes(range(0x40, 0x60))
BROADCAST = bytes(range(0x80, 0xA0))


def wrapped(apdu: bytes) -> bytes:
    return WrapperFrame(1, 0x66, apdu).encode()


async def send_tcp(port: int, *apdus: bytes) -> None:
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    for apdu in apdus:
        writer.write(wrapped(apdu))
        await writer.drain()
    writer.close()
    await writer.wait_closed()


async def events(listener: Listener, count: int, timeout: float = 20) -> list[PushEvent]:
    got: list[PushEvent] = []
    async with asyncio.timeout(timeout):
        async for event in listener.events():
            got.append(event)
            if len(got) == count:
                break
    return got


def meter_context(form: CipheringForm, policy: SecurityPolicy, store: object) -> SecurityContext:
    return SecurityContext(
        system_title=METER,
        block_cipher_key=GUEK,
        authentication_key=GAK,
        broadcast_key=BROADCAST,
        policy=policy,
        form=form,
        counter_store=store,  # type: ignore[arg-type]
        suite=2,
    )


def test_key_set_takes_32_byte_keys_and_refuses_a_mix() -> None:
    keys = KeySet(GUEK, GAK, BROADCAST)
    assert keys.block_cipher_key is not None and len(keys.block_cipher_key) == 32
    assert "0001" not in repr(keys)
    with pytest.raises(KeyStoreError, match=r"all 16 bytes .* or all 32 bytes"):
        KeySet(GUEK, bytes(16))
    with pytest.raises(KeyStoreError, match=r"16 bytes long .* or 32 .* not 24"):
        KeySet(bytes(24))


def test_toml_key_file_with_suite_2_keys(tmp_path: Path) -> None:
    path = tmp_path / "keys.toml"
    path.write_text(
        f'[{METER.hex()}]\nblock_cipher_key = "{GUEK.hex()}"\nauthentication_key = "{GAK.hex()}"\n'
    )
    key_set = TomlKeyStore(path).keys_for(METER)
    assert key_set is not None and key_set.block_cipher_key is not None
    assert key_set.block_cipher_key.value == GUEK
    path.write_text(
        f'[{METER.hex()}]\nblock_cipher_key = "{GUEK.hex()}"\n'
        f'authentication_key = "{bytes(16).hex()}"\n'
    )
    with pytest.raises(KeyStoreError, match=r"\[4d4d4d0000bc614e\].*not a mix") as error:
        TomlKeyStore(path)
    assert GUEK.hex() not in str(error.value)


async def test_suite_2_pushes_through_listen() -> None:
    meter_store = MemoryInvocationCounterStore()
    ae = SecurityPolicy.AUTHENTICATED_ENCRYPTION
    general_glo = meter_context(CipheringForm.GENERAL_GLOBAL, ae, meter_store)
    auth_only = meter_context(
        CipheringForm.GENERAL_GLOBAL, SecurityPolicy.AUTHENTICATION_ONLY, meter_store
    )
    enc_only = meter_context(
        CipheringForm.GENERAL_GLOBAL, SecurityPolicy.ENCRYPTION_ONLY, meter_store
    )
    broadcast = SecurityContext(
        system_title=METER,
        block_cipher_key=GUEK,
        authentication_key=GAK,
        broadcast_key=BROADCAST,
        form=CipheringForm.GENERAL_GLOBAL,
        counter_store=meter_store,
        broadcast_notifications=True,
        suite=2,
    )
    pushes = [
        general_glo.protect(notification(1)),
        auth_only.protect(notification(2)),
        enc_only.protect(notification(3)),
        broadcast.protect(notification(4)),
        cipher_general(
            notification(5),
            originator_system_title=METER,
            recipient_system_title=HEAD_END,
            suite=2,
            key=GlobalKey(GUEK),
            authentication_key=GAK,
            counter_store=meter_store,
        ),
    ]
    # the SC bytes name suite 2; the general-glo content checked with cryptography directly
    first = pushes[0]
    content = first[2 + 8 + 1 :]
    assert [push[11] for push in pushes[:4]] == [0x32, 0x12, 0x22, 0x72]
    iv = METER + content[1:5]
    body, tag = content[5:-12], content[-12:]
    sealed = AESGCM(GUEK).encrypt(iv, notification(1), bytes((0x32,)) + GAK)
    assert sealed[:-16] == body and sealed[-16:-4] == tag
    tampered = first[:-1] + bytes([first[-1] ^ 1])
    # a suite 1 meter whose keys in the store are 32 bytes: refused, naming the mismatch
    suite_1 = SecurityContext(
        system_title=SUITE_1_METER,
        block_cipher_key=bytes(16),
        authentication_key=bytes(16),
        form=CipheringForm.GENERAL_GLOBAL,
        counter_store=MemoryInvocationCounterStore(),
        suite=1,
    ).protect(notification(6))
    keys = {
        METER: KeySet(GUEK, GAK, BROADCAST),
        SUITE_1_METER: KeySet(GUEK, GAK),
    }
    async with listen(
        "tcp://127.0.0.1:0",
        keys=keys,
        counter_store=MemoryInvocationCounterStore(),
        recipient_system_title=HEAD_END,
    ) as listener:
        assert listener.address is not None
        await send_tcp(listener.address[1], *pushes, tampered, suite_1)
        got = await events(listener, len(pushes) + 2)
    delivered = [e for e in got if isinstance(e, Notification)]
    assert [n.readings()[ENERGY].raw for n in delivered] == [1, 2, 3, 4, 5]
    assert all(n.system_title == METER and n.security is not None for n in delivered)
    assert [n.security.security_suite for n in delivered if n.security] == [2] * 5
    forms = [n.security.form for n in delivered if n.security]
    assert forms == ["general-glo"] * 4 + ["general-ciphering"]
    kinds = [n.security.key.name for n in delivered if n.security]
    assert kinds[3] == "GLOBAL_BROADCAST_ENCRYPTION" and kinds[0] == "GLOBAL_UNICAST_ENCRYPTION"
    rejected = [e for e in got if isinstance(e, PushRejected)]
    assert [type(r.cause).__name__ for r in rejected] == [
        "AuthenticationTagError",
        "UnsupportedSecuritySuiteError",
    ]
    assert isinstance(rejected[1].cause, UnsupportedSecuritySuiteError)
    message = str(rejected[1].cause)
    assert "suite 1" in message and "32-byte keys" in message and GUEK.hex() not in message


async def test_glo_ciphered_suite_2_event_notification_through_listen() -> None:
    """glo-event-notification-request (no system title inside: the listener is told it)."""
    event = EventNotificationRequest(
        CosemAttributeDescriptor(1, Obis("0.0.96.11.0.255"), 2), 42
    ).encode()
    glo = meter_context(
        CipheringForm.GLOBAL,
        SecurityPolicy.AUTHENTICATED_ENCRYPTION,
        MemoryInvocationCounterStore(),
    )
    push = glo.protect(event)
    assert push[0] == 0xCA and push[2] == 0x32  # glo-event-notification, SC of suite 2
    async with listen(
        "tcp://127.0.0.1:0",
        keys={METER: KeySet(GUEK, GAK)},
        counter_store=MemoryInvocationCounterStore(),
        system_titles=METER,
    ) as listener:
        assert listener.address is not None
        await send_tcp(listener.address[1], push)
        (got,) = await events(listener, 1)
    assert isinstance(got, Notification) and got.security is not None
    assert got.security.form == "glo" and got.security.security_suite == 2
    assert got.readings()[Obis("0.0.96.11.0.255")].raw == 42


async def test_suite_2_push_with_16_byte_keys_in_the_store_is_refused_clearly() -> None:
    push = meter_context(
        CipheringForm.GENERAL_GLOBAL,
        SecurityPolicy.AUTHENTICATED_ENCRYPTION,
        MemoryInvocationCounterStore(),
    ).protect(notification(7))
    async with listen(
        "tcp://127.0.0.1:0",
        keys={METER: KeySet(bytes(16), bytes(16))},
        counter_store=MemoryInvocationCounterStore(),
    ) as listener:
        assert listener.address is not None
        await send_tcp(listener.address[1], push)
        (event,) = await events(listener, 1)
    assert isinstance(event, PushRejected)
    assert isinstance(event.cause, UnsupportedSecuritySuiteError)
    assert "AES-GCM-256" in str(event.cause) and "32-byte keys" in str(event.cause)
