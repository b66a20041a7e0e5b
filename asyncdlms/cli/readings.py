"""``asyncdlms readings --store URL``: print what a reading store holds, as a table, JSON
lines (``--json``) or CSV (``--csv``), filtered by ``--meter``, ``--obis`` (repeatable;
an OBIS code, ``class/OBIS/attribute``, or a profile's OBIS for its rows) and a capture
time range ``--from``/``--to`` (ISO 8601, UTC when no offset is given)."""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import json
import sys
from typing import Any

from ..store import (
    ReadingQuery,
    StoredProfileRow,
    StoredReading,
    StoreError,
    open_store,
    utc,
)

__all__ = ["add_readings_command", "iso_time", "stored_records"]

COLUMNS = ("meter", "object", "capture_time", "value", "unit", "status", "source")


def iso_time(text: str) -> dt.datetime:
    """An ISO 8601 date or date-time (UTC when it gives no offset)."""
    try:
        return utc(dt.datetime.fromisoformat(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 date-time: {exc}") from None


async def stored_records(url: str, query: ReadingQuery) -> list[dict[str, Any]]:
    """Readings and profile rows matching ``query``, one record each, by capture time."""
    store = await open_store(url, create=False)
    try:
        readings = await store.readings(query)
        rows = await store.profile_rows(query)
    finally:
        await store.close()
    records = [_reading(r) for r in readings] + [_row(r) for r in rows]
    records.sort(key=lambda record: (record["capture_time"], record["meter"], record["object"]))
    return records


def _reading(reading: StoredReading) -> dict[str, Any]:
    return {
        "meter": reading.meter,
        "object": reading.object,
        "capture_time": utc(reading.capture_time).isoformat(),
        "value": reading.value,
        "unit": reading.unit,
        "status": reading.status,
        "source": str(reading.source),
    }


def _row(row: StoredProfileRow) -> dict[str, Any]:
    return {
        "meter": row.meter,
        "object": f"7/{row.profile}/2",
        "capture_time": utc(row.capture_time).isoformat(),
        "value": dict(zip(row.columns, row.values, strict=False)),
        "unit": "",
        "status": row.status,
        "source": str(row.source),
    }


def _cell(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _command_readings(args: argparse.Namespace) -> int:
    if args.store is None:
        print("asyncdlms readings: give --store URL (or set ASYNCDLMS_STORE)", file=sys.stderr)
        return 2
    query = ReadingQuery(args.meter, tuple(args.obis or ()), args.start, args.end, args.limit)
    try:
        records = asyncio.run(stored_records(args.store, query))
    except (StoreError, ImportError, ValueError) as exc:
        print(f"asyncdlms readings: {exc}", file=sys.stderr)
        return 2
    out = sys.stdout
    if args.json:
        for record in records:
            out.write(json.dumps(record) + "\n")
    elif args.csv:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for record in records:
            writer.writerow([_cell(record[column]) for column in COLUMNS])
    else:
        for record in records:
            value = _cell(record["value"]) + (f" {record['unit']}" if record["unit"] else "")
            out.write(f"{record['capture_time']}  {record['meter']}  {record['object']}  {value}\n")
        print(f"{len(records)} stored values", file=sys.stderr)
    return 0


def add_readings_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``readings`` to the command line."""
    from .store_options import add_store_option

    readings = commands.add_parser(
        "readings",
        help="print what a reading store holds",
        description="Print stored readings and profile rows, oldest first.",
    )
    add_store_option(readings)
    readings.add_argument("--meter", metavar="NAME", help="only this meter")
    readings.add_argument("--obis", action="append", metavar="OBIS",
                          help="only this object (repeatable): OBIS, CLASS/OBIS/ATTR, or a "
                               "profile's OBIS for its rows")  # fmt: skip
    readings.add_argument("--from", dest="start", type=iso_time, help="ISO 8601 start")
    readings.add_argument("--to", dest="end", type=iso_time, help="ISO 8601 end")
    readings.add_argument("--limit", type=int, metavar="N", help="at most N of each kind")
    output = readings.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print JSON")
    output.add_argument("--csv", action="store_true", help="print CSV")
    readings.set_defaults(handler=_command_readings)
