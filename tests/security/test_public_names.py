"""``asyncdlms.security`` re-exports the public names of its modules (suites, certificates,
general protection, key agreement), each the very object of its module."""

from __future__ import annotations

import importlib

import pytest

import asyncdlms.security as security

MODULES = [
    "ciphering",
    "counters",
    "exceptions",
    "gmac",
    "hls",
    "keys",
    "suites",
    "certificates",
    "general",
    "key_agreement",
    "signing_protection",
    "ciphering_protection",
]


@pytest.mark.parametrize("name", MODULES)
def test_every_public_name_of_the_module_is_re_exported(name: str) -> None:
    module = importlib.import_module(f"asyncdlms.security.{name}")
    public = getattr(module, "__all__", None)
    assert public, f"asyncdlms.security.{name} has no __all__"
    missing = [item for item in public if item not in security.__all__]
    assert not missing
    for item in public:
        assert getattr(security, item) is getattr(module, item), item


def test_all_lists_only_existing_names_once() -> None:
    assert len(set(security.__all__)) == len(security.__all__)
    for item in security.__all__:
        assert hasattr(security, item), item
