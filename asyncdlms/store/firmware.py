"""Firmware transfer progress in a store: one row per (meter, image identifier, image
SHA-256) in the ``firmware_transfers`` table of both stores, so a campaign knows each meter's
outcome across runs (the meter itself stays the truth for which blocks it holds)."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = [
    "FIRMWARE_TRANSFERS_TABLE",
    "FirmwareTransferRecord",
    "FirmwareTransferStatus",
    "FirmwareTransferStore",
]

FIRMWARE_TRANSFERS_TABLE = """CREATE TABLE IF NOT EXISTS firmware_transfers (
            meter TEXT NOT NULL,
            identifier TEXT NOT NULL,
            image_sha256 TEXT NOT NULL,
            block_size INTEGER NOT NULL,
            blocks INTEGER NOT NULL,
            blocks_confirmed INTEGER NOT NULL,
            status TEXT NOT NULL,
            message TEXT NOT NULL DEFAULT '',
            updated_at {timestamp} NOT NULL,
            PRIMARY KEY (meter, identifier, image_sha256))"""
"""The table (``{timestamp}``: the database's type of aware times)."""


class FirmwareTransferStatus(enum.StrEnum):
    """Where a meter's upgrade to one image stands."""

    TRANSFERRING = "transferring"
    TRANSFERRED = "transferred"
    VERIFIED = "verified"
    DONE = "done"
    """Transferred, verified as asked and activated (or scheduled, or left) as asked."""
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class FirmwareTransferRecord:
    """One meter's transfer of one image. ``identifier`` is the image identifier in hex;
    ``blocks_confirmed``: blocks the meter acknowledged; ``message``: why it failed."""

    meter: str
    identifier: str
    image_sha256: str
    block_size: int
    blocks: int
    blocks_confirmed: int
    status: FirmwareTransferStatus
    updated_at: dt.datetime
    message: str = ""


@runtime_checkable
class FirmwareTransferStore(Protocol):
    """What the SQLite and PostgreSQL stores offer for firmware progress."""

    url: str

    async def record_firmware_transfer(self, record: FirmwareTransferRecord) -> None:
        """Insert or replace the row of (meter, identifier, image SHA-256)."""
        ...

    async def firmware_transfers(
        self, meter: str | None = None, image_sha256: str | None = None
    ) -> list[FirmwareTransferRecord]:
        """Stored transfers (of ``meter``, of the image with ``image_sha256``), by meter."""
        ...


_COLUMNS = (
    "meter, identifier, image_sha256, block_size, blocks, blocks_confirmed, status, message, "
    "updated_at"
)


def upsert_firmware_sql(placeholders: list[str]) -> str:
    """The upsert of one record (``placeholders``: the database's nine parameter marks)."""
    return (
        f"INSERT INTO firmware_transfers ({_COLUMNS}) VALUES ({', '.join(placeholders)}) "
        "ON CONFLICT (meter, identifier, image_sha256) DO UPDATE SET "
        "block_size = excluded.block_size, blocks = excluded.blocks, "
        "blocks_confirmed = excluded.blocks_confirmed, status = excluded.status, "
        "message = excluded.message, updated_at = excluded.updated_at"
    )


def select_firmware_sql(
    meter: str | None, image_sha256: str | None, placeholder: Callable[[int], str]
) -> tuple[str, list[str]]:
    """The query of :meth:`FirmwareTransferStore.firmware_transfers` and its parameters
    (``placeholder(n)``: the database's mark of parameter ``n``, from 1)."""
    conditions: list[str] = []
    parameters: list[str] = []
    for column, value in (("meter", meter), ("image_sha256", image_sha256)):
        if value is not None:
            parameters.append(value)
            conditions.append(f"{column} = {placeholder(len(parameters))}")
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    order = " ORDER BY meter, updated_at"
    return f"SELECT {_COLUMNS} FROM firmware_transfers{where}{order}", parameters


def firmware_record(row: tuple[object, ...], moment: dt.datetime) -> FirmwareTransferRecord:
    """A record from a selected row (``moment``: its ``updated_at`` as an aware time)."""
    meter, identifier, sha, block_size, blocks, confirmed, status, message, _ = row
    return FirmwareTransferRecord(
        str(meter),
        str(identifier),
        str(sha),
        int(block_size),  # type: ignore[call-overload]
        int(blocks),  # type: ignore[call-overload]
        int(confirmed),  # type: ignore[call-overload]
        FirmwareTransferStatus(str(status)),
        moment,
        str(message),
    )
