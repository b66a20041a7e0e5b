"""One atheris (libFuzzer) run of one target, in its own process (atheris ends the process
when it stops). Started by :mod:`tests.fuzz.__main__` and the CI test::

    python -m tests.fuzz.atheris_worker TARGET SECONDS WORKDIR [MAX_LEN]

Seeds go to WORKDIR/seeds, the growing corpus to WORKDIR/corpus, a finding to
WORKDIR/crash-*. libFuzzer's status lines (``cov: N ft: M corp: ...``) go to stderr.
"""

from __future__ import annotations

import sys
import tracemalloc
from pathlib import Path

import atheris  # type: ignore[import-not-found]

with atheris.instrument_imports(include=["asyncdlms"]):
    import asyncdlms  # noqa: F401
    from asyncdlms import apdu, axdr, cli, hdlc, iec62056_21, security, wrapper  # noqa: F401

from .harness import TARGETS, check, seeds


def main() -> None:
    name, seconds, workdir = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
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
