"""``python -m tests.faults``: the fault matrix with more associations, and fleet cycles,
printed as the README's tables (see tests/faults/run.py).

    python -m tests.faults --associations 100 --meters 48 --seed 1
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter

from .proxy import KINDS
from .run import fleet_cycle, run_matrix, table


async def main(associations: int, meters: int, seed: int) -> None:
    if associations:
        started = time.monotonic()
        results = await run_matrix(associations=associations, seed=seed)
        print(table(results))
        elapsed = time.monotonic() - started
        print(f"\n({associations} associations per row, seed {seed}, {elapsed:.0f} s)\n")
    print("| link | faults (all kinds mixed) | meters | ok | retried | failed: step, cause |")
    print("| --- | --- | ---: | ---: | ---: | --- |")
    for hdlc in (False, True):
        kinds = KINDS if hdlc else tuple(kind for kind in KINDS if kind != "corrupt")
        for rate in (0.01, 0.05):
            clean, faulty, _ = await fleet_cycle(meters, hdlc, rate, kinds, seed)
            wrong = [
                name
                for name, result in faulty.items()
                if result.ok and result.values() != clean[name].values()
            ]
            assert not wrong, f"wrong values: {wrong}"
            causes = Counter(
                f"{result.failure.step}: {type(result.failure.error).__name__}"
                for result in faulty.values()
                if result.failure is not None
            )
            failed = ", ".join(f"{cause} ×{count}" for cause, count in causes.most_common()) or "–"
            link = "hdlc" if hdlc else "wrapper"
            ok = sum(result.ok for result in faulty.values())
            retried = sum(result.ok and result.attempts > 1 for result in faulty.values())
            print(f"| {link} | {rate:.0%} | {len(faulty)} | {ok} | {retried} | {failed} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m tests.faults", description=__doc__)
    parser.add_argument(
        "--associations", type=int, default=100, help="per row (default 100; 0: the fleet only)"
    )
    parser.add_argument("--meters", type=int, default=48, help="of the fleet cycle (48)")
    parser.add_argument("--seed", type=int, default=1)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.associations, arguments.meters, arguments.seed))
