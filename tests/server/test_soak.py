"""A short soak (1 000 associations in waves of 250 and 100 kept open with keep-alive): file
descriptors, asyncio tasks, Python objects, traced heap and RSS back at their baseline within
the tolerances stated in :mod:`tests.soak` (``python -m tests.soak`` for the full run)."""

from __future__ import annotations

import sys
import tracemalloc

import pytest

from tests.soak import problems, soak


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self")
async def test_a_short_soak_leaves_nothing_behind() -> None:
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    try:
        baseline, after, result = await soak(1000, 100, 250, inactivity=4.0, keep_alive=1.5)
    finally:
        if not tracing:
            tracemalloc.stop()
    print(f"\nbaseline: {baseline}\nafter:    {after}")
    assert result.associations == 1000 and result.failures == 0
    assert result.kept_alive == 100
    assert problems(baseline, after) == []
