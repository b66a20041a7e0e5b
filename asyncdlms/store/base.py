"""The :class:`ReadingStore` protocol, the schema both stores share, and
:func:`open_store` (``sqlite:///path.db`` or ``postgresql://...``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

from ..errors import DlmsError
from .firmware import FIRMWARE_TRANSFERS_TABLE
from .records import StoreBatch, StoredFailure, StoredProfileRow, StoredReading

__all__ = [
    "SCHEMA_VERSION",
    "ReadingQuery",
    "ReadingStore",
    "StoreError",
    "open_store",
    "redact_url",
]

SCHEMA_VERSION = 1
"""The version of the tables :meth:`ReadingStore.init` creates (kept in ``store_schema``)."""


class StoreError(DlmsError):
    """A store that cannot be opened or written: the message names the store (without its
    password) and what to change."""


@dataclass(frozen=True, slots=True)
class ReadingQuery:
    """Which stored values to give back: a meter, objects (OBIS codes, or
    ``class/OBIS/attribute``), a capture time range ``[start, end]`` (either open), at most
    ``limit`` (oldest first)."""

    meter: str | None = None
    objects: Sequence[str] = ()
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    limit: int | None = None


@runtime_checkable
class ReadingStore(Protocol):
    """Where readings live. Every write is idempotent: readings are upserted on (meter,
    class_id, obis, attribute, capture_time), profile rows on (meter, profile,
    capture_time), failures on (meter, occurred_at, step); a batch is one transaction,
    profile positions included, so a crash loses at most the batch in flight."""

    url: str

    async def init(self) -> int:
        """Create or migrate the tables; return the schema version."""
        ...

    async def write(self, batch: StoreBatch) -> None:
        """Write ``batch`` in one transaction."""
        ...

    async def positions(self, meter: str) -> Mapping[str, dt.datetime]:
        """The last stored capture time of each of ``meter``'s profiles, by profile OBIS."""
        ...

    async def readings(self, query: ReadingQuery) -> list[StoredReading]:
        """Stored readings matching ``query``, by capture time."""
        ...

    async def profile_rows(self, query: ReadingQuery) -> list[StoredProfileRow]:
        """Stored profile rows matching ``query`` (``objects``: profile OBIS codes)."""
        ...

    async def failures(self, meter: str | None = None) -> list[StoredFailure]:
        """Stored failures (of ``meter``), oldest first."""
        ...

    async def meters(self) -> list[str]:
        """The meters with anything stored, sorted."""
        ...

    async def counts(self) -> dict[str, int]:
        """Rows per table: ``readings``, ``profile_rows``, ``failures``, ``positions``."""
        ...

    async def close(self) -> None:
        """Close the connections."""
        ...


def redact_url(url: str) -> str:
    """``url`` without its password (for messages and logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


async def open_store(url: str, *, create: bool = True) -> ReadingStore:
    """Open the store at ``url``: ``sqlite:///relative.db``, ``sqlite:////absolute.db``
    (the standard library's sqlite3, no extra needed) or ``postgresql://user:pw@host/db``
    (needs ``pip install 'asyncdlms[postgres]'``). With ``create`` the tables are created
    or migrated when needed (``asyncdlms store init URL`` does only that)."""
    scheme = url.partition(":")[0].lower()
    store: ReadingStore
    if scheme == "sqlite":
        from .sqlite import SqliteStore

        store = await SqliteStore.open(url)
    elif scheme in ("postgresql", "postgres"):
        from .postgres import PostgresStore

        store = await PostgresStore.open(url)
    else:
        raise StoreError(
            f"{redact_url(url)}: unknown store; use sqlite:///path.db or "
            "postgresql://user:password@host:port/database"
        )
    if create:
        try:
            await store.init()
        except BaseException:
            await store.close()
            raise
    return store


def table_statements(timestamp: str, serial: str) -> list[str]:
    """The schema in SQL both databases understand (``timestamp``: the column type of
    capture times; ``serial``: an auto-numbered primary key)."""
    return [
        "CREATE TABLE IF NOT EXISTS store_schema (version INTEGER NOT NULL)",
        f"""CREATE TABLE IF NOT EXISTS readings (
            meter TEXT NOT NULL,
            class_id INTEGER NOT NULL,
            obis TEXT NOT NULL,
            attribute INTEGER NOT NULL,
            capture_time {timestamp} NOT NULL,
            value TEXT NOT NULL,
            number DOUBLE PRECISION,
            unit TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'ok',
            source TEXT NOT NULL,
            PRIMARY KEY (meter, class_id, obis, attribute, capture_time))""",
        "CREATE INDEX IF NOT EXISTS readings_by_object ON readings (obis, capture_time)",
        f"""CREATE TABLE IF NOT EXISTS profile_rows (
            meter TEXT NOT NULL,
            profile TEXT NOT NULL,
            capture_time {timestamp} NOT NULL,
            column_names TEXT NOT NULL,
            row_values TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'ok',
            source TEXT NOT NULL,
            PRIMARY KEY (meter, profile, capture_time))""",
        f"""CREATE TABLE IF NOT EXISTS profile_positions (
            meter TEXT NOT NULL,
            profile TEXT NOT NULL,
            last_capture_time {timestamp} NOT NULL,
            PRIMARY KEY (meter, profile))""",
        f"""CREATE TABLE IF NOT EXISTS failures (
            id {serial},
            meter TEXT NOT NULL,
            occurred_at {timestamp} NOT NULL,
            step TEXT NOT NULL,
            cause TEXT NOT NULL,
            message TEXT NOT NULL,
            source TEXT NOT NULL,
            UNIQUE (meter, occurred_at, step))""",
        FIRMWARE_TRANSFERS_TABLE.format(timestamp=timestamp),
    ]


def object_filter(objects: Sequence[str]) -> tuple[list[str], list[tuple[int, str, int]]]:
    """``objects`` split into bare OBIS codes and ``class/OBIS/attribute`` triples."""
    from ..obis import Obis

    codes: list[str] = []
    triples: list[tuple[int, str, int]] = []
    for text in objects:
        parts = text.strip().split("/")
        if len(parts) == 3:
            triples.append((int(parts[0]), str(Obis(parts[1])), int(parts[2])))
        elif text.strip().startswith("sn:"):
            codes.append(text.strip())
        else:
            codes.append(str(Obis(text.strip())))
    return codes, triples
