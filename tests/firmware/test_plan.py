"""The sans-IO half: blocks of an image, what is missing, packing into requests, back-off,
execution times, settings and progress values."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncdlms.firmware import FirmwareProgress, FirmwareSettings, ImagePlan
from asyncdlms.firmware.plan import backoff_delays, execution_time_value, load_image, pack
from asyncdlms.types.clock import Date, Time
from asyncdlms.types.values import BitString


@given(st.binary(min_size=1, max_size=3000), st.integers(1, 400), st.none() | st.integers(0, 255))
def test_blocks_put_together_give_the_image(image: bytes, size: int, padding: int | None) -> None:
    plan = ImagePlan(image, b"ID", size, padding)
    blocks = [plan.block(n) for n in range(plan.blocks)]
    assert all(len(b) == size for b in blocks[:-1])
    joined = b"".join(blocks)
    if padding is None:
        assert joined == image
    else:
        assert joined[: len(image)] == image and len(joined) == plan.blocks * size
        assert set(joined[len(image) :]) <= {padding}
    with pytest.raises(IndexError):
        plan.block(plan.blocks)


@given(st.integers(1, 200), st.data())
def test_missing_blocks_from_the_bitmap(count: int, data: st.DataObject) -> None:
    held = data.draw(st.lists(st.booleans(), min_size=count, max_size=count))
    plan = ImagePlan(b"x" * (count * 10), b"ID", 10)
    missing = plan.missing(BitString.from_bools(held), 0)
    assert missing == [n for n in range(count) if not held[n]]
    # without a usable bitmap: everything from the first not transferred block
    first = data.draw(st.integers(0, count))
    assert plan.missing(None, first) == list(range(first, count))


@given(st.lists(st.integers(0, 10_000), unique=True), st.integers(1, 20), st.integers(1, 20))
def test_pack_keeps_order_and_bounds(numbers: list[int], limit: int, room: int) -> None:
    groups = list(pack(numbers, lambda group: len(group) <= room, limit))
    assert list(itertools.chain.from_iterable(groups)) == numbers
    assert all(1 <= len(g) <= min(limit, room) for g in groups)
    # greedy: every group but the last is full
    assert all(len(g) == min(limit, room) for g in groups[:-1])


def test_a_block_that_fits_nowhere_still_goes_alone() -> None:
    assert list(pack([1, 2, 3], lambda group: False, 10)) == [[1], [2], [3]]


def test_backoff_doubles_up_to_the_maximum() -> None:
    assert list(itertools.islice(backoff_delays(0.5, 8.0), 7)) == [0.5, 1, 2, 4, 8, 8, 8]


def test_execution_time_value() -> None:
    local = execution_time_value(dt.datetime(2027, 3, 1, 22, 30))
    plus_two = dt.timezone(dt.timedelta(hours=2))
    aware = execution_time_value(dt.datetime(2027, 3, 2, 0, 30, tzinfo=plus_two))
    assert local == aware
    [(time, date)] = local
    assert Time.from_bytes(time) == Time(hour=22, minute=30, second=0)
    assert Date.from_bytes(date) == Date(year=2027, month=3, day_of_month=1, day_of_week=1)


def test_settings_are_checked() -> None:
    assert FirmwareSettings(instance="0-0:44.0.1.255").instance.to_bytes() == bytes(
        (0, 0, 44, 0, 1, 255)
    )
    for wrong in ({"max_blocks_per_request": 0}, {"first_poll": 0}, {"max_poll": 0.1},
                  {"verification_timeout": 0}, {"padding": 256}):  # fmt: skip
        with pytest.raises(ValueError):
            FirmwareSettings(**wrong)  # type: ignore[arg-type]


def test_progress_values() -> None:
    progress = FirmwareProgress(b"ID", "transfer", 200, 150, 100, 12800, 4.0)
    assert progress.fraction == 0.75 and progress.rate == 3200
    assert progress.eta == 2.0  # 50 blocks left at 25 blocks/s
    assert FirmwareProgress(b"ID", "transfer", 200, 50, 0, 0, 0.0).eta is None


def test_images() -> None:
    with pytest.raises(ValueError, match="empty"):
        load_image(b"")
    with pytest.raises(ValueError, match="cannot read"):
        load_image("/nonexistent/fw.bin")
