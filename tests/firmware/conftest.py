"""The store fixtures of tests/store (SQLite, and PostgreSQL on a throw-away cluster), and
image builders for the simulator's Image transfer object (it verifies a self-checking
:func:`~asyncdlms.cosem.image_transfer.firmware_image`)."""

from __future__ import annotations

import os

from asyncdlms.cosem.image_transfer import firmware_image
from tests.store.conftest import postgres_cluster, postgres_url, store_url

__all__ = ["image_of", "image_of_blocks", "postgres_cluster", "postgres_url", "store_url"]

_HEADER = 4 + 1 + 4 + 32
"""Bytes of a firmware_image around its identifier and payload (magic, identifier length,
payload length, SHA-256)."""


def image_of(identifier: bytes | str, size: int) -> bytes:
    """A random image of exactly ``size`` bytes the simulator verifies for ``identifier``."""
    name = identifier.encode() if isinstance(identifier, str) else identifier
    image = firmware_image(name, os.urandom(size - _HEADER - len(name)))
    assert len(image) == size
    return image


def image_of_blocks(identifier: bytes | str, blocks: int, block_size: int) -> bytes:
    """A random image of exactly ``blocks`` full blocks of ``block_size`` bytes."""
    return image_of(identifier, blocks * block_size)
