"""What a received push becomes in a store: :func:`push_batch` turns the readings of a
notification (OBIS code → reading, as ``asyncdlms.listen``'s ``Notification.readings()``
gives them) into a :class:`~asyncdlms.store.StoreBatch` of ``push`` readings, keyed by the
sender and the notification's date-time, so that a push received twice is stored once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from .records import Source, StoreBatch, StoredReading, utc

__all__ = ["push_batch"]


def push_batch(
    meter: str,
    readings: Mapping[Any, Any],
    capture_time: dt.datetime,
) -> StoreBatch:
    """The readings of one push from ``meter`` (e.g. its system title in hex) captured at
    ``capture_time`` (the notification's date-time; the time received when it has none).
    Each reading needs ``value`` (a Quantity keeps its unit) and may give ``class_id`` and
    ``attribute_index`` (default: Data (1), attribute 2); the key is its OBIS code."""
    stored = []
    for obis, reading in readings.items():
        class_id = getattr(reading, "class_id", None)
        attribute = getattr(reading, "attribute_index", None)
        stored.append(
            StoredReading.of(
                meter,
                1 if class_id is None else int(class_id),
                obis,
                2 if attribute is None else int(attribute),
                utc(capture_time),
                getattr(reading, "value", reading),
                source=Source.PUSH,
            )
        )
    return StoreBatch(readings=tuple(stored))
