"""``asyncdlms store init URL``: create (or migrate) the tables of a reading store."""

from __future__ import annotations

import argparse
import asyncio
import sys

from ..store import StoreError, open_store, redact_url

__all__ = ["add_store_command"]


async def _init(url: str) -> int:
    store = await open_store(url, create=False)
    try:
        return await store.init()
    finally:
        await store.close()


def _command_store_init(args: argparse.Namespace) -> int:
    try:
        version = asyncio.run(_init(args.url))
    except (StoreError, ImportError) as exc:
        print(f"asyncdlms store init: {exc}", file=sys.stderr)
        return 2
    print(f"{redact_url(args.url)}: schema version {version}")
    return 0


def add_store_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``store`` (``store init URL``) to the command line."""
    store = commands.add_parser("store", help="manage a reading store (store init URL)")
    actions = store.add_subparsers(dest="store_command", required=True)
    init = actions.add_parser(
        "init",
        help="create or migrate the tables",
        description="Create the tables of a reading store, or migrate them to this "
        "version's schema (safe to run again).",
    )
    init.add_argument("url", help="sqlite:///readings.db or postgresql://user:pw@host/db")
    init.set_defaults(handler=_command_store_init)
