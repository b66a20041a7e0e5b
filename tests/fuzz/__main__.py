"""``python -m tests.fuzz --minutes 30``: fuzz every target, the time split between them.

Findings are saved under tests/fuzz/regressions/<target>/ (commit them with the fix; the
pytest suite replays them every time). Prints the coverage each target reached.
"""

from __future__ import annotations

import argparse
import json
import sys

from .engine import atheris_available, run
from .harness import TARGETS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__)
    parser.add_argument("--minutes", type=float, default=5.0, help="total time (default 5)")
    parser.add_argument(
        "--targets", nargs="+", choices=sorted(TARGETS), default=list(TARGETS), metavar="TARGET"
    )
    parser.add_argument("--engine", choices=("auto", "atheris", "mutation"), default="auto")
    parser.add_argument("--report", help="write the per-target results as JSON here")
    args = parser.parse_args(argv)
    if args.engine == "atheris" and not atheris_available():
        parser.error("atheris is not installed (pip install atheris)")
    per_target = max(int(args.minutes * 60 / len(args.targets)), 5)
    print(f"{len(args.targets)} targets, {per_target} s each", flush=True)
    results = []
    for name in args.targets:
        result = run(name, per_target, engine=args.engine)
        results.append(result)
        edges = "-" if result.edges is None else str(result.edges)
        print(
            f"{name:14} {result.engine:8} runs {result.runs:>9}  edges {edges:>5}  "
            f"corpus {result.corpus or '-':>5}  findings {len(result.findings)}",
            flush=True,
        )
        for path, message in result.findings:
            print(f"  finding kept as {path}\n    " + message.replace("\n", "\n    ")[:1500])
    if args.report:
        with open(args.report, "w") as out:
            json.dump(
                [
                    {
                        "target": r.target, "engine": r.engine, "seconds": r.seconds,
                        "runs": r.runs, "edges": r.edges, "features": r.features,
                        "corpus": r.corpus, "findings": [str(p) for p, _ in r.findings],
                    }
                    for r in results
                ],
                out, indent=1,
            )  # fmt: skip
    return 1 if any(r.findings for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
