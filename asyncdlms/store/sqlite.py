"""The embedded store: SQLite through the standard library's ``sqlite3``, on one worker
thread (WAL journal, a busy timeout, one transaction per batch)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from .base import (
    SCHEMA_VERSION,
    ReadingQuery,
    StoreError,
    object_filter,
    table_statements,
)
from .firmware import (
    FirmwareTransferRecord,
    firmware_record,
    select_firmware_sql,
    upsert_firmware_sql,
)
from .records import (
    BatchRows,
    Source,
    StoreBatch,
    StoredFailure,
    StoredProfileRow,
    StoredReading,
    utc,
)

__all__ = ["SqliteStore", "sqlite_path"]

T = TypeVar("T")

BUSY_TIMEOUT = 10.0
"""Seconds a writer waits for another process's transaction before giving up."""


def sqlite_path(url: str) -> str:
    """The file of ``sqlite:///relative.db`` or ``sqlite:////absolute.db``
    (``sqlite:///:memory:`` for a database in memory)."""
    if not url.startswith("sqlite:///"):
        raise StoreError(f"{url}: a SQLite store is sqlite:///path.db (three slashes)")
    path = url[len("sqlite:///") :]
    if not path:
        raise StoreError(f"{url}: no file named; use sqlite:///readings.db")
    return path


def _stamp(moment: dt.datetime) -> str:
    """A capture time as fixed-width UTC text, so that text order is time order."""
    return utc(moment).isoformat(timespec="microseconds")


def _moment(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


class SqliteStore:
    """A :class:`~asyncdlms.store.ReadingStore` in one SQLite file (open it with
    :func:`~asyncdlms.store.open_store`)."""

    def __init__(self, url: str, connection: sqlite3.Connection, executor: ThreadPoolExecutor):
        self.url = url
        self._connection = connection
        self._executor = executor
        self._closed = False

    @classmethod
    async def open(cls, url: str) -> SqliteStore:
        path = sqlite_path(url)
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="asyncdlms-sqlite")

        def connect() -> sqlite3.Connection:
            if path != ":memory:":
                Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(
                str(Path(path).expanduser()) if path != ":memory:" else path,
                timeout=BUSY_TIMEOUT,
                isolation_level=None,  # transactions are explicit
                check_same_thread=False,  # used from the one worker thread only
            )
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
            return connection

        loop = asyncio.get_running_loop()
        try:
            connection = await loop.run_in_executor(executor, connect)
        except sqlite3.Error as exc:
            executor.shutdown(wait=False)
            raise StoreError(f"{url}: cannot open the SQLite database: {exc}") from None
        return cls(url, connection, executor)

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        if self._closed:
            raise StoreError(f"{self.url}: the store is closed")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, work, self._connection)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.url}: {exc}") from exc

    async def init(self) -> int:
        def work(connection: sqlite3.Connection) -> int:
            with _transaction(connection):
                for statement in table_statements("TEXT", "INTEGER PRIMARY KEY AUTOINCREMENT"):
                    connection.execute(statement)
                row = connection.execute("SELECT max(version) FROM store_schema").fetchone()
                if row[0] is None:
                    connection.execute(
                        "INSERT INTO store_schema (version) VALUES (?)", (SCHEMA_VERSION,)
                    )
                    return SCHEMA_VERSION
                if int(row[0]) > SCHEMA_VERSION:
                    raise StoreError(
                        f"{self.url}: schema version {row[0]} is newer than this asyncdlms "
                        f"knows ({SCHEMA_VERSION}); upgrade asyncdlms"
                    )
                return int(row[0])

        return await self._run(work)

    async def write(self, batch: StoreBatch) -> None:
        if batch.empty:
            return
        table_rows = BatchRows.of(batch, _stamp)
        readings, rows = table_rows.readings, table_rows.profile_rows
        failures, positions = table_rows.failures, table_rows.positions

        def work(connection: sqlite3.Connection) -> None:
            with _transaction(connection):
                connection.executemany(_UPSERT_READING, readings)
                connection.executemany(_UPSERT_ROW, rows)
                connection.executemany(_INSERT_FAILURE, failures)
                connection.executemany(_UPSERT_POSITION, positions)

        await self._run(work)

    async def positions(self, meter: str) -> Mapping[str, dt.datetime]:
        def work(connection: sqlite3.Connection) -> dict[str, dt.datetime]:
            cursor = connection.execute(
                "SELECT profile, last_capture_time FROM profile_positions WHERE meter = ?",
                (meter,),
            )
            return {profile: _moment(stamp) for profile, stamp in cursor}

        return await self._run(work)

    async def readings(self, query: ReadingQuery) -> list[StoredReading]:
        where, parameters = _where(query, "obis")

        def work(connection: sqlite3.Connection) -> list[StoredReading]:
            cursor = connection.execute(
                "SELECT meter, class_id, obis, attribute, capture_time, value, number, unit, "
                f"status, source FROM readings{where} "
                "ORDER BY capture_time, meter, class_id, obis, attribute" + _limit(query),
                parameters,
            )
            return [
                StoredReading(m, c, o, a, _moment(t), json.loads(v), n, u, s, Source(src))
                for m, c, o, a, t, v, n, u, s, src in cursor
            ]

        return await self._run(work)

    async def profile_rows(self, query: ReadingQuery) -> list[StoredProfileRow]:
        where, parameters = _where(query, "profile")

        def work(connection: sqlite3.Connection) -> list[StoredProfileRow]:
            cursor = connection.execute(
                "SELECT meter, profile, capture_time, column_names, row_values, status, source "
                f"FROM profile_rows{where} ORDER BY capture_time, meter, profile" + _limit(query),
                parameters,
            )
            return [
                StoredProfileRow(
                    m, p, _moment(t), tuple(json.loads(c)), tuple(json.loads(v)), s, Source(src)
                )
                for m, p, t, c, v, s, src in cursor
            ]

        return await self._run(work)

    async def failures(self, meter: str | None = None) -> list[StoredFailure]:
        def work(connection: sqlite3.Connection) -> list[StoredFailure]:
            sql = "SELECT meter, occurred_at, step, cause, message, source FROM failures"
            parameters: tuple[str, ...] = ()
            if meter is not None:
                sql += " WHERE meter = ?"
                parameters = (meter,)
            cursor = connection.execute(sql + " ORDER BY occurred_at, id", parameters)
            return [
                StoredFailure(m, _moment(t), step, cause, message, Source(src))
                for m, t, step, cause, message, src in cursor
            ]

        return await self._run(work)

    async def record_firmware_transfer(self, record: FirmwareTransferRecord) -> None:
        """Insert or replace the firmware transfer row of (meter, identifier, image)."""
        values = (
            record.meter, record.identifier, record.image_sha256, record.block_size,
            record.blocks, record.blocks_confirmed, str(record.status), record.message,
            _stamp(record.updated_at),
        )  # fmt: skip

        def work(connection: sqlite3.Connection) -> None:
            with _transaction(connection):
                connection.execute(upsert_firmware_sql(["?"] * 9), values)

        await self._run(work)

    async def firmware_transfers(
        self, meter: str | None = None, image_sha256: str | None = None
    ) -> list[FirmwareTransferRecord]:
        """Stored firmware transfers (of ``meter``, of one image), by meter."""
        sql, parameters = select_firmware_sql(meter, image_sha256, lambda n: "?")

        def work(connection: sqlite3.Connection) -> list[FirmwareTransferRecord]:
            rows = connection.execute(sql, parameters).fetchall()
            return [firmware_record(tuple(row), _moment(row[8])) for row in rows]

        return await self._run(work)

    async def meters(self) -> list[str]:
        def work(connection: sqlite3.Connection) -> list[str]:
            cursor = connection.execute(
                "SELECT meter FROM readings UNION SELECT meter FROM profile_rows "
                "UNION SELECT meter FROM failures ORDER BY 1"
            )
            return [row[0] for row in cursor]

        return await self._run(work)

    async def counts(self) -> dict[str, int]:
        def work(connection: sqlite3.Connection) -> dict[str, int]:
            return {
                name: int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
                for name, table in _COUNTED.items()
            }

        return await self._run(work)

    async def close(self) -> None:
        if self._closed:
            return
        try:
            await self._run(lambda connection: connection.close())
        finally:
            self._closed = True
            self._executor.shutdown(wait=False)

    def __repr__(self) -> str:
        return f"SqliteStore({self.url!r})"


