"""The ``asyncdlms`` command line: ``decode`` and the one-meter commands ``read``, ``write``,
``action``, ``objects`` and ``profile``, and ``simulate`` (virtual meters) (see
``asyncdlms --help``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import __version__
from .cosem_commands import add_cosem_commands
from .decode import add_decode_command
from .firmware import add_firmware_command
from .listen import add_listen_command
from .meter import add_meter_commands
from .plot import add_plot_command
from .poll import add_poll_command
from .queue_status import add_status_command
from .readings import add_readings_command
from .schedule import add_schedule_command
from .simulate import add_simulate_command
from .store_command import add_store_command
from .worker import add_worker_command

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``asyncdlms`` command."""
    parser = argparse.ArgumentParser(
        prog="asyncdlms", description="asyncio-native DLMS/COSEM (IEC 62056) tools"
    )
    parser.add_argument("--version", action="version", version=f"asyncdlms {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    add_decode_command(commands)
    add_meter_commands(commands)
    add_cosem_commands(commands)
    add_simulate_command(commands)
    add_poll_command(commands)
    add_listen_command(commands)
    add_store_command(commands)
    add_readings_command(commands)
    add_plot_command(commands)
    add_schedule_command(commands)
    add_worker_command(commands)
    add_status_command(commands)
    add_firmware_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    status: int = args.handler(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
