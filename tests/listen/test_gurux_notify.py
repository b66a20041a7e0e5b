"""Pushes from a client nobody here wrote: gurux-dlms's GXDLMSNotify / GXDLMSSecureNotify
data-notifications (plain, authenticated, encrypted, both; wrapper and HDLC) fed as bytes
into PushReceiver.

gurux is never the tag oracle: every authenticated push's tag is recomputed independently
with ``cryptography`` (AES-GCM over SC ‖ AK as the Green Book prescribes) and our receiver
must accept exactly the pushes whose tag that computation confirms, and refuse any other.
(gurux-dlms 1.0.203 checks tags wrongly when *receiving* authenticated-encrypted APDUs — see
tests/interop/test_gurux_ciphering.py — its notify side writes them correctly, which the
cross-check below records, so a regression on either side shows.)
"""

from __future__ import annotations

from typing import Any

import pytest

from asyncdlms import Obis
from asyncdlms.errors import AuthenticationTagError
from asyncdlms.listen import KeySet, MemoryKeyStore, Notification, PushReceiver, PushRejected
from asyncdlms.security.counters import MemoryInvocationCounterStore

gurux_dlms = pytest.importorskip("gurux_dlms")

from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402
from gurux_dlms import GXByteBuffer, GXDLMSNotify  # noqa: E402
from gurux_dlms.enums import InterfaceType, Security  # noqa: E402
from gurux_dlms.secure.GXDLMSSecureNotify import GXDLMSSecureNotify  # noqa: E402

TITLE = bytes.fromhex("4B464D1020304050")
GUEK = bytes(range(16))
GAK = bytes(range(16, 32))
BODY = bytes.fromhex("020209060000010000FF0600BC614E")  # {0.0.1.0.0.255, 12345678}
FRAMINGS = {InterfaceType.WRAPPER: "wrapper", InterfaceType.HDLC: "hdlc"}


def _bytes(message: Any) -> bytes:
    return bytes(message.array()) if hasattr(message, "array") else bytes(message)


def _gurux_push(interface: int, security: int, counter: int = 77) -> bytes:
    notify: Any
    if security == Security.NONE:
        notify = GXDLMSNotify(True, 16, 1, interface)
    else:
        notify = GXDLMSSecureNotify(True, 16, 1, interface)
        notify.ciphering.security = security
        notify.ciphering.systemTitle = TITLE
        notify.ciphering.blockCipherKey = GUEK
        notify.ciphering.authenticationKey = GAK
        notify.ciphering.invocationCounter = counter
    messages = notify.generateDataNotificationMessages(None, GXByteBuffer(BODY))
    return b"".join(_bytes(m) for m in messages)


def _tag_confirmed_by_cryptography(push: bytes) -> bool:
    """Recompute the tag of a general-glo-ciphered push found in ``push`` independently."""
    start = push.index(b"\xdb\x08" + TITLE)
    content_start = start + 2 + 8
    length = push[content_start]
    assert length < 0x80
    content = push[content_start + 1 : content_start + 1 + length]
    sc, iv, payload = content[0], TITLE + content[1:5], content[5:]
    gcm = AESGCM(GUEK)
    received = payload[-12:]
    if sc & 0x30 == 0x30:
        plaintext = gcm.encrypt(iv, payload[:-12], None)[:-16]
        expected = gcm.encrypt(iv, plaintext, bytes((sc,)) + GAK)[-16:-4]
    else:
        expected = gcm.encrypt(iv, b"", bytes((sc,)) + GAK + payload[:-12])[:12]
    return expected == received


def _receive(framing: str, *data: bytes) -> list[Any]:
    receiver = PushReceiver(
        framing,  # type: ignore[arg-type]
        keys=MemoryKeyStore({TITLE: KeySet(GUEK, GAK)}),
        counter_store=MemoryInvocationCounterStore(),
    )
    for chunk in data:
        receiver.receive_data(chunk, now=0.0, source="gurux")
    return receiver.events()