_COUNTED = {
    "readings": "readings",
    "profile_rows": "profile_rows",
    "failures": "failures",
    "positions": "profile_positions",
}

_UPSERT_READING = """
INSERT INTO readings (meter, class_id, obis, attribute, capture_time, value, number, unit,
                      status, source)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (meter, class_id, obis, attribute, capture_time) DO UPDATE SET
    value = excluded.value, number = excluded.number, unit = excluded.unit,
    status = excluded.status, source = excluded.source
"""

_UPSERT_ROW = """
INSERT INTO profile_rows (meter, profile, capture_time, column_names, row_values, status,
                          source)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (meter, profile, capture_time) DO UPDATE SET
    column_names = excluded.column_names, row_values = excluded.row_values,
    status = excluded.status, source = excluded.source
"""

_INSERT_FAILURE = """
INSERT INTO failures (meter, occurred_at, step, cause, message, source)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (meter, occurred_at, step) DO NOTHING
"""

_UPSERT_POSITION = """
INSERT INTO profile_positions (meter, profile, last_capture_time) VALUES (?, ?, ?)
ON CONFLICT (meter, profile) DO UPDATE SET
    last_capture_time = max(profile_positions.last_capture_time, excluded.last_capture_time)
"""


class _transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, or ``ROLLBACK`` on any error."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def __enter__(self) -> None:
        self.connection.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.connection.execute("COMMIT" if exc_type is None else "ROLLBACK")


def _where(query: ReadingQuery, object_column: str) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    parameters: list[Any] = []
    if query.meter is not None:
        clauses.append("meter = ?")
        parameters.append(query.meter)
    if query.objects:
        codes, triples = object_filter(query.objects)
        alternatives = [f"{object_column} = ?" for _ in codes]
        parameters += codes
        if object_column == "obis":
            for class_id, obis, attribute in triples:
                alternatives.append("(class_id = ? AND obis = ? AND attribute = ?)")
                parameters += [class_id, obis, attribute]
        else:  # profiles are named by OBIS
            alternatives += [f"{object_column} = ?" for _ in triples]
            parameters += [obis for _, obis, _ in triples]
        clauses.append("(" + " OR ".join(alternatives) + ")")
    if query.start is not None:
        clauses.append("capture_time >= ?")
        parameters.append(_stamp(query.start))
    if query.end is not None:
        clauses.append("capture_time <= ?")
        parameters.append(_stamp(query.end))
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), parameters


def _limit(query: ReadingQuery) -> str:
    return f" LIMIT {int(query.limit)}" if query.limit is not None else ""
