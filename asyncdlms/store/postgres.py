"""The production store: PostgreSQL through ``asyncpg`` (``pip install
'asyncdlms[postgres]'``), the schema of the SQLite store with ``timestamptz`` capture times,
one transaction per batch on a small connection pool."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from .base import (
    SCHEMA_VERSION,
    ReadingQuery,
    StoreError,
    object_filter,
    redact_url,
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

__all__ = ["PostgresStore"]

CONNECT_TIMEOUT = 10.0
"""Seconds to connect to the server before giving up."""

COMMAND_TIMEOUT = 60.0
"""Seconds one statement may take."""

COPY_THRESHOLD = 64
"""From this many readings or profile rows in a batch on, they are copied (``COPY``) into a
temporary table and upserted from there in one statement, several times faster than one
upsert per row."""


class PostgresStore:
    """A :class:`~asyncdlms.store.ReadingStore` in a PostgreSQL database (open it with
    :func:`~asyncdlms.store.open_store`)."""

    def __init__(self, url: str, pool: Any) -> None:
        self.url = url
        self._pool = pool

    @classmethod
    async def open(cls, url: str, *, pool_size: int = 4) -> PostgresStore:
        try:
            import asyncpg
        except ImportError:
            raise StoreError(
                f"{redact_url(url)}: the PostgreSQL store needs asyncpg: "
                "pip install 'asyncdlms[postgres]'"
            ) from None
        dsn = "postgresql" + url[url.index(":") :]
        try:
            pool = await asyncpg.create_pool(
                dsn,
                min_size=1,
                max_size=pool_size,
                timeout=CONNECT_TIMEOUT,
                command_timeout=COMMAND_TIMEOUT,
            )
        except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
            raise StoreError(f"{redact_url(url)}: cannot connect: {exc}") from None
        return cls(url, pool)

    async def _fetch(self, sql: str, *parameters: Any) -> list[Any]:
        import asyncpg

        try:
            async with self._pool.acquire() as connection:
                return list(await connection.fetch(sql, *parameters))
        except asyncpg.PostgresError as exc:
            raise StoreError(f"{redact_url(self.url)}: {exc}") from exc

    async def init(self) -> int:
        import asyncpg

        try:
            async with self._pool.acquire() as connection, connection.transaction():
                # one initialiser at a time, even from several processes
                await connection.execute("SELECT pg_advisory_xact_lock(4206215)")
                for statement in table_statements("TIMESTAMPTZ", "BIGSERIAL PRIMARY KEY"):
                    await connection.execute(statement)
                version = await connection.fetchval("SELECT max(version) FROM store_schema")
                if version is None:
                    await connection.execute(
                        "INSERT INTO store_schema (version) VALUES ($1)", SCHEMA_VERSION
                    )
                    return SCHEMA_VERSION
        except asyncpg.PostgresError as exc:
            raise StoreError(f"{redact_url(self.url)}: {exc}") from exc
        if int(version) > SCHEMA_VERSION:
            raise StoreError(
                f"{redact_url(self.url)}: schema version {version} is newer than this "
                f"asyncdlms knows ({SCHEMA_VERSION}); upgrade asyncdlms"
            )
        return int(version)

    async def write(self, batch: StoreBatch) -> None:
        import asyncpg

        if batch.empty:
            return
        table_rows = BatchRows.of(batch, utc)
        readings, rows = table_rows.readings, table_rows.profile_rows
        failures, positions = table_rows.failures, table_rows.positions
        try:
            async with self._pool.acquire() as connection, connection.transaction():
                for table, sql, records in (
                    ("readings", _UPSERT_READING, readings),
                    ("profile_rows", _UPSERT_ROW, rows),
                    ("failures", _INSERT_FAILURE, failures),
                    ("profile_positions", _UPSERT_POSITION, positions),
                ):
                    if len(records) >= COPY_THRESHOLD and table in _COPIED:
                        await _copy_upsert(connection, table, records)
                    elif records:
                        await connection.executemany(sql, records)
        except asyncpg.PostgresError as exc:
            raise StoreError(f"{redact_url(self.url)}: {exc}") from exc

    async def positions(self, meter: str) -> Mapping[str, dt.datetime]:
        records = await self._fetch(
            "SELECT profile, last_capture_time FROM profile_positions WHERE meter = $1", meter
        )
        return {record[0]: record[1] for record in records}

    async def readings(self, query: ReadingQuery) -> list[StoredReading]:
        where, parameters = _where(query, "obis")
        records = await self._fetch(
            "SELECT meter, class_id, obis, attribute, capture_time, value, number, unit, "
            f"status, source FROM readings{where} "
            "ORDER BY capture_time, meter, class_id, obis, attribute" + _limit(query),
            *parameters,
        )
        return [
            StoredReading(m, c, o, a, t, json.loads(v), n, u, s, Source(src))
            for m, c, o, a, t, v, n, u, s, src in records
        ]

    async def profile_rows(self, query: ReadingQuery) -> list[StoredProfileRow]:
        where, parameters = _where(query, "profile")
        records = await self._fetch(
            "SELECT meter, profile, capture_time, column_names, row_values, status, source "
            f"FROM profile_rows{where} ORDER BY capture_time, meter, profile" + _limit(query),
            *parameters,
        )
        return [
            StoredProfileRow(m, p, t, tuple(json.loads(c)), tuple(json.loads(v)), s, Source(src))
            for m, p, t, c, v, s, src in records
        ]

    async def failures(self, meter: str | None = None) -> list[StoredFailure]:
        sql = "SELECT meter, occurred_at, step, cause, message, source FROM failures"
        parameters: tuple[str, ...] = ()
        if meter is not None:
            sql += " WHERE meter = $1"
            parameters = (meter,)
        records = await self._fetch(sql + " ORDER BY occurred_at, id", *parameters)
        return [
            StoredFailure(m, t, step, cause, message, Source(src))
            for m, t, step, cause, message, src in records
        ]

    async def record_firmware_transfer(self, record: FirmwareTransferRecord) -> None:
        """Insert or replace the firmware transfer row of (meter, identifier, image)."""
        import asyncpg

        sql = upsert_firmware_sql([f"${n}" for n in range(1, 10)])
        try:
            async with self._pool.acquire() as connection:
                await connection.execute(
                    sql, record.meter, record.identifier, record.image_sha256,
                    record.block_size, record.blocks, record.blocks_confirmed,
                    str(record.status), record.message, utc(record.updated_at),
                )  # fmt: skip
        except asyncpg.PostgresError as exc:
            raise StoreError(f"{redact_url(self.url)}: {exc}") from exc

    async def firmware_transfers(
        self, meter: str | None = None, image_sha256: str | None = None
    ) -> list[FirmwareTransferRecord]:
        """Stored firmware transfers (of ``meter``, of one image), by meter."""
        sql, parameters = select_firmware_sql(meter, image_sha256, lambda n: f"${n}")
        records = await self._fetch(sql, *parameters)
        return [firmware_record(tuple(record), record[8]) for record in records]

    async def meters(self) -> list[str]:
        records = await self._fetch(
            "SELECT meter FROM readings UNION SELECT meter FROM profile_rows "
            "UNION SELECT meter FROM failures ORDER BY 1"
        )
        return [record[0] for record in records]

    async def counts(self) -> dict[str, int]:
        records = await self._fetch(
            "SELECT (SELECT count(*) FROM readings), (SELECT count(*) FROM profile_rows), "
            "(SELECT count(*) FROM failures), (SELECT count(*) FROM profile_positions)"
        )
        readings, rows, failures, positions = records[0]
        return {
            "readings": int(readings),
            "profile_rows": int(rows),
            "failures": int(failures),
            "positions": int(positions),
        }

    async def close(self) -> None:
        await self._pool.close()

    def __repr__(self) -> str:
        return f"PostgresStore({redact_url(self.url)!r})"


_UPSERT_READING = """
INSERT INTO readings (meter, class_id, obis, attribute, capture_time, value, number, unit,
                      status, source)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (meter, class_id, obis, attribute, capture_time) DO UPDATE SET
    value = excluded.value, number = excluded.number, unit = excluded.unit,
    status = excluded.status, source = excluded.source
