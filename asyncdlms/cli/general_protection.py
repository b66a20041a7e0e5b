"""Command-line helpers for general-signing and general-ciphering (security suites 1 and 2):
loading our key agreement private key, and describing a protected APDU in ``decode``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ..apdu.general_protection import (
    AgreedKey,
    GeneralCiphering,
    GeneralSigning,
    IdentifiedKey,
    ProtectionHeader,
    WrappedKey,
)
from ..apdu.tags import ApduTag
from ..errors import DlmsError
from ..listen.keys import KeyStore
from ..security.certificates import suite_of_key
from ..security.counters import MemoryInvocationCounterStore
from ..security.general import GeneralCipheringKeys, decipher_general, verify_signed_apdu

__all__ = ["GENERAL_TAGS", "describe_general", "load_key_agreement_key"]

GENERAL_TAGS = frozenset({int(ApduTag.GENERAL_SIGNING), int(ApduTag.GENERAL_CIPHERING)})
"""The tags :func:`describe_general` describes."""


def load_key_agreement_key(
    path: str | Path, option: str = "--key-agreement-key"
) -> ec.EllipticCurvePrivateKey:
    """Our static key agreement private key from a PEM (PKCS #8 or SEC 1) file without a
    password; raises :class:`ValueError` naming the file, never the key."""
    file = Path(path).expanduser()
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise ValueError(f"{option}: cannot read {file}: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise ValueError(f"{option}: {file} is not a PEM private key without a password") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name not in (
        "secp256r1",
        "secp384r1",
    ):
        raise ValueError(f"{option}: {file} is not a P-256 or P-384 private key")
    return key


def _header_lines(header: ProtectionHeader, indent: str) -> list[str]:
    def show(value: bytes) -> str:
        return value.hex() or "(empty)"

    return [
        f"{indent}transaction-id: {show(header.transaction_id)}",
        f"{indent}originator system title: {show(header.originator_system_title)}",
        f"{indent}recipient system title: {show(header.recipient_system_title)}",
        f"{indent}date-time: {show(header.date_time)}",
        f"{indent}other-information: {show(header.other_information)}",
    ]


def describe_general(
    apdu: bytes,
    indent: str,
    keys: KeyStore | None,
    key_agreement_key: ec.EllipticCurvePrivateKey | None,
    describe_apdu: Callable[[bytes, str], list[str]],
    failures: list[str],
) -> list[str]:
    """Lines describing a general-signing or general-ciphering APDU: its header, whether its
    signature verifies with the signer's public key from ``keys`` (then its content), or its
    key-info and, when the keys allow, the deciphered APDU. Problems are appended to
    ``failures``. No replay check: a capture is decoded as it is."""
    if apdu[0] == ApduTag.GENERAL_SIGNING:
        return _describe_signing(apdu, indent, keys, describe_apdu, failures)
    return _describe_ciphering(apdu, indent, keys, key_agreement_key, describe_apdu, failures)


def _describe_signing(
    apdu: bytes,
    indent: str,
    keys: KeyStore | None,
    describe_apdu: Callable[[bytes, str], list[str]],
    failures: list[str],
) -> list[str]:
    lines = [f"{indent}general-signing"]
    try:
        signed = GeneralSigning.decode(apdu)
    except DlmsError as exc:
        lines.append(f"{indent}  not decoded: {exc}")
        failures.append(f"general-signing: {exc}")
        return lines
    lines += _header_lines(signed.header, indent + "  ")
    lines.append(f"{indent}  signature: {len(signed.signature)} bytes")
    title = signed.header.originator_system_title
    key_set = None if keys is None else keys.keys_for(title)
    public = None if key_set is None else key_set.signing_public_key
    if public is None:
        lines.append(
            f"{indent}  signature not checked: give --keys with a signing_public_key for "
            f"{title.hex().upper() or 'the originator'}"
        )
    else:
        try:
            suite = suite_of_key(public)
            verify_signed_apdu(apdu, lambda _title: public, suite, check_replay=False)
        except DlmsError as exc:
            lines.append(f"{indent}  signature NOT verified: {exc}")
            failures.append(f"general-signing: {exc}")
            return lines
        lines.append(f"{indent}  signature verified: signed by {title.hex().upper()}")
    lines.append(f"{indent}  content:")
    lines += describe_apdu(signed.content, indent + "    ")
    return lines


def _describe_ciphering(
    apdu: bytes,
    indent: str,
    keys: KeyStore | None,
    key_agreement_key: ec.EllipticCurvePrivateKey | None,
    describe_apdu: Callable[[bytes, str], list[str]],
    failures: list[str],
) -> list[str]:
    lines = [f"{indent}general-ciphering"]
    try:
        ciphered = GeneralCiphering.decode(apdu)
    except DlmsError as exc:
        lines.append(f"{indent}  not decoded: {exc}")
        failures.append(f"general-ciphering: {exc}")
        return lines
    lines += _header_lines(ciphered.header, indent + "  ")
    info = ciphered.key_info
    if info is None:
        described = "absent (global unicast encryption key)"
    elif isinstance(info, IdentifiedKey):
        described = f"identified key: {info.key_id.name.lower().replace('_', ' ')}"
    elif isinstance(info, WrappedKey):
        described = "wrapped key (master key)"
    else:
        scheme = info.scheme
        described = (
            f"agreed key: {scheme.name.lower().replace('_', ' ')}"
            if scheme is not None
            else f"agreed key with unknown key-parameters {info.key_parameters.hex()}"
        )
    lines.append(f"{indent}  key-info: {described}")
    content = ciphered.ciphered_content
    if content:
        lines.append(
            f"{indent}  security control: 0x{content[0]:02x}, invocation counter: "
            f"{int.from_bytes(content[1:5], 'big')}"
        )
    title = ciphered.header.originator_system_title
    key_set = None if keys is None else keys.keys_for(title)

    def lookup_signing(found: bytes) -> ec.EllipticCurvePublicKey | None:
        entry = None if keys is None else keys.keys_for(found)
        return None if entry is None else entry.signing_public_key

    def lookup_agreement(found: bytes) -> ec.EllipticCurvePublicKey | None:
        entry = None if keys is None else keys.keys_for(found)
        return None if entry is None else entry.key_agreement_public_key

    agreed = isinstance(info, AgreedKey)
    recipient_keys = GeneralCipheringKeys(
        block_cipher_key=None if key_set is None else key_set.block_cipher_key,
        broadcast_key=None if key_set is None else key_set.broadcast_key,
        authentication_key=None if key_set is None or agreed else key_set.authentication_key,
        key_agreement_key=key_agreement_key,
        signing_key_for=lookup_signing,
        key_agreement_key_for=lookup_agreement,
    )
    try:
        deciphered = decipher_general(
            apdu, recipient_keys, counter_store=MemoryInvocationCounterStore()
        )
    except DlmsError as exc:
        lines.append(f"{indent}  not deciphered: {exc}")
        failures.append(f"general-ciphering: {exc}")
        return lines
    checked = (
        "authentication tag verified"
        if deciphered.security_control.authentication
        else "no authentication tag"
    )
    lines.append(f"{indent}  deciphered ({checked}):")
    lines += describe_apdu(deciphered.apdu, indent + "    ")
    return lines
