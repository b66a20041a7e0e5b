"""One atheris (libFuzzer) run of one target, in its own process (atheris ends the process
when it stops). Started by :mod:`tests.fuzz.__main__` and the CI test::

    python -m tests.fuzz.atheris_worker TARGET DEADLINE WORKDIR [MAX_LEN]

DEADLINE is a ``time.time()`` value: the run ends then, its start-up included.

Seeds go to WORKDIR/seeds, the growing corpus to WORKDIR/corpus, a finding to
WORKDIR/crash-*. libFuzzer's status lines (``cov: N ft: M corp: ...``) go to stderr.
"""

from __future__ import annotations

import importlib.util
import sys
import time
import tracemalloc
from pathlib import Path

import atheris  # type: ignore[import-not-found]

# The modules whose code each target exercises: only they are instrumented (instrumenting
# all of asyncdlms takes several seconds of a short run, and would count edges the target
# never means to reach).
INSTRUMENTED = {
    "axdr": ("asyncdlms.axdr", "asyncdlms.types"),
    "hdlc_frame": ("asyncdlms.hdlc.frames", "asyncdlms.hdlc.addresses", "asyncdlms.hdlc.crc"),
    "hdlc_splitter": (
        "asyncdlms.hdlc.splitter",
        "asyncdlms.hdlc.frames",
        "asyncdlms.hdlc.addresses",
        "asyncdlms.hdlc.crc",
    ),
    "wrapper": ("asyncdlms.wrapper.frames",),
    "apdu": ("asyncdlms.apdu", "asyncdlms.axdr"),
    "acse": ("asyncdlms.apdu.acse", "asyncdlms.apdu.ber", "asyncdlms.apdu.initiate"),
    "ciphered": ("asyncdlms.security.ciphering", "asyncdlms.apdu"),
    "profile": ("asyncdlms.cosem.profile", "asyncdlms.axdr", "asyncdlms.types.clock"),
    "iec62056_21": ("asyncdlms.iec62056_21",),
    "push": ("asyncdlms.listen", "asyncdlms.apdu.notification", "asyncdlms.security.ciphering"),
    "mbus": ("asyncdlms.listen.mbus",),
    "cli_decode": (
        "asyncdlms.cli.decode",
        "asyncdlms.apdu",
        "asyncdlms.axdr",
        "asyncdlms.hdlc.splitter",
        "asyncdlms.hdlc.frames",
        "asyncdlms.wrapper.frames",
    ),
}


def _not_instrumented(name: str) -> list[str]:
    """Every asyncdlms module outside the target's list (found without importing any)."""
    spec = importlib.util.find_spec("asyncdlms")
    assert spec is not None and spec.submodule_search_locations
    root = Path(next(iter(spec.submodule_search_locations)))
    modules = []
    for path in root.rglob("*.py"):
        parts = ("asyncdlms", *path.relative_to(root).with_suffix("").parts)
        modules.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    keep = INSTRUMENTED.get(name, ("asyncdlms",))
    return [m for m in modules if not any(m == k or m.startswith(k + ".") for k in keep)]


with atheris.instrument_imports(include=["asyncdlms"], exclude=_not_instrumented(sys.argv[1])):
    import asyncdlms  # noqa: F401
    from asyncdlms import apdu, axdr, cli, cosem, hdlc, iec62056_21, security, wrapper  # noqa: F401

from .harness import TARGETS, check, seeds  # noqa: E402


def main() -> None:
    name, deadline, workdir = sys.argv[1], float(sys.argv[2]), Path(sys.argv[3])
    seconds = max(int(deadline - time.time()), 3)  # the start-up counts in the budget
    max_len = int(sys.argv[4]) if len(sys.argv) > 4 else 4096
    target = TARGETS[name]
    seed_dir = workdir / "seeds"
    corpus = workdir / "corpus"
    seed_dir.mkdir(parents=True, exist_ok=True)
    corpus.mkdir(parents=True, exist_ok=True)
    for index, data in enumerate(seeds(target)):
        (seed_dir / f"seed-{index:05d}").write_bytes(data)

    def test_one_input(data: bytes) -> None:
        check(target, data)

    tracemalloc.start()
    atheris.Setup(
        [
            sys.argv[0],
            f"-max_total_time={seconds}",
            f"-max_len={max_len}",
            f"-artifact_prefix={workdir}/",
            "-timeout=30",
            "-rss_limit_mb=3072",
            "-print_final_stats=1",
            str(corpus),
            str(seed_dir),
        ],
        test_one_input,
    )
    atheris.Fuzz()


if __name__ == "__main__":
    main()