@pytest.mark.parametrize("interface", list(FRAMINGS), ids=FRAMINGS.get)
@pytest.mark.parametrize(
    "security",
    [
        Security.NONE,
        Security.AUTHENTICATION,
        Security.ENCRYPTION,
        Security.AUTHENTICATION_ENCRYPTION,
    ],
    ids=["plain", "authentication", "encryption", "authenticated-encryption"],
)
def test_gurux_data_notification(interface: int, security: int) -> None:
    push = _gurux_push(interface, security)
    events = _receive(FRAMINGS[interface], push)
    authenticated = security in (Security.AUTHENTICATION, Security.AUTHENTICATION_ENCRYPTION)
    if authenticated and not _tag_confirmed_by_cryptography(push):
        (event,) = events  # gurux wrote a wrong tag: refused, as cryptography says
        assert isinstance(event, PushRejected) and isinstance(event.cause, AuthenticationTagError)
        return
    (event,) = events
    assert isinstance(event, Notification)
    assert event.readings()[Obis("0.0.1.0.0.255")].raw == 12345678
    if security == Security.NONE:
        assert event.security is None
    else:
        assert event.system_title == TITLE
        assert event.security is not None
        assert event.security.invocation_counter == 77
        assert event.security.security_control.byte == int(security)
        assert event.security.tag_verified is authenticated


@pytest.mark.parametrize("interface", list(FRAMINGS), ids=FRAMINGS.get)
def test_gurux_push_with_an_altered_tag_is_refused(interface: int) -> None:
    push = bytearray(_gurux_push(interface, Security.AUTHENTICATION_ENCRYPTION))
    # flip a bit in the tag, then fix the HDLC check sequence so the frame itself is valid
    if interface == InterfaceType.HDLC:
        from asyncdlms.hdlc.frames import decode_frame

        frame = decode_frame(bytes(push))
        information = bytearray(frame.information)
        information[-1] ^= 1
        from dataclasses import replace

        push = bytearray(replace(frame, information=bytes(information)).encode())
    else:
        push[-1] ^= 1
    assert not _tag_confirmed_by_cryptography(bytes(push))
    (event,) = _receive(FRAMINGS[interface], bytes(push))
    assert isinstance(event, PushRejected) and isinstance(event.cause, AuthenticationTagError)


def test_gurux_pushes_replayed_and_in_order() -> None:
    first = _gurux_push(InterfaceType.WRAPPER, Security.AUTHENTICATION_ENCRYPTION, 100)
    second = _gurux_push(InterfaceType.WRAPPER, Security.AUTHENTICATION_ENCRYPTION, 101)
    events = _receive("wrapper", first, second, first)
    assert [type(e) for e in events] == [Notification, Notification, PushRejected]
    assert type(events[2].cause).__name__ == "ReplayError"


def _gurux_long_push(interface: int, security: int, *, gbt: bool) -> list[bytes]:
    from gurux_dlms.enums import Conformance

    from asyncdlms import axdr
    from asyncdlms.types import Array, OctetString

    body = axdr.encode(Array(tuple(OctetString(bytes([i]) * 20) for i in range(30))))
    notify = GXDLMSSecureNotify(True, 16, 1, interface)
    notify.settings.negotiatedConformance |= Conformance.GENERAL_BLOCK_TRANSFER
    if gbt:
        notify.settings.maxPduSize = 128
    notify.ciphering.security = security
    notify.ciphering.systemTitle = TITLE
    notify.ciphering.blockCipherKey = GUEK
    notify.ciphering.authenticationKey = GAK
    notify.ciphering.invocationCounter = 5
    messages = notify.generateDataNotificationMessages(None, GXByteBuffer(body))
    return [_bytes(m) for m in messages]


@pytest.mark.parametrize(
    "security", [Security.NONE, Security.AUTHENTICATION_ENCRYPTION], ids=["plain", "ciphered"]
)
@pytest.mark.parametrize("how", ["hdlc-segments", "gbt", "gbt-reversed"])
def test_gurux_long_push(security: int, how: str) -> None:
    """A push longer than one frame / PDU: gurux segments it in HDLC, or cuts it into
    general-block-transfer blocks (with the wrapper and a max PDU of 128)."""
    if how == "hdlc-segments":
        messages = _gurux_long_push(InterfaceType.HDLC, security, gbt=False)
        framing = "hdlc"
    else:
        messages = _gurux_long_push(InterfaceType.WRAPPER, security, gbt=True)
        assert all(m[8] == 0xE0 for m in messages)  # general-block-transfer
        framing = "wrapper"
        if how == "gbt-reversed":
            messages.reverse()
    assert len(messages) > 3
    (event,) = _receive(framing, *messages)
    assert isinstance(event, Notification)
    assert event.body == tuple(bytes([i]) * 20 for i in range(30))
    assert (event.security is None) is (security == Security.NONE)
