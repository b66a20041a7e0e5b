"""Signed and general-ciphered pushes (security suites 1 and 2) received by a real
``listen()`` over TCP and UDP on loopback: the meter's side is built with
:mod:`asyncdlms.security.general` (and tampered with), the head-end verifies and deciphers
with the keys by system title."""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from asyncdlms import Obis
from asyncdlms.cli import main
from asyncdlms.errors import ReplayError, SecurityPolicyError
from asyncdlms.listen import (
    KeySet,
    Listener,
    MemoryKeyStore,
    Notification,
    PushEvent,
    PushIgnored,
    PushReceiver,
    PushRejected,
    TomlKeyStore,
    decode_pushes,
    listen,
)
from asyncdlms.security.counters import MemoryInvocationCounterStore
from asyncdlms.security.general import (
    OnePassDiffieHellman,
    StaticUnifiedModel,
    UnknownSignerError,
    cipher_general,
    sign_apdu,
)
from asyncdlms.security.suites import SignatureError, generate_private_key
from asyncdlms.wrapper.frames import WrapperFrame

from .helpers import notification

ROOT = Path(__file__).resolve().parents[2]
ENERGY = Obis("1.0.1.8.0.255")
METER = bytes.fromhex("4D4D4D0000BC614E")
HEAD_END = bytes.fromhex("4142434445464748")
STRANGER = bytes.fromhex("4D4D4D0000999999")


def wrapped(apdu: bytes) -> bytes:
    return WrapperFrame(1, 0x66, apdu).encode()


async def send_tcp(port: int, *apdus: bytes) -> None:
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    for apdu in apdus:
        writer.write(wrapped(apdu))
        await writer.drain()
    writer.close()
    await writer.wait_closed()


async def send_udp(port: int, *apdus: bytes) -> None:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        asyncio.DatagramProtocol, remote_addr=("127.0.0.1", port)
    )
    try:
        for apdu in apdus:
            transport.sendto(wrapped(apdu))
            await asyncio.sleep(0.01)  # keep the datagrams in order on a loaded machine
    finally:
        transport.close()


async def events(listener: Listener, count: int, timeout: float = 20) -> list[PushEvent]:
    got: list[PushEvent] = []
    async with asyncio.timeout(timeout):
        async for event in listener.events():
            got.append(event)
            if len(got) == count:
                break
    return got


def tampered(data: bytes, position: int) -> bytes:
    return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]


@pytest.mark.parametrize("suite", [1, 2])
async def test_signed_pushes_over_tcp(suite: int) -> None:
    signing = generate_private_key(suite)
    meter_store = MemoryInvocationCounterStore()

    def signed(energy: int, *, title: bytes = METER, key: Any = signing) -> bytes:
        return sign_apdu(notification(energy), title, b"", key, suite, counter_store=meter_store)

    first, second = signed(1), signed(2)
    forged = tampered(signed(3), len(signed(3)) - 70)  # inside the content
    impostor = signed(4, key=generate_private_key(suite))  # METER's title, another key
    stranger = signed(5, title=STRANGER)
    keys = {METER: KeySet(signing_public_key=signing.public_key())}
    async with listen(
        "tcp://127.0.0.1:0", keys=keys, counter_store=MemoryInvocationCounterStore()
    ) as listener:
        assert listener.address is not None
        port = listener.address[1]
        for apdu in (first, forged, impostor, second, first, stranger, notification(6)):
            await send_tcp(port, apdu)
        got = await events(listener, 7)
    delivered = [e for e in got if isinstance(e, Notification)]
    rejected = [e for e in got if isinstance(e, PushRejected)]
    # the genuine signed pushes, and the plain one (this listener does not require signing)
    assert [n.readings()[ENERGY].raw for n in delivered] == [1, 2, 6]
    assert [n.signed for n in delivered] == [True, True, False]
    for push in delivered[:2]:
        assert push.signature is not None and push.system_title == METER
        assert push.signature.signer_system_title == METER
        assert push.signature.security_suite == suite
        assert "signed by 4D4D4D0000BC614E" in str(push.signature)
        assert push.security is None  # signed, not ciphered
    causes = [type(r.cause) for r in rejected]
    assert causes == [SignatureError, SignatureError, ReplayError, UnknownSignerError]
    assert rejected[0].system_title == METER
    assert rejected[3].system_title == STRANGER
    assert listener.statistics.rejected == 4


