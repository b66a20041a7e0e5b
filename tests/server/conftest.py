"""Shared helpers of the server tests: a controllable time source."""

from __future__ import annotations

import datetime

import pytest


class FakeTime:
    """A wall clock the test moves by hand (``advance``)."""

    def __init__(self, start: datetime.datetime) -> None:
        self.now = start.timestamp()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


START = datetime.datetime(2026, 3, 10, 12, 7, 30, tzinfo=datetime.UTC)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime(START)