"""

_UPSERT_ROW = """
INSERT INTO profile_rows (meter, profile, capture_time, column_names, row_values, status,
                          source)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (meter, profile, capture_time) DO UPDATE SET
    column_names = excluded.column_names, row_values = excluded.row_values,
    status = excluded.status, source = excluded.source
"""

_INSERT_FAILURE = """
INSERT INTO failures (meter, occurred_at, step, cause, message, source)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (meter, occurred_at, step) DO NOTHING
"""

_UPSERT_POSITION = """
INSERT INTO profile_positions (meter, profile, last_capture_time) VALUES ($1, $2, $3)
ON CONFLICT (meter, profile) DO UPDATE SET
    last_capture_time = greatest(profile_positions.last_capture_time,
                                 excluded.last_capture_time)
"""


_COPIED = {
    "readings": (
        ("meter", "class_id", "obis", "attribute", "capture_time", "value", "number", "unit",
         "status", "source"),
        ("meter", "class_id", "obis", "attribute", "capture_time"),
    ),
    "profile_rows": (
        ("meter", "profile", "capture_time", "column_names", "row_values", "status", "source"),
        ("meter", "profile", "capture_time"),
    ),
}  # fmt: skip


async def _copy_upsert(connection: Any, table: str, records: list[tuple[Any, ...]]) -> None:
    """``records`` copied into a temporary table, then upserted into ``table`` in one
    statement (of several records with one key, one is kept)."""
    columns, key = _COPIED[table]
    incoming = f"incoming_{table}"
    await connection.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {incoming} (LIKE {table} INCLUDING DEFAULTS) "
        "ON COMMIT DELETE ROWS"
    )
    await connection.copy_records_to_table(incoming, records=records, columns=columns)
    names = ", ".join(columns)
    keys = ", ".join(key)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
    await connection.execute(
        f"INSERT INTO {table} ({names}) SELECT DISTINCT ON ({keys}) {names} FROM {incoming} "
        f"ORDER BY {keys} ON CONFLICT ({keys}) DO UPDATE SET {updates}"
    )
    await connection.execute(f"TRUNCATE {incoming}")


def _where(query: ReadingQuery, object_column: str) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    parameters: list[Any] = []

    def placeholder(value: Any) -> str:
        parameters.append(value)
        return f"${len(parameters)}"

    if query.meter is not None:
        clauses.append(f"meter = {placeholder(query.meter)}")
    if query.objects:
        codes, triples = object_filter(query.objects)
        alternatives = [f"{object_column} = {placeholder(code)}" for code in codes]
        for class_id, obis, attribute in triples:
            if object_column == "obis":
                alternatives.append(
                    f"(class_id = {placeholder(class_id)} AND obis = {placeholder(obis)} "
                    f"AND attribute = {placeholder(attribute)})"
                )
            else:
                alternatives.append(f"{object_column} = {placeholder(obis)}")
        clauses.append("(" + " OR ".join(alternatives) + ")")
    if query.start is not None:
        clauses.append(f"capture_time >= {placeholder(utc(query.start))}")
    if query.end is not None:
        clauses.append(f"capture_time <= {placeholder(utc(query.end))}")
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), parameters


def _limit(query: ReadingQuery) -> str:
    return f" LIMIT {int(query.limit)}" if query.limit is not None else ""
