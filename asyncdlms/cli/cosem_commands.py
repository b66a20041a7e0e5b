"""``asyncdlms objects URL`` and ``asyncdlms profile URL OBIS``: typed COSEM reads.

::

    asyncdlms objects URL                      the association's object list, a row each
    asyncdlms profile URL OBIS [--from ISO] [--to ISO] [--entries FIRST:LAST]

Both take the common options of ``read`` (``--client``, ``--auth``, ``--json``...).
``objects`` prints class id, version, class name and logical name (with
``--referencing sn`` the base name first: the Association SN object list); ``profile``
prints one row per entry, the columns named by their capture objects
(``CLASS/OBIS/ATTRIBUTE``), with the timestamp as ISO 8601 (derived from the capture period
where the meter sends null-data).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import Any

from ..aio.client import Client
from ..cosem.classes import interface_class
from ..cosem.short_names import format_short_name
from .meter import _add_common_options, _run, to_json

__all__ = ["add_cosem_commands"]


def _parse_iso(text: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 date-time: {exc}") from None


def _parse_entries(text: str) -> tuple[int, int]:
    first, _, last = text.partition(":")
    try:
        entries = (int(first), int(last or "0"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not FIRST:LAST (e.g. 1:96)") from None
    if entries[0] < 1 or entries[1] < 0:
        raise argparse.ArgumentTypeError("entries are 1-based; LAST 0 means to the end")
    return entries


def _command_objects(args: argparse.Namespace) -> int:
    async def work(meter: Client) -> list[str]:
        if meter.short_name_referencing:
            return await _short_name_objects(meter, args.json)
        objects = await meter.read_object_list()
        rows: list[dict[str, Any]] = []
        for entry in objects.entries:
            rows.append(
                {
                    "class_id": entry.class_id,
                    "version": entry.version,
                    "class": interface_class(entry.class_id, entry.version).name,
                    "logical_name": str(entry.logical_name),
                }
            )
        if args.json:
            return [json.dumps({"objects": rows, "skipped": objects.skipped})]
        lines = [f"{r['class_id']:>5} v{r['version']:<2} {r['class']:<32} {r['logical_name']}"
                 for r in rows]  # fmt: skip
        if objects.skipped:
            lines.append(f"({objects.skipped} unreadable entries skipped)")
        return lines

    return _run(args, work)


async def _short_name_objects(meter: Client, as_json: bool) -> list[str]:
    """``objects --referencing sn``: the Association SN object list, with base names."""
    names = await meter.read_short_name_object_list()
    rows = [
        {
            "base_name": format_short_name(item.base_name),
            "class_id": item.class_id,
            "version": item.version,
            "class": interface_class(item.class_id, item.version).name,
            "logical_name": str(item.logical_name),
        }
        for item in names
    ]
    if as_json:
        return [json.dumps({"objects": rows, "skipped": names.skipped})]
    lines = [f"{r['base_name']} {r['class_id']:>5} v{r['version']:<2} {r['class']:<32} "
             f"{r['logical_name']}" for r in rows]  # fmt: skip
    if names.skipped:
        lines.append(f"({names.skipped} unreadable entries skipped)")
    return lines


def _command_profile(args: argparse.Namespace) -> int:
    if (args.start is None) != (args.end is None):
        raise SystemExit("asyncdlms profile: --from and --to go together")

    async def work(meter: Client) -> list[str]:
        rows = await meter.read_profile(
            args.obis, start=args.start, end=args.end, entries=args.entries
        )
        if args.json:
            return [
                json.dumps(
                    [
                        {str(c): to_json(v) for c, v in zip(row.columns, row.values, strict=True)}
                        for row in rows
                    ]
                )
            ]
        if not rows:
            return ["(no rows)"]
        header = " | ".join(str(c) for c in rows[0].columns)
        lines = [header, "-" * len(header)]
        for row in rows:
            cells = []
            for value in row.values:
                cells.append(value.isoformat() if isinstance(value, dt.datetime) else
                              json.dumps(to_json(value)))  # fmt: skip
            lines.append(" | ".join(cells))
        return lines

    return _run(args, work)


def add_cosem_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``objects`` and ``profile`` to the command line."""
    objects = commands.add_parser("objects", help="list the association's objects")
    _add_common_options(objects)
    objects.set_defaults(handler=_command_objects)
    profile = commands.add_parser("profile", help="read a profile generic buffer")
    _add_common_options(profile)
    profile.add_argument("obis", help="logical name of the profile, e.g. 1.0.99.1.0.255")
    profile.add_argument("--from", dest="start", type=_parse_iso, help="ISO 8601 start")
    profile.add_argument("--to", dest="end", type=_parse_iso, help="ISO 8601 end")
    profile.add_argument("--entries", type=_parse_entries, help="FIRST:LAST (1-based)")
    profile.set_defaults(handler=_command_profile)
