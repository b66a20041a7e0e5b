"""Build pushes with our own encoders (and, for other suites, with ``cryptography``)."""

from __future__ import annotations

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from asyncdlms.apdu.block_transfer import GeneralBlockTransfer, split_blocks
from asyncdlms.apdu.notification import DataNotification
from asyncdlms.hdlc import Frame, FrameType, HdlcAddress
from asyncdlms.hdlc.frames import LLC_RESPONSE
from asyncdlms.security.ciphering import CipheringForm, SecurityContext, SecurityPolicy
from asyncdlms.security.counters import MemoryInvocationCounterStore
from asyncdlms.types import DoubleLongUnsigned, Enum, Integer, OctetString, Structure
from asyncdlms.wrapper.frames import WrapperFrame

TITLE = bytes.fromhex("4B464D1020304050")
GUEK = bytes(range(16))
GAK = bytes(range(16, 32))
BROADCAST = bytes(range(32, 48))
DEDICATED = bytes(range(48, 64))


def triplet(obis: str, value: int, scaler: int, unit: int) -> Structure:
    from asyncdlms import Obis

    return Structure(
        (
            OctetString(Obis(obis).to_bytes()),
            DoubleLongUnsigned(value),
            Structure((Integer(scaler), Enum(unit))),
        )
    )


def notification(energy: int = 12345, invoke_id: int = 1) -> bytes:
    """A plain data-notification: an array of OBIS/value/scaler_unit triplets."""
    from asyncdlms.apdu.enums import LongInvokeIdAndPriority
    from asyncdlms.types import Array

    body = Array((triplet("1.0.1.8.0.255", energy, 0, 30), triplet("1.0.32.7.0.255", 2301, -1, 35)))
    return DataNotification(body, LongInvokeIdAndPriority(invoke_id)).encode()


def context(
    *,
    title: bytes = TITLE,
    form: CipheringForm = CipheringForm.GENERAL_GLOBAL,
    policy: SecurityPolicy = SecurityPolicy.AUTHENTICATED_ENCRYPTION,
    initial: int = 1,
) -> SecurityContext:
    """The meter's side: a security context that ciphers its pushes."""
    return SecurityContext(
        system_title=title,
        block_cipher_key=GUEK,
        authentication_key=GAK,
        broadcast_key=BROADCAST,
        dedicated_key=DEDICATED,
        policy=policy,
        form=form,
        counter_store=MemoryInvocationCounterStore(initial),
    )


def suite_cipher(
    apdu: bytes, sc: int, counter: int, *, title: bytes = TITLE, key: bytes = GUEK
) -> bytes:
    """general-glo-ciphering of ``apdu`` with any security control byte (suite bits too),
    straight from ``cryptography``'s AES-GCM."""
    iv = title + counter.to_bytes(4, "big")
    header = bytes((sc,)) + counter.to_bytes(4, "big")
    gcm = AESGCM(key)
    if sc & 0x30 == 0x30:
        sealed = gcm.encrypt(iv, apdu, bytes((sc,)) + GAK)
        payload = sealed[:-16] + sealed[-16:-4]
    elif sc & 0x30 == 0x20:
        payload = gcm.encrypt(iv, apdu, None)[:-16]
    else:
        payload = apdu + gcm.encrypt(iv, b"", bytes((sc,)) + GAK + apdu)[:12]
    content = header + payload
    from asyncdlms.axdr import encode_length

    return b"\xdb\x08" + title + encode_length(len(content)) + content


def gbt_blocks(apdu: bytes, size: int) -> list[bytes]:
    """``apdu`` as streamed general-block-transfer blocks numbered from 1."""
    parts = split_blocks(apdu, size)
    return [
        GeneralBlockTransfer(
            block_number=index + 1,
            block_data=part,
            last_block=index == len(parts) - 1,
            streaming=index < len(parts) - 1,
        ).encode()
        for index, part in enumerate(parts)
    ]


def hdlc_frames(
    apdu: bytes, *, source: int = 16, destination: int = 1, size: int = 128
) -> list[bytes]:
    """``apdu`` (with the LLC header) in UI frames, segmented every ``size`` bytes."""
    information = LLC_RESPONSE + apdu
    parts = [information[i : i + size] for i in range(0, len(information), size)]
    return [
        Frame(
            FrameType.UI,
            HdlcAddress(destination),
            HdlcAddress(source),
            segmented=index < len(parts) - 1,
            information=part,
        ).encode()
        for index, part in enumerate(parts)
    ]


def wrapper_frame(apdu: bytes, source_wport: int = 1, destination_wport: int = 16) -> bytes:
    return WrapperFrame(source_wport, destination_wport, apdu).encode()
