"""Keys of the meters that push, looked up by the sender's system title.

A push receiver meets many meters, each with its own keys, and learns who sent a ciphered
push from the system title in it (general-glo-/general-ded-ciphering carry it; for glo-/ded-
ciphered pushes the receiver is told it per source). A :class:`KeyStore` maps that title to a
:class:`KeySet`; ``None`` means "unknown sender", which the receiver reports and never
crashes on.

Three stores come with asyncdlms:

* :class:`MemoryKeyStore` — a dict of titles to key sets, filled in code;
* :meth:`MemoryKeyStore.for_everyone` — one key set for every sender (a HAN port with the
  keys the grid operator gave, a test bench);
* :class:`TomlKeyStore` — a TOML file of keys by system title (format below).

Keys are :class:`~asyncdlms.security.hls.Secret`: their ``repr`` shows ``****``, and no
error message of this module ever contains a key.

TOML format (one table per meter, the table name is the system title in hex, 16 digits;
key values are hex, spaces and colons allowed)::

    # keys.toml
    [4B464D6750000009]
    block_cipher_key = "36C66639E48A8CA4D6BC8B282A793BBB"     # global unicast encryption key
    # (16 bytes for security suites 0 and 1; 32 bytes, 64 hex digits, for suite 2)
    authentication_key = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"   # optional (encryption-only meters)
    broadcast_key = "..."      # optional: global broadcast encryption key
    dedicated_key = "..."      # optional: a dedicated key (ded-ciphered pushes)
    # security suites 1 and 2 (general-signing, general-ciphering with agreed keys): the
    # sender's public keys, each as hex X||Y, an inline PEM public key or certificate, or
    # the path of a PEM/DER certificate or public key (relative to this file)
    signing_public_key = "certificates/meter-signing.pem"
    key_agreement_public_key = "04A1B2..."

    ["*"]                      # optional: the key set of every sender not listed
    block_cipher_key = "..."

A store for a database or a secrets manager implements :meth:`KeyStore.keys_for`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ..security.ciphering import KEY_LENGTH, SYSTEM_TITLE_LENGTH
from ..security.hls import Secret
from ..security.suites import public_key_from_bytes
from .errors import KeyStoreError

__all__ = [
    "KeySet",
    "KeyStore",
    "MemoryKeyStore",
    "PublicKeyInput",
    "TomlKeyStore",
    "parse_system_title",
    "public_key_from",
]

_KEY_NAMES = ("block_cipher_key", "authentication_key", "broadcast_key", "dedicated_key")
_PUBLIC_KEY_NAMES = ("signing_public_key", "key_agreement_public_key")
_RAW_SUITES = {64: 1, 65: 1, 96: 2, 97: 2}  # raw X||Y (or 04||X||Y) length -> suite
_WILDCARD = "*"
_SUITE_2_KEY_LENGTH = 32
_KEY_LENGTHS = (KEY_LENGTH, _SUITE_2_KEY_LENGTH)


def _secret(value: Secret | bytes | None, what: str) -> Secret | None:
    if value is None:
        return None
    secret = value if isinstance(value, Secret) else Secret(bytes(value))
    if len(secret) not in _KEY_LENGTHS:
        raise KeyStoreError(
            f"the {what} must be {KEY_LENGTH} bytes long (AES-128, security suites 0 and 1) "
            f"or {_SUITE_2_KEY_LENGTH} (AES-256, security suite 2), not {len(secret)}"
        )
    return secret


PublicKeyInput = ec.EllipticCurvePublicKey | bytes | str


def public_key_from(value: PublicKeyInput, what: str = "public key") -> ec.EllipticCurvePublicKey:
    """An elliptic-curve public key (P-256 or P-384) from a key object, raw bytes ``X || Y``
    (64 or 96 bytes, an ``04`` prefix allowed), hex text of those, or PEM text of a public
    key or an X.509 certificate; raises :class:`KeyStoreError`."""
    if isinstance(value, ec.EllipticCurvePublicKey):
        key = value
    elif isinstance(value, bytes):
        key = _raw_or_encoded(value, what)
    else:
        text = value.strip()
        if text.startswith("-----BEGIN"):
            key = _raw_or_encoded(text.encode(), what)
        else:
            try:
                raw = bytes.fromhex("".join(text.replace(":", " ").split()))
            except ValueError:
                raise KeyStoreError(f"the {what} is neither hexadecimal nor PEM") from None
            key = _raw_or_encoded(raw, what)
    if key.curve.name not in ("secp256r1", "secp384r1"):
        raise KeyStoreError(f"the {what} is on {key.curve.name}; DLMS uses P-256 and P-384")
    return key


def _raw_or_encoded(data: bytes, what: str) -> ec.EllipticCurvePublicKey:
    suite = _RAW_SUITES.get(len(data))
    if suite is not None and not data.startswith(b"-----"):
        try:
            return public_key_from_bytes(data, suite)
        except ValueError as exc:
            raise KeyStoreError(f"the {what}: {exc}") from None
    for load in range(4):
        try:
            key: object = _load(load, data)
        except (ValueError, TypeError):
            continue
        if isinstance(key, ec.EllipticCurvePublicKey):
            return key
        raise KeyStoreError(f"the {what} is not an elliptic-curve key")
    raise KeyStoreError(
        f"the {what} is neither a raw X||Y key (64 or 96 bytes) nor a PEM/DER public key or "
        "certificate"
    )


def _load(form: int, data: bytes) -> object:
    """Public key from: 0 a PEM certificate, 1 a DER certificate, 2 a PEM key, 3 a DER key."""
    if form == 0:
        return x509.load_pem_x509_certificate(data).public_key()
    if form == 1:
        return x509.load_der_x509_certificate(data).public_key()
    if form == 2:
        return serialization.load_pem_public_key(data)
    return serialization.load_der_public_key(data)


@dataclass(frozen=True, slots=True, repr=False, init=False)
class KeySet:
    """The keys of one sender.

    ``block_cipher_key`` is the global unicast encryption key (GUEK); ``authentication_key``
    the global authentication key (GAK, needed to check the tag of an authenticated push:
    security control 0x10/0x30); ``broadcast_key`` the global broadcast encryption key
    (pushes with security control 0x40); ``dedicated_key`` a dedicated key (ded-ciphered
    pushes). All are 16 bytes (AES-128: security suites 0 and 1) or all 32 bytes (AES-256:
    security suite 2, whose pushes name suite 2 in their security control byte). Bytes are
    wrapped in :class:`Secret`.

    Security suites 1 and 2: ``signing_public_key`` is the sender's ECDSA public key (its
    general-signing pushes are accepted only when they verify with it, and it checks the
    ephemeral key of a C(1e, 1s) general-ciphering push); ``key_agreement_public_key`` its
    static key agreement key (C(0e, 2s) general-ciphering). Either is given as anything
    :func:`public_key_from` takes (a key, raw ``X || Y``, PEM of a key or a certificate).
    """

    block_cipher_key: Secret | None = None
    authentication_key: Secret | None = None
    broadcast_key: Secret | None = None
    dedicated_key: Secret | None = None
    signing_public_key: ec.EllipticCurvePublicKey | None = None
    key_agreement_public_key: ec.EllipticCurvePublicKey | None = None

    def __init__(
        self,
        block_cipher_key: Secret | bytes | None = None,
        authentication_key: Secret | bytes | None = None,
        broadcast_key: Secret | bytes | None = None,
        dedicated_key: Secret | bytes | None = None,
        *,
        signing_public_key: PublicKeyInput | None = None,
        key_agreement_public_key: PublicKeyInput | None = None,
    ) -> None:
        given = (block_cipher_key, authentication_key, broadcast_key, dedicated_key)
        for name, value in zip(_KEY_NAMES, given, strict=True):
            object.__setattr__(self, name, _secret(value, name.replace("_", " ")))
        lengths = {len(getattr(self, name)) for name in _KEY_NAMES if getattr(self, name)}
        if len(lengths) > 1:
            raise KeyStoreError(
                "the keys of one sender are all 16 bytes (security suites 0 and 1) or all 32 "
                "bytes (security suite 2), not a mix"
            )
        for name, public in zip(
            _PUBLIC_KEY_NAMES, (signing_public_key, key_agreement_public_key), strict=True
        ):
            key = None if public is None else public_key_from(public, name.replace("_", " "))
            object.__setattr__(self, name, key)

    def __repr__(self) -> str:
        present = [f"{name}=****" for name in _KEY_NAMES if getattr(self, name) is not None]
        present += [
            f"{name}={getattr(self, name).curve.name}"
            for name in _PUBLIC_KEY_NAMES
            if getattr(self, name) is not None
        ]
        return f"KeySet({', '.join(present)})"

    __str__ = __repr__


def parse_system_title(text: str | bytes) -> bytes:
    """A system title from 8 bytes or 16 hex digits (spaces, colons allowed); raises
    :class:`KeyStoreError`."""
    if isinstance(text, bytes):
        title = text
    else:
        cleaned = "".join(text.replace(":", " ").split())
        try:
            title = bytes.fromhex(cleaned)
        except ValueError:
            raise KeyStoreError(f"system title {text!r} is not hexadecimal") from None
    if len(title) != SYSTEM_TITLE_LENGTH:
        raise KeyStoreError(
            f"a system title is {SYSTEM_TITLE_LENGTH} bytes (16 hex digits), not {len(title)}"
        )
    return bytes(title)


@runtime_checkable
class KeyStore(Protocol):
    """Where the receiver finds the keys of a sender."""

    def keys_for(self, system_title: bytes) -> KeySet | None:
        """The keys of the sender with this 8-byte ``system_title``, or ``None`` when the
        sender is unknown (the push is reported as rejected, not deciphered)."""
        ...


class MemoryKeyStore:
    """Key sets in memory, by system title (bytes or hex text), with an optional ``default``
    for every sender not listed."""

    __slots__ = ("_default", "_keys")

    def __init__(
        self,
        keys: Mapping[bytes | str, KeySet] | None = None,
        *,
        default: KeySet | None = None,
    ) -> None:
        self._keys: dict[bytes, KeySet] = {}
        for title, key_set in (keys or {}).items():
            self.add(title, key_set)
        self._default = default

    @classmethod
    def for_everyone(
        cls,
        block_cipher_key: Secret | bytes | None = None,
        authentication_key: Secret | bytes | None = None,
        *,
        broadcast_key: Secret | bytes | None = None,
        dedicated_key: Secret | bytes | None = None,
    ) -> MemoryKeyStore:
        """One key set for every sender (e.g. a HAN port and the keys its operator gave)."""
        return cls(
            default=KeySet(block_cipher_key, authentication_key, broadcast_key, dedicated_key)
        )

    def add(self, system_title: bytes | str, key_set: KeySet) -> None:
        """Add or replace the keys of one sender."""
        if not isinstance(key_set, KeySet):
            raise TypeError(f"expected a KeySet, not {type(key_set).__name__}")
        self._keys[parse_system_title(system_title)] = key_set

    def keys_for(self, system_title: bytes) -> KeySet | None:
        """See :meth:`KeyStore.keys_for`."""
        return self._keys.get(bytes(system_title), self._default)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        default = ", default=KeySet(****)" if self._default is not None else ""
        return f"MemoryKeyStore({len(self._keys)} senders{default})"


def _parse_key(path: Path, entry: str, name: str, value: object) -> Secret:
    where = f"{path}: [{entry}] {name}"
    if not isinstance(value, str):
        raise KeyStoreError(f"{where} must be a string of hex digits")
    cleaned = "".join(value.replace(":", " ").split())
    try:
        key = bytes.fromhex(cleaned)
    except ValueError:
        raise KeyStoreError(f"{where} is not hexadecimal") from None
    if len(key) not in _KEY_LENGTHS:
        raise KeyStoreError(
            f"{where} must be {KEY_LENGTH} bytes ({2 * KEY_LENGTH} hex digits; security suites "
            f"0 and 1) or {_SUITE_2_KEY_LENGTH} ({2 * _SUITE_2_KEY_LENGTH} hex digits; suite 2), "
            f"not {len(key)}"
        )
    return Secret(key)


def _parse_public_key(
    path: Path, entry: str, name: str, value: object
) -> ec.EllipticCurvePublicKey:
    where = f"{path}: [{entry}] {name}"
    if not isinstance(value, str):
        raise KeyStoreError(f"{where} must be a string (hex, PEM or a file name)")
    text = value.strip()
    source: str | bytes = text
    if not text.startswith("-----BEGIN"):
        try:
            bytes.fromhex("".join(text.replace(":", " ").split()))
        except ValueError:  # not hex: the name of a certificate or key file
            file = (path.parent / text).expanduser()
            try:
                source = file.read_bytes()
            except OSError as exc:
                raise KeyStoreError(f"{where}: cannot read {file}: {exc.strerror}") from None
    try:
        return public_key_from(source, name.replace("_", " "))
    except KeyStoreError as exc:
        raise KeyStoreError(f"{where}: {exc}") from None


class TomlKeyStore(MemoryKeyStore):
    """Key sets read from a TOML file (see the module documentation for the format).

    Raises :class:`KeyStoreError` naming the file and the entry for anything wrong (never the
    key). :meth:`reload` reads the file again (e.g. after a meter was added).
    """

    __slots__ = ("_path",)

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self._path = Path(path)
        self.reload()

    @property
    def path(self) -> Path:
        """The file."""
        return self._path

    def reload(self) -> None:
        """Read the file again; on error the keys read before are kept."""
        path = self._path
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise KeyStoreError(f"cannot read the key file {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise KeyStoreError(f"the key file {path} is not UTF-8 text") from None
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            # the parser's message names a line and column, never the value
            raise KeyStoreError(f"the key file {path} is not valid TOML: {exc}") from None
        keys: dict[bytes, KeySet] = {}
        default: KeySet | None = None
        for entry, table in document.items():
            if not isinstance(table, dict):
                raise KeyStoreError(
                    f"{path}: {entry!r} must be a table [SYSTEM_TITLE] of keys, not a value"
                )
            known = _KEY_NAMES + _PUBLIC_KEY_NAMES
            unknown = sorted(set(table) - set(known))
            if unknown:
                raise KeyStoreError(
                    f"{path}: [{entry}] has unknown entries {', '.join(unknown)} "
                    f"(known: {', '.join(known)})"
                )
            secrets = {
                name: _parse_key(path, entry, name, value)
                for name, value in table.items()
                if name in _KEY_NAMES
            }
            publics = {
                name: _parse_public_key(path, entry, name, value)
                for name, value in table.items()
                if name in _PUBLIC_KEY_NAMES
            }
            try:
                key_set = KeySet(
                    secrets.get("block_cipher_key"),
                    secrets.get("authentication_key"),
                    secrets.get("broadcast_key"),
                    secrets.get("dedicated_key"),
                    signing_public_key=publics.get("signing_public_key"),
                    key_agreement_public_key=publics.get("key_agreement_public_key"),
                )
            except KeyStoreError as exc:
                raise KeyStoreError(f"{path}: [{entry}]: {exc}") from None
            if entry == _WILDCARD:
                default = key_set
                continue
            try:
                title = parse_system_title(entry)
            except KeyStoreError as exc:
                raise KeyStoreError(f"{path}: [{entry}]: {exc}") from None
            if title in keys:
                raise KeyStoreError(f"{path}: system title [{entry}] is listed twice")
            keys[title] = key_set
        self._keys = keys
        self._default = default

    def __repr__(self) -> str:
        return f"TomlKeyStore({str(self._path)!r}, {len(self._keys)} senders)"
