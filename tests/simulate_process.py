"""``asyncdlms simulate`` in a subprocess of the tree under test, for command-line tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def simulate(*options: str, duration: float = 300) -> Iterator[str]:
    """Run ``asyncdlms simulate --port 0 OPTIONS`` (this tree's package) until the block ends;
    yield the URL of meter 0 (with ``--shared-port``, every meter's)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "asyncdlms", "simulate", "--port", "0",
         "--duration", str(duration), *options],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert process.stdout is not None
    try:
        line = process.stdout.readline()
        assert line.startswith("meter 0: tcp://"), f"asyncdlms simulate said {line!r}"
        yield line.split()[2]
    finally:
        process.terminate()
        process.wait(timeout=10)
