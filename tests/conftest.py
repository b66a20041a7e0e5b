"""Shared test helpers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
VECTORS_FILE = SHARED / "vectors" / "dlms-vectors.json"


def load_vectors(layer: str | None = None) -> list[dict[str, Any]]:
    """Vectors of ../shared/vectors/dlms-vectors.json (see NOTICE.md there), by layer."""
    if not VECTORS_FILE.exists():
        pytest.skip("../shared/vectors is absent")
    vectors: list[dict[str, Any]] = json.loads(VECTORS_FILE.read_text())["vectors"]
    return [v for v in vectors if layer is None or v["layer"] == layer]


def vector(vector_id: str) -> dict[str, Any]:
    """One vector by id; the test skips when ../shared is absent."""
    for v in load_vectors():
        if v["id"] == vector_id:
            return v
    raise KeyError(vector_id)
