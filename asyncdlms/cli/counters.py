"""Where the command line keeps its invocation counters (``--counter-store``).

Every command that may cipher draws its counters from one durable store, so that no two runs
of ``asyncdlms`` — one after the other, at the same time, after a crash — ever send two APDUs
with one nonce: by default :func:`~asyncdlms.security.default_counter_store_path` (under
``$XDG_STATE_HOME``, else ``~/.local/state``), ``--counter-store PATH`` for another file (the
``ASYNCDLMS_COUNTER_STORE`` variable likewise; a fleet file may name one too), and
``--counter-store memory`` to keep them in the process only, with a warning.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..security.counters import (
    FileInvocationCounterStore,
    InvocationCounterStore,
    MemoryInvocationCounterStore,
    default_counter_store_path,
    set_default_invocation_counter_store,
)

__all__ = ["MEMORY", "add_counter_store_option", "counter_store"]

MEMORY = "memory"
"""The ``--counter-store`` value that keeps the counters in the process only."""

_MEMORY_WARNING = (
    "warning: --counter-store memory: invocation counters are kept in this process only; "
    "a later run with the same keys starts below the counters used now and reuses nonces "
    "unless the meter's frame counter is read first (--read-frame-counter)"
)


def add_counter_store_option(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
) -> None:
    """Add ``--counter-store`` (its help names where the store is now)."""
    parser.add_argument(
        "--counter-store",
        default=os.environ.get("ASYNCDLMS_COUNTER_STORE"),
        metavar="PATH|memory",
        help="where our invocation counters are kept so that no nonce is ever used twice, "
        f"across runs and processes (default: {default_counter_store_path()}, or "
        "ASYNCDLMS_COUNTER_STORE); 'memory' keeps them in this run only (not safe with "
        "ciphering unless the frame counter is read first)",
    )


@contextmanager
def counter_store(
    args: argparse.Namespace, fleet_store: str | os.PathLike[str] | None = None
) -> Iterator[InvocationCounterStore]:
    """Install the store ``args`` (or else the fleet file, or else the default) names as the
    process's store for the command's duration; received counters are written at the end."""
    chosen = getattr(args, "counter_store", None) or fleet_store
    if chosen is not None and str(chosen) == MEMORY:
        print(_MEMORY_WARNING, file=sys.stderr)
        memory = MemoryInvocationCounterStore()
        previous = set_default_invocation_counter_store(memory)
        try:
            yield memory
        finally:
            set_default_invocation_counter_store(previous)
        return
    path = Path(chosen) if chosen is not None else default_counter_store_path()
    store = FileInvocationCounterStore(path.expanduser())
    previous = set_default_invocation_counter_store(store)
    try:
        yield store
    finally:
        set_default_invocation_counter_store(previous)
        store.close()