async def test_require_signature_refuses_plain_pushes() -> None:
    signing = generate_private_key(1)
    keys = {METER: KeySet(signing_public_key=signing.public_key())}
    async with listen(
        "udp://127.0.0.1:0",
        keys=keys,
        counter_store=MemoryInvocationCounterStore(),
        require_signature=True,
    ) as listener:
        assert listener.address is not None
        await send_udp(
            listener.address[1],
            notification(1),
            sign_apdu(notification(2), METER, b"", signing, 1),
        )
        got = await events(listener, 2)
    assert isinstance(got[0], PushRejected) and isinstance(got[0].cause, SecurityPolicyError)
    assert isinstance(got[1], Notification) and got[1].signed


@pytest.mark.parametrize("suite", [1, 2])
async def test_general_ciphering_with_agreed_keys_over_udp(suite: int) -> None:
    meter_signing = generate_private_key(suite)
    meter_agreement = generate_private_key(suite)
    head_end_agreement = generate_private_key(suite)
    meter_store = MemoryInvocationCounterStore()

    def ciphered(apdu: bytes, key: Any) -> bytes:
        return cipher_general(
            apdu,
            originator_system_title=METER,
            recipient_system_title=HEAD_END,
            suite=suite,
            key=key,
            counter_store=meter_store,
        )

    ephemeral = OnePassDiffieHellman(head_end_agreement.public_key(), meter_signing)
    static = StaticUnifiedModel(meter_agreement, head_end_agreement.public_key())
    one = ciphered(notification(1), ephemeral)
    two = ciphered(notification(2), static)
    signed = sign_apdu(
        notification(3), METER, HEAD_END, meter_signing, suite, counter_store=meter_store
    )
    signed_then_ciphered = ciphered(signed, ephemeral)
    broken = tampered(ciphered(notification(4), ephemeral), -3)  # the tag
    wrong_recipient = cipher_general(
        notification(5),
        originator_system_title=METER,
        recipient_system_title=STRANGER,
        suite=suite,
        key=OnePassDiffieHellman(head_end_agreement.public_key(), meter_signing),
        counter_store=meter_store,
    )
    keys = {
        METER: KeySet(
            signing_public_key=meter_signing.public_key(),
            key_agreement_public_key=meter_agreement.public_key(),
        )
    }
    async with listen(
        "udp://127.0.0.1:0",
        keys=keys,
        counter_store=MemoryInvocationCounterStore(),
        key_agreement_key=head_end_agreement,
        recipient_system_title=HEAD_END,
        require_ciphering=True,
    ) as listener:
        assert listener.address is not None
        await send_udp(
            listener.address[1], one, two, signed_then_ciphered, broken, wrong_recipient, one
        )
        got = await events(listener, 6)
    delivered = [e for e in got if isinstance(e, Notification)]
    assert [n.readings()[ENERGY].raw for n in delivered] == [1, 2, 3]
    assert [n.security.key_info for n in delivered if n.security] == [
        "ephemeral-static",
        "static-unified",
        "ephemeral-static",
    ]
    assert all(n.security and n.security.form == "general-ciphering" for n in delivered)
    assert all(n.system_title == METER for n in delivered)
    assert [n.signed for n in delivered] == [False, False, True]
    causes = [type(e.cause).__name__ for e in got if isinstance(e, PushRejected)]
    assert causes == ["AuthenticationTagError", "DecipheringError", "ReplayError"]


def _certificate(key: ec.EllipticCurvePrivateKey, title: bytes) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, title.hex().upper())])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


