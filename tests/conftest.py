"""Shared test helpers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

# Wall-clock limits are no property of a codec: on a loaded machine (CI, parallel jobs) they
# fail for the wrong reason, so the default 200 ms deadline and the too-slow check are off.
hypothesis_settings.register_profile(
    "asyncdlms", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("asyncdlms")

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


GURUX_METER = SHARED / "peers" / "gurux_meter.py"


def load_gurux_meter() -> Any:
    """The gurux-based meter peer of ../shared/peers (skips when it or gurux-dlms is absent).

    It patches gurux-dlms at import and reads its own source with inspect, so it must be
    loaded once per process, under one name, whichever test module needs it first.
    """
    import importlib.util
    import sys

    pytest.importorskip("gurux_dlms")
    name = "gurux_meter_peer"
    if name in sys.modules:
        return sys.modules[name]
    if not GURUX_METER.exists():
        pytest.skip("../shared/peers/gurux_meter.py is absent")
    spec = importlib.util.spec_from_file_location(name, GURUX_METER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


@pytest.fixture(autouse=True)
def _fresh_process_counters(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Any:
    """Each test runs as a fresh process would: a new process-wide invocation counter store
    (the meters each test starts are new too, and reuse their system titles and keys), and
    the command line's durable store under a temporary XDG state directory, never the
    user's."""
    from asyncdlms.security import set_default_invocation_counter_store

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))
    previous = set_default_invocation_counter_store(None)
    yield
    set_default_invocation_counter_store(previous)
