"""The durable fleet state of tests/fleet/test_store_positions.py on both stores: a
restarted poller and a crash between batches, PostgreSQL included."""

from __future__ import annotations

from ..fleet.test_store_positions import crash_between_batches, restarted_poller_continues


async def test_restarted_poller_continues_from_the_stored_position(store_url: str) -> None:
    await restarted_poller_continues(store_url)


async def test_a_crash_between_batches_loses_only_the_batch_in_flight(store_url: str) -> None:
    await crash_between_batches(store_url)