def test_key_file_with_a_signing_certificate_and_offline_decoding(tmp_path: Path) -> None:
    signing = generate_private_key(1)
    agreement = generate_private_key(1)
    (tmp_path / "meter.pem").write_bytes(_certificate(signing, METER))
    raw = agreement.public_key().public_numbers()
    agreement_hex = raw.x.to_bytes(32, "big").hex() + raw.y.to_bytes(32, "big").hex()
    (tmp_path / "keys.toml").write_text(
        f'[{METER.hex().upper()}]\nsigning_public_key = "meter.pem"\n'
        f'key_agreement_public_key = "{agreement_hex}"\n'
    )
    store = TomlKeyStore(tmp_path / "keys.toml")
    key_set = store.keys_for(METER)
    assert key_set is not None and key_set.signing_public_key is not None
    assert key_set.signing_public_key.public_numbers() == signing.public_key().public_numbers()
    assert "secp256r1" in repr(key_set)
    data = wrapped(sign_apdu(notification(7), METER, b"", signing, 1))
    (push,) = decode_pushes(data, keys=store)
    assert isinstance(push, Notification) and push.signed
    (bad,) = decode_pushes(data[:-5] + bytes([data[-5] ^ 1]) + data[-4:], keys=store)
    assert isinstance(bad, PushRejected) and isinstance(bad.cause, SignatureError)
    # C(0e, 2s) from the key file's key agreement public key, with our private key
    head_end = generate_private_key(1)
    static = cipher_general(
        notification(8),
        originator_system_title=METER,
        recipient_system_title=HEAD_END,
        suite=1,
        key=StaticUnifiedModel(agreement, head_end.public_key()),
    )
    (push,) = decode_pushes(wrapped(static), keys=store, key_agreement_key=head_end)
    assert isinstance(push, Notification) and push.security is not None
    assert push.security.key_info == "static-unified" and push.body[0][1] == 8
    (refused,) = decode_pushes(wrapped(static), keys=store)  # without our private key
    assert isinstance(refused, PushRejected) and "key agreement private key" in str(refused)


def _write_keys(tmp_path: Path, signing: ec.EllipticCurvePrivateKey) -> Path:
    (tmp_path / "meter.pem").write_bytes(_certificate(signing, METER))
    keys = tmp_path / "keys.toml"
    keys.write_text(f'[{METER.hex().upper()}]\nsigning_public_key = "meter.pem"\n')
    return keys


