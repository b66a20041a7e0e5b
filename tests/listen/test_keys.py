"""Key stores: in memory, one set for everyone, TOML files; keys never printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from asyncdlms.listen import KeySet, KeyStore, KeyStoreError, MemoryKeyStore, TomlKeyStore
from asyncdlms.security.hls import Secret

TITLE = "4B464D6750000009"
KEY = "36C66639E48A8CA4D6BC8B282A793BBB"
AUTH = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"


def test_memory_store_by_title_and_default() -> None:
    key_set = KeySet(bytes.fromhex(KEY))
    store = MemoryKeyStore({TITLE: key_set})
    assert isinstance(store, KeyStore)
    assert store.keys_for(bytes.fromhex(TITLE)) is key_set
    assert store.keys_for(bytes(8)) is None
    everyone = MemoryKeyStore.for_everyone(bytes.fromhex(KEY), bytes.fromhex(AUTH))
    found = everyone.keys_for(bytes(8))
    assert found is not None and found.block_cipher_key == Secret(bytes.fromhex(KEY))
    assert found.authentication_key == Secret(bytes.fromhex(AUTH))


def test_keys_are_never_shown() -> None:
    key_set = KeySet(Secret(bytes.fromhex(KEY)), Secret(bytes.fromhex(AUTH)))
    text = repr(key_set) + str(key_set) + repr(MemoryKeyStore({TITLE: key_set}))
    assert KEY.lower() not in text.lower() and AUTH.lower() not in text.lower()
    assert "****" in repr(key_set)


def test_a_key_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(KeyStoreError, match="16 bytes"):
        KeySet(bytes(15))


def test_toml_store(tmp_path: Path) -> None:
    path = tmp_path / "keys.toml"
    path.write_text(
        f'[{TITLE}]\nblock_cipher_key = "{KEY}"\nauthentication_key = "{AUTH}"\n\n'
        f'["*"]\nblock_cipher_key = "{AUTH}"\n'
    )
    store = TomlKeyStore(path)
    found = store.keys_for(bytes.fromhex(TITLE))
    assert found is not None and found.block_cipher_key == Secret(bytes.fromhex(KEY))
    fallback = store.keys_for(bytes(8))
    assert fallback is not None and fallback.block_cipher_key == Secret(bytes.fromhex(AUTH))
    assert fallback.authentication_key is None
    assert str(path) in repr(store) and KEY not in repr(store)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (
            f'[{TITLE}]\nblock_cipher_key = "{KEY[:-2]}"\n',
            rf"\[{TITLE}\] block_cipher_key must be 16",
        ),
        (f'[{TITLE}]\nblock_cipher_key = "{KEY[:-1]}Z"\n', "not hexadecimal"),
        (f'[{TITLE}]\nblock_ciper_key = "{KEY}"\n', "unknown entries block_ciper_key"),
        (f'[0102]\nblock_cipher_key = "{KEY}"\n', r"\[0102\].*8 bytes"),
        (f'key = "{KEY}"\n', "must be a table"),
        ("[broken\n", "not valid TOML"),
    ],
)
def test_toml_errors_name_file_and_entry_never_the_key(
    tmp_path: Path, text: str, match: str
) -> None:
    path = tmp_path / "keys.toml"
    path.write_text(text)
    with pytest.raises(KeyStoreError, match=match) as info:
        TomlKeyStore(path)
    assert str(path) in str(info.value)
    assert KEY[:-2].lower() not in str(info.value).lower()


def test_missing_toml_file(tmp_path: Path) -> None:
    with pytest.raises(KeyStoreError, match="cannot read the key file"):
        TomlKeyStore(tmp_path / "absent.toml")
