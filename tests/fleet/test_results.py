"""The fleet's result records: a Reading built through its slots is the dataclass."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from asyncdlms.fleet.results import Reading, make_reading


def test_make_reading_is_the_frozen_dataclass() -> None:
    stamp = dt.datetime(2026, 12, 4, 20, 0, tzinfo=dt.UTC)
    reading = make_reading("register:1.0.1.8.0.255", 123456, stamp)
    assert type(reading) is Reading
    assert reading == Reading("register:1.0.1.8.0.255", 123456, stamp)
    assert hash(reading) == hash(Reading("register:1.0.1.8.0.255", 123456, stamp))
    assert reading.value == 123456 and reading.timestamp is stamp
    with pytest.raises(dataclasses.FrozenInstanceError):
        reading.value = 0  # type: ignore[misc]
