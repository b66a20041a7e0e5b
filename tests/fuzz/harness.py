"""The checks every fuzz input goes through, the seeds, and the regression corpus.

An input passes when its target returns or raises an :class:`asyncdlms.errors.DlmsError`,
within a time and an allocation budget proportional to its length::

    elapsed    <= TIME_BASE + TIME_PER_BYTE * len(data)
    peak alloc <= MEMORY_BASE + MEMORY_PER_BYTE * len(data)      (tracemalloc)

The constants are generous (a loaded 2-core machine, tracemalloc and coverage
instrumentation all slow a call down) and an input over budget is run twice more, keeping the
smallest figures, so that a pause of the machine or a first-call import is not a finding. The
compact-array amplifier of issue 13 (11 bytes, 4.8 MB) is one by a factor of eight.
"""

from __future__ import annotations

import hashlib
import json
import time
import traceback
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

from asyncdlms.errors import DlmsError
from asyncdlms.hdlc import FrameSplitter
from asyncdlms.hdlc.frames import strip_llc_header
from asyncdlms.wrapper.frames import WrapperSplitter

from .targets import TARGETS, Target

TIME_BASE = 0.5  # seconds
TIME_PER_BYTE = 200e-6  # seconds per input byte
MEMORY_BASE = 512 * 1024  # bytes
MEMORY_PER_BYTE = 4096  # bytes per input byte

HERE = Path(__file__).resolve().parent
REGRESSIONS = HERE / "regressions"
SHARED = HERE.parents[1] / ".." / "shared"
VECTORS = SHARED / "vectors" / "dlms-vectors.json"
CAPTURES = SHARED / "captures" / "han-pushes.json"


class Finding(AssertionError):
    """An input a decoder does not handle as it must."""

    def __init__(self, target: str, data: bytes, problem: str) -> None:
        super().__init__(f"{target}: {problem}\n  input ({len(data)} bytes): {data[:64].hex()}")
        self.target = target
        self.data = data
        self.problem = problem


def budget(data: bytes) -> tuple[float, int]:
    """The (seconds, bytes) an input of this length may take."""
    return TIME_BASE + TIME_PER_BYTE * len(data), MEMORY_BASE + MEMORY_PER_BYTE * len(data)


def _measure(target: Target, data: bytes) -> tuple[float, int, BaseException | None]:
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    error: BaseException | None = None
    start = time.perf_counter()
    try:
        target.run(data)
    except DlmsError:
        pass
    except Exception as exc:  # anything else is what the fuzzer looks for
        error = exc
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] - before
    return elapsed, peak, error


def check(target: Target, data: bytes) -> None:
    """Run one input; raise :class:`Finding` when it breaks the contract."""
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        elapsed, peak, error = _measure(target, data)
        if error is not None:
            trace = "".join(traceback.format_exception(error)[-6:])
            raise Finding(target.name, data, f"{type(error).__name__}: {error}\n{trace}")
        seconds, memory = budget(data)
        for _ in range(2):
            if elapsed <= seconds and peak <= memory:
                return
            again_elapsed, again_peak, _ = _measure(target, data)
            elapsed, peak = min(elapsed, again_elapsed), min(peak, again_peak)
        if elapsed > seconds:
            raise Finding(
                target.name, data, f"took {elapsed:.3f} s, budget {seconds:.3f} s for its length"
            )
        if peak > memory:
            raise Finding(
                target.name, data, f"allocated {peak} bytes, budget {memory} bytes for its length"
            )
    finally:
        if started:
            tracemalloc.stop()


# ---------------------------------------------------------------------------------------------
# seeds


def _json(path: Path) -> dict[str, object] | None:
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


def _apdus_in(frame_bytes: bytes) -> Iterator[bytes]:
    """The APDUs carried by HDLC or wrapper frames (for seeding the APDU targets)."""
    if frame_bytes[:1] == b"\x7e":
        for frame in FrameSplitter().feed(frame_bytes):
            if frame.information:
                try:
                    yield strip_llc_header(frame.information)
                except DlmsError:
                    yield frame.information
    elif frame_bytes[:2] == b"\x00\x01":
        try:
            for wrapped in WrapperSplitter().feed(frame_bytes):
                yield wrapped.apdu
        except DlmsError:
            return


def shared_seed_files_present() -> bool:
    return VECTORS.is_file() or CAPTURES.is_file()


def seeds(target: Target) -> list[bytes]:
    """The seeds of a target: vectors and captures of its layers (when ../shared is there),
    its built-in seeds and its regression cases, each with every prefix the target reads."""
    raw: list[bytes] = list(target.builtin_seeds)
    vectors = _json(VECTORS)
    frames: list[bytes] = []
    if vectors is not None:
        for entry in vectors.get("vectors", []):  # type: ignore[union-attr]
            layer, text = entry.get("layer"), entry.get("hex")
            if not isinstance(text, str):
                continue
            data = bytes.fromhex(text)
            if layer in target.seed_layers:
                raw.append(data)
            if layer in ("hdlc", "wrapper"):
                frames.append(data)
    captures = _json(CAPTURES)
    if captures is not None:
        for case in captures.get("cases", []):  # type: ignore[union-attr]
            kind, text = case.get("kind"), case.get("hex")
            if not isinstance(text, str):
                continue
            data = bytes.fromhex(text)
            if kind in target.seed_kinds:
                raw.append(data)
            if kind == "hdlc-frame":
                frames.append(data)
    if target.apdus_from_frames:
        raw += [apdu for frame in frames for apdu in _apdus_in(frame)]
    prefixed = [p + data for data in raw for p in target.prefixes] if target.prefixes else raw
    unique = list(dict.fromkeys(prefixed))
    return unique + regression_cases(target.name)


# ---------------------------------------------------------------------------------------------
# regression corpus


def regression_cases(name: str) -> list[bytes]:
    folder = REGRESSIONS / name
    if not folder.is_dir():
        return []
    return [path.read_bytes() for path in sorted(folder.iterdir()) if path.suffix == ".bin"]


def save_regression(name: str, data: bytes) -> Path:
    """Keep a finding as a regression case (``regressions/<target>/<sha1>.bin``)."""
    folder = REGRESSIONS / name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha1(data).hexdigest()[:16]}.bin"
    path.write_bytes(data)
    return path


__all__ = ["TARGETS", "Finding", "budget", "check", "save_regression", "seeds"]
