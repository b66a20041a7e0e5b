"""Running the targets: atheris (coverage-guided, one process per target) when it is
installed, else a seeded random mutation fuzzer in this process (no coverage guidance)."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .harness import TARGETS, Finding, check, save_regression, seeds

REPO = Path(__file__).resolve().parents[2]
_STATUS = re.compile(r"cov: (\d+) ft: (\d+) corp: (\d+)/")
_RUNS = re.compile(r"stat::number_of_executed_units: (\d+)")


def atheris_available() -> bool:
    try:
        import atheris  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class RunResult:
    """What one target's run reached."""

    target: str
    engine: str
    seconds: float
    runs: int = 0
    edges: int | None = None  # libFuzzer "cov": edges of asyncdlms code reached
    features: int | None = None
    corpus: int | None = None
    findings: list[tuple[Path, str]] = field(default_factory=list)


def run_atheris(name: str, seconds: int, *, max_len: int = 4096, keep: bool = True) -> RunResult:
    """Fuzz one target with atheris for ``seconds``; a finding is saved as a regression case
    (``keep``) and the target run again for the time left, at most three findings."""
    result = RunResult(name, "atheris", seconds)
    deadline = time.time() + seconds
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with tempfile.TemporaryDirectory(prefix=f"fuzz-{name}-") as workdir:
        while len(result.findings) < 3:
            left = int(deadline - time.time())
            if left < 4:
                break
            process = subprocess.run(
                [sys.executable, "-m", "tests.fuzz.atheris_worker", name, str(deadline),
                 workdir, str(max_len)],
                cwd=REPO, env=env, capture_output=True, text=True, errors="replace",
                timeout=left + 120,
            )  # fmt: skip
            log = process.stderr
            statuses = _STATUS.findall(log)
            if statuses:
                edges, features, corpus = (int(x) for x in statuses[-1])
                result.edges = max(result.edges or 0, edges)
                result.features = max(result.features or 0, features)
                result.corpus = corpus
            result.runs += sum(int(x) for x in _RUNS.findall(log))
            crashes = sorted(Path(workdir).glob("crash-*")) + sorted(Path(workdir).glob("oom-*"))
            crashes += sorted(Path(workdir).glob("timeout-*"))
            if process.returncode == 0 and not crashes:
                break
            if not crashes:
                message = log[-2000:]
                result.findings.append((Path(workdir) / "no-artifact", message))
                break
            for crash in crashes:
                data = crash.read_bytes()
                message = _replay(name, data) or _finding_message(log)
                path = save_regression(name, data) if keep else crash
                result.findings.append((path, message))
                crash.unlink()
    return result


def _replay(name: str, data: bytes) -> str | None:
    """The harness's own account of a finding, from running it again in this process."""
    try:
        check(TARGETS[name], data)
    except Finding as finding:
        return str(finding)
    return None


def _finding_message(log: str) -> str:
    for marker in ("=== Uncaught Python exception: ===", "ERROR: libFuzzer"):
        if marker in log:
            return log[log.index(marker) :][:1500]
    return log[-1500:]


def _mutate(rng: random.Random, data: bytes, pool: list[bytes]) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choice = rng.randrange(6)
        position = rng.randrange(len(buf) + 1)
        if choice == 0 and buf:
            buf[min(position, len(buf) - 1)] ^= 1 << rng.randrange(8)
        elif choice == 1 and buf:
            buf[min(position, len(buf) - 1)] = rng.choice((0, 0x7F, 0x80, 0xFF, rng.randrange(256)))
        elif choice == 2:
            buf[position:position] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif choice == 3 and buf:
            del buf[position : position + rng.randint(1, 8)]
        elif choice == 4 and pool:
            other = rng.choice(pool)
            start = rng.randrange(len(other) + 1)
            buf[position:position] = other[start : start + rng.randint(1, 32)]
        elif choice == 5:
            buf = buf[:position]
    return bytes(buf[:4096])


def run_mutation(name: str, seconds: float, *, seed: int = 0, keep: bool = True) -> RunResult:
    """Fuzz one target in this process with random mutations of its seeds."""
    target = TARGETS[name]
    result = RunResult(name, "mutation", seconds)
    pool = seeds(target) or [b""]
    rng = random.Random(seed)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and len(result.findings) < 3:
        data = _mutate(rng, rng.choice(pool), pool)
        result.runs += 1
        try:
            check(target, data)
        except Finding as finding:
            path = save_regression(name, data) if keep else Path("-")
            result.findings.append((path, str(finding)))
    return result


def run(name: str, seconds: int, *, engine: str = "auto", keep: bool = True) -> RunResult:
    if engine == "atheris" or (engine == "auto" and atheris_available()):
        return run_atheris(name, seconds, keep=keep)
    return run_mutation(name, seconds, keep=keep)