def test_decode_command_verifies_and_deciphers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    signing = generate_private_key(1)
    head_end = generate_private_key(1)
    keys = _write_keys(tmp_path, signing)
    own = tmp_path / "head-end.pem"
    own.write_bytes(
        head_end.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    signed = sign_apdu(notification(7), METER, b"", signing, 1)
    status = main(["decode", signed.hex(), "--keys", str(keys)])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert "general-signing" in out and "signature verified: signed by 4D4D4D0000BC614E" in out
    assert "DataNotification" in out
    forged = signed[:-5] + bytes([signed[-5] ^ 1]) + signed[-4:]
    assert main(["decode", forged.hex(), "--keys", str(keys)]) == 1
    out, err = capsys.readouterr()
    assert "signature NOT verified" in out and "does not verify" in err
    ciphered = cipher_general(
        signed,
        originator_system_title=METER,
        recipient_system_title=HEAD_END,
        suite=1,
        key=OnePassDiffieHellman(head_end.public_key(), signing),
    )
    argv = ["decode", ciphered.hex(), "--keys", str(keys), "--key-agreement-key", str(own)]
    assert main(argv) == 0
    out, _ = capsys.readouterr()
    assert "key-info: agreed key: one pass diffie hellman" in out
    assert "deciphered (authentication tag verified)" in out
    assert "signature verified" in out and "DataNotification" in out
    private_hex = f"{head_end.private_numbers().private_value:064x}"
    assert private_hex not in out
    (tmp_path / "bad.pem").write_text("not a key")
    assert main([*argv[:-1], str(tmp_path / "bad.pem")]) == 2
    assert "not a PEM private key" in capsys.readouterr().err


def test_listen_command_with_a_key_agreement_key_and_required_signatures(tmp_path: Path) -> None:
    signing = generate_private_key(2)
    head_end = generate_private_key(2)
    keys = _write_keys(tmp_path, signing)
    own = tmp_path / "head-end.pem"
    own.write_bytes(
        head_end.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    signed_then_ciphered = cipher_general(
        sign_apdu(notification(11), METER, HEAD_END, signing, 2),
        originator_system_title=METER,
        recipient_system_title=HEAD_END,
        suite=2,
        key=OnePassDiffieHellman(head_end.public_key(), signing),
    )
    capture = tmp_path / "pushes.bin"
    capture.write_bytes(wrapped(notification(12)) + wrapped(signed_then_ciphered))
    result = subprocess.run(
        [sys.executable, "-m", "asyncdlms", "listen", f"file://{capture}?framing=wrapper",
         "--json-lines", "--keys", str(keys), "--key-agreement-key", str(own),
         "--require-signature"],
        capture_output=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    lines = result.stdout.decode().splitlines()
    assert len(lines) == 1, result.stderr
    record = json.loads(lines[0])
    assert record["signed_by"] == METER.hex().upper()
    assert record["readings"]["1.0.1.8.0.255"]["value"] == 11
    assert "requires signed pushes" in result.stderr.decode()


_FUZZ_SIGNING = generate_private_key(1)
_FUZZ_AGREEMENT = generate_private_key(1)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([b"\xdd", b"\xdf"]), st.binary(max_size=300))
def test_malformed_general_pushes_never_raise(tag: bytes, rest: bytes) -> None:
    keys = MemoryKeyStore(
        default=KeySet(
            bytes(16),
            bytes(16),
            signing_public_key=_FUZZ_SIGNING.public_key(),
            key_agreement_public_key=_FUZZ_AGREEMENT.public_key(),
        )
    )
    receiver = PushReceiver(
        "apdu",
        keys=keys,
        key_agreement_key=_FUZZ_AGREEMENT,
        counter_store=MemoryInvocationCounterStore(),
    )
    receiver.receive_data(tag + rest, now=0.0)
    (event,) = receiver.events()
    assert isinstance(event, PushRejected | PushIgnored)


_FUZZ_GENUINE = cipher_general(
    sign_apdu(notification(1), METER, HEAD_END, _FUZZ_SIGNING, 1, b"\x01"),
    originator_system_title=METER,
    recipient_system_title=HEAD_END,
    suite=1,
    key=OnePassDiffieHellman(_FUZZ_AGREEMENT.public_key(), _FUZZ_SIGNING),
    counter_store=MemoryInvocationCounterStore(),
)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_altered_general_pushes_are_rejected(data: st.DataObject) -> None:
    genuine = _FUZZ_GENUINE
    position = data.draw(st.integers(0, len(genuine) - 1))
    if data.draw(st.booleans()):
        altered = genuine[:position]  # truncated
    else:
        flip = data.draw(st.integers(1, 255))
        altered = genuine[:position] + bytes([genuine[position] ^ flip]) + genuine[position + 1 :]
    keys = MemoryKeyStore({METER: KeySet(signing_public_key=_FUZZ_SIGNING.public_key())})
    receiver = PushReceiver(
        "apdu",
        keys=keys,
        key_agreement_key=_FUZZ_AGREEMENT,
        counter_store=MemoryInvocationCounterStore(),
    )
    receiver.receive_data(altered, now=0.0)
    events = receiver.events()
    assert not any(isinstance(event, Notification) for event in events)
    receiver.receive_data(genuine, now=0.0)  # a rejected alteration never burnt its counter
    (event,) = receiver.events()
    assert isinstance(event, Notification) and event.signed
