"""Where readings live: one async :class:`ReadingStore` protocol, the embedded SQLite store
(``sqlite:///readings.db``, the standard library only) and PostgreSQL
(``postgresql://...``, ``pip install 'asyncdlms[postgres]'``), the same schema in both.

>>> # store = await open_store("sqlite:///readings.db")
>>> # await store.write(StoreBatch(readings=(StoredReading.of("m1", 3, "1.0.1.8.0.255", 2,
>>> #                                                         when, quantity),)))
>>> # await store.readings(ReadingQuery(meter="m1", objects=["1.0.1.8.0.255"]))

Writes are idempotent upserts on natural keys — (meter, object, capture time) for readings,
(meter, profile, capture time) for profile rows —, one transaction per batch, with the
profile positions (:class:`ProfilePosition`) in the same transaction as the rows.
"""

from __future__ import annotations

from .base import SCHEMA_VERSION, ReadingQuery, ReadingStore, StoreError, open_store, redact_url
from .pushes import push_batch
from .records import (
    ProfilePosition,
    Source,
    StoreBatch,
    StoredFailure,
    StoredProfileRow,
    StoredReading,
    encode_value,
    utc,
)

__all__ = [
    "SCHEMA_VERSION",
    "ProfilePosition",
    "ReadingQuery",
    "ReadingStore",
    "Source",
    "StoreBatch",
    "StoreError",
    "StoredFailure",
    "StoredProfileRow",
    "StoredReading",
    "encode_value",
    "open_store",
    "push_batch",
    "redact_url",
    "utc",
]
