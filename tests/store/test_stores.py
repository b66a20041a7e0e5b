"""Both stores through one suite: SQLite always, PostgreSQL on a throw-away cluster."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import pytest

from asyncdlms.cosem.units import Quantity, Unit
from asyncdlms.store import (
    SCHEMA_VERSION,
    ProfilePosition,
    ReadingQuery,
    ReadingStore,
    Source,
    StoreBatch,
    StoredFailure,
    StoredProfileRow,
    StoredReading,
    StoreError,
    open_store,
)

T0 = dt.datetime(2026, 12, 1, 0, 0, tzinfo=dt.UTC)
COLUMNS = ("8/0.0.1.0.0.255/2", "1/0.0.96.10.1.255/2", "3/1.0.1.8.0.255/2", "3/1.0.2.8.0.255/2")


def _readings(meter: str, count: int, start: dt.datetime = T0) -> tuple[StoredReading, ...]:
    return tuple(
        StoredReading.of(meter, 3, "1.0.1.8.0.255", 2, start + dt.timedelta(minutes=15 * i),
                         Quantity(1000 + i, 0, Unit.WATT_HOUR))
        for i in range(count)
    )


def _rows(meter: str, count: int, start: dt.datetime = T0) -> tuple[StoredProfileRow, ...]:
    return tuple(
        StoredProfileRow(meter, "1.0.99.1.0.255", start + dt.timedelta(minutes=15 * i), COLUMNS,
                         ((start + dt.timedelta(minutes=15 * i)).isoformat(), 0, 100 + i, 7))
        for i in range(count)
    )  # fmt: skip


async def _open(url: str) -> ReadingStore:
    return await open_store(url)


async def test_init_creates_the_schema_once(store_url: str) -> None:
    store = await open_store(store_url, create=False)
    try:
        assert await store.init() == SCHEMA_VERSION
        assert await store.init() == SCHEMA_VERSION  # again: nothing changes
        assert await store.counts() == {
            "readings": 0, "profile_rows": 0, "failures": 0, "positions": 0,
        }  # fmt: skip
    finally:
        await store.close()


async def test_readings_round_trip_with_units_and_query_filters(store_url: str) -> None:
    store = await _open(store_url)
    try:
        clock = StoredReading.of("m2", 8, "0.0.1.0.0.255", 2, T0, T0 + dt.timedelta(seconds=3))
        await store.write(StoreBatch(readings=(*_readings("m1", 10), clock)))
        found = await store.readings(ReadingQuery(meter="m1", objects=["1.0.1.8.0.255"]))
        assert [r.value for r in found] == [1000.0 + i for i in range(10)]
        assert {r.unit for r in found} == {"Wh"}
        assert found[0].capture_time == T0 and found[0].source is Source.POLL
        window = await store.readings(
            ReadingQuery(start=T0 + dt.timedelta(minutes=30), end=T0 + dt.timedelta(hours=1))
        )
        assert [r.number for r in window] == [1002.0, 1003.0, 1004.0]
        by_triple = await store.readings(ReadingQuery(objects=["8/0.0.1.0.0.255/2"]))
        assert [(r.meter, r.value) for r in by_triple] == [("m2", "2026-12-01T00:00:03+00:00")]
        assert await store.meters() == ["m1", "m2"]
        assert len(await store.readings(ReadingQuery(limit=4))) == 4
    finally:
        await store.close()


async def test_the_same_batch_twice_leaves_no_duplicate(store_url: str) -> None:
    """A retried cycle, a restarted poller, a push received twice: the same keys."""
    store = await _open(store_url)
    try:
        push = StoredReading.of("m1", 3, "1.0.1.8.0.255", 2, T0 + dt.timedelta(days=1),
                                Decimal("12.5"), source=Source.PUSH)  # fmt: skip
        failure = StoredFailure("m3", T0, "connect", "ConnectionRefusedError", "refused")
        batch = StoreBatch(
            (*_readings("m1", 20), push),
            _rows("m1", 96),
            (failure,),
            (ProfilePosition("m1", "1.0.99.1.0.255", T0 + dt.timedelta(minutes=15 * 95)),),
        )
        await store.write(batch)
        await store.write(batch)
        await store.write(StoreBatch.join([batch, batch]))  # one key twice in one batch
        await store.write(StoreBatch(readings=(push,)))
        assert await store.counts() == {
            "readings": 21, "profile_rows": 96, "failures": 1, "positions": 1,
        }  # fmt: skip
        pushed = await store.readings(ReadingQuery(start=T0 + dt.timedelta(days=1)))
        assert [(r.value, r.source) for r in pushed] == [(12.5, Source.PUSH)]
        rows = await store.profile_rows(ReadingQuery(meter="m1", objects=["1.0.99.1.0.255"]))
        assert len(rows) == 96 and rows[5].columns == COLUMNS and rows[5].values[2] == 105
        assert rows[5].numbers()[2:] == [105.0, 7.0]
        assert [f.step for f in await store.failures("m3")] == ["connect"]
    finally:
        await store.close()


async def test_positions_only_move_forward_with_their_rows(store_url: str) -> None:
    store = await _open(store_url)
    try:
        later = T0 + dt.timedelta(hours=5)
        await store.write(StoreBatch(positions=(ProfilePosition("m1", "1.0.99.1.0.255", later),)))
        await store.write(StoreBatch(positions=(ProfilePosition("m1", "1.0.99.1.0.255", T0),)))
        await store.write(StoreBatch(positions=(ProfilePosition("m1", "0.0.98.1.0.255", T0),)))
        assert dict(await store.positions("m1")) == {
            "1.0.99.1.0.255": later, "0.0.98.1.0.255": T0,
        }  # fmt: skip
        assert dict(await store.positions("other")) == {}
    finally:
        await store.close()


async def test_a_failed_batch_writes_nothing_of_it(store_url: str) -> None:
    """The position is in the transaction of the rows: a batch that fails part-way (here the
    database refuses the last reading, after the first ones went in) leaves neither rows
    nor position."""
    store = await _open(store_url)
    try:
        bad = StoredReading("m1", 3, None, 2, T0 + dt.timedelta(days=9), 1)  # type: ignore[arg-type]
        batch = StoreBatch(
            (*_readings("m1", 3), bad), _rows("m1", 4),
            positions=(ProfilePosition("m1", "1.0.99.1.0.255", T0 + dt.timedelta(hours=1)),),
        )  # fmt: skip
        with pytest.raises(StoreError):
            await store.write(batch)
        assert await store.counts() == {
            "readings": 0, "profile_rows": 0, "failures": 0, "positions": 0,
        }  # fmt: skip
    finally:
        await store.close()


async def test_concurrent_writers_do_not_lose_rows(store_url: str) -> None:
    first, second = await _open(store_url), await _open(store_url)
    try:
        await asyncio.gather(
            *(first.write(StoreBatch(profile_rows=_rows(f"a{i}", 24))) for i in range(5)),
            *(second.write(StoreBatch(profile_rows=_rows(f"b{i}", 24))) for i in range(5)),
        )
        assert (await first.counts())["profile_rows"] == 240
    finally:
        await first.close()
        await second.close()


async def test_an_unknown_store_or_unreachable_server_is_named(tmp_path: object) -> None:
    with pytest.raises(StoreError, match="unknown store"):
        await open_store("mysql://x/y")
    with pytest.raises(StoreError, match=r"\*\*\*") as info:
        await open_store("postgresql://user:s3cret@127.0.0.1:1/db")
    assert "s3cret" not in str(info.value)


async def test_a_push_received_twice_is_stored_once(store_url: str) -> None:
    """Readings of a notification (OBIS → reading, as the listener gives them) stored as
    push readings keyed by sender and the notification's date-time."""
    from dataclasses import dataclass

    from asyncdlms.obis import Obis
    from asyncdlms.store import push_batch

    @dataclass(frozen=True)
    class PushedReading:  # the shape of asyncdlms.listen's Reading
        value: object
        class_id: int | None = None
        attribute_index: int | None = None

    readings = {
        Obis("1.0.1.7.0.255"): PushedReading(Quantity(1234, 0, Unit.WATT), 3, 2),
        Obis("0.0.96.1.0.255"): PushedReading(b"LGZ1030655933512"),
    }
    store = await _open(store_url)
    try:
        for _ in range(2):
            await store.write(push_batch("4C475A6700000001", readings, T0))
        stored = await store.readings(ReadingQuery(meter="4C475A6700000001"))
        assert [(r.object, r.value, r.unit, r.source) for r in stored] == [
            ("1/0.0.96.1.0.255/2", b"LGZ1030655933512".hex(), "", Source.PUSH),
            ("3/1.0.1.7.0.255/2", 1234.0, "W", Source.PUSH),
        ]
    finally:
        await store.close()
