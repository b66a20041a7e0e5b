"""Places: the poller's semaphore (its global places and each meter's lock)."""

from __future__ import annotations

import asyncio

import pytest

from asyncdlms.fleet.places import Places


def test_places_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Places(0)


async def test_at_most_places_holders_first_come_first_served() -> None:
    places = Places(2)
    inside: list[int] = []
    most = 0
    order: list[int] = []

    async def hold(number: int) -> None:
        nonlocal most
        async with places:
            order.append(number)
            inside.append(number)
            most = max(most, len(inside))
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            inside.remove(number)

    await asyncio.gather(*(hold(number) for number in range(7)))
    assert most == 2
    assert order == list(range(7))
    assert not places.locked()
    async with places, places:  # both places free again
        assert places.locked()


async def test_a_free_place_is_taken_without_waiting() -> None:
    lock = Places(1)
    async with lock:
        assert lock.locked()
    assert not lock.locked()


async def test_a_cancelled_waiter_is_skipped() -> None:
    lock = Places(1)
    async with lock:
        first = asyncio.ensure_future(lock.__aenter__())
        second = asyncio.ensure_future(lock.__aenter__())
        await asyncio.sleep(0)
        first.cancel()
        await asyncio.sleep(0)
    await second  # the place went to the waiter that was still waiting
    assert lock.locked()
    await lock.__aexit__(None, None, None)
    assert not lock.locked()


async def test_a_place_given_to_a_task_cancelled_before_it_ran_is_passed_on() -> None:
    lock = Places(1)
    got: list[str] = []

    async def take(name: str) -> None:
        async with lock:
            got.append(name)

    await lock.__aenter__()
    first = asyncio.ensure_future(take("first"))
    second = asyncio.ensure_future(take("second"))
    await asyncio.sleep(0)
    lock.release()  # the place goes to the first waiter...
    first.cancel()  # ...which is cancelled before it takes it
    await asyncio.gather(first, second, return_exceptions=True)
    assert first.cancelled()
    assert got == ["second"]
    assert not lock.locked()


async def test_an_exception_inside_is_not_swallowed() -> None:
    lock = Places(1)
    with pytest.raises(KeyError):
        async with lock:
            raise KeyError("x")
    assert not lock.locked()


async def test_take_and_release_by_hand() -> None:
    places = Places(1)
    await places.take()
    assert places.locked()
    waiting = asyncio.ensure_future(places.take())
    await asyncio.sleep(0)
    assert not waiting.done()
    places.release()  # handed to the waiter: still taken
    await waiting
    assert places.locked()
    places.release()
    assert not places.locked()
