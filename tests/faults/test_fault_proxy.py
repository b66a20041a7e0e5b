"""The client and the fleet poller through a line that drops, duplicates, delays, reorders,
corrupts and truncates frames and closes connections mid-APDU (tests/faults/proxy.py), at
1 % and 5 % of the frames, seeded, over the wrapper and HDLC, against the simulator.

Every call gives the simulator's true value or a typed DlmsError within its timeout plus a
margin, and the close after it is bounded too; a fleet cycle gives every meter exactly one
outcome, ok with the true values or failed with a step and a typed cause. The one thing no
client can catch: a bit flipped inside a wrapper frame's value (the wrapper carries no check
sequence; TCP's own checksum and authenticated ciphering are what protect it), so a wrong
value is tolerated there and only there: with authenticated encryption (the ``wrapper + ae``
rows) the flipped bit is a typed AuthenticationTagError too.

A short matrix here; ``python -m tests.faults`` runs the long one for the README's table.
"""

from __future__ import annotations

import pytest

from asyncdlms.errors import DlmsError

from .proxy import KINDS, FaultPlan
from .run import Cell, fleet_cycle, run_matrix, table


def undetectable(cell: Cell) -> bool:
    """A flipped bit in a wrapper frame can land in a value: nothing below the application
    can see it without ciphering (HDLC's FCS catches every one)."""
    return cell.kind == "corrupt" and not cell.hdlc and not cell.ciphered


async def test_every_call_through_a_faulty_line_is_true_or_a_typed_error() -> None:
    results = await run_matrix(associations=5, seed=11)
    print("\n" + table(results))
    assert len(results) == len(KINDS) * 2 * 2 + len(KINDS)  # + the wrapper with ciphering
    for cell, tally in results.items():
        assert tally.calls > 0, cell
        assert tally.ok > 0, f"{cell}: nothing went through at all"
        assert not tally.untyped, (cell, tally.untyped)
        assert not tally.late, (cell, tally.late)
        if not undetectable(cell):
            assert not tally.wrong, (cell, tally.wrong)
    injected = {cell.kind for cell, tally in results.items() if tally.faults}
    assert injected == set(KINDS), f"fault kinds never injected: {set(KINDS) - injected}"
    errors = sum(sum(tally.typed.values()) for tally in results.values())
    assert errors > 0  # the faults did reach the client, which said so


@pytest.mark.parametrize("hdlc", [False, True], ids=["wrapper", "hdlc"])
async def test_a_fleet_cycle_through_a_faulty_line(hdlc: bool) -> None:
    kinds = KINDS if hdlc else [kind for kind in KINDS if kind != "corrupt"]  # undetectable()
    clean, results, counts = await fleet_cycle(36, hdlc, rate=0.03, kinds=kinds)
    assert sum(counts.values()) > 0
    assert set(results) == set(clean) and len(results) == 36
    assert all(result.ok for result in clean.values())
    for name, result in results.items():
        if result.ok:
            assert result.values() == clean[name].values(), name
        else:
            failure = result.failure
            assert failure is not None and failure.step
            assert isinstance(failure.error, DlmsError | OSError), failure.message
    assert sum(result.ok for result in results.values()) >= 18  # most meters still read


def test_the_plan_refuses_unknown_fault_kinds() -> None:
    with pytest.raises(ValueError, match="unknown fault kinds"):
        FaultPlan(["melt"], 0.1)
